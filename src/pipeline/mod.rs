//! The streaming pipeline: write any amount of generated data to files or block devices at the
//! device's speed with fixed memory, and read it back to verify it.
//!
//! A run allocates one pool of `buffer_count` aligned buffers of `buffer_size` bytes and reuses
//! them throughout. Long-lived worker threads generate into free buffers ([`workers`]); the calling
//! thread ([`driver`]) submits filled buffers to an I/O engine (io_uring with registered buffers,
//! [`uring`] on the shared [`crate::io::ring::Ring`], or pwrite on a few threads, [`pwrite`]) and
//! recycles them as writes complete; short transfers follow [`crate::io::ring::Transfer`].
//! Verification is the same loop the other way round: read into free buffers, compare on the
//! workers. The bytes at each offset are `Generator::fill(offset, ..)` whatever the buffer size,
//! count, thread count, engine or O_DIRECT setting.
//!
//! * [`write_file`], [`write_files`], [`verify_file`]: the entry points used by `dgen write`,
//!   `dgen verify` and `dgen_py`.
//! * Progress and cancellation: a hook called on the calling thread about every 100 ms with
//!   `(bytes_done, total)`; returning `false` stops the run (in-flight I/O is drained, files are
//!   closed, no thread is left running) with [`Error::Interrupted`].

mod driver;
mod engine;
mod options;
mod pool;
mod pwrite;
mod stats;
mod target;
mod uring;
mod verify;
mod workers;
mod write;

pub use options::{
    generator_for, MapContents, VerifyOptions, WriteOptions, DEFAULT_BUFFER_SIZE,
    DEFAULT_QUEUE_DEPTH,
};
pub use stats::{IoEngine, PipelineError, VerifyStats, WriteStats};
pub use verify::verify_file;
pub use workers::{check, check_parallel, Check};
pub use write::{write_file, write_files, write_files_with_streams};

/// The current size of `path`: a file's length or a block device's size (0 for `/dev/null`).
/// Looks without opening anything but a block device (read-only, for its size).
pub fn current_size(path: &std::path::Path) -> crate::Result<u64> {
    target::probe(path, false).map(|p| p.size)
}

use crate::error::Error;
use crate::gen::Generator;
use driver::{Driver, FileIo, Outcome};
use pool::Pool;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use workers::Task;

/// Engine, queue and thread settings of one run.
struct RunConfig {
    task: Task,
    io_uring: bool,
    queue_depth: usize,
    threads: usize,
    progress_total: u64,
}

/// Runs the pipeline over `files` with `pool`, starting the workers and the engine and joining
/// them before returning. The pool is freed, or leaked when the engine could not be drained.
///
/// `prepare` runs once every thread has started and before the first I/O (writes give files
/// their length there): a failure to start threads leaves the targets untouched. When `prepare`
/// fails, its error ends the run before any I/O.
fn run(
    cfg: &RunConfig,
    files: &[FileIo<'_>],
    generators: &[Generator],
    pool: Pool,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    warnings: &mut Vec<String>,
    prepare: &mut dyn FnMut() -> Result<(), Error>,
) -> (Outcome, IoEngine) {
    run_with(
        cfg, files, generators, pool, progress, warnings, prepare, None,
    )
}

#[cfg(test)]
thread_local! {
    /// Tests: make the next run on this thread fail to start its worker threads (EAGAIN).
    static FAIL_SPAWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A constructor for an engine that needs no threads of the run (tests use it to inject faults).
type MakeEngine = fn() -> Box<dyn engine::Engine>;

/// [`run`], with the engine from `make_engine` instead of io_uring/pwrite when given.
#[allow(clippy::too_many_arguments)]
fn run_with(
    cfg: &RunConfig,
    files: &[FileIo<'_>],
    generators: &[Generator],
    mut pool: Pool,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    warnings: &mut Vec<String>,
    prepare: &mut dyn FnMut() -> Result<(), Error>,
    make_engine: Option<MakeEngine>,
) -> (Outcome, IoEngine) {
    let iovecs = pool.iovecs();
    let buffer_size = pool.buffer_size();
    let pool_ref = &mut pool;
    let (outcome, kind) = std::thread::scope(|scope| {
        let failed = |e: Error| {
            let outcome = Outcome {
                error: Some(e),
                drained: true,
                file_bytes: vec![0; files.len()],
                file_ops: vec![0; files.len()],
                ..Outcome::default()
            };
            (outcome, IoEngine::Pwrite)
        };
        let opened = match make_engine {
            Some(make) => Ok(make()),
            // SAFETY: the pool outlives the scope (it is owned by this function), and is leaked
            // below when the engine reports operations it could not drain.
            None => unsafe {
                engine::open(scope, cfg.io_uring, cfg.queue_depth, &iovecs, warnings)
            },
        };
        let path = files.first().map_or(std::path::Path::new(""), |f| f.path);
        let no_threads = |e| failed(Error::io("start threads for", path, None, e));
        let mut engine = match opened {
            Ok(e) => e,
            Err(e) => return no_threads(e),
        };
        let kind = engine.kind();
        let (job_tx, job_rx) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (ready_tx, ready_rx) = channel();
        let mut workers: Vec<std::thread::ScopedJoinHandle<'_, ()>> =
            Vec::with_capacity(cfg.threads);
        for _ in 0..cfg.threads {
            let jobs = Arc::clone(&job_rx);
            let ready = ready_tx.clone();
            let waker = engine.waker();
            let task = cfg.task;
            #[cfg(test)]
            if FAIL_SPAWN.with(|f| f.replace(false)) {
                drop(job_tx);
                for w in workers {
                    let _ = w.join();
                }
                return no_threads(std::io::Error::from_raw_os_error(libc::EAGAIN));
            }
            let spawned = std::thread::Builder::new()
                .name("dgen-worker".into())
                .spawn_scoped(scope, move || {
                    workers::worker(task, generators, &jobs, ready, waker)
                });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    drop(job_tx);
                    for w in workers {
                        let _ = w.join();
                    }
                    return no_threads(e);
                }
            }
        }
        drop(ready_tx);
        if let Err(e) = prepare() {
            drop(job_tx);
            for w in workers {
                let _ = w.join();
            }
            return failed(e);
        }
        let driver = Driver {
            task: cfg.task,
            files,
            buffer_size,
            queue_depth: cfg.queue_depth,
            progress_total: cfg.progress_total,
            progress_base: 0,
            jobs: job_tx,
            ready: ready_rx,
        };
        // The driver's job sender is dropped when `run` returns: the workers then exit. They
        // and the pwrite engine's threads are joined explicitly, so that no thread is still
        // exiting when this function returns.
        let outcome = driver.run(&mut *engine, pool_ref.slots(), progress);
        for w in workers {
            let _ = w.join();
        }
        drop(engine);
        (outcome, kind)
    });
    if !outcome.drained {
        pool.leak();
    }
    (outcome, kind)
}

/// The error a stopped run reports: the first I/O error, else `Interrupted` when cancelled.
fn stop_error(outcome: &mut Outcome) -> Option<Error> {
    outcome
        .error
        .take()
        .or_else(|| outcome.cancelled.then_some(Error::Interrupted))
}

/// Number of online CPUs (at least 1).
fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    //! The driver against an engine that returns short transfers, EINTR and EAGAIN.

    use super::engine::{Dir, Engine, IoDone, IoOp, Waker};
    use super::pwrite::Msg;
    use super::*;
    use crate::params::GenParams;
    use std::collections::VecDeque;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::sync::mpsc::{Receiver, Sender};
    use std::time::Duration;

    /// Performs each operation at once with pwrite/pread, but moves at most a few bytes, and
    /// answers EINTR or EAGAIN (doing nothing) to some operations.
    struct Flaky {
        n: u64,
        done: VecDeque<IoDone>,
        wake_tx: Sender<Msg>,
        wake_rx: Receiver<Msg>,
    }

    fn flaky() -> Box<dyn Engine> {
        let (wake_tx, wake_rx) = channel();
        Box::new(Flaky {
            n: 0,
            done: VecDeque::new(),
            wake_tx,
            wake_rx,
        })
    }

    impl Engine for Flaky {
        fn kind(&self) -> IoEngine {
            IoEngine::Pwrite
        }

        unsafe fn push(&mut self, op: IoOp) -> io::Result<()> {
            self.n += 1;
            let result = match self.n % 7 {
                3 => Err(io::Error::from_raw_os_error(libc::EINTR)),
                5 => Err(io::Error::from_raw_os_error(libc::EAGAIN)),
                k => {
                    // Short: 1 byte, an odd count, or a few blocks.
                    let len = op
                        .len
                        .min([1, 1000, 12345, 3 << 12, 77, 4096, 999][k as usize]);
                    let off = op.offset as libc::off_t;
                    // SAFETY: the driver guarantees op.ptr..op.ptr+op.len is a live buffer.
                    let r = unsafe {
                        match op.dir {
                            Dir::Write => libc::pwrite(op.fd, op.ptr.cast(), len, off),
                            Dir::Read => libc::pread(op.fd, op.ptr.cast(), len, off),
                        }
                    };
                    if r < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(r as usize)
                    }
                }
            };
            self.done.push_back(IoDone {
                token: op.token,
                result,
            });
            Ok(())
        }

        fn wait(&mut self, timeout: Duration, out: &mut Vec<IoDone>) -> io::Result<()> {
            if self.done.is_empty() && !timeout.is_zero() {
                let _ = self.wake_rx.recv_timeout(timeout);
            }
            while self.wake_rx.try_recv().is_ok() {}
            out.extend(self.done.drain(..));
            Ok(())
        }

        fn waker(&self) -> Waker {
            Waker::Channel(self.wake_tx.clone())
        }
    }

    #[test]
    fn short_transfers_eintr_and_eagain_are_completed_and_retried() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flaky.bin");
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let size = (3 << 20) + 17;
        let generator = Generator::new(GenParams::new(99)).unwrap();
        let files = [FileIo {
            fd: file.as_raw_fd(),
            path: &path,
            end: size,
            round_reads_to: 1,
        }];
        for task in [Task::Fill, Task::Check] {
            let cfg = RunConfig {
                task,
                io_uring: false,
                queue_depth: 3,
                threads: 2,
                progress_total: size,
            };
            let pool = Pool::new(64 << 10, 5, 4096).unwrap();
            let gens = [generator.clone()];
            let (mut out, _) = run_with(
                &cfg,
                &files,
                &gens,
                pool,
                &mut |_, _| true,
                &mut Vec::new(),
                &mut || Ok(()),
                Some(flaky),
            );
            assert!(stop_error(&mut out).is_none());
            assert_eq!(out.bytes_done, size, "{task:?}");
            assert!(
                out.file_ops[0] > size / 4096,
                "{task:?}: short transfers were continued"
            );
            assert_eq!(out.first_bad, None, "{task:?}");
        }
        let mut want = vec![0u8; size as usize];
        generator.fill(0, &mut want);
        assert!(std::fs::read(&path).unwrap() == want);
    }
}
