//! The io_uring back end: the shared [`Ring`] with the pool's buffers registered once (fixed
//! buffers), up to `queue_depth` operations in flight, and an eventfd read kept armed so that
//! worker threads can wake the waiting thread. Short transfers are completed by the driver
//! ([`crate::io::ring::Transfer`]), as for the pwrite back end.

use super::engine::{describe_errno, Dir, Engine, IoDone, IoOp, Waker};
use super::IoEngine;
use crate::io::ring::{is_transient, result_of, Ring};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// Token of the eventfd read (pool slot tokens are small indices; `u64::MAX` is the ring's).
const WAKE_TOKEN: u64 = u64::MAX - 1;

/// An io_uring with (when registration succeeded) the pool's buffers as fixed buffers.
pub(crate) struct UringEngine {
    ring: Ring,
    wake_fd: Arc<OwnedFd>,
    /// Target of the eventfd read; boxed so its address is stable while the read is armed.
    wake_buf: Box<u64>,
    wake_armed: bool,
    fixed: bool,
}

impl UringEngine {
    /// Sets up a ring for `queue_depth` operations and registers `iovecs` as fixed buffers
    /// (without them, when registration fails, plain reads and writes are used and a note says
    /// why). Fails when io_uring itself is unavailable (ENOSYS, EPERM) or too old.
    ///
    /// # Safety
    /// `iovecs` must describe memory that outlives the engine, or that is leaked when the engine
    /// is dropped with operations in flight.
    pub(crate) unsafe fn new(
        queue_depth: usize,
        iovecs: &[libc::iovec],
    ) -> io::Result<(Self, Vec<String>)> {
        // The ring keeps one entry beyond `depth`: the eventfd read's.
        let depth = u32::try_from(queue_depth).unwrap_or(u32::MAX).max(3);
        let mut ring = Ring::new(depth)?;
        if !ring.supports_timed_wait() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "kernel io_uring lacks timed waits (IORING_FEAT_EXT_ARG, Linux 5.11)",
            ));
        }
        // SAFETY: plain syscall creating a new descriptor, owned right below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let wake_fd = Arc::new(unsafe { OwnedFd::from_raw_fd(raw) });
        let mut notes = Vec::new();
        // SAFETY: the caller guarantees the buffers outlive the ring (or are leaked).
        let fixed = match unsafe { ring.register_buffers(iovecs) } {
            Ok(()) => true,
            Err(e) => {
                notes.push(format!(
                    "io_uring buffer registration failed ({}): using unregistered buffers",
                    describe_errno(&e)
                ));
                false
            }
        };
        Ok((
            UringEngine {
                ring,
                wake_fd,
                wake_buf: Box::new(0),
                wake_armed: false,
                fixed,
            },
            notes,
        ))
    }

    /// Queues with `queue` (one of the ring's queue calls), submitting first while the
    /// submission queue is full.
    fn queue_or_submit(
        &mut self,
        mut queue: impl FnMut(&mut Ring) -> io::Result<bool>,
    ) -> io::Result<()> {
        loop {
            if queue(&mut self.ring)? {
                return Ok(());
            }
            match self.ring.commit() {
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Keeps a read of the eventfd in flight, so that `Waker::wake` ends a wait.
    fn arm_wake(&mut self) -> io::Result<()> {
        if self.wake_armed {
            return Ok(());
        }
        let ptr: *mut u8 = (&mut *self.wake_buf as *mut u64).cast();
        let fd = self.wake_fd.as_raw_fd();
        // SAFETY: `wake_buf` (8 bytes) is owned by the engine and outlives the read: `Drop`
        // waits for it (or leaks the box); `wake_fd` is owned by the engine too.
        self.queue_or_submit(|ring| unsafe { ring.queue(WAKE_TOKEN, fd, false, ptr, 8, 0) })?;
        self.wake_armed = true;
        Ok(())
    }

    /// Moves the last reap's completions to `out` (the eventfd read only disarms itself).
    fn collect(&mut self, out: &mut Vec<IoDone>) {
        for &(token, res) in self.ring.events() {
            if token == WAKE_TOKEN {
                self.wake_armed = false;
                continue;
            }
            out.push(IoDone {
                token,
                result: result_of(res),
            });
        }
    }
}

impl Engine for UringEngine {
    fn kind(&self) -> IoEngine {
        IoEngine::IoUring
    }

    unsafe fn push(&mut self, op: IoOp) -> io::Result<()> {
        let is_write = op.dir == Dir::Write;
        let fixed = self.fixed;
        self.queue_or_submit(|ring| {
            if fixed {
                // SAFETY: the caller guarantees the buffer stays valid until the completion is
                // reaped; it lies in registered pool buffer `buf_index`.
                unsafe {
                    ring.queue_fixed(
                        op.token,
                        op.fd,
                        is_write,
                        op.ptr,
                        op.len,
                        op.offset,
                        op.buf_index,
                    )
                }
            } else {
                // SAFETY: the caller guarantees the buffer stays valid until the completion is
                // reaped.
                unsafe { ring.queue(op.token, op.fd, is_write, op.ptr, op.len, op.offset) }
            }
        })
    }

    fn wait(&mut self, timeout: Duration, out: &mut Vec<IoDone>) -> io::Result<()> {
        self.arm_wake()?;
        self.ring.wait(timeout)?;
        self.collect(out);
        Ok(())
    }

    fn waker(&self) -> Waker {
        Waker::EventFd(self.wake_fd.clone())
    }
}

impl Drop for UringEngine {
    fn drop(&mut self) {
        // The armed eventfd read points at `wake_buf`: complete it before the box is freed.
        if !self.wake_armed {
            return;
        }
        self.waker().wake();
        let mut sink = Vec::new();
        for _ in 0..1000 {
            match self.ring.getevents(1, u32::MAX) {
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(_) => break,
            }
            self.collect(&mut sink);
            if !self.wake_armed {
                return;
            }
        }
        // The ring could not be drained: leak the buffer rather than let the kernel write into
        // freed memory.
        std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A worker's wake ends a wait on the ring at once (the eventfd read completes, on a ring
    /// whose completions are posted only when the waiting thread enters the kernel).
    #[test]
    fn a_wake_ends_the_wait() {
        // SAFETY: no buffers are registered.
        let (mut engine, _notes) = unsafe { UringEngine::new(4, &[]) }.unwrap();
        let mut out = Vec::new();
        engine.wait(Duration::ZERO, &mut out).unwrap();
        let waker = engine.waker();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            waker.wake();
        });
        let start = Instant::now();
        while engine.wake_armed && start.elapsed() < Duration::from_secs(10) {
            engine.wait(Duration::from_secs(5), &mut out).unwrap();
        }
        let waited = start.elapsed();
        t.join().unwrap();
        assert!(out.is_empty(), "the wake read is not a completion");
        assert!(!engine.wake_armed);
        assert!(waited < Duration::from_secs(2), "the wake took {waited:?}");
    }
}
