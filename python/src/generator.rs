//! `Generator` (streaming, `fill_chunk` into caller buffers) and `generate_buffer` (one shot):
//! thin wrappers over `dgen::Generator::fill` / `fill_parallel`, with the GIL released.
//! Threads and NUMA placement follow `threads.rs`.

use crate::args;
use crate::args::CompressArg;
use crate::block::Block;
use crate::buffer::WritableBuffer;
use crate::bytesview;
use crate::errors::no_panic;
use crate::threads::{self, Threads};
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;

/// `chunk_size` when none is given (dgen-py 0.3.0's default, 32 MiB).
const DEFAULT_CHUNK: u64 = 32 << 20;

/// A stream of `size` bytes produced chunk by chunk into your own buffers (dgen-py's shapes).
/// Chunks are the stream's bytes at the current position: concatenated, they equal
/// `generate_buffer(size, ...)` and `write_file(...)` output for the same seed and stream id.
/// `seed=None` draws one (see `.seed`). `max_threads`: the rule of `threads.rs` (None or 0: the
/// environment, else every CPU), 1 = one thread.
/// `numa_mode` / `numa_node`: the fill threads are pinned to the node's CPUs and `get_chunk`'s
/// buffers placed on it (see `threads.rs`); `block_size` is accepted and has no effect.
#[pyclass(module = "dgen_py", name = "Generator")]
pub struct PyGenerator {
    gen: dgen::Generator,
    size: u64,
    /// Bytes produced so far (counts towards `size`).
    position: u64,
    /// `position` at the last `set_seed`: the data offset in the stream is `position - base`
    /// (dgen-py 0.3.0: a new seed starts its stream from the beginning, the count goes on).
    base: u64,
    chunk_size: u64,
    threads: Threads,
}

impl PyGenerator {
    /// Reserves the next `want` bytes (fewer at the end): returns their offset in the stream
    /// and their length.
    fn reserve(&mut self, want: u64) -> (u64, u64) {
        let offset = self.position - self.base;
        let n = want.min(self.size - self.position);
        self.position += n;
        (offset, n)
    }
}

#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(
        signature = (size, dedup_ratio=1.0, compress_ratio=CompressArg::ONE, numa_mode="auto",
            max_threads=None, numa_node=None, chunk_size=None, block_size=None, seed=None,
            method="parallel", *, dedup_unit=None, stream_id=None, compress_codec="lz",
            dedup_layout=None, profile=None),
        // As pyo3 would write it, but with the default compress_ratio (a str or a float).
        text_signature = "(size, dedup_ratio=1.0, compress_ratio=1.0, numa_mode=\"auto\", \
            max_threads=None, numa_node=None, chunk_size=None, block_size=None, seed=None, \
            method=\"parallel\", *, dedup_unit=None, stream_id=None, compress_codec=\"lz\", \
            dedup_layout=None, profile=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        size: &Bound<'_, PyAny>,
        dedup_ratio: f64,
        compress_ratio: CompressArg,
        numa_mode: &str,
        max_threads: Option<&Bound<'_, PyAny>>,
        numa_node: Option<&Bound<'_, PyAny>>,
        chunk_size: Option<&Bound<'_, PyAny>>,
        block_size: Option<&Bound<'_, PyAny>>,
        seed: Option<&Bound<'_, PyAny>>,
        method: &str,
        dedup_unit: Option<&Bound<'_, PyAny>>,
        stream_id: Option<&Bound<'_, PyAny>>,
        compress_codec: &str,
        dedup_layout: Option<&Bound<'_, crate::layout::DedupLayout>>,
        profile: Option<&str>,
    ) -> PyResult<Self> {
        let placement = threads::placement(size.py(), numa_mode, numa_node)?;
        args::opt_size("block_size", block_size)?;
        let chunk_size = args::opt_size("chunk_size", chunk_size)?.unwrap_or(DEFAULT_CHUNK);
        if chunk_size == 0 {
            return Err(PyValueError::new_err("invalid chunk_size: 0"));
        }
        let params = args::gen_params(
            args::seed(seed)?,
            args::opt_count("stream_id", stream_id)?.unwrap_or(0),
            dedup_ratio,
            compress_ratio,
            dedup_unit,
            compress_codec,
            crate::layout::of(dedup_layout),
            profile,
        )?;
        let gen = dgen::Generator::new(params).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyGenerator {
            gen,
            size: args::size("size", size)?,
            position: 0,
            base: 0,
            chunk_size,
            threads: Threads::placed(max_threads, method, placement)?,
        })
    }

    /// Fills `buffer` in place with the next bytes of the stream; returns how many (fewer near
    /// the end, 0 once complete). Any writable C-contiguous buffer: bytearray, memoryview, mmap,
    /// numpy array of any dtype (TypeError otherwise). The GIL is released while filling.
    fn fill_chunk(slf: &Bound<'_, Self>, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mut view = WritableBuffer::get(buffer)?;
        let (gen, threads, offset, n) = {
            let mut me = slf.borrow_mut();
            let (offset, n) = me.reserve(view.len() as u64);
            (me.gen.clone(), me.threads.clone(), offset, n as usize)
        };
        if n == 0 {
            return Ok(0);
        }
        let dst = &mut view.as_mut_slice()[..n];
        slf.py()
            .allow_threads(|| no_panic(|| threads.fill(&gen, offset, dst)))?;
        Ok(n)
    }

    /// Returns the next `chunk_size` bytes (default: the generator's chunk_size) as a
    /// `BytesView`, or None at the end.
    #[pyo3(signature = (chunk_size=None))]
    fn get_chunk<'py>(
        slf: &Bound<'py, Self>,
        chunk_size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let want = match args::opt_size("chunk_size", chunk_size)? {
            Some(n) => n,
            None => slf.borrow().chunk_size,
        };
        let (gen, threads, offset, n) = {
            let mut me = slf.borrow_mut();
            let (offset, n) = me.reserve(want);
            (me.gen.clone(), me.threads.clone(), offset, n)
        };
        if n == 0 {
            return Ok(None);
        }
        let py = slf.py();
        let bytes = new_vec(py, args::to_usize("chunk_size", n)?, &threads, |at, buf| {
            threads.fill(&gen, offset + at, buf)
        })?;
        Ok(Some(bytesview::from_block(py, bytes)?))
    }

    /// Checks `buf` against the bytes this generator produced at `position` (the value
    /// `position()` had before the chunk was produced), with the current seed: `verify_buffer`
    /// with this generator's parameters. A chunk produced before the last `set_seed` cannot be
    /// checked here (ValueError; use `verify_buffer` with its seed).
    #[pyo3(signature = (buf, position))]
    fn verify(
        &self,
        buf: &Bound<'_, PyAny>,
        position: &Bound<'_, PyAny>,
    ) -> PyResult<crate::verify::BufferCheck> {
        let position = args::size("position", position)?;
        let Some(offset) = position.checked_sub(self.base) else {
            return Err(PyValueError::new_err(format!(
                "invalid position: {position} is before the last set_seed (at position {}): \
                 those bytes came from another seed",
                self.base
            )));
        };
        crate::verify::verify_with(buf, offset, &self.gen, &self.threads)
    }

    /// Goes back to the start of the stream (same seed, same bytes).
    fn reset(&mut self) {
        self.position = 0;
        self.base = 0;
    }

    /// Bytes produced so far (the offset of the next byte).
    fn position(&self) -> u64 {
        self.position
    }

    /// The stream's length in bytes.
    fn total_size(&self) -> u64 {
        self.size
    }

    /// True once all `size` bytes were produced.
    fn is_complete(&self) -> bool {
        self.position >= self.size
    }

    /// Changes the seed (None: a random one). As in dgen-py 0.3.0, `position()` keeps counting
    /// towards `size`, and the next bytes are the new seed's stream from its beginning:
    /// `set_seed(s)` twice gives the same bytes after each call.
    #[pyo3(signature = (seed=None))]
    fn set_seed(&mut self, seed: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let mut params = self.gen.params().clone();
        params.seed = args::seed(seed)?;
        self.gen =
            dgen::Generator::new(params).map_err(|e| PyValueError::new_err(e.to_string()))?;
        self.base = self.position;
        Ok(())
    }

    /// The seed (drawn at random when none was given: keep it to reproduce the data).
    #[getter]
    fn seed(&self) -> u64 {
        self.gen.params().seed
    }

    #[getter]
    fn stream_id(&self) -> u64 {
        self.gen.params().stream_id
    }

    #[getter]
    fn dedup_ratio(&self) -> f64 {
        self.gen.params().dedup_ratio
    }

    #[getter]
    fn compress_ratio(&self) -> f64 {
        self.gen.params().compress_ratio
    }

    #[getter]
    fn dedup_unit(&self) -> u64 {
        self.gen.params().dedup_unit
    }

    /// Default length of `get_chunk()`.
    #[getter]
    fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    fn __repr__(&self) -> String {
        let p = self.gen.params();
        format!(
            "Generator(size={}, dedup_ratio={}, compress_ratio={}, seed={}, dedup_unit={}, \
             stream_id={}, position={})",
            self.size,
            p.dedup_ratio,
            args::compress_repr(p),
            p.seed,
            p.dedup_unit,
            p.stream_id,
            self.position
        )
    }
}

/// A new buffer of `len` bytes (on `threads`' NUMA node when placed) filled by `fill` with the
/// GIL released.
pub(crate) fn new_vec(
    py: Python<'_>,
    len: usize,
    threads: &Threads,
    fill: impl Fn(u64, &mut [u8]) + Send + Sync,
) -> PyResult<Block> {
    // Every byte is filled below: a cached block (pages resident) serves when unplaced.
    let mut buf = if threads.places_memory() {
        Block::zeroed(len)?
    } else {
        Block::for_overwrite(len)?
    };
    threads.place_memory(&mut buf)?;
    fill_in_pieces(py, &mut buf, fill)?;
    Ok(buf)
}

/// `len` zero bytes, or `MemoryError` when they cannot be had (never the process abort of a
/// failed `vec!`). Zeroed allocation: large ones come straight from the kernel, with no pass.
pub(crate) fn zeroed_vec(len: usize) -> PyResult<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let too_big = || PyMemoryError::new_err(format!("cannot allocate {len} bytes"));
    let layout = std::alloc::Layout::array::<u8>(len).map_err(|_| too_big())?;
    // SAFETY: `layout` has a non-zero size (len > 0).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(too_big());
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of `[u8; len]` (what a Vec of
    // capacity `len` uses), and all `len` bytes are initialised (zero).
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// Fills `buf` by `fill(offset, piece)` in pieces, with the GIL released for each and
/// Python's signal handlers run between them: Ctrl-C stops a large call within milliseconds.
pub(crate) fn fill_in_pieces(
    py: Python<'_>,
    buf: &mut [u8],
    fill: impl Fn(u64, &mut [u8]) + Send + Sync,
) -> PyResult<()> {
    for (i, piece) in buf.chunks_mut(SIGNAL_CHECK_BYTES).enumerate() {
        let offset = (i * SIGNAL_CHECK_BYTES) as u64;
        py.allow_threads(|| no_panic(|| fill(offset, piece)))?;
        py.check_signals()?;
    }
    Ok(())
}

/// Bytes filled between two checks for signals (a few milliseconds of generation).
pub(crate) const SIGNAL_CHECK_BYTES: usize = 64 << 20;

/// Returns the first `size` bytes of the stream as a `BytesView` (filled with the GIL released).
///
/// Same bytes as `Generator(...).fill_chunk` and `write_file` for the same seed and stream id.
/// `max_threads`: the rule of `threads.rs` (None or 0: `DGEN_THREADS`, `RAYON_NUM_THREADS`, else
/// every CPU), 1 = this thread; `method`:
/// `"parallel"` or `"sequential"` (this thread only); `numa_mode` and `numa_node` place the
/// buffer and the fill threads on a NUMA node (see `threads.rs`).
#[pyfunction]
#[pyo3(
    signature = (size, dedup_ratio=1.0, compress_ratio=CompressArg::ONE, numa_mode="auto",
        max_threads=None, numa_node=None, method="parallel", *, seed=None, dedup_unit=None,
        stream_id=None, compress_codec="lz", dedup_layout=None, profile=None),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(size, dedup_ratio=1.0, compress_ratio=1.0, numa_mode=\"auto\", max_threads=None, \
        numa_node=None, method=\"parallel\", *, seed=None, dedup_unit=None, stream_id=None, \
        compress_codec=\"lz\", dedup_layout=None, profile=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn generate_buffer<'py>(
    py: Python<'py>,
    size: &Bound<'py, PyAny>,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    numa_mode: &str,
    max_threads: Option<&Bound<'py, PyAny>>,
    numa_node: Option<&Bound<'py, PyAny>>,
    method: &str,
    seed: Option<&Bound<'py, PyAny>>,
    dedup_unit: Option<&Bound<'py, PyAny>>,
    stream_id: Option<&Bound<'py, PyAny>>,
    compress_codec: &str,
    dedup_layout: Option<&Bound<'py, crate::layout::DedupLayout>>,
    profile: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let placement = threads::placement(py, numa_mode, numa_node)?;
    let len = args::to_usize("size", args::size("size", size)?)?;
    let (gen, threads) = stream_setup(
        dedup_ratio,
        compress_ratio,
        (max_threads, method, placement),
        seed,
        dedup_unit,
        stream_id,
        compress_codec,
        crate::layout::of(dedup_layout),
        profile,
    )?;
    let bytes = new_vec(py, len, &threads, |at, buf| threads.fill(&gen, at, buf))?;
    bytesview::from_block(py, bytes)
}

/// The generator and threads of a one-shot call (`generate_buffer` and its dgen-py siblings).
#[allow(clippy::too_many_arguments)]
pub(crate) fn stream_setup(
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    (max_threads, method, placement): (
        Option<&Bound<'_, PyAny>>,
        &str,
        Option<dgen::numa::Placement>,
    ),
    seed: Option<&Bound<'_, PyAny>>,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    stream_id: Option<&Bound<'_, PyAny>>,
    compress_codec: &str,
    layout: crate::layout::DedupLayout,
    profile: Option<&str>,
) -> PyResult<(dgen::Generator, Threads)> {
    let params = args::gen_params(
        args::seed(seed)?,
        args::opt_count("stream_id", stream_id)?.unwrap_or(0),
        dedup_ratio,
        compress_ratio,
        dedup_unit,
        compress_codec,
        layout,
        profile,
    )?;
    let gen = dgen::Generator::new(params).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((gen, Threads::placed(max_threads, method, placement)?))
}
