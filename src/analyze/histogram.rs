//! A fixed-memory histogram of per-unit compression ratios, on a log scale with 0.1% bins, and
//! its summary in half-octave bins ([`RatioHistogram::half_octaves`]) for reports.

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

    /// The histogram in half-octave bins centred on `2^(k/2)` (1, 1.41, 2, 2.83, 4, 5.66, 8, ...;
    /// edges at `2^(k/2 +- 1/4)`), so the round ratios a mix is made of fall mid-bin. The first
    /// bin takes every ratio below `2^(1/4)` (incompressible units, which codecs may expand
    /// slightly), the last every ratio from `2^(23/4)` (about 54) up. Empty bins are left out.
    pub fn half_octaves(&self) -> Vec<HistogramBin> {
        const LAST: i32 = 11;
        let mut counts = [0u64; LAST as usize + 1];
        for (i, &n) in self.bins.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let ratio = ((i as f64 + 0.5) / BINS_PER_E + MIN_LN).exp();
            let k = (2.0 * ratio.log2() + 0.5).floor().clamp(0.0, LAST as f64) as usize;
            counts[k] += n;
        }
        let edge = |k: i32| 2f64.powf(k as f64 / 2.0 - 0.25);
        counts
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(k, &n)| {
                let k = k as i32;
                HistogramBin {
                    center: 2f64.powf(k as f64 / 2.0),
                    low: if k == 0 { None } else { Some(edge(k)) },
                    high: if k == LAST { None } else { Some(edge(k + 1)) },
                    units: n,
                    share: n as f64 / self.count as f64,
                }
            })
            .collect()
    }

    /// Share (0..1) of units whose ratio is at most `ratio` (its 0.1% bin included): the
    /// empirical distribution function, for Kolmogorov-Smirnov distances ([`crate::profile`]).
    pub fn share_at_most(&self, ratio: f64) -> f64 {
        self.share_of_bins(..=self.bin(ratio))
    }

    /// Share (0..1) of units whose ratio is below `ratio`'s 0.1% bin.
    pub fn share_below(&self, ratio: f64) -> f64 {
        self.share_of_bins(..self.bin(ratio))
    }

    fn share_of_bins(&self, range: impl std::slice::SliceIndex<[u64], Output = [u64]>) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.bins[range].iter().sum::<u64>() as f64 / self.count as f64
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

/// One bin of [`RatioHistogram::half_octaves`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HistogramBin {
    /// The bin's centre, `2^(k/2)`.
    pub center: f64,
    /// Lowest ratio in the bin; `None` for the first bin (everything below its upper edge).
    pub low: Option<f64>,
    /// Ratio where the next bin starts; `None` for the last bin.
    pub high: Option<f64>,
    /// Units whose ratio falls in the bin.
    pub units: u64,
    /// `units` / all units.
    pub share: f64,
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

    #[test]
    fn half_octaves_put_round_ratios_mid_bin() {
        let mut h = RatioHistogram::default();
        for (ratio, n) in [
            (0.996, 30),
            (1.0, 10),
            (3.98, 50),
            (4.03, 10),
            (15.8, 20),
            (90.0, 1),
        ] {
            for _ in 0..n {
                h.add(ratio);
            }
        }
        let bins = h.half_octaves();
        let got: Vec<(f64, u64)> = bins.iter().map(|b| (b.center, b.units)).collect();
        let want = [(1.0, 40), (4.0, 60), (16.0, 20), (2f64.powf(5.5), 1)];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((c, n), (wc, wn)) in got.iter().zip(want) {
            assert!((c - wc).abs() < 1e-9 && *n == wn, "{got:?}");
        }
        assert_eq!(bins[0].low, None);
        assert_eq!(bins.last().unwrap().high, None);
        let four = &bins[1];
        assert!(four.low.unwrap() < 3.98 && four.high.unwrap() > 4.03);
        assert!((bins.iter().map(|b| b.share).sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
