//! The one error type of the core. Each face (CLI, Python, fio) maps it to its own convention.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in dgen's core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of range or unparsable. `name` is the user-facing name of the parameter.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The parameter, as the user knows it (for example `dedup ratio`).
        name: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// An I/O operation failed.
    #[error("{op} {path}: {source}{}", offset.map(|o| format!(" (at byte offset {o})")).unwrap_or_default())]
    Io {
        /// What was being done (`open`, `write`, `read`, ...).
        op: &'static str,
        /// The file or device involved.
        path: PathBuf,
        /// The byte offset of the failed operation, where one applies.
        offset: Option<u64>,
        /// The OS error, carrying the errno.
        #[source]
        source: io::Error,
    },
    /// The caller cancelled the run (a progress hook returned `false`, Ctrl-C in Python).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
        offset: Option<u64>,
        source: io::Error,
    ) -> Self {
        Error::Io {
            op,
            path: path.into(),
            offset,
            source,
        }
    }

    /// The OS error number, for I/O errors that carry one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            Error::InvalidArgument { .. } | Error::Interrupted => None,
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
