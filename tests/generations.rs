//! Content by (slot, generation): what overwrites write. A fresh write is generation 0 of each
//! block's slot; later generations are new bytes in every 4 KiB unit, with the same ratios, and
//! every atom's header says which content it is.

use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec};
use dgen::gen::{BlockContent, HEADER_LEN};
use dgen::{GenParams, Generator};
use std::collections::HashSet;

const UNIT: u64 = 64 << 10;

fn generator(seed: u64, d: f64, c: f64) -> Generator {
    Generator::new(GenParams {
        dedup_ratio: d,
        compress_ratio: c,
        dedup_unit: UNIT,
        ..GenParams::new(seed)
    })
    .unwrap()
}

#[test]
fn generation_zero_is_the_fresh_write() {
    let g = generator(3, 2.0, 3.0);
    let blocks = 300u64;
    let mut stream = vec![0u8; (blocks * UNIT) as usize];
    g.fill(0, &mut stream);
    let mut block = vec![0u8; UNIT as usize];
    for b in 0..blocks {
        g.fill_content(g.initial_content(b), 0, &mut block);
        assert!(
            block == stream[(b * UNIT) as usize..((b + 1) * UNIT) as usize],
            "block {b}"
        );
    }
    // Any sub-range of a block, unaligned too.
    let c = g.initial_content(17);
    let mut part = vec![0u8; 10_000];
    g.fill_content(c, 5_000, &mut part);
    assert_eq!(&part[..], &stream[(17 * UNIT + 5_000) as usize..][..10_000]);
    assert_eq!(g.first_mismatch_content(c, 5_000, &part), None);
    part[777] ^= 1;
    assert_eq!(g.first_mismatch_content(c, 5_000, &part), Some(777));
}

#[test]
fn every_generation_and_slot_gives_new_bytes_in_every_4k_unit() {
    let g = generator(4, 1.0, 3.0);
    let mut seen = HashSet::new();
    let mut buf = vec![0u8; UNIT as usize];
    for slot in 0..20u64 {
        for generation in [0u32, 1, 2, 7, u32::MAX] {
            g.fill_content(BlockContent { slot, generation }, 0, &mut buf);
            for unit in buf.chunks(4096) {
                assert!(
                    seen.insert(xxhash_rust::xxh3::xxh3_128(unit)),
                    "slot {slot} generation {generation}: a 4 KiB unit repeats"
                );
            }
        }
    }
}

#[test]
fn headers_name_the_content_and_the_run() {
    let g = generator(5, 1.0, 2.0).with_run_id(99);
    let content = BlockContent {
        slot: 1234,
        generation: 56,
    };
    let mut buf = vec![0u8; UNIT as usize];
    g.fill_content(content, 0, &mut buf);
    for (i, atom) in buf.chunks(4096).enumerate() {
        let h = g
            .decode_header(atom[..HEADER_LEN].try_into().unwrap())
            .expect("a header");
        assert_eq!((h.slot, h.generation, h.atom as usize), (1234, 56, i));
        assert_eq!(h.run_tag, g.run_tag());
        assert_eq!(h.stream_tag, g.stream_tag());
        assert_ne!(h.run_tag, 0);
    }
    // Another stream of the same seed reads the header and sees another stream tag.
    let other = Generator::new(GenParams {
        stream_id: 77,
        compress_ratio: 2.0,
        dedup_unit: UNIT,
        ..GenParams::new(5)
    })
    .unwrap();
    let h = other
        .decode_header(buf[..HEADER_LEN].try_into().unwrap())
        .unwrap();
    assert_ne!(h.stream_tag, other.stream_tag());
    // Another seed does not read it; the run without a map writes other bytes.
    assert!(generator(6, 1.0, 2.0)
        .decode_header(buf[..HEADER_LEN].try_into().unwrap())
        .is_none());
    let mut plain = vec![0u8; UNIT as usize];
    generator(5, 1.0, 2.0).fill_content(content, 0, &mut plain);
    assert_ne!(plain, buf);
}

#[test]
fn later_generations_keep_the_compression_ratio() {
    let g = generator(8, 1.0, 3.0);
    let blocks = 256u64;
    let mut data = vec![0u8; (blocks * UNIT) as usize];
    for (b, chunk) in data.chunks_mut(UNIT as usize).enumerate() {
        let content = BlockContent {
            slot: b as u64,
            generation: 1 + (b as u32 % 5),
        };
        g.fill_content(content, 0, chunk);
    }
    let opts = AnalyzeOptions {
        codecs: vec![Codec::Lz4, Codec::Zstd1],
        ..AnalyzeOptions::default()
    };
    let r = analyze_bytes(&data, &opts).unwrap();
    for u in &r.units {
        for cr in &u.compression {
            assert!(
                (cr.ratio / 3.0 - 1.0).abs() < 0.03,
                "{} at {}: {}",
                cr.codec.name(),
                u.unit,
                cr.ratio
            );
        }
    }
}

#[test]
fn diagnosis_names_what_a_unit_holds() {
    use dgen::diagnose::{diagnose, Finding};
    let g = generator(9, 2.0, 3.0).with_run_id(4242);
    let expected = BlockContent {
        slot: 10,
        generation: 3,
    };
    let unit_of = |g: &Generator, c: BlockContent, atom: u64| {
        let mut u = vec![0u8; 4096];
        g.fill_content(c, atom * 4096, &mut u);
        u
    };
    let good = unit_of(&g, expected, 2);
    assert_eq!(diagnose(&g, 7, expected, 2, &good), Finding::Expected);
    assert_eq!(
        diagnose(&g, 7, expected, 2, &[0u8; 4096]),
        Finding::Unrecognised { zeros: true }
    );
    let foreign = unit_of(&generator(10, 2.0, 3.0), expected, 2);
    assert_eq!(
        diagnose(&g, 7, expected, 2, &foreign),
        Finding::Unrecognised { zeros: false }
    );
    let other_stream = Generator::new(GenParams {
        stream_id: 5,
        dedup_ratio: 2.0,
        compress_ratio: 3.0,
        dedup_unit: UNIT,
        ..GenParams::new(9)
    })
    .unwrap()
    .with_run_id(4242);
    assert_eq!(
        diagnose(&g, 7, expected, 2, &unit_of(&other_stream, expected, 2)),
        Finding::OtherStream
    );
    let other_run = generator(9, 2.0, 3.0).with_run_id(777);
    assert_eq!(
        diagnose(&g, 7, expected, 2, &unit_of(&other_run, expected, 2)),
        Finding::OtherRun
    );
    let older = BlockContent {
        generation: 1,
        ..expected
    };
    assert_eq!(
        diagnose(&g, 7, expected, 2, &unit_of(&g, older, 2)),
        Finding::LostWrite {
            found: 1,
            expected: 3
        }
    );
    // Generation 0 of another slot: misdirected, and the diagnosis says where it belongs.
    let home = (21..400u64)
        .map(|b| (b, g.initial_content(b)))
        .find(|(b, c)| g.home_block(c.slot) == *b && c.slot != expected.slot)
        .expect("a unique block past 20");
    let stray = unit_of(&g, home.1, 1);
    assert_eq!(
        diagnose(&g, 7, expected, 2, &stray),
        Finding::Misdirected {
            slot: home.1.slot,
            generation: 0,
            atom: 1,
            home_offset: Some(home.0 * UNIT + 4096),
        }
    );
    let mut flipped = good.clone();
    flipped[3000] ^= 0x40;
    assert_eq!(
        diagnose(&g, 7, expected, 2, &flipped),
        Finding::Corrupted {
            first_bad: 3000,
            older_layout: false
        }
    );
}

/// A content table (what a generation map holds) drives fill and first_mismatch; an uncertain
/// block may hold either of its two contents.
#[test]
fn a_content_table_drives_fill_and_check() {
    use dgen::gen::BlockContents;
    use std::sync::Arc;
    #[derive(Debug)]
    struct Table;
    impl BlockContents for Table {
        fn content(&self, block: u64) -> BlockContent {
            BlockContent {
                slot: block / 2,
                generation: block as u32 % 3,
            }
        }
        fn alternative(&self, block: u64) -> Option<BlockContent> {
            (block == 5).then_some(BlockContent {
                slot: 99,
                generation: 1,
            })
        }
    }
    let g = generator(12, 2.0, 3.0)
        .with_run_id(5)
        .with_contents(Arc::new(Table));
    let mut data = vec![0u8; (8 * UNIT) as usize];
    g.fill(0, &mut data);
    let mut block = vec![0u8; UNIT as usize];
    for b in 0..8u64 {
        g.fill_content(g.content_of(b), 0, &mut block);
        assert!(
            block == data[(b * UNIT) as usize..((b + 1) * UNIT) as usize],
            "block {b}"
        );
    }
    assert_eq!(g.first_mismatch(0, &data), None);
    // Block 5 holding its alternative passes; block 4 holding it does not.
    g.fill_content(
        BlockContent {
            slot: 99,
            generation: 1,
        },
        0,
        &mut block,
    );
    let mut alt5 = data.clone();
    alt5[(5 * UNIT) as usize..(6 * UNIT) as usize].copy_from_slice(&block);
    assert_eq!(g.first_mismatch(0, &alt5), None);
    let mut alt4 = data.clone();
    alt4[(4 * UNIT) as usize..(5 * UNIT) as usize].copy_from_slice(&block);
    assert!(g.first_mismatch(0, &alt4).is_some());
}
