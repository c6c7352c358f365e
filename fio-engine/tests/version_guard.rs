//! The engine's fio version guard: `libdgen_fio.so` loaded by a fio other than the one it was
//! built for refuses the job with one line naming both versions and how to rebuild, and fio
//! exits non-zero, before any fio structure is touched (no job code runs, no file is created).
//!
//! The "other fio" is a copy of the installed fio whose `fio_version_string` bytes are patched
//! to another version of the same length (`fio --version` of the copy prints it). An
//! `LD_PRELOAD` library defining `fio_version_string` would not do: the executable's own
//! definition comes first in the dynamic linker's lookup order, ahead of preloaded libraries.
//!
//! The engine is `common::engine()` (`DGEN_FIO_ENGINE`, else next to the test binary);
//! it must have been built for the installed fio (build.rs refuses anything else).
//! Run: `cargo test --release -p dgen-fio --test version_guard`.

#[allow(dead_code)] // each test file uses a part of the shared helpers
mod common;
use common::{engine, Server};

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The installed fio (first `fio` on PATH) and its `--version`, e.g. `fio-3.33`.
fn installed_fio() -> (PathBuf, String) {
    let path = std::env::var_os("PATH").expect("PATH is set");
    let fio = std::env::split_paths(&path)
        .map(|d| d.join("fio"))
        .find(|p| p.is_file())
        .expect("fio must be installed (apt-get install fio)");
    let out = Command::new(&fio).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && version.starts_with("fio-"),
        "{} --version printed {version:?}",
        fio.display()
    );
    (fio, version)
}

/// Another version string of the same length: every digit becomes 9 (8 where it already is).
fn other_version(version: &str) -> String {
    let bumped: String = version
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    if bumped != version {
        bumped
    } else {
        version.replace('9', "8")
    }
}

/// Copies `fio` into `dir` with its NUL-terminated `from` version string replaced by `to`.
fn patched_fio(fio: &Path, dir: &Path, from: &str, to: &str) -> PathBuf {
    assert_eq!(from.len(), to.len());
    let mut bytes = fs::read(fio).unwrap();
    let needle = format!("\0{from}\0").into_bytes();
    let hits: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle.as_slice())
        .map(|(i, _)| i + 1)
        .collect();
    assert!(
        !hits.is_empty(),
        "{} holds no NUL-terminated {from:?} to patch",
        fio.display()
    );
    for i in hits {
        bytes[i..i + to.len()].copy_from_slice(to.as_bytes());
    }
    let copy = dir.join("fio");
    fs::write(&copy, bytes).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(&copy).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        to,
        "the patched fio does not report the faked version"
    );
    copy
}

fn job_args(engine: &Path, file: &Path) -> Vec<String> {
    vec![
        "--name=guard".into(),
        format!("--ioengine=external:{}", engine.display()),
        format!("--filename={}", file.display()),
        "--rw=write".into(),
        "--bs=64k".into(),
        "--size=1m".into(),
    ]
}

fn expected_line(engine: &Path, built: &str, fake: &str) -> String {
    format!(
        "dgen: {} was built for {built} but the running fio is {fake}: fio's structures differ \
         between versions, so the engine refuses to load; rebuild it against the running fio's \
         source tree: FIO_SRC=/path/to/{fake} scripts/setup",
        engine.display()
    )
}

#[test]
fn another_fio_version_is_refused_with_one_line() {
    let engine = engine();
    let (fio, built) = installed_fio();
    let fake = other_version(&built);
    let dir = tempfile::tempdir().unwrap();
    let other = patched_fio(&fio, dir.path(), &built, &fake);
    let file = dir.path().join("data");

    let out = Command::new(&other)
        .args(job_args(&engine, &file))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(
        !out.status.success(),
        "fio {fake} ran the job with an engine built for {built}:\n{all}"
    );
    let expected = expected_line(&engine, &built, &fake);
    let dgen_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("dgen:")).collect();
    assert_eq!(dgen_lines, [expected.as_str()], "full output:\n{all}");
    assert!(
        all.contains("not loadable"),
        "fio did not refuse the engine:\n{all}"
    );
    assert!(!file.exists(), "the refused job created {}", file.display());
}

#[test]
fn the_fio_it_was_built_for_loads_it() {
    let engine = engine();
    let (fio, built) = installed_fio();
    let dir = tempfile::tempdir().unwrap();
    let mut args = job_args(&engine, &dir.path().join("data"));
    args.extend(["--dgen_io=null".into(), "--dgen_seed=1".into()]);
    let out = Command::new(&fio).args(&args).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "fio {built} failed:\n{all}");
    assert!(!all.contains("was built for"), "guard fired:\n{all}");
}

#[test]
fn a_client_of_another_fio_server_sees_the_line() {
    let engine = engine();
    let (fio, built) = installed_fio();
    let fake = other_version(&built);
    let dir = tempfile::tempdir().unwrap();
    let other = patched_fio(&fio, dir.path(), &built, &fake);
    let file = dir.path().join("data");
    let server = Server::start(&other, dir.path(), Stdio::null());
    let port = server.port;
    let job = dir.path().join("guard.fio");
    let body = format!(
        "[guard]\nioengine=external:{}\nfilename={}\nrw=write\nbs=64k\nsize=1m\n",
        engine.display(),
        file.display()
    );
    fs::write(&job, body).unwrap();
    let out = Command::new(&fio)
        .arg(format!("--client=ip:127.0.0.1,{port}"))
        .arg(&job)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // fio's client prefixes backend lines with "<host> ". (fio 3.33's client exits 0 when a
    // backend cannot load an engine, any engine, so the status is not asserted here.)
    let expected = expected_line(&engine, &built, &fake);
    let dgen_lines: Vec<&str> = all
        .lines()
        .filter_map(|l| l.split_once("> ").map(|(_, rest)| rest))
        .filter(|l| l.starts_with("dgen:"))
        .collect();
    assert_eq!(dgen_lines, [expected.as_str()], "full output:\n{all}");
    assert!(!file.exists(), "the refused job created {}", file.display());
}
