//! The deduplication map: which content each dedup block carries.
//!
//! Blocks are `dedup_unit` bytes. Block `b` is *unique* when `ceil((b+1)/d) > ceil(b/d)`, so every
//! prefix of `n` blocks holds exactly `ceil(n/d)` unique blocks: the ratio is exact on the whole
//! stream and on every prefix, not just on average. A unique block gets a fresh content key (its rank
//! among the unique blocks); every other block copies the key of an earlier unique block.
//!
//! Where copies point: the stream is cut into *regions* of `max(dedup_unit, 1 MiB)`. A copy in region
//! `r` takes one of the last `window` unique keys that lie before region `r`, chosen from a seeded
//! random starting point, and the copies inside one region take distinct keys. So no compression unit
//! of up to 1 MiB (aligned) holds both a block and its copy, nor two copies of the same block, and
//! dedup does not leak into compression. Only the first region, which has nothing before it, copies
//! from inside itself (and when a region has more copies than keys exist before it, keys repeat).
//! `window` is 256 MiB of unique data (at least one region): a copy sits at most about
//! `256 MiB * d + 1 MiB` after its original.

use super::mix::{mix64, Rng};

/// Fixed-point scale of `1/d`.
const ONE: u128 = 1 << 32;
/// Size of a region: compression units up to this size never see a block and its copy together.
pub(crate) const REGION_BYTES: u64 = 1 << 20;
/// How much unique data (in bytes) a copy may reach back over.
const WINDOW_BYTES: u64 = 256 << 20;

/// Maps a dedup block index to its content key.
#[derive(Clone, Debug)]
pub(crate) struct DedupMap {
    /// `round(2^32 / d)`.
    inv_ratio: u128,
    blocks_per_region: u64,
    window: u64,
    salt: u64,
}

impl DedupMap {
    /// A map for ratio `d >= 1` and blocks of `unit` bytes; `salt` makes the choice of copies seeded.
    pub(crate) fn new(d: f64, unit: u64, salt: u64) -> Self {
        let inv_ratio = ((ONE as f64) / d).round().max(1.0) as u128;
        let blocks_per_region = (REGION_BYTES / unit).max(1);
        let window = (WINDOW_BYTES / unit).max(blocks_per_region);
        DedupMap {
            inv_ratio,
            blocks_per_region,
            window,
            salt,
        }
    }

    /// Number of unique blocks among the first `n` blocks: `ceil(n / d)`.
    #[inline]
    pub(crate) fn uniques_before(&self, n: u64) -> u64 {
        ((n as u128 * self.inv_ratio).div_ceil(ONE)) as u64
    }

    /// Whether block `b` is unique (carries content seen nowhere earlier in the stream).
    #[inline]
    #[cfg(test)]
    pub(crate) fn is_unique(&self, b: u64) -> bool {
        self.uniques_before(b + 1) > self.uniques_before(b)
    }

    /// The content key of block `b`.
    pub(crate) fn content_key(&self, b: u64) -> u64 {
        let before = self.uniques_before(b);
        if self.uniques_before(b + 1) > before {
            return before;
        }
        let region = b / self.blocks_per_region;
        let region_start = region * self.blocks_per_region;
        let keys_before_region = self.uniques_before(region_start);
        if keys_before_region == 0 {
            // First region: copy any earlier unique block of this region (block 0 always is one).
            let mut rng = Rng::new(mix64(self.salt ^ b.wrapping_mul(0xa076_1d64_78bd_642f)));
            return rng.below(before);
        }
        // Index of this copy among the copies of its region.
        let copy_index = (b - region_start) - (before - keys_before_region);
        let available = keys_before_region.min(self.window);
        let mut rng = Rng::new(mix64(
            self.salt ^ region.wrapping_mul(0xe703_7ed1_a0b4_28db),
        ));
        let start = rng.below(available);
        keys_before_region - 1 - (start + copy_index) % available
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn prefix_unique_counts_are_exact() {
        for d in [1.0, 1.37, 2.0, 3.0, 7.5] {
            let map = DedupMap::new(d, 64 << 10, 9);
            for n in [1u64, 10, 1000, 1024, 4097] {
                let uniques = (0..n).filter(|&b| map.is_unique(b)).count() as u64;
                assert_eq!(uniques, (n as f64 / d).ceil() as u64, "d {d} n {n}");
            }
        }
    }

    #[test]
    fn copies_point_backwards_and_regions_hold_distinct_keys() {
        let unit = 64 << 10;
        let map = DedupMap::new(2.0, unit, 3);
        let per_region = REGION_BYTES / unit;
        for region in 1..200u64 {
            let mut seen = HashSet::new();
            for b in region * per_region..(region + 1) * per_region {
                let key = map.content_key(b);
                assert!(key <= map.uniques_before(b));
                assert!(seen.insert(key), "key {key} repeated in region {region}");
                if !map.is_unique(b) {
                    assert!(key < map.uniques_before(region * per_region));
                }
            }
        }
    }
}
