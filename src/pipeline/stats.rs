//! What a run reports: statistics on success, the error and the bytes done on failure.

use crate::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The I/O back end a run used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoEngine {
    /// io_uring with registered buffers.
    IoUring,
    /// pwrite/pread system calls on I/O threads.
    Pwrite,
}

impl IoEngine {
    /// `"io_uring"` or `"pwrite"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IoEngine::IoUring => "io_uring",
            IoEngine::Pwrite => "pwrite",
        }
    }
}

impl fmt::Display for IoEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of writing one file.
#[derive(Clone, Debug)]
pub struct WriteStats {
    /// The file or device written.
    pub path: PathBuf,
    /// Bytes written (the file's size for regular files).
    pub bytes_written: u64,
    /// Write operations completed (including continuations of short writes).
    pub operations: u64,
    /// Wall time from opening the file(s) to the end of fsync.
    pub duration: Duration,
    /// The seed: keep it to verify or reproduce the data.
    pub seed: u64,
    /// The stream id the data was generated with.
    pub stream_id: u64,
    /// The I/O back end used.
    pub io_engine: IoEngine,
    /// Whether O_DIRECT was used (false after a fallback to buffered I/O).
    pub direct_io: bool,
    /// Fallbacks and other things the user should know.
    pub warnings: Vec<String>,
}

impl WriteStats {
    /// Decimal gigabytes per second (10^9 bytes), as fio and dgen-py report.
    pub fn throughput_gbps(&self) -> f64 {
        gbps(self.bytes_written, self.duration)
    }
}

/// The result of verifying one file.
#[derive(Clone, Debug)]
pub struct VerifyStats {
    /// The file or device read.
    pub path: PathBuf,
    /// Bytes read and compared.
    pub bytes_checked: u64,
    /// 4 KiB blocks (aligned in the file; the last one may be partial) with at least one wrong byte.
    pub mismatched_blocks: u64,
    /// Offset of the first wrong byte; `None` when the file is as generated.
    pub first_mismatch_offset: Option<u64>,
    /// Wall time of the run.
    pub duration: Duration,
    /// The I/O back end used.
    pub io_engine: IoEngine,
    /// Whether O_DIRECT was used.
    pub direct_io: bool,
    /// Fallbacks and other things the user should know.
    pub warnings: Vec<String>,
}

impl VerifyStats {
    /// Decimal gigabytes per second (10^9 bytes).
    pub fn throughput_gbps(&self) -> f64 {
        gbps(self.bytes_checked, self.duration)
    }

    /// True when every byte matched.
    pub fn is_clean(&self) -> bool {
        self.first_mismatch_offset.is_none()
    }
}

fn gbps(bytes: u64, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 {
        bytes as f64 / secs / 1e9
    } else {
        0.0
    }
}

/// A failed or cancelled run: the error, and how many bytes were written or checked before it.
#[derive(Debug)]
pub struct PipelineError {
    /// What went wrong: `InvalidArgument` (nothing was touched), `Io` (errno, path and offset),
    /// or `Interrupted` (the progress hook returned `false`).
    pub error: Error,
    /// Bytes written (or checked) in all files before the run stopped.
    pub bytes_done: u64,
    /// Writes that had started writing: per target (in the order given), the length of its valid
    /// prefix, every byte of which was written (a regular file is cut back to it; `dgen verify
    /// --size <it>` passes on it). Empty for verification, and when the run stopped before its
    /// first write (every target is then as it was: a file the run created is removed).
    pub valid_lengths: Vec<u64>,
}

impl PipelineError {
    pub(crate) fn new(error: Error, bytes_done: u64) -> Self {
        PipelineError {
            error,
            bytes_done,
            valid_lengths: Vec::new(),
        }
    }

    /// The valid prefix of the first (or only) target, when writing had started.
    pub fn valid_length(&self) -> Option<u64> {
        self.valid_lengths.first().copied()
    }
}

impl From<Error> for PipelineError {
    fn from(error: Error) -> Self {
        PipelineError::new(error, 0)
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if self.bytes_done > 0 {
            write!(f, "; {} bytes done before it stopped", self.bytes_done)?;
        }
        match self.valid_lengths.as_slice() {
            [] => {}
            [one] => write!(
                f,
                "; valid length {one} bytes (the file is cut back to it, or to its old length, \
                 past which it holds what it held before)"
            )?,
            many => write!(
                f,
                "; valid lengths {many:?} bytes (the files are cut back to them, or to their old \
                 lengths)"
            )?,
        }
        Ok(())
    }
}

impl std::error::Error for PipelineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
