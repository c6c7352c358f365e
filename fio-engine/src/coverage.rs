//! Which bytes of a file a job's verified reads covered, so that the job's last line says how
//! much of the file was checked: a verify job that read half the file (a `size`, `io_size` or
//! `runtime` that stopped it early) says so instead of passing as if it had read everything.
//!
//! Coverage is kept as a bitset of granules (4 KiB, doubled until the bitset fits in
//! [`MAX_BITSET_BYTES`]). A granule counts only when one read covered it whole (the file's last,
//! partial granule: up to the file's end), so the count never says more was checked than was.

/// The most memory one file's bitset may take (64 MiB: 2 TiB of 4 KiB granules).
const MAX_BITSET_BYTES: u64 = 64 << 20;

/// The smallest granule.
const MIN_GRANULE: u64 = 4096;

/// The verified reads of one file.
#[derive(Debug)]
pub struct Coverage {
    /// The file's size (what "every byte" means).
    size: u64,
    /// log2 of the granule.
    shift: u32,
    /// One bit per granule.
    bits: Vec<u64>,
    /// Verified reads (repeats included).
    reads: u64,
    /// Verified reads that found a mismatch.
    mismatches: u64,
}

impl Coverage {
    /// Coverage of a file of `size` bytes; `None` when the bitset cannot be allocated (the job
    /// then reports no coverage, never a false one).
    pub fn new(size: u64) -> Option<Coverage> {
        let mut granule = MIN_GRANULE;
        while size.div_ceil(granule).div_ceil(8) > MAX_BITSET_BYTES {
            granule *= 2;
        }
        let words = usize::try_from(size.div_ceil(granule).div_ceil(64)).ok()?;
        let mut bits = Vec::new();
        bits.try_reserve_exact(words).ok()?;
        bits.resize(words, 0);
        Some(Coverage {
            size,
            shift: granule.trailing_zeros(),
            bits,
            reads: 0,
            mismatches: 0,
        })
    }

    /// Records a verified read of `len` bytes at `offset` (`ok`: no mismatch in it).
    pub fn add(&mut self, offset: u64, len: u64, ok: bool) {
        self.reads += 1;
        self.mismatches += u64::from(!ok);
        let granule = 1u64 << self.shift;
        let end = offset.saturating_add(len).min(self.size);
        let mut g = offset.div_ceil(granule);
        while g << self.shift < end {
            let g_end = ((g + 1) << self.shift).min(self.size);
            if g_end > end {
                break;
            }
            self.bits[(g / 64) as usize] |= 1 << (g % 64);
            g += 1;
        }
    }

    /// Distinct bytes covered by whole-granule reads.
    pub fn covered_bytes(&self) -> u64 {
        let granule = 1u64 << self.shift;
        let granules: u64 = self.bits.iter().map(|w| w.count_ones() as u64).sum();
        let last = self.size.div_ceil(granule);
        let last_set =
            last > 0 && self.bits[((last - 1) / 64) as usize] & (1 << ((last - 1) % 64)) != 0;
        // The last granule, when partial, holds only the file's tail.
        let short = if last_set {
            last * granule - self.size
        } else {
            0
        };
        granules * granule - short
    }

    /// The job's last line about this file: how much of it the verified reads covered.
    pub fn line(&self, file: &std::path::Path) -> String {
        let covered = self.covered_bytes();
        let found = match self.mismatches {
            0 => "no mismatch".to_string(),
            n => format!("{n} with a mismatch (above)"),
        };
        if covered == self.size {
            format!(
                "dgen_verify: every byte of {} ({} bytes) verified, {} reads, {found}",
                file.display(),
                self.size,
                self.reads
            )
        } else {
            format!(
                "dgen_verify: {covered} of the {} bytes of {} verified ({:.1}%; {} reads, \
                 {found}); the rest was not read by this job (its size, io_size, offset or \
                 runtime)",
                self.size,
                file.display(),
                covered as f64 * 100.0 / self.size.max(1) as f64,
                self.reads
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_whole_granules_once() {
        let mut c = Coverage::new(10 * 4096 + 100).unwrap();
        c.add(0, 8192, true);
        c.add(4096, 4096, true); // again
        c.add(9000, 4096, true); // covers no granule whole
        assert_eq!(c.covered_bytes(), 8192);
        c.add(10 * 4096, 100, true); // the partial last granule, to the end
        assert_eq!(c.covered_bytes(), 8192 + 100);
        for g in 2..10 {
            c.add(g * 4096, 4096, g != 5);
        }
        assert_eq!(c.covered_bytes(), 10 * 4096 + 100);
        assert!(c
            .line(std::path::Path::new("f"))
            .contains("every byte of f"));
        assert!(c
            .line(std::path::Path::new("f"))
            .contains("1 with a mismatch"));
    }

    #[test]
    fn a_partial_read_says_how_much() {
        let mut c = Coverage::new(1 << 20).unwrap();
        c.add(0, 1 << 19, true);
        let line = c.line(std::path::Path::new("f"));
        assert!(
            line.contains("524288 of the 1048576 bytes of f verified (50.0%"),
            "{line}"
        );
    }

    #[test]
    fn large_files_take_larger_granules() {
        let c = Coverage::new(8 << 40).unwrap();
        assert_eq!(c.shift, 14);
        assert!(c.bits.len() as u64 * 8 <= MAX_BITSET_BYTES);
    }
}
