//! Accuracy of the data model, measured with the real codecs (zstd, lz4, deflate) and hashes
//! (xxh3) through the analyzer: the tolerances of the data model, at every unit size.

use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec, Report};
use dgen::{GenParams, Generator};
use std::collections::HashSet;

const SAMPLE: usize = 16 << 20;

fn sample(p: GenParams, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    Generator::new(p).unwrap().fill_parallel(0, &mut buf);
    buf
}

fn params(seed: u64, d: f64, c: f64) -> GenParams {
    GenParams {
        dedup_ratio: d,
        compress_ratio: c,
        ..GenParams::new(seed)
    }
}

/// Relative tolerance of `codec` at `unit` for ratio `c` on the default data (`compress_codec =
/// lz`); None: only reported. Snappy is held by `snappy_target_holds_for_every_unit` on data made
/// for it (its 64-byte copies cost 3 bytes per 64 bytes of match, see the README).
fn tolerance(codec: Codec, unit: u64, c: f64) -> Option<f64> {
    let small = unit == 4096;
    match codec {
        Codec::Lz4 | Codec::Zstd1 if small => Some(0.03),
        Codec::Lz4 | Codec::Zstd1 => Some(0.02),
        Codec::Snappy => None,
        // Skip-ahead scanner: every match is found; at 4 KiB its per-unit costs weigh more.
        #[cfg(feature = "lzo")]
        Codec::Lzo1x1 if small => Some(if c <= 4.0 { 0.05 } else { 0.08 }),
        #[cfg(feature = "lzo")]
        Codec::Lzo1x1 => Some(if c <= 4.0 { 0.03 } else { 0.05 }),
        // deflate's and brotli's per-unit tables cost ~50-80 bytes: 5-9% of a 4 KiB unit at 4:1,
        // 3.4-3.6% of an 8 KiB one. With lz4 and zstd-1 held to 2%, that is where they land.
        Codec::Deflate1 | Codec::Deflate6 if small && c <= 4.0 => Some(0.07),
        Codec::Brotli1 if small && c <= 4.0 => Some(0.10),
        Codec::Deflate1 | Codec::Deflate6 | Codec::Brotli1
            if unit == 8192 && c > 3.0 && c <= 4.0 =>
        {
            Some(0.04)
        }
        _ if c <= 4.0 => Some(0.03),
        _ => None,
    }
}

fn check_compression(report: &Report, c: f64, failures: &mut Vec<String>) {
    for u in &report.units {
        for cr in &u.compression {
            let err = cr.ratio / c - 1.0;
            if let Some(tol) = tolerance(cr.codec, u.unit, c) {
                if err.abs() > tol {
                    failures.push(format!(
                        "c={c} {} at {} KiB: {:.3} ({:+.2}%, tolerance {:.0}%)",
                        cr.codec.name(),
                        u.unit >> 10,
                        cr.ratio,
                        err * 100.0,
                        tol * 100.0
                    ));
                }
            }
        }
    }
}

#[test]
fn compression_ratio_holds_for_every_codec_and_unit() {
    let mut failures = Vec::new();
    for (i, c) in [1.5, 2.0, 3.0, 4.0, 8.0].into_iter().enumerate() {
        let data = sample(params(100 + i as u64, 1.0, c), SAMPLE);
        let report = analyze_bytes(&data, &AnalyzeOptions::default()).unwrap();
        check_compression(&report, c, &mut failures);
        let u4 = report.unit(4096).unwrap();
        assert_eq!(u4.zero_units, 0, "c={c}: all-zero 4 KiB units");
        for codec in [Codec::Lz4, Codec::Zstd1] {
            let share = u4.codec(codec).unwrap().histogram.share_within(c, 0.10);
            assert!(
                share >= 0.90,
                "c={c} {}: only {:.1}% of 4 KiB units within 10%",
                codec.name(),
                share * 100.0
            );
        }
    }
    assert!(
        failures.is_empty(),
        "outside tolerance:\n{}",
        failures.join("\n")
    );
}

/// Data made for snappy (`compress_codec = snappy`): snappy measures the ratio at every unit.
#[test]
fn snappy_target_holds_for_every_unit() {
    let mut failures = Vec::new();
    for (i, c) in [1.5, 2.0, 3.0, 4.0, 8.0].into_iter().enumerate() {
        let p = GenParams {
            compress_codec: dgen::CompressCodec::Snappy,
            ..params(200 + i as u64, 1.0, c)
        };
        let data = sample(p, SAMPLE);
        let opts = AnalyzeOptions {
            codecs: vec![Codec::Snappy, Codec::Lz4],
            ..AnalyzeOptions::default()
        };
        let report = analyze_bytes(&data, &opts).unwrap();
        for u in &report.units {
            let snappy = u.codec(Codec::Snappy).unwrap().ratio;
            if (snappy / c - 1.0).abs() > 0.02 {
                failures.push(format!("c={c} snappy at {} KiB: {snappy:.3}", u.unit >> 10));
            }
            // lz4 stores long matches in a few bytes, so it must see more than snappy does.
            let lz4 = u.codec(Codec::Lz4).unwrap().ratio;
            assert!(
                lz4 > snappy,
                "c={c} at {}: lz4 {lz4} <= snappy {snappy}",
                u.unit
            );
        }
    }
    assert!(failures.is_empty(), "outside 2%:\n{}", failures.join("\n"));
}

#[test]
fn incompressible_data_gains_nothing() {
    let data = sample(params(7, 1.0, 1.0), SAMPLE);
    let report = analyze_bytes(&data, &AnalyzeOptions::default()).unwrap();
    for u in &report.units {
        assert_eq!(u.zero_units, 0);
        assert!((u.dedup_ratio - 1.0).abs() < 1e-9);
        for cr in &u.compression {
            assert!(
                cr.ratio <= 1.01,
                "{} at {}: {}",
                cr.codec.name(),
                u.unit,
                cr.ratio
            );
        }
    }
}

/// Dedup at every unit from 4 KiB to the dedup unit, on every prefix of at least 64 blocks: the
/// count of distinct units is `round(n/d)` (within one block of rounding) on every prefix whose
/// block count is a power of two or a multiple of the largest extent, and elsewhere within half
/// an extent's worth of copies, `x (d-1) / (2 d^2)` blocks (plus two for rounding) with extents
/// `x` of at most `n/16`
/// blocks (README, "Dedup").
fn check_dedup_prefixes(d: f64, dedup_unit: u64, blocks: u64, seed: u64) {
    let mut p = params(seed, d, 1.0);
    p.dedup_unit = dedup_unit;
    let data = sample(p, (blocks * dedup_unit) as usize);
    let largest_extent = ((d * (d - 1.0).max(1.0) * (4 << 20) as f64 / dedup_unit as f64).ceil()
        as u64)
        .next_power_of_two();
    let mut unit = 4096u64;
    while unit <= dedup_unit {
        let per_block = (dedup_unit / unit) as usize;
        let mut seen = HashSet::new();
        for (i, chunk) in data.chunks_exact(unit as usize).enumerate() {
            seen.insert(xxhash_rust::xxh3::xxh3_128(chunk));
            let units = i + 1;
            let n = (units / per_block) as u64;
            if units % per_block != 0 || n < 64 {
                continue;
            }
            let want = (n as f64 / d).round().max(1.0);
            let got = (seen.len() / per_block) as f64;
            let aligned = n.is_power_of_two() || n.is_multiple_of(largest_extent);
            let extent = (1u64 << (n / 16).ilog2()).min(largest_extent) as f64;
            let slack = if aligned {
                1.0
            } else {
                extent * (d - 1.0) / (2.0 * d * d) + 2.0
            };
            assert!(
                (got - want).abs() <= slack,
                "d={d} unit {unit} dedup unit {dedup_unit}: prefix of {n} blocks holds {got} \
                 distinct blocks, want {want} +- {slack}"
            );
        }
        unit *= 2;
    }
}

#[test]
fn dedup_ratio_holds_on_every_prefix_and_unit() {
    check_dedup_prefixes(1.37, 64 << 10, 1100, 3);
    check_dedup_prefixes(2.0, 128 << 10, 1050, 4);
    check_dedup_prefixes(3.0, 16 << 10, 2048, 5);
    check_dedup_prefixes(2.0, 4 << 10, 4096, 6);
}

#[test]
fn dedup_ratio_holds_on_small_whole_streams() {
    // 256 blocks of the default 128 KiB unit: 32 MiB.
    for (d, seed) in [(1.37, 1), (2.0, 2), (5.0, 3)] {
        let data = sample(params(seed, d, 1.0), 32 << 20);
        let opts = AnalyzeOptions {
            units: vec![4 << 10, 32 << 10, 128 << 10],
            codecs: vec![Codec::Lz4],
            limit: None,
        };
        let report = analyze_bytes(&data, &opts).unwrap();
        for u in &report.units {
            assert!(
                (u.dedup_ratio / d - 1.0).abs() <= 0.005,
                "d={d} unit {}: {}",
                u.unit,
                u.dedup_ratio
            );
        }
    }
}

/// Dedup and compression at once: d = 2 and c = 3 both hold at every unit in range.
#[test]
fn dedup_and_compression_compose() {
    let data = sample(params(11, 2.0, 3.0), 32 << 20);
    let report = analyze_bytes(&data, &AnalyzeOptions::default()).unwrap();
    let mut failures = Vec::new();
    check_compression(&report, 3.0, &mut failures);
    assert!(
        failures.is_empty(),
        "outside tolerance:\n{}",
        failures.join("\n")
    );
    for u in report.units.iter().filter(|u| u.unit <= 128 << 10) {
        assert!(
            (u.dedup_ratio / 2.0 - 1.0).abs() <= 0.005,
            "unit {}: dedup {}",
            u.unit,
            u.dedup_ratio
        );
    }
}
