//! A writable, C-contiguous view of any object exporting the buffer protocol (bytearray,
//! memoryview, mmap, numpy arrays of any dtype, ...), seen as plain bytes.

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use std::mem::MaybeUninit;

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
        let mut view: Box<MaybeUninit<ffi::Py_buffer>> = Box::new(MaybeUninit::uninit());
        // No PyBUF_FORMAT: the exporter presents its memory as unsigned bytes whatever its dtype.
        let flags = ffi::PyBUF_WRITABLE | ffi::PyBUF_C_CONTIGUOUS;
        // SAFETY: `obj` is a live object (we hold the GIL through `Bound`) and `view` points to
        // writable memory for one Py_buffer, which PyObject_GetBuffer fills on success.
        let rc = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), flags) };
        if rc != 0 {
            let cause = PyErr::fetch(obj.py());
            let err = PyTypeError::new_err(format!(
                "expected a writable, C-contiguous buffer (bytearray, memoryview, mmap, numpy \
                 array), got {}: {}",
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

impl Drop for WritableBuffer {
    fn drop(&mut self) {
        Python::with_gil(|_| {
            // SAFETY: the view came from a successful PyObject_GetBuffer and is released once,
            // with the GIL held.
            unsafe { ffi::PyBuffer_Release(&mut *self.view) }
        });
    }
}
