//! Content-defined chunking: the dedup ratio an array or backup tool that cuts variable-size
//! chunks would see, measured with FastCDC (the 2020 algorithm of Xia et al., through the
//! `fastcdc` crate's `v2020` module: gear hash, normalized chunking, two bytes per step).
//!
//! Each average size `avg` is run with `min = avg / 4` and `max = avg * 4` (the sizes the crate's
//! own examples derive from one `--size`), over the whole input as one stream: a piece's last
//! chunk is held back and chunked again with the next piece, so the cut points are exactly those
//! of one pass over all the data. Chunks are told apart by xxh3-128 of their bytes; the ratio is
//! bytes / bytes of distinct chunks (what a store of unique chunks keeps).

use rayon::prelude::*;
use std::collections::HashSet;

/// The FastCDC average chunk sizes `dgen analyze` measures by default: 4, 8 and 16 KiB.
pub const DEFAULT_CDC_AVERAGES: [u64; 3] = [4 << 10, 8 << 10, 16 << 10];
/// Smallest average chunk size accepted (its minimum, 256 bytes, is above the crate's 64).
pub const MIN_CDC_AVERAGE: u64 = 1 << 10;
/// Largest average chunk size accepted (its maximum, 16 MiB, is the crate's largest).
pub const MAX_CDC_AVERAGE: u64 = 4 << 20;

/// The result of one FastCDC configuration.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CdcReport {
    /// The algorithm: `fastcdc-2020`.
    pub algorithm: &'static str,
    /// Average (normal) chunk size asked for, in bytes.
    pub avg: u64,
    /// Minimum chunk size (`avg / 4`).
    pub min: u64,
    /// Maximum chunk size (`avg * 4`).
    pub max: u64,
    /// Chunks cut.
    pub chunks: u64,
    /// Distinct chunks (by xxh3-128).
    pub distinct: u64,
    /// Bytes chunked.
    pub bytes: u64,
    /// Bytes of the distinct chunks.
    pub distinct_bytes: u64,
    /// `bytes / distinct_bytes`: the dedup ratio a store of unique chunks sees.
    pub dedup_ratio: f64,
    /// `bytes / chunks`: the mean chunk size that came out.
    pub mean_chunk: f64,
    #[serde(skip)]
    seen: HashSet<u128>,
    /// The last chunk of the data fed so far, cut again with the next piece.
    #[serde(skip)]
    carry: Vec<u8>,
}

impl CdcReport {
    /// An empty measurement for average chunk size `avg`.
    pub(super) fn new(avg: u64) -> Self {
        CdcReport {
            algorithm: "fastcdc-2020",
            avg,
            min: avg / 4,
            max: avg * 4,
            chunks: 0,
            distinct: 0,
            bytes: 0,
            distinct_bytes: 0,
            dedup_ratio: 0.0,
            mean_chunk: 0.0,
            seen: HashSet::new(),
            carry: Vec::new(),
        }
    }

    /// Chunks `piece` after what was held back; the new last chunk is held back again unless
    /// `eof`.
    fn feed(&mut self, piece: &[u8], eof: bool) {
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(piece);
        let chunker = fastcdc::v2020::FastCDC::new(
            &buf,
            self.min as usize,
            self.avg as usize,
            self.max as usize,
        );
        let mut chunks: Vec<(usize, usize)> = chunker.map(|c| (c.offset, c.length)).collect();
        if !eof {
            if let Some((offset, _)) = chunks.pop() {
                self.carry = buf[offset..].to_vec();
            }
        }
        for (offset, length) in chunks {
            let hash = xxhash_rust::xxh3::xxh3_128(&buf[offset..offset + length]);
            self.chunks += 1;
            self.bytes += length as u64;
            if self.seen.insert(hash) {
                self.distinct += 1;
                self.distinct_bytes += length as u64;
            }
        }
    }

    fn finish(&mut self) {
        self.feed(&[], true);
        self.dedup_ratio = if self.distinct_bytes > 0 {
            self.bytes as f64 / self.distinct_bytes as f64
        } else {
            0.0
        };
        self.mean_chunk = if self.chunks > 0 {
            self.bytes as f64 / self.chunks as f64
        } else {
            0.0
        };
    }
}

/// Feeds `piece` to every configuration, one rayon task each.
pub(super) fn feed_all(reports: &mut [CdcReport], piece: &[u8]) {
    reports.par_iter_mut().for_each(|r| r.feed(piece, false));
}

/// Chunks what was held back and computes the ratios.
pub(super) fn finish_all(reports: &mut [CdcReport]) {
    reports.par_iter_mut().for_each(CdcReport::finish);
}

/// Checks the average chunk sizes: powers of two from 1 KiB to 4 MiB.
pub(super) fn check_averages(averages: &[u64]) -> crate::Result<()> {
    for &a in averages {
        if !a.is_power_of_two() || !(MIN_CDC_AVERAGE..=MAX_CDC_AVERAGE).contains(&a) {
            return Err(crate::Error::invalid(
                "cdc",
                format!(
                    "average chunk size {a} must be a power of two from 1KiB to 4MiB (min and \
                     max are avg/4 and avg*4)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut p = crate::GenParams::new(seed);
        p.compress_ratio = 1.0;
        let mut v = vec![0u8; len];
        crate::Generator::new(p).unwrap().fill(0, &mut v);
        v
    }

    #[test]
    fn pieces_cut_as_one_stream() {
        let d = data(3 << 20, 1);
        let mut whole = CdcReport::new(8 << 10);
        whole.feed(&d, true);
        let mut pieces = CdcReport::new(8 << 10);
        for p in d.chunks(300_001) {
            pieces.feed(p, false);
        }
        pieces.finish();
        whole.finish();
        assert_eq!(
            (whole.chunks, whole.bytes, whole.distinct),
            (pieces.chunks, pieces.bytes, pieces.distinct)
        );
        assert_eq!(whole.bytes, d.len() as u64);
        // unique data: every chunk distinct; the mean chunk near the average asked for
        assert_eq!(whole.distinct, whole.chunks);
        assert!(
            (6_000.0..12_000.0).contains(&whole.mean_chunk),
            "{}",
            whole.mean_chunk
        );
    }

    #[test]
    fn a_repeated_stream_dedups_two_to_one() {
        let one = data(2 << 20, 2);
        let mut twice = one.clone();
        twice.extend_from_slice(&one);
        let mut r = CdcReport::new(4 << 10);
        r.feed(&twice, false);
        r.finish();
        // the second copy cuts at the same points once the first cut after the seam is found
        assert!((r.dedup_ratio - 2.0).abs() < 0.02, "{}", r.dedup_ratio);
    }

    #[test]
    fn averages_are_checked() {
        assert!(check_averages(&DEFAULT_CDC_AVERAGES).is_ok());
        let e = check_averages(&[3000]).unwrap_err().to_string();
        assert!(e.contains("cdc") && e.contains("3000"), "{e}");
        assert!(check_averages(&[512]).is_err());
        assert!(check_averages(&[8 << 20]).is_err());
    }
}
