//! Compressibility mixes (`--compress 1:30%,4:50%,16:20%`): the classes' shares, each class's
//! per-unit ratios and the aggregate ratio measured with real codecs (lz4, zstd-1), offset
//! addressability, dedup, and the map's record of the mix.

use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec, Compressors};
use dgen::map::{BlockMap, MapExpect, MapFile, MapIdentity};
use dgen::{CompressSpec, GenParams, Generator};

const MIX: &str = "1:30%,4:50%,16:20%";

fn params(seed: u64, mix: &str, dedup: f64, unit: u64) -> GenParams {
    let mut p = GenParams::new(seed);
    p.dedup_ratio = dedup;
    p.dedup_unit = unit;
    p.set_compress(mix.parse::<CompressSpec>().unwrap());
    p
}

fn sample(g: &Generator, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    g.fill_parallel(0, &mut buf);
    buf
}

/// The tolerance of lz4 and zstd-1 at `unit` (as `tests/accuracy.rs` holds uniform ratios).
fn tolerance(unit: usize) -> f64 {
    if unit == 4096 {
        0.03
    } else {
        0.02
    }
}

/// The ratio `codec` measures over independent `unit`s of `data`.
fn measured(comp: &mut Compressors, codec: Codec, data: &[u8], unit: usize) -> f64 {
    let packed: usize = data
        .chunks_exact(unit)
        .map(|c| comp.compressed_len(codec, c).unwrap())
        .sum();
    (data.len() / unit * unit) as f64 / packed as f64
}

/// `1 / sum(share_i / ratio_i)` over the classes of the first `blocks` blocks as generated (the
/// shares of a sample are the mix's to within a few blocks).
fn aggregate_of(g: &Generator, blocks: u64) -> f64 {
    let mix = g.params().compress_mix.clone().unwrap();
    let inverse: f64 = (0..blocks)
        .map(|b| 1.0 / mix.classes()[g.compress_class(g.initial_content(b).slot).unwrap()].ratio)
        .sum();
    blocks as f64 / inverse
}

/// A compressible block after an incompressible one keeps its ratio in units that hold both:
/// a mix of 8 KiB blocks (`1:50%,3:50%` and `1:50%,8:50%`) measures within 1% of its 8 KiB
/// aggregate at 32 KiB, 128 KiB and 1 MiB with lz4 and zstd-1. Without the re-sync piece that
/// opens the classes' atoms (`src/gen/atom.rs`, `Layout::draw`), both codecs stepped over the
/// first matches after an incompressible block: zstd-1 lost 9.6% at 128 KiB on the first mix,
/// lz4 4.4% at 1 MiB.
#[test]
fn compressible_blocks_after_incompressible_ones_keep_their_ratio() {
    let mut comp = Compressors::new(1 << 20).unwrap();
    for mix in ["1:50%,3:50%", "1:50%,8:50%"] {
        let data = sample(
            &Generator::new(params(5, mix, 1.0, 8 << 10)).unwrap(),
            16 << 20,
        );
        for codec in [Codec::Lz4, Codec::Zstd1] {
            let at_block = measured(&mut comp, codec, &data, 8 << 10);
            for unit in [32usize << 10, 128 << 10, 1 << 20] {
                let got = measured(&mut comp, codec, &data, unit);
                assert!(
                    (got / at_block - 1.0).abs() < 0.01,
                    "{mix} with {} at {unit}: {got:.3}, {at_block:.3} at 8 KiB",
                    codec.name()
                );
            }
        }
    }
}

/// Each class's per-unit ratio (units inside blocks of the class, sum of sizes / sum of
/// compressed sizes) and the aggregate, with lz4 and zstd-1, at units up to the dedup block: a
/// class measures what uniform data at its ratio measures (the same layouts), so within today's
/// tolerance of its ratio up to 8:1 (past that uniform data is off by more: README, Accuracy),
/// and the aggregate is within tolerance of `1 / sum(share_i / ratio_i)`.
#[test]
fn each_class_and_the_aggregate_hold_their_ratios() {
    let unit_block = 128usize << 10;
    let p = params(3, MIX, 1.0, unit_block as u64);
    let mix = p.compress_mix.clone().unwrap();
    let g = Generator::new(p).unwrap();
    let data = sample(&g, 32 << 20);
    let blocks = data.len() / unit_block;
    let class_of: Vec<usize> = (0..blocks as u64)
        .map(|b| g.compress_class(g.initial_content(b).slot).unwrap())
        .collect();
    let uniform: Vec<Vec<u8>> = mix
        .classes()
        .iter()
        .map(|c| {
            let g = Generator::new(params(3, &c.ratio.to_string(), 1.0, unit_block as u64));
            sample(&g.unwrap(), 8 << 20)
        })
        .collect();
    let mut failures = Vec::new();
    let mut comp = Compressors::new(unit_block).unwrap();
    for unit in [4096usize, 8192, 32 << 10, 128 << 10] {
        for codec in [Codec::Lz4, Codec::Zstd1] {
            let k = mix.classes().len();
            let (mut raw, mut packed) = (vec![0u64; k], vec![0u64; k]);
            for (i, chunk) in data.chunks_exact(unit).enumerate() {
                let class = class_of[i * unit / unit_block];
                raw[class] += unit as u64;
                packed[class] += comp.compressed_len(codec, chunk).unwrap() as u64;
            }
            for (c, class) in mix.classes().iter().enumerate() {
                let got = raw[c] as f64 / packed[c] as f64;
                let alone = measured(&mut comp, codec, &uniform[c], unit);
                if (got / alone - 1.0).abs() > 0.005 {
                    failures.push(format!(
                        "class {}:1 with {} at {unit}: {got:.3}, uniform data {alone:.3}",
                        class.ratio,
                        codec.name(),
                    ));
                }
                let err = got / class.ratio - 1.0;
                if class.ratio <= 8.0 && err.abs() > tolerance(unit) {
                    failures.push(format!(
                        "class {}:1 with {} at {unit}: {got:.3} ({:+.2}%)",
                        class.ratio,
                        codec.name(),
                        err * 100.0
                    ));
                }
            }
            let total = raw.iter().sum::<u64>() as f64 / packed.iter().sum::<u64>() as f64;
            let want = aggregate_of(&g, blocks as u64);
            let err = total / want - 1.0;
            if err.abs() > tolerance(unit) {
                failures.push(format!(
                    "aggregate with {} at {unit}: {total:.3} for {want:.3} ({:+.2}%)",
                    codec.name(),
                    err * 100.0
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The analyzer sees the aggregate at every unit (up to 1 MiB with a 1 MiB dedup block) and its
/// histogram shows one peak per class with the class's share of the units.
#[test]
fn analyzer_sees_the_aggregate_and_one_peak_per_class() {
    let p = params(5, MIX, 1.0, 1 << 20);
    let mix = p.compress_mix.clone().unwrap();
    let g = Generator::new(p).unwrap();
    let data = sample(&g, 64 << 20);
    let want = aggregate_of(&g, 64);
    assert!((want / mix.aggregate_ratio() - 1.0).abs() < 0.1, "{want}");
    let mut counts = [0u64; 3];
    for b in 0..64 {
        counts[g.compress_class(g.initial_content(b).slot).unwrap()] += 1;
    }
    let opts = AnalyzeOptions {
        codecs: vec![Codec::Lz4, Codec::Zstd1],
        ..AnalyzeOptions::default()
    };
    let r = analyze_bytes(&data, &opts).unwrap();
    for u in &r.units {
        for c in &u.compression {
            let err = c.ratio / want - 1.0;
            assert!(
                err.abs() <= tolerance(u.unit as usize),
                "{} at {}: {:.3} ({:+.2}%)",
                c.codec.name(),
                u.unit,
                c.ratio,
                err * 100.0
            );
            // One peak per class, holding the class's blocks; 64 blocks hold the shares to
            // within 4 blocks.
            assert_eq!(c.bins.len(), 3, "{:?}", c.bins);
            for ((bin, class), &n) in c.bins.iter().zip(mix.classes()).zip(&counts) {
                assert!(
                    (bin.center / class.ratio - 1.0).abs() < 0.01,
                    "{:?} {class:?}",
                    c.bins
                );
                assert_eq!(bin.units, n * (1 << 20) / u.unit, "{:?}", c.bins);
                assert!(
                    (n as f64 - 64.0 * class.percent / 100.0).abs() <= 4.0,
                    "{counts:?}"
                );
            }
        }
    }
}

/// At units larger than the dedup block a unit holds several classes; zstd still sees the
/// aggregate. lz4 loses some (its skip-ahead runs fast through an incompressible block and misses
/// the first matches of the next one): the README gives the figure; here it must stay within 5%.
#[test]
fn units_larger_than_the_block_blend_the_classes() {
    let g = Generator::new(params(6, MIX, 1.0, 128 << 10)).unwrap();
    let data = sample(&g, 64 << 20);
    let want = aggregate_of(&g, 512);
    let opts = AnalyzeOptions {
        units: vec![1 << 20],
        codecs: vec![Codec::Lz4, Codec::Zstd1],
        ..AnalyzeOptions::default()
    };
    let r = analyze_bytes(&data, &opts).unwrap();
    let u = r.unit(1 << 20).unwrap();
    let zstd = u.codec(Codec::Zstd1).unwrap().ratio / want - 1.0;
    let lz4 = u.codec(Codec::Lz4).unwrap().ratio / want - 1.0;
    assert!(zstd.abs() <= 0.02, "zstd-1 at 1 MiB: {:+.2}%", zstd * 100.0);
    assert!(lz4.abs() <= 0.05, "lz4 at 1 MiB: {:+.2}%", lz4 * 100.0);
    // more than one class per unit: no unit sits at a class's ratio
    let h = &u.codec(Codec::Zstd1).unwrap().histogram;
    assert!(h.share_within(16.0, 0.05) < 0.05);
}

/// Shares are exact on prefixes of the stream's unique blocks, with dedup too, and duplicates
/// are byte-exact copies (the dedup ratio holds).
#[test]
fn shares_hold_on_every_prefix_and_dedup_composes() {
    let unit = 64u64 << 10;
    let p = params(7, "1:25%,3:50%,8:25%", 2.0, unit);
    let mix = p.compress_mix.clone().unwrap();
    let g = Generator::new(p).unwrap();
    let mut counts = [0u64; 3];
    let mut slots = 0u64;
    for b in 0..20_000u64 {
        let c = g.initial_content(b);
        if c.slot == slots {
            // the first block holding a new slot
            counts[g.compress_class(c.slot).unwrap()] += 1;
            slots += 1;
            for (i, &n) in counts.iter().enumerate() {
                let off = (n as f64 - slots as f64 * mix.fraction(i)).abs();
                assert!(off <= 20.0, "after {slots} slots class {i} has {n}");
            }
        }
    }
    let data = sample(&g, 256 * unit as usize);
    let opts = AnalyzeOptions {
        units: vec![unit],
        codecs: vec![Codec::Zstd1],
        ..AnalyzeOptions::default()
    };
    let r = analyze_bytes(&data, &opts).unwrap();
    let u = r.unit(unit).unwrap();
    assert!(
        (u.dedup_ratio / 2.0 - 1.0).abs() < 0.02,
        "{}",
        u.dedup_ratio
    );
    // every block holds its slot's class: a copy compresses like its original
    let mut comp = Compressors::new(unit as usize).unwrap();
    for (b, chunk) in data.chunks_exact(unit as usize).enumerate() {
        let class = mix.classes()[g.compress_class(g.initial_content(b as u64).slot).unwrap()];
        let got = unit as f64 / comp.compressed_len(Codec::Zstd1, chunk).unwrap() as f64;
        assert!((got / class.ratio - 1.0).abs() < 0.05, "block {b}: {got}");
    }
}

/// Any range is offset-addressable: pieces generated alone, at odd offsets, equal the whole.
#[test]
fn any_range_is_offset_addressable() {
    let g = Generator::new(params(8, MIX, 1.5, 16 << 10)).unwrap();
    let whole = sample(&g, 4 << 20);
    for (start, len) in [
        (0usize, 1usize),
        (4095, 2),
        (123_457, 300_001),
        (3 << 20, 1 << 20),
    ] {
        let mut piece = vec![0u8; len];
        g.fill(start as u64, &mut piece);
        assert!(piece == whole[start..start + len], "{start}+{len}");
        assert_eq!(g.first_mismatch(start as u64, &piece), None);
    }
    // another mix, or the aggregate as a plain ratio, is other data
    let plain = Generator::new(params(8, "2.2857142857142856", 1.5, 16 << 10)).unwrap();
    let other = Generator::new(params(8, "1:30%,4:40%,16:30%", 1.5, 16 << 10)).unwrap();
    assert!(plain.first_mismatch(0, &whole).is_some());
    assert!(other.first_mismatch(0, &whole).is_some());
}

/// A map records the mix: it reads back, and a run with another mix or a plain ratio is refused
/// with one line that names both.
#[test]
fn maps_record_the_mix_and_refuse_another() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("mix.map");
    let identity = MapIdentity {
        params: params(9, MIX, 2.0, 64 << 10),
        size: 64 * (64 << 10),
        run_id: 5,
    };
    let map = BlockMap::new(identity.clone(), 64, 32, |b| b % 32).unwrap();
    drop(MapFile::create(&path, &map, false).unwrap());
    let expect = MapExpect::from(&identity);
    let (read, _) = MapFile::read(&path, &expect).unwrap();
    assert_eq!(read.identity(), &identity);
    for (other, says) in [
        ("1:30%,4:40%,16:30%", "1:30%,4:40%,16:30%"),
        ("2.2857142857142856", "2.2857142857142856"),
    ] {
        let e = MapFile::read(
            &path,
            &MapExpect {
                params: params(9, other, 2.0, 64 << 10),
                ..expect.clone()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("compression") && e.contains(MIX) && e.contains(says) && !e.contains('\n'),
            "{e}"
        );
    }
    // a plain map is refused by a mixed run the same way
    let plain = MapIdentity {
        params: params(9, "3", 2.0, 64 << 10),
        ..identity
    };
    let path2 = dir.path().join("plain.map");
    drop(
        MapFile::create(
            &path2,
            &BlockMap::new(plain, 64, 32, |b| b % 32).unwrap(),
            false,
        )
        .unwrap(),
    );
    let e = MapFile::read(&path2, &expect).unwrap_err().to_string();
    assert!(e.contains("compression 3") && e.contains(MIX), "{e}");
    // a damaged mix trailer is reported as damage
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 12] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let e = MapFile::read(&path, &expect).unwrap_err().to_string();
    assert!(e.contains("damaged"), "{e}");
}

/// A barely compressible block after incompressible ones keeps its matches in larger units:
/// mixes of 8 KiB blocks with a 1.05:1 class (the weak blocks of already-compressed data) keep,
/// with lz4, at least 95% of the bytes their 8 KiB units save at 32 KiB, and 70% at 128 KiB
/// (where a block may follow up to 120 KiB of incompressible ones). Their atoms' matches are all
/// short (a granule or two), too short for the re-sync piece of the more compressible classes,
/// and lz4, stepping fast after an incompressible block, missed them: before the short re-sync
/// piece (a match repeating one byte, found by any two lookups in it) that now opens those
/// atoms, `1:75%,1.05:25%` kept 63% at 32 KiB and 36% at 128 KiB.
#[test]
fn barely_compressible_blocks_after_incompressible_ones_keep_their_matches() {
    let mut comp = Compressors::new(1 << 20).unwrap();
    let saved = |ratio: f64| 1.0 - 1.0 / ratio;
    for mix in ["1:50%,1.05:50%", "1:75%,1.05:25%"] {
        let data = sample(
            &Generator::new(params(5, mix, 1.0, 8 << 10)).unwrap(),
            16 << 20,
        );
        let at_block = measured(&mut comp, Codec::Lz4, &data, 8 << 10);
        for (unit, kept) in [(32usize << 10, 0.95), (128 << 10, 0.7)] {
            let got = measured(&mut comp, Codec::Lz4, &data, unit);
            assert!(
                saved(got) >= kept * saved(at_block),
                "{mix}, lz4 at {unit}: {got:.4} against {at_block:.4} at 8 KiB"
            );
        }
    }
}
