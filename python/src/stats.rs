//! `WriteStats` and `VerifyStats`: the pipeline's statistics as immutable Python objects with a
//! readable `repr`, a one-line `str` and `to_dict()`.

use dgen::pipeline;
use dgen::size::format_size;
use dgen::GenParams;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::IntoPyObjectExt;
use std::ffi::OsString;

/// What `write_file` / `write_files` report for one file.
#[pyclass(frozen, module = "dgen_py", name = "WriteStats")]
pub struct WriteStats {
    path: OsString,
    /// Bytes written (the file's size).
    #[pyo3(get)]
    bytes_written: u64,
    /// Write operations completed.
    #[pyo3(get)]
    operations: u64,
    /// Seconds from opening the file to the end of fsync.
    #[pyo3(get)]
    duration_secs: f64,
    /// Decimal GB/s (10**9 bytes per second).
    #[pyo3(get)]
    throughput_gbps: f64,
    /// The seed used (keep it to verify or reproduce the data).
    #[pyo3(get)]
    seed: u64,
    /// The stream id used.
    #[pyo3(get)]
    stream_id: u64,
    #[pyo3(get)]
    dedup_ratio: f64,
    #[pyo3(get)]
    compress_ratio: f64,
    #[pyo3(get)]
    dedup_unit: u64,
    /// "io_uring" or "pwrite".
    #[pyo3(get)]
    io_engine: &'static str,
    /// Whether O_DIRECT was used.
    #[pyo3(get)]
    direct_io: bool,
    warnings: Vec<String>,
}

impl WriteStats {
    /// Wraps the pipeline's stats, adding the data parameters needed to reproduce the file.
    pub fn new(s: pipeline::WriteStats, params: &GenParams) -> Self {
        WriteStats {
            bytes_written: s.bytes_written,
            operations: s.operations,
            duration_secs: s.duration.as_secs_f64(),
            throughput_gbps: s.throughput_gbps(),
            seed: s.seed,
            stream_id: s.stream_id,
            dedup_ratio: params.dedup_ratio,
            compress_ratio: params.compress_ratio,
            dedup_unit: params.dedup_unit,
            io_engine: s.io_engine.as_str(),
            direct_io: s.direct_io,
            warnings: s.warnings,
            path: s.path.into_os_string(),
        }
    }
}

#[pymethods]
impl WriteStats {
    /// The file or device written.
    #[getter]
    fn path(&self) -> &std::ffi::OsStr {
        &self.path
    }

    /// Fallbacks and other notes (io_uring unavailable, O_DIRECT refused, ...).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// All fields as a plain dict (JSON-serialisable).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("path", &self.path)?;
        d.set_item("bytes_written", self.bytes_written)?;
        d.set_item("operations", self.operations)?;
        d.set_item("duration_secs", self.duration_secs)?;
        d.set_item("throughput_gbps", self.throughput_gbps)?;
        d.set_item("seed", self.seed)?;
        d.set_item("stream_id", self.stream_id)?;
        d.set_item("dedup_ratio", self.dedup_ratio)?;
        d.set_item("compress_ratio", self.compress_ratio)?;
        d.set_item("dedup_unit", self.dedup_unit)?;
        d.set_item("io_engine", self.io_engine)?;
        d.set_item("direct_io", self.direct_io)?;
        d.set_item("warnings", self.warnings.clone())?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "WriteStats(path={}, bytes_written={}, operations={}, duration_secs={:.3}, \
             throughput_gbps={:.3}, seed={}, stream_id={}, dedup_ratio={}, compress_ratio={}, \
             dedup_unit={}, io_engine='{}', direct_io={}, warnings={})",
            py_repr(py, &self.path)?,
            self.bytes_written,
            self.operations,
            self.duration_secs,
            self.throughput_gbps,
            self.seed,
            self.stream_id,
            self.dedup_ratio,
            self.compress_ratio,
            self.dedup_unit,
            self.io_engine,
            py_bool(self.direct_io),
            py_repr(py, self.warnings.clone())?,
        ))
    }

    fn __str__(&self) -> String {
        format!(
            "wrote {} to {} in {:.2} s ({:.2} GB/s, {}, {}), seed {}, stream {}",
            format_size(self.bytes_written),
            std::path::Path::new(&self.path).display(),
            self.duration_secs,
            self.throughput_gbps,
            self.io_engine,
            if self.direct_io {
                "O_DIRECT"
            } else {
                "buffered"
            },
            self.seed,
            self.stream_id
        )
    }
}

/// What `read_and_validate` reports.
#[pyclass(frozen, module = "dgen_py", name = "VerifyStats")]
pub struct VerifyStats {
    path: OsString,
    /// Bytes read and compared.
    #[pyo3(get)]
    bytes_checked: u64,
    /// 4 KiB blocks (aligned in the file) holding at least one wrong byte.
    #[pyo3(get)]
    mismatched_blocks: u64,
    /// Offset of the first wrong byte, or None when every byte matched.
    #[pyo3(get)]
    first_mismatch_offset: Option<u64>,
    #[pyo3(get)]
    duration_secs: f64,
    #[pyo3(get)]
    throughput_gbps: f64,
    #[pyo3(get)]
    seed: u64,
    #[pyo3(get)]
    stream_id: u64,
    #[pyo3(get)]
    io_engine: &'static str,
    #[pyo3(get)]
    direct_io: bool,
    warnings: Vec<String>,
}

impl VerifyStats {
    /// Wraps the pipeline's stats, adding the stream that was checked.
    pub fn new(s: pipeline::VerifyStats, params: &GenParams) -> Self {
        VerifyStats {
            bytes_checked: s.bytes_checked,
            mismatched_blocks: s.mismatched_blocks,
            first_mismatch_offset: s.first_mismatch_offset,
            duration_secs: s.duration.as_secs_f64(),
            throughput_gbps: s.throughput_gbps(),
            seed: params.seed,
            stream_id: params.stream_id,
            io_engine: s.io_engine.as_str(),
            direct_io: s.direct_io,
            warnings: s.warnings,
            path: s.path.into_os_string(),
        }
    }
}

#[pymethods]
impl VerifyStats {
    /// The file or device read.
    #[getter]
    fn path(&self) -> &std::ffi::OsStr {
        &self.path
    }

    /// Fallbacks and other notes.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// True when every byte matched.
    #[getter]
    fn is_clean(&self) -> bool {
        self.first_mismatch_offset.is_none()
    }

    /// All fields as a plain dict (JSON-serialisable).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("path", &self.path)?;
        d.set_item("bytes_checked", self.bytes_checked)?;
        d.set_item("mismatched_blocks", self.mismatched_blocks)?;
        d.set_item("first_mismatch_offset", self.first_mismatch_offset)?;
        d.set_item("is_clean", self.is_clean())?;
        d.set_item("duration_secs", self.duration_secs)?;
        d.set_item("throughput_gbps", self.throughput_gbps)?;
        d.set_item("seed", self.seed)?;
        d.set_item("stream_id", self.stream_id)?;
        d.set_item("io_engine", self.io_engine)?;
        d.set_item("direct_io", self.direct_io)?;
        d.set_item("warnings", self.warnings.clone())?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "VerifyStats(path={}, bytes_checked={}, mismatched_blocks={}, \
             first_mismatch_offset={}, duration_secs={:.3}, throughput_gbps={:.3}, seed={}, \
             stream_id={}, io_engine='{}', direct_io={}, warnings={})",
            py_repr(py, &self.path)?,
            self.bytes_checked,
            self.mismatched_blocks,
            self.first_mismatch_offset
                .map_or("None".to_string(), |o| o.to_string()),
            self.duration_secs,
            self.throughput_gbps,
            self.seed,
            self.stream_id,
            self.io_engine,
            py_bool(self.direct_io),
            py_repr(py, self.warnings.clone())?,
        ))
    }

    fn __str__(&self) -> String {
        let verdict = match self.first_mismatch_offset {
            None => "all bytes match".to_string(),
            Some(o) => format!(
                "{} mismatched 4 KiB blocks, first wrong byte at offset {o}",
                self.mismatched_blocks
            ),
        };
        format!(
            "checked {} of {} in {:.2} s ({:.2} GB/s, {}, {}): {verdict}",
            format_size(self.bytes_checked),
            std::path::Path::new(&self.path).display(),
            self.duration_secs,
            self.throughput_gbps,
            self.io_engine,
            if self.direct_io {
                "O_DIRECT"
            } else {
                "buffered"
            },
        )
    }
}

/// Python's `repr()` of a value.
fn py_repr<'py, V: IntoPyObject<'py>>(py: Python<'py>, value: V) -> PyResult<String> {
    let text: Bound<'py, PyString> = value.into_bound_py_any(py)?.repr()?;
    Ok(text.to_string())
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}
