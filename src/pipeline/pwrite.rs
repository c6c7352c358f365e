//! The pwrite/pread back end: `queue_depth` I/O threads (scoped to the run, so none outlives it),
//! each doing one blocking `pwrite`/`pread` per operation. Used when io_uring is turned off or
//! unavailable.

use super::engine::{Dir, Engine, IoDone, IoOp, Waker};
use super::IoEngine;
use std::io;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{Builder, Scope, ScopedJoinHandle};
use std::time::Duration;

/// Most I/O threads one run starts.
pub(crate) const MAX_THREADS: usize = 64;

/// What the I/O threads and the waker send to the waiting thread.
pub(crate) enum Msg {
    Done(IoDone),
    Wake,
}

/// Blocking system calls on a small thread pool.
pub(crate) struct PwriteEngine<'scope> {
    /// Operations for the I/O threads; dropping it ends them.
    ops: Option<Sender<IoOp>>,
    msgs: Receiver<Msg>,
    msg_tx: Sender<Msg>,
    threads: Vec<ScopedJoinHandle<'scope, ()>>,
}

impl<'scope> PwriteEngine<'scope> {
    /// Starts `min(queue_depth, MAX_THREADS)` I/O threads in `scope`.
    pub(crate) fn new(scope: &'scope Scope<'scope, '_>, queue_depth: usize) -> io::Result<Self> {
        let (op_tx, op_rx) = channel::<IoOp>();
        let op_rx = Arc::new(Mutex::new(op_rx));
        let (msg_tx, msgs) = channel();
        let mut engine = PwriteEngine {
            ops: Some(op_tx),
            msgs,
            msg_tx,
            threads: Vec::new(),
        };
        for _ in 0..queue_depth.clamp(1, MAX_THREADS) {
            let op_rx = Arc::clone(&op_rx);
            let done_tx = engine.msg_tx.clone();
            // On failure, dropping `engine` ends and joins the threads already started.
            let handle = Builder::new()
                .name("dgen-io".into())
                .spawn_scoped(scope, move || io_thread(&op_rx, &done_tx))?;
            engine.threads.push(handle);
        }
        Ok(engine)
    }
}

/// Runs operations until the engine is dropped.
fn io_thread(ops: &Mutex<Receiver<IoOp>>, done: &Sender<Msg>) {
    loop {
        let op = {
            let rx = ops.lock().unwrap_or_else(|e| e.into_inner());
            match rx.recv() {
                Ok(op) => op,
                Err(_) => return,
            }
        };
        let n = match op.dir {
            // SAFETY: the driver guarantees `ptr..ptr+len` is a live pool buffer reserved for
            // this operation until its completion is returned.
            Dir::Write => unsafe {
                libc::pwrite(op.fd, op.ptr.cast(), op.len, op.offset as libc::off_t)
            },
            // SAFETY: as above; the kernel writes at most `len` bytes into it.
            Dir::Read => unsafe {
                libc::pread(op.fd, op.ptr.cast(), op.len, op.offset as libc::off_t)
            },
        };
        let result = if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        };
        if done
            .send(Msg::Done(IoDone {
                token: op.token,
                result,
            }))
            .is_err()
        {
            return;
        }
    }
}

impl Engine for PwriteEngine<'_> {
    fn kind(&self) -> IoEngine {
        IoEngine::Pwrite
    }

    unsafe fn push(&mut self, op: IoOp) -> io::Result<()> {
        let tx = self
            .ops
            .as_ref()
            .ok_or_else(|| io::Error::other("engine closed"))?;
        tx.send(op)
            .map_err(|_| io::Error::other("I/O threads are gone"))
    }

    fn wait(&mut self, timeout: Duration, out: &mut Vec<IoDone>) -> io::Result<()> {
        let first = if timeout.is_zero() {
            self.msgs.try_recv().ok()
        } else {
            match self.msgs.recv_timeout(timeout) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other("I/O threads are gone"))
                }
            }
        };
        for msg in first
            .into_iter()
            .chain(std::iter::from_fn(|| self.msgs.try_recv().ok()))
        {
            if let Msg::Done(done) = msg {
                out.push(done);
            }
        }
        Ok(())
    }

    fn waker(&self) -> Waker {
        Waker::Channel(self.msg_tx.clone())
    }
}

impl Drop for PwriteEngine<'_> {
    fn drop(&mut self) {
        // Closing the operation channel ends the I/O threads; join them so that none is still
        // exiting when the run returns.
        self.ops.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
