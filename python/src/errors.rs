//! Turning core errors and Rust panics into Python exceptions.
//!
//! * `Error::InvalidArgument` -> `ValueError` (raised before any file is touched).
//! * `Error::Io` -> `OSError` built from `(errno, message, filename)`, so Python picks the
//!   subclass (`FileNotFoundError`, `PermissionError`, `IsADirectoryError`, ...); plain `OSError`
//!   for ENOSPC and EIO. The exception also carries `offset` (or `None`).
//! * `Error::Interrupted` -> `InterruptedError` (only seen when no Python exception caused it).
//! * A panic -> `RuntimeError`: a panic never unwinds into the interpreter.
//!
//! Pipeline failures also set `bytes_written` (writes) or `bytes_checked` (verification) on the
//! exception: the bytes done before the run stopped; and `seed`, `valid_length` (the length a
//! file was cut back to, every byte of it written; None when no write had started) and
//! `valid_lengths` (one per file).

use dgen::pipeline::PipelineError;
use dgen::Error;
use pyo3::exceptions::{PyInterruptedError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Converts a core error into the matching Python exception, with `suffix` added to the message
/// (the valid length after a failed write).
fn to_pyerr_with(py: Python<'_>, error: Error, suffix: &str) -> PyErr {
    match error {
        Error::InvalidArgument { .. } => PyValueError::new_err(format!("{error}{suffix}")),
        Error::Io {
            op,
            path,
            offset,
            source,
        } => {
            let place = match offset {
                Some(o) => format!(" (during {op} at byte offset {o}){suffix}"),
                None => format!(" (during {op}){suffix}"),
            };
            let err = match source.raw_os_error() {
                Some(errno) => {
                    // `OSError(errno, strerror, filename)` is how Python itself raises, and lets
                    // OSError.__new__ pick the subclass from the errno.
                    let strerror = format!("{}{place}", strerror(errno));
                    PyOSError::new_err((errno, strerror, path.into_os_string()))
                }
                None => PyOSError::new_err(format!("{op} {}: {source}{place}", path.display())),
            };
            set_attr(py, &err, "offset", offset);
            err
        }
        Error::Interrupted => {
            PyInterruptedError::new_err(format!("the run was interrupted{suffix}"))
        }

        // The core's error enum may grow; show anything new as its message.
        #[allow(unreachable_patterns)]
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// Converts a core error (no pipeline run: opening a map, say) into the matching Python exception.
pub fn to_pyerr(py: Python<'_>, error: Error) -> PyErr {
    to_pyerr_with(py, error, "")
}

/// Converts a pipeline failure, recording the bytes done under `bytes_attr`, and the seed and
/// valid length(s) (see [`set_record`]). The message ends with the valid length when a write
/// had started ("; the file is cut back to its first N bytes").
pub fn pipeline_to_pyerr(
    py: Python<'_>,
    error: PipelineError,
    bytes_attr: &str,
    seed: u64,
) -> PyErr {
    let suffix = match error.valid_lengths.as_slice() {
        [] => String::new(),
        [one] => format!(
            "; valid length {one} bytes (the file is cut back to it, or to its old length past \
             which it holds what it held before)"
        ),
        many => format!("; valid lengths {many:?} bytes (the files are cut back to them)"),
    };
    let err = to_pyerr_with(py, error.error, &suffix);
    set_attr(py, &err, bytes_attr, error.bytes_done);
    set_record(py, &err, seed, &error.valid_lengths);
    err
}

/// Sets `seed`, `valid_length` (the first or only file's valid prefix, None when no write had
/// started) and `valid_lengths` (one per file) on an exception.
pub fn set_record(py: Python<'_>, err: &PyErr, seed: u64, valid_lengths: &[u64]) {
    set_attr(py, err, "seed", seed);
    set_attr(py, err, "valid_length", valid_lengths.first().copied());
    set_attr(py, err, "valid_lengths", valid_lengths.to_vec());
}

/// Sets an attribute on the exception instance; silently skipped for exception types that take
/// no attributes (none of those raised here).
pub fn set_attr<'py, V: IntoPyObject<'py>>(py: Python<'py>, err: &PyErr, name: &str, value: V) {
    let _ = err.value(py).setattr(name, value);
}

/// Runs `f`, turning a panic into a `RuntimeError` instead of letting it unwind into Python.
/// Safe to call with the GIL released.
pub fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, PanicMessage> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| PanicMessage(panic_text(&*payload)))
}

/// The text of a caught panic, converted into a `RuntimeError` once the GIL is held again.
#[derive(Debug)]
pub struct PanicMessage(String);

impl From<&str> for PanicMessage {
    fn from(text: &str) -> Self {
        PanicMessage(text.to_string())
    }
}

impl From<PanicMessage> for PyErr {
    fn from(p: PanicMessage) -> PyErr {
        PyRuntimeError::new_err(format!(
            "internal error in dgen (please report it): {}",
            p.0
        ))
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

/// The OS's message for an errno, without Rust's " (os error N)" suffix.
fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}
