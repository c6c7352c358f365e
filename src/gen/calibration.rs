//! From a compression ratio to the literal bytes per atom, calibrated against real codecs.
//!
//! The table was measured by `cargo run --release --example calibrate`: for each ratio, the literal
//! bytes per 4 KiB atom at which lz4 (block) and zstd level 1 over independent units of 4 KiB to
//! 1 MiB stay within 90% of their tolerance and, up to 4.5:1, zstd-3 and deflate come closest. Between grid
//! points the literal bytes are interpolated linearly in `1/c`, along which they are nearly linear.
//! Rerun the example after any change to how atoms are laid out, and paste its output here.

use super::atom::ATOM;

/// `(compression ratio, literal bytes per atom)`, by increasing ratio.
const TABLE: [(f64, f64); 24] = [
    (1.00, 4096.00),
    (1.05, 3829.72),
    (1.10, 3696.29),
    (1.20, 3380.23),
    (1.30, 3114.94),
    (1.50, 2688.14),
    (1.75, 2293.63),
    (2.00, 1996.34),
    (2.50, 1594.97),
    (3.00, 1327.12),
    (3.50, 1135.68),
    (4.00, 991.88),
    (5.00, 800.04),
    (6.00, 667.98),
    (8.00, 498.15),
    (10.00, 395.57),
    (12.00, 327.23),
    (16.00, 242.38),
    (20.00, 191.28),
    (25.00, 150.76),
    (30.00, 123.37),
    (35.00, 103.15),
    (40.00, 89.49),
    (50.00, 68.63),
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
