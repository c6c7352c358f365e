//! The io_uring back end: the pool's buffers registered once (fixed buffers), up to
//! `queue_depth` operations in flight, and an eventfd read kept armed so that worker threads can
//! wake the waiting thread.

use super::engine::{describe_errno, Dir, Engine, IoDone, IoOp, Waker};
use super::IoEngine;
use io_uring::{opcode, squeue, types, IoUring};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// Token of the eventfd read (pool slot tokens are small indices).
const WAKE_TOKEN: u64 = u64::MAX;

/// An io_uring with (when registration succeeded) the pool's buffers as fixed buffers.
pub(crate) struct UringEngine {
    ring: IoUring,
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
        let entries = (queue_depth + 1).next_power_of_two().max(4) as u32;
        let ring = IoUring::new(entries)?;
        if !ring.params().is_feature_ext_arg() {
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
        let fixed = match unsafe { ring.submitter().register_buffers(iovecs) } {
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

    /// Pushes an entry, submitting first when the submission queue is full.
    ///
    /// # Safety
    /// The buffers the entry points to must stay valid until its completion is reaped.
    unsafe fn push_entry(&mut self, entry: squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: forwarded from this function's contract.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return Ok(());
            }
            match self.ring.submit() {
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
        let ptr: *mut u64 = &mut *self.wake_buf;
        let entry = opcode::Read::new(types::Fd(self.wake_fd.as_raw_fd()), ptr.cast(), 8)
            .build()
            .user_data(WAKE_TOKEN);
        // SAFETY: `wake_buf` is owned by the engine and outlives the read: `Drop` waits for it.
        unsafe { self.push_entry(entry)? };
        self.wake_armed = true;
        Ok(())
    }

    /// Moves completions to `out` (the eventfd read only disarms itself).
    fn reap(&mut self, out: &mut Vec<IoDone>) {
        for cqe in self.ring.completion() {
            if cqe.user_data() == WAKE_TOKEN {
                self.wake_armed = false;
                continue;
            }
            let res = cqe.result();
            out.push(IoDone {
                token: cqe.user_data(),
                result: if res < 0 {
                    Err(io::Error::from_raw_os_error(-res))
                } else {
                    Ok(res as usize)
                },
            });
        }
    }
}

/// Errors of `io_uring_enter` that only mean "try again" (signal, timeout, full queue).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR | libc::ETIME | libc::EBUSY | libc::EAGAIN)
    )
}

impl Engine for UringEngine {
    fn kind(&self) -> IoEngine {
        IoEngine::IoUring
    }

    unsafe fn push(&mut self, op: IoOp) -> io::Result<()> {
        let fd = types::Fd(op.fd);
        let len = u32::try_from(op.len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let entry = match (op.dir, self.fixed) {
            (Dir::Write, true) => opcode::WriteFixed::new(fd, op.ptr, len, op.buf_index)
                .offset(op.offset)
                .build(),
            (Dir::Write, false) => opcode::Write::new(fd, op.ptr, len)
                .offset(op.offset)
                .build(),
            (Dir::Read, true) => opcode::ReadFixed::new(fd, op.ptr, len, op.buf_index)
                .offset(op.offset)
                .build(),
            (Dir::Read, false) => opcode::Read::new(fd, op.ptr, len).offset(op.offset).build(),
        };
        // SAFETY: the caller guarantees the buffer stays valid until the completion is reaped.
        unsafe { self.push_entry(entry.user_data(op.token)) }
    }

    fn wait(&mut self, timeout: Duration, out: &mut Vec<IoDone>) -> io::Result<()> {
        self.arm_wake()?;
        let result = if self.ring.completion().is_empty() && !timeout.is_zero() {
            let ts = types::Timespec::from(timeout);
            let args = types::SubmitArgs::new().timespec(&ts);
            self.ring.submitter().submit_with_args(1, &args)
        } else {
            self.ring.submit()
        };
        match result {
            Ok(_) => {}
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
        self.reap(out);
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
            match self.ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(_) => break,
            }
            self.reap(&mut sink);
            if !self.wake_armed {
                return;
            }
        }
        // The ring could not be drained: leak the buffer rather than let the kernel write into
        // freed memory.
        std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new(0)));
    }
}
