//! The progress hook handed to the pipeline: it runs on the calling thread (the pipeline calls it
//! there about every 100 ms), takes the GIL back for a moment, calls the user's callback and
//! checks for signals, so that Ctrl-C stops a run within a fraction of a second.

use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// Never call the user's callback more often than this (the pipeline ticks about every 100 ms;
/// this only guards against a faster tick). The final call (`done == total`) always goes through.
const MIN_INTERVAL: Duration = Duration::from_millis(80);

/// State of the hook across calls: the callback, and the first Python exception it met.
pub struct Progress {
    callback: Option<Py<PyAny>>,
    last_call: Option<Instant>,
    last_done: Option<u64>,
    error: Option<PyErr>,
}

impl Progress {
    /// A hook calling `callback(bytes_done, total)` (if any) and checking signals.
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        Progress {
            callback,
            last_call: None,
            last_done: None,
            error: None,
        }
    }

    /// The pipeline's hook. Returns `false` (cancel) once the callback raised or a signal handler
    /// raised (KeyboardInterrupt); the exception is kept for [`Progress::take_error`].
    /// Called with the GIL released.
    pub fn tick(&mut self, done: u64, total: u64) -> bool {
        if self.error.is_some() {
            return false;
        }
        Python::with_gil(|py| {
            if let Err(e) = self.call(py, done, total) {
                self.error = Some(e);
                return false;
            }
            if let Err(e) = py.check_signals() {
                self.error = Some(e);
                return false;
            }
            true
        })
    }

    /// Only runs Python's signal handlers (before the run has reported any progress); `false`
    /// when one raised, as [`Progress::tick`].
    pub fn check_signals(&mut self) -> bool {
        if self.error.is_some() {
            return false;
        }
        Python::with_gil(|py| match py.check_signals() {
            Ok(()) => true,
            Err(e) => {
                self.error = Some(e);
                false
            }
        })
    }

    fn call(&mut self, py: Python<'_>, done: u64, total: u64) -> PyResult<()> {
        let Some(callback) = &self.callback else {
            return Ok(());
        };
        let now = Instant::now();
        let due = self
            .last_call
            .is_none_or(|t| now.duration_since(t) >= MIN_INTERVAL);
        let is_final = done == total && self.last_done != Some(done);
        if !(due || is_final) {
            return Ok(());
        }
        self.last_call = Some(now);
        self.last_done = Some(done);
        callback.call1(py, (done, total))?;
        Ok(())
    }

    /// The Python exception that stopped the run, if one did.
    pub fn take_error(&mut self) -> Option<PyErr> {
        self.error.take()
    }
}
