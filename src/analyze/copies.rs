//! How often each distinct unit occurs: the distribution of copies per original, which shows how
//! a fingerprint cache would be hit (uniform copies, or a few hot originals).

use std::collections::HashMap;

/// Occurrences of each distinct unit, by hash.
#[derive(Clone, Debug, Default)]
pub(crate) struct Occurrences {
    counts: HashMap<u128, u32>,
}

impl Occurrences {
    /// Counts one unit; true when it is the first with this hash.
    pub(crate) fn add(&mut self, hash: u128) -> bool {
        let count = self.counts.entry(hash).or_insert(0);
        *count = count.saturating_add(1);
        *count == 1
    }

    /// The distribution of copies (occurrences beyond the first) per distinct unit.
    pub(crate) fn summary(&self) -> CopySummary {
        let mut copies: Vec<u32> = self
            .counts
            .values()
            .filter(|&&n| n > 1)
            .map(|&n| n - 1)
            .collect();
        copies.sort_unstable_by(|a, b| b.cmp(a));
        let total: u64 = copies.iter().map(|&c| c as u64).sum();
        let top_share = |fraction: f64| {
            if total == 0 {
                return 0.0;
            }
            let n = ((copies.len() as f64 * fraction).ceil() as usize).max(1);
            copies[..n].iter().map(|&c| c as u64).sum::<u64>() as f64 / total as f64
        };
        // copies is sorted most-copied first: percentile p of the ascending order.
        let percentile = |p: f64| {
            if copies.is_empty() {
                return 0;
            }
            let rank = ((copies.len() - 1) as f64 * p / 100.0).round() as usize;
            copies[copies.len() - 1 - rank]
        };
        CopySummary {
            copied: copies.len() as u64,
            copied_share: if self.counts.is_empty() {
                0.0
            } else {
                copies.len() as f64 / self.counts.len() as f64
            },
            p50: percentile(50.0),
            p90: percentile(90.0),
            p99: percentile(99.0),
            max: copies.first().copied().unwrap_or(0),
            top1_share: top_share(0.01),
            top10_share: top_share(0.10),
        }
    }
}

/// Copies per original at one unit size: how many distinct units have copies, and how the copies
/// spread over them.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct CopySummary {
    /// Distinct units that occur more than once (originals with at least one copy).
    pub copied: u64,
    /// `copied / distinct units`.
    pub copied_share: f64,
    /// Median copies per copied original.
    pub p50: u32,
    /// 90th percentile of copies per copied original.
    pub p90: u32,
    /// 99th percentile of copies per copied original.
    pub p99: u32,
    /// The most copies of one original.
    pub max: u32,
    /// Share of all copies that go to the most-copied 1% of copied originals.
    pub top1_share: f64,
    /// Share of all copies that go to the most-copied 10% of copied originals.
    pub top10_share: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_copies_beyond_the_first_occurrence() {
        let mut o = Occurrences::default();
        // 200 originals: one with 91 copies, nineteen with 1, the rest with none.
        for h in 0..200u128 {
            assert!(o.add(h));
        }
        for _ in 0..91 {
            assert!(!o.add(0));
        }
        for h in 1..20u128 {
            assert!(!o.add(h));
        }
        let s = o.summary();
        assert_eq!((s.copied, s.max, s.p50, s.p99), (20, 91, 1, 91));
        assert!((s.copied_share - 0.10).abs() < 1e-12);
        // The top 1% is the one hot original, the top 10% adds one with a single copy.
        assert!((s.top1_share - 91.0 / 110.0).abs() < 1e-12, "{s:?}");
        assert!((s.top10_share - 92.0 / 110.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn no_copies_give_an_empty_summary() {
        let mut o = Occurrences::default();
        o.add(1);
        o.add(2);
        assert_eq!(o.summary(), CopySummary::default());
    }
}
