//! Faults a device or an exhausted system would cause, injected with `tests/faults/inject.c`
//! (LD_PRELOAD: this machine has no device-mapper error target): a pwrite failing with EIO, an
//! io_uring_enter failing with EIO, and thread creation failing with EAGAIN. Each row of the
//! README's fault matrix checks the exit status, the one error line, and the target's length and
//! content afterwards. Skipped (with a reason) where no C compiler is found.

mod pipeline_common;

use pipeline_common::{disk_tempdir, valid_length};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Builds the injector into `dir`; `None` (the test is skipped) without a C compiler.
fn injector(dir: &Path) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults/inject.c");
    let out = dir.join("inject.so");
    let ok = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .arg("-ldl")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot compile {} (no C compiler?)", src.display());
        return None;
    }
    Some(out)
}

fn dgen_with(inject: Option<(&Path, &str, String)>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dgen"));
    cmd.args(args);
    if let Some((so, var, value)) = inject {
        cmd.env("LD_PRELOAD", so).env(var, value);
    }
    cmd.output().unwrap()
}

/// The error lines (the seed line at the start is the record, not an error).
fn one_error(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("dgen: ")).collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    lines[0].to_string()
}

/// `o` is a write of seed 9 to `f` stopped by an injected EIO: exit 1, one error line naming the
/// error and the seed, and `f` cut back to a valid length below `limit` that verifies.
fn assert_stopped_at_a_verifiable_prefix(o: &Output, f: &Path, limit: u64) {
    assert_eq!(o.status.code(), Some(1));
    let line = one_error(o);
    assert!(
        line.contains("Input/output error") && line.contains("seed 9"),
        "{line}"
    );
    let valid = valid_length(&line);
    assert!(valid <= limit, "{line}");
    assert_eq!(std::fs::metadata(f).unwrap().len(), valid, "cut back to it");
    if valid > 0 {
        let v = dgen_with(
            None,
            &["verify", p(f), "--seed", "9", "-s", &valid.to_string()],
        );
        assert_eq!(
            v.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&v.stderr)
        );
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_pwrite_failing_with_eio_stops_the_write_at_a_verifiable_prefix() {
    let dir = disk_tempdir();
    let Some(so) = injector(dir.path()) else {
        return;
    };
    let f = dir.path().join("eio.bin");
    let at = 16u64 << 20;
    let o = dgen_with(
        Some((&so, "DGEN_FAULT_PWRITE_EIO_AT", at.to_string())),
        &["write", p(&f), "-s", "32M", "--seed", "9", "--no-uring"],
    );
    assert_stopped_at_a_verifiable_prefix(&o, &f, at);
}

#[test]
fn an_io_uring_enter_failing_with_eio_stops_the_write_at_a_verifiable_prefix() {
    let dir = disk_tempdir();
    let Some(so) = injector(dir.path()) else {
        return;
    };
    let f = dir.path().join("uring.bin");
    let o = dgen_with(
        Some((&so, "DGEN_FAULT_URING_EIO_AFTER", "40".into())),
        &[
            "write",
            p(&f),
            "-s",
            "256M",
            "--seed",
            "9",
            "--buffer-size",
            "1M",
        ],
    );
    assert_stopped_at_a_verifiable_prefix(&o, &f, (256 << 20) - 1);
}

#[test]
fn threads_that_cannot_start_leave_an_existing_file_as_it_was() {
    let dir = disk_tempdir();
    let Some(so) = injector(dir.path()) else {
        return;
    };
    let f = dir.path().join("keep.bin");
    let o = dgen_with(None, &["write", p(&f), "-s", "8M", "--seed", "9"]);
    assert_eq!(o.status.code(), Some(0));
    let before = std::fs::read(&f).unwrap();
    let o = dgen_with(
        Some((&so, "DGEN_FAULT_THREAD_EAGAIN", "1".into())),
        &["write", p(&f), "-s", "32M", "--seed", "10"],
    );
    assert_eq!(o.status.code(), Some(1));
    let line = one_error(&o);
    assert!(
        line.contains("start threads") && line.contains("Resource temporarily unavailable"),
        "{line}"
    );
    assert_eq!(std::fs::read(&f).unwrap(), before, "the file was touched");
}
