//! A writable, C-contiguous view of any object exporting the buffer protocol (bytearray,
//! memoryview, mmap, numpy arrays of any dtype, ...), seen as plain bytes.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::mem::MaybeUninit;

/// The buffer protocol's C interface (PEP 3118), declared here because the module is built
/// for the stable ABI from Python 3.9 on (`abi3-py39`), and pyo3 hides these under the limited
/// API before 3.11. They joined the stable ABI in 3.11 unchanged: the struct layout and both
/// functions are the same in every CPython from 3.3 on, which exports them all.
#[allow(non_camel_case_types, non_upper_case_globals)]
pub(crate) mod ffi {
    use pyo3::ffi::{PyObject, Py_ssize_t};
    use std::os::raw::{c_char, c_int, c_void};

    /// `Py_buffer` (`Include/pybuffer.h`).
    #[repr(C)]
    pub struct Py_buffer {
        pub buf: *mut c_void,
        pub obj: *mut PyObject,
        pub len: Py_ssize_t,
        pub itemsize: Py_ssize_t,
        pub readonly: c_int,
        pub ndim: c_int,
        pub format: *mut c_char,
        pub shape: *mut Py_ssize_t,
        pub strides: *mut Py_ssize_t,
        pub suboffsets: *mut Py_ssize_t,
        pub internal: *mut c_void,
    }

    /// `PyBUF_WRITABLE`.
    pub const PyBUF_WRITABLE: c_int = 0x0001;
    /// `PyBUF_C_CONTIGUOUS` (`0x0020 | PyBUF_STRIDES`, where `PyBUF_STRIDES` is `0x0010 | PyBUF_ND`
    /// and `PyBUF_ND` is `0x0008`).
    pub const PyBUF_C_CONTIGUOUS: c_int = 0x0020 | 0x0010 | 0x0008;

    /// `PyBUF_FORMAT`: the exporter fills `format` (`"B"`, `"f"`, ...).
    pub const PyBUF_FORMAT: c_int = 0x0004;

    extern "C" {
        /// Fills `view` for a one-dimensional byte buffer of `len` bytes at `buf` owned by
        /// `exporter` (a new reference is stored in `view.obj`); raises `BufferError` and
        /// returns -1 when `flags` asks for writing and `readonly` is 1.
        pub fn PyBuffer_FillInfo(
            view: *mut Py_buffer,
            exporter: *mut PyObject,
            buf: *mut c_void,
            len: Py_ssize_t,
            readonly: c_int,
            flags: c_int,
        ) -> c_int;
        pub fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut Py_buffer, flags: c_int) -> c_int;
        pub fn PyBuffer_Release(view: *mut Py_buffer);
    }
}

/// Holds a buffer export for as long as it lives; released on drop.
///
/// While the export is held the exporter may not move or resize its memory (a `bytearray`
/// refuses to resize, `mmap.close()` raises), so the memory can be written with the GIL released.
pub struct WritableBuffer {
    view: Box<ffi::Py_buffer>,
}

impl WritableBuffer {
    /// Requests a writable, C-contiguous byte view of `obj`; `TypeError` when `obj` has none
    /// (read-only objects such as `bytes`, non-contiguous views, objects without the protocol).
    pub fn get(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        // No PyBUF_FORMAT: the exporter presents its memory as unsigned bytes whatever its dtype.
        Self::get_flags(obj, ffi::PyBUF_WRITABLE | ffi::PyBUF_C_CONTIGUOUS)
    }

    /// As [`WritableBuffer::get`], also asking the exporter for its element format (see
    /// [`WritableBuffer::format`]).
    pub fn get_with_format(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::get_flags(
            obj,
            ffi::PyBUF_WRITABLE | ffi::PyBUF_C_CONTIGUOUS | ffi::PyBUF_FORMAT,
        )
    }

    fn get_flags(obj: &Bound<'_, PyAny>, flags: std::os::raw::c_int) -> PyResult<Self> {
        Self::get_flags_or(
            obj,
            flags,
            "a writable, C-contiguous buffer (bytearray, memoryview, mmap, numpy array)",
        )
    }

    fn get_flags_or(
        obj: &Bound<'_, PyAny>,
        flags: std::os::raw::c_int,
        expected: &str,
    ) -> PyResult<Self> {
        let mut view: Box<MaybeUninit<ffi::Py_buffer>> = Box::new(MaybeUninit::uninit());
        // SAFETY: `obj` is a live object (we hold the GIL through `Bound`) and `view` points to
        // writable memory for one Py_buffer, which PyObject_GetBuffer fills on success.
        let rc = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), flags) };
        if rc != 0 {
            let cause = PyErr::fetch(obj.py());
            let err = PyTypeError::new_err(format!(
                "expected {expected}, got {}: {}",
                obj.get_type().name()?,
                cause.value(obj.py())
            ));
            err.set_cause(obj.py(), Some(cause));
            return Err(err);
        }
        // SAFETY: PyObject_GetBuffer returned 0, so the Py_buffer is initialised.
        let view = unsafe { Box::from_raw(Box::into_raw(view).cast::<ffi::Py_buffer>()) };
        Ok(WritableBuffer { view })
    }

    /// The element format the exporter reported (struct module syntax, `"B"` for plain bytes),
    /// when it was asked for ([`WritableBuffer::get_with_format`]) and given; `None` otherwise.
    pub fn format(&self) -> Option<String> {
        if self.view.format.is_null() {
            return None;
        }
        // SAFETY: a non-null `format` is a NUL-terminated string owned by the export, valid
        // until PyBuffer_Release (in Drop), which cannot happen while `&self` is borrowed.
        let text = unsafe { std::ffi::CStr::from_ptr(self.view.format) };
        Some(text.to_string_lossy().into_owned())
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        usize::try_from(self.view.len).unwrap_or(0)
    }

    /// The bytes, writable. Other Python threads could write the same memory concurrently, as
    /// with any buffer handed to native code (numpy and `readinto` behave the same); the bytes
    /// are then unspecified but nothing unsound happens on our side beyond that data race on
    /// plain bytes, which the exporter accepted by granting a writable export.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.len();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: the exporter granted a writable C-contiguous export of `len` bytes at `buf`,
        // valid until PyBuffer_Release (in Drop); `&mut self` keeps this the only Rust slice.
        unsafe { std::slice::from_raw_parts_mut(self.view.buf.cast::<u8>(), len) }
    }
}

/// A C-contiguous byte export that is only read (bytes, `BytesView`, bytearray, memoryview,
/// mmap, numpy array); released on drop. The exporter keeps the memory in place while it is held,
/// so it can be read with the GIL released.
pub struct ReadableBuffer {
    inner: WritableBuffer,
}

impl ReadableBuffer {
    /// Requests a C-contiguous byte view of `obj`; `TypeError` when `obj` has none.
    pub fn get(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let inner = WritableBuffer::get_flags_or(
            obj,
            ffi::PyBUF_C_CONTIGUOUS,
            "a C-contiguous buffer (bytes, BytesView, bytearray, memoryview, mmap, numpy array)",
        )?;
        Ok(ReadableBuffer { inner })
    }

    /// The bytes. Another Python thread may write a writable exporter's memory meanwhile (as with
    /// any buffer read by native code); the comparison then sees some mix of old and new bytes.
    pub fn as_slice(&self) -> &[u8] {
        let len = self.inner.len();
        if len == 0 {
            return &[];
        }
        // SAFETY: the exporter granted a C-contiguous export of `len` bytes at `buf`, valid until
        // PyBuffer_Release (when `inner` drops), which cannot happen while `&self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.inner.view.buf.cast::<u8>(), len) }
    }
}

impl Drop for WritableBuffer {
    fn drop(&mut self) {
        Python::with_gil(|_| {
            // SAFETY: the view came from a successful PyObject_GetBuffer and is released once,
            // with the GIL held.
            unsafe { ffi::PyBuffer_Release(&mut *self.view) }
        });
    }
}
