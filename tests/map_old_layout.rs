//! A map file of the older layout (a slot and a history tag per block, flags 0x09), made by the
//! dgen before per-block versions: `dgen write old.bin --size 128k --dedup 2 --compress 3
//! --dedup-unit 4k --seed 77 --stream-id 5 --map old.map --no-direct`, three times (so blocks
//! moved). This dgen reads it, verifies the file against it, and writes it back in its own layout
//! on the next rewrite.

use std::path::Path;
use std::process::Output;

mod dgen_cli;
use dgen_cli::dgen;

const PARAMS: [&str; 12] = [
    "--size",
    "128k",
    "--dedup",
    "2",
    "--compress",
    "3",
    "--dedup-unit",
    "4k",
    "--seed",
    "77",
    "--stream-id",
    "5",
];

fn run(cmd: &str, file: &Path, map: &Path) -> Output {
    let mut a = vec![
        cmd,
        file.to_str().unwrap(),
        "--no-direct",
        "--map",
        map.to_str().unwrap(),
    ];
    a.extend(PARAMS);
    dgen(&a)
}

fn flags(map: &Path) -> u32 {
    let b = std::fs::read(map).unwrap();
    u32::from_le_bytes(b[12..16].try_into().unwrap())
}

#[test]
fn a_map_of_the_older_layout_verifies_and_is_rewritten_in_the_new_one() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/old-map-layout");
    let dir = tempfile::tempdir().unwrap();
    for f in ["old.bin", "old.map", "old.map.journal"] {
        std::fs::copy(fixtures.join(f), dir.path().join(f)).unwrap();
    }
    let (file, map) = (dir.path().join("old.bin"), dir.path().join("old.map"));
    assert_eq!(flags(&map), 0x09, "the fixture is of the older layout");
    let v = run("verify", &file, &map);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    // A block swapped with another of other content is caught.
    let mut data = std::fs::read(&file).unwrap();
    let (a, b) = (0..32usize)
        .flat_map(|a| (0..32usize).map(move |b| (a, b)))
        .find(|&(a, b)| data[a * 4096..(a + 1) * 4096] != data[b * 4096..(b + 1) * 4096])
        .unwrap();
    data.copy_within(b * 4096..(b + 1) * 4096, a * 4096);
    let swapped = dir.path().join("swapped.bin");
    std::fs::write(&swapped, &data).unwrap();
    let v = run("verify", &swapped, &map);
    assert_eq!(
        v.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );
    // A rewrite through the old map: new content everywhere, the map in the new layout.
    let before = std::fs::read(&file).unwrap();
    let w = run("write", &file, &map);
    assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
    assert_eq!(flags(&map), 0x10, "written back with per-block versions");
    let after = std::fs::read(&file).unwrap();
    let unchanged = before
        .chunks(4096)
        .zip(after.chunks(4096))
        .filter(|(x, y)| x == y)
        .count();
    assert_eq!(unchanged, 0, "{unchanged} units kept their content");
    let v = run("verify", &file, &map);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    // The previous file no longer passes: each block is a lost write now.
    std::fs::write(&swapped, &before).unwrap();
    let v = run("verify", &swapped, &map);
    assert_eq!(v.status.code(), Some(1));
}
