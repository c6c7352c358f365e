//! `dgen verify`: read a file or device back and compare every byte with what `dgen write` (or
//! `dgen gen`, the fio engine, `dgen_py`) wrote there for the same seed and flags.

use super::data_args::{describe, size_arg, DataArgs};
use super::io_args::{progress_bar, report_failure, stop_on_signals, update, IoArgs, Record};
use super::report::{msgln, outln};
use clap::Args;
use dgen::map::TrimCheck;
use dgen::pipeline::{verify_file, VerifyOptions, VerifyStats};
use dgen::size::format_size;
use dgen::{Error, Result};
use std::path::PathBuf;

/// Arguments of `dgen verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// File or block device to check.
    pub path: PathBuf,
    /// Bytes to check from the start: the length the write reported. Without it, the whole
    /// current length of the file or device is checked (an empty file is refused), so a file
    /// cut short is only caught with --size. Required for /dev/null.
    #[arg(long, short = 's', value_parser = size_arg, value_name = "SIZE", allow_hyphen_values = true)]
    pub size: Option<u64>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub io: IoArgs,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Generation map of the target (from `dgen write --map`): each block is checked against
    /// the content the map says it holds now.
    #[arg(long, value_name = "PATH")]
    pub map: Option<PathBuf>,
    /// What blocks the map says were trimmed (discarded through the fio engine) must read as:
    /// `zeros` (the device returns zeros after a discard: NVMe "deterministic read zeros", SCSI
    /// LBPRZ, a loop device, a thin volume) or `skip` (not checked; the report counts them).
    #[arg(long, value_name = "zeros|skip", default_value = "zeros", requires = "map",
          value_parser = trim_check_arg)]
    pub map_trimmed: TrimCheck,
}

fn trim_check_arg(text: &str) -> std::result::Result<TrimCheck, String> {
    text.parse()
}

/// Runs `dgen verify`: exit 0 when every byte matches, 1 (with the first bad offset) on a
/// mismatch or missing data, 2 for bad input. Without `--size` the file's whole current length
/// is checked and reported (an empty file is refused); only `--size` catches a file cut short.
pub fn run(args: VerifyArgs) -> Result<i32> {
    let params = args.data.params(Some(args.path.as_path()))?;
    let opts = VerifyOptions {
        params,
        size: args.size,
        buffer_size: args.io.buffer_size(),
        buffer_count: args.io.buffers,
        direct_io: !args.io.no_direct,
        io_uring: !args.io.no_uring,
        threads: args.io.threads,
        queue_depth: args.io.queue_depth,
        map: None,
    };
    let record_params = opts.params.clone();
    let record = Record {
        command: "verify",
        path: &args.path,
        params: &record_params,
        bytes_key: "bytes_checked",
    };
    if args.data.seed.is_none() {
        let e = Error::invalid(
            "seed",
            "--seed is required: give the seed that the write printed",
        );
        return Ok(report_failure(e.into(), &record, args.json));
    }
    if let Err(e) = opts.validate() {
        return Ok(report_failure(e.into(), &record, args.json));
    }
    let mut opts = opts;
    let mut uncertain = 0;
    let mut trimmed = 0;
    if let Some(map_path) = &args.map {
        match dgen::map::session::open_for_verify(
            map_path,
            &opts.params,
            args.size,
            &args.path,
            args.map_trimmed,
        ) {
            Ok(opened) => {
                let (recovery, n) = (opened.recovery, opened.uncertain);
                opts.map = Some(opened.contents);
                uncertain = n;
                trimmed = opened.trimmed;
                if trimmed > 0 {
                    msgln!(
                        "dgen verify: map {}: {}",
                        map_path.display(),
                        args.map_trimmed.report(trimmed)
                    );
                }
                if recovery.torn_tail_bytes > 0 || recovery.corrupt_records > 0 {
                    msgln!(
                        "dgen verify: map {}: the journal ends in a torn record ({} bytes) and {} \
                         corrupt records; the state before them is checked",
                        map_path.display(),
                        recovery.torn_tail_bytes,
                        recovery.corrupt_records
                    );
                }
                if n > 0 {
                    msgln!(
                        "dgen verify: map {}: {n} blocks were being written when the last run \
                         stopped: each may hold its old or its new content, and either is accepted",
                        map_path.display()
                    );
                }
            }
            Err(e) => return Ok(report_failure(e.into(), &record, args.json)),
        }
    }
    stop_on_signals();
    let bar = progress_bar(!args.json);
    let result = verify_file(&args.path, &opts, &mut |done, total| {
        update(&bar, done, total)
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let stats = match result {
        Ok(s) => s,
        Err(e) => return Ok(report_failure(e, &record, args.json)),
    };
    for w in &stats.warnings {
        msgln!("dgen: warning: {w}");
    }
    if args.size.is_none() {
        msgln!(
            "dgen verify: no --size given: checked the whole current length of {} ({} bytes); \
             give --size (the length the write reported) to catch a file cut short",
            args.path.display(),
            stats.bytes_checked
        );
    }
    let finding = stats
        .first_mismatch_offset
        .and_then(|off| first_bad_unit_finding(&args.path, &opts, off));
    if args.json {
        let mut obj = to_json(&stats, &opts);
        obj["size_given"] = args.size.is_some().into();
        if args.map.is_some() {
            obj["uncertain_blocks"] = uncertain.into();
            obj["trimmed_blocks"] = trimmed.into();
            obj["trimmed_check"] = args.map_trimmed.as_str().into();
        }
        if let Some((unit, f)) = &finding {
            obj["first_bad_unit"] =
                serde_json::json!({ "offset": unit, "holds": f, "says": f.to_string() });
        }
        let text = serde_json::to_string_pretty(&obj)
            .map_err(|e| Error::io("print", "<json>", None, e.into()))?;
        outln!("{text}");
    } else {
        match stats.first_mismatch_offset {
            None => outln!(
                "dgen verify: {} ({} bytes) of {} match in {:.3} s = {:.2} GB/s, {}{}; {}",
                format_size(stats.bytes_checked),
                stats.bytes_checked,
                stats.path.display(),
                stats.duration.as_secs_f64(),
                stats.throughput_gbps(),
                stats.io_engine,
                if stats.direct_io {
                    " O_DIRECT"
                } else {
                    " buffered"
                },
                describe(&opts.params),
            ),
            Some(off) => {
                outln!(
                    "dgen verify: MISMATCH in {}: first bad byte at offset {off}, {} bad 4KiB blocks in {} bytes checked; {}",
                    stats.path.display(),
                    stats.mismatched_blocks,
                    stats.bytes_checked,
                    describe(&opts.params),
                );
                if let Some((unit, f)) = &finding {
                    outln!("dgen verify: the 4KiB unit at offset {unit} holds {f}");
                    if *f == dgen::diagnose::Finding::OtherStream {
                        outln!("dgen verify: {}", stream_origin(&args.data, &args.path));
                    }
                }
            }
        }
    }
    Ok(if stats.is_clean() {
        0
    } else {
        super::EXIT_FAILURE
    })
}

/// Where the stream id checked came from, for the hint after an "another stream" finding.
fn stream_origin(data: &super::data_args::DataArgs, path: &std::path::Path) -> String {
    use dgen::params::{canonical_target_path, StreamChoice};
    match data.stream_id {
        StreamChoice::Fixed(id) => format!("stream id {id} was given with --stream-id"),
        StreamChoice::Name => format!(
            "--stream-id name: the stream id is the hash of the file name {:?}",
            path.file_name().unwrap_or_default()
        ),
        StreamChoice::Path => format!(
            "the stream id checked is the hash of the path {} (plus the host name for devices); \
             a file written under another path needs --stream-id with the id its write printed \
             (`dgen stream-id OLD_PATH` prints it)",
            canonical_target_path(path).display()
        ),
    }
}

/// Reads the 4 KiB unit around `offset` again and says what it holds (see `dgen::diagnose`);
/// `None` when it cannot be read (the mismatch report stands on its own).
fn first_bad_unit_finding(
    path: &std::path::Path,
    opts: &VerifyOptions,
    offset: u64,
) -> Option<(u64, dgen::diagnose::Finding)> {
    use std::os::unix::fs::FileExt;
    let generator = dgen::pipeline::generator_for(&opts.map, opts.params.clone()).ok()?;
    let unit_offset = offset / 4096 * 4096;
    let mut unit = vec![0u8; 4096];
    let file = std::fs::File::open(path).ok()?;
    let mut got = 0;
    while got < unit.len() {
        match file.read_at(&mut unit[got..], unit_offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    unit.truncate(got);
    if let Some(size) = opts.size {
        unit.truncate(size.saturating_sub(unit_offset) as usize);
    }
    let unit_size = opts.params.dedup_unit;
    let block = unit_offset / unit_size;
    let atom = (unit_offset % unit_size) / 4096;
    let finding =
        dgen::diagnose::diagnose(&generator, block, generator.content_of(block), atom, &unit);
    Some((unit_offset, finding))
}

fn to_json(s: &VerifyStats, o: &VerifyOptions) -> serde_json::Value {
    serde_json::json!({
        "path": s.path,
        "clean": s.is_clean(),
        "bytes_checked": s.bytes_checked,
        "mismatched_blocks": s.mismatched_blocks,
        "first_mismatch_offset": s.first_mismatch_offset,
        "duration_secs": s.duration.as_secs_f64(),
        "throughput_gbps": s.throughput_gbps(),
        "seed": o.params.seed,
        "stream_id": o.params.stream_id,
        "io_engine": s.io_engine.as_str(),
        "direct_io": s.direct_io,
        "warnings": s.warnings,
    })
}
