//! The `dgen` command line: generate, write, verify and analyze data with exact dedup and
//! compression ratios. See `dgen --help`.
//!
//! `main` is the C entry point rather than Rust's: Rust's runtime silently reopens a closed
//! standard output on `/dev/null` before its `main` runs, which would make `dgen gen -o - >&-`
//! "succeed" writing nothing. The state of descriptor 1 is recorded first (see
//! [`cli::STDOUT_WAS_CLOSED`]); SIGPIPE is ignored as Rust's runtime does, so that a closed pipe
//! is an `EPIPE` error that dgen handles.

#![cfg_attr(not(test), no_main)]

// Under `cargo test` the bin has no entry point (the test harness is its main).
#[cfg_attr(test, allow(dead_code))]
mod cli;

#[cfg(not(test))]
use std::sync::atomic::Ordering;

/// The process entry point (called by the C runtime with the program's arguments, which
/// `std::env::args` reads on its own).
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: F_GETFD only queries descriptor 1; setting SIGPIPE's disposition to SIG_IGN is
    // what Rust's own runtime does at start-up.
    let closed = unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::fcntl(1, libc::F_GETFD) < 0
    };
    cli::STDOUT_WAS_CLOSED.store(closed, Ordering::SeqCst);
    // A panic (a bug) must not unwind out of this C entry point, which aborts the process
    // without running a single destructor: caught here, after the panic hook has printed it,
    // with the status Rust's own runtime gives a panic.
    std::panic::catch_unwind(cli::run).unwrap_or(EXIT_PANIC)
}

/// Exit status after a panic, as Rust's runtime gives it.
#[cfg(not(test))]
const EXIT_PANIC: libc::c_int = 101;
