//! A generated file's analysis against the profile it was made from: per unit and codec, the
//! aggregate ratios, the Kolmogorov-Smirnov distance of the per-chunk ratios, and the compression
//! speeds, side by side (`dgen analyze FILE --against PROFILE`).
//!
//! The distance is taken at the profile's quantiles: with `F` the generated data's distribution
//! of per-chunk ratios and `q_k` the sample's `k/64` quantile, it is the largest of
//! `F(q_k-) - k/64` and `k/64 - F(q_k)` over `k`, so it is exact to within 1/64 of the distance
//! between the two full distributions.

use super::format::{Profile, QUANTILES};
use crate::analyze::Report;

/// One codec at one unit.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CodecComparison {
    /// Unit size in bytes.
    pub unit: u64,
    /// Codec name.
    pub codec: String,
    /// The sample's aggregate ratio.
    pub sample_ratio: f64,
    /// The generated data's aggregate ratio.
    pub generated_ratio: f64,
    /// `generated / sample - 1`.
    pub ratio_error: f64,
    /// Kolmogorov-Smirnov distance of the per-chunk ratios.
    pub ks: f64,
    /// The sample's compression speed, MB/s on one core.
    pub sample_speed_mbps: f64,
    /// The generated data's.
    pub generated_speed_mbps: f64,
}

/// The whole comparison.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Comparison {
    /// The profile's name.
    pub profile: String,
    /// One row per unit and codec found in both.
    pub rows: Vec<CodecComparison>,
    /// Per unit found in both: `(unit, sample dedup, generated dedup, sample zero share,
    /// generated zero share)`.
    pub dedup: Vec<(u64, f64, f64, f64, f64)>,
}

impl Comparison {
    /// The largest `|ratio_error|` and KS distance over the rows.
    pub fn worst(&self) -> (f64, f64) {
        self.rows.iter().fold((0.0, 0.0), |(e, k), r| {
            (f64::max(e, r.ratio_error.abs()), f64::max(k, r.ks))
        })
    }
}

/// Compares `report` (an analysis of generated data) with `profile`.
pub fn compare(profile: &Profile, report: &Report) -> Comparison {
    let mut rows = Vec::new();
    let mut dedup = Vec::new();
    for u in &profile.units {
        let Some(g) = report.unit(u.unit) else {
            continue;
        };
        dedup.push((
            u.unit,
            u.dedup_ratio,
            g.dedup_ratio,
            u.zero_share,
            g.zero_share,
        ));
        for (name, s) in &u.codecs {
            let Some(c) = g.compression.iter().find(|c| c.codec.name() == name) else {
                continue;
            };
            let ks = (0..=QUANTILES)
                .map(|k| {
                    let p = k as f64 / QUANTILES as f64;
                    let q = s.quantiles[k];
                    f64::max(
                        c.histogram.share_below(q) - p,
                        p - c.histogram.share_at_most(q),
                    )
                })
                .fold(0.0, f64::max);
            rows.push(CodecComparison {
                unit: u.unit,
                codec: name.clone(),
                sample_ratio: s.ratio,
                generated_ratio: c.ratio,
                ratio_error: c.ratio / s.ratio - 1.0,
                ks,
                sample_speed_mbps: s.speed_mbps,
                generated_speed_mbps: c.speed_mbps,
            });
        }
    }
    Comparison {
        profile: profile.name.clone(),
        rows,
        dedup,
    }
}
