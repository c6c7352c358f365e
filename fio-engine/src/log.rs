//! Messages to the user. They go to stderr, never to stdout (which belongs to fio's report:
//! JSON, terse or normal); the shim's `dgen_shim_log` also copies them into fio's `--output`
//! file in normal output format, and sends errors of a `fio --server` backend to the client.
//! Unit tests print to stderr directly: they do not run inside fio.

use std::ffi::CString;

#[cfg(not(test))]
extern "C" {
    /// Implemented in `c/dgen_shim.c`: writes one message to stderr (see the module doc).
    fn dgen_shim_log(is_err: libc::c_int, msg: *const libc::c_char);
}

fn emit(is_err: bool, msg: &str) {
    let mut line = msg.replace('\0', " ");
    if !line.ends_with('\n') {
        line.push('\n');
    }
    #[cfg(not(test))]
    {
        let c = CString::new(line).unwrap_or_default();
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call; the shim passes it
        // to fio's log functions as a "%s" argument and does not keep it.
        unsafe { dgen_shim_log(libc::c_int::from(is_err), c.as_ptr()) };
    }
    #[cfg(test)]
    {
        let _ = (is_err, CString::new("").ok());
        eprint!("{line}");
    }
}

/// Logs an informational line (stderr).
pub fn info(msg: &str) {
    emit(false, msg);
}

/// Logs an error line (stderr; also to the client of a `fio --server` backend).
pub fn error(msg: &str) {
    emit(true, msg);
}
