//! A map of a compressibility mix made by the dgen before re-sync pieces (`src/gen/atom.rs`,
//! `Layout::draw`): `dgen write old.bin --size 128k --compress 1:50%,3:50% --dedup-unit 8k
//! --seed 77 --stream-id 5 --map old.map --no-direct`. Its data is laid out the older way, which
//! this dgen no longer makes, so verifying against it would fail every compressible block: this
//! dgen refuses the map in one line (exit 2) and leaves the file and the map as they are. And
//! `nomap.bin`, the same mix written by that dgen without a map (`dgen write /tmp/oldmix.bin
//! --size 128k --compress 1:50%,3:50% --dedup-unit 8k --seed 77 --no-direct`, stream id
//! 3467044357165217862 from its path): verifying it fails, and the diagnosis names the older
//! layout as a possible cause.

use std::path::Path;
use std::process::Output;

mod dgen_cli;
use dgen_cli::dgen;

/// The mix both fixtures were written with (their stream ids differ).
const MIX: [&str; 8] = [
    "--size",
    "128k",
    "--compress",
    "1:50%,3:50%",
    "--dedup-unit",
    "8k",
    "--seed",
    "77",
];

/// `dgen CMD FILE --no-direct --map MAP` with the fixture's parameters.
fn run(cmd: &str, file: &Path, map: &Path) -> Output {
    run_mix(cmd, file, map, MIX[3])
}

/// [`run`] with the mix `mix` in place of the fixture's.
fn run_mix(cmd: &str, file: &Path, map: &Path, mix: &str) -> Output {
    let mut args = vec![
        cmd,
        file.to_str().unwrap(),
        "--no-direct",
        "--map",
        map.to_str().unwrap(),
    ];
    // The fixture's parameters, its mix replaced.
    args.extend(MIX.map(|a| if a == MIX[3] { mix } else { a }));
    args.extend(["--stream-id", "5"]);
    dgen(&args)
}

/// `verify` and `write` of `file` with `map` (`run_mix` with `mix`) each exit 2 with one error
/// line on the map that holds every one of `reasons`, print nothing on stdout, and leave the
/// file and the map as they were.
fn refused_and_left_alone(file: &Path, map: &Path, mix: &str, reasons: &[&str]) {
    let before = (std::fs::read(file).unwrap(), std::fs::read(map).unwrap());
    for cmd in ["verify", "write"] {
        let o = run_mix(cmd, file, map, mix);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(o.stdout.is_empty(), "{cmd}");
        assert!(
            err.lines()
                .any(|l| l.starts_with("dgen: error: invalid map file:")
                    && reasons.iter().all(|r| l.contains(r))),
            "{cmd}: {err}"
        );
        assert_eq!(
            std::fs::read(file).unwrap(),
            before.0,
            "{cmd} touched the file"
        );
        assert_eq!(
            std::fs::read(map).unwrap(),
            before.1,
            "{cmd} touched the map"
        );
    }
}

#[test]
fn a_mix_map_from_before_resync_pieces_is_refused_and_left_alone() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/old-mix-layout");
    let dir = tempfile::tempdir().unwrap();
    for f in ["old.bin", "old.map", "old.map.journal"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let (file, map) = (dir.path().join("old.bin"), dir.path().join("old.map"));
    refused_and_left_alone(&file, &map, MIX[3], &["before re-sync pieces"]);
    // A map this dgen makes for the same mix is taken (and verifies what it wrote).
    let new_map = dir.path().join("new.map");
    for cmd in ["write", "verify"] {
        let o = run(cmd, &file, &new_map);
        assert!(
            o.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn older_mix_data_fails_verification_and_the_diagnosis_names_the_older_layout() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/old-mix-layout/nomap.bin");
    let mut args = vec!["verify", file.to_str().unwrap(), "--no-direct"];
    args.extend(MIX);
    args.extend(["--stream-id", "3467044357165217862"]);
    let o = dgen(&args);
    // The verify report (MISMATCH and the diagnosis) is verify's output, on stdout.
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("MISMATCH"), "{out}");
    assert!(
        out.contains(
            "byte 32 of the unit is not (or data written with a mix or a profile by a dgen \
             before re-sync pieces"
        ),
        "{out}"
    );
}

/// Maps made by the dgen before short re-sync pieces (`src/gen/atom.rs`, `Layout::draw`), in
/// `tests/fixtures/old-short-resync`: `dgen write weak.bin --size 128k --compress
/// 1:50%,1.05:50% --dedup-unit 8k --seed 77 --stream-id 5 --map weak.map --no-direct`, and
/// `strong.bin` the same with `1:50%,3:50%`. The 1.05:1 class is laid out otherwise now, so
/// this dgen refuses `weak.map` in one line naming the class (exit 2), leaving the file and the
/// map as they are; `1:50%,3:50%` has no class near 1:1, its data is laid out alike, and its map
/// is taken and verifies the file.
#[test]
fn a_mix_map_from_before_short_resync_pieces_is_refused_only_where_they_changed_the_data() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/old-short-resync");
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "weak.bin",
        "weak.map",
        "weak.map.journal",
        "strong.bin",
        "strong.map",
        "strong.map.journal",
    ] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let file = |name: &str| dir.path().join(name);
    refused_and_left_alone(
        &file("weak.bin"),
        &file("weak.map"),
        "1:50%,1.05:50%",
        &["before short re-sync pieces", "(1.05)"],
    );
    let o = run_mix("verify", &file("strong.bin"), &file("strong.map"), MIX[3]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
