//! The buffer pool: `count` buffers of `size` bytes, aligned for O_DIRECT, allocated once per run
//! and reused for every chunk. Memory use of a run is the pool, whatever the file size.

use std::io;
use std::ptr::NonNull;

/// One anonymous mapping cut into equal, aligned buffers.
pub(crate) struct Pool {
    /// Start of the mapping.
    map: NonNull<u8>,
    map_len: usize,
    /// First buffer (the mapping's start rounded up to the alignment).
    ptr: NonNull<u8>,
    buffer_size: usize,
    count: usize,
}

// SAFETY: the pool owns its mapping; access to the bytes goes through `Slot`s, which are
// exclusive borrows of disjoint parts of it.
unsafe impl Send for Pool {}

impl Pool {
    /// Maps `count` buffers of `buffer_size` bytes, each aligned to `align` (a power of two that
    /// divides `buffer_size`). Anonymous memory is zero-filled and not resident until touched:
    /// pages become resident when a buffer is first filled (or pinned by io_uring registration).
    /// When the calling thread is bound to a NUMA node ([`crate::numa::current`]), the pages are
    /// placed there (an error under `numa_mode='force'` if that fails).
    pub(crate) fn new(buffer_size: usize, count: usize, align: usize) -> io::Result<Pool> {
        debug_assert!(align.is_power_of_two() && buffer_size.is_multiple_of(align) && count > 0);
        let oom = || io::Error::new(io::ErrorKind::OutOfMemory, "buffer pool size overflows");
        let total = buffer_size.checked_mul(count).ok_or_else(oom)?;
        // mmap gives page alignment; ask for `align` extra bytes when more is needed.
        let page = 4096;
        let extra = if align > page { align } else { 0 };
        let map_len = total.checked_add(extra).ok_or_else(oom)?;
        // SAFETY: an anonymous private mapping with no address hint touches no existing memory.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("cannot map a buffer pool of {total} bytes: {e}"),
            ));
        }
        let map = NonNull::new(raw.cast::<u8>()).ok_or_else(oom)?;
        // A thread bound to a NUMA node (`numa::Placement::bind_thread`) gets its pool there,
        // whichever thread first touches the pages (workers, or io_uring registration).
        if let Some(placement) = crate::numa::current() {
            if let Err(e) = placement.bind_memory(map.as_ptr(), map_len) {
                // SAFETY: the mapping made above, not yet handed out, unmapped once.
                unsafe { libc::munmap(raw, map_len) };
                return Err(io::Error::other(e.to_string()));
            }
        }
        let skip = (align - (raw as usize % align)) % align;
        // SAFETY: `skip < align <= extra` when non-zero, so the buffers stay inside the mapping.
        let ptr = unsafe { NonNull::new_unchecked(map.as_ptr().add(skip)) };
        Ok(Pool {
            map,
            map_len,
            ptr,
            buffer_size,
            count,
        })
    }

    /// Size of each buffer in bytes.
    pub(crate) fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// The buffers as `iovec`s, for io_uring buffer registration (index `i` is slot `i`).
    pub(crate) fn iovecs(&self) -> Vec<libc::iovec> {
        (0..self.count)
            .map(|i| libc::iovec {
                // SAFETY: `i * buffer_size` is inside the allocation (i < count).
                iov_base: unsafe { self.ptr.as_ptr().add(i * self.buffer_size) }.cast(),
                iov_len: self.buffer_size,
            })
            .collect()
    }

    /// Hands out every buffer once, as exclusive slots that borrow the pool.
    pub(crate) fn slots(&mut self) -> Vec<Slot<'_>> {
        // SAFETY: the buffers are `buffer_size * count` initialised (zero-filled) bytes of the
        // mapping, owned by `self` and borrowed mutably for the slots' lifetime.
        let all = unsafe {
            std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.buffer_size * self.count)
        };
        all.chunks_exact_mut(self.buffer_size)
            .enumerate()
            .map(|(index, buf)| Slot { index, buf })
            .collect()
    }

    /// Gives up the memory without freeing it: used when the kernel may still write into the
    /// buffers (an io_uring that could not be drained), so that nothing else can reuse them.
    pub(crate) fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // SAFETY: `map`/`map_len` describe the mapping made in `new`, unmapped once, here.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.map_len);
        }
    }
}

/// One buffer of the pool, held by exactly one party at a time (driver, worker or kernel).
pub(crate) struct Slot<'p> {
    /// Index of the buffer in the pool (and in the io_uring registered buffer table).
    pub(crate) index: usize,
    /// The buffer's bytes.
    pub(crate) buf: &'p mut [u8],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numa::{self, NumaMode};

    #[test]
    fn a_pool_made_on_a_bound_thread_is_placed_on_its_node() {
        if !numa::supported() {
            eprintln!("skipped: NUMA calls not permitted here");
            return;
        }
        let placement = numa::plan_here(NumaMode::Force, Some(0))
            .unwrap()
            .placement
            .unwrap();
        std::thread::spawn(move || {
            let unbound = Pool::new(1 << 20, 2, 4096).unwrap();
            let (mode, _) = numa::policy_of(unbound.ptr.as_ptr()).unwrap();
            assert_eq!(mode, libc::MPOL_DEFAULT);
            placement.bind_thread().unwrap();
            let mut pool = Pool::new(1 << 20, 2, 4096).unwrap();
            for slot in pool.slots() {
                slot.buf.iter_mut().step_by(4096).for_each(|b| *b = 1);
            }
            // SAFETY: the last byte of the pool's two 1 MiB buffers.
            let last = unsafe { pool.ptr.as_ptr().add((2 << 20) - 1) };
            assert_eq!(numa::policy_of(last).unwrap(), (libc::MPOL_BIND, vec![0]));
            assert_eq!(numa::node_of(last).unwrap(), 0);
        })
        .join()
        .unwrap();
    }
}
