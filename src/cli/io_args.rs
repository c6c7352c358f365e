//! Flags of the streaming pipeline (buffers, queue, threads, I/O mode) shared by `dgen write` and
//! `dgen verify`, the progress bar, and the mapping of pipeline errors to exit statuses.

use super::data_args::size_arg;
use clap::Args;
use dgen::pipeline::{PipelineError, DEFAULT_QUEUE_DEPTH};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set by the SIGINT handler; the progress hook then cancels the run.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes the first Ctrl-C cancel the run cleanly (in-flight I/O drained, files closed, bytes done
/// reported, exit 130); a second one kills the process as usual (SA_RESETHAND).
pub fn cancel_on_ctrl_c() {
    // SAFETY: installs a handler that only stores to an atomic (async-signal-safe); the
    // sigaction struct is fully initialised.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// Exit status after Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

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

/// Updates the bar (if any); cancels after Ctrl-C.
pub fn update(bar: &Option<ProgressBar>, done: u64, total: u64) -> bool {
    if let Some(bar) = bar {
        bar.set_length(total);
        bar.set_position(done);
    }
    !INTERRUPTED.load(Ordering::SeqCst)
}

/// Turns a pipeline failure into the CLI's convention: errors before anything was done go back
/// to the caller (bad input exits 2); failures mid-run print the error with the bytes done and
/// exit 1.
pub fn fail(e: PipelineError) -> dgen::Result<i32> {
    if matches!(e.error, dgen::Error::Interrupted) {
        eprintln!("dgen: interrupted after {} bytes", e.bytes_done);
        return Ok(EXIT_INTERRUPTED);
    }
    if e.bytes_done == 0 {
        return Err(e.error);
    }
    eprintln!("dgen: error: {e}");
    Ok(super::EXIT_FAILURE)
}
