//! Issue 11 through fio: `dgen_dedupe_scope=global` makes every file of every job on every host
//! one dedup space (four jobs on four files in one fio; three fio servers driven by one client,
//! each with its own `DGEN_HOST_INDEX`), and `dgen_dedupe_working_set` / `dgen_dedupe_skew` give
//! the bytes the CLI gives. Everything written is concatenated and measured with the analyzer.
//!
//! The engine is `common::engine()` (`DGEN_FIO_ENGINE`, else next to the test binary).

#[allow(dead_code)] // each test file uses a part of the shared helpers
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{engine, text, Server};
use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec};
use dgen::{CopySource, DedupScope, GenParams, Generator};

fn fio(dir: &Path, job: &str) -> Output {
    let file = dir.join("job.fio");
    fs::write(&file, job).unwrap();
    Command::new("fio")
        .current_dir(dir)
        .arg(&file)
        .output()
        .expect("fio must be installed (apt-get install fio)")
}

const SEED: u64 = 77;
const SIZE: usize = 32 << 20;

/// The data options of every job here, with the engine.
fn data(extra: &str) -> String {
    format!(
        "ioengine=external:{}\nrw=write\nbs=128k\nsize={SIZE}\ndgen_io=psync\ndgen_seed={SEED}\n\
         dgen_dedupe_ratio=2\n{extra}",
        engine().display()
    )
}

/// What stream `index` of the global scope holds.
fn global_stream(index: u32) -> Vec<u8> {
    let params = GenParams {
        dedup_ratio: 2.0,
        scope: DedupScope::Global { index },
        ..GenParams::new(SEED)
    };
    let mut v = vec![0u8; SIZE];
    Generator::new(params).unwrap().fill(0, &mut v);
    v
}

/// Fixed-block dedup ratios of `data` at 4 KiB and 128 KiB.
fn dedup_ratios(data: &[u8]) -> Vec<f64> {
    let opts = AnalyzeOptions {
        units: vec![4 << 10, 128 << 10],
        codecs: vec![Codec::Lz4],
        limit: None,
    };
    let report = analyze_bytes(data, &opts).unwrap();
    report.units.iter().map(|u| u.dedup_ratio).collect()
}

fn assert_ratio(data: &[u8], want: f64, what: &str) {
    for r in dedup_ratios(data) {
        assert!((r / want - 1.0).abs() <= 0.005, "{what}: {r}, want {want}");
    }
}

#[test]
fn four_jobs_on_four_files_share_one_dedup_space() {
    let d = tempfile::tempdir().unwrap();
    let mut job = format!("[global]\n{}", data("dgen_dedupe_scope=global\n"));
    for f in ["a", "b", "c", "d"] {
        job.push_str(&format!("[{f}]\nfilename={f}.bin\n"));
    }
    let o = fio(d.path(), &job);
    assert!(o.status.success(), "{}", text(&o));
    let files: Vec<Vec<u8>> = ["a", "b", "c", "d"]
        .iter()
        .map(|f| fs::read(d.path().join(format!("{f}.bin"))).unwrap())
        .collect();
    for (j, f) in files.iter().enumerate() {
        assert!(*f == global_stream(j as u32), "file {j} is not stream {j}");
    }
    assert_ratio(&files.concat(), 2.0, "four files together");
    assert_ratio(&files[0], 2.0, "file 0 alone");
    assert!(
        dedup_ratios(&files[3])[1] < 1.6,
        "file 3 alone copies the others"
    );

    // Each file verifies through fio with the same layout.
    let verify = job.replace("rw=write", "rw=read\ndgen_verify=1");
    let o = fio(d.path(), &verify);
    let t = text(&o);
    assert!(o.status.success() && !t.contains("err=84"), "{t}");
}

#[test]
fn three_fio_servers_share_one_dedup_space() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let servers: Vec<Server> = dirs
        .iter()
        .enumerate()
        .map(|(h, dir)| {
            Server::start_with_env(
                Path::new("fio"),
                dir.path(),
                Stdio::null(),
                &[("DGEN_HOST_INDEX", &h.to_string())],
            )
        })
        .collect();
    let client = tempfile::tempdir().unwrap();
    let job = client.path().join("g.fio");
    fs::write(
        &job,
        format!(
            "[g]\nfilename=g.bin\n{}",
            data("dgen_dedupe_scope=global\n")
        ),
    )
    .unwrap();
    let mut cmd = Command::new("fio");
    for s in &servers {
        cmd.arg(format!("--client=ip:127.0.0.1,{}", s.port))
            .arg(&job);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    drop(servers);
    let files: Vec<Vec<u8>> = dirs
        .iter()
        .map(|dir| fs::read(dir.path().join("g.bin")).unwrap())
        .collect();
    for (h, f) in files.iter().enumerate() {
        assert!(
            *f == global_stream(h as u32),
            "host {h} did not write stream {h}"
        );
    }
    assert_ratio(&files.concat(), 2.0, "three hosts together");
}

#[test]
fn copy_source_options_give_the_cli_bytes_and_bad_values_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let o = fio(
        d.path(),
        &format!(
            "[w]\nfilename=w.bin\ndgen_stream=5\n{}",
            data("dgen_dedupe_working_set=10%\ndgen_dedupe_skew=1\ndgen_dedupe_shifted=1\n")
        ),
    );
    assert!(o.status.success(), "{}", text(&o));
    let params = GenParams {
        dedup_ratio: 2.0,
        stream_id: 5,
        copy_source: CopySource {
            working_set: Some(0.1),
            skew: 1.0,
            shifted: true,
        },
        ..GenParams::new(SEED)
    };
    let mut want = vec![0u8; SIZE];
    Generator::new(params).unwrap().fill(0, &mut want);
    assert!(fs::read(d.path().join("w.bin")).unwrap() == want);

    for (option, reason) in [
        ("dgen_dedupe_working_set=0%", "(0%, 100%]"),
        ("dgen_dedupe_skew=11", "from 0"),
        ("dgen_dedupe_scope=world", "not one of stream"),
        ("dgen_dedupe_shifted=maybe", "expected 0 or 1"),
    ] {
        let o = fio(
            d.path(),
            &format!("[x]\nfilename=x.bin\n{}", data(&format!("{option}\n"))),
        );
        let t = text(&o);
        assert!(!o.status.success(), "{option} accepted:\n{t}");
        let line = t
            .lines()
            .find(|l| l.contains("dgen: bad option"))
            .unwrap_or_else(|| panic!("{option}: no message:\n{t}"));
        assert!(line.contains(option) && line.contains(reason), "{line}");
        assert!(
            !d.path().join("x.bin").exists(),
            "{option} created the file"
        );
    }
}

/// `jobs/global-dedup.fio` runs as documented: its four files hold 2:1 together.
#[test]
fn the_global_dedup_job_file_holds_the_ratio_over_its_files() {
    let d = tempfile::tempdir().unwrap();
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/global-dedup.fio");
    let o = Command::new("fio")
        .env("DGEN_DIR", d.path())
        .env("DGEN_SIZE", "16m")
        .arg(format!("--ioengine=external:{}", engine().display()))
        // The temporary directory may be on tmpfs, which has no O_DIRECT.
        .arg("--direct=0")
        .arg(&job)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let all: Vec<u8> = (0..4)
        .flat_map(|j| fs::read(d.path().join(format!("vol{j}.bin"))).unwrap())
        .collect();
    assert_eq!(all.len(), 64 << 20);
    assert_ratio(&all, 2.0, "the job file's four files");
}
