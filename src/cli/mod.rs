//! The `dgen` command line: one module per subcommand, the data flags shared in [`data_args`].

mod analyze;
mod data_args;
mod gen;
mod io_args;
mod report;
mod stream_id;
mod verify;
mod write;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use report::{msg, msgln};
use std::sync::atomic::AtomicBool;

/// dgen: data with exact deduplication and compression ratios, for storage testing.
///
/// Bytes are a pure function of (seed, stream id, ratios, dedup unit, offset): the same flags
/// always give the same bytes, so any run can be reproduced and verified.
#[derive(Parser, Debug)]
#[command(name = "dgen", arg_required_else_help = true, version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("DGEN_GIT_REVISION"), ")"))]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate bytes to a file or standard output.
    Gen(gen::GenArgs),
    /// Measure a file's dedup and compression ratios with real codecs.
    Analyze(analyze::AnalyzeArgs),
    /// Write generated data to a file or block device at the storage's speed (O_DIRECT, io_uring).
    Write(write::WriteArgs),
    /// Read a file or device back and check every byte against the generator (exit 1 on mismatch).
    Verify(verify::VerifyArgs),
    /// Print the stream id each target gets by default (for --stream-id after a move or rename).
    StreamId(stream_id::StreamIdArgs),
}

/// Set at start-up when descriptor 1 (standard output) was closed when dgen started.
pub static STDOUT_WAS_CLOSED: AtomicBool = AtomicBool::new(false);

/// Exit status for bad input (flags, paths that cannot be opened).
const EXIT_USAGE: i32 = 2;
/// Exit status for a failure while running.
const EXIT_FAILURE: i32 = 1;

/// Parses the command line, runs the subcommand and returns the process exit status.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Bare `dgen`: the help, on stderr (it is not the output asked for), exit 2.
            msg!("{}", err.render());
            return EXIT_USAGE;
        }
        Err(err) if err.use_stderr() => {
            let line = parse_error_line(&err);
            msgln!("dgen: {line}");
            if std::env::args_os().any(|a| a == "--json") {
                // Best effort: the exit status says it already.
                let _ = report::write(format_args!(
                    "{}\n",
                    serde_json::json!({ "error": line, "exit_code": EXIT_USAGE })
                ));
            }
            return EXIT_USAGE;
        }
        Err(err) => {
            // --help and --version.
            let _ = err.print();
            return 0;
        }
    };
    // The commands whose report goes to standard output refuse a closed one before they start
    // (`write` would otherwise fill its target and fail at the end).
    if !matches!(cli.command, Command::Gen(_)) {
        if let Err(err) = report::usable() {
            msgln!("dgen: error: {err}");
            return EXIT_FAILURE;
        }
    }
    let result = match cli.command {
        Command::Gen(args) => gen::run(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Write(args) => write::run(args),
        Command::Verify(args) => verify::run(args),
        Command::StreamId(args) => stream_id::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of a report went away (`dgen analyze F | head`): quietly, as `gen -o -`.
        Err(err) if report::broken_pipe(&err) => report::EXIT_BROKEN_PIPE,
        Err(err) => {
            msgln!("dgen: error: {err}");
            exit_code(&err)
        }
    }
}

/// One line for a command-line error: clap's own first line (which names the argument, the value
/// and the reason), with the missing arguments named when some are missing.
fn parse_error_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let mut lines = text.lines();
    let first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim()
        .to_string();
    if err.kind() != ErrorKind::MissingRequiredArgument {
        return first;
    }
    let missing: Vec<&str> = lines
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    if missing.is_empty() {
        first
    } else {
        format!(
            "error: missing required argument{}: {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )
    }
}

/// Bad input (an invalid value, a path that cannot be opened or created) exits 2; anything that
/// fails mid-run exits 1.
fn exit_code(err: &dgen::Error) -> i32 {
    match err {
        dgen::Error::InvalidArgument { .. } => EXIT_USAGE,
        dgen::Error::Io { op, .. } if matches!(*op, "open" | "create") => EXIT_USAGE,
        _ => EXIT_FAILURE,
    }
}
