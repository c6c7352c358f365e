//! From a compression ratio to the literal bytes per atom, calibrated against real codecs.
//!
//! The table was measured by `cargo run --release --example calibrate`: for each ratio, the literal
//! bytes per 4 KiB atom at which lz4 (block) and zstd level 1 over independent units of 4 KiB to
//! 1 MiB stay within 90% of their tolerance and, up to 4.5:1, zstd-3 and deflate come closest. Between grid
//! points the literal bytes are interpolated linearly in `1/c`, along which they are nearly linear.
//! Rerun the example after any change to how atoms are laid out, and paste its output here.
//! The tables were measured with `lz4_flex`; measured again on 2026-12-04 with the reference lz4
//! library (the analyzer's lz4 since then) they came out the same to within 0.4% of the literal
//! bytes (1.1% at 35:1, inside that point's tolerance), so they were kept.

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

/// [`TABLE`] for atoms that open with a re-sync piece (`cargo run --release --example calibrate
/// -- 8 --resync`, 5 minutes on 2 cores): a mix's classes aimed at the lz family. Within 0.5% of
/// `TABLE`: the re-sync match repeats 3 bytes where the others repeat their run, which zstd
/// and deflate store a little more cheaply.
const RESYNC_TABLE: [(f64, f64); 24] = [
    (1.00, 4096.00),
    (1.05, 3835.98),
    (1.10, 3655.43),
    (1.20, 3351.44),
    (1.30, 3095.39),
    (1.50, 2671.43),
    (1.75, 2278.63),
    (2.00, 1995.29),
    (2.50, 1593.38),
    (3.00, 1326.56),
    (3.50, 1136.30),
    (4.00, 993.49),
    (5.00, 800.47),
    (6.00, 664.33),
    (8.00, 493.53),
    (10.00, 395.59),
    (12.00, 327.39),
    (16.00, 242.45),
    (20.00, 191.31),
    (25.00, 150.57),
    (30.00, 123.46),
    (35.00, 103.52),
    (40.00, 89.53),
    (50.00, 69.39),
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

/// [`SNAPPY_TABLE`] for atoms that open with a re-sync piece (`cargo run --release --example
/// calibrate -- --snappy --resync`): a mix's classes aimed at snappy. Snappy stores the re-sync
/// match's short distance more cheaply: up to 1% more literal bytes for the same ratio.
const RESYNC_SNAPPY_TABLE: [(f64, f64); 18] = [
    (1.00, 4096.00),
    (1.05, 3792.53),
    (1.10, 3623.51),
    (1.20, 3316.58),
    (1.30, 3055.31),
    (1.50, 2621.43),
    (1.75, 2213.59),
    (2.00, 1912.46),
    (2.50, 1494.30),
    (3.00, 1205.56),
    (3.50, 986.41),
    (4.00, 847.52),
    (5.00, 636.46),
    (6.00, 504.61),
    (8.00, 322.54),
    (10.00, 218.39),
    (12.00, 152.54),
    (16.00, 63.47),
];

/// Expected literal bytes per 4 KiB atom for compression ratio `c` (`1 <= c <= 50`), as lz4, zstd,
/// LZO, deflate and brotli measure it.
pub fn literal_bytes_for_ratio(c: f64) -> f64 {
    interpolate(&TABLE, c)
}

/// [`literal_bytes_for`] for atoms that open with a re-sync piece (a mix's classes,
/// `Layout::draw`), from [`RESYNC_TABLE`] or [`RESYNC_SNAPPY_TABLE`].
pub fn literal_bytes_for_resync(c: f64, codec: crate::params::CompressCodec) -> f64 {
    match codec {
        crate::params::CompressCodec::Lz => interpolate(&RESYNC_TABLE, c),
        crate::params::CompressCodec::Snappy => interpolate(&RESYNC_SNAPPY_TABLE, c),
    }
}

/// Expected literal bytes per 4 KiB atom for ratio `c` as `codec`'s family measures it.
pub fn literal_bytes_for(c: f64, codec: crate::params::CompressCodec) -> f64 {
    match codec {
        crate::params::CompressCodec::Lz => interpolate(&TABLE, c),
        crate::params::CompressCodec::Snappy => interpolate(&SNAPPY_TABLE, c),
    }
}

/// Sizes of the literal alphabet that [`ENTROPY_TABLE`]'s columns were measured at (256: every
/// value, the plain data).
pub(crate) const SYMBOLS: [u16; 10] = [256, 181, 128, 100, 76, 56, 45, 36, 30, 26];

/// `(lz4 ratio, zstd ratio with literals of SYMBOLS[j] values)`, measured by
/// `cargo run --release --example calibrate_entropy`: the zstd-1 ratio is the geometric mean of
/// its ratios over 8 KiB and 1 MiB units (so both are within a few percent of it), and a cell is
/// NaN where lz4 at 8 KiB moves more than 2.5% from the plain data's (literals of few values give
/// lz4 short matches too) or zstd-3 at 8 KiB more than 3% from zstd-1. Rerun after any change to
/// the layouts or the literal mapping, and paste its output here.
const ENTROPY_TABLE: EntropyTable = [
    (
        1.00,
        [
            0.999,
            0.999,
            0.999,
            1.178,
            1.248,
            1.337,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        1.25,
        [
            1.265,
            1.348,
            1.421,
            1.488,
            1.575,
            1.686,
            1.765,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        1.50,
        [
            1.519,
            1.616,
            1.704,
            1.785,
            1.888,
            2.023,
            2.116,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        2.00,
        [
            2.029,
            2.153,
            2.270,
            2.377,
            2.512,
            2.690,
            2.811,
            2.967,
            3.133,
            f64::NAN,
        ],
    ),
    (
        2.50,
        [
            2.536, 2.683, 2.829, 2.963, 3.130, 3.352, 3.503, 3.694, 3.900, 4.042,
        ],
    ),
    (
        3.00,
        [
            3.039, 3.208, 3.384, 3.543, 3.741, 4.004, 4.182, 4.408, 4.653, 4.821,
        ],
    ),
    (
        4.00,
        [
            4.045, 4.246, 4.476, 4.685, 4.942, 5.286, 5.517, 5.808, 6.127, 6.328,
        ],
    ),
    (
        5.00,
        [
            5.032, 5.253, 5.529, 5.786, 6.103, 6.526, 6.813, 7.172, 7.563, 7.810,
        ],
    ),
    (
        6.00,
        [
            6.043, 6.255, 6.596, 6.904, 7.277, 7.774, 8.115, 8.539, 8.998, 9.300,
        ],
    ),
    (
        8.00,
        [
            8.086, 8.316, 8.729, 9.128, 9.612, 10.256, 10.701, 11.257, 11.831, 12.225,
        ],
    ),
    (
        10.00,
        [
            10.126, 10.411, 10.811, 11.303, 11.894, 12.685, 13.234, 13.900, 14.600, 15.056,
        ],
    ),
    (
        12.00,
        [
            12.201, 12.523, 12.836, 13.457, 14.145, 15.076, 15.733, 16.504, 17.319, 17.858,
        ],
    ),
    (
        16.00,
        [
            16.388, 16.741, 17.141, 17.581, 18.501, 19.658, 20.505, 21.461, 22.451, 23.145,
        ],
    ),
    (
        20.00,
        [
            20.540, 20.866, 21.323, 21.778, 22.531, 23.939, 24.944, 26.088, 27.180, 27.923,
        ],
    ),
    (
        30.00,
        [
            31.309, 31.377, 32.031, 32.555, 33.199, 34.191, 35.571, 37.022, 38.378, 39.624,
        ],
    ),
    (
        50.00,
        [
            53.717, 53.714, 53.824, 54.588, 55.365, 56.379, 57.175, 58.270, 59.302, 60.274,
        ],
    ),
];

/// Per lz4 ratio, a value per literal alphabet of [`SYMBOLS`] (NaN: not measured valid).
pub(crate) type EntropyTable = [(f64, [f64; 10]); 16];

/// `rows`' value at lz4 ratio `lz4` in `column`, interpolated in `1/lz4` between its rows as a
/// compressed share (`1 / value`); `None` where the table has no valid cell.
pub(crate) fn table_at(rows: &EntropyTable, lz4: f64, column: usize) -> Option<f64> {
    if rows.is_empty() {
        return (column == 0).then_some(lz4);
    }
    let upper = rows
        .iter()
        .position(|&(r, _)| r >= lz4)
        .unwrap_or(rows.len() - 1)
        .max(1);
    let (c0, z0) = (rows[upper - 1].0, rows[upper - 1].1[column]);
    let (c1, z1) = (rows[upper].0, rows[upper].1[column]);
    if z0.is_nan() || z1.is_nan() {
        return None;
    }
    let t = ((1.0 / lz4 - 1.0 / c0) / (1.0 / c1 - 1.0 / c0)).clamp(0.0, 1.0);
    // zstd's compressed share, interpolated like lz4's.
    Some(1.0 / (1.0 / z0 + t * (1.0 / z1 - 1.0 / z0)))
}

/// The most zstd sees at lz4 ratio `lz4` (with the smallest alphabet the table holds valid).
pub fn max_zstd_ratio(lz4: f64) -> f64 {
    max_zstd_in(&ENTROPY_TABLE, lz4)
}

/// The most `table` holds at lz4 ratio `lz4` (at least `lz4`).
pub(crate) fn max_zstd_in(table: &EntropyTable, lz4: f64) -> f64 {
    (0..SYMBOLS.len())
        .filter_map(|j| table_at(table, lz4, j))
        .fold(lz4, f64::max)
}

/// The literal alphabet (2 to 256 values; 256: every value) that makes zstd see `zstd` on data
/// that lz4 sees at `lz4`: interpolated in `log2(m)` (the literals' entropy) between the table's
/// columns. `zstd` must be within [`max_zstd_ratio`] (it is clamped).
pub fn literal_symbols_for(lz4: f64, zstd: f64) -> u16 {
    symbols_in(&ENTROPY_TABLE, lz4, zstd)
}

/// [`literal_symbols_for`] with zstd's ratios from `table`.
pub(crate) fn symbols_in(table: &EntropyTable, lz4: f64, zstd: f64) -> u16 {
    let mut prev: Option<(f64, f64)> = None;
    for (j, &m) in SYMBOLS.iter().enumerate() {
        let Some(z) = table_at(table, lz4, j) else {
            break;
        };
        let bits = (m as f64).log2();
        if z >= zstd {
            return match prev {
                None => m,
                Some((z0, b0)) => {
                    let t = ((zstd - z0) / (z - z0)).clamp(0.0, 1.0);
                    avoid_powers_of_two(
                        (2f64.powf(b0 + t * (bits - b0))).round().clamp(2.0, 256.0) as u16
                    )
                }
            };
        }
        prev = Some((z, bits));
    }
    prev.map_or(256, |(_, b)| 2f64.powf(b).round() as u16)
}

/// `m`, or `m + 1` when `m` is a power of two below 128: such an alphabet keeps only the high bits
/// of each random byte (`(b * 2^k) >> 8`), and lz4 and zstd-3 then find short matches among
/// literals (measured: at 64 values lz4 at 8 KiB gains 3-5% at low ratios, where 56 and 76 values
/// leave it within 1%).
fn avoid_powers_of_two(m: u16) -> u16 {
    if m < 128 && m.is_power_of_two() {
        m + 1
    } else {
        m
    }
}

/// Linear interpolation of `table` in `1/c` (extrapolated past its last point, clamped to an atom).
pub(crate) fn interpolate(table: &[(f64, f64)], c: f64) -> f64 {
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

    #[test]
    fn entropy_table_is_monotonic_and_inverts() {
        for (lz4, row) in ENTROPY_TABLE {
            let valid: Vec<f64> = row.iter().copied().take_while(|z| !z.is_nan()).collect();
            assert!(
                row[valid.len()..].iter().all(|z| z.is_nan()),
                "{lz4}: {row:?}"
            );
            // zstd stores literal blocks raw until Huffman saves enough: flat at first at 1:1,
            // and at 50:1 the first columns differ by less than the measurement's noise
            assert!(
                valid.windows(2).all(|w| w[1] >= w[0] * 0.999),
                "{lz4}: {row:?}"
            );
            assert!(valid.last() > valid.first(), "{lz4}: {row:?}");
        }
        // the plain data: every value
        assert_eq!(literal_symbols_for(3.0, 3.0), 256);
        for lz4 in [1.25, 2.2, 3.0, 4.0, 7.0, 16.0] {
            let most = max_zstd_ratio(lz4);
            assert!(most > lz4 * 1.2, "{lz4}: {most}");
            let mut last = 257;
            for step in 1..=10 {
                let z = lz4 + (most - lz4) * step as f64 / 10.0;
                let m = literal_symbols_for(lz4, z);
                assert!(
                    m <= last && m >= SYMBOLS[SYMBOLS.len() - 1],
                    "{lz4} {z}: {m}"
                );
                assert!(!(m < 128 && m.is_power_of_two()), "{m}");
                last = m;
            }
        }
    }
}
