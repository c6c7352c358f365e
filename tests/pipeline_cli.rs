//! `dgen write` and `dgen verify` from the command line: exit statuses, messages, JSON, and the
//! same bytes as `dgen gen`.

mod pipeline_common;

use pipeline_common::*;
use std::process::{Command, Output};

mod dgen_cli;
use dgen_cli::dgen;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn write_then_verify_exit_zero_and_a_flipped_byte_exits_one_with_its_offset() {
    let dir = disk_tempdir();
    let f = dir.path().join("cli.bin");
    let fs = f.to_str().unwrap();
    let o = dgen(&[
        "write",
        fs,
        "--size",
        "5M",
        "--dedup",
        "2",
        "--compress",
        "3",
        "--seed",
        "77",
        "--buffer-size",
        "1M",
        "--qd",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("seed 77"), "summary names the seed: {out}");
    assert_eq!(std::fs::metadata(&f).unwrap().len(), 5 << 20);

    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            fs,
            "--seed",
            "77",
            "--dedup",
            "2",
            "--compress",
            "3",
        ];
        args.extend_from_slice(extra);
        dgen(&args)
    };
    let o = verify(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let mut data = std::fs::read(&f).unwrap();
    data[4_000_000] ^= 4;
    std::fs::write(&f, &data).unwrap();
    let o = verify(&["--no-uring"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("4000000"), "{}", text(&o));
    let o = verify(&["--json"]);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["first_mismatch_offset"], 4_000_000);
    assert_eq!(j["mismatched_blocks"], 1);
    assert_eq!(j["clean"], false);

    // Different flags are a mismatch at byte 0.
    let o = dgen(&["verify", fs, "--seed", "77"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn write_gives_the_same_bytes_as_gen_for_the_same_seed_and_stream() {
    let dir = disk_tempdir();
    let w = dir.path().join("w.bin");
    let g = dir.path().join("g.bin");
    let o = dgen(&[
        "write",
        w.to_str().unwrap(),
        "--size",
        "3000001",
        "--seed",
        "5",
        "--compress",
        "2",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["bytes_written"], 3000001);
    assert_eq!(j["seed"], 5);
    assert_eq!(j["io_engine"], "io_uring");
    assert_eq!(j["direct_io"], true);
    let stream = j["stream_id"].as_u64().unwrap().to_string();
    let o = dgen(&[
        "gen",
        "--size",
        "3000001",
        "--seed",
        "5",
        "--compress",
        "2",
        "--stream-id",
        &stream,
        "-o",
        g.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read(&w).unwrap() == std::fs::read(&g).unwrap(),
        "dgen write and dgen gen differ"
    );

    // Without --seed a seed is drawn and printed; verify with it is clean.
    let o = dgen(&[
        "write",
        w.to_str().unwrap(),
        "--size",
        "1M",
        "--no-direct",
        "--no-uring",
        "--no-fsync",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let seed = out
        .split("seed ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let o = dgen(&["verify", w.to_str().unwrap(), "--seed", &seed]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn bad_arguments_exit_two_with_one_line_and_touch_nothing() {
    let dir = disk_tempdir();
    let f = dir.path().join("keep.bin");
    std::fs::write(&f, b"keep me").unwrap();
    let fs = f.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["write", fs, "--size", "1M", "--buffer-size", "1000"],
        &["write", fs, "--size", "1M", "--dedup", "0.5"],
        &["write", fs, "--size", "1M", "--compress", "nan"],
        &["write", fs, "--size", "0"],
        &["write", fs, "--size", "lots"],
        &["write", fs],
        &["write", fs, "--size", "1M", "--qd", "0"],
        &["write", fs, "--size", "1M", "--dedup-unit", "3k"],
        &["verify", fs],
        &["verify", fs, "--seed", "1", "--buffer-size", "4097"],
    ];
    for args in cases {
        let o = dgen(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.trim().is_empty(), "{args:?}");
        assert_eq!(
            std::fs::read(&f).unwrap(),
            b"keep me",
            "{args:?} touched the file"
        );
    }
    // A file shorter than --size is missing data: a failed verification (exit 1), not bad input.
    let o = dgen(&["verify", fs, "--seed", "1", "--size", "1M"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // A missing directory: exit 2, nothing created.
    let missing = dir.path().join("nope/x.bin");
    let o = dgen(&["write", missing.to_str().unwrap(), "--size", "1M"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!dir.path().join("nope").exists());
}

#[test]
fn ctrl_c_stops_a_write_cleanly_with_exit_130() {
    let dir = disk_tempdir();
    let f = dir.path().join("big.bin");
    let child = Command::new(env!("CARGO_BIN_EXE_dgen"))
        .args([
            "write",
            f.to_str().unwrap(),
            "--size",
            "64G",
            "--seed",
            "9",
            "--no-fsync",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: sends SIGINT to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let start = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("stopped by SIGINT"), "{err}");
    assert!(err.contains("seed 9"), "the seed is reported: {err}");
}
