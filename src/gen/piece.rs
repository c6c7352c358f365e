//! A profile's class pieces, calibrated at 8 KiB: the literal bytes and alphabet that give a
//! class its lz4 and zstd-1 ratios over 8 KiB units exactly.
//!
//! A profile measures its classes at the class unit (8 KiB with the usual units), and a sample's
//! per-chunk ratios can be narrower than the error the plain tables leave there: those
//! ([`super::calibration`]) balance their errors over 4 KiB to 1 MiB, so 8 KiB pieces come out
//! lz4 +0.7% at 2:1 and -2.4% at 10:1, and zstd-1 about 1% below its 8 KiB-1 MiB mean, while
//! half of a database's 8 KiB chunks lie within 4% of each other. These tables were measured by
//! `cargo run --release --example calibrate_piece` (rerun it after any change to how atoms are laid
//! out, and paste its output here); the alphabet's columns are [`super::calibration::SYMBOLS`].
//! Measured again on 2026-12-04 with the reference lz4 library (the analyzer's lz4 since then;
//! before, `lz4_flex`): the literal bytes moved by at most 1 byte, but lz4's gain from a small
//! alphabet (`PIECE_LZ4_FACTOR`) came out 0.2-0.5% higher, as the reference library's larger
//! hash table for inputs under 64 KiB finds more of the short matches among literals.

use super::calibration::{interpolate, max_zstd_in, symbols_in, table_at, EntropyTable, SYMBOLS};

/// The unit the tables were measured at.
pub(crate) const PIECE_UNIT: u64 = 8 << 10;

const PIECE_TABLE: [(f64, f64); 24] = [
    (1.00, 4096.00),
    (1.05, 3852.93),
    (1.10, 3670.49),
    (1.20, 3362.74),
    (1.30, 3105.85),
    (1.50, 2688.48),
    (1.75, 2298.15),
    (2.00, 2010.28),
    (2.50, 1603.37),
    (3.00, 1330.50),
    (3.50, 1134.58),
    (4.00, 988.57),
    (5.00, 791.57),
    (6.00, 655.47),
    (8.00, 485.55),
    (10.00, 386.45),
    (12.00, 318.46),
    (16.00, 233.49),
    (20.00, 181.50),
    (25.00, 140.50),
    (30.00, 113.49),
    (35.00, 94.50),
    (40.00, 79.50),
    (50.00, 58.51),
];
const PIECE_ZSTD: EntropyTable = [
    (
        1.00,
        [
            0.9988,
            0.9988,
            0.9988,
            1.1786,
            1.2508,
            1.3406,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        1.25,
        [
            1.2516,
            1.3311,
            1.4083,
            1.4737,
            1.5622,
            1.6728,
            1.7536,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        1.50,
        [
            1.5032,
            1.5948,
            1.6879,
            1.7664,
            1.8716,
            2.0036,
            2.1021,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        2.00,
        [
            2.0083,
            2.1182,
            2.2424,
            2.3465,
            2.4826,
            2.6551,
            2.7836,
            2.9470,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        2.50,
        [
            2.5115,
            2.6346,
            2.7905,
            2.9194,
            3.0886,
            3.3038,
            3.4651,
            3.6667,
            3.8512,
            f64::NAN,
        ],
    ),
    (
        3.00,
        [
            3.0205,
            3.1505,
            3.3375,
            3.4926,
            3.6937,
            3.9498,
            4.1400,
            4.3773,
            4.5995,
            f64::NAN,
        ],
    ),
    (
        4.00,
        [
            4.0481, 4.1833, 4.4201, 4.6233, 4.8821, 5.2163, 5.4585, 5.7589, 6.0501, 6.2343,
        ],
    ),
    (
        5.00,
        [
            5.0584, 5.1792, 5.4698, 5.7224, 6.0443, 6.4564, 6.7627, 7.1386, 7.4972, 7.7301,
        ],
    ),
    (
        6.00,
        [
            6.1022, 6.1414, 6.5242, 6.8326, 7.2134, 7.6993, 8.0643, 8.5081, 8.9270, 9.2037,
        ],
    ),
    (
        8.00,
        [
            8.1586, 8.1587, 8.5501, 8.9493, 9.4365, 10.0628, 10.5376, 11.1070, 11.6233, 11.9895,
        ],
    ),
    (
        10.00,
        [
            10.2891, 10.2891, 10.5588, 11.0593, 11.6567, 12.4317, 13.0230, 13.7146, 14.3271,
            14.7883,
        ],
    ),
    (
        12.00,
        [
            12.4121, 12.4121, 12.4227, 13.0621, 13.7337, 14.6497, 15.3502, 16.1459, 16.8445,
            17.4069,
        ],
    ),
    (
        16.00,
        [
            16.7165, 16.7165, 16.7167, 16.7973, 17.7148, 18.8381, 19.7223, 20.6896, 21.5221,
            22.2282,
        ],
    ),
    (
        20.00,
        [
            21.0767, 21.0766, 21.0769, 21.0771, 21.4057, 22.7337, 23.7410, 24.8154, 25.7706,
            26.5676,
        ],
    ),
    (
        30.00,
        [
            32.8185, 32.8185, 32.8192, 32.8196, 32.8200, 32.8770, 33.8120, 35.3105, 36.5771,
            37.6618,
        ],
    ),
    (
        50.00,
        [
            58.0766, 58.0770, 58.0778, 58.0782, 58.0792, 58.0810, 58.0822, 58.0858, 58.0908,
            58.2031,
        ],
    ),
];
const PIECE_LZ4_FACTOR: EntropyTable = [
    (
        1.00,
        [
            1.0000,
            1.0000,
            1.0000,
            1.0001,
            1.0005,
            1.0066,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        1.25,
        [
            1.0000,
            1.0000,
            1.0000,
            1.0005,
            1.0021,
            1.0086,
            1.0194,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        1.50,
        [
            1.0000,
            1.0000,
            1.0000,
            1.0004,
            1.0015,
            1.0064,
            1.0146,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        2.00,
        [
            1.0000,
            1.0000,
            1.0000,
            1.0002,
            1.0009,
            1.0039,
            1.0093,
            1.0246,
            f64::NAN,
            f64::NAN,
        ],
    ),
    (
        2.50,
        [
            1.0000,
            1.0000,
            1.0000,
            1.0002,
            1.0006,
            1.0028,
            1.0066,
            1.0179,
            1.0217,
            f64::NAN,
        ],
    ),
    (
        3.00,
        [
            1.0000,
            1.0000,
            1.0000,
            1.0002,
            1.0007,
            1.0026,
            1.0055,
            1.0142,
            1.0174,
            f64::NAN,
        ],
    ),
    (
        4.00,
        [
            1.0000, 1.0000, 1.0000, 1.0004, 1.0012, 1.0029, 1.0051, 1.0110, 1.0130, 1.0198,
        ],
    ),
    (
        5.00,
        [
            1.0000, 1.0000, 1.0000, 1.0001, 1.0003, 1.0009, 1.0021, 1.0061, 1.0075, 1.0124,
        ],
    ),
    (
        6.00,
        [
            1.0000, 1.0000, 1.0000, 1.0001, 1.0003, 1.0009, 1.0018, 1.0049, 1.0060, 1.0097,
        ],
    ),
    (
        8.00,
        [
            1.0000, 1.0000, 1.0000, 1.0001, 1.0002, 1.0006, 1.0012, 1.0030, 1.0038, 1.0061,
        ],
    ),
    (
        10.00,
        [
            1.0000, 1.0000, 1.0000, 1.0001, 1.0003, 1.0007, 1.0013, 1.0030, 1.0036, 1.0055,
        ],
    ),
    (
        12.00,
        [
            1.0000, 1.0000, 1.0000, 1.0001, 1.0004, 1.0009, 1.0015, 1.0030, 1.0036, 1.0051,
        ],
    ),
    (
        16.00,
        [
            1.0000, 1.0000, 1.0000, 1.0000, 1.0001, 1.0002, 1.0003, 1.0010, 1.0012, 1.0021,
        ],
    ),
    (
        20.00,
        [
            1.0000, 1.0000, 1.0000, 1.0000, 1.0001, 1.0002, 1.0005, 1.0010, 1.0011, 1.0018,
        ],
    ),
    (
        30.00,
        [
            1.0000, 1.0000, 1.0000, 1.0000, 1.0001, 1.0002, 1.0004, 1.0006, 1.0007, 1.0012,
        ],
    ),
    (
        50.00,
        [
            1.0000, 1.0000, 1.0000, 1.0000, 1.0000, 1.0001, 1.0001, 1.0002, 1.0003, 1.0004,
        ],
    ),
];

/// A class whose zstd-1 ratio is within this factor of what plain literals (every byte value)
/// give at its lz4 ratio is *near plain*: what an alphabet gives it at 8 KiB is not what it
/// gives in larger units. An alphabet that gains less than this over 8 KiB is below zstd-1's
/// threshold for compressing literals there (a Huffman table costs about a hundred bytes, and
/// must save a 64th of the literals besides), so 8 KiB units do not see it while 32 KiB and
/// larger ones do: the `compressed` profile's class at lz4 1.014 / zstd-1 1.016, made with the
/// 205 values the 8 KiB table asks, measured zstd-1 1.006 at 8 KiB and 1.054 at 32 KiB (the
/// sample's chunks of that class: 1.02-1.03 at 32 KiB); with every value, 1.005 and 1.018. Such
/// classes take the profile's `near_plain_symbols` instead, fitted on the larger units.
const PLAIN_WITHIN: f64 = 1.02;

/// Whether a class piece at lz4 ratio `lz4` and zstd-1 ratio `zstd` (at 8 KiB) is near plain
/// literals ([`PLAIN_WITHIN`]).
pub(crate) fn near_plain(lz4: f64, zstd: f64) -> bool {
    zstd <= table_at(&PIECE_ZSTD, lz4, 0).unwrap_or(lz4) * PLAIN_WITHIN
}

/// The literal bytes per atom and the literal alphabet (2 to 256 values) of a class piece whose
/// 8 KiB chunks have lz4 ratio `lz4` and zstd-1 ratio `zstd` (within [`max_piece_zstd`]); a class
/// near plain literals ([`near_plain`]) takes `near_plain_symbols` values.
pub(crate) fn piece_plan(lz4: f64, zstd: f64, near_plain_symbols: u16) -> (f64, u16) {
    let m = if near_plain(lz4, zstd) {
        near_plain_symbols.clamp(2, 256)
    } else {
        symbols_in(&PIECE_ZSTD, lz4, zstd)
    };
    // A small alphabet gives lz4 a few short matches among literals: asked for less.
    let lz4_gain = column_value(&PIECE_LZ4_FACTOR, lz4, m).unwrap_or(1.0);
    (literal_bytes(lz4 / lz4_gain), m)
}

/// The most zstd-1 sees on 8 KiB pieces at lz4 ratio `lz4`.
pub(crate) fn max_piece_zstd(lz4: f64) -> f64 {
    max_zstd_in(&PIECE_ZSTD, lz4)
}

/// Literal bytes per atom for lz4 ratio `c` on 8 KiB pieces.
fn literal_bytes(c: f64) -> f64 {
    interpolate(&PIECE_TABLE, c)
}

/// `table`'s value at lz4 ratio `lz4` for an alphabet of `m` values, interpolated in `log2(m)`
/// between its columns; `None` past the valid ones.
fn column_value(table: &EntropyTable, lz4: f64, m: u16) -> Option<f64> {
    let bits = (m as f64).log2();
    let mut prev: Option<(f64, f64)> = None;
    for (j, &s) in SYMBOLS.iter().enumerate() {
        let v = table_at(table, lz4, j)?;
        let b = (s as f64).log2();
        if b <= bits + 1e-9 {
            return Some(match prev {
                None => v,
                Some((v0, b0)) => v0 + (bits - b0) / (b - b0) * (v - v0),
            });
        }
        prev = Some((v, b));
    }
    prev.map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_tables_are_monotonic() {
        for w in PIECE_TABLE.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 > w[1].1, "{w:?}");
        }
        for (lz4, row) in PIECE_ZSTD {
            let valid: Vec<f64> = row.iter().copied().take_while(|z| !z.is_nan()).collect();
            assert!(
                valid.windows(2).all(|w| w[1] >= w[0] * 0.999),
                "{lz4}: {row:?}"
            );
        }
    }

    #[test]
    fn a_plain_piece_is_asked_for_its_own_ratio() {
        // At 256 values (no reduction) lz4 gains nothing from the alphabet.
        let (l, m) = piece_plan(2.0, 1.0, 256);
        assert_eq!(m, 256);
        assert!((l - PIECE_TABLE[7].1).abs() < 0.01, "{l}");
        // A small alphabet: asked for a little less lz4 than the class has.
        let (l, m) = piece_plan(2.5, 3.6, 256);
        assert!(m < 60, "{m}");
        assert!(l > PIECE_TABLE[8].1, "{l}");
    }

    #[test]
    fn a_class_near_plain_literals_takes_them() {
        // The compressed profile's low classes: zstd-1 a little above lz4, within what an
        // alphabet gains only above 8 KiB.
        for (lz4, zstd) in [(1.0144, 1.0163), (1.0518, 1.0596), (1.092, 1.103)] {
            assert!(near_plain(lz4, zstd));
            assert_eq!(piece_plan(lz4, zstd, 256).1, 256, "{lz4}/{zstd}");
            assert_eq!(piece_plan(lz4, zstd, 235).1, 235, "{lz4}/{zstd}");
        }
        // Further above: the alphabet the table asks, whatever the near-plain one.
        for (lz4, zstd) in [(1.4213, 1.4877), (0.998, 1.124)] {
            assert!(!near_plain(lz4, zstd));
            let m = piece_plan(lz4, zstd, 256).1;
            assert!(m < 256 && m == piece_plan(lz4, zstd, 235).1);
        }
    }
}
