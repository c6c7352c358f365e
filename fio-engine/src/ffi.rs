//! The functions the C shim calls (declared in `c/dgen_fio.h`). Each one converts plain C
//! arguments, calls into the job/ring/generator code, and catches any panic so that none
//! crosses into fio: a panic is logged and reported as an error of the call.

use std::ffi::{c_char, c_int, c_uint, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use dgen::Generator;

use crate::io;
use crate::job::{Fill, Job};
use crate::log;
use crate::mapjob::MapJob;
use crate::options::{check_option, EngineConfig, IoMode, Placement, RawOptions};

/// Error code for a caught panic (shows in fio as "State not recoverable").
const PANIC_ERRNO: i32 = libc::ENOTRECOVERABLE;

/// `struct dgen_opts` of `dgen_fio.h`.
#[repr(C)]
pub struct DgenOpts {
    dedupe_ratio: *const c_char,
    compress_ratio: *const c_char,
    dedupe_unit: *const c_char,
    seed: *const c_char,
    stream: *const c_char,
    io: *const c_char,
    verify: *const c_char,
    prepopulate: *const c_char,
    compress_codec: *const c_char,
    map: *const c_char,
    map_durability: *const c_char,
    map_trimmed: *const c_char,
    dedupe_working_set: *const c_char,
    dedupe_skew: *const c_char,
    dedupe_scope: *const c_char,
    dedupe_shifted: *const c_char,
    profile: *const c_char,
    job_index: c_uint,
    jobs: c_uint,
    nr_files: c_uint,
}

/// `struct dgen_job_info` of `dgen_fio.h`.
#[repr(C)]
pub struct DgenJobInfo {
    io_mode: c_int,
    verify: c_int,
    prepopulate: c_int,
    map: c_int,
    dedupe_unit: u64,
}

/// Runs `f`, turning a panic into a logged error and `fallback`.
fn guard<T>(what: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::error(&format!("dgen: internal error in {what}: {msg}"));
            fallback
        }
    }
}

/// A C string as `&str` (`None` for NULL; invalid UTF-8 is replaced).
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string that outlives `'a`.
unsafe fn opt_str<'a>(p: *const c_char) -> Option<std::borrow::Cow<'a, str>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
}

/// A C string as a path (bytes kept as they are, so the stream id hashes the real name).
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string that outlives `'a`.
unsafe fn path<'a>(p: *const c_char) -> &'a Path {
    if p.is_null() {
        return Path::new("");
    }
    // SAFETY: guaranteed by the caller.
    Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(p) }.to_bytes()))
}

/// Parses the shim's option strings into a configuration, logging why when it fails.
///
/// # Safety
/// `opts` points to a valid `struct dgen_opts` whose strings are NULL or valid.
unsafe fn parse_opts(opts: *const DgenOpts) -> Option<EngineConfig> {
    if opts.is_null() {
        log::error("dgen: no options (internal error)");
        return None;
    }
    // SAFETY: guaranteed by the caller.
    let o = unsafe { &*opts };
    // SAFETY: the strings are NULL or valid for the duration of this call.
    let s = |p| unsafe { opt_str(p) };
    let codec = s(o.compress_codec);
    let map = s(o.map);
    let durability = s(o.map_durability);
    let trimmed = s(o.map_trimmed);
    let (working_set, skew, scope, shifted) = (
        s(o.dedupe_working_set),
        s(o.dedupe_skew),
        s(o.dedupe_scope),
        s(o.dedupe_shifted),
    );
    let profile = s(o.profile);
    let host_index = std::env::var("DGEN_HOST_INDEX").ok();
    let (d, c, u, seed, st, io, v, pp) = (
        s(o.dedupe_ratio),
        s(o.compress_ratio),
        s(o.dedupe_unit),
        s(o.seed),
        s(o.stream),
        s(o.io),
        s(o.verify),
        s(o.prepopulate),
    );
    let raw = RawOptions {
        dedupe_ratio: d.as_deref(),
        compress_ratio: c.as_deref(),
        dedupe_unit: u.as_deref(),
        seed: seed.as_deref(),
        stream: st.as_deref(),
        io: io.as_deref(),
        verify: v.as_deref(),
        prepopulate: pp.as_deref(),
        compress_codec: codec.as_deref(),
        map: map.as_deref(),
        map_durability: durability.as_deref(),
        map_trimmed: trimmed.as_deref(),
        dedupe_working_set: working_set.as_deref(),
        dedupe_skew: skew.as_deref(),
        dedupe_scope: scope.as_deref(),
        dedupe_shifted: shifted.as_deref(),
        profile: profile.as_deref(),
        placement: Placement {
            job_index: o.job_index,
            jobs: o.jobs,
            nr_files: o.nr_files,
        },
        host_index: host_index.as_deref(),
    };
    match EngineConfig::parse(&raw) {
        Ok(c) => Some(c),
        Err(e) => {
            log::error(&e.to_string());
            None
        }
    }
}

/// # Safety
/// `job` is NULL or a pointer returned by [`dgen_rs_job_new`] and not yet freed, used by one
/// thread at a time (fio never calls one job's hooks concurrently).
unsafe fn job_mut<'a>(job: *mut Job) -> Option<&'a mut Job> {
    // SAFETY: guaranteed by the caller.
    unsafe { job.as_mut() }
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `name` and `value` are NULL or valid NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_check_option(name: *const c_char, value: *const c_char) -> c_int {
    guard("option check", 1, || {
        // SAFETY: guaranteed by the caller.
        let (n, v) = unsafe { (opt_str(name), opt_str(value)) };
        match check_option(n.as_deref().unwrap_or(""), v.as_deref().unwrap_or("")) {
            Ok(()) => 0,
            Err(e) => {
                log::error(&e.to_string());
                1
            }
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `buf` is valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_random_seed(buf: *mut c_char, len: usize) -> c_int {
    guard("seed", 1, || {
        let text = dgen::params::random_seed().to_string();
        if buf.is_null() || len <= text.len() {
            return 1;
        }
        // SAFETY: `buf` has room for `len > text.len()` bytes: the digits and the NUL.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
            *buf.add(text.len()) = 0;
        }
        0
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `value` is NULL or a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_io_mode(value: *const c_char) -> c_int {
    guard("io mode", -1, || {
        // SAFETY: guaranteed by the caller.
        let v = unsafe { opt_str(value) };
        let raw = RawOptions {
            seed: Some("0"),
            io: v.as_deref(),
            ..Default::default()
        };
        EngineConfig::parse(&raw).map_or(-1, |c| c.io as c_int)
    })
}

/// What the shim needs to know of a configuration.
fn job_info(config: &EngineConfig) -> DgenJobInfo {
    DgenJobInfo {
        io_mode: config.io as c_int,
        verify: c_int::from(config.verify),
        prepopulate: c_int::from(config.prepopulate),
        map: c_int::from(config.map.is_some()),
        dedupe_unit: config.params.dedup_unit,
    }
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `opts` points to a valid `struct dgen_opts` (its strings NULL or valid); `info` is NULL or
/// valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_opts_info(opts: *const DgenOpts, info: *mut DgenJobInfo) -> c_int {
    guard("option check", 1, || {
        // SAFETY: guaranteed by the caller.
        let Some(config) = (unsafe { parse_opts(opts) }) else {
            return 1;
        };
        if !info.is_null() {
            // SAFETY: `info` is valid for writes (caller).
            unsafe { *info = job_info(&config) };
        }
        0
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `opts` points to a valid `struct dgen_opts`, `job_name` is NULL or a valid string, `info`
/// is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_job_new(
    opts: *const DgenOpts,
    job_name: *const c_char,
    iodepth: c_uint,
    info: *mut DgenJobInfo,
) -> *mut Job {
    guard("job init", std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let name = unsafe { opt_str(job_name) }
            .unwrap_or_default()
            .into_owned();
        // SAFETY: guaranteed by the caller.
        let Some(config) = (unsafe { parse_opts(opts) }) else {
            return std::ptr::null_mut();
        };
        let job = match Job::new(&name, config, iodepth) {
            Ok(j) => j,
            Err(e) => {
                log::error(&format!("dgen: job {name}: cannot set up io_uring: {e} (dgen_io=psync works without it)"));
                return std::ptr::null_mut();
            }
        };
        if !info.is_null() {
            // SAFETY: `info` is valid for writes (caller).
            unsafe { *info = job_info(&job.config) };
        }
        Box::into_raw(Box::new(job))
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` is NULL or a pointer from [`dgen_rs_job_new`], not used after this call.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_job_free(job: *mut Job) {
    guard("job cleanup", (), || {
        if !job.is_null() {
            // SAFETY: `job` came from Box::into_raw in dgen_rs_job_new and is freed once.
            let mut job = unsafe { Box::from_raw(job) };
            job.finish();
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` as in [`dgen_rs_job_free`] (live); `file_name` NULL or valid; `buf` valid for writes of
/// `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_fill(
    job: *mut Job,
    key: u64,
    fileno: c_uint,
    file_name: *const c_char,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> c_int {
    guard("fill", PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return libc::EINVAL;
        };
        if buf.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: `buf` is valid for writes of `len` bytes (caller: fio's io_u buffer).
        let data = unsafe { std::slice::from_raw_parts_mut(buf, len) };
        // SAFETY: guaranteed by the caller.
        let file = unsafe { path(file_name) };
        match job.fill_io(key, fileno as usize, file, offset, data) {
            Ok(Fill::Ready) => 0,
            Ok(Fill::Busy) => -1,
            Err(errno) => errno,
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_trim(
    job: *mut Job,
    key: u64,
    fileno: c_uint,
    offset: u64,
    len: u64,
) -> c_int {
    guard("trim", PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return libc::EINVAL;
        };
        match job.trim_io(key, fileno as usize, offset, len) {
            Ok(Fill::Ready) => 0,
            Ok(Fill::Busy) => -1,
            Err(errno) => errno,
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// As [`dgen_rs_fill`], with `buf` valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_verify(
    job: *mut Job,
    fileno: c_uint,
    file_name: *const c_char,
    offset: u64,
    buf: *const u8,
    len: usize,
) -> c_int {
    guard("verify", PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return libc::EINVAL;
        };
        if buf.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: `buf` is valid for reads of `len` bytes (caller: the data just read).
        let data = unsafe { std::slice::from_raw_parts(buf, len) };
        // SAFETY: guaranteed by the caller.
        let file = unsafe { path(file_name) };
        job.verify(fileno as usize, file, offset, data)
            .err()
            .unwrap_or(0)
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_read_done(job: *mut Job, key: u64, fileno: c_uint) {
    guard("read done", (), || {
        // SAFETY: guaranteed by the caller.
        if let Some(job) = unsafe { job_mut(job) } {
            job.read_done(key, fileno as usize);
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `buf` is valid for `len` bytes (writable when reading).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_psync(
    fd: c_int,
    is_write: c_int,
    buf: *mut u8,
    len: usize,
    offset: u64,
) -> i64 {
    guard("psync", -i64::from(PANIC_ERRNO), || {
        if buf.is_null() {
            return -i64::from(libc::EINVAL);
        }
        // SAFETY: `buf` is valid for `len` bytes (caller: fio's io_u buffer).
        let data = unsafe { std::slice::from_raw_parts_mut(buf, len) };
        match io::pio(fd, is_write != 0, data, offset) {
            Ok(n) => n as i64,
            Err(e) => -i64::from(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]); `buf`/`len` valid, and `fd` open, until the completion
/// with `user_data` has been reaped (fio keeps the io_u and its file until then).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_uring_queue(
    job: *mut Job,
    user_data: u64,
    fileno: c_uint,
    fd: c_int,
    is_write: c_int,
    buf: *mut u8,
    len: usize,
    offset: u64,
) -> c_int {
    guard("io_uring queue", -PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return -libc::EINVAL;
        };
        if is_write == 0 && !job.read_queued(user_data, fileno as usize, offset, len as u64) {
            return 1;
        }
        let fixed = job.fixed_buffer_holds(buf, len);
        let Some(ring) = job.ring.as_mut() else {
            return -libc::EINVAL;
        };
        // SAFETY: buffer and fd validity until reaping is guaranteed by the caller; a fixed
        // buffer's range lies inside registered buffer 0 (checked just above).
        let queued = unsafe {
            if fixed {
                ring.queue_fixed(user_data, fd, is_write != 0, buf, len, offset, 0)
            } else {
                ring.queue(user_data, fd, is_write != 0, buf, len, offset)
            }
        };
        match queued {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_uring_pending(job: *mut Job) -> c_uint {
    guard("io_uring pending", 0, || {
        // SAFETY: guaranteed by the caller.
        unsafe { job_mut(job) }
            .and_then(|j| j.ring.as_ref())
            .map_or(0, |r| r.pending())
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]); `file_name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_map_open(
    job: *mut Job,
    fileno: c_uint,
    file_name: *const c_char,
    size: u64,
    writes: c_int,
) -> c_int {
    guard("dgen_map open", PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return libc::EINVAL;
        };
        // SAFETY: guaranteed by the caller.
        let file = unsafe { path(file_name) };
        job.open_map(fileno as usize, file, size, writes != 0, writes == 1)
            .err()
            .unwrap_or(0)
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_write_done(job: *mut Job, key: u64, fileno: c_uint, ok: c_int) {
    guard("write done", (), || {
        // SAFETY: guaranteed by the caller.
        if let Some(job) = unsafe { job_mut(job) } {
            job.write_done(key, fileno as usize, ok != 0);
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]); `buf` valid for `len` bytes, and stays allocated (fio's
/// io_u buffers) until the job is freed.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_uring_register_buffer(
    job: *mut Job,
    buf: *mut u8,
    len: usize,
) -> c_int {
    guard("io_uring register", PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return libc::EINVAL;
        };
        // SAFETY: forwarded from this function's contract.
        match unsafe { job.register_buffer(buf, len) } {
            Ok(()) => 0,
            Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_uring_commit(job: *mut Job) -> c_int {
    guard("io_uring submit", -PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return -libc::EINVAL;
        };
        let Some(ring) = job.ring.as_mut() else {
            return -libc::EINVAL;
        };
        let submitted = ring.commit();
        job.report_sync_error();
        match submitted {
            Ok(n) => n as c_int,
            Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]).
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_uring_getevents(job: *mut Job, min: c_uint, max: c_uint) -> c_int {
    guard("io_uring getevents", -PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let Some(job) = (unsafe { job_mut(job) }) else {
            return -libc::EINVAL;
        };
        let Some(ring) = job.ring.as_mut() else {
            return -libc::EINVAL;
        };
        let reaped = ring.getevents(min, max);
        job.report_sync_error();
        match reaped {
            Ok(n) => n as c_int,
            Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
        }
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `job` live (see [`dgen_rs_fill`]); `result` valid for writes; `idx` below the count returned
/// by the last [`dgen_rs_uring_getevents`].
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_uring_event(job: *mut Job, idx: c_uint, result: *mut i32) -> u64 {
    guard("io_uring event", 0, || {
        // SAFETY: guaranteed by the caller.
        let ev = unsafe { job_mut(job) }
            .and_then(|j| j.ring.as_ref())
            .and_then(|r| r.event(idx as usize));
        let (user_data, res) = ev.unwrap_or((0, -libc::EIO));
        if !result.is_null() {
            // SAFETY: `result` is valid for writes (caller).
            unsafe { *result = res };
        }
        user_data
    })
}

/// See `dgen_fio.h`.
///
/// # Safety
/// `opts` valid (see [`dgen_rs_job_new`]); strings NULL or valid; `fd` open for writing.
#[no_mangle]
pub unsafe extern "C" fn dgen_rs_prepopulate(
    opts: *const DgenOpts,
    job_name: *const c_char,
    fileno: c_uint,
    file_name: *const c_char,
    fd: c_int,
    len: u64,
    chunk: usize,
) -> c_int {
    guard("prepopulate", PANIC_ERRNO, || {
        // SAFETY: guaranteed by the caller.
        let (name, file) = unsafe { (opt_str(job_name).unwrap_or_default(), path(file_name)) };
        // SAFETY: guaranteed by the caller.
        let Some(config) = (unsafe { parse_opts(opts) }) else {
            return libc::EINVAL;
        };
        if config.io == IoMode::Null || !config.prepopulate {
            return 0;
        }
        let gen = match config.map_path(fileno as usize) {
            // What the map says (a fresh map is created: every block at generation 0).
            Some(map) => {
                match MapJob::open(
                    &map,
                    config.params_for(fileno as usize, file),
                    file,
                    len,
                    true,
                    true,
                )
                .and_then(|m| m.generator())
                {
                    Ok(g) => g,
                    Err(reason) => {
                        log::error(&format!(
                            "dgen: job {name}: bad option dgen_map={}: {reason}",
                            map.display()
                        ));
                        return libc::EINVAL;
                    }
                }
            }
            None => match Generator::new(config.params_for(fileno as usize, file)) {
                Ok(g) => g,
                Err(e) => {
                    log::error(&format!("dgen: job {name}: {e}"));
                    return libc::EINVAL;
                }
            },
        };
        log::info(&format!(
            "dgen: job {name}: writing generated content over fio's layout of {} ({})",
            file.display(),
            dgen::size::format_size(len)
        ));
        match io::prepopulate(&gen, fd, len, chunk) {
            Ok(()) => 0,
            Err(e) => {
                log::error(&format!(
                    "dgen: job {name}: prepopulating {}: {e}",
                    file.display()
                ));
                e.raw_os_error().unwrap_or(libc::EIO)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        assert_eq!(guard("test", 7, || -> i32 { panic!("boom") }), 7);
        assert_eq!(guard("test", 7, || 3), 3);
    }

    #[test]
    fn entry_points_reject_null_pointers_without_crashing() {
        // SAFETY: NULL is allowed for these arguments and must be reported as an error.
        unsafe {
            assert_eq!(
                dgen_rs_fill(
                    std::ptr::null_mut(),
                    0,
                    0,
                    std::ptr::null(),
                    0,
                    std::ptr::null_mut(),
                    0
                ),
                libc::EINVAL
            );
            assert_eq!(dgen_rs_uring_commit(std::ptr::null_mut()), -libc::EINVAL);
            assert!(
                dgen_rs_job_new(std::ptr::null(), std::ptr::null(), 1, std::ptr::null_mut())
                    .is_null()
            );
            assert_eq!(dgen_rs_io_mode(std::ptr::null()), IoMode::Uring as c_int);
            assert_eq!(dgen_rs_io_mode(c"psync".as_ptr()), IoMode::Psync as c_int);
            assert_eq!(dgen_rs_io_mode(c"nope".as_ptr()), -1);
            assert_eq!(
                dgen_rs_check_option(c"dgen_io".as_ptr(), c"null".as_ptr()),
                0
            );
            assert_eq!(
                dgen_rs_check_option(c"dgen_io".as_ptr(), c"aio".as_ptr()),
                1
            );
            let mut buf = [0 as c_char; 32];
            assert_eq!(dgen_rs_random_seed(buf.as_mut_ptr(), buf.len()), 0);
            let seed = CStr::from_ptr(buf.as_ptr()).to_str().unwrap();
            assert!(seed.parse::<u64>().is_ok());
            assert_eq!(dgen_rs_random_seed(buf.as_mut_ptr(), 2), 1);
        }
    }
}
