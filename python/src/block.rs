//! [`Block`]: the memory behind `BytesView`s and `BufferPool` blocks: page-aligned (so a NUMA
//! placement covers every page of it), remembering whether it was placed (so that freeing it
//! leaves no node policy behind), and recycled through a small bounded cache of freed blocks.
//!
//! The cache: generating into fresh memory costs a page fault per 4 KiB page, which dominates
//! `generate_buffer` (the kernel zeroes and maps each page on first touch). A large unplaced block
//! that is freed (its last `BytesView` gone) is kept, up to [`cache_limit`] bytes in all (1 GiB
//! unless `DGEN_BUFFER_CACHE` says otherwise; 0 turns it off), and the next request of the same
//! length takes it back with its pages already resident. The cost is that memory: at most the
//! limit stays allocated after the views are gone.

use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::PyResult;
use std::alloc::Layout;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock};

/// Blocks below this size are not cached (the allocator serves them well).
const CACHE_FROM: usize = 8 << 20;
/// At most this many blocks are kept.
const CACHE_BLOCKS: usize = 4;
/// The cache's default limit in bytes.
const CACHE_DEFAULT: u64 = 1 << 30;

/// A freed block kept for reuse: its allocation (`len` bytes, page-aligned), contents stale.
struct Spare {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Spare is an allocation no one else references; whoever takes it owns it.
unsafe impl Send for Spare {}

static CACHE: Mutex<Vec<Spare>> = Mutex::new(Vec::new());
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

/// Frees an allocation made by [`Block::zeroed`].
///
/// # Safety
/// `ptr` must come from `Block::zeroed` with this `len` (> 0) and be freed once.
unsafe fn dealloc(ptr: NonNull<u8>, len: usize) {
    // SAFETY: per the contract, the layout is the one it was allocated with (valid then).
    unsafe { std::alloc::dealloc(ptr.as_ptr(), Layout::from_size_align_unchecked(len, PAGE)) };
}

/// Alignment of every block: a page, so that `mbind` can place all of it.
const PAGE: usize = 4096;

/// Zero-filled bytes owned by Rust and shared with Python through `BytesView`.
pub(crate) struct Block {
    ptr: NonNull<u8>,
    len: usize,
    /// Bound to a NUMA node: the range's policy is reset before it is freed (a freed heap range
    /// keeps its policy, and the next allocation reusing it would land on the node too).
    placed: bool,
}

// SAFETY: a Block owns its bytes exclusively (like a Vec<u8>); shared access is read-only
// through `&Block`, mutation needs `&mut Block`.
unsafe impl Send for Block {}
// SAFETY: as above: `&Block` only reads.
unsafe impl Sync for Block {}

impl Block {
    /// `len` zero bytes, page-aligned; `MemoryError` when they cannot be had (never the process
    /// abort of a failed `vec!`). Large ones come straight from the kernel, with no zeroing pass.
    pub(crate) fn zeroed(len: usize) -> PyResult<Self> {
        if len == 0 {
            return Ok(Block {
                ptr: NonNull::dangling(),
                len: 0,
                placed: false,
            });
        }
        let too_big = || PyMemoryError::new_err(format!("cannot allocate {len} bytes"));
        let layout = Layout::from_size_align(len, PAGE).map_err(|_| too_big())?;
        // SAFETY: `layout` has a non-zero size (len > 0).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).ok_or_else(too_big)?;
        Ok(Block {
            ptr,
            len,
            placed: false,
        })
    }

    /// `len` bytes whose contents are unspecified (the caller overwrites every byte): a cached
    /// block of that length when there is one (its pages resident), else [`Block::zeroed`].
    pub(crate) fn for_overwrite(len: usize) -> PyResult<Self> {
        if len >= CACHE_FROM && cache_limit()? > 0 {
            let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = cache.iter().position(|s| s.len == len) {
                let spare = cache.swap_remove(i);
                return Ok(Block {
                    ptr: spare.ptr,
                    len: spare.len,
                    placed: false,
                });
            }
        }
        Block::zeroed(len)
    }

    /// Notes that the block was bound to a NUMA node (its policy is reset when it is freed).
    pub(crate) fn set_placed(&mut self) {
        self.placed = true;
    }
}

impl Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` holds `len` initialised (zeroed, then written) bytes owned by `self`
        // (or is dangling with len 0, which a slice allows).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Block {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        if self.placed {
            // Best effort: a failure leaves the policy, which only affects placement.
            let _ = dgen::numa::reset_memory(self.ptr.as_ptr(), self.len);
        } else if self.len >= CACHE_FROM {
            let limit = LIMIT.get().copied().unwrap_or(0);
            let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
            let held: u64 = cache.iter().map(|s| s.len as u64).sum();
            if cache.len() < CACHE_BLOCKS && held + self.len as u64 <= limit {
                cache.push(Spare {
                    ptr: self.ptr,
                    len: self.len,
                });
                return;
            }
        }
        // SAFETY: allocated in `zeroed` with this length, freed once here (not cached).
        unsafe { dealloc(self.ptr, self.len) };
    }
}
