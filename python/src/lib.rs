//! `dgen_py._dgen`: the native half of the `dgen_py` Python package.
//!
//! Glue only: argument conversion ([`args`], [`buffer`]), GIL release and progress callbacks
//! ([`progress`]), exceptions ([`errors`]) and result objects ([`stats`]). Generation is
//! `dgen::Generator` and all file I/O is `dgen::pipeline`; nothing here knows what the bytes are.
//! The public documentation lives in the stubs, `dgen_py/_dgen.pyi`.

mod args;
mod block;
mod buffer;
mod bytesview;
mod compat;
mod errors;
mod generator;
mod io;
mod layout;
mod progress;
mod stats;
mod system;
mod threads;
mod verify;

use pyo3::prelude::*;

/// Panics inside the same guard every entry point uses (with the GIL released), so the tests
/// can check that a Rust panic reaches Python as `RuntimeError` and the interpreter goes on.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    py.allow_threads(|| errors::no_panic(|| panic!("deliberate test panic")))?;
    Ok(())
}

/// The native module; `dgen_py/__init__.py` re-exports everything.
#[pymodule]
fn _dgen(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(io::write_file, m)?)?;
    m.add_function(wrap_pyfunction!(io::write_files, m)?)?;
    m.add_function(wrap_pyfunction!(io::read_and_validate, m)?)?;
    m.add_function(wrap_pyfunction!(generator::generate_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(compat::generate_data, m)?)?;
    m.add_function(wrap_pyfunction!(compat::fill_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(compat::generate_into_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(compat::create_bytearrays, m)?)?;
    m.add_function(wrap_pyfunction!(compat::bench_rolling_pool, m)?)?;
    m.add_function(wrap_pyfunction!(compat::generate_uniform, m)?)?;
    m.add_function(wrap_pyfunction!(compat::normalize_rows, m)?)?;
    m.add_function(wrap_pyfunction!(compat::generate_uniform_vectors, m)?)?;
    m.add_function(wrap_pyfunction!(system::get_system_info, m)?)?;
    m.add_function(wrap_pyfunction!(system::get_numa_info, m)?)?;
    m.add_class::<compat::BufferPool>()?;
    m.add("BytesView", bytesview::view_type(m.py())?)?;
    m.add_class::<generator::PyGenerator>()?;
    m.add_class::<stats::WriteStats>()?;
    m.add_class::<stats::VerifyStats>()?;
    m.add_class::<verify::BufferCheck>()?;
    m.add_class::<layout::DedupLayout>()?;
    m.add("DEFAULT_BUFFER_SIZE", dgen::pipeline::DEFAULT_BUFFER_SIZE)?;
    m.add("DEFAULT_QUEUE_DEPTH", dgen::pipeline::DEFAULT_QUEUE_DEPTH)?;
    m.add("DEFAULT_DEDUP_UNIT", dgen::params::DEFAULT_DEDUP_UNIT)?;
    // setattr, not add: keeps it out of __all__.
    m.setattr("_panic_for_tests", wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.setattr("_record_runs", wrap_pyfunction!(threads::_record_runs, m)?)?;
    m.setattr(
        "_memory_policy",
        wrap_pyfunction!(threads::_memory_policy, m)?,
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
