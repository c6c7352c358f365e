//! Writing: check everything, open the targets, run the pipeline, write unaligned tails, fsync.

use super::driver::{FileIo, TICK};
use super::options::WriteOptions;
use super::pool::Pool;
use super::stats::{PipelineError, WriteStats};
use super::target::{self, Kind, Opened, Probe};
use super::workers::Task;
use super::{run, stop_error, RunConfig};
use crate::error::{Error, Result};
use crate::gen::Generator;
use crate::params::stream_id_for_path;
use crate::size::format_size;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Instant;

/// Writes `opts.size` bytes of the stream `opts.params` (stream id included) to `path`.
///
/// Regular files are created or overwritten and end with exactly `size` bytes; block devices are
/// written from the start, never truncated nor written past their end (`size` defaults to the
/// device size). Nothing is touched when an option is invalid, the size is above the file
/// system's or the process's file size limit, or the run fails before its first write (threads
/// that cannot start): an existing file keeps its content and a created one is removed. A run
/// that stops later cuts a regular file back to its longest fully written prefix
/// ([`PipelineError::valid_lengths`]).
pub fn write_file(
    path: &Path,
    opts: &WriteOptions,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<WriteStats, PipelineError> {
    let stats = write_files_with_streams(
        &[path.to_path_buf()],
        &[opts.params.stream_id],
        opts,
        progress,
    )?;
    Ok(stats
        .into_iter()
        .next()
        .expect("one file in, one stats out"))
}

/// Writes several files at once, sharing one buffer pool, each with its own stream: the stream id
/// of each file is [`stream_id_for_path`] of its path (`opts.params.stream_id` is ignored).
pub fn write_files(
    paths: &[PathBuf],
    opts: &WriteOptions,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<Vec<WriteStats>, PipelineError> {
    let ids: Vec<u64> = paths.iter().map(|p| stream_id_for_path(p)).collect();
    write_files_with_streams(paths, &ids, opts, progress)
}

/// Like [`write_files`], with the stream id of each file given (`stream_ids[i]` for `paths[i]`).
pub fn write_files_with_streams(
    paths: &[PathBuf],
    stream_ids: &[u64],
    opts: &WriteOptions,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<Vec<WriteStats>, PipelineError> {
    // Everything that can be checked is checked before any file is opened for writing.
    let plan = plan(paths, stream_ids, opts)?;
    let align = plan
        .iter()
        .map(|t| t.probe.align)
        .max()
        .unwrap_or(target::MIN_ALIGN);
    if opts.direct_io && !opts.buffer_size.is_multiple_of(align) {
        return Err(Error::invalid(
            "buffer size",
            format!(
                "{} is not a multiple of the device's logical block size {align}",
                opts.buffer_size
            ),
        )
        .into());
    }
    let pool = Pool::new(opts.buffer_size, opts.resolved_buffer_count(), align)
        .map_err(|e| Error::io("allocate buffers for", &paths[0], None, e))?;

    let start = Instant::now();
    let mut warnings = Vec::new();
    // Open every target without changing it (a missing file is created empty); one that fails
    // leaves the others as they were, and removes the files this run created.
    let mut opened: Vec<Opened> = Vec::with_capacity(plan.len());
    for t in &plan {
        match target::open_for_write(&t.probe, opts.direct_io, &mut warnings) {
            Ok(o) => opened.push(o),
            Err(e) => {
                drop(opened);
                remove_created(&plan);
                return Err(e.into());
            }
        }
    }
    let files: Vec<FileIo> = plan
        .iter()
        .zip(&opened)
        .map(|(t, o)| FileIo {
            fd: o.file.as_raw_fd(),
            path: &t.probe.path,
            // With O_DIRECT the pipeline writes whole blocks; the rest is the tail.
            end: if o.direct {
                t.size - t.size % t.probe.align as u64
            } else {
                t.size
            },
            round_reads_to: 1,
        })
        .collect();
    let generators: Vec<Generator> = plan.iter().map(|t| t.generator.clone()).collect();
    let total: u64 = plan.iter().map(|t| t.size).sum();
    let cfg = RunConfig {
        task: Task::Fill,
        io_uring: opts.io_uring,
        queue_depth: opts.queue_depth.min(opts.resolved_buffer_count()),
        threads: opts.resolved_threads(),
        progress_total: total,
    };
    // Lengths are set once every thread has started, just before the first write.
    let mut prepared = false;
    let mut prepare = || {
        set_lengths(&plan, &opened)?;
        prepared = true;
        Ok(())
    };
    let (mut outcome, engine) = run(
        &cfg,
        &files,
        &generators,
        pool,
        progress,
        &mut warnings,
        &mut prepare,
    );
    if let Some(e) = stop_error(&mut outcome) {
        if !prepared {
            // Nothing was written: existing targets are untouched, created files go.
            drop(opened);
            remove_created(&plan);
            return Err(PipelineError::new(e, 0));
        }
        let written: Vec<u64> = outcome.written_prefix.iter().map(|p| p.end()).collect();
        cut_to_written(&plan, &opened, &written);
        let mut err = PipelineError::new(e, outcome.bytes_done);
        err.valid_lengths = written;
        return Err(err);
    }

    // Tails and fsync, on a helper thread so that the hook keeps being called (an fsync of a
    // buffered write can take long).
    let ends: Vec<u64> = files.iter().map(|f| f.end).collect();
    let mut file_bytes = outcome.file_bytes.clone();
    let mut file_ops = outcome.file_ops.clone();
    let mut cancelled = false;
    let finish = std::thread::scope(|scope| {
        let (tx, rx) = channel();
        let (plan, opened, ends) = (&plan, &opened, &ends);
        let spawned = std::thread::Builder::new()
            .name("dgen-sync".into())
            .spawn_scoped(scope, move || {
                for (i, (t, o)) in plan.iter().zip(opened).enumerate() {
                    if ends[i] < t.size {
                        let mut tail = vec![0u8; (t.size - ends[i]) as usize];
                        t.generator.fill(ends[i], &mut tail);
                        match target::write_tail(&o.file, &t.probe.path, ends[i], &tail) {
                            Ok(ops) => {
                                let _ = tx.send(Ok((i, tail.len() as u64, ops)));
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                return;
                            }
                        }
                    }
                }
                if opts.fsync {
                    for (t, o) in plan.iter().zip(opened) {
                        if let Err(e) = target::sync(&o.file, &t.probe) {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            });
        let handle =
            spawned.map_err(|e| Error::io("start a thread for", &plan[0].probe.path, None, e))?;
        let result = loop {
            match rx.recv_timeout(TICK) {
                Ok(Ok((i, bytes, ops))) => {
                    file_bytes[i] += bytes;
                    file_ops[i] += ops;
                }
                Ok(Err(e)) => break Err(e),
                Err(RecvTimeoutError::Disconnected) => break Ok(()),
                Err(RecvTimeoutError::Timeout) => {
                    let done: u64 = file_bytes.iter().sum();
                    if !cancelled && !progress(done, total) {
                        cancelled = true;
                    }
                }
            }
        };
        let _ = handle.join();
        result
    });
    let duration = start.elapsed();
    let done: u64 = file_bytes.iter().sum();
    if finish.is_err() || cancelled {
        // Every chunk is written; a tail is written when its bytes were counted.
        cut_to_written(&plan, &opened, &file_bytes);
        let error = match finish {
            Err(e) => e,
            Ok(()) => Error::Interrupted,
        };
        let mut err = PipelineError::new(error, done);
        err.valid_lengths = file_bytes;
        return Err(err);
    }
    // Final report; the run is complete, so its answer no longer matters.
    progress(done, total);

    Ok(plan
        .iter()
        .zip(&opened)
        .enumerate()
        .map(|(i, (t, o))| WriteStats {
            path: t.probe.path.clone(),
            bytes_written: file_bytes[i],
            operations: file_ops[i],
            duration,
            seed: opts.params.seed,
            stream_id: t.generator.params().stream_id,
            io_engine: engine,
            direct_io: o.direct,
            warnings: warnings.clone(),
        })
        .collect())
}

/// One target of a write, checked.
struct Planned {
    probe: Probe,
    size: u64,
    generator: Generator,
}

/// Validates the options and looks at every path, touching nothing.
fn plan(paths: &[PathBuf], stream_ids: &[u64], opts: &WriteOptions) -> Result<Vec<Planned>> {
    opts.validate()?;
    if paths.is_empty() {
        return Err(Error::invalid("paths", "no file to write"));
    }
    if paths.len() != stream_ids.len() {
        return Err(Error::invalid(
            "stream ids",
            format!("{} stream ids for {} files", stream_ids.len(), paths.len()),
        ));
    }
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].contains(p) {
            return Err(Error::invalid(
                "paths",
                format!("{} is given twice", p.display()),
            ));
        }
    }
    let mut out = Vec::with_capacity(paths.len());
    for (path, &stream_id) in paths.iter().zip(stream_ids) {
        let probe = target::probe(path, true)?;
        let size = match (opts.size, probe.kind) {
            (Some(s), Kind::Block) if s > probe.size => {
                return Err(Error::invalid(
                    "size",
                    format!(
                        "{} ({s} bytes) is larger than the device {} ({} bytes)",
                        format_size(s),
                        path.display(),
                        probe.size
                    ),
                ))
            }
            (Some(s), _) => s,
            (None, Kind::Block) if probe.size > 0 => probe.size,
            (None, _) => {
                return Err(Error::invalid(
                    "size",
                    format!(
                        "required for {} (only block devices default to their size)",
                        path.display()
                    ),
                ))
            }
        };
        if probe.kind == Kind::Regular {
            target::check_file_size(&probe, size)?;
        }
        let mut params = opts.params.clone();
        params.stream_id = stream_id;
        let generator = super::options::generator_for(&opts.map, params)?;
        out.push(Planned {
            probe,
            size,
            generator,
        });
    }
    Ok(out)
}

/// Gives each regular file its final length, just before the first write. Extensions (which can
/// be undone) come first; if one fails, those already made are undone, so every file is as it
/// was. Shortening an existing longer file comes last.
fn set_lengths(plan: &[Planned], opened: &[Opened]) -> Result<()> {
    let regular = || {
        plan.iter()
            .zip(opened)
            .filter(|(t, _)| t.probe.kind == Kind::Regular)
    };
    let mut extended: Vec<(&Planned, &Opened)> = Vec::new();
    for (t, o) in regular().filter(|(t, _)| t.size >= t.probe.size) {
        if let Err(e) = target::set_length(&o.file, &t.probe.path, t.size) {
            for (t, o) in extended {
                let _ = o.file.set_len(t.probe.size);
            }
            return Err(e);
        }
        extended.push((t, o));
    }
    for (t, o) in regular().filter(|(t, _)| t.size < t.probe.size) {
        target::set_length(&o.file, &t.probe.path, t.size)?;
    }
    Ok(())
}

/// Removes the files this run created (after a failure before the first write).
fn remove_created(plan: &[Planned]) {
    for t in plan {
        if t.probe.kind == Kind::Regular && !t.probe.exists {
            let _ = std::fs::remove_file(&t.probe.path);
        }
    }
}

/// After a run that stopped early (an error, or cancelled), cuts each regular file back to the
/// bytes known to be written (`written[i]` for file `i`), or to its length before the run when
/// that is longer: it was given its final length before writing, and would otherwise show that
/// length with holes, while what an existing file held past the prefix is still there. Best effort: a failure here leaves
/// the file as it is, and the run's own error is what gets reported.
fn cut_to_written(plan: &[Planned], opened: &[Opened], written: &[u64]) {
    for ((t, o), &len) in plan.iter().zip(opened).zip(written) {
        if t.probe.kind == Kind::Regular && len < t.size {
            // Past the written prefix, a file that existed still holds its old bytes up to its old
            // length: keep them (nothing that was there is lost); only what this run added past
            // both is cut.
            let _ = o.file.set_len(len.max(t.probe.size.min(t.size)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::GenParams;

    /// Worker threads that cannot start (EAGAIN) fail the run before its first write: an
    /// existing file keeps its content and length, a file the run created is removed.
    #[test]
    fn threads_that_cannot_start_leave_the_targets_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.bin");
        let fresh = dir.path().join("fresh.bin");
        std::fs::write(&old, b"old content").unwrap();
        let opts = WriteOptions {
            params: GenParams::new(5),
            size: Some(4 << 20),
            buffer_size: 1 << 20,
            buffer_count: 4,
            threads: 2,
            direct_io: false,
            ..WriteOptions::default()
        };
        super::super::FAIL_SPAWN.with(|f| f.set(true));
        let e = write_files(&[old.clone(), fresh.clone()], &opts, &mut |_, _| true).unwrap_err();
        assert_eq!(e.error.errno(), Some(libc::EAGAIN), "{e}");
        assert!(e.to_string().contains("start threads"), "{e}");
        assert_eq!(e.bytes_done, 0);
        assert!(e.valid_lengths.is_empty());
        assert_eq!(std::fs::read(&old).unwrap(), b"old content");
        assert!(!fresh.exists());
        // The same call with threads succeeds and overwrites.
        write_files(&[old.clone(), fresh.clone()], &opts, &mut |_, _| true).unwrap();
        assert_eq!(std::fs::metadata(&old).unwrap().len(), 4 << 20);
    }
}
