//! The block map: the write rule's invariants, the map file, the journal and crash recovery.

use dgen::map::{BlockMap, Content, MapExpect, MapFile, MapIdentity, Transition};
use dgen::{CompressCodec, GenParams};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

fn identity(run_id: u64) -> MapIdentity {
    let mut params = GenParams::new(42);
    params.stream_id = 7;
    params.dedup_ratio = 2.0;
    params.compress_ratio = 3.0;
    params.dedup_unit = 64 << 10;
    MapIdentity {
        params,
        size: 64 * (64 << 10),
        run_id,
    }
}

/// 64 blocks over 32 slots, block b at slot b % 32.
/// 64 blocks at d = 2 in the generator's layout (what a map file reads back).
fn map64(run_id: u64) -> BlockMap {
    BlockMap::in_layout(identity(run_id), 64).unwrap()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn journal_of(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.journal", path.display()))
}

/// A tiny deterministic generator of choices.
fn choice(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn check_invariants(map: &BlockMap) {
    let live: HashSet<Content> = (0..map.blocks()).map(|b| map.expected(b)).collect();
    assert_eq!(live.len() as u64, map.slots(), "distinct live contents");
    let total: u64 = (0..map.slots()).map(|s| map.holders(s)).sum();
    assert_eq!(total, map.blocks(), "holders sum to N");
    let mut counted = vec![0u64; map.slots() as usize];
    for b in 0..map.blocks() {
        counted[map.expected(b).slot as usize] += 1;
    }
    for s in 0..map.slots() {
        assert_eq!(map.holders(s), counted[s as usize], "holders of slot {s}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn writes_keep_k_live_contents_and_never_reuse_a_content(
        blocks in 1u64..120,
        slot_share in 0.0f64..1.0,
        layout_seed in any::<u64>(),
        writes in prop::collection::vec((any::<u64>(), any::<u64>()), 0..400),
    ) {
        let slots = if blocks == 1 { 1 } else { 2 + ((blocks - 2) as f64 * slot_share) as u64 };
        // The first K blocks hold slots 0..K (every slot held), the rest copy pseudo-randomly.
        let initial = move |b: u64| if b < slots { b } else { choice(layout_seed ^ b) % slots };
        let mut map = BlockMap::new(identity(1), blocks, slots, initial).unwrap();
        check_invariants(&map);
        let mut ever: HashSet<Content> = (0..blocks).map(|b| map.expected(b)).collect();
        for (pick, ch) in writes {
            let block = pick % blocks;
            let before = map.expected(block);
            let t = map.write(block, ch).unwrap();
            prop_assert_eq!(t.block, block);
            prop_assert_eq!(t.old, before);
            prop_assert_ne!(t.new, t.old);
            prop_assert_eq!(map.expected(block), t.new);
            if t.new.slot == t.old.slot {
                // A new generation: never seen before.
                prop_assert_eq!(map.holders(t.new.slot), 1);
                prop_assert!(ever.insert(t.new), "content {:?} reused", t.new);
            } else {
                // A move: the content was live elsewhere already.
                prop_assert!(map.holders(t.new.slot) >= 2);
                prop_assert!(ever.contains(&t.new));
            }
            check_invariants(&map);
        }
    }
}

#[test]
fn no_dedup_only_generations_move_and_cost_4_bytes() {
    let mut map = BlockMap::new(identity(1), 100, 100, |b| b).unwrap();
    for i in 0..1000 {
        let t = map.write(i % 100, choice(i)).unwrap();
        assert_eq!(t.new.slot, t.block);
        assert_eq!(t.new.generation, t.old.generation + 1);
    }
    assert_eq!(map.bytes_per_block(), 2.0);
    // d = 2: a version (2) per block, generation and holders (2 + 1) per slot: 3.5 bytes, plus
    // 32 per side-table entry (none in a fresh map).
    let m = map64(1);
    assert_eq!(m.slots(), 32);
    assert_eq!(m.bytes_per_block(), 3.5);
}

#[test]
fn moves_are_uniform_over_the_other_slots() {
    // 4 slots, 8 blocks: write block 0 while its slot has other holders, count targets over
    // runs (the candidates a block moves to are drawn from the run id).
    let mut counts = [0u64; 4];
    for i in 0..40_000u64 {
        let mut map = BlockMap::new(identity(i), 8, 4, |b| b % 4).unwrap();
        let t = map.write(0, choice(i)).unwrap();
        counts[t.new.slot as usize] += 1;
    }
    assert_eq!(counts[0], 0);
    for c in &counts[1..] {
        assert!((*c as f64 - 40_000.0 / 3.0).abs() < 500.0, "{counts:?}");
    }
}

#[test]
fn file_round_trip_and_refusals() {
    let dir = tmp();
    let path = dir.path().join("t.map");
    let mut map = map64(5);
    let mut file = MapFile::create(&path, &map, false).unwrap();
    for i in 0..200 {
        let t = map.write(choice(i) % 64, choice(i + 1000)).unwrap();
        let seq = file.log(&t);
        file.commit().unwrap();
        file.completed(seq);
    }
    file.commit().unwrap();
    let (read, rec) = MapFile::read(&path, &MapExpect::from(map.identity())).unwrap();
    assert_eq!(read, map);
    assert_eq!(rec.replayed, 200);
    assert!(rec.uncertain.is_empty() && rec.corrupt_records == 0 && rec.torn_tail_bytes == 0);
    file.checkpoint(&map).unwrap();
    assert_eq!(file.journal_bytes(), 40);
    let (read, rec) = MapFile::read(&path, &MapExpect::from(map.identity())).unwrap();
    assert_eq!(read, map);
    assert_eq!(rec.replayed, 0);
    // Holder counts are rebuilt on open.
    for s in 0..map.slots() {
        assert_eq!(read.holders(s), map.holders(s));
    }

    // Refuses to replace unless told.
    let err = MapFile::create(&path, &map, false).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    drop(file);
    MapFile::create(&path, &map64(6), true).unwrap();
    let (read, _) = MapFile::read(&path, &MapExpect::from(&identity(6))).unwrap();
    assert_eq!(read, map64(6));
}

#[test]
fn no_dedup_map_round_trips_without_a_slot_array() {
    let dir = tmp();
    let path = dir.path().join("d1.map");
    let mut id = identity(3);
    id.params.dedup_ratio = 1.0;
    let mut map = BlockMap::new(id, 1000, 1000, |b| b).unwrap();
    let mut file = MapFile::create(&path, &map, false).unwrap();
    for i in 0..50 {
        let t = map.write(i * 7 % 1000, 0).unwrap();
        file.log(&t);
    }
    file.commit().unwrap();
    file.checkpoint(&map).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        136 + 4 * 1000 + 50 * 40
    );
    let (read, rec) = MapFile::read(&path, &MapExpect::from(map.identity())).unwrap();
    assert_eq!(read, map);
    assert_eq!(
        rec.uncertain.len(),
        50,
        "never completed: carried as uncertain"
    );
}

#[test]
fn identity_mismatch_names_the_field_and_leaves_the_map_alone() {
    let dir = tmp();
    let path = dir.path().join("id.map");
    let map = map64(9);
    MapFile::create(&path, &map, false).unwrap();
    let before = (
        std::fs::read(&path).unwrap(),
        std::fs::read(journal_of(&path)).unwrap(),
    );
    let base = MapExpect::from(map.identity());
    let cases: Vec<(MapExpect, &str, &str, &str)> = vec![
        (
            MapExpect {
                params: GenParams {
                    seed: 43,
                    ..base.params.clone()
                },
                ..base.clone()
            },
            "seed",
            "42",
            "43",
        ),
        (
            MapExpect {
                params: GenParams {
                    stream_id: 8,
                    ..base.params.clone()
                },
                ..base.clone()
            },
            "stream id",
            "7",
            "8",
        ),
        (
            MapExpect {
                params: GenParams {
                    dedup_ratio: 2.5,
                    ..base.params.clone()
                },
                ..base.clone()
            },
            "dedup ratio",
            "2",
            "2.5",
        ),
        (
            MapExpect {
                params: GenParams {
                    compress_ratio: 1.5,
                    ..base.params.clone()
                },
                ..base.clone()
            },
            "compression ratio",
            "3",
            "1.5",
        ),
        (
            MapExpect {
                params: GenParams {
                    dedup_unit: 128 << 10,
                    ..base.params.clone()
                },
                ..base.clone()
            },
            "dedup unit",
            "65536",
            "131072",
        ),
        (
            MapExpect {
                params: GenParams {
                    compress_codec: CompressCodec::Snappy,
                    ..base.params.clone()
                },
                ..base.clone()
            },
            "compress codec",
            "lz",
            "snappy",
        ),
        (
            MapExpect {
                size: 1 << 30,
                ..base.clone()
            },
            "size",
            "4194304",
            "1073741824",
        ),
        (
            MapExpect {
                run_id: Some(10),
                ..base.clone()
            },
            "run id",
            "0x0000000000000009",
            "0x000000000000000a",
        ),
    ];
    for (expect, field, have, want) in cases {
        let err = MapFile::open(&path, &expect).unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(
            err.contains(&format!(
                "made with {field} {have}, this run has {field} {want}"
            )),
            "{field}: {err}"
        );
        assert!(MapFile::read(&path, &expect).is_err());
    }
    let after = (
        std::fs::read(&path).unwrap(),
        std::fs::read(journal_of(&path)).unwrap(),
    );
    assert!(before == after, "a refused open changed the files");
    // Without a run id, the map's own run is accepted (a verify learning the run from the map).
    let any_run = MapExpect {
        run_id: None,
        ..base
    };
    assert_eq!(MapFile::read(&path, &any_run).unwrap().0, map);
}

/// One simulated run: batches of 8 writes; returns the map after each write.
struct Run {
    map: BlockMap,
    file: MapFile,
    transitions: Vec<(u64, Transition)>,
    snapshots: Vec<BlockMap>,
}

impl Run {
    fn new(path: &Path) -> Run {
        let map = map64(77);
        let file = MapFile::create(path, &map, false).unwrap();
        Run {
            snapshots: vec![map.clone()],
            map,
            file,
            transitions: Vec::new(),
        }
    }

    fn batch(&mut self, n: u64, commit: bool) -> Vec<u64> {
        let mut seqs = Vec::new();
        for _ in 0..n {
            let i = self.transitions.len() as u64;
            let t = self.map.write(choice(i) % 64, choice(i ^ 0xabc)).unwrap();
            let seq = self.file.log(&t);
            self.transitions.push((seq, t));
            self.snapshots.push(self.map.clone());
            seqs.push(seq);
        }
        if commit {
            self.file.commit().unwrap();
        }
        seqs
    }

    /// kill -9: the file is dropped without a checkpoint; what the run did is kept.
    fn kill(self) -> Crashed {
        drop(self.file);
        Crashed {
            transitions: self.transitions,
            snapshots: self.snapshots,
        }
    }
}

/// What a killed run had done.
struct Crashed {
    transitions: Vec<(u64, Transition)>,
    snapshots: Vec<BlockMap>,
}

impl Crashed {
    fn transitions(&self, seqs: std::ops::RangeInclusive<u64>) -> Vec<Transition> {
        self.transitions
            .iter()
            .filter(|(s, _)| seqs.contains(s))
            .map(|(_, t)| *t)
            .collect()
    }
}

#[test]
fn crash_recovery_replays_committed_intents_and_names_the_uncertain_ones() {
    let dir = tmp();
    let path = dir.path().join("crash.map");
    let mut run = Run::new(&path);
    for s in run.batch(8, true) {
        run.file.completed(s);
    }
    run.batch(8, true); // 9..=16, with the watermark "done through 8"
    for s in [9, 10, 11, 12, 15] {
        run.file.completed(s);
    }
    run.batch(8, true); // 17..=24, with the watermark "done through 12"
    run.batch(8, false); // 25..=32 logged, never committed: their data was never submitted
    let expect = MapExpect::from(run.map.identity());
    let run = run.kill();

    let (map, rec) = MapFile::read(&path, &expect).unwrap();
    assert_eq!(
        map, run.snapshots[24],
        "state = every committed intent applied"
    );
    assert_eq!(rec.replayed, 24);
    // 15 completed out of order: beyond the contiguous watermark, so still uncertain.
    assert_eq!(rec.uncertain, run.transitions(13..=24));
    assert_eq!((rec.torn_tail_bytes, rec.corrupt_records), (0, 0));
    let t = rec.uncertain[0];
    assert!(rec
        .accepted(t.block, map.expected(t.block))
        .contains(&t.old));

    // Open to go on: the uncertainty survives into the fresh checkpoint and a second crash.
    let (mut file, mut map, rec2) = MapFile::open(&path, &expect).unwrap();
    assert_eq!(rec2, rec);
    let (again, rec3) = MapFile::read(&path, &expect).unwrap();
    assert_eq!(again, map);
    assert_eq!(rec3.uncertain, rec.uncertain);
    assert_eq!(rec3.replayed, 0);
    // Rewriting an uncertain block and completing it settles that block.
    let block = rec.uncertain[0].block;
    let t = map.write(block, 1).unwrap();
    let seq = file.log(&t);
    assert_eq!(seq, 25, "sequence numbers go on after the replayed ones");
    file.commit().unwrap();
    file.completed(seq);
    file.commit().unwrap();
    drop(file);
    let (again, rec4) = MapFile::read(&path, &expect).unwrap();
    assert_eq!(again, map);
    assert!(rec4.uncertain.iter().all(|u| u.block != block));
    assert_eq!(
        rec4.uncertain.len(),
        rec.uncertain.iter().filter(|u| u.block != block).count()
    );
}

#[test]
fn torn_journal_tail_stops_replay_at_the_last_whole_record() {
    let dir = tmp();
    let path = dir.path().join("torn.map");
    let mut run = Run::new(&path);
    run.batch(5, true);
    let expect = MapExpect::from(run.map.identity());
    let run = run.kill();
    let journal = journal_of(&path);
    // The journal is pre-written with zeros (64 KiB at first); the records end at 40 + 5 * 48.
    let end = 40 + 5 * 48;
    let len = std::fs::metadata(&journal).unwrap().len();
    assert!(
        len >= 64 << 10 && len.is_multiple_of(4096),
        "journal of {len} bytes"
    );
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&journal)
        .unwrap();
    // The crash tore the last record: its last 20 bytes never reached the disk.
    use std::os::unix::fs::FileExt;
    f.write_all_at(&[0u8; 20], end - 20).unwrap();
    let (map, rec) = MapFile::read(&path, &expect).unwrap();
    assert_eq!(rec.torn_tail_bytes, 48);
    assert_eq!(rec.corrupt_records, 0);
    assert_eq!(rec.replayed, 4);
    assert_eq!(map, run.snapshots[4]);
    assert_eq!(rec.uncertain, run.transitions(1..=4));
}

#[test]
fn a_flipped_byte_is_reported_as_corrupt() {
    let dir = tmp();
    let path = dir.path().join("flip.map");
    let mut run = Run::new(&path);
    run.batch(6, true);
    let expect = MapExpect::from(run.map.identity());
    let run = run.kill();
    let journal = journal_of(&path);
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[40 + 3 * 48 + 30] ^= 0x04; // inside record 4 (seq 4)
    std::fs::write(&journal, &bytes).unwrap();
    let (map, rec) = MapFile::read(&path, &expect).unwrap();
    assert_eq!(rec.corrupt_records, 3, "records 4, 5, 6 not replayed");
    assert_eq!(rec.replayed, 3);
    assert_eq!(map, run.snapshots[3]);
    // A damaged map header is an error, not a silent pass.
    let mut m = std::fs::read(&path).unwrap();
    m[20] ^= 1;
    std::fs::write(&path, &m).unwrap();
    let err = MapFile::read(&path, &expect).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");
}

#[test]
fn interrupted_checkpoints_are_harmless() {
    let dir = tmp();
    let path = dir.path().join("ck.map");
    let mut run = Run::new(&path);
    run.batch(8, true);
    let expect = MapExpect::from(run.map.identity());
    // A crash between the map's rename and the journal's reset: the old journal is stale.
    let old_journal = std::fs::read(journal_of(&path)).unwrap();
    run.file.checkpoint(&run.map).unwrap();
    std::fs::write(journal_of(&path), &old_journal).unwrap();
    let run = run.kill();
    let (map, rec) = MapFile::read(&path, &expect).unwrap();
    assert!(rec.stale_journal);
    assert_eq!(rec.replayed, 0);
    assert_eq!(map, run.snapshots[8]);
    assert_eq!(
        rec.uncertain,
        run.transitions(1..=8),
        "carried by the checkpoint"
    );

    // A crash during a checkpoint's write of PATH.tmp.
    let tmp_path = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp_path, b"half a checkpoint").unwrap();
    let (map, rec) = MapFile::read(&path, &expect).unwrap();
    assert!(rec.leftover_tmp);
    assert_eq!(map, run.snapshots[8]);
    assert!(tmp_path.exists(), "read changes nothing");

    let (_file, map, rec) = MapFile::open(&path, &expect).unwrap();
    assert!(!tmp_path.exists(), "open removes the leftover");
    assert_eq!(map, run.snapshots[8]);
    assert_eq!(rec.uncertain.len(), 8);
}

#[test]
fn journal_from_another_run_is_refused() {
    let dir = tmp();
    let a = dir.path().join("a.map");
    let b = dir.path().join("b.map");
    MapFile::create(&a, &map64(1), false).unwrap();
    MapFile::create(&b, &map64(2), false).unwrap();
    std::fs::copy(journal_of(&a), journal_of(&b)).unwrap();
    let err = MapFile::read(&b, &MapExpect::from(&identity(2)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("belongs to run"), "{err}");
}

#[test]
fn log_and_commit_cost_for_a_batch_of_32() {
    let dir = tmp();
    let path = dir.path().join("cost.map");
    let mut map = BlockMap::new(identity(4), 1 << 16, 1 << 15, |b| b % (1 << 15)).unwrap();
    let mut file = MapFile::create(&path, &map, false).unwrap();
    let mut times = Vec::new();
    let mut i = 0u64;
    for _ in 0..200 {
        let start = std::time::Instant::now();
        let mut seqs = Vec::with_capacity(32);
        for _ in 0..32 {
            let t = map.write(choice(i) % (1 << 16), choice(!i)).unwrap();
            seqs.push(file.log(&t));
            i += 1;
        }
        file.commit().unwrap();
        times.push(start.elapsed());
        for s in seqs {
            file.completed(s);
        }
    }
    times.sort();
    let log_only = {
        let start = std::time::Instant::now();
        let mut seqs = HashMap::new();
        for _ in 0..32 {
            let t = map.write(choice(i) % (1 << 16), choice(!i)).unwrap();
            seqs.insert(file.log(&t), ());
            i += 1;
        }
        start.elapsed()
    };
    eprintln!(
        "map: 32 x (write + log) + commit: median {:?}, p90 {:?}, max {:?}; 32 x (write + log) \
         alone {:?}",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1],
        log_only
    );
}

/// The map's per-block history: a block whose last write (a move to another slot) was lost still
/// holds what it held before, which other blocks hold now: a lost write, not a misdirected one;
/// a unit of content the block did not hold before is a misdirected write.
#[test]
fn history_tells_a_lost_write_of_a_moved_block_from_a_misdirected_one() {
    use dgen::diagnose::{diagnose, Finding};
    use dgen::gen::BlockContent;
    use dgen::map::session::MapView;
    use dgen::map::Recovery;
    use dgen::Generator;
    use std::sync::Arc;

    let params = identity(9).params;
    let unit = params.dedup_unit;
    let plain = Generator::new(params.clone()).unwrap();
    let blocks = 64;
    let ident = MapIdentity {
        params: params.clone(),
        size: blocks * unit,
        run_id: 9,
    };
    let layout = plain.clone();
    let mut map = BlockMap::new(ident, blocks, plain.slots_for(blocks), move |b| {
        layout.initial_content(b).slot
    })
    .unwrap();
    // A write that moves its block to another slot (its old slot keeps other holders).
    let x = (0..blocks)
        .find(|&b| {
            let t = map.clone().write(b, 12345).unwrap();
            t.new.slot != t.old.slot
        })
        .expect("some block shares its slot at d = 2");
    map.write(x, 12345).unwrap();
    // Its next write moves it again (its slot now has other holders); that is the one lost
    // below, so what x still holds is not its fresh-write content.
    let t = map.write(x, 777).unwrap();
    assert_ne!(t.new.slot, t.old.slot);
    let content = |c: Content| BlockContent {
        slot: c.slot,
        generation: c.generation,
    };
    let view = MapView::new(map.clone(), &Recovery::default());
    let gen = Generator::new(params)
        .unwrap()
        .with_run_id(9)
        .with_contents(Arc::new(view));
    let mut held = vec![0u8; 4096];
    gen.fill_content(content(t.old), 0, &mut held);
    let f = diagnose(&gen, x, content(t.new), 0, &held);
    assert!(matches!(f, Finding::LostWriteMoved { .. }), "{f:?}");
    assert!(f.to_string().ends_with("a lost write"), "{f}");
    // Another block's current content that x did not hold before.
    let y = (0..blocks)
        .find(|&y| {
            let c = map.expected(y);
            y != x && c != t.old && c != t.new && map.held_before(x, c.slot) == Some(false)
        })
        .unwrap();
    let mut other = vec![0u8; 4096];
    gen.fill_content(content(map.expected(y)), 0, &mut other);
    let f = diagnose(&gen, x, content(t.new), 0, &other);
    assert!(matches!(f, Finding::MisdirectedLive { .. }), "{f:?}");
    assert!(f.to_string().contains(&format!("{}", y * unit)), "{f}");
}
