//! `write_file`, `write_files` and `read_and_validate`: argument conversion, then one call into
//! `dgen::pipeline` with the GIL released and the progress hook attached.

use crate::args;
use crate::args::CompressArg;
use crate::errors::{self, no_panic, pipeline_to_pyerr, set_attr, set_record, PanicMessage};
use crate::progress::Progress;
use crate::stats::{VerifyStats, WriteStats};
use crate::threads;
use dgen::numa::Placement;
use dgen::params::stream_id_for_path;
use dgen::pipeline::{self, PipelineError, VerifyOptions, WriteOptions};
use dgen::GenParams;
use pyo3::exceptions::{PySystemExit, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};

/// The pool and I/O settings shared by writes and verification, as given from Python.
struct PoolArgs {
    /// Where the run's memory and threads go (`numa_mode`, `numa_node`); taken by the caller
    /// for the run itself.
    placement: Option<Placement>,
    buffer_size: usize,
    buffer_count: usize,
    threads: usize,
    queue_depth: usize,
}

impl PoolArgs {
    fn new(
        py: Python<'_>,
        (numa_mode, numa_node): (&str, Option<&Bound<'_, PyAny>>),
        buffer_size: Option<&Bound<'_, PyAny>>,
        buffer_count: Option<&Bound<'_, PyAny>>,
        threads: Option<&Bound<'_, PyAny>>,
        queue_depth: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let placement = threads::placement(py, numa_mode, numa_node)?;
        let buffer_size = args::opt_size("buffer_size", buffer_size)?
            .unwrap_or(pipeline::DEFAULT_BUFFER_SIZE as u64);
        Ok(PoolArgs {
            buffer_size: args::to_usize("buffer_size", buffer_size)?,
            // 0 = automatic in the pipeline.
            buffer_count: args::to_usize(
                "buffer_count",
                args::opt_count("buffer_count", buffer_count)?.unwrap_or(0),
            )?,
            // The module's rule (threads.rs): `threads`, `DGEN_THREADS`, `RAYON_NUM_THREADS`,
            // the CPUs (the NUMA node's when placed).
            threads: threads::count("threads", threads, placement.as_ref(), false)?,
            queue_depth: args::to_usize(
                "queue_depth",
                args::opt_count("queue_depth", queue_depth)?
                    .unwrap_or(pipeline::DEFAULT_QUEUE_DEPTH as u64),
            )?,
            placement,
        })
    }
}

fn check_callable(progress: &Option<Py<PyAny>>, py: Python<'_>) -> PyResult<()> {
    match progress {
        Some(p) if !p.bind(py).is_callable() => Err(PyTypeError::new_err(
            "progress must be a callable taking (bytes_done, total)",
        )),
        _ => Ok(()),
    }
}

/// While a run is in progress on the main thread, SIGTERM and SIGHUP (when their handler is the
/// default, which would kill the process mid-write) raise `SystemExit(128 + signal)` from the
/// progress hook instead: the run stops cleanly (in-flight I/O drained, a file cut back to its
/// longest fully written prefix) and the exception carries the seed and the valid length; left
/// uncaught, Python exits with status 128 + signal, as `dgen write` does. The previous handlers
/// are restored when the run ends. (SIGINT is Python's KeyboardInterrupt already; Python
/// ignores SIGXFSZ, so a file size limit shows as an OSError, EFBIG.)
struct StopSignals<'py> {
    py: Python<'py>,
    saved: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
}

impl<'py> StopSignals<'py> {
    fn install(py: Python<'py>) -> PyResult<Self> {
        let mut guard = StopSignals {
            py,
            saved: Vec::new(),
        };
        let threading = py.import("threading")?;
        let current = threading.call_method0("current_thread")?;
        if !current.is(&threading.call_method0("main_thread")?) {
            return Ok(guard);
        }
        let signal = py.import("signal")?;
        let default = signal.getattr("SIG_DFL")?;
        let handler = PyCFunction::new_closure(
            py,
            None,
            None,
            |args: &Bound<'_, PyTuple>, _: Option<&Bound<'_, PyDict>>| -> PyResult<()> {
                let signum: i32 = args.get_item(0)?.extract()?;
                Err(PySystemExit::new_err(128 + signum))
            },
        )?;
        for name in ["SIGTERM", "SIGHUP"] {
            let num = signal.getattr(name)?;
            let old = signal.call_method1("getsignal", (&num,))?;
            if old.eq(&default)? {
                signal.call_method1("signal", (&num, &handler))?;
                guard.saved.push((num, old));
            }
        }
        Ok(guard)
    }
}

impl Drop for StopSignals<'_> {
    fn drop(&mut self) {
        if let Ok(signal) = self.py.import("signal") {
            for (num, old) in self.saved.drain(..) {
                let _ = signal.call_method1("signal", (num, old));
            }
        }
    }
}

/// Runs `job` with the GIL released and the progress hook attached, then turns its outcome into
/// a Python result: an exception raised in the hook (KeyboardInterrupt, SystemExit from a stop
/// signal, or one from the callback) wins over the pipeline's own `Interrupted`, and gets the
/// bytes done as `bytes_attr`, the seed and the valid length(s).
///
/// The run's thread is first bound to `placement` (threads `threads`, for the record): the
/// pipeline's workers inherit the pinning, and its buffer pool is placed on the node.
#[allow(clippy::too_many_arguments)]
fn run_pipeline<T, F>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    bytes_attr: &str,
    seed: u64,
    (threads, placement): (usize, Option<Placement>),
    job: F,
) -> PyResult<T>
where
    T: Send,
    F: Send + FnOnce(&mut dyn FnMut(u64, u64) -> bool) -> Result<T, PipelineError>,
{
    let job = move |hook: &mut dyn FnMut(u64, u64) -> bool| {
        if let Some(p) = &placement {
            p.bind_thread()?;
        }
        threads::record_pipeline(threads, placement.as_ref());
        job(hook)
    };
    let signals = StopSignals::install(py)?;
    let mut hook = Progress::new(progress);
    let outcome = py.allow_threads(|| run_beside(job, &mut hook));
    drop(signals);
    let result = outcome?;
    match (result, hook.take_error()) {
        (Ok(value), None) => Ok(value),
        // The callback raised on the final call, after all data was written: still raise it.
        (Ok(_), Some(err)) => Err(err),
        (Err(e), Some(err)) => {
            set_attr(py, &err, bytes_attr, e.bytes_done);
            set_record(py, &err, seed, &e.valid_lengths);
            Err(err)
        }
        (Err(e), None) => Err(pipeline_to_pyerr(py, e, bytes_attr, seed)),
    }
}

/// Runs `job` on its own thread while this (the caller's) thread calls the progress hook (the
/// Python callback and signal checks) about every 100 ms: a slow callback is called less often
/// and never holds up the I/O; a callback that raises, or Ctrl-C, cancels the job at its next
/// check. The hook sees the final count once more at the end. When no thread can be started the
/// run fails before touching anything (as when the pipeline's own workers cannot start).
fn run_beside<T, F>(job: F, hook: &mut Progress) -> Result<Result<T, PipelineError>, PanicMessage>
where
    T: Send,
    F: Send + FnOnce(&mut dyn FnMut(u64, u64) -> bool) -> Result<T, PipelineError>,
{
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    use std::sync::mpsc::{channel, RecvTimeoutError};
    let (done, total, cancel) = (AtomicU64::new(0), AtomicU64::new(0), AtomicBool::new(false));
    // `total` stays 0 until the run reports (every run has at least one byte to do).
    let outcome = std::thread::scope(|scope| {
        let (tx, rx) = channel::<()>();
        let (done, total, cancel) = (&done, &total, &cancel);
        let spawned = std::thread::Builder::new()
            .name("dgen-run".into())
            .spawn_scoped(scope, move || {
                let r = no_panic(|| {
                    job(&mut |d, t| {
                        done.store(d, Relaxed);
                        total.store(t, Relaxed);
                        !cancel.load(Relaxed)
                    })
                });
                let _ = tx.send(());
                r
            });
        let handle = match spawned {
            Ok(h) => h,
            Err(_) => return None,
        };
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let t = total.load(Relaxed);
                    let go_on = if t == 0 {
                        hook.check_signals()
                    } else {
                        hook.tick(done.load(Relaxed), t)
                    };
                    if !go_on {
                        cancel.store(true, Relaxed);
                    }
                }
            }
        }
        let result = handle
            .join()
            .unwrap_or_else(|_| Err(PanicMessage::from("the run's thread panicked")));
        if total.load(Relaxed) > 0 {
            hook.tick(done.load(Relaxed), total.load(Relaxed));
        }
        Some(result)
    });
    outcome.unwrap_or_else(|| {
        Err(PanicMessage::from(
            "could not start a thread for the run (EAGAIN); nothing was touched",
        ))
    })
}

/// Builds and validates write options (ValueError before anything is touched).
#[allow(clippy::too_many_arguments)]
fn write_options(
    size: Option<&Bound<'_, PyAny>>,
    pool: PoolArgs,
    use_direct_io: bool,
    use_io_uring: bool,
    fsync: bool,
    params: GenParams,
) -> PyResult<WriteOptions> {
    let opts = WriteOptions {
        params,
        size: args::opt_size("size", size)?,
        buffer_size: pool.buffer_size,
        buffer_count: pool.buffer_count,
        direct_io: use_direct_io,
        io_uring: use_io_uring,
        threads: pool.threads,
        queue_depth: pool.queue_depth,
        fsync,
        map: None,
    };
    opts.validate()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(opts)
}

/// Writes `size` bytes of generated data to `path` at the storage's speed; returns WriteStats.
///
/// Generation runs on worker threads into a fixed pool of `buffer_count` aligned buffers of
/// `buffer_size` bytes while io_uring (or pwrite) writes them with O_DIRECT; the GIL is released
/// for the whole run. `size` is an int or fio-style text ("64KiB", "1.5G"); None only for a block
/// device (its whole size). `seed=None` draws a random seed (reported as `stats.seed`);
/// `stream_id=None` (or `"path"`) derives it from the file's canonical absolute path (plus the
/// host name for a block device), `"name"` from the file name only (the old rule), an int is
/// used as is. `threads=None`: `DGEN_THREADS`, `RAYON_NUM_THREADS`, else every CPU (threads.rs);
/// `numa_mode` / `numa_node` pin the run's workers and place its pool (threads.rs, `dgen::numa`);
/// `buffer_count=None` picks `2 * threads + queue_depth`.
///
/// `progress(bytes_done, total)` is called from this thread at most ~10 times a second and once
/// at the end; Ctrl-C or an exception raised by it stops the run within about 0.1 s.
///
/// Raises ValueError for bad arguments (before any file is touched), OSError subclasses with
/// `errno`, `filename`, `offset` and `bytes_written` for I/O errors (ENOSPC, EIO: plain OSError),
/// KeyboardInterrupt (with `bytes_written`) on Ctrl-C, RuntimeError for internal errors. After
/// an OSError or KeyboardInterrupt a regular file is cut back to its longest prefix written in
/// full (at most `bytes_written`).
#[pyfunction]
#[pyo3(
    signature = (path, size, buffer_size=None, buffer_count=None, use_direct_io=true, dedup_ratio=1.0,
        compress_ratio=CompressArg::ONE, use_io_uring=true, *, dedup_unit=None, seed=None,
        threads=None, queue_depth=None, fsync=true, progress=None, stream_id=None,
        compress_codec="lz", map=None, numa_mode="auto", numa_node=None, dedup_layout=None, profile=None),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(path, size, buffer_size=None, buffer_count=None, use_direct_io=True, \
        dedup_ratio=1.0, compress_ratio=1.0, use_io_uring=True, *, dedup_unit=None, \
        seed=None, threads=None, queue_depth=None, fsync=True, progress=None, \
        stream_id=None, compress_codec=\"lz\", map=None, numa_mode=\"auto\", numa_node=None, \
        dedup_layout=None, profile=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn write_file(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    size: Option<&Bound<'_, PyAny>>,
    buffer_size: Option<&Bound<'_, PyAny>>,
    buffer_count: Option<&Bound<'_, PyAny>>,
    use_direct_io: bool,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    use_io_uring: bool,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
    queue_depth: Option<&Bound<'_, PyAny>>,
    fsync: bool,
    progress: Option<Py<PyAny>>,
    stream_id: Option<&Bound<'_, PyAny>>,
    compress_codec: &str,
    map: Option<&Bound<'_, PyAny>>,
    numa_mode: &str,
    numa_node: Option<&Bound<'_, PyAny>>,
    dedup_layout: Option<&Bound<'_, crate::layout::DedupLayout>>,
    profile: Option<&str>,
) -> PyResult<WriteStats> {
    let path = args::path("path", path)?;
    let map = args::opt_path("map", map)?;
    check_callable(&progress, py)?;
    let stream_id = args::stream_id("stream_id", stream_id, &path)?;
    let params = args::gen_params(
        args::seed(seed)?,
        stream_id,
        dedup_ratio,
        compress_ratio,
        dedup_unit,
        compress_codec,
        crate::layout::of(dedup_layout),
        profile,
    )?;
    let mut pool = PoolArgs::new(
        py,
        (numa_mode, numa_node),
        buffer_size,
        buffer_count,
        threads,
        queue_depth,
    )?;
    let placement = pool.placement.take();
    let mut opts = write_options(size, pool, use_direct_io, use_io_uring, fsync, params)?;
    let seed = opts.params.seed;
    let mut full_write = None;
    if let Some(map_path) = &map {
        let size = opts
            .size
            .ok_or_else(|| PyValueError::new_err("invalid size: required with map="))?;
        let w = dgen::map::session::begin_write(map_path, &opts.params, size)
            .map_err(|e| errors::to_pyerr(py, e))?;
        opts.map = Some(w.contents.clone());
        full_write = Some(w);
    }
    let stats = run_pipeline(
        py,
        progress,
        "bytes_written",
        seed,
        (opts.resolved_threads(), placement),
        |hook| {
            let result = pipeline::write_file(&path, &opts, hook);
            if let Some(w) = full_write.take() {
                // Blocks inside the valid prefix are done; the rest stay uncertain in the map.
                let finished = w.finish_after(&result);
                if let (Ok(_), Err(e)) = (&result, finished) {
                    return Err(e.into());
                }
            }
            result
        },
    )?;
    Ok(WriteStats::new(stats, &opts.params))
}

/// Writes `size` bytes to each of `paths` at once, sharing one buffer pool; returns a list of
/// WriteStats.
///
/// Each file is its own stream (stream id from its canonical path, or `stream_ids[i]`: an int,
/// `"path"` or `"name"`); `progress`
/// sees the total over all files; one failure ends the whole run. Other arguments and errors as
/// `write_file`.
#[pyfunction]
#[pyo3(
    signature = (paths, size, buffer_size=None, buffer_count=None, use_direct_io=true, dedup_ratio=1.0,
        compress_ratio=CompressArg::ONE, use_io_uring=true, *, dedup_unit=None, seed=None,
        threads=None, queue_depth=None, fsync=true, progress=None, stream_ids=None,
        compress_codec="lz", numa_mode="auto", numa_node=None, dedup_layout=None, profile=None),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(paths, size, buffer_size=None, buffer_count=None, use_direct_io=True, \
        dedup_ratio=1.0, compress_ratio=1.0, use_io_uring=True, *, dedup_unit=None, \
        seed=None, threads=None, queue_depth=None, fsync=True, progress=None, \
        stream_ids=None, compress_codec=\"lz\", numa_mode=\"auto\", numa_node=None, \
        dedup_layout=None, profile=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn write_files(
    py: Python<'_>,
    paths: &Bound<'_, PyAny>,
    size: Option<&Bound<'_, PyAny>>,
    buffer_size: Option<&Bound<'_, PyAny>>,
    buffer_count: Option<&Bound<'_, PyAny>>,
    use_direct_io: bool,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    use_io_uring: bool,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
    queue_depth: Option<&Bound<'_, PyAny>>,
    fsync: bool,
    progress: Option<Py<PyAny>>,
    stream_ids: Option<Vec<Bound<'_, PyAny>>>,
    compress_codec: &str,
    numa_mode: &str,
    numa_node: Option<&Bound<'_, PyAny>>,
    dedup_layout: Option<&Bound<'_, crate::layout::DedupLayout>>,
    profile: Option<&str>,
) -> PyResult<Vec<WriteStats>> {
    let paths = args::paths("paths", paths)?;
    check_callable(&progress, py)?;
    let ids: Vec<u64> = match stream_ids {
        None => paths.iter().map(|p| stream_id_for_path(p)).collect(),
        Some(ids) if ids.len() == paths.len() => ids
            .iter()
            .zip(&paths)
            .map(|(id, p)| args::stream_id("stream_ids", Some(id), p))
            .collect::<PyResult<_>>()?,
        Some(ids) => {
            return Err(PyValueError::new_err(format!(
                "invalid stream_ids: {} ids for {} paths",
                ids.len(),
                paths.len()
            )))
        }
    };
    let params = args::gen_params(
        args::seed(seed)?,
        0,
        dedup_ratio,
        compress_ratio,
        dedup_unit,
        compress_codec,
        crate::layout::of(dedup_layout),
        profile,
    )?;
    let mut pool = PoolArgs::new(
        py,
        (numa_mode, numa_node),
        buffer_size,
        buffer_count,
        threads,
        queue_depth,
    )?;
    let placement = pool.placement.take();
    let opts = write_options(size, pool, use_direct_io, use_io_uring, fsync, params)?;
    let seed = opts.params.seed;
    let stats = run_pipeline(
        py,
        progress,
        "bytes_written",
        seed,
        (opts.resolved_threads(), placement),
        |hook| pipeline::write_files_with_streams(&paths, &ids, &opts, hook),
    )?;
    Ok(stats
        .into_iter()
        .map(|s| {
            let mut params = opts.params.clone();
            params.stream_id = s.stream_id;
            WriteStats::new(s, &params)
        })
        .collect())
}

/// Reads `path` back and compares every byte with the stream; returns VerifyStats.
///
/// `seed` is required: the one the file was written with (`WriteStats.seed`); the data
/// parameters must match the write's, and `stream_id=None` derives it from the file's path as
/// `write_file` does (a renamed or moved file needs the `stream_id` its write reported). `size=None` checks the whole file. A mismatch is reported, not raised:
/// `first_mismatch_offset` (None when clean) and `mismatched_blocks` (4 KiB blocks). Same pool
/// design, progress and errors as `write_file` (`bytes_checked` instead of `bytes_written`).
#[pyfunction]
#[pyo3(
    signature = (path, size=None, seed=None, dedup_ratio=1.0, compress_ratio=CompressArg::ONE, *,
        dedup_unit=None, stream_id=None, buffer_size=None, buffer_count=None, use_direct_io=true,
        use_io_uring=true, threads=None, queue_depth=None, progress=None, compress_codec="lz",
        map=None, numa_mode="auto", numa_node=None, dedup_layout=None, profile=None,
        map_trimmed="zeros"),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(path, size=None, seed=None, dedup_ratio=1.0, compress_ratio=1.0, *, \
        dedup_unit=None, stream_id=None, buffer_size=None, buffer_count=None, \
        use_direct_io=True, use_io_uring=True, threads=None, queue_depth=None, \
        progress=None, compress_codec=\"lz\", map=None, numa_mode=\"auto\", numa_node=None, \
        dedup_layout=None, profile=None, map_trimmed=\"zeros\")"
)]
#[allow(clippy::too_many_arguments)]
pub fn read_and_validate(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    size: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    stream_id: Option<&Bound<'_, PyAny>>,
    buffer_size: Option<&Bound<'_, PyAny>>,
    buffer_count: Option<&Bound<'_, PyAny>>,
    use_direct_io: bool,
    use_io_uring: bool,
    threads: Option<&Bound<'_, PyAny>>,
    queue_depth: Option<&Bound<'_, PyAny>>,
    progress: Option<Py<PyAny>>,
    compress_codec: &str,
    map: Option<&Bound<'_, PyAny>>,
    numa_mode: &str,
    numa_node: Option<&Bound<'_, PyAny>>,
    dedup_layout: Option<&Bound<'_, crate::layout::DedupLayout>>,
    profile: Option<&str>,
    map_trimmed: &str,
) -> PyResult<VerifyStats> {
    let path = args::path("path", path)?;
    let map = args::opt_path("map", map)?;
    let trim_check: dgen::map::TrimCheck = map_trimmed.parse().map_err(|reason| {
        PyValueError::new_err(format!("invalid map_trimmed={map_trimmed:?}: {reason}"))
    })?;
    check_callable(&progress, py)?;
    let seed = args::opt_count("seed", seed)?.ok_or_else(|| {
        PyValueError::new_err(
            "invalid seed: required to validate (pass the seed the file was written with, \
             e.g. WriteStats.seed)",
        )
    })?;
    let stream_id = args::stream_id("stream_id", stream_id, &path)?;
    let params = args::gen_params(
        seed,
        stream_id,
        dedup_ratio,
        compress_ratio,
        dedup_unit,
        compress_codec,
        crate::layout::of(dedup_layout),
        profile,
    )?;
    let mut pool = PoolArgs::new(
        py,
        (numa_mode, numa_node),
        buffer_size,
        buffer_count,
        threads,
        queue_depth,
    )?;
    let placement = pool.placement.take();
    let mut opts = VerifyOptions {
        params,
        size: args::opt_size("size", size)?,
        buffer_size: pool.buffer_size,
        buffer_count: pool.buffer_count,
        direct_io: use_direct_io,
        io_uring: use_io_uring,
        threads: pool.threads,
        queue_depth: pool.queue_depth,
        map: None,
    };
    opts.validate()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    if let Some(map_path) = &map {
        let opened = dgen::map::session::open_for_verify(
            map_path,
            &opts.params,
            opts.size,
            &path,
            trim_check,
        )
        .map_err(|e| errors::to_pyerr(py, e))?;
        opts.map = Some(opened.contents);
    }
    let stats = run_pipeline(
        py,
        progress,
        "bytes_checked",
        seed,
        (opts.resolved_threads(), placement),
        |hook| pipeline::verify_file(&path, &opts, hook),
    )?;
    Ok(VerifyStats::new(stats, &opts.params))
}
