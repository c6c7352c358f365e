//! Verifying: read a file back with the same pool design and compare every byte with the stream.

use super::driver::FileIo;
use super::options::VerifyOptions;
use super::pool::Pool;
use super::stats::{PipelineError, VerifyStats};
use super::target::{self, Kind};
use super::workers::Task;
use super::{run, stop_error, RunConfig};
use crate::error::Error;
use crate::size::format_size;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;

/// Reads the first `opts.size` bytes of `path` and compares them with the stream `opts.params`.
/// A mismatch is not an error: it is reported in the stats (`first_mismatch_offset`,
/// `mismatched_blocks`). Errors are bad options, I/O errors and cancellation.
///
/// Never passes on missing data: a target shorter than `size`, or a read that ends early (end of
/// file, from io_uring or pread alike), is an `Io` error (`UnexpectedEof`) at the offset where
/// the data ends. Without `size`, the whole current length of a file or device is checked
/// (reported as `bytes_checked`); an empty file, and `/dev/null` without a size, are refused
/// (`InvalidArgument`): there would be nothing to verify.
pub fn verify_file(
    path: &Path,
    opts: &VerifyOptions,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<VerifyStats, PipelineError> {
    opts.validate()?;
    let generator = super::options::generator_for(&opts.map, opts.params.clone())?;
    let probe = target::probe(path, false)?;
    let size = match (opts.size, probe.kind) {
        (None, Kind::Other) => {
            return Err(Error::invalid(
                "size",
                format!(
                    "required for {} (not a file or block device: its length is unknown)",
                    path.display()
                ),
            )
            .into())
        }
        (None, _) if probe.size == 0 => {
            return Err(Error::invalid(
                "size",
                format!("{} is empty (0 bytes): nothing to verify", path.display()),
            )
            .into())
        }
        (Some(s), Kind::Regular | Kind::Block) if s > probe.size => {
            // Missing data is a failed verification (an I/O failure), with the offset where
            // the data ends.
            let e = std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the data ends at byte {}, before the {} ({s} bytes) to verify",
                    probe.size,
                    format_size(s)
                ),
            );
            return Err(Error::io("read", path, Some(probe.size), e).into());
        }
        (Some(s), _) => s,
        (None, _) => probe.size,
    };
    if opts.direct_io && !opts.buffer_size.is_multiple_of(probe.align) {
        return Err(Error::invalid(
            "buffer size",
            format!(
                "{} is not a multiple of the device's logical block size {}",
                opts.buffer_size, probe.align
            ),
        )
        .into());
    }
    let pool = Pool::new(opts.buffer_size, opts.resolved_buffer_count(), probe.align)
        .map_err(|e| Error::io("allocate buffers for", path, None, e))?;

    let start = Instant::now();
    let mut warnings = Vec::new();
    let opened = target::open_for_read(&probe, opts.direct_io, &mut warnings)?;
    let files = [FileIo {
        fd: opened.file.as_raw_fd(),
        path: &probe.path,
        end: size,
        round_reads_to: if opened.direct { probe.align } else { 1 },
    }];
    let cfg = RunConfig {
        task: Task::Check,
        io_uring: opts.io_uring,
        queue_depth: opts.queue_depth.min(opts.resolved_buffer_count()),
        threads: opts.resolved_threads(),
        progress_total: size,
    };
    let generators = [generator];
    let (mut outcome, engine) = run(
        &cfg,
        &files,
        &generators,
        pool,
        progress,
        &mut warnings,
        &mut || Ok(()),
    );
    let duration = start.elapsed();
    if let Some(e) = stop_error(&mut outcome) {
        return Err(PipelineError::new(e, outcome.bytes_done));
    }
    if outcome.bytes_done != size {
        // Never pass on less than asked (the driver fails on end of file; this is the backstop).
        let e = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("checked {} of {size} bytes", outcome.bytes_done),
        );
        return Err(PipelineError::new(
            Error::io("read", path, Some(outcome.bytes_done), e),
            outcome.bytes_done,
        ));
    }
    progress(outcome.bytes_done, size);
    Ok(VerifyStats {
        path: probe.path.clone(),
        bytes_checked: outcome.bytes_done,
        mismatched_blocks: outcome.bad_blocks,
        first_mismatch_offset: outcome.first_bad,
        duration,
        io_engine: engine,
        direct_io: opened.direct,
        warnings,
    })
}
