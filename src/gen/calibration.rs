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
    (1.05, 3829.40),
    (1.10, 3648.58),
    (1.20, 3337.52),
    (1.30, 3079.49),
    (1.50, 2667.28),
    (1.75, 2278.55),
    (2.00, 1994.59),
    (2.50, 1594.45),
    (3.00, 1327.42),
    (3.50, 1135.59),
    (4.00, 991.42),
    (5.00, 800.30),
    (6.00, 664.60),
    (8.00, 493.43),
    (10.00, 395.57),
    (12.00, 327.53),
    (16.00, 242.44),
    (20.00, 191.30),
    (25.00, 150.57),
    (30.00, 123.46),
    (35.00, 103.52),
    (40.00, 89.55),
    (50.00, 69.37),
];

/// Literal bytes per atom for data aimed at snappy (`cargo run --release --example calibrate --
/// --snappy`): snappy (raw) over 8 KiB-1 MiB units measures the ratio. Snappy pays 3 bytes per 64
/// bytes of match, so it needs fewer literal bytes than lz4 for the same ratio, and none past 16.
const SNAPPY_TABLE: [(f64, f64); 18] = [
    (1.00, 4096.00),
    (1.05, 3795.48),
    (1.10, 3618.48),
    (1.20, 3297.66),
    (1.30, 3032.33),
    (1.50, 2603.59),
    (1.75, 2205.51),
    (2.00, 1894.54),
    (2.50, 1478.29),
    (3.00, 1189.42),
    (3.50, 993.45),
    (4.00, 843.61),
    (5.00, 636.59),
    (6.00, 497.35),
    (8.00, 322.47),
    (10.00, 218.64),
    (12.00, 152.54),
    (16.00, 63.46),
];

/// Expected literal bytes per 4 KiB atom for compression ratio `c` (`1 <= c <= 50`), as lz4, zstd,
/// LZO, deflate and brotli measure it.
pub fn literal_bytes_for_ratio(c: f64) -> f64 {
    interpolate(&TABLE, c)
}

/// Expected literal bytes per 4 KiB atom for ratio `c` as `codec`'s family measures it.
pub fn literal_bytes_for(c: f64, codec: crate::params::CompressCodec) -> f64 {
    match codec {
        crate::params::CompressCodec::Lz => interpolate(&TABLE, c),
        crate::params::CompressCodec::Snappy => interpolate(&SNAPPY_TABLE, c),
    }
}

/// Linear interpolation of `table` in `1/c` (extrapolated past its last point, clamped to an atom).
fn interpolate(table: &[(f64, f64)], c: f64) -> f64 {
    if c <= 1.0 {
        return ATOM as f64;
    }
    let upper = table
        .iter()
        .position(|&(r, _)| r >= c)
        .unwrap_or(table.len() - 1)
        .max(1);
    let (c0, l0) = table[upper - 1];
    let (c1, l1) = table[upper];
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
