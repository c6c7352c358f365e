//! The streaming pipeline: write any amount of generated data to files or block devices at the
//! device's speed with fixed memory, and read it back to verify it.
//!
//! A run allocates one pool of `buffer_count` aligned buffers of `buffer_size` bytes and reuses
//! them throughout. Long-lived worker threads generate into free buffers ([`workers`]); the calling
//! thread ([`driver`]) submits filled buffers to an I/O engine (io_uring with registered buffers,
//! [`uring`], or pwrite on a few threads, [`pwrite`]) and recycles them as writes complete.
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

pub use options::{VerifyOptions, WriteOptions, DEFAULT_BUFFER_SIZE, DEFAULT_QUEUE_DEPTH};
pub use stats::{IoEngine, PipelineError, VerifyStats, WriteStats};
pub use verify::verify_file;
pub use write::{write_file, write_files, write_files_with_streams};

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
fn run(
    cfg: &RunConfig,
    files: &[FileIo<'_>],
    generators: &[Generator],
    mut pool: Pool,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    warnings: &mut Vec<String>,
) -> (Outcome, IoEngine) {
    let iovecs = pool.iovecs();
    let buffer_size = pool.buffer_size();
    let pool_ref = &mut pool;
    let (outcome, kind) = std::thread::scope(|scope| {
        let failed = |e: std::io::Error| {
            let path = files.first().map_or(std::path::Path::new(""), |f| f.path);
            let outcome = Outcome {
                error: Some(Error::io("start threads for", path, None, e)),
                drained: true,
                file_bytes: vec![0; files.len()],
                file_ops: vec![0; files.len()],
                ..Outcome::default()
            };
            (outcome, IoEngine::Pwrite)
        };
        // SAFETY: the pool outlives the scope (it is owned by this function), and is leaked
        // below when the engine reports operations it could not drain.
        let mut engine = match unsafe {
            engine::open(scope, cfg.io_uring, cfg.queue_depth, &iovecs, warnings)
        } {
            Ok(e) => e,
            Err(e) => return failed(e),
        };
        let kind = engine.kind();
        let (job_tx, job_rx) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (ready_tx, ready_rx) = channel();
        let mut workers = Vec::with_capacity(cfg.threads);
        for _ in 0..cfg.threads {
            let jobs = Arc::clone(&job_rx);
            let ready = ready_tx.clone();
            let waker = engine.waker();
            let task = cfg.task;
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
                    return failed(e);
                }
            }
        }
        drop(ready_tx);
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
