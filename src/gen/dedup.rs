//! The deduplication map: which content each dedup block carries.
//!
//! Blocks are `dedup_unit` bytes. Block `b` is *unique* when `u(b+1) > u(b)` with
//! `u(n) = max(1, round(n/d))`, so every prefix of `n` blocks holds exactly `u(n)` unique blocks:
//! the ratio is as exact as a whole number of blocks allows, on the whole stream and on every
//! prefix, not just on average. A unique block gets a fresh content key (its rank
//! among the unique blocks); every other block copies the key of an earlier unique block.
//!
//! Where copies point: the stream is cut into *regions* of `max(dedup_unit, 1 MiB)`. A copy never
//! points into its own region, and the copies inside one region take distinct keys, so no
//! compression unit of up to 1 MiB (aligned) holds both a block and its copy, nor two copies of the
//! same block: dedup does not leak into compression. Past the warm-up zone (the first
//! `max(256 blocks, 2 regions)`), a copy takes one of the last `window` unique keys before its
//! region, from a seeded random starting point; `window` is 256 MiB of unique data, so a copy
//! sits at most about `256 MiB * d + 1 MiB` after its original. Inside the warm-up zone, where
//! too little lies behind, a copy takes any unique block of the zone outside its own region,
//! earlier or later: every prefix the ratio is promised for (the whole stream of at least 256
//! blocks, or any prefix of at least 1024 blocks) contains the whole zone, so the count of
//! distinct blocks stays exact. (With a dedup unit under 8 KiB the zone is 2 MiB, more than 256
//! blocks: a stream shorter than that may be off by a few blocks.) When a region has more copies
//! than keys are available (very high ratios), keys repeat within the region.

use super::mix::{mix64, Rng};

/// Fixed-point scale of `1/d`.
const ONE: u128 = 1 << 32;
/// Size of a region: compression units up to this size never see a block and its copy together.
pub(crate) const REGION_BYTES: u64 = 1 << 20;
/// The warm-up zone, in blocks (at least two regions): the ratio is promised for whole streams of
/// at least this many blocks.
const WARMUP_BLOCKS: u64 = 256;
/// How much unique data (in bytes) a copy may reach back over.
const WINDOW_BYTES: u64 = 256 << 20;

/// Maps a dedup block index to its content key.
#[derive(Clone, Debug)]
pub(crate) struct DedupMap {
    /// `round(2^32 / d)`.
    inv_ratio: u128,
    blocks_per_region: u64,
    window: u64,
    /// Blocks at the start whose copies may also point forward (within this zone).
    warmup_blocks: u64,
    salt: u64,
}

impl DedupMap {
    /// A map for ratio `d >= 1` and blocks of `unit` bytes; `salt` makes the choice of copies seeded.
    pub(crate) fn new(d: f64, unit: u64, salt: u64) -> Self {
        let inv_ratio = ((ONE as f64) / d).round().max(1.0) as u128;
        let blocks_per_region = (REGION_BYTES / unit).max(1);
        let window = (WINDOW_BYTES / unit).max(blocks_per_region);
        let warmup_blocks = WARMUP_BLOCKS
            .max(2 * blocks_per_region)
            .next_multiple_of(blocks_per_region);
        DedupMap {
            inv_ratio,
            blocks_per_region,
            window,
            warmup_blocks,
            salt,
        }
    }

    /// Number of unique blocks among the first `n` blocks: `n / d` rounded to the nearest
    /// integer, and at least 1 once `n >= 1` (the first block is always unique).
    #[inline]
    pub(crate) fn uniques_before(&self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        (((n as u128 * self.inv_ratio + ONE / 2) / ONE) as u64).max(1)
    }

    /// Whether block `b` is unique (carries content seen nowhere earlier in the stream).
    #[inline]
    #[cfg(test)]
    pub(crate) fn is_unique(&self, b: u64) -> bool {
        self.uniques_before(b + 1) > self.uniques_before(b)
    }

    /// The unique block whose content key is `key` (its rank among the unique blocks).
    pub(crate) fn unique_block(&self, key: u64) -> u64 {
        // The smallest b with uniques_before(b + 1) > key (uniques_before never decreases).
        let mut hi = 1u64;
        while self.uniques_before(hi) <= key {
            hi = hi.saturating_mul(2);
            if hi == u64::MAX {
                break;
            }
        }
        let mut lo = 0u64;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.uniques_before(mid + 1) > key {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
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
        // Index of this copy among the copies of its region.
        let copy_index = (b - region_start) - (before - keys_before_region);
        let mut rng = Rng::new(mix64(
            self.salt ^ region.wrapping_mul(0xe703_7ed1_a0b4_28db),
        ));
        if region_start < self.warmup_blocks {
            // Warm-up: copy any unique block of the warm-up zone outside this region, earlier or
            // later (every prefix the ratio is promised for holds the whole zone).
            let total = self.uniques_before(self.warmup_blocks);
            let own =
                self.uniques_before(region_start + self.blocks_per_region) - keys_before_region;
            let available = total - own;
            if available == 0 {
                return rng.below(before);
            }
            let index = (rng.below(available) + copy_index) % available;
            return if index < keys_before_region {
                index
            } else {
                index + own
            };
        }
        let available = keys_before_region.min(self.window);
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
                assert_eq!(
                    uniques,
                    ((n as f64 / d).round() as u64).max(1),
                    "d {d} n {n}"
                );
            }
        }
    }

    #[test]
    fn unique_block_inverts_the_keys_of_unique_blocks() {
        for d in [1.0, 1.37, 2.0, 7.5] {
            let map = DedupMap::new(d, 64 << 10, 5);
            for b in (0..5000u64).filter(|&b| map.is_unique(b)) {
                assert_eq!(map.unique_block(map.content_key(b)), b, "d {d} b {b}");
            }
        }
    }

    #[test]
    fn copies_point_backwards_and_regions_hold_distinct_keys() {
        let unit = 64 << 10;
        let map = DedupMap::new(2.0, unit, 3);
        let per_region = REGION_BYTES / unit;
        for region in 0..200u64 {
            let mut seen = HashSet::new();
            for b in region * per_region..(region + 1) * per_region {
                let key = map.content_key(b);
                assert!(key < map.uniques_before(map.warmup_blocks.max(b + 1)));
                assert!(seen.insert(key), "key {key} repeated in region {region}");
                if !map.is_unique(b) && region * per_region >= map.warmup_blocks {
                    assert!(key < map.uniques_before(region * per_region));
                }
                if !map.is_unique(b) {
                    let own = map.uniques_before(region * per_region)
                        ..map.uniques_before((region + 1) * per_region);
                    assert!(
                        !own.contains(&key),
                        "copy in region {region} points into its own region"
                    );
                }
            }
        }
    }
}
