//! The `dgen` binary built with the tests, run as the CLI tests run it.

use std::process::{Command, Output};

/// Runs the `dgen` binary with `args` and waits for it: its exit status, stdout and stderr.
pub fn dgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dgen"))
        .args(args)
        .output()
        .expect("run dgen")
}
