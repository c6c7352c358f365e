//! The I/O engine interface shared by the io_uring and pwrite back ends, and the choice between
//! them (io_uring when asked for and available, pwrite otherwise).

use super::pwrite::PwriteEngine;
use super::uring::UringEngine;
use super::IoEngine;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::Scope;
use std::time::Duration;

pub(crate) use crate::io::ring::Dir;

/// One read or write of part of a pool buffer.
#[derive(Debug)]
pub(crate) struct IoOp {
    /// Returned with the completion (the pool slot index).
    pub(crate) token: u64,
    pub(crate) fd: RawFd,
    pub(crate) dir: Dir,
    /// Start of the bytes to write or of the space to read into.
    pub(crate) ptr: *mut u8,
    pub(crate) len: usize,
    /// File offset.
    pub(crate) offset: u64,
    /// Index of the pool buffer `ptr` points into (for io_uring fixed buffers).
    pub(crate) buf_index: u16,
}

// SAFETY: `ptr` points into a pool buffer that the driver hands to the engine for the duration of
// the operation; nothing else touches those bytes until the completion comes back.
unsafe impl Send for IoOp {}

/// The result of one operation: bytes transferred (possibly fewer than asked) or the OS error.
#[derive(Debug)]
pub(crate) struct IoDone {
    pub(crate) token: u64,
    pub(crate) result: io::Result<usize>,
}

/// An I/O back end. Operations complete in any order.
pub(crate) trait Engine {
    /// Which back end this is.
    fn kind(&self) -> IoEngine;

    /// Queues an operation; it is submitted at the latest by the next [`Engine::wait`].
    ///
    /// # Safety
    /// `op.ptr .. op.ptr + op.len` must stay valid, and untouched by anyone else, until `wait`
    /// has returned the completion carrying `op.token`.
    unsafe fn push(&mut self, op: IoOp) -> io::Result<()>;

    /// Submits what is queued, then waits until at least one completion is ready, the waker
    /// fires, or `timeout` passes (zero: do not wait). Appends completions to `out`.
    fn wait(&mut self, timeout: Duration, out: &mut Vec<IoDone>) -> io::Result<()>;

    /// A handle that worker threads use to end a [`Engine::wait`] early.
    fn waker(&self) -> Waker;
}

/// Wakes the thread blocked in [`Engine::wait`].
#[derive(Clone)]
pub(crate) enum Waker {
    /// io_uring: an eventfd that the ring keeps a read armed on.
    EventFd(Arc<OwnedFd>),
    /// pwrite: the engine's completion channel.
    Channel(Sender<super::pwrite::Msg>),
}

impl Waker {
    /// Wakes the waiting thread (a no-op when it is gone).
    pub(crate) fn wake(&self) {
        match self {
            Waker::EventFd(fd) => {
                let one: u64 = 1;
                // SAFETY: writes 8 bytes from a live u64 to an eventfd we own; errors (counter
                // saturated, which still leaves it readable) are harmless.
                unsafe {
                    libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8);
                }
            }
            Waker::Channel(tx) => {
                let _ = tx.send(super::pwrite::Msg::Wake);
            }
        }
    }
}

/// Opens the engine for a run: io_uring with the pool's buffers registered when `want_uring`
/// and the kernel allows it, else pwrite/pread on `queue_depth` threads of `scope`. Fallbacks are
/// explained in `warnings`. Fails only when the pwrite threads cannot be started.
///
/// # Safety
/// `iovecs` must describe memory that outlives the returned engine, and the engine must not be
/// dropped while operations are in flight unless that memory is then leaked.
pub(crate) unsafe fn open<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    want_uring: bool,
    queue_depth: usize,
    iovecs: &[libc::iovec],
    warnings: &mut Vec<String>,
) -> io::Result<Box<dyn Engine + 'scope>> {
    if want_uring {
        // SAFETY: forwarded from this function's contract.
        match unsafe { UringEngine::new(queue_depth, iovecs) } {
            Ok((engine, notes)) => {
                warnings.extend(notes);
                return Ok(Box::new(engine));
            }
            Err(e) => warnings.push(format!(
                "io_uring unavailable ({}): using pwrite/pread on {} threads instead",
                describe_errno(&e),
                queue_depth.min(super::pwrite::MAX_THREADS)
            )),
        }
    }
    Ok(Box::new(PwriteEngine::new(scope, queue_depth)?))
}

/// `EPERM (Operation not permitted)`-style text for warnings.
pub(crate) fn describe_errno(e: &io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::ENOSYS) => "ENOSYS",
        Some(libc::EPERM) => "EPERM",
        Some(libc::EINVAL) => "EINVAL",
        Some(libc::ENOMEM) => "ENOMEM",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EOPNOTSUPP) => "EOPNOTSUPP",
        _ => return e.to_string(),
    };
    format!("{name}: {e}")
}
