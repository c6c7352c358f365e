//! A generated file's analysis against the profile it was made from: per unit and codec, the
//! aggregate ratios, the Kolmogorov-Smirnov distance of the per-chunk ratios, and the compression
//! speeds, side by side (`dgen analyze FILE --against PROFILE`).
//!
//! The distance is taken at the profile's quantiles: with `F` the generated data's distribution
//! of per-chunk ratios and `q_k` the sample's `k/64` quantile, it is the largest of
//! `F(q_k-) - k/64` and `k/64 - F(q_k)` over `k`, so it is exact to within 1/64 of the distance
//! between the two full distributions.
//!
//! Each row says whether it holds what a profile promises ([`RATIO_TOLERANCE`], [`KS_GOAL`]), and
//! [`Comparison::verdict`] sums that up in one line.

use super::format::{Profile, QUANTILES};
use crate::analyze::Report;
use crate::size::format_size;

/// How far a generated aggregate ratio may be from the sample's, per unit and codec
/// (`|generated / sample - 1|`): what a profile promises.
pub const RATIO_TOLERANCE: f64 = 0.03;

/// The Kolmogorov-Smirnov distance of the per-chunk ratios that a profile's data should stay
/// below at every unit and codec.
pub const KS_GOAL: f64 = 0.1;

/// The Kolmogorov-Smirnov distance that two samples of one distribution, of `n` and `m` chunks,
/// exceed by chance 1 time in 20 (the two-sample test's critical value at 5%:
/// `1.358 * sqrt((n + m) / (n m))`). A distance below it says nothing against the data: at 1 MiB
/// a 256 MiB file has 256 chunks, and against a 442-chunk sample chance alone reaches 0.107.
pub fn ks_by_chance(n: u64, m: u64) -> f64 {
    if n == 0 || m == 0 {
        return f64::INFINITY;
    }
    let (n, m) = (n as f64, m as f64);
    1.358 * ((n + m) / (n * m)).sqrt()
}

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
    /// What chance alone gives 1 time in 20 at these chunk counts ([`ks_by_chance`]): a `ks`
    /// below it is within the noise of so few chunks.
    pub ks_chance: f64,
    /// The sample's compression speed, MB/s on one core.
    pub sample_speed_mbps: f64,
    /// The generated data's.
    pub generated_speed_mbps: f64,
    /// Whether `ratio_error` is within [`RATIO_TOLERANCE`].
    pub ratio_ok: bool,
    /// Whether `ks` is below [`KS_GOAL`].
    pub ks_ok: bool,
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
    /// [`RATIO_TOLERANCE`], for readers of the JSON.
    pub ratio_tolerance: f64,
    /// [`KS_GOAL`], for readers of the JSON.
    pub ks_goal: f64,
}

impl Comparison {
    /// The largest `|ratio_error|` and KS distance over the rows.
    pub fn worst(&self) -> (f64, f64) {
        self.rows.iter().fold((0.0, 0.0), |(e, k), r| {
            (f64::max(e, r.ratio_error.abs()), f64::max(k, r.ks))
        })
    }

    /// One line on whether the rows hold what the profile promises: the worst aggregate error
    /// and KS distance, and each row that misses, by unit and codec. Says so when there are no
    /// rows (nothing was compared, so nothing holds).
    pub fn verdict(&self) -> String {
        if self.rows.is_empty() {
            return "nothing compared: the file was analyzed at none of the profile's units and \
                    codecs"
                .to_string();
        }
        let ks = self.worst().1;
        let signed_worst = self
            .rows
            .iter()
            .map(|r| r.ratio_error)
            .fold(0.0, |w: f64, e| if e.abs() > w.abs() { e } else { w });
        let list = |pick: &dyn Fn(&CodecComparison) -> Option<String>| {
            self.rows
                .iter()
                .filter_map(pick)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ratios = if self.rows.iter().all(|r| r.ratio_ok) {
            format!(
                "every aggregate within {:.0}% (worst {:+.1}%)",
                self.ratio_tolerance * 100.0,
                signed_worst * 100.0
            )
        } else {
            format!(
                "aggregates beyond {:.0}%: {}",
                self.ratio_tolerance * 100.0,
                list(&|r| (!r.ratio_ok).then(|| format!(
                    "{} {} {:+.1}%",
                    format_size(r.unit),
                    r.codec,
                    r.ratio_error * 100.0
                )))
            )
        };
        let misses = self.rows.iter().filter(|r| !r.ks_ok).count();
        let by_chance = |r: &CodecComparison| r.ks < r.ks_chance;
        let chance_note = if self.rows.iter().any(|r| !r.ks_ok && by_chance(r)) {
            " (*: below what chance alone gives 1 time in 20 at these chunk counts)"
        } else {
            ""
        };
        let distances = if misses == 0 {
            format!("every KS below {} (worst {ks:.3})", self.ks_goal)
        } else {
            format!(
                "KS at or above {} in {misses} of {}: {}",
                self.ks_goal,
                self.rows.len(),
                list(&|r| (!r.ks_ok).then(|| format!(
                    "{} {} {:.3}{}",
                    format_size(r.unit),
                    r.codec,
                    r.ks,
                    if by_chance(r) { "*" } else { "" }
                )))
            ) + chance_note
        };
        format!("{ratios}; {distances}")
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
            let ratio_error = c.ratio / s.ratio - 1.0;
            rows.push(CodecComparison {
                unit: u.unit,
                codec: name.clone(),
                sample_ratio: s.ratio,
                generated_ratio: c.ratio,
                ratio_error,
                ks,
                ks_chance: ks_by_chance(g.units, u.chunks),
                sample_speed_mbps: s.speed_mbps,
                generated_speed_mbps: c.speed_mbps,
                ratio_ok: ratio_error.abs() <= RATIO_TOLERANCE,
                ks_ok: ks < KS_GOAL,
            });
        }
    }
    Comparison {
        profile: profile.name.clone(),
        rows,
        dedup,
        ratio_tolerance: RATIO_TOLERANCE,
        ks_goal: KS_GOAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: u64, codec: &str, ratio_error: f64, ks: f64) -> CodecComparison {
        CodecComparison {
            unit,
            codec: codec.to_string(),
            sample_ratio: 2.0,
            generated_ratio: 2.0 * (1.0 + ratio_error),
            ratio_error,
            ks,
            ks_chance: 0.03,
            sample_speed_mbps: 1000.0,
            generated_speed_mbps: 1000.0,
            ratio_ok: ratio_error.abs() <= RATIO_TOLERANCE,
            ks_ok: ks < KS_GOAL,
        }
    }

    fn comparison(rows: Vec<CodecComparison>) -> Comparison {
        Comparison {
            profile: "p".to_string(),
            rows,
            dedup: Vec::new(),
            ratio_tolerance: RATIO_TOLERANCE,
            ks_goal: KS_GOAL,
        }
    }

    /// All rows within the bounds: the verdict gives the worst of each, signed for the ratio.
    #[test]
    fn a_comparison_within_the_bounds_says_so_with_its_worst() {
        let c = comparison(vec![
            row(8192, "lz4", 0.004, 0.05),
            row(32768, "zstd-1", -0.012, 0.093),
        ]);
        assert_eq!(
            c.verdict(),
            "every aggregate within 3% (worst -1.2%); every KS below 0.1 (worst 0.093)"
        );
    }

    /// Each row that misses is named, by unit and codec, under the bound it misses (a KS of
    /// exactly the goal misses it).
    #[test]
    fn a_comparison_names_each_row_that_misses() {
        let c = comparison(vec![
            row(8192, "lz4", 0.031, 0.02),
            row(32768, "lz4", 0.0, 0.1),
            row(32768, "zstd-1", -0.035, 0.25),
            row(1 << 20, "zstd-1", 0.01, 0.05),
        ]);
        assert_eq!(
            c.verdict(),
            "aggregates beyond 3%: 8KiB lz4 +3.1%, 32KiB zstd-1 -3.5%; KS at or above 0.1 in 2 \
             of 4: 32KiB lz4 0.100, 32KiB zstd-1 0.250"
        );
    }

    /// A KS miss below what chance gives at its chunk counts is starred and the star explained;
    /// the critical value is the two-sample test's at 5% (1.36 / sqrt(n) for two samples of n,
    /// halved distance for four times the chunks).
    #[test]
    fn a_miss_within_chance_is_starred() {
        let mut within = row(1 << 20, "lz4", 0.0, 0.104);
        within.ks_chance = ks_by_chance(256, 442);
        let c = comparison(vec![row(32768, "lz4", 0.0, 0.12), within]);
        assert_eq!(
            c.verdict(),
            "every aggregate within 3% (worst +0.0%); KS at or above 0.1 in 2 of 2: 32KiB lz4 \
             0.120, 1MiB lz4 0.104* (*: below what chance alone gives 1 time in 20 at these \
             chunk counts)"
        );
        assert!((ks_by_chance(256, 442) - 0.1067).abs() < 5e-4);
        assert!((ks_by_chance(1000, 1000) * 1000f64.sqrt() / 2f64.sqrt() - 1.358).abs() < 1e-9);
        assert!((ks_by_chance(4000, 4000) * 2.0 - ks_by_chance(1000, 1000)).abs() < 1e-12);
        assert_eq!(ks_by_chance(0, 10), f64::INFINITY);
    }

    /// No rows (the file analyzed at none of the profile's units): nothing holds, and the
    /// verdict says why rather than passing.
    #[test]
    fn an_empty_comparison_does_not_pass() {
        let v = comparison(Vec::new()).verdict();
        assert!(v.starts_with("nothing compared"), "{v}");
    }
}
