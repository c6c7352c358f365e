//! Verifying: read a file back with the same pool design and compare every byte with the stream.

use super::driver::FileIo;
use super::options::VerifyOptions;
use super::pool::Pool;
use super::stats::{PipelineError, VerifyStats};
use super::target::{self, Kind};
use super::workers::Task;
use super::{run, stop_error, RunConfig};
use crate::error::Error;
use crate::gen::Generator;
use crate::size::format_size;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;

/// Reads the first `opts.size` bytes of `path` (default: all of it) and compares them with the
/// stream `opts.params`. A mismatch is not an error: it is reported in the stats
/// (`first_mismatch_offset`, `mismatched_blocks`). Errors are bad options, I/O errors (a file
/// shorter than `size` included) and cancellation.
pub fn verify_file(
    path: &Path,
    opts: &VerifyOptions,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<VerifyStats, PipelineError> {
    opts.validate()?;
    let generator = Generator::new(opts.params.clone())?;
    let probe = target::probe(path, false)?;
    let size = match (opts.size, probe.kind) {
        (_, Kind::Other) if opts.size.is_none() => {
            return Err(Error::invalid(
                "size",
                format!(
                    "required for {} (not a file or block device)",
                    path.display()
                ),
            )
            .into())
        }
        (Some(s), Kind::Regular | Kind::Block) if s > probe.size => {
            return Err(Error::invalid(
                "size",
                format!(
                    "{} ({s} bytes) is larger than {} ({} bytes)",
                    format_size(s),
                    path.display(),
                    probe.size
                ),
            )
            .into())
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
    let (mut outcome, engine) = run(&cfg, &files, &generators, pool, progress, &mut warnings);
    let duration = start.elapsed();
    if let Some(e) = stop_error(&mut outcome) {
        return Err(PipelineError::new(e, outcome.bytes_done));
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
