//! The fault matrix ("Faults and what dgen does" in the README): one test per row, each checking
//! the exit status, the message, and the target's length and content before and after.

mod pipeline_common;

use dgen::pipeline::{verify_file, write_files, VerifyOptions};
use pipeline_common::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod dgen_cli;
use dgen_cli::dgen;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The lines dgen prints for errors (the seed line at the start is the record, not an error).
fn error_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("dgen: "))
        .map(String::from)
        .collect()
}

fn one_error(o: &Output, want: &[&str]) {
    let errs = error_lines(o);
    assert_eq!(errs.len(), 1, "one error line: {}", stderr(o));
    for w in want {
        assert!(errs[0].contains(w), "{w:?} not in {:?}", errs[0]);
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

// Row 1: verify never passes on missing data.

#[test]
fn verify_of_an_empty_file_is_refused() {
    let dir = disk_tempdir();
    let f = dir.path().join("empty.bin");
    std::fs::write(&f, b"").unwrap();
    let o = dgen(&["verify", p(&f), "--seed", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    one_error(
        &o,
        &["invalid size", "empty (0 bytes)", "nothing to verify"],
    );
    assert_eq!(std::fs::metadata(&f).unwrap().len(), 0);
}

#[test]
fn verify_of_a_truncated_file_fails_at_the_end_of_the_data() {
    let dir = disk_tempdir();
    let f = dir.path().join("cut.bin");
    let o = dgen(&["write", p(&f), "--size", "2M", "--seed", "4", "--no-fsync"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(1_000_000)
        .unwrap();
    for extra in [&[][..], &["--no-uring"], &["--no-direct"]] {
        let mut args = vec!["verify", p(&f), "--seed", "4", "--size", "2M"];
        args.extend_from_slice(extra);
        let o = dgen(&args);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        one_error(&o, &["data ends at byte 1000000", "at byte offset 1000000"]);
    }
    // Without --size the rule is: the whole current length is checked and reported.
    let o = dgen(&["verify", p(&f), "--seed", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("(1000000 bytes)"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(stderr(&o).contains("no --size given"), "{}", stderr(&o));
}

#[test]
fn verify_of_dev_null_needs_a_size_and_then_fails_at_offset_zero() {
    let o = dgen(&["verify", "/dev/null", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    one_error(&o, &["invalid size", "required for /dev/null"]);
    // A read that returns 0 bytes (end of file) is a failure on both engines, never a pass.
    for engine in [&[][..], &["--no-uring"]] {
        let mut args = vec!["verify", "/dev/null", "--seed", "1", "--size", "1M"];
        args.extend_from_slice(engine);
        let o = dgen(&args);
        assert_eq!(o.status.code(), Some(1), "{engine:?}: {}", stderr(&o));
        one_error(&o, &["ends at byte 0", "at byte offset 0"]);
    }
    // The library says the same.
    let mut v = VerifyOptions {
        size: Some(1 << 20),
        ..verify_opts(params(1, 0))
    };
    for io_uring in [true, false] {
        v.io_uring = io_uring;
        let e = verify_file(Path::new("/dev/null"), &v, &mut no_progress()).unwrap_err();
        assert_eq!(e.bytes_done, 0);
        assert!(
            matches!(
                e.error,
                dgen::Error::Io {
                    offset: Some(0),
                    ..
                }
            ),
            "{e}"
        );
    }
}

// Row 2: nothing lost.

#[test]
fn a_size_too_large_for_the_file_system_is_refused_before_the_file_is_touched() {
    let dir = disk_tempdir();
    let f = dir.path().join("keep.bin");
    std::fs::write(&f, b"old content").unwrap();
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    // 15 EiB is above what any file can have; 100 TiB is above ext4's 16 TiB per file.
    let fs_type = Command::new("stat")
        .args(["-f", "-c", "%T", p(dir.path())])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut cases = vec![("15E", "largest size a file can have")];
    if fs_type == "ext2/ext3" || fs_type == "ext4" {
        cases.push(("100T", "file system"));
    } else {
        eprintln!("note: {fs_type} is not ext4: the 100 TiB EFBIG case is not run");
    }
    for (size, why) in cases {
        let o = dgen(&["write", p(&f), "--size", size, "--seed", "1"]);
        assert_eq!(o.status.code(), Some(2), "{size}: {}", stderr(&o));
        one_error(&o, &["invalid size", why]);
        assert_eq!(std::fs::read(&f).unwrap(), b"old content", "{size}");
        assert_eq!(
            std::fs::metadata(&f).unwrap().modified().unwrap(),
            mtime,
            "{size}"
        );
    }
    // No scratch file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn a_size_above_rlimit_fsize_is_refused_before_the_file_is_touched() {
    let dir = disk_tempdir();
    let f = dir.path().join("keep.bin");
    std::fs::write(&f, b"old content").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dgen"));
    cmd.args(["write", p(&f), "--size", "8M", "--seed", "1"]);
    // SAFETY: setrlimit is async-signal-safe; it only changes the child's own limit.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: 1 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    one_error(&o, &["invalid size", "RLIMIT_FSIZE", "1048576 bytes"]);
    assert_eq!(std::fs::read(&f).unwrap(), b"old content");
}

#[test]
fn write_files_leaves_every_file_as_it_was_when_one_cannot_be_opened() {
    let dir = disk_tempdir();
    let a = dir.path().join("a.bin");
    let b = dir.path().join("b.bin");
    let fresh = dir.path().join("fresh.bin");
    std::fs::write(&a, b"file a").unwrap();
    std::fs::write(&b, b"file b").unwrap();
    // An immutable file cannot be opened for writing, even by root (EPERM); as a non-root
    // user a read-only mode does the same (EACCES).
    let immutable = Command::new("chattr")
        .arg("+i")
        .arg(&b)
        .status()
        .is_ok_and(|s| s.success());
    if !immutable {
        let mut perm = std::fs::metadata(&b).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o444);
        std::fs::set_permissions(&b, perm).unwrap();
        if std::fs::OpenOptions::new().write(true).open(&b).is_ok() {
            eprintln!("SKIP: no way to make a file unwritable here");
            return;
        }
    }
    let opts = write_opts(params(3, 0), 4 << 20);
    let paths = [a.clone(), fresh.clone(), b.clone()];
    let e = write_files(&paths, &opts, &mut no_progress()).unwrap_err();
    if immutable {
        let _ = Command::new("chattr").arg("-i").arg(&b).status();
    }
    assert!(
        matches!(e.error.errno(), Some(libc::EPERM | libc::EACCES)),
        "{e}"
    );
    assert!(e.to_string().contains("b.bin"), "{e}");
    assert_eq!(e.bytes_done, 0);
    assert!(e.valid_lengths.is_empty());
    assert_eq!(std::fs::read(&a).unwrap(), b"file a", "a was touched");
    assert_eq!(std::fs::read(&b).unwrap(), b"file b");
    assert!(!fresh.exists(), "the file this run created is removed");
}

// Row 3: signals, FIFOs, character devices.

/// Starts a large write, sends `sig` after it has written something, and checks the clean stop.
fn signal_stops_a_write(sig: libc::c_int, name: &str) {
    let dir = disk_tempdir();
    let f = dir.path().join("big.bin");
    let child = Command::new(env!("CARGO_BIN_EXE_dgen"))
        .args(["write", p(&f), "--size", "64G", "--seed", "9", "--no-fsync"])
        .args(["--buffer-size", "1M"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: sends a signal to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    let start = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(o.status.code(), Some(128 + sig), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.lines().next().unwrap().contains("seed 9"),
        "seed first: {err}"
    );
    let summary: Vec<&str> = err.lines().filter(|l| l.contains("stopped by")).collect();
    assert_eq!(summary.len(), 1, "{err}");
    let line = summary[0];
    assert!(line.contains(name) && line.contains("seed 9"), "{line}");
    let valid = valid_length(line);
    assert_eq!(
        std::fs::metadata(&f).unwrap().len(),
        valid,
        "cut back to it"
    );
    assert!(valid > 0, "700 ms wrote nothing: {line}");
    let o = dgen(&["verify", p(&f), "--seed", "9", "--size", &valid.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn sigterm_stops_a_write_with_143_and_a_verifiable_prefix() {
    signal_stops_a_write(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sighup_stops_a_write_with_129_and_a_verifiable_prefix() {
    signal_stops_a_write(libc::SIGHUP, "SIGHUP");
}

#[test]
fn sigxfsz_stops_a_write_with_153_and_a_verifiable_prefix() {
    signal_stops_a_write(libc::SIGXFSZ, "SIGXFSZ");
}

#[test]
fn fifos_and_character_devices_are_refused_without_blocking() {
    let dir = disk_tempdir();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(p(&fifo)).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for args in [
        vec!["write", p(&fifo), "--size", "1M", "--seed", "1"],
        vec!["verify", p(&fifo), "--size", "1M", "--seed", "1"],
        vec!["write", "/dev/zero", "--size", "1M", "--seed", "1"],
        vec!["verify", "/dev/zero", "--size", "1M", "--seed", "1"],
    ] {
        let start = Instant::now();
        let o = dgen(&args);
        assert!(start.elapsed() < Duration::from_secs(5), "{args:?} blocked");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        one_error(
            &o,
            &["invalid path", "regular files, block devices and /dev/null"],
        );
    }
    // /dev/null is a valid write target.
    let o = dgen(&["write", "/dev/null", "--size", "4M", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

// Row 4: the record.

#[test]
fn json_is_one_object_with_an_error_on_failure_and_on_a_signal() {
    let dir = disk_tempdir();
    let f = dir.path().join("j.bin");
    for args in [
        vec![
            "write",
            p(&f),
            "--size",
            "1M",
            "--dedup",
            "0.5",
            "--seed",
            "3",
            "--json",
        ],
        vec!["write", p(&f), "--json"],
        vec![
            "verify",
            "/dev/null",
            "--size",
            "1M",
            "--seed",
            "3",
            "--json",
        ],
        vec!["write", p(&f), "--size", "1.5", "--json"],
    ] {
        let o = dgen(&args);
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {:?}", o.stdout));
        assert!(v["error"].is_string(), "{args:?}: {v}");
        assert_eq!(v["exit_code"], o.status.code().unwrap(), "{args:?}: {v}");
    }
    // Interrupted: still one object, with the seed and the valid length.
    let child = Command::new(env!("CARGO_BIN_EXE_dgen"))
        .args([
            "write",
            p(&f),
            "--size",
            "64G",
            "--seed",
            "11",
            "--no-fsync",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: sends SIGTERM to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["signal"], "SIGTERM", "{v}");
    assert_eq!(v["seed"], 11, "{v}");
    assert!(v["error"].is_string(), "{v}");
    assert_eq!(
        v["valid_length"].as_u64().unwrap(),
        std::fs::metadata(&f).unwrap().len(),
        "{v}"
    );
}

#[test]
fn the_seed_is_printed_before_anything_is_written() {
    let dir = disk_tempdir();
    let f = dir.path().join("s.bin");
    for args in [
        vec!["write", p(&f), "--size", "1M"],
        vec!["gen", "--size", "1M", "-o", p(&f)],
    ] {
        let o = dgen(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let first = stderr(&o).lines().next().unwrap_or_default().to_string();
        assert!(first.contains(" seed "), "{args:?}: {first}");
    }
}

// Row 5: bad input.

#[test]
fn bad_input_names_the_argument_the_value_and_the_reason() {
    let dir = disk_tempdir();
    let f = dir.path().join("keep.bin");
    std::fs::write(&f, b"keep").unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["gen"],
            &["missing required arguments", "--size", "--output"],
        ),
        (
            &["write", p(&f), "--size", "1.5"],
            &["--size", "'1.5'", "not a whole number of bytes"],
        ),
        (
            &["write", p(&f), "--size", "1.3k"],
            &["'1.3k'", "not a whole number of bytes"],
        ),
        (
            &["write", p(&f), "--size", "-1"],
            &["--size", "'-1'", "negative"],
        ),
        (
            &["write", p(&f), "--size", "nan"],
            &["--size", "'nan'", "not a finite number"],
        ),
        (
            &["gen", "--size", "-4k", "-o", p(&f)],
            &["'-4k'", "negative"],
        ),
        (
            &["write", p(&f), "--size", "1M", "--dedup", "-2"],
            &["dedup ratio"],
        ),
    ];
    for (args, want) in cases {
        let o = dgen(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        one_error(&o, want);
        assert_eq!(std::fs::read(&f).unwrap(), b"keep", "{args:?}");
    }
    // 1.5k is whole bytes: accepted.
    let o = dgen(&["gen", "--size", "1.5k", "-o", p(&f), "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&f).unwrap().len(), 1536);
    // Bare `dgen`: the help, on stderr, exit 2.
    let o = dgen(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Commands:") && stderr(&o).contains("write"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn analyze_of_less_than_one_unit_is_an_error() {
    let dir = disk_tempdir();
    let f = dir.path().join("small.bin");
    std::fs::write(&f, vec![7u8; 1000]).unwrap();
    let o = dgen(&["analyze", p(&f)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    one_error(&o, &["1000 bytes", "less than one 4KiB unit"]);
    assert!(o.stdout.is_empty(), "no table of zeros");
}

/// Runs dgen with `args` and its standard output closed (not redirected: descriptor 1 closed
/// before exec).
fn output_with_stdout_closed<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dgen"));
    cmd.args(args);
    // SAFETY: close is async-signal-safe; it closes the child's standard output before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    cmd.stdout(Stdio::inherit()).output().unwrap()
}

#[test]
fn gen_to_a_closed_pipe_ends_quietly_with_141_and_to_a_closed_stdout_fails() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dgen"))
        .args(["gen", "--size", "1G", "-o", "-", "--seed", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 4096];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out); // the reader goes away, as `head` does
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert!(error_lines(&o).is_empty(), "quiet: {}", stderr(&o));

    let o = output_with_stdout_closed(["gen", "--size", "1M", "-o", "-", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    one_error(&o, &["<stdout>", "Bad file descriptor"]);
}

/// The write end of a pipe whose reader has already gone away, for a child's standard output:
/// its first write fails with `EPIPE`.
fn pipe_without_reader() -> Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe` writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just opened by `pipe` and are owned by nothing else.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    Stdio::from(writer)
}

/// A report on standard output (analyze's table and JSON, verify's verdict, stream-id's lines)
/// whose reader went away ends dgen quietly with 141, as `gen -o -` does (it was a `println!`
/// panic in dgen's C entry point: an abort with a 6 KB backtrace, `dgen analyze F | head`). A
/// standard output closed at start is one error line and status 1 before anything is done, not
/// a report dropped: `write` leaves its target untouched.
#[test]
fn reports_to_a_closed_pipe_end_quietly_with_141_and_to_a_closed_stdout_fail() {
    let dir = disk_tempdir();
    let f = dir.path().join("r.bin");
    let o = dgen(&["gen", "--size", "1m", "--seed", "1", "-o", p(&f)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let runs: [&[&str]; 4] = [
        &["analyze", p(&f)],
        &["analyze", p(&f), "--json"],
        &["verify", "--size", "1m", "--seed", "1", p(&f)],
        &["stream-id", "a", "b"],
    ];
    for args in runs {
        let o = Command::new(env!("CARGO_BIN_EXE_dgen"))
            .args(args)
            .stdout(pipe_without_reader())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(141), "{args:?}: {}", stderr(&o));
        assert!(
            error_lines(&o).is_empty() && !stderr(&o).contains("panicked"),
            "quiet: {args:?}: {}",
            stderr(&o)
        );

        let o = output_with_stdout_closed(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        one_error(&o, &["<stdout>", "Bad file descriptor"]);
    }
    let target = dir.path().join("w.bin");
    let o = output_with_stdout_closed(["write", "--size", "1m", "--seed", "1", p(&target)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    one_error(&o, &["<stdout>", "Bad file descriptor"]);
    assert!(!target.exists(), "the target is not touched");
}

/// Messages on a standard error whose reader went away (`dgen write ... 2>&1 | head -1`) are
/// lost, but the run goes on and its status stands: a write completes and verifies, a verify of
/// the wrong seed still fails, a bad flag still exits 2 (an `eprintln!` panic aborted every
/// command there).
#[test]
fn a_gone_stderr_reader_loses_messages_not_the_run_or_its_status() {
    let dir = disk_tempdir();
    let f = dir.path().join("w.bin");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dgen"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(pipe_without_reader())
            .output()
            .unwrap()
    };
    let o = run(&["write", "--size", "8m", "--seed", "3", p(&f)]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("dgen write: 8MiB"));
    assert_eq!(std::fs::metadata(&f).unwrap().len(), 8 << 20);
    assert_eq!(
        run(&["verify", "--size", "8m", "--seed", "3", p(&f)])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["verify", "--size", "8m", "--seed", "4", p(&f)])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["gen", "--size", "bad", "-o", p(&f)]).status.code(),
        Some(2)
    );
}

#[test]
fn enospc_message_names_the_length_the_file_was_cut_back_to() {
    let Some(fs) = SmallTmpfs::mount("8m") else {
        return;
    };
    let f = fs.dir.path().join("full.bin");
    let o = dgen(&[
        "write",
        p(&f),
        "--size",
        "64M",
        "--seed",
        "5",
        "--buffer-size",
        "1M",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let len = std::fs::metadata(&f).unwrap().len();
    one_error(
        &o,
        &[
            "No space left on device",
            &format!("valid length {len} bytes"),
            "seed 5",
        ],
    );
}
