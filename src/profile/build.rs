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
        units,
    };
    profile
        .check()
        .map_err(|r| Error::invalid("profile", format!("the analysis gives a bad profile: {r}")))?;
    Ok(profile)
}
