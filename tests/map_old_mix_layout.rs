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
    let mut args = vec![
        cmd,
        file.to_str().unwrap(),
        "--no-direct",
        "--map",
        map.to_str().unwrap(),
    ];
    args.extend(MIX);
    args.extend(["--stream-id", "5"]);
    dgen(&args)
}

#[test]
fn a_mix_map_from_before_resync_pieces_is_refused_and_left_alone() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/old-mix-layout");
    let dir = tempfile::tempdir().unwrap();
    for f in ["old.bin", "old.map", "old.map.journal"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let (file, map) = (dir.path().join("old.bin"), dir.path().join("old.map"));
    let before = (std::fs::read(&file).unwrap(), std::fs::read(&map).unwrap());
    for cmd in ["verify", "write"] {
        let o = run(cmd, &file, &map);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(o.stdout.is_empty(), "{cmd}");
        assert!(
            err.lines()
                .any(|l| l.starts_with("dgen: error: invalid map file:")
                    && l.contains("before re-sync pieces")),
            "{cmd}: {err}"
        );
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before.0,
            "{cmd} touched the file"
        );
        assert_eq!(
            std::fs::read(&map).unwrap(),
            before.1,
            "{cmd} touched the map"
        );
    }
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
