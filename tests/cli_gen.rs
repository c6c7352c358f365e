//! The `dgen gen` and `dgen analyze` command lines, run as a user would.

use dgen::params::stream_id_for_path;
use dgen::{GenParams, Generator};

mod dgen_cli;
use dgen_cli::dgen;

fn expected(seed: u64, stream: u64, d: f64, c: f64, offset: u64, len: usize) -> Vec<u8> {
    let p = GenParams {
        seed,
        stream_id: stream,
        dedup_ratio: d,
        compress_ratio: c,
        ..GenParams::new(seed)
    };
    let mut buf = vec![0u8; len];
    Generator::new(p).unwrap().fill(offset, &mut buf);
    buf
}

#[test]
fn gen_writes_the_generator_bytes_to_a_file_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    let out = dgen(&[
        "gen",
        "--size",
        "1.5M",
        "--dedup",
        "1.37",
        "--compress",
        "2.5",
        "--seed",
        "42",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stream = stream_id_for_path(&path);
    let want = expected(42, stream, 1.37, 2.5, 0, 3 << 19);
    assert!(std::fs::read(&path).unwrap() == want);
    // The summary on stderr names the seed and the stream, so the run can be reproduced.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("seed 42") && stderr.contains(&format!("stream {stream}")),
        "{stderr}"
    );

    // Standard output, at an unaligned offset, with that stream id: the same bytes.
    let stream_arg = stream.to_string();
    let out = dgen(&[
        "gen",
        "--size",
        "10000",
        "--offset",
        "12345",
        "--dedup",
        "1.37",
        "--compress",
        "2.5",
        "--seed",
        "42",
        "--stream-id",
        &stream_arg,
        "-o",
        "-",
    ]);
    assert!(out.status.success());
    assert!(out.stdout == want[12345..22345]);
}

#[test]
fn gen_without_seed_draws_one_and_reports_it() {
    let out = dgen(&["gen", "--size", "8k", "-o", "-"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seed: u64 = stderr
        .split("seed ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(out.stdout == expected(seed, 0, 1.0, 1.0, 0, 8192));
}

#[test]
fn bad_input_exits_2_with_one_line_and_touches_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("keep.bin");
    std::fs::write(&existing, b"precious").unwrap();
    let fresh = dir.path().join("fresh.bin");
    let cases: [(&[&str], &str); 9] = [
        (&["--dedup", "0.5"], "dedup ratio"),
        (&["--compress", "NaN"], "compression ratio"),
        (&["--compress", "inf"], "compression ratio"),
        (&["--compress", "0.99"], "compression ratio"),
        (&["--dedup-unit", "12k"], "dedup unit"),
        (&["--dedup-unit", "32M"], "dedup unit"),
        (&["--size", "0"], "size"),
        (&["--size", "12q"], "size"),
        (&["--size", "lots"], "size"),
    ];
    for (extra, names) in cases {
        for target in [&existing, &fresh] {
            let mut args = vec!["gen", "--seed", "1"];
            if extra[0] != "--size" {
                args.extend_from_slice(&["--size", "1M"]);
            }
            args.extend_from_slice(extra);
            args.extend_from_slice(&["-o", target.to_str().unwrap()]);
            let out = dgen(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
            assert!(stderr.contains(names), "{extra:?}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "{extra:?}: {stderr}");
        }
        assert_eq!(
            std::fs::read(&existing).unwrap(),
            b"precious",
            "{extra:?} truncated the file"
        );
        assert!(!fresh.exists(), "{extra:?} created the file");
    }
    let missing = dir.path().join("no/such/dir/x.bin");
    let out = dgen(&["gen", "--size", "1M", "-o", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The seed line comes first (the record), then one error line.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("dgen: ")).collect();
    assert!(
        errors.len() == 1 && errors[0].contains("no/such/dir"),
        "{stderr}"
    );
    assert!(stderr.lines().next().unwrap().contains("seed "), "{stderr}");
}

#[test]
fn version_and_help_explain_themselves() {
    let out = dgen(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("dgen "));
    let out = dgen(&["gen", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--size",
        "--dedup",
        "--compress",
        "--dedup-unit",
        "--seed",
        "--stream-id",
        "--offset",
        "--output",
    ] {
        assert!(help.contains(flag), "gen --help lacks {flag}");
    }
}

#[test]
fn analyze_reports_the_ratios_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.bin");
    let p = path.to_str().unwrap();
    assert!(dgen(&[
        "gen",
        "--size",
        "32M",
        "--dedup",
        "2",
        "--compress",
        "3",
        "--seed",
        "9",
        "-o",
        p
    ])
    .status
    .success());
    let out = dgen(&[
        "analyze",
        p,
        "--units",
        "4k,128k",
        "--codecs",
        "lz4,zstd-1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["bytes"], 32 << 20);
    for unit in json["units"].as_array().unwrap() {
        let dedup = unit["dedup_ratio"].as_f64().unwrap();
        assert!((dedup / 2.0 - 1.0).abs() < 0.005, "{unit}");
        assert_eq!(unit["zero_units"], 0);
        for c in unit["compression"].as_array().unwrap() {
            let r = c["ratio"].as_f64().unwrap();
            assert!((r / 3.0 - 1.0).abs() < 0.03, "{c}");
        }
    }
    // `-` reads standard input: the same figures as the file's (speeds aside).
    let piped = std::process::Command::new(env!("CARGO_BIN_EXE_dgen"))
        .args([
            "analyze",
            "-",
            "--units",
            "4k,128k",
            "--codecs",
            "lz4,zstd-1",
            "--json",
        ])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let piped: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert_eq!(piped["bytes"], json["bytes"]);
    for (a, b) in piped["units"]
        .as_array()
        .unwrap()
        .iter()
        .zip(json["units"].as_array().unwrap())
    {
        assert_eq!(a["dedup_ratio"], b["dedup_ratio"]);
        for (x, y) in a["compression"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["compression"].as_array().unwrap())
        {
            assert_eq!(x["ratio"], y["ratio"]);
        }
    }
    let out = dgen(&["analyze", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(2));
    let out = dgen(&["analyze", p, "--codecs", "brotli"]);
    assert_eq!(out.status.code(), Some(2));
}
