//! End-to-end tests of `libdgen_fio.so` against the real `fio` binary.
//!
//! The engine is found through `DGEN_FIO_ENGINE`, else next to the test binary
//! (`target/<profile>/libdgen_fio.so`, which `cargo test --release -p dgen-fio` builds). When
//! `DGEN_BIN` names the `dgen` CLI, written files are also compared with `dgen gen` output.
//! Run: `cargo test --release -p dgen-fio` (scripts/test does, after scripts/setup).

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dgen::analyze::{analyze_file, AnalyzeOptions, Codec};
use dgen::params::stream_id_for_path;
use dgen::{GenParams, Generator};

// ---------- helpers ----------

fn engine() -> PathBuf {
    if let Ok(p) = std::env::var("DGEN_FIO_ENGINE") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "DGEN_FIO_ENGINE={} does not exist",
            p.display()
        );
        return p;
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let p = dir.join("libdgen_fio.so");
    assert!(
        p.is_file(),
        "{} not found: build it (cargo build --release -p dgen-fio) or set DGEN_FIO_ENGINE",
        p.display()
    );
    p
}

fn engine_arg() -> String {
    format!("--ioengine=external:{}", engine().display())
}

/// Runs fio with `args` (after the engine option) in `dir`.
fn fio_in(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("fio");
    cmd.current_dir(dir).arg(engine_arg()).args(args);
    cmd.output()
        .expect("fio must be installed (apt-get install fio)")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs fio and asserts success (exit status 0, no job error).
fn fio_ok(dir: &Path, args: &[&str]) -> String {
    let o = fio_in(dir, args);
    let t = text(&o);
    assert!(o.status.success(), "fio {args:?} failed:\n{t}");
    assert!(
        !t.contains("err= ") || t.contains("err= 0"),
        "job error:\n{t}"
    );
    assert!(!t.contains("dgen: internal error"), "panic caught:\n{t}");
    t
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dgen-fio-test")
        .tempdir()
        .unwrap()
}

fn params(seed: u64, file: &Path, dedup: f64, compress: f64, unit: u64) -> GenParams {
    let mut p = GenParams::new(seed);
    p.stream_id = stream_id_for_path(file);
    p.dedup_ratio = dedup;
    p.compress_ratio = compress;
    p.dedup_unit = unit;
    p
}

fn expected(p: &GenParams, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    Generator::new(p.clone()).unwrap().fill(0, &mut v);
    v
}

/// Asserts that `file` holds exactly the stream's bytes (reporting the first difference).
fn assert_generated(file: &Path, p: &GenParams) {
    let got = fs::read(file).unwrap();
    let want = expected(p, got.len());
    if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
        panic!(
            "{}: byte {i} differs from Generator::fill (got {:#04x}, want {:#04x})",
            file.display(),
            got[i],
            want[i]
        );
    }
    // and, when the CLI is available, with `dgen gen` output for the same parameters
    if let Ok(bin) = std::env::var("DGEN_BIN") {
        let out = Command::new(&bin)
            .args(["gen", "--size", &got.len().to_string()])
            .args(["--dedup", &p.dedup_ratio.to_string()])
            .args(["--compress", &p.compress_ratio.to_string()])
            .args(["--dedup-unit", &p.dedup_unit.to_string()])
            .args(["--seed", &p.seed.to_string()])
            .args(["--stream-id", &p.stream_id.to_string()])
            .args(["-o", "-"])
            .stderr(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("DGEN_BIN={bin}: {e}"));
        assert!(out.status.success(), "dgen gen failed");
        assert!(
            out.stdout == got,
            "{} differs from `dgen gen` output",
            file.display()
        );
    }
}

/// Dedup ratio at 4 KiB and the dedup unit, and lz4/zstd-1 compression at 4 KiB, within 5%.
fn assert_ratios(file: &Path, dedup: f64, compress: f64, unit: u64) {
    let opts = AnalyzeOptions {
        units: vec![4096, unit],
        codecs: vec![Codec::Zstd1, Codec::Lz4],
        limit: None,
    };
    let r = analyze_file(file, &opts).unwrap();
    for u in &r.units {
        let d = u.dedup_ratio;
        assert!(
            (d / dedup - 1.0).abs() < 0.05,
            "dedup at unit {}: {d}, asked {dedup}",
            u.unit
        );
        assert_eq!(u.zero_units, 0, "all-zero units at {}", u.unit);
    }
    let u4 = r.unit(4096).unwrap();
    for c in [Codec::Zstd1, Codec::Lz4] {
        let got = u4.codec(c).unwrap().ratio;
        assert!(
            (got / compress - 1.0).abs() < 0.05,
            "{c:?} at 4k: {got}, asked {compress}"
        );
    }
}

/// The seed the engine drew, from its "drew dgen_seed=N" line.
fn drawn_seed(out: &str) -> u64 {
    let i = out
        .find("drew dgen_seed=")
        .unwrap_or_else(|| panic!("no drawn seed in:\n{out}"));
    out[i + 15..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn supports_odirect(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let p = dir.join(".odirect-probe");
    let ok = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc_o_direct())
        .open(&p)
        .is_ok();
    let _ = fs::remove_file(&p);
    ok
}

fn libc_o_direct() -> i32 {
    0o40000 // O_DIRECT on x86_64 and aarch64 Linux
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

// ---------- tests ----------

#[test]
fn enghelp_lists_every_option() {
    let o = Command::new("fio")
        .arg(format!("--enghelp={}", engine().display()))
        .output()
        .unwrap();
    let t = text(&o);
    for opt in [
        "dgen_dedupe_ratio",
        "dgen_compress_ratio",
        "dgen_dedupe_unit",
        "dgen_seed",
        "dgen_stream",
        "dgen_io",
        "dgen_verify",
        "dgen_prepopulate",
    ] {
        assert!(t.contains(opt), "--enghelp lacks {opt}:\n{t}");
    }
}

#[test]
fn sequential_1m_write_is_the_stream_with_the_asked_ratios() {
    let d = tmp();
    let file = d.path().join("seq.bin");
    let mut args = vec![
        "--name=seq",
        "--rw=write",
        "--bs=1m",
        "--size=32m",
        "--iodepth=8",
        "--dgen_seed=11",
        "--dgen_dedupe_ratio=2",
        "--dgen_compress_ratio=3",
    ];
    let fname = format!("--filename={}", file.display());
    args.push(&fname);
    if supports_odirect(d.path()) {
        args.push("--direct=1");
    }
    fio_ok(d.path(), &args);
    let p = params(11, &file, 2.0, 3.0, 128 << 10);
    assert_generated(&file, &p);
    assert_ratios(&file, 2.0, 3.0, 128 << 10);
}

#[test]
fn random_4k_write_is_the_stream_with_the_asked_ratios() {
    let d = tmp();
    let file = d.path().join("rand.bin");
    let fname = format!("--filename={}", file.display());
    fio_ok(
        d.path(),
        &[
            "--name=rand",
            &fname,
            "--rw=randwrite",
            "--bs=4k",
            "--size=16m",
            "--iodepth=32",
            "--dgen_seed=12",
            "--dgen_dedupe_ratio=1.5",
            "--dgen_compress_ratio=2",
            "--dgen_dedupe_unit=64k",
        ],
    );
    let p = params(12, &file, 1.5, 2.0, 64 << 10);
    assert_generated(&file, &p);
    assert_ratios(&file, 1.5, 2.0, 64 << 10);
}

#[test]
fn write_then_verify_passes_and_catches_one_flipped_byte() {
    let d = tmp();
    let file = d.path().join("wtv.bin");
    // jobs/write-then-verify.fio as shipped (buffered where the file system lacks O_DIRECT)
    let mut job_text = fs::read_to_string(repo_root().join("jobs/write-then-verify.fio")).unwrap();
    if !supports_odirect(d.path()) {
        job_text = job_text.replace("direct=1", "direct=0");
    }
    let job = d.path().join("write-then-verify.fio");
    fs::write(&job, job_text).unwrap();
    let o = Command::new("fio")
        .current_dir(d.path())
        .env("DGEN_TARGET", &file)
        .env("DGEN_SIZE", "16m")
        .arg(engine_arg())
        .arg(&job)
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "write-then-verify failed:\n{t}");
    assert!(t.contains("WRITE:") && t.contains("READ:"), "{t}");
    let seed = drawn_seed(&t);
    let p = params(seed, &file, 2.0, 3.0, 128 << 10);
    assert_generated(&file, &p);

    // flip one byte, then verify again with the same seed: it must fail at that offset
    let flip_at: u64 = 5 * (1 << 20) + 12345;
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&file)
        .unwrap();
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(flip_at)).unwrap();
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(flip_at)).unwrap();
    f.write_all(&[b[0] ^ 0x01]).unwrap();
    f.sync_all().unwrap();
    let vjob = d.path().join("verify.fio");
    fs::write(
        &vjob,
        format!(
            "[verify]\nfilename={}\nsize=16m\nbs=1m\niodepth=16\nrw=read\n\
             dgen_seed={seed}\ndgen_dedupe_ratio=2\ndgen_compress_ratio=3\ndgen_verify=1\n",
            file.display()
        ),
    )
    .unwrap();
    for io in ["--dgen_io=uring", "--dgen_io=psync"] {
        let o = fio_in(d.path(), &[io, vjob.to_str().unwrap()]);
        let t = text(&o);
        assert!(
            !o.status.success(),
            "{io}: verify passed a flipped byte:\n{t}"
        );
        assert!(
            t.contains(&format!("offset {flip_at} ")),
            "{io}: the message does not name offset {flip_at}:\n{t}"
        );
        assert!(t.contains("err=84"), "{io}: not EILSEQ:\n{t}");
        if io.ends_with("psync") {
            // fio notes the synchronous engine: the command-line mode reached the job
            assert!(t.contains("synchronous I/O engine"), "{t}");
        }
    }

    // with the byte restored it passes again
    f.seek(SeekFrom::Start(flip_at)).unwrap();
    f.write_all(&b).unwrap();
    f.sync_all().unwrap();
    fio_ok(d.path(), &[vjob.to_str().unwrap()]);
}

fn numjobs4(mode: &str) {
    let d = tmp();
    let dir = format!("--directory={}", d.path().display());
    let mut args = vec![
        "--name=nj",
        dir.as_str(),
        "--numjobs=4",
        "--rw=randwrite",
        "--bs=16k",
        "--size=4m",
        "--iodepth=8",
        "--dgen_seed=21",
        "--dgen_compress_ratio=2",
        "--group_reporting",
    ];
    if mode == "thread" {
        args.push("--thread");
    }
    fio_ok(d.path(), &args);
    let mut firsts = Vec::new();
    for j in 0..4 {
        let file = d.path().join(format!("nj.{j}.0"));
        let p = params(21, &file, 1.0, 2.0, 128 << 10);
        assert_generated(&file, &p);
        firsts.push(fs::read(&file).unwrap()[..4096].to_vec());
    }
    firsts.sort();
    firsts.dedup();
    assert_eq!(firsts.len(), 4, "files of different names must differ");
    // read them all back with verification, in the same mode
    let mut rargs = args.clone();
    rargs[3] = "--rw=randread";
    rargs.push("--dgen_verify=1");
    fio_ok(d.path(), &rargs);
}

#[test]
fn numjobs_4_threads() {
    numjobs4("thread");
}

#[test]
fn numjobs_4_processes() {
    numjobs4("process");
}

#[test]
fn psync_and_uring_paths_agree() {
    let d = tmp();
    for (write_io, read_io) in [("psync", "uring"), ("uring", "psync")] {
        let file = d.path().join(format!("p-{write_io}.bin"));
        let fname = format!("--filename={}", file.display());
        let wio = format!("--dgen_io={write_io}");
        let rio = format!("--dgen_io={read_io}");
        let common = [
            "--name=p",
            fname.as_str(),
            "--bs=64k",
            "--size=8m",
            "--iodepth=4",
            "--dgen_seed=31",
            "--dgen_dedupe_ratio=3",
            "--dgen_compress_ratio=1.5",
        ];
        let mut w = common.to_vec();
        w.extend(["--rw=randwrite", wio.as_str()]);
        fio_ok(d.path(), &w);
        assert_generated(&file, &params(31, &file, 3.0, 1.5, 128 << 10));
        let mut r = common.to_vec();
        r.extend(["--rw=read", rio.as_str(), "--dgen_verify=1"]);
        fio_ok(d.path(), &r);
    }
}

#[test]
fn null_mode_generates_without_touching_files() {
    let d = tmp();
    let file = d.path().join("never.bin");
    let fname = format!("--filename={}", file.display());
    let t = fio_ok(
        d.path(),
        &[
            "--name=n",
            &fname,
            "--rw=write",
            "--bs=1m",
            "--size=256m",
            "--dgen_io=null",
            "--dgen_seed=1",
            "--dgen_compress_ratio=3",
        ],
    );
    assert!(t.contains("io=256MiB"), "{t}");
    assert!(!file.exists(), "null mode created {}", file.display());
}

#[test]
fn read_job_on_a_fresh_file_sees_generated_content() {
    let d = tmp();
    let file = d.path().join("fresh.bin");
    let fname = format!("--filename={}", file.display());
    fio_ok(
        d.path(),
        &[
            "--name=fresh",
            &fname,
            "--rw=randread",
            "--bs=4k",
            "--size=8m",
            "--iodepth=16",
            "--dgen_seed=41",
            "--dgen_compress_ratio=4",
            "--dgen_verify=1",
        ],
    );
    assert_generated(&file, &params(41, &file, 1.0, 4.0, 128 << 10));
    // the mixed job on the fresh file (prepopulated), reads verified
    let file2 = d.path().join("mixed.bin");
    let fname2 = format!("--filename={}", file2.display());
    fio_ok(
        d.path(),
        &[
            "--name=mixed",
            &fname2,
            "--rw=randrw",
            "--rwmixread=70",
            "--bs=8k",
            "--size=8m",
            "--iodepth=16",
            "--dgen_seed=42",
            "--dgen_verify=1",
        ],
    );
    assert_generated(&file2, &params(42, &file2, 1.0, 1.0, 128 << 10));
}

#[test]
fn an_existing_file_is_not_rewritten_by_a_read_job() {
    let d = tmp();
    let file = d.path().join("keep.bin");
    fs::write(&file, vec![7u8; 1 << 20]).unwrap();
    let fname = format!("--filename={}", file.display());
    fio_ok(
        d.path(),
        &[
            "--name=r",
            &fname,
            "--rw=read",
            "--bs=64k",
            "--size=1m",
            "--dgen_seed=1",
        ],
    );
    assert!(fs::read(&file).unwrap().iter().all(|&b| b == 7));
}

#[test]
fn a_missing_seed_is_drawn_printed_and_reproducible() {
    let d = tmp();
    let file = d.path().join("drawn.bin");
    let fname = format!("--filename={}", file.display());
    let t = fio_ok(
        d.path(),
        &[
            "--name=drawn",
            &fname,
            "--rw=write",
            "--bs=128k",
            "--size=4m",
            "--dgen_compress_ratio=2",
        ],
    );
    let seed = drawn_seed(&t);
    assert_generated(&file, &params(seed, &file, 1.0, 2.0, 128 << 10));
}

#[test]
fn fixed_stream_policy_gives_every_file_the_same_stream() {
    let d = tmp();
    let dir = format!("--directory={}", d.path().display());
    fio_ok(
        d.path(),
        &[
            "--name=fx",
            &dir,
            "--nrfiles=2",
            "--rw=write",
            "--bs=64k",
            "--size=2m",
            "--dgen_seed=5",
            "--dgen_stream=77",
        ],
    );
    let mut p = GenParams::new(5);
    p.stream_id = 77;
    let want = expected(&p, 1 << 20);
    for f in ["fx.0.0", "fx.0.1"] {
        assert_eq!(fs::read(d.path().join(f)).unwrap(), want, "{f}");
    }
}

#[test]
fn bad_options_fail_with_a_message_naming_them() {
    let d = tmp();
    let file = d.path().join("bad.bin");
    let fname = format!("--filename={}", file.display());
    for (opt, needle) in [
        ("--dgen_compress_ratio=0.5", "dgen_compress_ratio=0.5"),
        ("--dgen_dedupe_ratio=many", "dgen_dedupe_ratio=many"),
        ("--dgen_dedupe_unit=3k", "dgen_dedupe_unit=3k"),
        ("--dgen_io=libaio", "dgen_io=libaio"),
        ("--dgen_seed=-4", "dgen_seed=-4"),
        ("--dgen_stream=file", "dgen_stream=file"),
        ("--dgen_verify=maybe", "dgen_verify=maybe"),
        ("--verify=crc32c", "fio option verify"),
        ("--refill_buffers", "fio option refill_buffers"),
        (
            "--buffer_compress_percentage=50",
            "buffer_compress_percentage",
        ),
        ("--dedupe_percentage=50", "dedupe_percentage"),
        ("--buffer_pattern=0xdeadbeef", "buffer_pattern"),
        ("--scramble_buffers=1", "scramble_buffers"),
        ("--zero_buffers", "zero_buffers"),
        ("--io_submit_mode=offload", "offloaded submit"),
    ] {
        let o = fio_in(
            d.path(),
            &["--name=bad", &fname, "--rw=write", "--size=1m", opt],
        );
        let t = text(&o);
        assert!(!o.status.success(), "{opt} was accepted:\n{t}");
        assert!(t.contains(needle), "{opt}: message lacks {needle:?}:\n{t}");
        assert!(!t.contains("panicked"), "{t}");
        assert!(!file.exists(), "{opt}: a file was created before failing");
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn client_server_on_localhost() {
    let d = tmp();
    let file = d.path().join("cs.bin");
    let port = free_port();
    let server = Server(
        Command::new("fio")
            .arg(format!("--server=ip:127.0.0.1,{port}"))
            .current_dir(d.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "fio server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let job = d.path().join("cs.fio");
    fs::write(
        &job,
        format!(
            "[cs]\nioengine=external:{}\nfilename={}\nsize=8m\nbs=256k\nrw=write\niodepth=4\n\
             dgen_seed=51\ndgen_dedupe_ratio=2\ndgen_compress_ratio=2\n",
            engine().display(),
            file.display()
        ),
    )
    .unwrap();
    let o = Command::new("fio")
        .arg(format!("--client=ip:127.0.0.1,{port}"))
        .arg(&job)
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "client run failed:\n{t}");
    assert!(t.contains("err= 0"), "{t}");
    drop(server);
    assert_generated(&file, &params(51, &file, 2.0, 2.0, 128 << 10));
}

#[test]
fn quickstart_job_writes_and_verifies() {
    let d = tmp();
    let o = Command::new("fio")
        .current_dir(d.path())
        .arg(engine_arg())
        .arg(repo_root().join("jobs/quickstart.fio"))
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "quickstart failed:\n{t}");
    assert!(t.contains("WRITE:") && t.contains("READ:"), "{t}");
    let file = d.path().join("demo/quickstart.bin");
    let seed = drawn_seed(&t);
    let p = params(seed, &file, 2.0, 3.0, 128 << 10);
    let got = fs::read(&file).unwrap();
    assert_eq!(got.len(), 64 << 20);
    let gen = Generator::new(p).unwrap();
    assert_eq!(gen.first_mismatch(0, &got), None);
}
