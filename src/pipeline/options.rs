//! Options of a write or verify run, and their validation (done before any file is touched).

use crate::error::{Error, Result};
use crate::params::GenParams;
use crate::size::format_size;

/// Default size of each pool buffer: 8 MiB.
pub const DEFAULT_BUFFER_SIZE: usize = 8 << 20;
/// Default number of I/O operations in flight.
pub const DEFAULT_QUEUE_DEPTH: usize = 4;
/// Largest buffer accepted (io_uring's limit for one registered buffer).
pub const MAX_BUFFER_SIZE: usize = 1 << 30;
/// Most buffers in a pool (io_uring's limit on registered buffers).
pub const MAX_BUFFER_COUNT: usize = 16384;
/// Largest queue depth accepted.
pub const MAX_QUEUE_DEPTH: usize = 4096;
/// Most worker threads accepted.
pub const MAX_THREADS: usize = 1024;

/// How to write a file: the data, its size, the buffer pool and the I/O mode.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// What the bytes are (the seed must already be chosen; report it).
    pub params: GenParams,
    /// Bytes to write. `None`: the whole block device (an error for a regular file).
    pub size: Option<u64>,
    /// Size of each pool buffer (and of each write): a multiple of 4096, at most 1 GiB.
    pub buffer_size: usize,
    /// Buffers in the pool (memory used = `buffer_size * buffer_count`); 0 picks
    /// `2 * threads + queue_depth`.
    pub buffer_count: usize,
    /// Bypass the page cache (O_DIRECT); file systems that refuse it get buffered I/O and a warning.
    pub direct_io: bool,
    /// Use io_uring (falls back to pwrite with a warning when the kernel refuses it).
    pub io_uring: bool,
    /// Generator threads; 0 means one per CPU.
    pub threads: usize,
    /// Writes in flight at once.
    pub queue_depth: usize,
    /// fsync each file at the end (included in the duration).
    pub fsync: bool,
    /// The generation map's view of the target (see `crate::map`): which content each block
    /// gets. `None`: a fresh write of the plain stream. One file only.
    pub map: Option<MapContents>,
}

/// What a generation map says a target's blocks hold, for the generator (see `crate::map`).
#[derive(Clone, Debug)]
pub struct MapContents {
    /// The map's run id (mixed into the data and its headers).
    pub run_id: u64,
    /// Each block's content.
    pub contents: std::sync::Arc<dyn crate::gen::BlockContents>,
}

/// The generator of `params`: as `map`'s run writes it when a map is given, else the plain
/// stream's.
pub fn generator_for(
    map: &Option<MapContents>,
    params: GenParams,
) -> Result<crate::gen::Generator> {
    match map {
        Some(m) => m.generator(params),
        None => crate::gen::Generator::new(params),
    }
}

impl MapContents {
    /// The generator for `params` as this map's run writes it.
    pub fn generator(&self, params: GenParams) -> Result<crate::gen::Generator> {
        Ok(crate::gen::Generator::new(params)?
            .with_run_id(self.run_id)
            .with_contents(self.contents.clone()))
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            params: GenParams::new(0),
            size: None,
            buffer_size: DEFAULT_BUFFER_SIZE,
            buffer_count: default_buffer_count(0, DEFAULT_QUEUE_DEPTH),
            direct_io: true,
            io_uring: true,
            threads: 0,
            queue_depth: DEFAULT_QUEUE_DEPTH,
            fsync: true,
            map: None,
        }
    }
}

impl WriteOptions {
    /// Checks every option (and the data parameters); the error names the offending option.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        if self.size == Some(0) {
            return Err(Error::invalid("size", "0: nothing to write"));
        }
        check_pool(
            self.buffer_size,
            self.buffer_count,
            self.threads,
            self.queue_depth,
        )
    }

    /// Generator threads this run uses (resolves 0).
    pub fn resolved_threads(&self) -> usize {
        resolve_threads(self.threads)
    }

    /// Buffers this run uses (resolves 0).
    pub fn resolved_buffer_count(&self) -> usize {
        resolve_count(self.buffer_count, self.threads, self.queue_depth)
    }
}

/// How to verify a file: the data it should hold, how much of it, and the I/O mode.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// What the bytes should be (same seed, stream id, ratios and dedup unit as the write).
    pub params: GenParams,
    /// Bytes to check from the start. `None`: the whole file or device.
    pub size: Option<u64>,
    /// Size of each pool buffer (and of each read): a multiple of 4096, at most 1 GiB.
    pub buffer_size: usize,
    /// Buffers in the pool; 0 picks `2 * threads + queue_depth`.
    pub buffer_count: usize,
    /// Read with O_DIRECT (buffered fallback with a warning where refused).
    pub direct_io: bool,
    /// Use io_uring (falls back to pread with a warning when the kernel refuses it).
    pub io_uring: bool,
    /// Checking threads; 0 means one per CPU.
    pub threads: usize,
    /// Reads in flight at once.
    pub queue_depth: usize,
    /// The generation map's view of the target: which content each block should hold.
    /// `None`: the plain stream (what a fresh write without a map lays down).
    pub map: Option<MapContents>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            params: GenParams::new(0),
            size: None,
            buffer_size: DEFAULT_BUFFER_SIZE,
            buffer_count: default_buffer_count(0, DEFAULT_QUEUE_DEPTH),
            direct_io: true,
            io_uring: true,
            threads: 0,
            queue_depth: DEFAULT_QUEUE_DEPTH,
            map: None,
        }
    }
}

impl VerifyOptions {
    /// Checks every option (and the data parameters); the error names the offending option.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        if self.size == Some(0) {
            return Err(Error::invalid("size", "0: nothing to verify"));
        }
        check_pool(
            self.buffer_size,
            self.buffer_count,
            self.threads,
            self.queue_depth,
        )
    }

    /// Checking threads this run uses (resolves 0).
    pub fn resolved_threads(&self) -> usize {
        resolve_threads(self.threads)
    }

    /// Buffers this run uses (resolves 0).
    pub fn resolved_buffer_count(&self) -> usize {
        resolve_count(self.buffer_count, self.threads, self.queue_depth)
    }
}

/// `2 * threads + queue_depth` (threads 0: one per CPU): enough for every worker to fill one
/// buffer while another waits, and for the queue to stay full.
pub fn default_buffer_count(threads: usize, queue_depth: usize) -> usize {
    (2 * resolve_threads(threads) + queue_depth).min(MAX_BUFFER_COUNT)
}

fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        super::cpu_count()
    } else {
        threads
    }
}

fn resolve_count(count: usize, threads: usize, queue_depth: usize) -> usize {
    if count == 0 {
        default_buffer_count(threads, queue_depth)
    } else {
        count
    }
}

/// Checks the pool and queue settings.
fn check_pool(
    buffer_size: usize,
    buffer_count: usize,
    threads: usize,
    queue_depth: usize,
) -> Result<()> {
    if buffer_size == 0 || !buffer_size.is_multiple_of(4096) {
        return Err(Error::invalid(
            "buffer size",
            format!(
                "{buffer_size} bytes is not a positive multiple of 4096 (the O_DIRECT block size)"
            ),
        ));
    }
    if buffer_size > MAX_BUFFER_SIZE {
        return Err(Error::invalid(
            "buffer size",
            format!(
                "{} is above the maximum {}",
                format_size(buffer_size as u64),
                format_size(MAX_BUFFER_SIZE as u64)
            ),
        ));
    }
    if buffer_count > MAX_BUFFER_COUNT {
        return Err(Error::invalid(
            "buffer count",
            format!("{buffer_count} is above the maximum {MAX_BUFFER_COUNT}"),
        ));
    }
    if queue_depth == 0 || queue_depth > MAX_QUEUE_DEPTH {
        return Err(Error::invalid(
            "queue depth",
            format!("{queue_depth} is outside 1..={MAX_QUEUE_DEPTH}"),
        ));
    }
    if threads > MAX_THREADS {
        return Err(Error::invalid(
            "threads",
            format!("{threads} is above the maximum {MAX_THREADS}"),
        ));
    }
    let count = resolve_count(buffer_count, threads, queue_depth) as u64;
    let pool = (buffer_size as u64).saturating_mul(count);
    if let Some(ram) = physical_memory() {
        if pool > ram / 2 {
            return Err(Error::invalid(
                "buffer pool",
                format!(
                    "{count} buffers of {} = {} is more than half of this machine's memory ({})",
                    format_size(buffer_size as u64),
                    format_size(pool),
                    format_size(ram)
                ),
            ));
        }
    }
    Ok(())
}

/// Installed memory in bytes, when the OS says.
fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf only reads system configuration.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| pages as u64 * page as u64)
}
