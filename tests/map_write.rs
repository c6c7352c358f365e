//! Writes through a generation map (`dgen write --map`, `dgen verify --map`): a rewrite gives
//! every 4 KiB unit new bytes with the ratios intact on what is live, verification knows each
//! block's current content, a crash leaves a map from which a verify passes, and a map from
//! another target is refused.

use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec};
use dgen::map::session;
use dgen::pipeline::{verify_file, VerifyOptions};
use dgen::GenParams;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Output;

mod dgen_cli;
use dgen_cli::dgen;

const SIZE: u64 = 48 << 20;
const UNIT: u64 = 64 << 10;

fn data_args() -> Vec<&'static str> {
    data_args_with_seed("21")
}

fn data_args_with_seed(seed: &'static str) -> Vec<&'static str> {
    vec![
        "-s",
        "48M",
        "-d",
        "2",
        "-c",
        "3",
        "--dedup-unit",
        "64k",
        "--seed",
        seed,
        "--stream-id",
        "4",
    ]
}

fn write(file: &Path, map: &Path) -> Output {
    let mut a = vec![
        "write",
        file.to_str().unwrap(),
        "--no-direct",
        "--map",
        map.to_str().unwrap(),
    ];
    a.extend(data_args());
    dgen(&a)
}

fn verify(file: &Path, map: &Path) -> Output {
    let mut a = vec![
        "verify",
        file.to_str().unwrap(),
        "--no-direct",
        "--map",
        map.to_str().unwrap(),
    ];
    a.extend(data_args());
    a.push("--json");
    dgen(&a)
}

fn units(data: &[u8]) -> Vec<u128> {
    data.chunks(4096).map(xxhash_rust::xxh3::xxh3_128).collect()
}

fn params() -> GenParams {
    GenParams {
        dedup_ratio: 2.0,
        compress_ratio: 3.0,
        dedup_unit: UNIT,
        stream_id: 4,
        ..GenParams::new(21)
    }
}

#[test]
fn rewrites_write_new_bytes_with_live_ratios_and_verify_knows_them() {
    let dir = tempfile::tempdir().unwrap();
    let (file, map) = (dir.path().join("t.bin"), dir.path().join("t.map"));
    let o = write(&file, &map);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("created"));
    assert!(verify(&file, &map).status.success());
    let mut generations = vec![std::fs::read(&file).unwrap()];
    for pass in 1..=3 {
        let o = write(&file, &map);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("rewrite of 768 blocks"));
        let data = std::fs::read(&file).unwrap();
        // No 4 KiB unit equals its previous content, nor the content it held two writes ago (a
        // block never moves back to the slot it left: the map's history tag). A unit may equal
        // what the same offset held three or more writes ago when its block came back to a slot
        // that has not advanced since (A -> B -> C -> A); when that slot's other holders move on
        // later in the pass, the content is live nowhere else. That is rare, whole blocks, and
        // the map's expected content (verify below passes); it is counted, not forbidden.
        let new_units = units(&data);
        let unchanged = |old: &[u8]| {
            units(old)
                .iter()
                .zip(&new_units)
                .filter(|(x, y)| x == y)
                .count()
        };
        let (prev, older) = generations.split_last().unwrap();
        let same = unchanged(prev);
        assert_eq!(same, 0, "pass {pass}: {same} units unchanged");
        if let Some(two_back) = older.last() {
            let same = unchanged(two_back);
            assert_eq!(same, 0, "pass {pass}: {same} units back to two writes ago");
        }
        let mut count = std::collections::HashMap::new();
        for u in &new_units {
            *count.entry(*u).or_insert(0) += 1;
        }
        let per_block = (UNIT / 4096) as usize;
        let mut returned = std::collections::BTreeSet::new();
        for old in older {
            for (i, (x, y)) in units(old).iter().zip(&new_units).enumerate() {
                if x == y && count[y] == 1 {
                    returned.insert(i);
                }
            }
        }
        let blocks: std::collections::BTreeSet<usize> =
            returned.iter().map(|i| i / per_block).collect();
        assert_eq!(
            returned.len(),
            blocks.len() * per_block,
            "pass {pass}: units went back to old content without their whole block: {returned:?}"
        );
        assert!(
            blocks.len() * 100 <= new_units.len() / per_block,
            "pass {pass}: {} of {} blocks went back to an old content live nowhere else",
            blocks.len(),
            new_units.len() / per_block
        );
        // The live data holds the ratios: dedup exactly 2 at every unit up to 64 KiB.
        let r = analyze_bytes(
            &data,
            &AnalyzeOptions {
                units: vec![4096, UNIT],
                codecs: vec![Codec::Lz4, Codec::Zstd1],
                limit: None,
            },
        )
        .unwrap();
        for u in &r.units {
            assert!(
                (u.dedup_ratio / 2.0 - 1.0).abs() < 0.005,
                "pass {pass}: dedup {}",
                u.dedup_ratio
            );
            for c in &u.compression {
                assert!((c.ratio / 3.0 - 1.0).abs() < 0.03, "pass {pass}: {:?}", c);
            }
        }
        let v = verify(&file, &map);
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
        // The previous generation no longer passes, and the diagnosis calls it a lost write.
        let stale = dir.path().join("stale.bin");
        std::fs::write(&stale, generations.last().unwrap()).unwrap();
        let v = verify(&stale, &map);
        assert_eq!(v.status.code(), Some(1));
        let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        let holds = &j["first_bad_unit"]["holds"];
        let kind = holds["kind"].as_str().unwrap().to_string();
        match kind.as_str() {
            "lost_write" | "lost_write_first_content" | "lost_write_stale" => {}
            // Block 0 moved away from a slot that is still live at other blocks: its old content
            // is their current content, and the map's history says block 0 held it before.
            "lost_write_moved" => assert!(!holds["now_at"].as_array().unwrap().is_empty()),
            _ => panic!("pass {pass}: {kind}"),
        }
        generations.push(data);
    }
}

#[test]
fn a_map_of_another_target_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (file, map) = (dir.path().join("t.bin"), dir.path().join("t.map"));
    assert!(write(&file, &map).status.success());
    let before = std::fs::read(&map).unwrap();
    let mut a = vec![
        "write",
        file.to_str().unwrap(),
        "--no-direct",
        "--map",
        map.to_str().unwrap(),
    ];
    a.extend(data_args_with_seed("22"));
    let o = dgen(&a);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("seed 21") && err.contains("seed 22"), "{err}");
    assert_eq!(std::fs::read(&map).unwrap(), before);
}

/// A rewrite that stops half way (kill -9: no finish) leaves a map from which a verify passes,
/// accepting old or new content only for the blocks of the interrupted rewrite; a block reverted
/// to a generation older than both is still caught.
#[test]
fn an_interrupted_rewrite_verifies_and_a_reverted_block_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (file, map) = (dir.path().join("t.bin"), dir.path().join("t.map"));
    assert!(write(&file, &map).status.success());
    let first = std::fs::read(&file).unwrap();
    assert!(write(&file, &map).status.success());
    // The second rewrite: intents journaled, half the blocks written, then the process "dies".
    let w = session::begin_write(&map, &params(), SIZE).unwrap();
    let gen = w.contents.generator(params()).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    let mut block = vec![0u8; UNIT as usize];
    for b in 0..(SIZE / UNIT) / 2 {
        gen.fill_content(gen.content_of(b), 0, &mut block);
        f.write_all_at(&block, b * UNIT).unwrap();
    }
    drop(w);
    let opened = session::open_for_verify(
        &map,
        &params(),
        Some(SIZE),
        &file,
        dgen::map::TrimCheck::Zeros,
    )
    .unwrap();
    let contents = opened.contents;
    assert_eq!((opened.uncertain, opened.trimmed), (SIZE / UNIT, 0));
    assert_eq!(opened.recovery.uncertain.len() as u64, SIZE / UNIT);
    let opts = VerifyOptions {
        params: params(),
        size: Some(SIZE),
        direct_io: false,
        map: Some(contents),
        ..VerifyOptions::default()
    };
    let stats = verify_file(&file, &opts, &mut |_, _| true).unwrap();
    assert!(stats.is_clean(), "{stats:?}");
    // Block 600 (past the half) reverted to the first run's content: older than both states.
    f.write_all_at(
        &first[(600 * UNIT) as usize..(601 * UNIT) as usize],
        600 * UNIT,
    )
    .unwrap();
    let stats = verify_file(&file, &opts, &mut |_, _| true).unwrap();
    assert_eq!(stats.first_mismatch_offset.map(|o| o / UNIT), Some(600));
}

/// A map older than the data (as a power cut leaves one whose last journal entries never reached
/// the disk under the default durability): the verify fails, and says the block is ahead of the
/// map, or holds content the map places elsewhere (a block that moved slots), never a pass.
#[test]
fn a_map_behind_the_data_fails_the_verify_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (file, map) = (dir.path().join("t.bin"), dir.path().join("t.map"));
    assert!(write(&file, &map).status.success());
    let old_map = std::fs::read(&map).unwrap();
    let old_journal = std::fs::read(dir.path().join("t.map.journal")).unwrap();
    let w = write(&file, &map);
    assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
    std::fs::write(&map, old_map).unwrap();
    std::fs::write(dir.path().join("t.map.journal"), old_journal).unwrap();
    let v = verify(&file, &map);
    assert_eq!(
        v.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    let holds = &j["first_bad_unit"]["holds"];
    let kind = holds["kind"].as_str().unwrap();
    assert!(
        // Content the old map places at other blocks: per its history either one this block
        // held before or not.
        ["ahead_of_map", "lost_write_moved", "misdirected_live"].contains(&kind),
        "{holds}"
    );
    if kind == "ahead_of_map" {
        assert!(
            holds["generation"].as_u64() > holds["current"].as_u64(),
            "{holds}"
        );
    }
}
