//! Helpers shared by the pipeline tests.
#![allow(dead_code)]

use dgen::pipeline::{VerifyOptions, WriteOptions};
use dgen::{GenParams, Generator};
use std::path::Path;

/// A temporary directory on the real disk (O_DIRECT works there; /dev/shm is tmpfs).
pub fn disk_tempdir() -> tempfile::TempDir {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix("pipeline-")
        .tempdir_in(base)
        .unwrap()
}

/// Parameters with compression and dedup, so that the test covers the interesting paths.
pub fn params(seed: u64, stream_id: u64) -> GenParams {
    GenParams {
        seed,
        stream_id,
        dedup_ratio: 2.0,
        compress_ratio: 3.0,
        dedup_unit: 64 << 10,
        ..GenParams::new(seed)
    }
}

/// Write options with small buffers for tests.
pub fn write_opts(params: GenParams, size: u64) -> WriteOptions {
    WriteOptions {
        params,
        size: Some(size),
        buffer_size: 1 << 20,
        buffer_count: 6,
        queue_depth: 4,
        threads: 2,
        ..WriteOptions::default()
    }
}

/// Verify options matching [`write_opts`].
pub fn verify_opts(params: GenParams) -> VerifyOptions {
    VerifyOptions {
        params,
        buffer_size: 1 << 20,
        buffer_count: 6,
        queue_depth: 4,
        threads: 2,
        ..VerifyOptions::default()
    }
}

/// What `Generator::fill` gives for `params` over `0..size`.
pub fn expected(params: &GenParams, size: u64) -> Vec<u8> {
    let mut buf = vec![0u8; size as usize];
    Generator::new(params.clone()).unwrap().fill(0, &mut buf);
    buf
}

/// Asserts that the file holds exactly `want`, naming the first differing offset.
pub fn assert_file_is(path: &Path, want: &[u8]) {
    let got = std::fs::read(path).unwrap();
    assert_eq!(got.len(), want.len(), "size of {}", path.display());
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{} differs from Generator::fill at byte {i}",
            path.display()
        );
    }
}

/// A progress hook that never cancels.
pub fn no_progress() -> impl FnMut(u64, u64) -> bool {
    |_, _| true
}

/// Runs `f` on a new thread whose system calls go through a seccomp filter: `io_uring_setup`
/// fails with EPERM (`deny_uring`) and/or `openat` with O_DIRECT fails with EINVAL
/// (`deny_direct`), as on kernels or file systems without them. Threads `f` starts inherit the
/// filter; the rest of the test process is not affected. Returns None (with a printed reason)
/// where seccomp cannot be installed.
#[cfg(target_arch = "x86_64")]
pub fn with_seccomp<T: Send>(
    deny_uring: bool,
    deny_direct: bool,
    f: impl FnOnce() -> T + Send,
) -> Option<T> {
    std::thread::scope(|s| {
        s.spawn(move || {
            if let Err(e) = install_filter(deny_uring, deny_direct) {
                eprintln!("SKIP: cannot install a seccomp filter: {e}");
                return None;
            }
            Some(f())
        })
        .join()
        .unwrap()
    })
}

#[cfg(target_arch = "x86_64")]
fn install_filter(deny_uring: bool, deny_direct: bool) -> std::io::Result<()> {
    // Classic BPF over struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }.
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
    const ERRNO: u32 = 0x0005_0000; // SECCOMP_RET_ERRNO
    const ARCH_X86_64: u32 = 0xc000_003e;
    const NR_IO_URING_SETUP: u32 = 425;
    const NR_OPENAT: u32 = 257;
    let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let uring_nr = if deny_uring {
        NR_IO_URING_SETUP
    } else {
        u32::MAX
    };
    let openat_nr = if deny_direct { NR_OPENAT } else { u32::MAX };
    let prog = [
        ins(LD_W_ABS, 0, 0, 4),                        // 0: arch
        ins(JEQ_K, 1, 0, ARCH_X86_64),                 // 1
        ins(RET_K, 0, 0, ALLOW),                       // 2: other arch
        ins(LD_W_ABS, 0, 0, 0),                        // 3: nr
        ins(JEQ_K, 0, 1, uring_nr),                    // 4
        ins(RET_K, 0, 0, ERRNO | libc::EPERM as u32),  // 5
        ins(JEQ_K, 1, 0, openat_nr),                   // 6
        ins(RET_K, 0, 0, ALLOW),                       // 7
        ins(LD_W_ABS, 0, 0, 16 + 2 * 8),               // 8: low half of args[2] (flags)
        ins(JSET_K, 0, 1, libc::O_DIRECT as u32),      // 9
        ins(RET_K, 0, 0, ERRNO | libc::EINVAL as u32), // 10
        ins(RET_K, 0, 0, ALLOW),                       // 11
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl with valid arguments; the filter program outlives the call (the kernel copies it).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &fprog as *const libc::sock_fprog,
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A small tmpfs mounted on a fresh directory, unmounted on drop.
pub struct SmallTmpfs {
    pub dir: tempfile::TempDir,
}

impl SmallTmpfs {
    /// Mounts a tmpfs of `size` (mount's syntax, e.g. "8m"); None with a printed reason when
    /// mounting is impossible (not root, no mount permission in the container).
    pub fn mount(size: &str) -> Option<SmallTmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallTmpfs { dir }),
            Ok(o) => {
                eprintln!(
                    "SKIP: cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIP: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// A loop block device over a file of `size` bytes filled with `fill`, detached on drop.
pub struct LoopDevice {
    pub device: std::path::PathBuf,
    pub backing: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopDevice {
    /// None (with a printed reason) where loop devices cannot be set up.
    pub fn new(size: usize, fill: u8) -> Option<LoopDevice> {
        let dir = disk_tempdir();
        let backing = dir.path().join("backing.img");
        std::fs::write(&backing, vec![fill; size]).ok()?;
        let out = std::process::Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&backing)
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let device = String::from_utf8_lossy(&o.stdout).trim().into();
                Some(LoopDevice {
                    device,
                    backing,
                    _dir: dir,
                })
            }
            Ok(o) => {
                eprintln!(
                    "SKIP: cannot set up a loop device: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIP: cannot run losetup: {e}");
                None
            }
        }
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .arg("-d")
            .arg(&self.device)
            .status();
    }
}

/// Names of this process's threads, without the kernel's io_uring workers (`iou-wrk-*`, which
/// the kernel retires on its own shortly after a ring closes).
pub fn thread_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.starts_with("iou-"))
        .collect();
    names.sort();
    names
}

/// Open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|r| r.count())
        .unwrap_or(0)
}

/// `N` from the `valid length N bytes` of a summary or error line.
pub fn valid_length(line: &str) -> u64 {
    line.split("valid length ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no valid length in {line}"))
}
