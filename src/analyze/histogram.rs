//! A fixed-memory histogram of per-unit compression ratios, on a log scale with 0.1% bins.

/// Bins per factor of e; 1000 bins make each bin 0.1% wide.
const BINS_PER_E: f64 = 1000.0;
/// Ratios from 1/4 to 4096 are binned; outside values land in the end bins.
const MIN_LN: f64 = -1.386_294_361_119_890_6; // ln(0.25)
const MAX_LN: f64 = 8.317_766_166_719_343; // ln(4096)

/// Counts of per-unit ratios.
#[derive(Clone, Debug)]
pub struct RatioHistogram {
    bins: Vec<u64>,
    count: u64,
}

impl Default for RatioHistogram {
    fn default() -> Self {
        RatioHistogram {
            bins: vec![0; ((MAX_LN - MIN_LN) * BINS_PER_E) as usize + 1],
            count: 0,
        }
    }
}

impl RatioHistogram {
    fn bin(&self, ratio: f64) -> usize {
        let pos = ((ratio.max(f64::MIN_POSITIVE).ln() - MIN_LN) * BINS_PER_E).floor();
        (pos.max(0.0) as usize).min(self.bins.len() - 1)
    }

    /// Counts one unit's ratio.
    pub fn add(&mut self, ratio: f64) {
        let b = self.bin(ratio);
        self.bins[b] += 1;
        self.count += 1;
    }

    /// Number of ratios counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `p`-th percentile (`0..=100`), to within 0.1%; `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((p / 100.0) * (self.count - 1) as f64).round() as u64;
        let mut seen = 0;
        for (i, &n) in self.bins.iter().enumerate() {
            seen += n;
            if seen > rank {
                return Some(((i as f64 + 0.5) / BINS_PER_E + MIN_LN).exp());
            }
        }
        None
    }

    /// Share (0..1) of units whose ratio is within `tolerance` (relative, e.g. 0.10) of `target`.
    pub fn share_within(&self, target: f64, tolerance: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let lo = self.bin(target * (1.0 - tolerance));
        let hi = self.bin(target * (1.0 + tolerance));
        self.bins[lo..=hi].iter().sum::<u64>() as f64 / self.count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_shares() {
        let mut h = RatioHistogram::default();
        for i in 1..=100 {
            h.add(i as f64);
        }
        let p50 = h.percentile(50.0).unwrap();
        assert!((p50 / 50.5 - 1.0).abs() < 0.03, "{p50}");
        assert!((h.percentile(5.0).unwrap() / 6.0 - 1.0).abs() < 0.03);
        let share = h.share_within(50.0, 0.10);
        assert!((0.09..=0.12).contains(&share), "{share}");
        assert_eq!(RatioHistogram::default().percentile(50.0), None);
    }
}
