//! From a compression ratio to the literal bytes per atom, calibrated against real codecs.
//!
//! The table was measured by `cargo run --release --example calibrate`: for each ratio, the literal
//! bytes per 4 KiB atom at which lz4 (block) and zstd level 1 over independent units of 8 KiB to
//! 1 MiB measure that ratio (the log-scale middle of the lowest and highest of them). Between grid
//! points the literal bytes are interpolated linearly in `1/c`, along which they are nearly linear.
//! Rerun the example after any change to how atoms are laid out, and paste its output here.

use super::atom::ATOM;

/// `(compression ratio, literal bytes per atom)`, by increasing ratio.
const TABLE: [(f64, f64); 24] = [
    (1.00, 4096.00),
    (1.05, 3819.95),
    (1.10, 3677.51),
    (1.20, 3385.51),
    (1.30, 3125.73),
    (1.50, 2698.83),
    (1.75, 2305.60),
    (2.00, 2009.75),
    (2.50, 1595.65),
    (3.00, 1330.13),
    (3.50, 1140.82),
    (4.00, 998.87),
    (5.00, 800.26),
    (6.00, 667.67),
    (8.00, 498.34),
    (10.00, 395.73),
    (12.00, 327.53),
    (16.00, 242.46),
    (20.00, 191.20),
    (25.00, 150.32),
    (30.00, 123.33),
    (35.00, 103.72),
    (40.00, 89.16),
    (50.00, 68.78),
];

/// Expected literal bytes per 4 KiB atom for compression ratio `c` (`1 <= c <= 50`).
pub fn literal_bytes_for_ratio(c: f64) -> f64 {
    if c <= 1.0 {
        return ATOM as f64;
    }
    let upper = TABLE
        .iter()
        .position(|&(r, _)| r >= c)
        .unwrap_or(TABLE.len() - 1)
        .max(1);
    let (c0, l0) = TABLE[upper - 1];
    let (c1, l1) = TABLE[upper];
    let t = (1.0 / c - 1.0 / c0) / (1.0 / c1 - 1.0 / c0);
    (l0 + t * (l1 - l0)).clamp(1.0, ATOM as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_monotonic_and_interpolates() {
        for w in TABLE.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 > w[1].1, "{w:?}");
        }
        for &(c, l) in &TABLE {
            assert!((literal_bytes_for_ratio(c) - l).abs() < 1e-6);
        }
        let mid = literal_bytes_for_ratio(2.2);
        assert!(mid < literal_bytes_for_ratio(2.0) && mid > literal_bytes_for_ratio(2.5));
        assert_eq!(literal_bytes_for_ratio(1.0), ATOM as f64);
    }
}
