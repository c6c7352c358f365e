//! From an analysis to a profile: per-unit aggregates and quantiles, and the classes cut from the
//! chunks recorded at the reference unit.
//!
//! The classes: the non-zero chunks at the reference unit, sorted by lz4 ratio and cut into
//! [`MAX_PROFILE_CLASSES`] groups of equal count (fewer when there are fewer chunks). Each class
//! holds its group's share of all chunks and its group's *aggregate* lz4 and zstd-1 ratios (chunk
//! bytes / compressed bytes), so the classes together have exactly the sample's aggregate ratio
//! per codec, and the per-chunk distribution of lz4 ratios is matched to within one group (a
//! Kolmogorov-Smirnov distance of at most about `1 / classes` for lz4; zstd's follows as far as
//! the two ratios rise together, which the comparison reports).

use super::format::{CodecProfile, Profile, ProfileClass, UnitProfile, FORMAT, QUANTILES, VERSION};
use crate::analyze::{ChunkRecord, Codec, Report};
use crate::error::{Error, Result};

/// The groups of reference-unit chunks (blocks) that share a class in runs ([`Profile::runs`]).
pub const RUN_GROUPS: [u64; 3] = [1, 4, 32];

/// Most classes a profile has.
pub const MAX_PROFILE_CLASSES: usize = 32;
/// The reference unit when the analyzed units include it.
pub const DEFAULT_REFERENCE_UNIT: u64 = 32 << 10;

/// Rounds to 5 significant digits (profiles stay small and diff well).
fn round(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 4 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// The profile of an analysis: `report` from [`crate::analyze::analyze_file_recording`] with
/// `codecs` (its options' codecs, in order, lz4 and zstd-1 among them) and `records`, the chunks
/// at `reference_unit` (one of the analyzed units). `name` names the sample.
pub fn profile_from_analysis(
    name: &str,
    report: &Report,
    codecs: &[Codec],
    records: &[ChunkRecord],
    reference_unit: u64,
) -> Result<Profile> {
    let index = |c: Codec| {
        codecs.iter().position(|&x| x == c).ok_or_else(|| {
            Error::invalid(
                "codecs",
                format!("a profile needs {} (add it to --codecs)", c.name()),
            )
        })
    };
    let (lz4, zstd) = (index(Codec::Lz4)?, index(Codec::Zstd1)?);
    let reference = report.unit(reference_unit).ok_or_else(|| {
        Error::invalid(
            "profile unit",
            format!("{reference_unit} is not among the analyzed units"),
        )
    })?;
    if reference.units == 0 || records.len() as u64 != reference.units {
        return Err(Error::invalid(
            "profile unit",
            format!(
                "the sample holds {} whole {reference_unit}-byte chunks, at least one is needed",
                reference.units
            ),
        ));
    }
    let units = report
        .units
        .iter()
        .map(|u| UnitProfile {
            unit: u.unit,
            chunks: u.units,
            dedup_ratio: round(u.dedup_ratio),
            zero_share: round(u.zero_share),
            codecs: u
                .compression
                .iter()
                .map(|c| {
                    let quantiles = (0..=QUANTILES)
                        .map(|k| {
                            round(
                                c.histogram
                                    .percentile(100.0 * k as f64 / QUANTILES as f64)
                                    .unwrap_or(1.0),
                            )
                        })
                        .collect();
                    (
                        c.codec.name().to_string(),
                        CodecProfile {
                            ratio: round(c.ratio),
                            speed_mbps: round(c.speed_mbps),
                            quantiles,
                        },
                    )
                })
                .collect(),
        })
        .collect();
    let total = records.len() as f64;
    let mut chunks: Vec<(u32, u32)> = records
        .iter()
        .filter(|r| !r.zero)
        .map(|r| (r.compressed[lz4].max(1), r.compressed[zstd].max(1)))
        .collect();
    chunks.sort_by_key(|&(l, _)| std::cmp::Reverse(l));
    let k = MAX_PROFILE_CLASSES.min(chunks.len());
    let classes = (0..k)
        .map(|i| {
            let group = &chunks[i * chunks.len() / k..(i + 1) * chunks.len() / k];
            let bytes = group.len() as f64 * reference_unit as f64;
            let sum = |f: fn(&(u32, u32)) -> u32| group.iter().map(|c| f(c) as f64).sum::<f64>();
            ProfileClass {
                share: round(group.len() as f64 / total),
                lz4: round(bytes / sum(|c| c.0)),
                zstd: round(bytes / sum(|c| c.1)),
            }
        })
        .collect::<Vec<_>>();
    let zero_share = records.iter().filter(|r| r.zero).count() as f64 / total;
    let profile = Profile {
        format: FORMAT.to_string(),
        version: VERSION,
        name: name.to_string(),
        sample_bytes: report.bytes,
        reference_unit,
        zero_share: round(zero_share),
        dedup_ratio: round(reference.dedup_ratio),
        classes,
        runs: Vec::new(),
        units,
    };
    let profile = Profile {
        runs: fit_runs(&profile).iter().map(|&r| round(r)).collect(),
        ..profile
    };
    profile
        .check()
        .map_err(|r| Error::invalid("profile", format!("the analysis gives a bad profile: {r}")))?;
    Ok(profile)
}

/// The shares of blocks in runs ([`RUN_GROUPS`]) whose simulated per-chunk lz4 ratios at the
/// units above the reference unit come closest (Kolmogorov-Smirnov, summed over those units) to
/// the sample's, each scaled to the sample's aggregate at its unit; a grid of twentieths. Empty when
/// the profile has no unit above the reference unit.
fn fit_runs(profile: &Profile) -> Vec<f64> {
    let r = profile.reference_unit;
    let units: Vec<(u64, &[f64], f64)> = profile
        .units
        .iter()
        .filter(|u| u.unit > r && u.unit / r <= 1024)
        .filter_map(|u| {
            let c = u.codecs.get("lz4")?;
            Some((u.unit / r, c.quantiles.as_slice(), c.ratio))
        })
        .collect();
    if units.is_empty() || profile.classes.is_empty() {
        return Vec::new();
    }
    // Compressed share of a block of each class (zero blocks: lz4 stores about 1/250).
    let mut kinds: Vec<(f64, f64)> = profile
        .classes
        .iter()
        .map(|c| (c.share, 1.0 / c.lz4))
        .collect();
    if profile.zero_share > 0.0 {
        kinds.push((profile.zero_share, 1.0 / 250.0));
    }
    let total: f64 = kinds.iter().map(|k| k.0).sum();
    let mut cdf = Vec::with_capacity(kinds.len());
    let mut acc = 0.0;
    for k in &kinds {
        acc += k.0 / total;
        cdf.push(acc);
    }
    let draw = |x: f64| kinds[cdf.iter().position(|&c| x < c).unwrap_or(kinds.len() - 1)].1;
    let uniform = |seed: u64| {
        (crate::gen::mix_choice(seed, 0x7275_6e73, 0) >> 11) as f64 / (1u64 << 53) as f64
    };
    const CHUNKS: u64 = 1500;
    let distance = |shares: &[f64]| -> f64 {
        let mut cost = 0.0;
        for &(k, quantiles, sample_ratio) in &units {
            let mut ratios = Vec::with_capacity(CHUNKS as usize);
            let mut seed = k << 32;
            let mut next = || {
                seed += 1;
                uniform(seed)
            };
            for _ in 0..CHUNKS {
                // One class per group of each level present in the chunk.
                let mut drawn: Vec<Vec<f64>> = RUN_GROUPS
                    .iter()
                    .map(|&g| Vec::with_capacity(k.div_ceil(g) as usize))
                    .collect();
                let mut sum = 0.0;
                for b in 0..k {
                    let x = next();
                    let mut level = 0;
                    let mut acc = shares[0];
                    while x >= acc && level + 1 < shares.len() {
                        level += 1;
                        acc += shares[level];
                    }
                    let group = (b / RUN_GROUPS[level]) as usize;
                    while drawn[level].len() <= group {
                        let y = next();
                        drawn[level].push(draw(y));
                    }
                    sum += drawn[level][group];
                }
                ratios.push(k as f64 / sum);
            }
            let aggregate = ratios.len() as f64 / ratios.iter().map(|r| 1.0 / r).sum::<f64>();
            let scale = sample_ratio / aggregate;
            ratios.iter_mut().for_each(|r| *r *= scale);
            ratios.sort_by(f64::total_cmp);
            let n = ratios.len() as f64;
            let ks = quantiles
                .iter()
                .enumerate()
                .map(|(i, &q)| {
                    let p = i as f64 / (quantiles.len() - 1) as f64;
                    let below = ratios.partition_point(|&x| x < q) as f64 / n;
                    let at_most = ratios.partition_point(|&x| x <= q) as f64 / n;
                    f64::max(below - p, p - at_most)
                })
                .fold(0.0, f64::max);
            cost += ks;
        }
        cost
    };
    let mut best = (f64::INFINITY, vec![1.0, 0.0, 0.0]);
    for a in 0..=20 {
        for b in 0..=20 - a {
            let c = 20 - a - b;
            let shares = [a as f64 / 20.0, b as f64 / 20.0, c as f64 / 20.0];
            let cost = distance(&shares);
            if cost < best.0 - 1e-9 {
                best = (cost, shares.to_vec());
            }
        }
    }
    best.1
}
