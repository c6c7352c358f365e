//! Messages to the user, through fio's own log (so they land in fio's output, including
//! client/server runs). Unit tests print to stderr instead: they do not run inside fio.

use std::ffi::CString;

#[cfg(not(test))]
extern "C" {
    /// Implemented in `c/dgen_shim.c`: `log_info` (is_err = 0) or `log_err` (is_err = 1).
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

/// Logs an informational line (fio's `log_info`).
pub fn info(msg: &str) {
    emit(false, msg);
}

/// Logs an error line (fio's `log_err`).
pub fn error(msg: &str) {
    emit(true, msg);
}
