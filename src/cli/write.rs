//! `dgen write`: generate and write a file or block device at the storage's speed (O_DIRECT,
//! io_uring, a fixed pool of buffers), then print a summary with the seed.

use super::data_args::{describe, size_arg, DataArgs};
use super::io_args::{progress_bar, report_failure, stop_on_signals, update, IoArgs, Record};
use super::report::{msgln, outln};
use clap::Args;
use dgen::pipeline::{write_file, WriteOptions, WriteStats};
use dgen::size::format_size;
use dgen::{Error, Result};
use std::path::PathBuf;

/// Arguments of `dgen write`.
#[derive(Args, Debug)]
pub struct WriteArgs {
    /// File to create or overwrite, or a block device (written from its start, never past its end).
    pub path: PathBuf,
    /// Bytes to write (4k, 64KiB, 1.5G, 2T: binary multiples). Default: the whole block device;
    /// required for files.
    #[arg(long, short = 's', value_parser = size_arg, value_name = "SIZE", allow_hyphen_values = true)]
    pub size: Option<u64>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub io: IoArgs,
    /// Do not fsync at the end (the data may still be in the page cache when dgen exits).
    #[arg(long)]
    pub no_fsync: bool,
    /// Generation map of the target (created when missing). With an existing map this is a
    /// rewrite: every block gets new content (a new generation, or another live block's content
    /// where it has copies), the ratios hold on what is live, and `dgen verify --map` checks it.
    #[arg(long, value_name = "PATH")]
    pub map: Option<PathBuf>,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `dgen write`; returns the exit status. The seed is printed on stderr before anything
/// is touched; every failure is reported by [`report_failure`].
pub fn run(args: WriteArgs) -> Result<i32> {
    let params = args.data.params(Some(args.path.as_path()))?;
    msgln!(
        "dgen write: {} {}, {}",
        args.path.display(),
        args.size.map_or("(whole device)".to_string(), |s| format!(
            "{} ({s} bytes)",
            format_size(s)
        )),
        describe(&params)
    );
    let opts = WriteOptions {
        params,
        size: args.size,
        buffer_size: args.io.buffer_size(),
        buffer_count: args.io.buffers,
        direct_io: !args.io.no_direct,
        io_uring: !args.io.no_uring,
        threads: args.io.threads,
        queue_depth: args.io.queue_depth,
        fsync: !args.no_fsync,
        map: None,
    };
    let record_params = opts.params.clone();
    let record = Record {
        command: "write",
        path: &args.path,
        params: &record_params,
        bytes_key: "bytes_written",
    };
    // Checked here too so that bad flags fail before the progress bar appears.
    if let Err(e) = opts.validate() {
        return Ok(report_failure(e.into(), &record, args.json));
    }
    let mut opts = opts;
    let full_write = match &args.map {
        None => None,
        Some(map_path) => {
            let Some(size) = args.size else {
                let e = Error::invalid("size", "--size is required with --map");
                return Ok(report_failure(e.into(), &record, args.json));
            };
            match dgen::map::session::begin_write(map_path, &opts.params, size) {
                Ok(w) => {
                    msgln!(
                        "dgen write: map {}: {}",
                        map_path.display(),
                        if w.created {
                            "created (a fresh run: every block at generation 0)".to_string()
                        } else {
                            format!(
                                "rewrite of {} blocks (each gets new content; intents journaled)",
                                w.rewritten_blocks()
                            )
                        }
                    );
                    opts.map = Some(w.contents.clone());
                    Some(w)
                }
                Err(e) => return Ok(report_failure(e.into(), &record, args.json)),
            }
        }
    };
    stop_on_signals();
    let bar = progress_bar(!args.json);
    let result = write_file(&args.path, &opts, &mut |done, total| {
        update(&bar, done, total)
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    // Blocks inside the valid prefix are done; the rest stay uncertain in the map.
    let map_finished = full_write.map(|w| w.finish_after(&result));
    let stats = match result {
        Ok(s) => s,
        Err(e) => {
            if let Some(Err(me)) = map_finished {
                msgln!("dgen: error: map: {me}");
            }
            return Ok(report_failure(e, &record, args.json));
        }
    };
    if let Some(Err(e)) = map_finished {
        return Ok(report_failure(e.into(), &record, args.json));
    }
    for w in &stats.warnings {
        msgln!("dgen: warning: {w}");
    }
    if args.json {
        let text = serde_json::to_string_pretty(&to_json(&stats, &opts))
            .map_err(|e| Error::io("print", "<json>", None, e.into()))?;
        outln!("{text}");
    } else {
        outln!(
            "dgen write: {} ({} bytes) to {} in {:.3} s = {:.2} GB/s, {}{}, {} ops; {}",
            format_size(stats.bytes_written),
            stats.bytes_written,
            stats.path.display(),
            stats.duration.as_secs_f64(),
            stats.throughput_gbps(),
            stats.io_engine,
            if stats.direct_io {
                " O_DIRECT"
            } else {
                " buffered"
            },
            stats.operations,
            describe(&opts.params),
        );
    }
    Ok(0)
}

fn to_json(s: &WriteStats, o: &WriteOptions) -> serde_json::Value {
    let mut obj = serde_json::json!({
        "path": s.path,
        "bytes_written": s.bytes_written,
        "operations": s.operations,
        "duration_secs": s.duration.as_secs_f64(),
        "throughput_gbps": s.throughput_gbps(),
        "seed": s.seed,
        "stream_id": s.stream_id,
        "dedup_ratio": o.params.dedup_ratio,
        "compress_ratio": o.params.compress_ratio,
        "dedup_unit": o.params.dedup_unit,
        "io_engine": s.io_engine.as_str(),
        "direct_io": s.direct_io,
        "buffer_size": o.buffer_size,
        "buffer_count": o.resolved_buffer_count(),
        "queue_depth": o.queue_depth,
        "threads": o.resolved_threads(),
        "warnings": s.warnings,
    });
    if let Some(mix) = &o.params.compress_mix {
        // With a mix, `compress_ratio` is its aggregate ratio.
        obj["compress_mix"] = mix.to_string().into();
    }
    if let Some(zstd) = o.params.compress_zstd {
        // With per-codec ratios, `compress_ratio` is lz4's.
        obj["compress_zstd"] = zstd.into();
    }
    if let Some(profile) = &o.params.compress_profile {
        // With a profile, `compress_ratio` is its classes' lz4 ratio without echoes, and
        // `dedup_ratio` what the generator is asked for (zero blocks add to it).
        obj["profile"] = profile.name.clone().into();
    }
    obj
}
