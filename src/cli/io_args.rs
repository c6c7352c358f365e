//! Flags of the streaming pipeline (buffers, queue, threads, I/O mode) shared by `dgen write` and
//! `dgen verify`, the progress bar, stop signals, and how a failed run is reported (stderr,
//! `--json`, exit status).

use super::data_args::{describe, size_arg};
use super::report::msgln;
use clap::Args;
use dgen::pipeline::{PipelineError, DEFAULT_QUEUE_DEPTH};
use dgen::GenParams;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The first stop signal received (0: none); the progress hook then cancels the run.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
}

/// The signals that stop a run cleanly.
const STOP_SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGXFSZ];

/// Makes SIGINT, SIGTERM, SIGHUP and SIGXFSZ stop the run cleanly (in-flight I/O drained, a file
/// cut back to its longest fully written prefix, a one-line summary with the seed and the valid
/// length, exit 128 + signal); a second one of the same kind acts as usual (SA_RESETHAND).
pub fn stop_on_signals() {
    for sig in STOP_SIGNALS {
        // SAFETY: installs a handler that only does an atomic compare-exchange
        // (async-signal-safe); the sigaction struct is fully initialised.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The stop signal received so far, if any.
pub fn signal_received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// `SIGTERM` for 15, and so on for the stop signals.
fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGXFSZ => "SIGXFSZ".into(),
        other => format!("signal {other}"),
    }
}

/// Exit status after Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// What a run is about, for its failure report.
pub struct Record<'a> {
    /// `write` or `verify`.
    pub command: &'static str,
    /// The target.
    pub path: &'a Path,
    /// The data, seed first.
    pub params: &'a GenParams,
    /// `bytes_written` or `bytes_checked`.
    pub bytes_key: &'static str,
}

/// Ends a failed, cancelled or signalled run: one line on stderr (the error or the signal, the
/// seed, the bytes done and the valid length), with `json` one object with an `"error"` field on
/// stdout, and the exit status: 128 + signal after a stop signal, 2 for bad input, 1 for
/// failures while running.
pub fn report_failure(e: PipelineError, r: &Record<'_>, json: bool) -> i32 {
    let signal = signal_received();
    let code = match signal {
        Some(sig) => 128 + sig,
        None if matches!(e.error, dgen::Error::Interrupted) => EXIT_INTERRUPTED,
        None if e.bytes_done == 0 => super::exit_code(&e.error),
        None => super::EXIT_FAILURE,
    };
    let valid = e.valid_length();
    let line = match signal {
        Some(sig) => {
            let mut line = format!(
                "dgen {}: stopped by {}: {} {} bytes",
                r.command,
                signal_name(sig),
                r.bytes_key.replace('_', " "),
                e.bytes_done
            );
            if let Some(v) = valid {
                line += &format!(
                    ", valid length {v} bytes ({} cut back to it; check it with --size {v})",
                    r.path.display()
                );
            }
            if !matches!(e.error, dgen::Error::Interrupted) {
                line += &format!(", error: {}", e.error);
            }
            format!("{line}; {}", describe(r.params))
        }
        None => format!("dgen: error: {e}; {}", describe(r.params)),
    };
    msgln!("{line}");
    if json {
        let mut obj = serde_json::json!({
            "error": match signal {
                Some(sig) => format!("stopped by {}", signal_name(sig)),
                None => e.to_string(),
            },
            "exit_code": code,
            "path": r.path,
            "seed": r.params.seed,
            "stream_id": r.params.stream_id,
            "signal": signal.map(signal_name),
            "valid_length": valid,
        });
        obj[r.bytes_key] = e.bytes_done.into();
        // Best effort: the exit status says it already.
        let _ = super::report::write(format_args!("{obj}\n"));
    }
    code
}

/// How the pipeline does its I/O.
#[derive(Args, Debug, Clone)]
pub struct IoArgs {
    /// Size of each buffer and of each I/O: a multiple of 4KiB (memory used = size x buffers).
    #[arg(long, value_parser = size_arg, default_value = "8M", value_name = "SIZE")]
    pub buffer_size: u64,
    /// Buffers in the pool; 0 = 2 x threads + queue depth.
    #[arg(long = "buffers", default_value_t = 0, value_name = "N")]
    pub buffers: usize,
    /// I/O operations in flight at once (io_uring queue depth, or pwrite threads).
    #[arg(long = "qd", default_value_t = DEFAULT_QUEUE_DEPTH, value_name = "N")]
    pub queue_depth: usize,
    /// Worker threads generating (or checking) data; 0 = one per CPU.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Use the page cache instead of O_DIRECT.
    #[arg(long)]
    pub no_direct: bool,
    /// Use pwrite/pread on threads instead of io_uring.
    #[arg(long)]
    pub no_uring: bool,
}

impl IoArgs {
    /// The buffer size as usize (sizes above the address space are clamped; validation rejects them).
    pub fn buffer_size(&self) -> usize {
        usize::try_from(self.buffer_size).unwrap_or(usize::MAX)
    }
}

/// A progress bar on standard error when it is a terminal (and the output is not JSON), else
/// nothing. Returns the hook to hand to the pipeline and the bar to finish.
pub fn progress_bar(enabled: bool) -> Option<ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// A spinner with a message on standard error when it is a terminal, else nothing: for work
/// whose length is not known in bytes (the profile fit's candidates).
pub fn spinner(prefix: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {prefix}: {{msg}} ({{elapsed}})"))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Updates the bar (if any); cancels after a stop signal.
pub fn update(bar: &Option<ProgressBar>, done: u64, total: u64) -> bool {
    if let Some(bar) = bar {
        bar.set_length(total);
        bar.set_position(done);
    }
    signal_received().is_none()
}
