//! `dgen verify` says what the first bad 4 KiB unit holds: a misdirected write (and where it
//! belongs), zeros, corruption under a right header, another stream (a renamed file), or no data
//! of this seed.

mod dgen_cli;
use dgen_cli::dgen;

fn finding(path: &std::path::Path, stream: &str) -> serde_json::Value {
    let p = path.to_str().unwrap();
    let o = dgen(&[
        "verify",
        p,
        "-s",
        "4M",
        "-d",
        "2",
        "-c",
        "3",
        "--seed",
        "5",
        "--stream-id",
        stream,
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    v["first_bad_unit"].clone()
}

#[test]
fn verify_names_what_the_first_bad_unit_holds() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.bin");
    let g = good.to_str().unwrap();
    let o = dgen(&[
        "gen",
        "-s",
        "4M",
        "-d",
        "2",
        "-c",
        "3",
        "--seed",
        "5",
        "--stream-id",
        "9",
        "-o",
        g,
    ]);
    assert!(o.status.success());
    let data = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.bin");
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut d = data.clone();
        f(&mut d);
        std::fs::write(&bad, &d).unwrap();
    };

    // Unit 3 of block 0 (unique, slot 0) written over unit 17 of block 5.
    let (from, to) = (3 * 4096, 5 * 131072 + 17 * 4096);
    with(&|d| d.copy_within(from..from + 4096, to));
    let f = finding(&bad, "9");
    assert_eq!(f["offset"], to);
    assert_eq!(f["holds"]["kind"], "misdirected");
    assert_eq!(f["holds"]["slot"], 0);
    assert_eq!(f["holds"]["atom"], 3);
    assert_eq!(f["holds"]["home_offset"], from);

    with(&|d| d[8192..12288].fill(0));
    let f = finding(&bad, "9");
    assert_eq!(
        (f["offset"].as_u64(), &f["holds"]["kind"]),
        (Some(8192), &"unrecognised".into())
    );
    assert_eq!(f["holds"]["zeros"], true);

    with(&|d| d[70_000] ^= 1);
    let f = finding(&bad, "9");
    assert_eq!(f["holds"]["kind"], "corrupted");
    assert_eq!(f["holds"]["first_bad"], 70_000 - 69_632);

    // The whole file checked as another stream: the headers say it is this seed's data.
    let f = finding(&good, "10");
    assert_eq!(f["holds"]["kind"], "other_stream");
    assert!(f["says"].as_str().unwrap().contains("--stream-id"));
}
