//! How many threads a call runs on, and where: the one rule every entry point follows for
//! `max_threads` / `threads`, `DGEN_THREADS`, `RAYON_NUM_THREADS` and `numa_mode` / `numa_node`
//! (placement itself is `dgen::numa`).
//!
//! Count, first match wins:
//! 1. the argument (`max_threads`, or `threads` for the file functions), when >= 1;
//! 2. `DGEN_THREADS` (a positive integer; anything else is a ValueError);
//! 3. `RAYON_NUM_THREADS` (a positive integer; other values are ignored, as rayon does);
//! 4. the CPUs this process may run on (the NUMA node's, when placed).
//!
//! Never more than `DGEN_THREADS` when it is set, and, for in-memory calls, never more than the
//! CPUs available (node's CPUs when placed); an argument above either is reduced with a
//! `RuntimeWarning`. The file functions take `threads` above the CPU count as given (I/O-bound
//! runs may want it).

use crate::args;
use crate::block::Block;
use dgen::numa::{self, NumaMode, Placement};
use pyo3::exceptions::{PyRuntimeError, PyRuntimeWarning, PyValueError};
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Below this many bytes a fill runs on the calling thread; above, on several threads.
pub(crate) const PARALLEL_FROM: usize = 2 << 20;

/// Parses a thread-count environment variable: `Ok(None)` when unset.
fn env_count(name: &str, strict: bool) -> PyResult<Option<usize>> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ if !strict => Ok(None),
            _ => Err(PyValueError::new_err(format!(
                "invalid {name}: {text:?} is not a positive integer"
            ))),
        },
    }
}

/// The CPUs a call may use: the placement's, else those this process may run on.
fn cpus_for(placement: Option<&Placement>) -> usize {
    placement.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |p| p.cpus.len(),
    )
}

/// Resolves the thread count of a call (the module's rule). `arg_name`/`asked`: the argument;
/// `cap_at_cpus`: in-memory calls (true) or the file functions (false).
pub(crate) fn count(
    arg_name: &'static str,
    asked: Option<&Bound<'_, PyAny>>,
    placement: Option<&Placement>,
    cap_at_cpus: bool,
) -> PyResult<usize> {
    let cpus = cpus_for(placement);
    let dgen = env_count("DGEN_THREADS", true)?;
    let rayon = env_count("RAYON_NUM_THREADS", false)?;
    let asked_n = match asked {
        Some(v) => args::opt_count(arg_name, Some(v))?,
        None => None,
    };
    match asked_n {
        Some(n) if n > 0 => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let (mut cap, mut why) = (usize::MAX, String::new());
            if cap_at_cpus {
                cap = cpus;
                why = placement.map_or(String::new(), |p| format!(" (NUMA node {})", p.node));
            }
            if let Some(d) = dgen.filter(|&d| d < cap) {
                cap = d;
                why = " (DGEN_THREADS)".to_string();
            }
            if n > cap {
                if let Some(obj) = asked {
                    let py = obj.py();
                    let msg = format!(
                        "{arg_name}={n} is more than the {cap} CPUs available{why}: using {cap}"
                    );
                    PyErr::warn(
                        py,
                        &py.get_type::<PyRuntimeWarning>(),
                        &std::ffi::CString::new(msg).unwrap_or_default(),
                        1,
                    )?;
                }
            }
            Ok(n.min(cap))
        }
        _ => Ok(dgen.or(rayon).unwrap_or(cpus).min(cpus)),
    }
}

/// The placement asked for by `numa_mode` / `numa_node` (see `dgen::numa::plan`): `None` for
/// none; a note from `auto` becomes a `RuntimeWarning`; a `force` that cannot be honoured is a
/// ValueError naming the argument, value and reason.
pub(crate) fn placement(
    py: Python<'_>,
    numa_mode: &str,
    numa_node: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Placement>> {
    let to_value = |e: dgen::Error| PyValueError::new_err(e.to_string());
    let mode: NumaMode = numa_mode.parse().map_err(to_value)?;
    let node = match args::opt_count("numa_node", numa_node)? {
        None => None,
        Some(n) => Some(u32::try_from(n).map_err(|_| {
            PyValueError::new_err(format!("invalid numa_node: {n} is not a node number"))
        })?),
    };
    let plan = numa::plan_here(mode, node).map_err(to_value)?;
    if let Some(note) = plan.note {
        PyErr::warn(
            py,
            &py.get_type::<PyRuntimeWarning>(),
            &std::ffi::CString::new(note).unwrap_or_default(),
            1,
        )?;
    }
    Ok(plan.placement)
}

/// Where fills run: the calling thread, or a pool of threads (pinned to a NUMA node when
/// placed); and the placement of the memory a call allocates.
#[derive(Clone)]
pub(crate) struct Threads {
    pool: Option<Arc<rayon::ThreadPool>>,
    placement: Option<Placement>,
}

/// Pools kept for reuse, by thread count and placement (starting threads on every call would
/// cost more than a small fill). Bounded: a new kind of pool past the limit replaces one.
static POOLS: Mutex<Vec<(PoolKey, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
/// The process the kept pools belong to: a child made by `fork` (multiprocessing's default on
/// Linux) inherits the list but not the threads, so it must start its own.
static POOLS_PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
/// A kept pool's thread count and placement.
type PoolKey = (usize, Option<Placement>);
const POOLS_KEPT: usize = 8;

/// A pool of `n` threads, each bound to `placement` when given (a `force` placement that fails
/// on a thread is an error).
fn pool_of(n: usize, placement: Option<&Placement>) -> PyResult<Arc<rayon::ThreadPool>> {
    let key = (n, placement.cloned());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    if POOLS_PID.swap(pid, Ordering::Relaxed) != pid {
        // Forked (or first use): the pools' threads do not exist here. Forget them without
        // dropping (dropping would signal threads that are not there).
        for (_, stale) in pools.drain(..) {
            std::mem::forget(stale);
        }
    }
    if let Some((_, p)) = pools.iter().find(|(k, _)| *k == key) {
        return Ok(p.clone());
    }
    let failed: Arc<Mutex<Option<String>>> = Arc::default();
    let mut builder = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("dgen-py-fill-{i}"));
    if let Some(p) = placement.cloned() {
        let failed = failed.clone();
        builder = builder.start_handler(move |_| {
            if let Err(e) = p.bind_thread() {
                *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
            }
        });
    }
    let pool = builder
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start threads: {e}")))?;
    // Every thread has run its start handler once it has run a broadcast job.
    pool.broadcast(|_| ());
    if let Some(e) = failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(PyValueError::new_err(e));
    }
    let pool = Arc::new(pool);
    if pools.len() >= POOLS_KEPT {
        pools.remove(0);
    }
    pools.push((key, pool.clone()));
    Ok(pool)
}

impl Threads {
    /// The threads of an in-memory call: `max_threads` by the module's rule, no placement.
    pub(crate) fn new(max_threads: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Threads::placed(max_threads, "parallel", None)
    }

    /// The threads of an in-memory call with dgen-py's `method` (`"parallel"` keeps the count,
    /// `"sequential"` runs on the calling thread; same bytes either way), on `placement`'s node:
    /// pool threads pinned to its CPUs and memory allocated by the call placed there. One thread
    /// unplaced, or `"sequential"`, means the calling thread (not pinned; the memory is still
    /// placed).
    pub(crate) fn placed(
        max_threads: Option<&Bound<'_, PyAny>>,
        method: &str,
        placement: Option<Placement>,
    ) -> PyResult<Self> {
        let n = count("max_threads", max_threads, placement.as_ref(), true)?;
        let n = match method {
            "parallel" => n,
            "sequential" => 1,
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid method: {other:?} (expected 'parallel' or 'sequential')"
                )))
            }
        };
        // Placed: even one thread is a pinned pool thread (only "sequential" means the caller).
        let pinned_one = placement.is_some() && method == "parallel";
        let pool = if n > 1 || pinned_one {
            Some(pool_of(n, placement.as_ref())?)
        } else {
            None
        };
        Ok(Threads { pool, placement })
    }

    /// Runs `work` where these threads are: `work(false)` on the calling thread, or `work(true)`
    /// inside the pool (rayon parallel iterators inside `work` then use its threads). Call with
    /// the GIL released.
    pub(crate) fn run<R: Send>(&self, work: impl FnOnce(bool) -> R + Send) -> R {
        if RECORD.load(Ordering::Relaxed) {
            self.record();
        }
        match &self.pool {
            None => work(false),
            Some(pool) => pool.install(|| work(true)),
        }
    }

    /// Fills `buf` with the stream's bytes at `offset`. Call with the GIL released. Below
    /// [`PARALLEL_FROM`] bytes an unplaced fill runs on the calling thread (a hand-off to the
    /// pool would cost more than it saves); a placed one runs on the node's threads.
    pub(crate) fn fill(&self, gen: &dgen::Generator, offset: u64, buf: &mut [u8]) {
        if buf.len() < PARALLEL_FROM && self.placement.is_none() {
            return gen.fill(offset, buf);
        }
        self.run(|parallel| {
            if parallel && buf.len() >= PARALLEL_FROM {
                gen.fill_parallel(offset, buf)
            } else {
                gen.fill(offset, buf)
            }
        })
    }

    /// Whether memory allocated for this call is placed on a node.
    pub(crate) fn places_memory(&self) -> bool {
        self.placement.as_ref().is_some_and(|p| p.memory)
    }

    /// Places `block`, freshly allocated and not yet touched, on the node (when placed).
    pub(crate) fn place_memory(&self, block: &mut Block) -> PyResult<()> {
        match &self.placement {
            Some(p) if p.memory => {
                block.set_placed();
                p.bind_memory(block.as_ptr(), block.len())
                    .map_err(|e| PyValueError::new_err(e.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// Notes (for the tests) how many threads run the work and which CPUs they may use.
    fn record(&self) {
        let (threads, cpus) = match &self.pool {
            None => (1, numa::allowed_cpus().unwrap_or_default()),
            Some(pool) => {
                let sets = pool.broadcast(|_| numa::allowed_cpus().unwrap_or_default());
                let mut all: Vec<u32> = sets.into_iter().flatten().collect();
                all.sort_unstable();
                all.dedup();
                (pool.current_num_threads(), all)
            }
        };
        record_run(threads, cpus, self.placement.as_ref().map(|p| p.node));
    }
}

/// Whether runs are being recorded for the tests (`_record_runs`).
static RECORD: AtomicBool = AtomicBool::new(false);
/// The last run recorded: threads, the CPUs they may run on, the NUMA node.
static LAST: Mutex<Option<Run>> = Mutex::new(None);
/// A recorded run: threads, the CPUs they may run on, the NUMA node.
type Run = (usize, Vec<u32>, Option<u32>);

/// Records a run (when recording is on): its thread count, CPUs and node.
pub(crate) fn record_run(threads: usize, cpus: Vec<u32>, node: Option<u32>) {
    if RECORD.load(Ordering::Relaxed) {
        *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some((threads, cpus, node));
    }
}

/// Whether runs are being recorded.
pub(crate) fn recording() -> bool {
    RECORD.load(Ordering::Relaxed)
}

/// Tests: turns recording on or off and returns the last run recorded, as
/// `(threads, cpus, numa_node)`, then forgets it.
#[pyfunction]
pub(crate) fn _record_runs(on: bool) -> Option<Run> {
    RECORD.store(on, Ordering::Relaxed);
    LAST.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Tests: the NUMA memory policy of the page in the middle of `buf` (`(mode, nodes)`, mode as
/// Linux numbers it: 0 default, 1 preferred, 2 bind), after touching it.
#[pyfunction]
pub(crate) fn _memory_policy(buf: &Bound<'_, PyAny>) -> PyResult<(i32, Vec<u32>, i32)> {
    let view = crate::buffer::ReadableBuffer::get(buf)?;
    let data = view.as_slice();
    if data.is_empty() {
        return Err(PyValueError::new_err("invalid buf: empty"));
    }
    let mid = &data[data.len() / 2];
    std::hint::black_box(*mid);
    let (mode, nodes) =
        numa::policy_of(mid as *const u8).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let node = numa::node_of(mid as *const u8).map_or(-1, |n| n as i32);
    Ok((mode, nodes, node))
}

/// The pool's worker count and CPUs for a pipeline run (the calling thread is the run's thread,
/// already bound to `placement` when given; workers inherit its affinity).
pub(crate) fn record_pipeline(threads: usize, placement: Option<&Placement>) {
    if recording() {
        record_run(
            threads,
            numa::allowed_cpus().unwrap_or_default(),
            placement.map(|p| p.node),
        );
    }
}
