//! The rest of dgen-py 0.3.0's public names, on top of `dgen::Generator`: `generate_data`,
//! `fill_buffer`, `generate_into_buffer`, `BufferPool`, `create_bytearrays`,
//! `bench_rolling_pool`, and the float32 functions `generate_uniform`, `normalize_rows`,
//! `generate_uniform_vectors`. Same positional parameters and defaults as dgen-py 0.3.0; our
//! own (`seed`, `dedup_unit`, `stream_id`, `compress_codec`) are keyword-only after them.

use crate::args;
use crate::args::CompressArg;
use crate::block::Block;
use crate::buffer::WritableBuffer;
use crate::bytesview;
use crate::errors::no_panic;
use crate::generator::{fill_in_pieces, new_vec, stream_setup, zeroed_vec};
use crate::threads::{self, Threads};
use dgen::numa::Placement;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyList};
use rayon::prelude::*;
use std::sync::Arc;

/// `BufferPool`'s block: slices up to this size come from one generated block.
const POOL_BLOCK: usize = 1 << 20;
/// Bytes of float32 values produced per parallel task.
const FLOAT_TASK_BYTES: usize = 1 << 20;

/// dgen-py's `generate_data`: the first `size` bytes of a stream as a `BytesView` (the same as
/// `generate_buffer` with the same arguments).
#[pyfunction]
#[pyo3(
    signature = (size, dedup_ratio=1.0, compress_ratio=CompressArg::ONE, numa_mode="auto",
        max_threads=None, *, seed=None, dedup_unit=None, stream_id=None, compress_codec="lz",
        profile=None),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(size, dedup_ratio=1.0, compress_ratio=1.0, numa_mode=\"auto\", max_threads=None, *, \
        seed=None, dedup_unit=None, stream_id=None, compress_codec=\"lz\", profile=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn generate_data<'py>(
    py: Python<'py>,
    size: &Bound<'py, PyAny>,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    numa_mode: &str,
    max_threads: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    dedup_unit: Option<&Bound<'py, PyAny>>,
    stream_id: Option<&Bound<'py, PyAny>>,
    compress_codec: &str,
    profile: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::generator::generate_buffer(
        py,
        size,
        dedup_ratio,
        compress_ratio,
        numa_mode,
        max_threads,
        None,
        "parallel",
        seed,
        dedup_unit,
        stream_id,
        compress_codec,
        None,
        profile,
    )
}

/// A writable C-contiguous view of `buffer`; `ValueError` otherwise (dgen-py 0.3.0's type for
/// a read-only buffer in these functions).
fn writable(name: &str, buffer: &Bound<'_, PyAny>, with_format: bool) -> PyResult<WritableBuffer> {
    let got = if with_format {
        WritableBuffer::get_with_format(buffer)
    } else {
        WritableBuffer::get(buffer)
    };
    got.map_err(|e| {
        let msg = format!("invalid {name}: {}", e.value(buffer.py()));
        let err = PyValueError::new_err(msg);
        err.set_cause(buffer.py(), Some(e));
        err
    })
}

/// Fills all of `buffer` with the stream's first bytes; returns the byte count.
#[allow(clippy::too_many_arguments)]
/// The threads are pinned to `placement`'s node when given; the caller's buffer is not moved
/// (pages it has not touched yet land there on first touch by those threads).
fn fill_whole(
    buffer: &Bound<'_, PyAny>,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    threads: (Option<&Bound<'_, PyAny>>, &str, Option<Placement>),
    seed: Option<&Bound<'_, PyAny>>,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    stream_id: Option<&Bound<'_, PyAny>>,
    (compress_codec, profile): (&str, Option<&str>),
) -> PyResult<usize> {
    let (gen, threads) = stream_setup(
        dedup_ratio,
        compress_ratio,
        threads,
        seed,
        dedup_unit,
        stream_id,
        compress_codec,
        Default::default(),
        profile,
    )?;
    let mut view = writable("buffer", buffer, false)?;
    let dst = view.as_mut_slice();
    let n = dst.len();
    fill_in_pieces(buffer.py(), dst, |at, piece| threads.fill(&gen, at, piece))?;
    Ok(n)
}

/// dgen-py's `fill_buffer`: fills all of `buffer` in place with the stream's first bytes
/// (as `generate_buffer(len(buffer), ...)`); returns the byte count.
#[pyfunction]
#[pyo3(
    signature = (buffer, dedup_ratio=1.0, compress_ratio=CompressArg::ONE, numa_mode="auto",
        max_threads=None, *, seed=None, dedup_unit=None, stream_id=None, compress_codec="lz",
        profile=None),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(buffer, dedup_ratio=1.0, compress_ratio=1.0, numa_mode=\"auto\", max_threads=None, \
        *, seed=None, dedup_unit=None, stream_id=None, compress_codec=\"lz\", profile=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn fill_buffer(
    buffer: &Bound<'_, PyAny>,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    numa_mode: &str,
    max_threads: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    stream_id: Option<&Bound<'_, PyAny>>,
    compress_codec: &str,
    profile: Option<&str>,
) -> PyResult<usize> {
    let placement = threads::placement(buffer.py(), numa_mode, None)?;
    fill_whole(
        buffer,
        dedup_ratio,
        compress_ratio,
        (max_threads, "parallel", placement),
        seed,
        dedup_unit,
        stream_id,
        (compress_codec, profile),
    )
}

/// dgen-py's `generate_into_buffer`: as [`fill_buffer`], with `numa_node` and `method`.
#[pyfunction]
#[pyo3(
    signature = (buffer, dedup_ratio=1.0, compress_ratio=CompressArg::ONE, numa_mode="auto",
        max_threads=None, numa_node=None, method="parallel", *, seed=None, dedup_unit=None,
        stream_id=None, compress_codec="lz", profile=None),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(buffer, dedup_ratio=1.0, compress_ratio=1.0, numa_mode=\"auto\", max_threads=None, \
        numa_node=None, method=\"parallel\", *, seed=None, dedup_unit=None, stream_id=None, \
        compress_codec=\"lz\", profile=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn generate_into_buffer(
    buffer: &Bound<'_, PyAny>,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    numa_mode: &str,
    max_threads: Option<&Bound<'_, PyAny>>,
    numa_node: Option<&Bound<'_, PyAny>>,
    method: &str,
    seed: Option<&Bound<'_, PyAny>>,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    stream_id: Option<&Bound<'_, PyAny>>,
    compress_codec: &str,
    profile: Option<&str>,
) -> PyResult<usize> {
    let placement = threads::placement(buffer.py(), numa_mode, numa_node)?;
    fill_whole(
        buffer,
        dedup_ratio,
        compress_ratio,
        (max_threads, method, placement),
        seed,
        dedup_unit,
        stream_id,
        (compress_codec, profile),
    )
}

/// dgen-py's `create_bytearrays`: `count` zero-filled bytearrays of `size` bytes each.
#[pyfunction]
pub fn create_bytearrays<'py>(
    py: Python<'py>,
    count: &Bound<'py, PyAny>,
    size: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let count = args::to_usize("count", args::count("count", count)?)?;
    let size = args::to_usize("size", args::size("size", size)?)?;
    let list = PyList::empty(py);
    for _ in 0..count {
        list.append(PyByteArray::new_with(py, size, |_| Ok(()))?)?;
    }
    Ok(list)
}

/// Successive slices of one stream, served from 1 MiB blocks (the Rust half of `BufferPool`).
struct PoolState {
    gen: dgen::Generator,
    /// Offset of the next byte handed out.
    pos: u64,
    /// The current block and its offset in the stream.
    block: Arc<Block>,
    block_start: u64,
    /// The NUMA node blocks are placed on.
    placement: Option<Placement>,
}

/// Where the next slice of `size` bytes comes from.
enum Slice {
    /// A view of the current block at this start index.
    InBlock(usize),
    /// A new buffer (the caller fills it at `pos`).
    Fresh,
}

impl PoolState {
    /// A pool at offset 0 with its first block generated (on `placement`'s node: a failure to
    /// place it there is an error under `numa_mode='force'`). Call with the GIL released.
    fn new(gen: dgen::Generator, placement: Option<Placement>) -> PyResult<Self> {
        let mut state = PoolState {
            gen,
            pos: 0,
            block: Arc::new(Block::zeroed(0)?),
            block_start: 0,
            placement,
        };
        state.refill()?;
        Ok(state)
    }

    /// Generates a new block starting at `pos`, on the pool's node when placed (a failure to
    /// place it is an error under `force`). Call with the GIL released.
    fn refill(&mut self) -> PyResult<()> {
        let mut block = Block::zeroed(POOL_BLOCK)?;
        if let Some(p) = self.placement.as_ref().filter(|p| p.memory) {
            block.set_placed();
            p.bind_memory(block.as_ptr(), block.len())
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
        self.gen.fill(self.pos, &mut block);
        self.block = Arc::new(block);
        self.block_start = self.pos;
        Ok(())
    }

    /// Bytes of the current block not handed out yet.
    fn remaining(&self) -> u64 {
        (self.block_start + self.block.len() as u64).saturating_sub(self.pos)
    }

    /// Takes the next `size` bytes (refilling the block when a slice up to a block does not fit
    /// the rest of it): returns where they are and their offset. Call with the GIL released.
    fn take(&mut self, size: usize) -> PyResult<(Slice, u64)> {
        let at = self.pos;
        let slice = if (size as u64) <= self.remaining() {
            Slice::InBlock((at - self.block_start) as usize)
        } else if size <= POOL_BLOCK {
            self.refill()?;
            Slice::InBlock(0)
        } else {
            Slice::Fresh
        };
        self.pos += size as u64;
        Ok((slice, at))
    }
}

/// dgen-py's `BufferPool`: `next_slice(size)` hands out successive slices of one stream as
/// zero-copy `BytesView`s, so the ratios hold in aggregate across the slices as they do in a
/// file (slices up to 1 MiB share generated 1 MiB blocks; larger ones are generated directly).
/// `numa_mode` / `numa_node` (ours, keyword-only) place the blocks and fill threads on a node.
#[pyclass(module = "dgen_py", name = "BufferPool")]
pub struct BufferPool {
    state: PoolState,
    threads: Threads,
}

#[pymethods]
impl BufferPool {
    #[new]
    #[pyo3(
        signature = (dedup_ratio=1.0, compress_ratio=CompressArg::ONE, *, seed=None, dedup_unit=None,
            stream_id=None, compress_codec="lz", max_threads=None, numa_mode="auto", numa_node=None,
            dedup_layout=None, profile=None),
        // As pyo3 would write it, but with the default compress_ratio (a str or a float).
        text_signature = "(dedup_ratio=1.0, compress_ratio=1.0, *, seed=None, dedup_unit=None, \
            stream_id=None, compress_codec=\"lz\", max_threads=None, numa_mode=\"auto\", \
            numa_node=None, dedup_layout=None, profile=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        dedup_ratio: f64,
        compress_ratio: CompressArg,
        seed: Option<&Bound<'_, PyAny>>,
        dedup_unit: Option<&Bound<'_, PyAny>>,
        stream_id: Option<&Bound<'_, PyAny>>,
        compress_codec: &str,
        max_threads: Option<&Bound<'_, PyAny>>,
        numa_mode: &str,
        numa_node: Option<&Bound<'_, PyAny>>,
        dedup_layout: Option<&Bound<'_, crate::layout::DedupLayout>>,
        profile: Option<&str>,
    ) -> PyResult<Self> {
        let placement = threads::placement(py, numa_mode, numa_node)?;
        let (gen, threads) = stream_setup(
            dedup_ratio,
            compress_ratio,
            (max_threads, "parallel", placement.clone()),
            seed,
            dedup_unit,
            stream_id,
            compress_codec,
            crate::layout::of(dedup_layout),
            profile,
        )?;
        let state = py.allow_threads(|| no_panic(|| PoolState::new(gen, placement)))??;
        Ok(BufferPool { state, threads })
    }

    /// The next `size` bytes of the stream as a read-only, zero-copy `BytesView` (it keeps its
    /// block alive after the pool moves on). `size` must be > 0.
    fn next_slice<'py>(
        &mut self,
        py: Python<'py>,
        size: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let size = args::to_usize("size", args::size("size", size)?)?;
        if size == 0 {
            return Err(PyValueError::new_err("invalid size: 0 (must be > 0)"));
        }
        let state = &mut self.state;
        let (slice, at) = py.allow_threads(|| no_panic(|| state.take(size)))??;
        match slice {
            Slice::InBlock(start) => bytesview::new_view(py, self.state.block.clone(), start, size),
            Slice::Fresh => {
                let (gen, threads) = (&self.state.gen, &self.threads);
                let bytes = new_vec(py, size, threads, |off, buf| {
                    threads.fill(gen, at + off, buf)
                })?;
                bytesview::from_block(py, bytes)
            }
        }
    }

    /// Checks `buf` against this pool's stream at `offset` (the `position` before the slice was
    /// taken): `verify_buffer` with the pool's seed, stream id and current ratios (a slice
    /// taken before `reconfigure` needs `verify_buffer` with the old ratios).
    #[pyo3(signature = (buf, offset))]
    fn verify(
        &self,
        buf: &Bound<'_, PyAny>,
        offset: &Bound<'_, PyAny>,
    ) -> PyResult<crate::verify::BufferCheck> {
        let offset = args::size("offset", offset)?;
        crate::verify::verify_with(buf, offset, &self.state.gen, &self.threads)
    }

    /// Changes the ratios; the stream goes on from the same offset with a new block.
    #[pyo3(
        signature = (dedup_ratio=1.0, compress_ratio=CompressArg::ONE),
        // As pyo3 would write it, but with the default compress_ratio (a str or a float).
        text_signature = "($self, dedup_ratio=1.0, compress_ratio=1.0)"
    )]
    fn reconfigure(
        &mut self,
        py: Python<'_>,
        dedup_ratio: f64,
        compress_ratio: CompressArg,
    ) -> PyResult<()> {
        let mut params = self.state.gen.params().clone();
        if params.compress_profile.is_some() {
            return Err(PyValueError::new_err(
                "reconfigure: this pool was made with profile=..., whose ratios come from the \
                 profile; make a new BufferPool for other ratios",
            ));
        }
        params.dedup_ratio = dedup_ratio;
        params.set_compress(compress_ratio.0);
        params
            .validate()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let gen = dgen::Generator::new(params).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let state = &mut self.state;
        py.allow_threads(|| {
            no_panic(|| {
                state.gen = gen;
                state.refill()
            })
        })?
    }

    /// Bytes left in the current block before the next refill (0 to 1 MiB).
    #[getter]
    fn remaining(&self) -> u64 {
        self.state.remaining()
    }

    #[getter]
    fn dedup_ratio(&self) -> f64 {
        self.state.gen.params().dedup_ratio
    }

    #[getter]
    fn compress_ratio(&self) -> f64 {
        self.state.gen.params().compress_ratio
    }

    /// The seed (drawn at random when none was given).
    #[getter]
    fn seed(&self) -> u64 {
        self.state.gen.params().seed
    }

    /// Bytes handed out so far (the stream offset of the next slice).
    #[getter]
    fn position(&self) -> u64 {
        self.state.pos
    }

    fn __repr__(&self) -> String {
        let p = self.state.gen.params();
        format!(
            "BufferPool(dedup_ratio={}, compress_ratio={}, seed={}, position={}, remaining={})",
            p.dedup_ratio,
            args::compress_repr(p),
            p.seed,
            self.state.pos,
            self.state.remaining()
        )
    }
}

/// dgen-py's `bench_rolling_pool`: times `max(total_bytes // obj_size, 1)` pool slices of
/// `obj_size` bytes in Rust (after one warm-up slice, not timed); returns
/// `(bytes_generated, elapsed_seconds)`.
#[pyfunction]
pub fn bench_rolling_pool(
    py: Python<'_>,
    obj_size: &Bound<'_, PyAny>,
    total_bytes: &Bound<'_, PyAny>,
) -> PyResult<(u64, f64)> {
    let obj_size = args::to_usize("obj_size", args::size("obj_size", obj_size)?)?;
    let total = args::size("total_bytes", total_bytes)?;
    if obj_size == 0 {
        return Err(PyValueError::new_err("invalid obj_size: 0 (must be > 0)"));
    }
    let calls = (total / obj_size as u64).max(1);
    let (gen, threads) = stream_setup(
        1.0,
        CompressArg::ONE,
        (None, "parallel", None),
        None,
        None,
        None,
        "lz",
        Default::default(),
        None,
    )?;
    // Slices over a block are generated into this one buffer (allocated once, not timed).
    let mut big = zeroed_vec(if obj_size > POOL_BLOCK { obj_size } else { 0 })?;
    py.allow_threads(|| {
        no_panic(|| {
            let mut state = PoolState::new(gen, None)?;
            let mut take = |state: &mut PoolState| -> PyResult<usize> {
                Ok(match state.take(obj_size)? {
                    (Slice::InBlock(start), _) => state.block[start..start + obj_size].len(),
                    (Slice::Fresh, at) => {
                        threads.fill(&state.gen, at, &mut big);
                        std::hint::black_box(&big);
                        big.len()
                    }
                })
            };
            take(&mut state)?;
            let started = std::time::Instant::now();
            let mut generated = 0u64;
            for _ in 0..calls {
                generated += take(&mut state)? as u64;
            }
            Ok((generated, started.elapsed().as_secs_f64()))
        })
    })?
}

/// Checks a float range: finite, `low < high` once rounded to float32.
fn float_range(low: f64, high: f64) -> PyResult<(f32, f32)> {
    let (l, h) = (low as f32, high as f32);
    if !l.is_finite() || !h.is_finite() {
        return Err(PyValueError::new_err(format!(
            "invalid low/high: [{low}, {high}) is not a finite float32 range"
        )));
    }
    if l >= h {
        return Err(PyValueError::new_err(format!(
            "invalid low/high: low={low} is not below high={high}"
        )));
    }
    Ok((l, h))
}

/// Turns the random bytes in `buf` (whole float32s) into uniform values in `[low, high)`:
/// the top 24 bits of each little-endian u32 give `x` in `[0, 1)` on a 2^-24 grid, the value
/// is `low + (high - low) * x` (in f64, then rounded; kept below `high`).
fn bytes_to_uniform(buf: &mut [u8], low: f32, high: f32) {
    let span = high as f64 - low as f64;
    let below_high = f32::from_bits(if high > 0.0 {
        high.to_bits() - 1
    } else if high == 0.0 {
        // The negative float nearest zero.
        0x8000_0001
    } else {
        high.to_bits() + 1
    });
    for word in buf.chunks_exact_mut(4) {
        let bits = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        let x = (bits >> 8) as f64 / (1u32 << 24) as f64;
        let mut v = (low as f64 + span * x) as f32;
        if v >= high {
            v = below_high;
        }
        if v < low {
            v = low;
        }
        word.copy_from_slice(&v.to_ne_bytes());
    }
}

/// L2-normalises each row of `row_bytes` bytes (native-endian float32) in place; a zero row
/// (or one whose norm is not finite) is left as it is.
fn normalize_row(row: &mut [u8]) {
    let sum: f64 = row
        .chunks_exact(4)
        .map(|w| {
            let v = f32::from_ne_bytes([w[0], w[1], w[2], w[3]]) as f64;
            v * v
        })
        .sum();
    if sum == 0.0 || !sum.is_finite() {
        return;
    }
    let inv = 1.0 / sum.sqrt();
    for w in row.chunks_exact_mut(4) {
        let v = f32::from_ne_bytes([w[0], w[1], w[2], w[3]]) as f64;
        w.copy_from_slice(&((v * inv) as f32).to_ne_bytes());
    }
}

/// Normalises every row of `buf` (rows of `row_bytes`) on `threads`. Call with the GIL released.
fn normalize_all(threads: &Threads, buf: &mut [u8], row_bytes: usize) {
    threads.run(|parallel| {
        if parallel && buf.len() >= FLOAT_TASK_BYTES {
            let min_rows = (FLOAT_TASK_BYTES / row_bytes).max(1);
            buf.par_chunks_mut(row_bytes)
                .with_min_len(min_rows)
                .for_each(normalize_row);
        } else {
            buf.chunks_mut(row_bytes).for_each(normalize_row);
        }
    })
}

/// `count` float32 values (as bytes) uniform in `[low, high)` from the stream of `seed`.
fn uniform_vec(
    py: Python<'_>,
    count: u64,
    low: f64,
    high: f64,
    threads: &Threads,
    seed: Option<&Bound<'_, PyAny>>,
) -> PyResult<Block> {
    let (low, high) = float_range(low, high)?;
    let len = count
        .checked_mul(4)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| PyValueError::new_err(format!("invalid count: {count} is too large")))?;
    let params = args::gen_params(
        args::seed(seed)?,
        0,
        1.0,
        args::CompressArg::ONE,
        None,
        "lz",
        Default::default(),
        None,
    )?;
    let gen = dgen::Generator::new(params).map_err(|e| PyValueError::new_err(e.to_string()))?;
    new_vec(py, len, threads, |at, piece| {
        threads.run(|parallel| {
            let one = |(i, task): (usize, &mut [u8])| {
                gen.fill(at + (i * FLOAT_TASK_BYTES) as u64, task);
                bytes_to_uniform(task, low, high);
            };
            if parallel && piece.len() > FLOAT_TASK_BYTES {
                piece
                    .par_chunks_mut(FLOAT_TASK_BYTES)
                    .enumerate()
                    .for_each(one);
            } else {
                piece.chunks_mut(FLOAT_TASK_BYTES).enumerate().for_each(one);
            }
        })
    })
}

/// dgen-py's `generate_uniform`: `count` float32 values (an element count, not bytes) uniform
/// in `[low, high)`, as a `BytesView` (`numpy.frombuffer(v, dtype=numpy.float32)`). The same
/// seed gives the same values whatever the thread count.
#[pyfunction]
#[pyo3(signature = (count, low=0.0, high=1.0, max_threads=None, numa_mode="auto", seed=None))]
pub fn generate_uniform<'py>(
    py: Python<'py>,
    count: &Bound<'py, PyAny>,
    low: f64,
    high: f64,
    max_threads: Option<&Bound<'py, PyAny>>,
    numa_mode: &str,
    seed: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let placement = threads::placement(py, numa_mode, None)?;
    let count = args::count("count", count)?;
    let threads = Threads::placed(max_threads, "parallel", placement)?;
    let bytes = uniform_vec(py, count, low, high, &threads, seed)?;
    bytesview::from_block(py, bytes)
}

/// The accepted element formats of `normalize_rows`: float32 or plain bytes.
fn float32_or_bytes(format: Option<&str>) -> bool {
    let native_f = |f: &str| f == "f" || f == "=f" || f == "@f";
    match format {
        None => true,
        Some(f) if native_f(f) => true,
        Some("<f") => cfg!(target_endian = "little"),
        Some(">f") | Some("!f") => cfg!(target_endian = "big"),
        Some(f) => matches!(f, "B" | "b" | "c" | "@B" | "=B" | "<B" | ">B" | "!B"),
    }
}

/// The row width in bytes for `dim` float32s.
fn row_bytes(dim: &Bound<'_, PyAny>) -> PyResult<usize> {
    let dim = args::to_usize("dim", args::count("dim", dim)?)?;
    if dim == 0 {
        return Err(PyValueError::new_err("invalid dim: 0 (must be > 0)"));
    }
    dim.checked_mul(4)
        .ok_or_else(|| PyValueError::new_err(format!("invalid dim: {dim} is too large")))
}

/// dgen-py's `normalize_rows`: L2-normalises, in place, each row of `dim` float32 values in
/// `buffer` (writable and C-contiguous: float32 array or raw bytes; other element types are
/// a `ValueError`). A zero row stays zero.
#[pyfunction]
#[pyo3(signature = (buffer, dim, max_threads=None))]
pub fn normalize_rows(
    buffer: &Bound<'_, PyAny>,
    dim: &Bound<'_, PyAny>,
    max_threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let row = row_bytes(dim)?;
    let threads = Threads::new(max_threads)?;
    let mut view = writable("buffer", buffer, true)?;
    let format = view.format();
    if !float32_or_bytes(format.as_deref()) {
        return Err(PyValueError::new_err(format!(
            "invalid buffer: element format {:?} is not float32 or bytes",
            format.unwrap_or_default()
        )));
    }
    let buf = view.as_mut_slice();
    if buf.len() % row != 0 {
        return Err(PyValueError::new_err(format!(
            "invalid buffer: {} bytes is not a multiple of dim * 4 = {row}",
            buf.len()
        )));
    }
    buffer
        .py()
        .allow_threads(|| no_panic(|| normalize_all(&threads, buf, row)))?;
    Ok(())
}

/// dgen-py's `generate_uniform_vectors`: `rows` x `dim` float32 values uniform in
/// `[low, high)` (the same values as `generate_uniform(rows * dim, ...)` with the same seed),
/// each row then L2-normalised unless `normalize=False`; a `BytesView`.
#[pyfunction]
#[pyo3(signature = (
    rows, dim, low=0.0, high=1.0, normalize=true, max_threads=None, numa_mode="auto",
    seed=None))]
#[allow(clippy::too_many_arguments)]
pub fn generate_uniform_vectors<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    dim: &Bound<'py, PyAny>,
    low: f64,
    high: f64,
    normalize: bool,
    max_threads: Option<&Bound<'py, PyAny>>,
    numa_mode: &str,
    seed: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let placement = threads::placement(py, numa_mode, None)?;
    let rows = args::count("rows", rows)?;
    let row = row_bytes(dim)?;
    let count = rows
        .checked_mul((row / 4) as u64)
        .ok_or_else(|| PyValueError::new_err(format!("invalid rows: {rows} is too large")))?;
    let threads = Threads::placed(max_threads, "parallel", placement)?;
    let mut bytes = uniform_vec(py, count, low, high, &threads, seed)?;
    if normalize {
        let buf = &mut bytes[..];
        py.allow_threads(|| no_panic(|| normalize_all(&threads, buf, row)))?;
    }
    bytesview::from_block(py, bytes)
}
