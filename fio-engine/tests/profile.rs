//! `dgen_profile=`: a fio job writes data made from a built-in profile, the same bytes as
//! `dgen gen --profile`, that a verifying job (and `dgen verify --profile`) accepts; a missing or
//! malformed profile, or one combined with `dgen_compress_ratio`, fails the job with one line
//! naming the option, and no panic.
//!
//! Needs `fio` and the engine (`DGEN_FIO_ENGINE` or target/release/libdgen_fio.so); with
//! `DGEN_BIN`, the file is also compared with `dgen gen --profile` and checked by `dgen verify`.

#[allow(dead_code)] // each test file uses a part of the shared helpers
mod common;
use common::{engine, text};

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn fio_in(dir: &Path, args: &[&str]) -> Output {
    Command::new("fio")
        .current_dir(dir)
        .arg("--ioengine=external:".to_string() + &engine().display().to_string())
        .args(args)
        .output()
        .expect("fio must be installed (apt-get install fio)")
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dgen-fio-profile")
        .tempdir()
        .unwrap()
}

#[test]
fn a_profile_writes_verifiable_data_like_dgen_gen() {
    let d = tmp();
    let file = d.path().join("text.bin");
    let fname = format!("--filename={}", file.display());
    let common = [
        "--name=p",
        "--size=8m",
        "--bs=256k",
        "--dgen_io=psync",
        "--dgen_seed=31",
        "--dgen_profile=text",
        &fname,
    ];
    let o = fio_in(d.path(), &[&common[..], &["--rw=write"]].concat());
    let t = text(&o);
    assert!(o.status.success() && !t.contains("internal error"), "{t}");
    let written = std::fs::read(&file).unwrap();
    assert_eq!(written.len(), 8 << 20);
    // The same bytes as the core makes from the profile (the engine is glue only).
    let mut p = dgen::GenParams::new(31);
    p.stream_id = dgen::params::stream_id_for_path(&file);
    let profile = dgen::profile::load("text").unwrap();
    dgen::profile::apply_profile(&mut p, &profile, None, None);
    let mut want = vec![0u8; written.len()];
    dgen::Generator::new(p.clone()).unwrap().fill(0, &mut want);
    assert!(written == want, "the file is not the profile's stream");
    // A verifying job with the profile passes; one without it fails.
    let o = fio_in(
        d.path(),
        &[&common[..], &["--rw=read", "--dgen_verify=1"]].concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = fio_in(
        d.path(),
        &[
            "--name=p",
            "--size=8m",
            "--bs=256k",
            "--dgen_io=psync",
            "--dgen_seed=31",
            &fname,
            "--rw=read",
            "--dgen_verify=1",
        ],
    );
    assert!(
        !o.status.success() || text(&o).contains("err=84"),
        "{}",
        text(&o)
    );
    if let Ok(bin) = std::env::var("DGEN_BIN") {
        let o = Command::new(&bin)
            .args(["verify", "--profile", "text", "--seed", "31"])
            .arg(&file)
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert!(o.status.success(), "dgen verify: {}", text(&o));
    }
}

#[test]
fn bad_profiles_fail_the_job_with_one_line() {
    let d = tmp();
    std::fs::write(
        d.path().join("bad.json"),
        "{\"format\": \"dgen-profile\", \"version\": 99}",
    )
    .unwrap();
    std::fs::write(d.path().join("junk.json"), "not json").unwrap();
    let fname = format!("--filename={}", d.path().join("x.bin").display());
    for (opt, needle) in [
        (
            "--dgen_profile=/nonexistent/p.json",
            "dgen: bad option dgen_profile=/nonexistent/p.json: cannot read it",
        ),
        (
            "--dgen_profile=bad.json",
            "dgen: bad option dgen_profile=bad.json: profile format version 99",
        ),
        (
            "--dgen_profile=junk.json",
            "dgen: bad option dgen_profile=junk.json: not a valid dgen profile",
        ),
    ] {
        let o = fio_in(
            d.path(),
            &["--name=b", "--size=1m", "--rw=write", &fname, opt],
        );
        let t = text(&o);
        assert!(!o.status.success(), "{opt}: {t}");
        assert!(t.contains(needle), "{opt}: {t}");
        assert!(
            !t.contains("internal error") && !t.contains("panicked"),
            "{t}"
        );
    }
    let o = fio_in(
        d.path(),
        &[
            "--name=b",
            "--size=1m",
            "--rw=write",
            &fname,
            "--dgen_profile=text",
            "--dgen_compress_ratio=3",
        ],
    );
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains(
            "dgen: bad option dgen_profile=text: cannot be combined with dgen_compress_ratio=3"
        ),
        "{t}"
    );
}
