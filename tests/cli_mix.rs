//! Compressibility mixes through the command line: `dgen gen`, `write`, `verify` and `analyze`
//! with `--compress 1:30%,4:50%,16:20%`, and the one-line errors of a bad mix.

use dgen::{CompressSpec, GenParams, Generator};
use std::process::Output;

mod dgen_cli;
use dgen_cli::dgen;

const MIX: &str = "1:30%,4:50%,16:20%";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn gen_write_and_verify_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let gen_path = dir.path().join("g.bin");
    let g = gen_path.to_str().unwrap();
    let out = dgen(&[
        "gen",
        "--size",
        "8M",
        "--seed",
        "4",
        "--stream-id",
        "9",
        "-c",
        MIX,
        "-o",
        g,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(MIX), "{}", stderr(&out));
    // the library's bytes for the same parameters
    let mut p = GenParams::new(4);
    p.stream_id = 9;
    p.set_compress(MIX.parse::<CompressSpec>().unwrap());
    let mut want = vec![0u8; 8 << 20];
    Generator::new(p).unwrap().fill(0, &mut want);
    assert!(std::fs::read(&gen_path).unwrap() == want);
    let out = dgen(&[
        "verify",
        g,
        "--size",
        "8M",
        "--seed",
        "4",
        "--stream-id",
        "9",
        "-c",
        MIX,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // another mix, or the aggregate as one ratio, is other data: exit 1
    for other in ["1:30%,4:40%,16:30%", "2.2857142857142856"] {
        let out = dgen(&[
            "verify",
            g,
            "--size",
            "8M",
            "--seed",
            "4",
            "--stream-id",
            "9",
            "-c",
            other,
        ]);
        assert_eq!(out.status.code(), Some(1), "{other}: {}", stderr(&out));
    }
    // write (the pipeline) gives the same bytes as gen, and its JSON names the mix
    let w = dir.path().join("w.bin");
    let w = w.to_str().unwrap();
    let out = dgen(&[
        "write",
        w,
        "--size",
        "8M",
        "--seed",
        "4",
        "--stream-id",
        "9",
        "-c",
        MIX,
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["compress_mix"], MIX);
    let agg = 1.0 / (0.3 / 1.0 + 0.5 / 4.0 + 0.2 / 16.0);
    assert!((json["compress_ratio"].as_f64().unwrap() - agg).abs() < 1e-9);
    assert!(std::fs::read(w).unwrap() == want);
}

#[test]
fn analyze_shows_the_histogram_of_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.bin");
    let p = path.to_str().unwrap();
    let out = dgen(&["gen", "--size", "32M", "--seed", "2", "-c", MIX, "-o", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    let args = [
        "analyze",
        p,
        "--units",
        "8k",
        "--codecs",
        "lz4,zstd-1",
        "--no-cdc",
    ];
    let out = dgen(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("histogram at 8KiB"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("histogram"))
        .skip(2)
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[0].trim_start().starts_with("< 1.19"), "{text}");
    assert!(
        rows[1].contains("3.36-4.76") && rows[2].contains("13.45-19.03"),
        "{text}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = dgen(&json_args);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in json["units"][0]["compression"].as_array().unwrap() {
        let bins = c["histogram"].as_array().unwrap();
        let shares: Vec<f64> = bins.iter().map(|b| b["share"].as_f64().unwrap()).collect();
        let centers: Vec<f64> = bins.iter().map(|b| b["center"].as_f64().unwrap()).collect();
        assert_eq!(centers, [1.0, 4.0, 16.0], "{c}");
        // 256 blocks of 128 KiB: each share to within 4 blocks
        for (s, want) in shares.iter().zip([0.3, 0.5, 0.2]) {
            assert!((s - want).abs() <= 4.0 / 256.0, "{c}");
        }
    }
}

#[test]
fn a_bad_mix_exits_2_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.bin");
    let f = fresh.to_str().unwrap();
    for (mix, why) in [
        ("1:30%,4:50%", "sum to 80%"),
        ("0.5:50%,4:50%", "below 1"),
        ("1:50%,4:50", "in percent"),
        ("1:50%,lots:50%", "not a ratio"),
        ("1:50%,99:50%", "above the supported maximum"),
    ] {
        for cmd in [
            vec!["gen", "--size", "1M", "--seed", "1", "-c", mix, "-o", f],
            vec!["write", f, "--size", "1M", "--seed", "1", "-c", mix],
            vec!["verify", f, "--seed", "1", "-c", mix],
        ] {
            let out = dgen(&cmd);
            let e = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd:?}: {e}");
            assert_eq!(e.trim().lines().count(), 1, "{cmd:?}: {e}");
            assert!(
                e.contains("--compress") && e.contains(mix) && e.contains(why),
                "{cmd:?}: {e}"
            );
            assert!(out.stdout.is_empty(), "{cmd:?}");
            assert!(!fresh.exists(), "{cmd:?} created the file");
        }
    }
    // snappy's limit applies to every class
    let out = dgen(&[
        "gen",
        "--size",
        "1M",
        "--seed",
        "1",
        "-c",
        "1:50%,20:50%",
        "--compress-codec",
        "snappy",
        "-o",
        f,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("snappy"), "{}", stderr(&out));
    assert!(!fresh.exists());
}

/// A map records the mix: rewrites keep the classes' shares (a block keeps its slot's class at
/// every generation), verify with the map passes, and a run with a plain ratio is refused.
#[test]
fn a_map_keeps_the_mix_through_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let (f, m) = (dir.path().join("f.bin"), dir.path().join("f.map"));
    let (f, m) = (f.to_str().unwrap(), m.to_str().unwrap());
    let run = |extra: &[&str], c: &str| {
        let mut args = extra.to_vec();
        args.extend_from_slice(&[f, "--size", "16M", "--seed", "3", "-c", c, "--map", m]);
        dgen(&args)
    };
    for _ in 0..2 {
        let out = run(&["write"], MIX);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(&["verify"], MIX);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["verify"], "3");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains(&format!("compression {MIX}, this run has compression 3")),
        "{e}"
    );
    let out = dgen(&[
        "analyze", f, "--units", "8k", "--codecs", "zstd-1", "--no-cdc", "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bins = json["units"][0]["compression"][0]["histogram"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(bins.len(), 3, "{bins:?}");
    // 128 blocks, rewritten: each class still within 4 blocks of its share
    for (b, want) in bins.iter().zip([0.3, 0.5, 0.2]) {
        assert!(
            (b["share"].as_f64().unwrap() - want).abs() <= 4.0 / 128.0,
            "{bins:?}"
        );
    }
}

/// Per-codec ratios through the command line: gen = the library's bytes, verify, analyze sees
/// both ratios, write's JSON names them, and a zstd ratio past the limit exits 2 in one line.
#[test]
fn per_codec_ratios_through_the_cli() {
    const SPEC: &str = "lz4=2.2,zstd=3.3";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.bin");
    let p = path.to_str().unwrap();
    let out = dgen(&[
        "gen",
        "--size",
        "16M",
        "--seed",
        "5",
        "--stream-id",
        "1",
        "-c",
        SPEC,
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("compress {SPEC} ")),
        "{}",
        stderr(&out)
    );
    let mut params = GenParams::new(5);
    params.stream_id = 1;
    params.set_compress(SPEC.parse::<CompressSpec>().unwrap());
    let mut want = vec![0u8; 16 << 20];
    Generator::new(params).unwrap().fill(0, &mut want);
    assert!(std::fs::read(&path).unwrap() == want);
    let out = dgen(&["verify", p, "--seed", "5", "--stream-id", "1", "-c", SPEC]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = dgen(&["verify", p, "--seed", "5", "--stream-id", "1", "-c", "2.2"]);
    assert_eq!(out.status.code(), Some(1));
    let out = dgen(&[
        "analyze",
        p,
        "--units",
        "64k",
        "--codecs",
        "lz4,zstd-1",
        "--no-cdc",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &json["units"][0]["compression"];
    assert!(
        (c[0]["ratio"].as_f64().unwrap() / 2.2 - 1.0).abs() < 0.03,
        "{c}"
    );
    assert!(
        (c[1]["ratio"].as_f64().unwrap() / 3.3 - 1.0).abs() < 0.03,
        "{c}"
    );
    let w = dir.path().join("w.bin");
    let out = dgen(&[
        "write",
        w.to_str().unwrap(),
        "--size",
        "4M",
        "--seed",
        "5",
        "-c",
        SPEC,
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["compress_ratio"], 2.2);
    assert_eq!(json["compress_zstd"], 3.3);
    let fresh = dir.path().join("fresh.bin");
    let out = dgen(&[
        "gen",
        "--size",
        "1M",
        "-c",
        "lz4=2.2,zstd=9",
        "-o",
        fresh.to_str().unwrap(),
    ]);
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("--compress") && e.contains("lz4=2.2,zstd=9") && e.contains("the most"));
    assert!(!fresh.exists());
}
