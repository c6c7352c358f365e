//! Parsing and printing byte sizes the way fio does: `4k`, `64KiB`, `1M`, `1.5G`, `2T`.
//!
//! Every suffix is a binary multiple (k = KiB = 1024, m = MiB, g = GiB, t = TiB, p = PiB),
//! case-insensitive, with an optional `i` and `b`/`B` (`4k`, `4K`, `4KB`, `4KiB` are all 4096).
//! A bare number is bytes. Fractions are allowed (`1.5G`, `1.5k`) only when the result is a whole
//! number of bytes: `1.5` bytes or `1.3k` (1331.2 bytes) are refused, never rounded. Negative,
//! NaN and infinite values are refused with that reason.

use crate::error::{Error, Result};

const SUFFIXES: [(char, u32); 6] = [
    ('k', 10),
    ('m', 20),
    ('g', 30),
    ('t', 40),
    ('p', 50),
    ('e', 60),
];

/// Parses a size such as `4k`, `64KiB`, `1.5G` or `4096` into bytes. `name` is used in the error.
pub fn parse_size(name: &'static str, text: &str) -> Result<u64> {
    let s = text.trim();
    let err = |why: &str| {
        Error::invalid(
            name,
            format!("{text:?} {why} (examples: 4096, 4k, 64KiB, 1.5G, 2T)"),
        )
    };
    if s.is_empty() {
        return Err(err("is empty"));
    }
    if s.starts_with('-') {
        return Err(err("is negative (a size is a count of bytes)"));
    }
    let word = s.trim_start_matches('+').to_ascii_lowercase();
    if word.starts_with("nan") || word.starts_with("inf") {
        return Err(err("is not a finite number"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let suffix = suffix.trim().to_ascii_lowercase();
    let shift = if suffix.is_empty() || suffix == "b" {
        0
    } else {
        let mut chars = suffix.chars();
        let letter = chars.next().unwrap_or('?');
        let rest: String = chars.collect();
        let shift = SUFFIXES
            .iter()
            .find(|(c, _)| *c == letter)
            .map(|(_, s)| *s)
            .ok_or_else(|| err("has an unknown unit"))?;
        if !matches!(rest.as_str(), "" | "b" | "i" | "ib") {
            return Err(err("has an unknown unit"));
        }
        shift
    };
    if number.is_empty() || number.matches('.').count() > 1 {
        return Err(err("is not a number"));
    }
    let multiplier = 1u128 << shift;
    let bytes: u128 = if let Some((whole, frac)) = number.split_once('.') {
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| err("is not a number"))?
        };
        if frac.len() > 18 && frac[18..].bytes().any(|b| b != b'0') {
            return Err(err("is not a whole number of bytes"));
        }
        let frac_digits = frac.len().min(18) as u32;
        let frac_val: u128 = if frac_digits == 0 {
            0
        } else {
            frac[..frac_digits as usize]
                .parse()
                .map_err(|_| err("is not a number"))?
        };
        let scale = 10u128.pow(frac_digits);
        if !(frac_val * multiplier).is_multiple_of(scale) {
            return Err(err("is not a whole number of bytes"));
        }
        whole
            .checked_mul(multiplier)
            .and_then(|w| w.checked_add(frac_val * multiplier / scale))
            .ok_or_else(|| err("is too large"))?
    } else {
        let whole: u128 = number.parse().map_err(|_| err("is too large"))?;
        whole
            .checked_mul(multiplier)
            .ok_or_else(|| err("is too large"))?
    };
    u64::try_from(bytes).map_err(|_| err("is too large"))
}

/// Formats a byte count with the largest binary unit that divides it exactly (`131072` -> `128KiB`),
/// or as a decimal with two digits when none does.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    for (i, unit) in UNITS.iter().enumerate().rev() {
        let div = 1u64 << (10 * (i + 1));
        if bytes >= div && bytes.is_multiple_of(div) {
            return format!("{}{unit}", bytes / div);
        }
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.2}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fio_style_sizes() {
        assert_eq!(parse_size("size", "4096").unwrap(), 4096);
        assert_eq!(parse_size("size", "4k").unwrap(), 4096);
        assert_eq!(parse_size("size", "4K").unwrap(), 4096);
        assert_eq!(parse_size("size", "64KiB").unwrap(), 65536);
        assert_eq!(parse_size("size", "64kb").unwrap(), 65536);
        assert_eq!(parse_size("size", "1M").unwrap(), 1 << 20);
        assert_eq!(parse_size("size", "1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_size("size", "2T").unwrap(), 2 << 40);
        assert_eq!(parse_size("size", " 8m ").unwrap(), 8 << 20);
        assert_eq!(parse_size("size", "1.5k").unwrap(), 1536);
        assert_eq!(parse_size("size", "2.0").unwrap(), 2);
    }

    #[test]
    fn refuses_fractions_of_a_byte_negatives_and_nan_with_the_reason() {
        for (bad, why) in [
            ("1.5", "not a whole number of bytes"),
            ("1.3k", "not a whole number of bytes"),
            ("0.5b", "not a whole number of bytes"),
            ("-4k", "negative"),
            ("-1", "negative"),
            ("nan", "not a finite number"),
            ("NaN", "not a finite number"),
            ("inf", "not a finite number"),
        ] {
            let e = parse_size("size", bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "k", "4x", "1.2.3G", "-4k", "4kk", "99999999999E"] {
            let e = parse_size("size", bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid size"), "{bad}: {e}");
        }
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_size(131072), "128KiB");
        assert_eq!(format_size(1 << 30), "1GiB");
        assert_eq!(format_size(1000), "1000B");
        assert_eq!(format_size(1536 * 1024 + 1), "1.50MiB");
    }
}
