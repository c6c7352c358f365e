//! From a compression ratio to the literal bytes per atom, calibrated against real codecs.

use super::atom::ATOM;

/// Expected literal bytes per 4 KiB atom for compression ratio `c`.
pub fn literal_bytes_for_ratio(c: f64) -> f64 {
    if c <= 1.0 {
        return ATOM as f64;
    }
    // Compressed size ~ literals + matches * cost; matches ~ (ATOM - literals) / 192.
    let match_cost = 3.2;
    let overhead = 6.0;
    let a = 1.0 - match_cost / 192.0;
    let b = match_cost * ATOM as f64 / 192.0 + overhead;
    ((ATOM as f64 / c - b) / a).clamp(32.0, ATOM as f64)
}
