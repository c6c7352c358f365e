//! Reports on standard output (analyze's tables and JSON, verify's and write's summaries,
//! stream-id's lines), written with [`outln!`] and [`out!`] in place of `println!`, which panics
//! when the write fails; a panic in dgen's C entry point aborts with a backtrace. A write that
//! fails is an error like any other. A reader that went away (`dgen analyze F | head`) ends dgen
//! quietly with status 141, as `dgen gen -o - | head` does ([`broken_pipe`]). A standard output
//! that was closed when dgen started is an error (`EBADF`), not a report silently dropped.
//! Messages on standard error go through [`msgln!`] and [`msg!`], which cannot panic either.

use super::STDOUT_WAS_CLOSED;
use std::io::Write;
use std::sync::atomic::Ordering;

/// The path that errors about standard output name.
pub const STDOUT: &str = "<stdout>";

/// Exit status when standard output's reader goes away (128 + SIGPIPE), as a process killed by
/// SIGPIPE would have.
pub const EXIT_BROKEN_PIPE: i32 = 141;

/// The error for a write to standard output.
fn error(e: std::io::Error) -> dgen::Error {
    dgen::Error::io("write", STDOUT, None, e)
}

/// Fails (`EBADF`) when standard output was closed when dgen started (or is closed now).
pub fn usable() -> dgen::Result<()> {
    // SAFETY: F_GETFD only queries descriptor 1.
    if STDOUT_WAS_CLOSED.load(Ordering::Relaxed) || unsafe { libc::fcntl(1, libc::F_GETFD) } < 0 {
        return Err(error(std::io::Error::from_raw_os_error(libc::EBADF)));
    }
    Ok(())
}

/// Writes `args` to standard output (a closed one was refused before the command started:
/// [`usable`], in `cli::run` and `gen -o -`).
pub fn write(args: std::fmt::Arguments) -> dgen::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(error)
}

/// Whether `err` is a write to standard output whose reader went away.
pub fn broken_pipe(err: &dgen::Error) -> bool {
    matches!(err, dgen::Error::Io { path, source, .. }
        if path.as_os_str() == STDOUT && source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `print!` to standard output, returning the error from the enclosing function (see the module).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::report::write(format_args!($($arg)*))?
    };
}

/// `println!` to standard output, returning the error from the enclosing function (see the
/// module).
macro_rules! outln {
    () => {
        $crate::cli::report::write(format_args!("\n"))?
    };
    ($($arg:tt)*) => {
        $crate::cli::report::write(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

/// `eprintln!` that cannot panic: a message on standard error, best effort. Messages are
/// diagnostics; the exit status and the reports on standard output carry the results, so a
/// standard error whose reader went away (`dgen write ... 2>&1 | head -1`) loses the messages
/// but neither the run nor its status (`eprintln!` panicked there, and dgen aborted).
macro_rules! msgln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that cannot panic (see [`msgln!`]).
macro_rules! msg {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

pub(crate) use {msg, msgln, out, outln};
