//! `BytesView`: a read-only, zero-copy view of bytes that live in Rust memory, exported to
//! Python through the buffer protocol (dgen-py 0.3.0's return type for `generate_buffer`,
//! `get_chunk`, `BufferPool.next_slice` and the float functions).
//!
//! The module is built for the stable ABI from Python 3.9 on (`abi3-py39`), where pyo3 cannot
//! declare `__getbuffer__` (the buffer slots joined the limited API in 3.11). The type is
//! therefore made here with `PyType_FromSpec` and raw slots: `Py_bf_getbuffer` is accepted by
//! `PyType_FromSpec` from CPython 3.9 on (bpo-40724) with the same number (1) ever since.
//! Everything a slot does beyond pointer bookkeeping goes through pyo3 inside [`slot`], which
//! turns errors into Python exceptions and never lets a panic cross into C.

use crate::block::Block;
use crate::buffer::ffi as buf_ffi;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyMemoryView, PyType};
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// The object's memory layout: the Python header, then the view's bytes and their owner.
#[repr(C)]
struct RawView {
    ob_base: ffi::PyObject,
    /// First byte of the view (inside `*owner`); never null.
    data: *const u8,
    /// Length in bytes.
    len: ffi::Py_ssize_t,
    /// `Arc::into_raw` of the bytes' owner: one strong count held by this object.
    owner: *const Block,
}

/// The type object, made once per interpreter.
static TYPE: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// The `BytesView` type (made on first use).
pub fn view_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    TYPE.get_or_try_init(py, || make_type(py))
        .map(|t| t.bind(py))
}

/// A new `BytesView` of `owner[start..start + len]`, sharing `owner` (no copy).
pub fn new_view<'py>(
    py: Python<'py>,
    owner: Arc<Block>,
    start: usize,
    len: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let end = start.checked_add(len).filter(|&e| e <= owner.len());
    if end.is_none() {
        return Err(PyRuntimeError::new_err(format!(
            "internal error: view {start}+{len} outside {} bytes",
            owner.len()
        )));
    }
    let len_ssize = ffi::Py_ssize_t::try_from(len)
        .map_err(|_| PyRuntimeError::new_err(format!("invalid size: {len} is too large")))?;
    let tp = view_type(py)?;
    // SAFETY: `tp` is our heap type; PyType_GenericAlloc returns a zeroed object of its basic
    // size (a RawView) with a reference to the type, or NULL with an exception set.
    let obj = unsafe { ffi::PyType_GenericAlloc(tp.as_type_ptr(), 0) };
    // SAFETY: `obj` is the new (owned) reference from PyType_GenericAlloc, or NULL.
    let obj = unsafe { Bound::from_owned_ptr_or_err(py, obj)? };
    // `start <= owner.len()` (checked above), so the pointer stays inside (or one past) the
    // allocation; a Block's (Vec's) pointer is never null, even when empty.
    let data = owner[start..].as_ptr();
    let raw = obj.as_ptr().cast::<RawView>();
    // SAFETY: `obj` is a fresh RawView that nothing else references yet; the fields are plain
    // data, and the Arc's strong count moves into the object (released in `dealloc`).
    unsafe {
        (*raw).data = data;
        (*raw).len = len_ssize;
        (*raw).owner = Arc::into_raw(owner);
    }
    Ok(obj)
}

/// A whole `Block` (or `Vec`) as a new `BytesView`.
pub fn from_block(py: Python<'_>, bytes: impl Into<Block>) -> PyResult<Bound<'_, PyAny>> {
    let bytes = bytes.into();
    let len = bytes.len();
    new_view(py, Arc::new(bytes), 0, len)
}

/// The bytes of a `BytesView` object.
///
/// # Safety
/// `obj` must be a live `BytesView` made by [`new_view`]; the slice must not outlive it.
unsafe fn bytes_of<'a>(obj: *mut ffi::PyObject) -> &'a [u8] {
    let raw = obj.cast::<RawView>();
    // SAFETY: per the contract, `data`/`len` describe bytes kept alive by `owner`.
    unsafe { std::slice::from_raw_parts((*raw).data, (*raw).len as usize) }
}

/// Runs a slot's body with the GIL (CPython calls slots holding it): an `Err` is raised as the
/// Python exception and `failed` returned, and a panic becomes a `RuntimeError`.
fn slot<T>(failed: T, body: impl FnOnce(Python<'_>) -> PyResult<T>) -> T {
    // SAFETY: every caller is a type slot, which CPython calls with the GIL held.
    let py = unsafe { Python::assume_gil_acquired() };
    match catch_unwind(AssertUnwindSafe(|| body(py))) {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            err.restore(py);
            failed
        }
        Err(_) => {
            PyRuntimeError::new_err("internal error: panic in BytesView").restore(py);
            failed
        }
    }
}

/// `bf_getbuffer`: a read-only, one-dimensional byte buffer (format `"B"`).
unsafe extern "C" fn getbuffer(
    obj: *mut ffi::PyObject,
    view: *mut buf_ffi::Py_buffer,
    flags: c_int,
) -> c_int {
    // SAFETY: CPython passes our live object and a Py_buffer to fill. PyBuffer_FillInfo
    // stores a new reference to `obj` in the view, which keeps the bytes alive until
    // PyBuffer_Release; it refuses writable requests with BufferError.
    unsafe {
        let raw = obj.cast::<RawView>();
        buf_ffi::PyBuffer_FillInfo(view, obj, (*raw).data as *mut c_void, (*raw).len, 1, flags)
    }
}

/// `tp_dealloc`: releases the owner, frees the object and drops its type reference.
unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: called once, when the last reference goes; `owner` is null only for an object
    // whose construction failed half-way. A heap type's instance holds a type reference.
    unsafe {
        let raw = obj.cast::<RawView>();
        let owner = (*raw).owner;
        if !owner.is_null() {
            drop(Arc::from_raw(owner));
        }
        let tp = ffi::Py_TYPE(obj);
        let free = ffi::PyType_GetSlot(tp, ffi::Py_tp_free);
        if free.is_null() {
            ffi::PyObject_Free(obj.cast());
        } else {
            let free: ffi::freefunc = std::mem::transmute(free);
            free(obj.cast());
        }
        ffi::Py_DECREF(tp.cast());
    }
}

/// `tp_new`: refused, as dgen-py 0.3.0 does (views come from the generating functions).
unsafe extern "C" fn refuse_new(
    _tp: *mut ffi::PyTypeObject,
    _args: *mut ffi::PyObject,
    _kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    slot(std::ptr::null_mut(), |_| {
        Err(PyTypeError::new_err(
            "cannot create 'dgen_py.BytesView' instances (they come from generate_buffer, \
             BufferPool.next_slice, ...)",
        ))
    })
}

/// `sq_length` / `mp_length`.
unsafe extern "C" fn length(obj: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: CPython passes our live object.
    unsafe { (*obj.cast::<RawView>()).len }
}

/// `mp_subscript`: an int gives the byte (an int), a slice gives a `bytes` copy.
unsafe extern "C" fn subscript(
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    slot(std::ptr::null_mut(), |py| {
        // SAFETY: CPython passes borrowed references to live objects.
        let (me, key) = unsafe {
            (
                Bound::from_borrowed_ptr(py, obj),
                Bound::from_borrowed_ptr(py, key),
            )
        };
        let item = PyMemoryView::from(&me)?.get_item(key)?;
        let item = if item.is_instance_of::<PyMemoryView>() {
            item.call_method0("tobytes")?
        } else {
            item
        };
        Ok(item.into_ptr())
    })
}

/// `tp_richcompare`: `==` / `!=` against any bytes-like object (byte-wise); anything else is
/// `NotImplemented`.
unsafe extern "C" fn richcompare(
    obj: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    slot(std::ptr::null_mut(), |py| {
        // SAFETY: CPython passes borrowed references to live objects.
        let other = unsafe { Bound::from_borrowed_ptr(py, other) };
        let not_implemented = || Ok(py.NotImplemented().into_ptr());
        if op != ffi::Py_EQ && op != ffi::Py_NE {
            return not_implemented();
        }
        let Ok(theirs) = PyMemoryView::from(&other) else {
            return not_implemented();
        };
        let theirs = theirs.call_method0("tobytes")?;
        let theirs = theirs.downcast::<PyBytes>()?;
        // SAFETY: `obj` is our live object for the duration of the call.
        let equal = unsafe { bytes_of(obj) } == theirs.as_bytes();
        let result = if op == ffi::Py_EQ { equal } else { !equal };
        Ok(pyo3::types::PyBool::new(py, result).to_owned().into_ptr())
    })
}

/// `tp_repr`.
unsafe extern "C" fn repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    slot(std::ptr::null_mut(), |py| {
        // SAFETY: CPython passes our live object.
        let len = unsafe { (*obj.cast::<RawView>()).len };
        Ok(
            pyo3::types::PyString::new(py, &format!("<dgen_py.BytesView of {len} bytes>"))
                .into_ptr(),
        )
    })
}

/// `__bytes__`: a copy as `bytes`.
unsafe extern "C" fn to_bytes(
    obj: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    slot(std::ptr::null_mut(), |py| {
        // SAFETY: CPython passes our live object; PyBytes::new copies before returning.
        Ok(PyBytes::new(py, unsafe { bytes_of(obj) }).into_ptr())
    })
}

const DOC: &std::ffi::CStr =
    c"A read-only, zero-copy view of generated bytes held in Rust memory.\n\n\
Supports the buffer protocol (memoryview(v), numpy.frombuffer(v), file.write(v)), len(v), \
bytes(v) (a copy), v[i] (an int), v[a:b] (bytes) and == / != against any bytes-like object.";

/// Makes the type with `PyType_FromSpec`.
fn make_type(py: Python<'_>) -> PyResult<Py<PyType>> {
    // The method table must outlive the type (tp_methods points into it): made once per
    // process, so leaking it is the intended lifetime.
    let methods: &'static mut [ffi::PyMethodDef; 2] = Box::leak(Box::new([
        ffi::PyMethodDef {
            ml_name: c"__bytes__".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: to_bytes,
            },
            ml_flags: ffi::METH_NOARGS,
            ml_doc: c"A copy of the view as bytes.".as_ptr(),
        },
        ffi::PyMethodDef::zeroed(),
    ]));
    let getbuffer_fn: unsafe extern "C" fn(
        *mut ffi::PyObject,
        *mut buf_ffi::Py_buffer,
        c_int,
    ) -> c_int = getbuffer;
    let dealloc_fn: ffi::destructor = dealloc;
    let new_fn: ffi::newfunc = refuse_new;
    let len_fn: ffi::lenfunc = length;
    let subscript_fn: ffi::binaryfunc = subscript;
    let richcompare_fn: ffi::richcmpfunc = richcompare;
    let repr_fn: ffi::reprfunc = repr;
    let mut slots = [
        ffi::PyType_Slot {
            slot: ffi::Py_bf_getbuffer,
            pfunc: getbuffer_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_dealloc,
            pfunc: dealloc_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_new,
            pfunc: new_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_sq_length,
            pfunc: len_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_mp_length,
            pfunc: len_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_mp_subscript,
            pfunc: subscript_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_richcompare,
            pfunc: richcompare_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_repr,
            pfunc: repr_fn as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_methods,
            pfunc: methods.as_mut_ptr().cast(),
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_doc,
            pfunc: DOC.as_ptr() as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: 0,
            pfunc: std::ptr::null_mut(),
        },
    ];
    let mut spec = ffi::PyType_Spec {
        name: c"dgen_py.BytesView".as_ptr(),
        basicsize: std::mem::size_of::<RawView>() as c_int,
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as std::os::raw::c_uint,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: `spec` and `slots` are valid for the call (PyType_FromSpec copies them; the doc
    // string is copied too); the method table is 'static. Returns a new type or NULL with an
    // exception set.
    let tp = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_FromSpec(&mut spec))? };
    Ok(tp.downcast_into::<PyType>()?.unbind())
}
