//! `verify_buffer` (and `BufferPool.verify` / `Generator.verify`): compare bytes held in memory
//! (an object read back from storage) with the stream at their offset, with the core's
//! `pipeline::check` (what `read_and_validate` runs on each buffer) and `diagnose` (what the
//! first wrong 4 KiB unit holds). The result is reported, not raised, as by `read_and_validate`.

use crate::args;
use crate::buffer::ReadableBuffer;
use crate::errors::no_panic;
use crate::generator::SIGNAL_CHECK_BYTES;
use crate::threads::{Threads, PARALLEL_FROM};
use dgen::diagnose::{diagnose, Finding};
use dgen::pipeline::{check, check_parallel, Check};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// What `verify_buffer` reports.
#[pyclass(frozen, module = "dgen_py", name = "BufferCheck")]
pub struct BufferCheck {
    /// Stream offset of the buffer's first byte.
    #[pyo3(get)]
    offset: u64,
    /// Bytes compared (the buffer's length).
    #[pyo3(get)]
    bytes_checked: u64,
    /// 4 KiB blocks (aligned in the stream) holding at least one wrong byte.
    #[pyo3(get)]
    mismatched_blocks: u64,
    /// Stream offset of the first wrong byte, or None when every byte matched.
    #[pyo3(get)]
    first_mismatch_offset: Option<u64>,
    /// Stream offset of the 4 KiB unit diagnosed (the one holding the first wrong byte).
    #[pyo3(get)]
    finding_offset: Option<u64>,
    /// What that unit holds, in words (None when clean, or when the buffer does not hold the
    /// unit's first bytes, where its in-band header is).
    #[pyo3(get)]
    finding: Option<String>,
    /// The same as a keyword: `unrecognised` (zeros or foreign data), `other_stream`,
    /// `other_run`, `corrupted`, `misdirected`, ... (see `dgen::diagnose::Finding`).
    #[pyo3(get)]
    finding_kind: Option<String>,
    /// For `unrecognised`: whether every byte of the unit is zero.
    #[pyo3(get)]
    zeros: Option<bool>,
    #[pyo3(get)]
    seed: u64,
    #[pyo3(get)]
    stream_id: u64,
}

#[pymethods]
impl BufferCheck {
    /// True when every byte matched.
    #[getter]
    fn is_clean(&self) -> bool {
        self.first_mismatch_offset.is_none()
    }

    /// `bool(check)` is `check.is_clean`, so `assert dgen_py.verify_buffer(...)` reads well.
    fn __bool__(&self) -> bool {
        self.is_clean()
    }

    /// All fields as a plain dict (JSON-serialisable).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("offset", self.offset)?;
        d.set_item("bytes_checked", self.bytes_checked)?;
        d.set_item("mismatched_blocks", self.mismatched_blocks)?;
        d.set_item("first_mismatch_offset", self.first_mismatch_offset)?;
        d.set_item("is_clean", self.is_clean())?;
        d.set_item("finding_offset", self.finding_offset)?;
        d.set_item("finding", self.finding.clone())?;
        d.set_item("finding_kind", self.finding_kind.clone())?;
        d.set_item("zeros", self.zeros)?;
        d.set_item("seed", self.seed)?;
        d.set_item("stream_id", self.stream_id)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let opt = |o: Option<u64>| o.map_or("None".to_string(), |v| v.to_string());
        format!(
            "BufferCheck(offset={}, bytes_checked={}, mismatched_blocks={}, \
             first_mismatch_offset={}, finding_kind={}, seed={}, stream_id={})",
            self.offset,
            self.bytes_checked,
            self.mismatched_blocks,
            opt(self.first_mismatch_offset),
            self.finding_kind
                .as_ref()
                .map_or("None".to_string(), |k| format!("'{k}'")),
            self.seed,
            self.stream_id
        )
    }

    fn __str__(&self) -> String {
        let end = self.offset + self.bytes_checked;
        match (
            self.first_mismatch_offset,
            &self.finding,
            self.finding_offset,
        ) {
            (None, _, _) => format!("bytes {}..{end}: all match", self.offset),
            (Some(bad), Some(f), Some(unit)) => format!(
                "bytes {}..{end}: {} mismatched 4 KiB blocks, first wrong byte at offset {bad}; \
                 the 4 KiB unit at offset {unit} holds {f}",
                self.offset, self.mismatched_blocks
            ),
            (Some(bad), _, _) => format!(
                "bytes {}..{end}: {} mismatched 4 KiB blocks, first wrong byte at offset {bad}",
                self.offset, self.mismatched_blocks
            ),
        }
    }
}

/// The keyword of a finding (`Finding`'s serde tag: `other_stream`, `corrupted`, ...).
fn kind_of(finding: &Finding) -> Option<String> {
    serde_json::to_value(finding)
        .ok()?
        .get("kind")?
        .as_str()
        .map(str::to_string)
}

/// Compares `data`, held at stream `offset`, with `gen`'s stream on `threads`, in pieces with
/// the GIL released for each and signals checked between them (Ctrl-C stops a large call).
/// Pieces start on stream multiples of the piece size, so no 4 KiB block is counted twice.
fn check_in_pieces(
    py: Python<'_>,
    gen: &dgen::Generator,
    threads: &Threads,
    offset: u64,
    data: &[u8],
) -> PyResult<Check> {
    let piece = SIGNAL_CHECK_BYTES as u64;
    let mut total = Check::default();
    let mut at = 0usize;
    while at < data.len() {
        let stream_at = offset + at as u64;
        let len = ((piece - stream_at % piece) as usize).min(data.len() - at);
        let part = &data[at..at + len];
        let c = py.allow_threads(|| {
            no_panic(|| {
                threads.run(|parallel| {
                    if parallel && part.len() >= PARALLEL_FROM {
                        check_parallel(gen, stream_at, part)
                    } else {
                        check(gen, stream_at, part)
                    }
                })
            })
        })?;
        total.bad_blocks += c.bad_blocks;
        total.first_bad = total.first_bad.or(c.first_bad);
        py.check_signals()?;
        at += len;
    }
    Ok(total)
}

/// Checks `buf` against `gen`'s stream at `offset` and diagnoses the first wrong 4 KiB unit.
pub(crate) fn verify_with(
    buf: &Bound<'_, PyAny>,
    offset: u64,
    gen: &dgen::Generator,
    threads: &Threads,
) -> PyResult<BufferCheck> {
    let py = buf.py();
    let view = ReadableBuffer::get(buf)?;
    let data = view.as_slice();
    if offset.checked_add(data.len() as u64).is_none() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "invalid offset: {offset} + {} bytes is past the end of a stream (2**64 bytes)",
            data.len()
        )));
    }
    let result = check_in_pieces(py, gen, threads, offset, data)?;
    let mut out = BufferCheck {
        offset,
        bytes_checked: data.len() as u64,
        mismatched_blocks: result.bad_blocks,
        first_mismatch_offset: result.first_bad,
        finding_offset: None,
        finding: None,
        finding_kind: None,
        zeros: None,
        seed: gen.params().seed,
        stream_id: gen.params().stream_id,
    };
    let Some(bad) = result.first_bad else {
        return Ok(out);
    };
    let unit_offset = bad - bad % dgen::gen::ATOM as u64;
    // The unit's header is in its first bytes: diagnose only a unit the buffer holds from its
    // start (a shorter tail is fine).
    if unit_offset >= offset {
        let start = (unit_offset - offset) as usize;
        let unit = &data[start..(start + dgen::gen::ATOM).min(data.len())];
        let block = unit_offset / gen.dedup_unit();
        let atom = (unit_offset % gen.dedup_unit()) / dgen::gen::ATOM as u64;
        let finding = no_panic(|| diagnose(gen, block, gen.content_of(block), atom, unit))?;
        out.zeros = match finding {
            Finding::Unrecognised { zeros } => Some(zeros),
            _ => None,
        };
        out.finding_kind = kind_of(&finding);
        out.finding = Some(finding.to_string());
        out.finding_offset = Some(unit_offset);
    }
    Ok(out)
}

/// Compares `buf` (any C-contiguous buffer: bytes, BytesView, bytearray, memoryview, mmap,
/// numpy) with the stream's bytes at `[offset, offset + len(buf))` and returns a BufferCheck.
///
/// The stream is the one `generate_buffer`, `Generator`, `BufferPool` and `write_file` produce
/// for the same `seed` (required), `stream_id` (None = 0, the in-memory default; a file written
/// by `write_file` uses its `WriteStats.stream_id`), ratios, `dedup_unit` and `compress_codec`.
/// A mismatch is reported, not raised (as by `read_and_validate`): `first_mismatch_offset`,
/// `mismatched_blocks`, and what the first wrong 4 KiB unit holds (`finding`, `finding_kind`:
/// zeros, another stream's data, a lost or misdirected write, corruption...). `bool(result)` is
/// True when clean. `max_threads` as for `generate_buffer`. The GIL is released while comparing.
#[pyfunction]
#[pyo3(
    signature = (buf, offset, dedup_ratio=1.0, compress_ratio=args::CompressArg::ONE, *, seed,
        dedup_unit=None, stream_id=None, compress_codec="lz", max_threads=None, dedup_layout=None, profile=None),
    // As pyo3 would write it, but with the default compress_ratio (a str or a float).
    text_signature = "(buf, offset, dedup_ratio=1.0, compress_ratio=1.0, *, seed, dedup_unit=None, \
        stream_id=None, compress_codec=\"lz\", max_threads=None, dedup_layout=None, profile=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn verify_buffer(
    buf: &Bound<'_, PyAny>,
    offset: &Bound<'_, PyAny>,
    dedup_ratio: f64,
    compress_ratio: args::CompressArg,
    seed: &Bound<'_, PyAny>,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    stream_id: Option<&Bound<'_, PyAny>>,
    compress_codec: &str,
    max_threads: Option<&Bound<'_, PyAny>>,
    dedup_layout: Option<&Bound<'_, crate::layout::DedupLayout>>,
    profile: Option<&str>,
) -> PyResult<BufferCheck> {
    let offset = args::size("offset", offset)?;
    let params = args::gen_params(
        args::count("seed", seed)?,
        args::opt_count("stream_id", stream_id)?.unwrap_or(0),
        dedup_ratio,
        compress_ratio,
        dedup_unit,
        compress_codec,
        crate::layout::of(dedup_layout),
        profile,
    )?;
    let gen = dgen::Generator::new(params)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let threads = Threads::new(max_threads)?;
    verify_with(buf, offset, &gen, &threads)
}
