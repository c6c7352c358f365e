//! Trims through a generation map: `dgen_map` with `rw=randtrim` on a block device (a loop
//! device over a file, which reads zeros after a discard). The map records each trimmed block;
//! a verify (the same fio run, a later one, `dgen verify --map`) expects zeros there
//! (`dgen_map_trimmed=zeros`, the default) or skips them (`skip`) and says how many; a later
//! write gives a trimmed block new content again.
//!
//! Needs root and a free loop device; elsewhere each test prints `skipped: <reason>` and passes.

#[allow(dead_code)] // each test file uses a part of the shared helpers
mod common;
use common::{engine, text};

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SIZE: u64 = 16 << 20;
const UNIT: u64 = 64 << 10;
const TRIMS: u64 = 64;

/// A loop device over an image file, detached when dropped.
struct LoopDevice {
    dev: PathBuf,
}

impl LoopDevice {
    /// Attaches `image`; `None` when this machine cannot (not root, no free loop device). A
    /// device that another test's loop mount is still releasing (lazy unmounts detach their
    /// device asynchronously) can be handed out and then cleared under us: the binding is
    /// checked a moment after attaching, and the attach retried.
    fn attach(image: &Path) -> Option<LoopDevice> {
        for _ in 0..5 {
            let o = Command::new("losetup")
                .args(["-f", "--show"])
                .arg(image)
                .output()
                .ok()?;
            let dev = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if !o.status.success() || !dev.starts_with("/dev/") {
                return None;
            }
            let lo = LoopDevice {
                dev: PathBuf::from(dev),
            };
            std::thread::sleep(std::time::Duration::from_millis(200));
            if lo.backs(image) {
                return Some(lo);
            }
        }
        None
    }

    /// Whether the device is still bound to `image`.
    fn backs(&self, image: &Path) -> bool {
        let name = self.dev.file_name().unwrap().to_string_lossy().to_string();
        let backing = fs::read_to_string(format!("/sys/block/{name}/loop/backing_file"));
        backing.is_ok_and(|b| Path::new(b.trim()) == image.canonicalize().unwrap())
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// The job file: a sequential write through the map, `TRIMS` random trims, a verify (and one
/// that skips trimmed blocks), a random rewrite, and trims smaller than the dedup unit, one
/// section each (run one at a time with `--section`).
fn job_file(dir: &Path, dev: &Path) -> PathBuf {
    let job = format!(
        "[global]\n\
         ioengine=external:{engine}\n\
         filename={dev}\n\
         size={SIZE}\n\
         bs={UNIT}\n\
         direct=1\n\
         dgen_dedupe_unit={UNIT}\n\
         dgen_dedupe_ratio=2\n\
         dgen_compress_ratio=2\n\
         dgen_seed=9\n\
         dgen_stream=7\n\
         dgen_map={map}\n\
         [write]\n\
         rw=write\n\
         [trim]\n\
         rw=randtrim\n\
         number_ios={TRIMS}\n\
         [verify]\n\
         rw=read\n\
         dgen_verify=1\n\
         [verify-skip]\n\
         rw=read\n\
         dgen_verify=1\n\
         dgen_map_trimmed=skip\n\
         [trim-4k]\n\
         rw=randtrim\n\
         bs=4k\n\
         number_ios=4\n\
         [rewrite]\n\
         rw=randwrite\n\
         number_ios=128\n",
        engine = engine().display(),
        dev = dev.display(),
        map = dir.join("m.map").display(),
    );
    let path = dir.join("trim.fio");
    fs::write(&path, job).unwrap();
    path
}

/// A loop device over a fresh image in `dir` and the job file for it; `None` (after printing why)
/// where no loop device can be attached.
fn setup(dir: &Path) -> Option<(LoopDevice, PathBuf)> {
    let image = dir.join("dev.img");
    fs::File::create(&image).unwrap().set_len(SIZE).unwrap();
    let Some(lo) = LoopDevice::attach(&image) else {
        eprintln!("skipped: cannot attach a loop device (not root, or none free)");
        return None;
    };
    let job = job_file(dir, &lo.dev);
    Some((lo, job))
}

fn fio(job: &Path, section: &str, extra: &[&str]) -> Output {
    Command::new("fio")
        .arg(job)
        .arg(format!("--section={section}"))
        .args(extra)
        .output()
        .expect("fio must be installed")
}

fn fio_ok(job: &Path, section: &str, extra: &[&str]) -> String {
    let o = fio(job, section, extra);
    let t = text(&o);
    assert!(
        o.status.success() && t.contains("err= 0"),
        "fio {section} failed:\n{t}"
    );
    t
}

/// `dgen verify` of `dev` with the job's parameters and map, plus `extra`.
fn dgen_verify(dir: &Path, dev: &Path, extra: &[&str]) -> Option<Output> {
    let bin = std::env::var("DGEN_BIN").ok()?;
    Some(
        Command::new(bin)
            .arg("verify")
            .arg(dev)
            .args([
                "--size",
                &SIZE.to_string(),
                "--seed",
                "9",
                "--stream-id",
                "7",
            ])
            .args([
                "--dedup",
                "2",
                "--compress",
                "2",
                "--dedup-unit",
                &UNIT.to_string(),
            ])
            .arg("--map")
            .arg(dir.join("m.map"))
            .args(extra)
            .output()
            .unwrap(),
    )
}

/// Indexes of the blocks of `dev` that read as all zeros.
fn zero_blocks(dev: &Path) -> Vec<u64> {
    let mut f = fs::File::open(dev).unwrap();
    let mut buf = vec![0u8; UNIT as usize];
    let mut zeros = Vec::new();
    for b in 0..SIZE / UNIT {
        f.seek(SeekFrom::Start(b * UNIT)).unwrap();
        f.read_exact(&mut buf).unwrap();
        if buf.iter().all(|&x| x == 0) {
            zeros.push(b);
        }
    }
    zeros
}

#[test]
fn trimmed_blocks_must_read_as_zeros_or_are_skipped_and_a_rewrite_fills_them_again() {
    let dir = tempfile::tempdir().unwrap();
    let Some((lo, job)) = setup(dir.path()) else {
        return;
    };
    fio_ok(&job, "write", &[]);
    assert!(
        zero_blocks(&lo.dev).is_empty(),
        "the write left zero blocks"
    );

    let t = fio_ok(&job, "trim", &[]);
    assert!(
        t.contains(&format!(
            "0 block writes and {TRIMS} block trims journaled, {TRIMS} blocks trimmed ({TRIMS} by \
             this job; reads of them must return zeros)"
        )),
        "{t}"
    );
    let trimmed = zero_blocks(&lo.dev);
    assert_eq!(
        trimmed.len() as u64,
        TRIMS,
        "a loop device reads zeros after a discard"
    );

    // Verified as zeros, in fio and by dgen verify.
    let t = fio_ok(&job, "verify", &[]);
    assert!(
        t.contains(&format!("read only, {TRIMS} blocks trimmed")),
        "{t}"
    );
    if let Some(o) = dgen_verify(dir.path(), &lo.dev, &["--json"]) {
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        assert!(t.contains(&format!("\"trimmed_blocks\": {TRIMS}")), "{t}");
        assert!(t.contains("\"trimmed_check\": \"zeros\""), "{t}");
    }

    // A trimmed block that holds data again (here: another block's content, this run's data)
    // fails the zeros check, named as such; skip passes it and says so.
    let (victim, source) = (
        trimmed[0],
        (0..SIZE / UNIT).find(|b| !trimmed.contains(b)).unwrap(),
    );
    {
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&lo.dev)
            .unwrap();
        let mut block = vec![0u8; UNIT as usize];
        f.read_exact_at(&mut block, source * UNIT).unwrap();
        f.write_all_at(&block, victim * UNIT).unwrap();
        f.sync_all().unwrap();
        (&f).flush().unwrap();
    }
    let o = fio(&job, "verify", &[]);
    let t = text(&o);
    assert!(
        lo.backs(&dir.path().join("dev.img")),
        "the loop device was detached under the test"
    );
    assert!(
        !t.contains("err= 0"),
        "verify passed over data in a trimmed block:\n{t}"
    );
    assert!(
        t.contains(&format!("offset {} ", victim * UNIT))
            && t.contains("trimmed (expected to read as zeros: dgen_map_trimmed=zeros)")
            && t.contains("where the map says the block was trimmed"),
        "{t}"
    );
    let t = fio_ok(&job, "verify-skip", &[]);
    assert!(
        t.contains("reads of them are not verified: dgen_map_trimmed=skip"),
        "{t}"
    );
    if let Some(o) = dgen_verify(dir.path(), &lo.dev, &[]) {
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(
            t.contains(&format!("first bad byte at offset {}", victim * UNIT)),
            "{t}"
        );
        assert!(
            t.contains("where the map says the block was trimmed"),
            "{t}"
        );
    }
    if let Some(o) = dgen_verify(dir.path(), &lo.dev, &["--map-trimmed", "skip"]) {
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        assert!(
            t.contains(&format!("{TRIMS} trimmed blocks skipped (not verified")),
            "{t}"
        );
    }

    // Random rewrites give trimmed blocks content again; everything verifies.
    fio_ok(&job, "rewrite", &[]);
    let left = zero_blocks(&lo.dev).len() as u64 + 1; // the victim holds data, not zeros
    assert!(
        left < TRIMS,
        "128 random writes left all {TRIMS} trimmed blocks trimmed"
    );
    let t = fio_ok(&job, "verify-skip", &[]);
    assert!(
        t.contains(&format!("read only, {left} blocks trimmed")) || left == 1,
        "{t}"
    );
}

#[test]
fn a_job_that_only_trims_never_creates_a_map_and_odd_trim_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_lo, job)) = setup(dir.path()) else {
        return;
    };
    let o = fio(&job, "trim", &[]);
    let t = text(&o);
    assert!(!t.contains("err= 0"), "{t}");
    assert!(
        t.contains("a job that trims and never writes needs the map a writing job made"),
        "{t}"
    );
    assert!(!dir.path().join("m.map").exists());

    fio_ok(&job, "write", &[]);
    let o = fio(&job, "trim-4k", &[]);
    let t = text(&o);
    assert!(!t.contains("err= 0"), "{t}");
    assert!(
        t.contains("trim block size 4096-4096 is not a multiple of dgen_dedupe_unit=65536"),
        "{t}"
    );
}
