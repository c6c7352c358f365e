"""dgen_py: deterministic data for storage testing, from Python.

Bytes are a pure function of (seed, stream id, dedup ratio, compression ratio, dedup unit,
offset): the same parameters give the same bytes whichever way they are produced
(``write_file``, ``Generator``, ``generate_buffer``, the ``dgen`` CLI or the fio engine).

* ``write_file`` / ``write_files``: stream any size to files or block devices at device speed
  (generation on worker threads, io_uring or pwrite, O_DIRECT), with the GIL released.
* ``read_and_validate``: read a file back and check every byte; ``verify_buffer``: check an
  object held in memory against the stream at its offset.
* ``Generator`` / ``generate_buffer``: the bytes into your own buffers (dgen-py compatible shapes).
* Every other public name of dgen-py 0.3.0 (``generate_data``, ``fill_buffer``,
  ``generate_into_buffer``, ``BufferPool``, ``BytesView``, ``create_bytearrays``,
  ``generate_uniform``, ``normalize_rows``, ``generate_uniform_vectors``, ``bench_rolling_pool``,
  ``get_numa_info``, ``get_system_info``), same signatures; see the README for the differences.

Everything is implemented in Rust (``dgen_py._dgen``); see ``_dgen.pyi`` for the full reference.
"""

from ._dgen import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_DEDUP_UNIT,
    DEFAULT_QUEUE_DEPTH,
    BufferCheck,
    BufferPool,
    BytesView,
    DedupLayout,
    Generator,
    VerifyStats,
    WriteStats,
    __version__,
    bench_rolling_pool,
    create_bytearrays,
    fill_buffer,
    generate_buffer,
    generate_data,
    generate_into_buffer,
    generate_uniform,
    generate_uniform_vectors,
    get_numa_info,
    get_system_info,
    normalize_rows,
    read_and_validate,
    verify_buffer,
    write_file,
    write_files,
)

#: dgen-py's alias for ``Generator``.
StreamingGenerator = Generator

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_DEDUP_UNIT",
    "DEFAULT_QUEUE_DEPTH",
    "BufferCheck",
    "BufferPool",
    "BytesView",
    "DedupLayout",
    "Generator",
    "StreamingGenerator",
    "VerifyStats",
    "WriteStats",
    "__version__",
    "bench_rolling_pool",
    "create_bytearrays",
    "fill_buffer",
    "generate_buffer",
    "generate_data",
    "generate_into_buffer",
    "generate_uniform",
    "generate_uniform_vectors",
    "get_numa_info",
    "get_system_info",
    "normalize_rows",
    "read_and_validate",
    "verify_buffer",
    "write_file",
    "write_files",
]
