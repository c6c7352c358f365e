//! `DedupLayout`: where copies take their originals from and which targets share one dedup space
//! (issue 11), one options object for every entry point that makes data (`dedup_layout=`).

use dgen::{CopySource, DedupScope};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The dedup layout options, checked when made: a working set, a skew, shifted duplicates and the
/// dedup scope (see the stubs for the documentation).
#[pyclass(module = "dgen_py", name = "DedupLayout", frozen)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DedupLayout {
    pub(crate) source: CopySource,
    pub(crate) scope: DedupScope,
}

#[pymethods]
impl DedupLayout {
    #[new]
    #[pyo3(signature = (*, working_set=None, skew=0.0, shifted=false, scope="stream", scope_index=None))]
    fn new(
        working_set: Option<&Bound<'_, PyAny>>,
        skew: f64,
        shifted: bool,
        scope: &str,
        scope_index: Option<u32>,
    ) -> PyResult<Self> {
        let working_set = match working_set.filter(|v| !v.is_none()) {
            None => None,
            Some(v) => Some(share(v)?),
        };
        let source = CopySource {
            working_set,
            skew,
            shifted,
        };
        source
            .validate()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let global = DedupScope::parse_kind("scope", scope)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let scope = match (global, scope_index) {
            (true, Some(index)) => DedupScope::Global { index },
            (false, None) => DedupScope::Stream,
            (true, None) => {
                return Err(PyValueError::new_err(
                    "invalid scope_index: None, scope='global' needs this target's number \
                     (0-based) among the run's targets",
                ))
            }
            (false, Some(i)) => {
                return Err(PyValueError::new_err(format!(
                    "invalid scope_index: {i} is given but scope is 'stream'; pass \
                     scope='global'"
                )))
            }
        };
        Ok(DedupLayout { source, scope })
    }

    /// Share of the unique blocks copies take originals from; None: the sliding window.
    #[getter]
    fn working_set(&self) -> Option<f64> {
        self.source.working_set
    }

    /// Zipf exponent of the originals' popularity.
    #[getter]
    fn skew(&self) -> f64 {
        self.source.skew
    }

    /// Whether copies are shifted off the 4 KiB grid.
    #[getter]
    fn shifted(&self) -> bool {
        self.source.shifted
    }

    /// `"stream"` or `"global"`.
    #[getter]
    fn scope(&self) -> &'static str {
        match self.scope {
            DedupScope::Stream => "stream",
            DedupScope::Global { .. } => "global",
        }
    }

    /// This target's number in a global scope; None in the per-stream scope.
    #[getter]
    fn scope_index(&self) -> Option<u32> {
        match self.scope {
            DedupScope::Stream => None,
            DedupScope::Global { index } => Some(index),
        }
    }

    fn __repr__(&self) -> String {
        let ws = self
            .source
            .working_set
            .map_or("None".to_string(), |w| w.to_string());
        let index = self
            .scope_index()
            .map_or("None".to_string(), |i| i.to_string());
        format!(
            "DedupLayout(working_set={ws}, skew={}, shifted={}, scope='{}', scope_index={index})",
            self.source.skew,
            if self.source.shifted { "True" } else { "False" },
            self.scope()
        )
    }
}

/// A share given as a float (`0.1`) or a string (`"10%"`, `"0.1"`).
fn share(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    let text = if let Ok(s) = value.extract::<String>() {
        s
    } else if let Ok(f) = value.extract::<f64>() {
        f.to_string()
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "working_set must be a float (0.1) or a str ('10%'), not {}",
            value.get_type().name()?
        )));
    };
    dgen::params::parse_share("working_set", &text)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The layout of an optional `dedup_layout=` argument (the default layout for None).
pub(crate) fn of(layout: Option<&Bound<'_, DedupLayout>>) -> DedupLayout {
    layout.map(|l| *l.get()).unwrap_or_default()
}
