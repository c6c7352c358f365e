//! Converting Python arguments: sizes (int or fio-style text), counts, seeds, data parameters.
//! Every bad value raises `ValueError` (or `TypeError` for a wrong type) naming the argument.

use dgen::params::{random_seed, StreamChoice, DEFAULT_DEDUP_UNIT, MAX_COMPRESS_RATIO};
use dgen::size::parse_size;
use dgen::{CompressSpec, GenParams};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// A byte count given as a non-negative int or as text such as `"64KiB"`, `"1.5G"`, `"4k"`.
pub fn size(name: &'static str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_instance_of::<PyString>() {
        let text: String = value.extract()?;
        return parse_size(name, &text).map_err(|e| PyValueError::new_err(e.to_string()));
    }
    count(name, value)
}

/// A non-negative int (bools are refused: `size=True` is a mistake, not 1 byte).
pub fn count(name: &'static str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, not bool"
        )));
    }
    if let Ok(v) = value.extract::<u64>() {
        return Ok(v);
    }
    match value.extract::<i64>() {
        Ok(v) if v < 0 => Err(PyValueError::new_err(format!(
            "invalid {name}: {v} is negative"
        ))),
        Ok(v) => Ok(v as u64),
        Err(_) if value.extract::<i128>().is_ok() => Err(PyValueError::new_err(format!(
            "invalid {name}: {value} is out of range (0 to 2**64 - 1)"
        ))),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{name} must be an int, not {}",
            value.get_type().name()?
        ))),
    }
}

/// An optional size; `None` stays `None`.
pub fn opt_size(name: &'static str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| size(name, v))
        .transpose()
}

/// An optional count; `None` stays `None`.
pub fn opt_count(name: &'static str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| count(name, v))
        .transpose()
}

/// The stream id of the target `path`: `None` or `"path"` (hash of the canonical path, plus the
/// host name for devices), `"name"` (hash of the file name only, the old rule) or an int.
pub fn stream_id(
    name: &'static str,
    value: Option<&Bound<'_, PyAny>>,
    path: &std::path::Path,
) -> PyResult<u64> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(StreamChoice::Path.stream_id(path));
    };
    if value.is_instance_of::<PyString>() {
        let text: String = value.extract()?;
        return match text.trim().to_ascii_lowercase().as_str() {
            "path" => Ok(StreamChoice::Path.stream_id(path)),
            "name" => Ok(StreamChoice::Name.stream_id(path)),
            _ => Err(PyValueError::new_err(format!(
                "invalid {name}: {text:?} is not 'path' (hash of the canonical path, the \
                 default), 'name' (hash of the file name only) or an int"
            ))),
        };
    }
    count(name, value)
}

/// A count that must fit the platform's `usize`.
pub fn to_usize(name: &'static str, value: u64) -> PyResult<usize> {
    usize::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("invalid {name}: {value} is too large")))
}

/// The seed: the one given, or a random one (always reported back to the caller).
pub fn seed(value: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    Ok(opt_count("seed", value)?.unwrap_or_else(random_seed))
}

/// `compress_ratio=`: a number (`3`, `1.5`), or text: a ratio (`"3"`), a mix of ratios by share
/// of dedup blocks (`"1:30%,4:50%,16:20%"`) or per-codec ratios (`"lz4=2.2,zstd=3.3"`). A bad mix raises `ValueError` naming the argument,
/// the value and the reason; another type, `TypeError`. The range of a number is checked with the
/// other parameters ([`gen_params`]).
#[derive(Clone, Debug)]
pub struct CompressArg(pub CompressSpec);

impl CompressArg {
    /// The default: incompressible.
    pub const ONE: CompressArg = CompressArg(CompressSpec::Ratio(1.0));
}

impl<'py> FromPyObject<'py> for CompressArg {
    fn extract_bound(value: &Bound<'py, PyAny>) -> PyResult<Self> {
        if value.is_instance_of::<PyString>() {
            let text: String = value.extract()?;
            return CompressSpec::parse(&text, MAX_COMPRESS_RATIO)
                .map(CompressArg)
                .map_err(|r| {
                    PyValueError::new_err(format!("invalid compress_ratio: {text:?}: {r}"))
                });
        }
        value
            .extract::<f64>()
            .map(|r| CompressArg(CompressSpec::Ratio(r)))
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "compress_ratio must be a float or a str (a ratio, or a mix such as \
                     '1:30%,4:50%,16:20%'), not {}",
                    value
                        .get_type()
                        .name()
                        .map_or_else(|_| "?".to_string(), |n| n.to_string())
                ))
            })
    }
}

/// `compress_ratio` as a repr shows it: the ratio (`3`), or the mix as a str
/// (`'1:30%,4:50%,16:20%'`).
pub fn compress_repr(p: &GenParams) -> String {
    match p.compress_spec() {
        CompressSpec::Ratio(r) => r.to_string(),
        spec => format!("'{spec}'"),
    }
}

/// Builds and validates the data parameters shared by every entry point (`profile`: a built-in
/// profile's name or a profile file, see `dgen::profile`).
#[allow(clippy::too_many_arguments)]
pub fn gen_params(
    seed: u64,
    stream_id: u64,
    dedup_ratio: f64,
    compress_ratio: CompressArg,
    dedup_unit: Option<&Bound<'_, PyAny>>,
    compress_codec: &str,
    layout: crate::layout::DedupLayout,
    profile: Option<&str>,
) -> PyResult<GenParams> {
    let explicit_unit = opt_size("dedup_unit", dedup_unit)?;
    let mut params = GenParams {
        seed,
        stream_id,
        dedup_ratio,
        dedup_unit: opt_size("dedup_unit", dedup_unit)?.unwrap_or(DEFAULT_DEDUP_UNIT),
        compress_codec: compress_codec
            .parse()
            .map_err(|e: dgen::Error| PyValueError::new_err(e.to_string()))?,
        copy_source: layout.source,
        scope: layout.scope,
        ..GenParams::new(seed)
    };
    let plain = matches!(compress_ratio.0, CompressSpec::Ratio(r) if r == 1.0);
    params.set_compress(compress_ratio.0);
    if let Some(value) = profile {
        if !plain {
            return Err(PyValueError::new_err(format!(
                "invalid profile: {value:?}: cannot be combined with compress_ratio={} (the \
                 profile sets the compressibility)",
                compress_repr(&params)
            )));
        }
        let loaded = dgen::profile::load(value)
            .map_err(|e| Python::with_gil(|py| crate::errors::to_pyerr(py, e.into_error(value))))?;
        // dedup_ratio=1.0 (the default) takes the profile's, as dgen_dedupe_ratio does in fio.
        let dedup = (dedup_ratio != 1.0).then_some(dedup_ratio);
        if let Some(note) = dgen::profile::apply_profile(&mut params, &loaded, dedup, explicit_unit)
        {
            Python::with_gil(|py| {
                let warning = py.get_type::<pyo3::exceptions::PyUserWarning>();
                PyErr::warn(
                    py,
                    &warning,
                    &std::ffi::CString::new(note).unwrap_or_default(),
                    1,
                )
            })?;
        }
    }
    params
        .validate()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(params)
}

/// An optional path (`None` stays `None`), as [`path`].
pub fn opt_path(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PathBuf>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| path(name, v))
        .transpose()
}

/// A path given as `str`, `bytes` or `os.PathLike`: `TypeError` for any other type and
/// `ValueError` for an embedded NUL byte, both naming the argument (`name`).
pub fn path(name: &str, value: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let py = value.py();
    let os = py.import("os")?;
    let fspath = os.call_method1("fspath", (value,)).map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be str, bytes or os.PathLike, not {}",
            value
                .get_type()
                .name()
                .map_or_else(|_| "?".to_string(), |n| n.to_string())
        ))
    })?;
    let encoded = if fspath.is_instance_of::<PyBytes>() {
        fspath
    } else {
        os.call_method1("fsencode", (&fspath,))?
    };
    let bytes: Vec<u8> = encoded.extract()?;
    if bytes.contains(&0) {
        return Err(PyValueError::new_err(format!(
            "invalid {name}: {} contains a NUL byte",
            value.repr()?
        )));
    }
    if bytes.is_empty() {
        return Err(PyValueError::new_err(format!("invalid {name}: empty path")));
    }
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

/// A sequence of paths (a list, a tuple...; a single `str` or `bytes` is a `TypeError`), each
/// checked as [`path`] under the name `paths[i]`.
pub fn paths(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a sequence of paths, not a single {}",
            value.get_type().name()?
        )));
    }
    let items = value.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a sequence of paths, not {}",
            value
                .get_type()
                .name()
                .map_or_else(|_| "?".to_string(), |n| n.to_string())
        ))
    })?;
    items
        .enumerate()
        .map(|(i, item)| path(&format!("{name}[{i}]"), &item?))
        .collect()
}
