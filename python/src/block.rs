//! [`Block`]: the memory behind `BytesView`s and `BufferPool` blocks. From 64 KiB on, an
//! anonymous mapping of its own (page-aligned, so a NUMA placement covers all of it; zero and not
//! resident until first touched, so the fill threads take the page faults in parallel; unmapped,
//! policy and all, when freed); below, a heap allocation. Large unplaced blocks are recycled
//! through a small bounded cache of freed blocks.
//!
//! The cache: generating into fresh memory costs a page fault per 4 KiB page, which dominates
//! `generate_buffer` (the kernel zeroes and maps each page on first touch). A large unplaced block
//! that is freed (its last `BytesView` gone) is kept, up to [`cache_limit`] bytes in all (1 GiB
//! unless `DGEN_BUFFER_CACHE` says otherwise; 0 turns it off), and the next request of the same
//! length takes it back with its pages already resident. The cost is that memory: at most the
//! limit stays allocated after the views are gone.

use memmap2::MmapMut;
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::PyResult;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, OnceLock};

/// Blocks below this size are not cached (the allocator serves them well).
const CACHE_FROM: usize = 8 << 20;
/// At most this many blocks are kept.
const CACHE_BLOCKS: usize = 4;
/// The cache's default limit in bytes.
const CACHE_DEFAULT: u64 = 1 << 30;
/// Blocks from this size on get a mapping of their own.
const MAP_FROM: usize = 64 << 10;

/// Freed mappings kept for reuse (contents stale, pages resident).
static CACHE: Mutex<Vec<MmapMut>> = Mutex::new(Vec::new());
static LIMIT: OnceLock<u64> = OnceLock::new();

/// The cache's limit in bytes: `DGEN_BUFFER_CACHE` (a size: `0`, `512M`, `2GiB`...) or 1 GiB;
/// read once per process. A malformed value is a ValueError naming it.
pub(crate) fn cache_limit() -> PyResult<u64> {
    if let Some(&l) = LIMIT.get() {
        return Ok(l);
    }
    let limit = match std::env::var("DGEN_BUFFER_CACHE") {
        Err(_) => CACHE_DEFAULT,
        Ok(text) => dgen::size::parse_size("DGEN_BUFFER_CACHE", &text)
            .map_err(|e| PyValueError::new_err(e.to_string()))?,
    };
    Ok(*LIMIT.get_or_init(|| limit))
}

/// Where a block's bytes live.
enum Mem {
    /// An anonymous mapping of its own.
    Map(MmapMut),
    /// A heap allocation (small blocks).
    Heap(Vec<u8>),
}

/// Bytes owned by Rust and shared with Python through `BytesView`.
pub(crate) struct Block {
    mem: Mem,
    /// Bound to a NUMA node: a heap block's policy is reset before it is freed (a freed heap
    /// range keeps its policy, and the next allocation reusing it would land on the node too);
    /// a placed mapping is never cached.
    placed: bool,
}

impl Block {
    /// `len` zero bytes; `MemoryError` when they cannot be had (never the process abort of a
    /// failed `vec!`). From 64 KiB on, a fresh anonymous mapping: no zeroing pass, no page
    /// resident until the fill touches it.
    pub(crate) fn zeroed(len: usize) -> PyResult<Self> {
        let too_big =
            |e: String| PyMemoryError::new_err(format!("cannot allocate {len} bytes: {e}"));
        let mem = if len >= MAP_FROM {
            Mem::Map(MmapMut::map_anon(len).map_err(|e| too_big(e.to_string()))?)
        } else {
            let mut v = Vec::new();
            v.try_reserve_exact(len)
                .map_err(|e| too_big(e.to_string()))?;
            v.resize(len, 0);
            Mem::Heap(v)
        };
        Ok(Block { mem, placed: false })
    }

    /// `len` bytes whose contents are unspecified (the caller overwrites every byte): a cached
    /// mapping of that length when there is one (its pages resident), else [`Block::zeroed`].
    pub(crate) fn for_overwrite(len: usize) -> PyResult<Self> {
        if len >= CACHE_FROM && cache_limit()? > 0 {
            let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = cache.iter().position(|m| m.len() == len) {
                let map = cache.swap_remove(i);
                return Ok(Block {
                    mem: Mem::Map(map),
                    placed: false,
                });
            }
        }
        Block::zeroed(len)
    }

    /// Notes that the block was bound to a NUMA node.
    pub(crate) fn set_placed(&mut self) {
        self.placed = true;
    }
}

impl Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.mem {
            Mem::Map(m) => m,
            Mem::Heap(v) => v,
        }
    }
}

impl DerefMut for Block {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.mem {
            Mem::Map(m) => m,
            Mem::Heap(v) => v,
        }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.mem, Mem::Heap(Vec::new())) {
            Mem::Heap(v) if self.placed => {
                // Best effort: a failure leaves the policy, which only affects placement.
                let _ = dgen::numa::reset_memory(v.as_ptr(), v.len());
            }
            Mem::Map(m) if !self.placed && m.len() >= CACHE_FROM => {
                let limit = LIMIT.get().copied().unwrap_or(0);
                let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
                let held: u64 = cache.iter().map(|m| m.len() as u64).sum();
                if cache.len() < CACHE_BLOCKS && held + m.len() as u64 <= limit {
                    cache.push(m);
                }
                // Otherwise `m` is unmapped here.
            }
            // Unmapped (a mapping's policy goes with it) or freed.
            _ => {}
        }
    }
}
