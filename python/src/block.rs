//! [`Block`]: the memory behind `BytesView`s and `BufferPool` blocks: zero-filled, page-aligned
//! (so a NUMA placement covers every page of it), and remembering whether it was placed, so that
//! freeing it leaves no node policy behind.

use pyo3::exceptions::PyMemoryError;
use pyo3::PyResult;
use std::alloc::Layout;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

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
        }
        // SAFETY: allocated in `zeroed` with this layout (it was valid then), freed once here.
        unsafe {
            std::alloc::dealloc(
                self.ptr.as_ptr(),
                Layout::from_size_align_unchecked(self.len, PAGE),
            )
        };
    }
}
