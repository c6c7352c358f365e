//! `libdgen_fio.so`: a fio external engine that fills every write with dgen's data (exact
//! dedup and compression ratios, a pure function of seed, stream, parameters and offset) and
//! does the I/O itself (own io_uring ring per job, or pread/pwrite, or none).
//!
//! Layout: `c/dgen_shim.c` is the fio side (the only file that includes `fio.h`: ops struct,
//! option table, callbacks); it calls the functions of [`ffi`] with plain arguments
//! (`c/dgen_fio.h`). [`options`] parses the `dgen_*` options, [`job`] holds per-job state,
//! [`dgen::io::ring::Ring`] (the core's, shared with `dgen write`) is the io_uring ring, [`io`]
//! the synchronous I/O. No generation logic lives here: the
//! bytes come from [`dgen::Generator`].
//!
//! Use: `fio --ioengine=external:/path/libdgen_fio.so --dgen_compress_ratio=3 ...`.
//! License: GPL-2.0-only (it compiles against fio's headers); see `fio-engine/LICENSE`.

// Panics are caught at every FFI entry point (ffi.rs); that needs unwinding.
#[cfg(panic = "abort")]
compile_error!(
    "the fio engine must be built with panic = \"unwind\": panics are caught at the FFI boundary"
);

pub mod coverage;
pub mod ffi;
pub mod io;
pub mod job;
pub mod log;
pub mod mapjob;
pub mod options;
pub mod shared_map;

#[cfg(not(test))]
extern "C" {
    /// The shim's `struct ioengine_ops` (static, writable); null when the running fio is not
    /// the version the shim was compiled for (the shim has printed why).
    fn dgen_shim_ops() -> *mut std::ffi::c_void;
}

/// fio looks this symbol up after `dlopen`: it hands fio the engine's ops structure. (A Rust
/// cdylib does not export the C shim's symbols, so the entry point is defined here.)
///
/// When the running fio differs from the one the engine was built for, the shim's version
/// guard prints one line naming both versions and the ops pointer stays null: fio then refuses
/// the job ("engine ... not loadable") without ever seeing the engine's structures.
///
/// # Safety
/// `ops` is a valid pointer to write the ops pointer into (fio passes one).
#[cfg(not(test))]
#[no_mangle]
pub unsafe extern "C" fn get_ioengine(ops: *mut *mut std::ffi::c_void) {
    if ops.is_null() {
        return;
    }
    // SAFETY: `ops` is valid for writes (fio passes the address of a local); dgen_shim_ops only
    // returns the address of a static.
    unsafe { *ops = dgen_shim_ops() };
}
