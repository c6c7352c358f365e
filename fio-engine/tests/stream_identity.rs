//! Issue 11 (A) through fio: one job file with a fixed seed writes `vol1/test.dat` and
//! `vol2/test.dat`; with the default `dgen_stream=path` they differ (no 4 KiB unit in common), each
//! verifies (through fio, and through `dgen verify` when `DGEN_BIN` names the CLI), a moved file
//! fails with a hint naming the path rule and `dgen_stream`, and `dgen_stream=name` brings back
//! the old name-only rule.
//!
//! The engine is `common::engine()` (`DGEN_FIO_ENGINE`, else next to the test binary).

#[allow(dead_code)] // each test file uses a part of the shared helpers
mod common;
use common::{engine, text};

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use dgen::params::{stream_id_for_name, stream_id_for_path};
use dgen::{GenParams, Generator};

fn fio(dir: &Path, job: &str) -> Output {
    let file = dir.join("job.fio");
    fs::write(&file, job).unwrap();
    Command::new("fio")
        .current_dir(dir)
        .arg(format!("--ioengine=external:{}", engine().display()))
        .arg(&file)
        .output()
        .expect("fio must be installed (apt-get install fio)")
}

const SEED: u64 = 11;
const DATA: &str = "dgen_seed=11\ndgen_dedupe_ratio=2\ndgen_compress_ratio=2\ndgen_io=psync\n";

/// A job file: `rw` over each of `files` (one job per file), 2 MiB each, the data options above.
fn job(rw: &str, files: &[&str], extra: &str) -> String {
    let mut j = format!("[global]\nrw={rw}\nbs=64k\nsize=2m\n{DATA}{extra}");
    for (i, f) in files.iter().enumerate() {
        j.push_str(&format!("[j{i}]\nfilename={f}\n"));
    }
    j
}

fn expected(stream_id: u64, len: usize) -> Vec<u8> {
    let mut p = GenParams::new(SEED);
    p.stream_id = stream_id;
    p.dedup_ratio = 2.0;
    p.compress_ratio = 2.0;
    let mut v = vec![0u8; len];
    Generator::new(p).unwrap().fill(0, &mut v);
    v
}

fn verify_ok(dir: &Path, files: &[&str], extra: &str) {
    let o = fio(dir, &job("read", files, &format!("dgen_verify=1\n{extra}")));
    let t = text(&o);
    assert!(o.status.success() && !t.contains("err=84"), "{t}");
}

#[test]
fn same_name_in_two_directories_differs_and_each_verifies() {
    let d = tempfile::tempdir().unwrap();
    for v in ["vol1", "vol2"] {
        fs::create_dir(d.path().join(v)).unwrap();
    }
    let files = ["vol1/test.dat", "vol2/test.dat"];
    let o = fio(d.path(), &job("write", &files, ""));
    assert!(o.status.success(), "{}", text(&o));
    let a = fs::read(d.path().join(files[0])).unwrap();
    let b = fs::read(d.path().join(files[1])).unwrap();
    assert_eq!((a.len(), b.len()), (2 << 20, 2 << 20));
    let units: HashSet<&[u8]> = a.chunks(4096).collect();
    assert!(
        b.chunks(4096).all(|u| !units.contains(u)),
        "the two files share content"
    );
    // Each holds the stream of its own canonical path, as `dgen gen` and `dgen write` make it.
    for (f, got) in files.iter().zip([&a, &b]) {
        let id = stream_id_for_path(&d.path().join(f));
        assert!(*got == expected(id, got.len()), "{f}");
    }
    // Verified through fio: the same job file with rw=read, and through an absolute path.
    verify_ok(d.path(), &files, "");
    let abs = d.path().join("vol1/../vol1/test.dat");
    verify_ok(d.path(), &[abs.to_str().unwrap()], "");
    // and through the CLI, when it is at hand
    if let Ok(bin) = std::env::var("DGEN_BIN") {
        for f in files {
            let o = Command::new(&bin)
                .current_dir(d.path())
                .args([
                    "verify", f, "--size", "2M", "--seed", "11", "-d", "2", "-c", "2",
                ])
                .arg("--no-direct")
                .output()
                .unwrap();
            assert!(o.status.success(), "dgen verify {f}: {}", text(&o));
        }
    }
    // Rewriting gives the same bytes again.
    let o = fio(d.path(), &job("write", &files, ""));
    assert!(o.status.success(), "{}", text(&o));
    assert!(fs::read(d.path().join(files[0])).unwrap() == a);
}

#[test]
fn a_moved_file_fails_with_a_hint_and_verifies_with_its_id() {
    let d = tempfile::tempdir().unwrap();
    for v in ["vol1", "vol2"] {
        fs::create_dir(d.path().join(v)).unwrap();
    }
    let o = fio(d.path(), &job("write", &["vol1/m.dat"], ""));
    assert!(o.status.success(), "{}", text(&o));
    let id = stream_id_for_path(&d.path().join("vol1/m.dat"));
    fs::rename(d.path().join("vol1/m.dat"), d.path().join("vol2/m.dat")).unwrap();
    let o = fio(d.path(), &job("read", &["vol2/m.dat"], "dgen_verify=1\n"));
    let t = text(&o);
    assert!(!o.status.success() || t.contains("err=84"), "{t}");
    assert!(t.contains("another stream"), "{t}");
    assert!(
        t.contains("comes from the path") && t.contains("dgen_stream=<"),
        "{t}"
    );
    verify_ok(d.path(), &["vol2/m.dat"], &format!("dgen_stream={id}\n"));
    // `dgen stream-id` of the old path gives that id
    if let Ok(bin) = std::env::var("DGEN_BIN") {
        let o = Command::new(&bin)
            .current_dir(d.path())
            .args(["stream-id", "vol1/m.dat"])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.starts_with(&format!("{id}\t")), "{out}");
    }
}

#[test]
fn dgen_stream_name_is_the_old_rule() {
    let d = tempfile::tempdir().unwrap();
    for v in ["vol1", "vol2"] {
        fs::create_dir(d.path().join(v)).unwrap();
    }
    let files = ["vol1/n.dat", "vol2/n.dat"];
    let o = fio(d.path(), &job("write", &files, "dgen_stream=name\n"));
    assert!(o.status.success(), "{}", text(&o));
    let a = fs::read(d.path().join(files[0])).unwrap();
    assert!(a == fs::read(d.path().join(files[1])).unwrap());
    assert!(a == expected(stream_id_for_name(Path::new("n.dat")), a.len()));
    verify_ok(d.path(), &files, "dgen_stream=name\n");
    // A bad value fails when fio parses it, naming the option, the value and the choices.
    let o = fio(d.path(), &job("write", &files, "dgen_stream=file\n"));
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("dgen_stream=file") && t.contains("'path'") && t.contains("'name'"),
        "{t}"
    );
}
