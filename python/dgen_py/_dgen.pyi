"""Type stubs for dgen_py._dgen, the native half of dgen_py (re-exported by dgen_py)."""

import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, SupportsIndex, Tuple, Union, final, overload

from typing_extensions import Buffer

_StrPath = Union[str, "os.PathLike[str]"]
#: A byte count: an int, or fio-style text such as "64KiB", "4k", "1.5G" (binary units).
_Size = Union[int, str]
#: A compression ratio (``3``, ``1.5``), or as text a mix of ratios by share of dedup blocks
#: (``"1:30%,4:50%,16:20%"``: 30% of the blocks incompressible, 50% at 4:1, 20% at 16:1) or
#: per-codec ratios (``"lz4=2.2,zstd=3.3"``).
_Compress = Union[float, str]
#: Called as ``progress(bytes_done, total)`` from the calling thread (the I/O runs on its own thread,
#: so a slow callback never holds it up), at most ~10 times a second
#: and once more at the end. Raising from it stops the run (the exception propagates).
_ProgressCallback = Callable[[int, int], Any]

__all__ = [
    "write_file",
    "write_files",
    "read_and_validate",
    "generate_buffer",
    "Generator",
    "WriteStats",
    "VerifyStats",
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_QUEUE_DEPTH",
    "DEFAULT_DEDUP_UNIT",
    "__version__",
    "BytesView",
    "BufferPool",
    "generate_data",
    "fill_buffer",
    "generate_into_buffer",
    "create_bytearrays",
    "bench_rolling_pool",
    "generate_uniform",
    "normalize_rows",
    "generate_uniform_vectors",
    "get_system_info",
    "get_numa_info",
    "verify_buffer",
    "BufferCheck",
    "DedupLayout",
]
__version__: str
#: Default size of each pool buffer and of each write: 8 MiB.
DEFAULT_BUFFER_SIZE: int
#: Default number of writes (or reads) in flight: 4.
DEFAULT_QUEUE_DEPTH: int
#: Default dedup block size: 128 KiB.
DEFAULT_DEDUP_UNIT: int

@final
class WriteStats:
    """What ``write_file`` / ``write_files`` report for one file.

    ``repr()`` lists every field, ``str()`` is a one-line summary, ``to_dict()`` gives a
    JSON-serialisable dict.
    """

    @property
    def path(self) -> str:
        """The file or device written."""
    @property
    def bytes_written(self) -> int:
        """Bytes written: the file's size."""
    @property
    def operations(self) -> int:
        """Write operations completed (continuations of short writes included)."""
    @property
    def duration_secs(self) -> float:
        """Seconds from opening the file to the end of fsync."""
    @property
    def throughput_gbps(self) -> float:
        """Decimal GB/s (10**9 bytes per second)."""
    @property
    def seed(self) -> int:
        """The seed used (drawn at random when none was given): keep it to verify the file."""
    @property
    def stream_id(self) -> int:
        """The stream id used."""
    @property
    def dedup_ratio(self) -> float: ...
    @property
    def compress_ratio(self) -> float:
        """The compression ratio; with a mix, its aggregate (total bytes / compressed bytes)."""
    @property
    def dedup_unit(self) -> int: ...
    @property
    def io_engine(self) -> str:
        """``"io_uring"`` or ``"pwrite"`` (after a fallback when io_uring is unavailable)."""
    @property
    def direct_io(self) -> bool:
        """Whether O_DIRECT was used (False after a fallback, e.g. on tmpfs)."""
    @property
    def warnings(self) -> List[str]:
        """Fallbacks and other notes, empty when everything went as asked."""
    def to_dict(self) -> Dict[str, Any]:
        """Every field as a plain dict."""

@final
class VerifyStats:
    """What ``read_and_validate`` reports. A mismatch is reported here, not raised."""

    @property
    def path(self) -> str: ...
    @property
    def bytes_checked(self) -> int:
        """Bytes read and compared."""
    @property
    def mismatched_blocks(self) -> int:
        """4 KiB blocks (aligned in the file) holding at least one wrong byte."""
    @property
    def first_mismatch_offset(self) -> Optional[int]:
        """Offset in the file of the first wrong byte; None when every byte matched."""
    @property
    def is_clean(self) -> bool:
        """True when every byte matched."""
    @property
    def duration_secs(self) -> float: ...
    @property
    def throughput_gbps(self) -> float:
        """Decimal GB/s read and checked."""
    @property
    def seed(self) -> int: ...
    @property
    def stream_id(self) -> int: ...
    @property
    def io_engine(self) -> str: ...
    @property
    def direct_io(self) -> bool: ...
    @property
    def warnings(self) -> List[str]: ...
    def to_dict(self) -> Dict[str, Any]:
        """Every field as a plain dict."""

@final
class BufferCheck:
    """What ``verify_buffer`` (and ``BufferPool.verify``, ``Generator.verify``) reports. A
    mismatch is reported here, not raised; ``bool(check)`` is ``check.is_clean``."""

    @property
    def offset(self) -> int:
        """Stream offset of the buffer's first byte."""
    @property
    def bytes_checked(self) -> int:
        """Bytes compared (the buffer's length)."""
    @property
    def mismatched_blocks(self) -> int:
        """4 KiB blocks (aligned in the stream) holding at least one wrong byte."""
    @property
    def first_mismatch_offset(self) -> Optional[int]:
        """Stream offset of the first wrong byte; None when every byte matched."""
    @property
    def is_clean(self) -> bool:
        """True when every byte matched."""
    @property
    def finding_offset(self) -> Optional[int]:
        """Stream offset of the 4 KiB unit diagnosed (the one holding the first wrong byte)."""
    @property
    def finding(self) -> Optional[str]:
        """What that unit holds, in words; None when clean or when the buffer does not hold the
        unit's first bytes (its in-band header)."""
    @property
    def finding_kind(self) -> Optional[str]:
        """The same as a keyword: ``"unrecognised"`` (zeros, another seed or tool, a corrupted
        header), ``"other_stream"``, ``"other_run"``, ``"corrupted"``, ``"misdirected"``,
        ``"lost_write"``, ... (``dgen::diagnose::Finding``)."""
    @property
    def zeros(self) -> Optional[bool]:
        """For ``"unrecognised"``: whether every byte of the unit is zero; else None."""
    @property
    def seed(self) -> int: ...
    @property
    def stream_id(self) -> int: ...
    def __bool__(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]:
        """Every field as a plain dict."""

@final
class DedupLayout:
    """Where copies take their originals from, and which targets share one dedup space: pass it
    as ``dedup_layout=`` to ``write_file``, ``write_files``, ``read_and_validate``,
    ``verify_buffer``, ``generate_buffer``, ``Generator`` and ``BufferPool`` (the same layout
    must be given to check what it made). None of these options changes which blocks are unique,
    so the dedup ratio stays exact. Not in dgen-py 0.3.0.

    Args:
        working_set: copies take their originals only from the oldest share of the unique blocks
            written before them (``0.1`` or ``"10%"``), as fio's
            ``dedupe_working_set_percentage``. None (default): a sliding window of the last
            256 MiB of unique data.
        skew: Zipf exponent of the originals' popularity, 0 (uniform, default) to 10; 1 is the
            classic Zipf, the oldest originals the most popular (vdbench's hot sets).
        shifted: copies hold their originals' bytes moved 512 to 3584 bytes off the 4 KiB grid,
            for arrays that dedup variable chunks at 512-byte granularity.
        scope: ``"stream"`` (default): each target on its own, never sharing content;
            ``"global"``: every target of a run shares one dedup space (copies take originals
            from targets ``0..=scope_index``); all targets the same size hold the ratio together.
        scope_index: this target's number (0-based) in a global scope; required with it.

    Raises:
        ValueError: a share outside (0, 1], a skew outside [0, 10], an unknown scope, a global
            scope without an index or an index without one.
        TypeError: ``working_set`` neither a float nor a str.
    """

    def __new__(
        cls,
        *,
        working_set: Union[None, float, str] = None,
        skew: float = 0.0,
        shifted: bool = False,
        scope: str = "stream",
        scope_index: Optional[int] = None,
    ) -> "DedupLayout": ...
    @property
    def working_set(self) -> Optional[float]: ...
    @property
    def skew(self) -> float: ...
    @property
    def shifted(self) -> bool: ...
    @property
    def scope(self) -> str: ...
    @property
    def scope_index(self) -> Optional[int]: ...

def verify_buffer(
    buf: Buffer,
    offset: _Size,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    *,
    seed: int,
    dedup_unit: Optional[_Size] = None,
    stream_id: Optional[int] = None,
    compress_codec: str = "lz",
    max_threads: Optional[int] = None,
    dedup_layout: Optional["DedupLayout"] = None,
    profile: Optional[str] = None,
) -> BufferCheck:
    """Compares ``buf`` with the stream's bytes at ``[offset, offset + len(buf))``.

    For objects read back from storage: a payload from ``generate_buffer``, ``Generator`` or
    ``BufferPool`` (or a range of a ``write_file`` file) is a pure function of the seed, stream
    id, ratios, ``dedup_unit``, ``compress_codec`` and its offset in the stream, so keeping
    ``(seed, offset)`` per object is enough to check it. ``buf``: any C-contiguous buffer
    (bytes, ``BytesView``, bytearray, memoryview, mmap, numpy). ``seed`` is required;
    ``stream_id`` None is 0 (the in-memory default; a file's is ``WriteStats.stream_id``).
    ``max_threads`` as for ``generate_buffer``; the GIL is released while comparing.

    A mismatch is reported, not raised (as by ``read_and_validate``): ``first_mismatch_offset``,
    ``mismatched_blocks`` and, from the first wrong 4 KiB unit's in-band header, what it holds
    (``finding``, ``finding_kind``). Not in dgen-py 0.3.0.

    Raises:
        ValueError: a bad argument (negative offset, a range past 2**64, a ratio below 1, ...).
        TypeError: ``buf`` has no C-contiguous buffer; ``seed`` missing.
    """

def write_file(
    path: _StrPath,
    size: Optional[_Size],
    buffer_size: Optional[_Size] = None,
    buffer_count: Optional[int] = None,
    use_direct_io: bool = True,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    use_io_uring: bool = True,
    *,
    dedup_unit: Optional[_Size] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    queue_depth: Optional[int] = None,
    fsync: bool = True,
    progress: Optional[_ProgressCallback] = None,
    stream_id: Union[None, int, str] = None,
    compress_codec: str = "lz",
    map: Optional[_StrPath] = None,
    numa_mode: str = "auto",
    numa_node: Optional[int] = None,
    dedup_layout: Optional["DedupLayout"] = None,
    profile: Optional[str] = None,
) -> WriteStats:
    """Writes ``size`` bytes of generated data to ``path`` at the storage's speed.

    Generation runs on worker threads into a pool of ``buffer_count`` aligned buffers of
    ``buffer_size`` bytes while io_uring (or pwrite) writes them out; memory stays at the pool
    size whatever ``size`` is. The GIL is released for the whole run.

    Args:
        path: str, bytes or os.PathLike (TypeError otherwise; ValueError for a NUL byte): a
            regular file (created or overwritten, never truncated before the first write; it
            ends with exactly ``size`` bytes), a block device (never truncated nor written past
            its end; opened O_EXCL) or /dev/null. FIFOs, sockets and other character devices
            are refused (ValueError).
        size: bytes to write; None only for a block device (its whole size).
        buffer_size: size of each buffer and of each write; a multiple of 4096 (and of the
            device's logical block size with O_DIRECT). None: 8 MiB (DEFAULT_BUFFER_SIZE).
        buffer_count: buffers in the pool; None: ``2 * threads + queue_depth``.
        use_direct_io: O_DIRECT; file systems that refuse it (tmpfs) get buffered I/O, a warning
            in ``WriteStats.warnings`` and ``direct_io=False``.
        dedup_ratio: deduplication ratio >= 1 (at ``dedup_unit`` granularity).
        compress_ratio: compression ratio >= 1 (per 4 KiB), or a mix such as
            "1:30%,4:50%,16:20%" (shares of dedup blocks at each ratio; README,
            "Compressibility mixes"), or per-codec ratios such as "lz4=2.2,zstd=3.3" (README,
            "Codec-realistic literals").
        compress_codec: the codecs ``compress_ratio`` is exact for: "lz" (lz4, zstd, LZO1X-1,
            deflate, brotli; the default) or "snappy" (Ceph, RocksDB, MongoDB: lz4 and zstd then
            see a higher ratio; at most 16). Verify with the same value.
        map: a generation map file (created when missing; ``size`` is then required). With an
            existing map the write is a rewrite: every block gets new content (a new generation,
            or another live block's content where it has copies), so every 4 KiB unit changes
            and the ratios hold on what is live; ``read_and_validate(..., map=)`` checks it.
        use_io_uring: io_uring with registered buffers; when False, or when the kernel refuses
            io_uring, pwrite on I/O threads (the fallback is reported in the stats).
        dedup_unit: dedup block size, a power of two from 4 KiB to 16 MiB; None: 128 KiB.
        seed: None draws a random seed; it is reported as ``WriteStats.seed``.
        threads: generator threads; None or 0: ``$DGEN_THREADS``, else ``$RAYON_NUM_THREADS``,
            else one per CPU (of the NUMA node when placed); never more than ``$DGEN_THREADS``.
        numa_mode, numa_node: NUMA placement of the run (ours; see the README's NUMA section):
            ``"auto"`` (default) places on ``numa_node`` when given on a multi-node machine,
            ``"force"`` always places (on ``numa_node``, else the calling CPU's node) and raises
            ValueError naming ``numa_node`` when it cannot, ``"disabled"`` never. Placed runs
            pin the generator threads to the node's CPUs and put the buffer pool on the node.
        queue_depth: writes in flight; None: 4 (DEFAULT_QUEUE_DEPTH).
        fsync: fsync at the end (counted in the duration).
        progress: ``progress(bytes_done, total)``, called from the calling thread at most ~10 times a second and once more at the end; raising from it stops the run (the exception propagates).
        stream_id: None or ``"path"``: a hash of the file's canonical absolute path (its
            parent directory resolved, plus the host name for a block or character device),
            as ``dgen write`` does, so two targets never share content and the same target
            always gets the same; ``"name"``: a hash of the file name only (the old rule: the
            same name gives the same bytes in any directory); an int: that id.
        profile: a data profile, built in ("text", "executables", "database", "compressed")
            or a file made by ``dgen analyze SAMPLE --profile FILE``: blocks compress like the
            sample's chunks, per codec, with its zero blocks and dedup ratio (README,
            "Profiles"). Not with ``compress_ratio`` or ``map``; ``dedup_ratio=1.0`` (the
            default) and ``dedup_unit=None`` take the profile's, other values replace them. A
            profile file that cannot be read raises OSError (with ``filename``); a malformed one
            or one of another format version, ValueError. Classes the generator cannot make as
            the sample has them give a UserWarning. Every other entry point that takes
            ``compress_ratio`` (except the dgen-py compatibility functions and BufferPool) takes
            ``profile`` too; verify with the same value.

    Returns:
        WriteStats.

    Raises:
        ValueError: a bad argument, or a size above the file system's or RLIMIT_FSIZE's limit;
            raised before any file is touched.
        TypeError: an argument of the wrong type.
        SystemExit: SIGTERM or SIGHUP during the run (when their handler is the default):
            ``SystemExit(128 + signal)``, after a clean stop.
        OSError: an I/O error, with ``errno``, ``filename``, ``offset`` and ``bytes_written``
            (the bytes written before it stopped). Python picks the subclass from the errno:
            FileNotFoundError (missing directory), PermissionError, IsADirectoryError, ...;
            plain OSError for ENOSPC and EIO.
        KeyboardInterrupt: Ctrl-C; the run stops within a fraction of a second (in-flight I/O
            drained, file closed, nothing left running), with ``bytes_written`` set.
        RuntimeError: an internal error (a bug); never a crash.

        After an OSError, KeyboardInterrupt or SystemExit a regular file is cut back to its
        longest prefix written in full (at most ``bytes_written``), so
        ``read_and_validate(path, e.valid_length, seed=e.seed)`` passes on it. Every exception
        of a run carries ``seed``, ``valid_length`` (None when no write had started: the file is
        then as it was) and ``valid_lengths`` (one per file).
    """

def write_files(
    paths: Sequence[_StrPath],
    size: Optional[_Size],
    buffer_size: Optional[_Size] = None,
    buffer_count: Optional[int] = None,
    use_direct_io: bool = True,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    use_io_uring: bool = True,
    *,
    dedup_unit: Optional[_Size] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    queue_depth: Optional[int] = None,
    fsync: bool = True,
    progress: Optional[_ProgressCallback] = None,
    stream_ids: Optional[Sequence[Union[int, str]]] = None,
    compress_codec: str = "lz",
    numa_mode: str = "auto",
    numa_node: Optional[int] = None,
    dedup_layout: Optional["DedupLayout"] = None,
    profile: Optional[str] = None,
) -> List[WriteStats]:
    """Writes ``size`` bytes to each of ``paths`` at once, sharing one buffer pool.

    Each file is its own stream: its stream id is derived from its canonical path (as in
    ``write_file``) unless ``stream_ids`` gives one per path (an int, ``"path"`` or ``"name"``). ``progress`` sees the total over all
    files. One failure ends the whole run (the exception's ``bytes_written`` counts all files).
    Other arguments as ``write_file``.
    """

def read_and_validate(
    path: _StrPath,
    size: Optional[_Size] = None,
    seed: Optional[int] = None,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    *,
    dedup_unit: Optional[_Size] = None,
    stream_id: Union[None, int, str] = None,
    buffer_size: Optional[_Size] = None,
    buffer_count: Optional[int] = None,
    use_direct_io: bool = True,
    use_io_uring: bool = True,
    threads: Optional[int] = None,
    queue_depth: Optional[int] = None,
    progress: Optional[_ProgressCallback] = None,
    compress_codec: str = "lz",
    map: Optional[_StrPath] = None,
    numa_mode: str = "auto",
    numa_node: Optional[int] = None,
    dedup_layout: Optional["DedupLayout"] = None,
    profile: Optional[str] = None,
    map_trimmed: str = "zeros",
) -> VerifyStats:
    """Reads ``path`` back and compares every byte with what the stream holds at that offset.

    Same pool design as ``write_file`` (O_DIRECT, io_uring, checking on worker threads, GIL
    released). A mismatch is not an exception: see ``VerifyStats.first_mismatch_offset`` and
    ``mismatched_blocks``.

    Args:
        path: the file or block device to check.
        size: bytes to check from the start (the length the write reported). None: the whole
            current length of the file or device (an empty file is refused; only a size
            catches a file cut short). Required for /dev/null.
        seed: required (None raises ValueError): the seed the file was written with.
        stream_id: None or ``"path"``: derived from the file's canonical path, as
            ``write_file`` does; pass the written stream id (``WriteStats.stream_id``) when the
            file was renamed or moved, ``"name"`` for the old name-only rule.
        map_trimmed: with ``map``, what blocks the map says were trimmed (by the fio engine)
            must read as: ``"zeros"`` (default; the device returns zeros after a discard) or
            ``"skip"`` (not checked).
        Other arguments as ``write_file``; the data parameters must match the write's.

    Raises:
        ValueError: a bad argument, or an empty file without ``size``.
        OSError: an I/O error, with ``errno``, ``filename``, ``offset`` and ``bytes_checked``;
            missing data (a file shorter than ``size``, a read that ends early) is an OSError
            with ``offset`` where the data ends, never a pass.
        KeyboardInterrupt: Ctrl-C, as for ``write_file`` (with ``bytes_checked``).
    """

def generate_buffer(
    size: _Size,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    numa_mode: str = "auto",
    max_threads: Optional[int] = None,
    numa_node: Optional[int] = None,
    method: str = "parallel",
    *,
    seed: Optional[int] = None,
    dedup_unit: Optional[_Size] = None,
    stream_id: Optional[int] = None,
    compress_codec: str = "lz",
    dedup_layout: Optional["DedupLayout"] = None,
    profile: Optional[str] = None,
) -> "BytesView":
    """Returns the first ``size`` bytes of the stream as a ``BytesView`` (GIL released while filling).

    ``numa_mode`` / ``numa_node``: ``"auto"`` places the buffer and the fill threads on
    ``numa_node`` when given on a multi-node machine (a missing node is a RuntimeWarning),
    ``"force"`` always does (on ``numa_node``, else the calling CPU's node; ValueError naming
    ``numa_node`` when impossible), ``"disabled"`` never (dgen-py 0.3.0 ignored both).
    ``max_threads``: None or 0 uses ``$DGEN_THREADS``, else ``$RAYON_NUM_THREADS``, else every
    CPU (the node's when placed); 1 the calling thread only; more than the CPUs available or
    than ``$DGEN_THREADS`` is reduced with a RuntimeWarning.
    ``method``: ``"parallel"`` (the default: the threads ``max_threads`` allows) or
    ``"sequential"`` (the calling thread only); the bytes are the same either way, anything
    else is a ValueError.
    """

@final
class BytesView:
    """A read-only, zero-copy view of generated bytes held in Rust memory (dgen-py's type).

    Supports the buffer protocol (``memoryview(v)``, ``numpy.frombuffer(v)``, ``f.write(v)``),
    ``len(v)``, ``bytes(v)`` (a copy), ``v[i]`` (an int), ``v[a:b]`` (``bytes``) and ``==`` /
    ``!=`` against any bytes-like object. Not constructible from Python (TypeError).
    """

    if sys.version_info >= (3, 12):
        def __buffer__(self, flags: int, /) -> memoryview: ...

    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...
    @overload
    def __getitem__(self, key: SupportsIndex, /) -> int: ...
    @overload
    def __getitem__(self, key: slice, /) -> bytes: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

def generate_data(
    size: _Size,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    numa_mode: str = "auto",
    max_threads: Optional[int] = None,
    *,
    seed: Optional[int] = None,
    dedup_unit: Optional[_Size] = None,
    stream_id: Optional[int] = None,
    compress_codec: str = "lz",
    profile: Optional[str] = None,
) -> BytesView:
    """dgen-py's ``generate_data``: the same as ``generate_buffer`` with the same arguments
    (``profile`` included: a data profile instead of the ratios, see ``write_file``)."""

def fill_buffer(
    buffer: Buffer,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    numa_mode: str = "auto",
    max_threads: Optional[int] = None,
    *,
    seed: Optional[int] = None,
    dedup_unit: Optional[_Size] = None,
    stream_id: Optional[int] = None,
    compress_codec: str = "lz",
    profile: Optional[str] = None,
) -> int:
    """Fills all of ``buffer`` in place with the stream's first ``len(buffer)`` bytes (the same
    bytes as ``generate_buffer(len(buffer), ...)``); returns the byte count.

    ``buffer``: writable and C-contiguous (bytearray, memoryview, mmap, numpy array); a
    read-only or non-contiguous one is a ValueError (dgen-py's type here). ``numa_mode``:
    ``"force"`` runs the fill threads on the calling CPU's node (your buffer is not moved:
    pages not yet touched land there); ``"auto"`` and ``"disabled"`` place nothing.
    """

def generate_into_buffer(
    buffer: Buffer,
    dedup_ratio: float = 1.0,
    compress_ratio: _Compress = 1.0,
    numa_mode: str = "auto",
    max_threads: Optional[int] = None,
    numa_node: Optional[int] = None,
    method: str = "parallel",
    *,
    seed: Optional[int] = None,
    dedup_unit: Optional[_Size] = None,
    stream_id: Optional[int] = None,
    compress_codec: str = "lz",
    profile: Optional[str] = None,
) -> int:
    """As ``fill_buffer``, with ``numa_node`` (the fill threads run on that node's CPUs, as in
    ``generate_buffer``; the buffer is not moved) and ``method`` (see ``generate_buffer``)."""

def create_bytearrays(count: int, size: _Size) -> List[bytearray]:
    """``count`` zero-filled bytearrays of ``size`` bytes each."""

def bench_rolling_pool(obj_size: _Size, total_bytes: _Size) -> Tuple[int, float]:
    """Times ``max(total_bytes // obj_size, 1)`` ``BufferPool``-style slices of ``obj_size``
    bytes in Rust (one warm-up slice first, not timed): ``(bytes_generated, elapsed_seconds)``.
    """

@final
class BufferPool:
    """Successive slices of one stream, handed out as zero-copy ``BytesView`` objects.

    ``next_slice(size)`` returns the stream's next ``size`` bytes, so the slices concatenated
    are ``generate_buffer(total, dedup_ratio, compress_ratio, seed=pool.seed, ...)`` and the
    ratios hold in aggregate across objects as they do in a file. Slices up to 1 MiB share
    generated 1 MiB blocks (``remaining`` is what is left of the current one); larger slices
    are generated on their own. Ratios are exact floats (dgen-py 0.3.0 truncated them to ints).
    """

    def __new__(
        cls,
        dedup_ratio: float = 1.0,
        compress_ratio: _Compress = 1.0,
        *,
        seed: Optional[int] = None,
        dedup_unit: Optional[_Size] = None,
        stream_id: Optional[int] = None,
        compress_codec: str = "lz",
        max_threads: Optional[int] = None,
        numa_mode: str = "auto",
        numa_node: Optional[int] = None,
        dedup_layout: Optional["DedupLayout"] = None,
        profile: Optional[str] = None,
    ) -> "BufferPool": ...
    def next_slice(self, size: _Size) -> BytesView:
        """The stream's next ``size`` bytes (``size`` > 0, else ValueError)."""
    def reconfigure(self, dedup_ratio: float = 1.0, compress_ratio: _Compress = 1.0) -> None:
        """New ratios from the current position on (the current block is regenerated). A pool
        made with ``profile`` takes its ratios from the profile: ValueError."""
    @property
    def remaining(self) -> int:
        """Bytes left in the current 1 MiB block before the next refill."""
    @property
    def dedup_ratio(self) -> float: ...
    @property
    def compress_ratio(self) -> float:
        """The compression ratio; with a mix, its aggregate (total bytes / compressed bytes)."""
    @property
    def seed(self) -> int:
        """The seed (drawn at random when none was given)."""
    @property
    def position(self) -> int:
        """Bytes handed out so far (the stream offset of the next slice)."""
    def verify(self, buf: Buffer, offset: _Size) -> BufferCheck:
        """Checks ``buf`` against this pool's stream at ``offset`` (the ``position`` before the
        slice was taken), as ``verify_buffer`` with the pool's seed, stream id and current
        ratios (a slice taken before ``reconfigure`` needs ``verify_buffer`` with the old ones)."""

def generate_uniform(
    count: int,
    low: float = 0.0,
    high: float = 1.0,
    max_threads: Optional[int] = None,
    numa_mode: str = "auto",
    seed: Optional[int] = None,
) -> BytesView:
    """``count`` float32 values (an element count, not bytes) uniform in ``[low, high)``.

    Read them with ``numpy.frombuffer(v, dtype=numpy.float32)``. Values lie on a 2**-24 grid of
    the range; the same seed gives the same values whatever the thread count. ValueError when
    ``low >= high`` or either is not a finite float32.
    """

def normalize_rows(buffer: Buffer, dim: int, max_threads: Optional[int] = None) -> None:
    """L2-normalises, in place, each row of ``dim`` float32 values in ``buffer``.

    ``buffer``: writable, C-contiguous, float32 (numpy, ``array('f')``) or raw bytes, its length a
    multiple of ``dim * 4``; anything else is a ValueError. A zero row stays zero.
    """

def generate_uniform_vectors(
    rows: int,
    dim: int,
    low: float = 0.0,
    high: float = 1.0,
    normalize: bool = True,
    max_threads: Optional[int] = None,
    numa_mode: str = "auto",
    seed: Optional[int] = None,
) -> BytesView:
    """``rows`` x ``dim`` float32 values: ``generate_uniform(rows * dim, low, high, seed=seed)``,
    then each row L2-normalised unless ``normalize=False``.

    ``numpy.frombuffer(v, dtype=numpy.float32).reshape(rows, dim)``.
    """

def get_system_info() -> Optional[Dict[str, Any]]:
    """The machine's topology from ``/sys``: ``num_nodes``, ``physical_cores``,
    ``logical_cpus``, ``is_uma``, ``deployment_type``, and ``numa_placement``: whether this
    process may place threads and memory on nodes (the kernel allows the NUMA calls).
    """

def get_numa_info() -> Optional[Dict[str, Any]]:
    """As ``get_system_info``, plus ``nodes``: ``[{"node": id, "cpus": [...]}, ...]``."""

@final
class Generator:
    """A stream of ``size`` bytes, produced chunk by chunk into your own buffers.

    Same call shapes as dgen-py's ``Generator``. Every chunk is the stream's bytes at the current
    position, so the concatenation of all chunks equals ``generate_buffer(size, ...)`` and
    ``write_file(..., size, ...)`` with the same seed and stream id, whatever the chunk sizes.

    ``numa_mode`` / ``numa_node``: as for ``generate_buffer`` (the fill threads are pinned to
    the node; ``get_chunk``'s buffers are placed on it; ``fill_chunk`` fills your buffer from
    the node's CPUs without moving it). ``block_size`` is accepted and has no effect.
    ``max_threads``: as for ``generate_buffer``.
    ``seed``: None draws a random seed (see ``.seed``). ``stream_id`` defaults to 0 (note that
    ``write_file`` derives it from the file's path unless given). ``method``: ``"parallel"``
    or ``"sequential"`` (the calling thread only), as for ``generate_buffer``.
    """

    def __new__(
        cls,
        size: _Size,
        dedup_ratio: float = 1.0,
        compress_ratio: _Compress = 1.0,
        numa_mode: str = "auto",
        max_threads: Optional[int] = None,
        numa_node: Optional[int] = None,
        chunk_size: Optional[_Size] = None,
        block_size: Optional[_Size] = None,
        seed: Optional[int] = None,
        method: str = "parallel",
        *,
        dedup_unit: Optional[_Size] = None,
        stream_id: Optional[int] = None,
        compress_codec: str = "lz",
        dedup_layout: Optional["DedupLayout"] = None,
        profile: Optional[str] = None,
    ) -> "Generator": ...
    def fill_chunk(self, buffer: Buffer) -> int:
        """Fills ``buffer`` in place with the next bytes of the stream; returns how many.

        ``buffer``: any writable, C-contiguous buffer (bytearray, memoryview, mmap, numpy array
        of any dtype). Fewer than ``len(buffer)`` bytes near the end, 0 once complete. The GIL
        is released while filling. Raises TypeError for read-only or non-contiguous buffers.
        """
    def get_chunk(self, chunk_size: Optional[_Size] = None) -> Optional[BytesView]:
        """Returns the next ``chunk_size`` bytes (default ``.chunk_size``) as a ``BytesView``,
        or None at the end."""
    def verify(self, buf: Buffer, position: _Size) -> BufferCheck:
        """Checks ``buf`` against the bytes this generator produced at ``position`` (what
        ``position()`` returned before the chunk was produced), with the current seed, as
        ``verify_buffer`` with this generator's parameters. A chunk produced before the last
        ``set_seed`` is a ValueError here (use ``verify_buffer`` with its seed)."""
    def reset(self) -> None:
        """Goes back to the start of the stream (same bytes again)."""
    def position(self) -> int:
        """Bytes produced so far (a method, as in dgen-py)."""
    def total_size(self) -> int:
        """The stream's length in bytes."""
    def is_complete(self) -> bool:
        """True once all ``size`` bytes were produced."""
    def set_seed(self, seed: Optional[int] = None) -> None:
        """Switches to another seed (None: random). As in dgen-py 0.3.0, ``position()`` keeps
        counting towards ``size`` and the next bytes are the new seed's stream from its
        beginning (so ``set_seed(s)`` twice gives the same bytes after each call)."""
    @property
    def seed(self) -> int:
        """The seed (drawn at random when none was given: keep it to reproduce the data)."""
    @property
    def stream_id(self) -> int: ...
    @property
    def dedup_ratio(self) -> float: ...
    @property
    def compress_ratio(self) -> float:
        """The compression ratio; with a mix, its aggregate (total bytes / compressed bytes)."""
    @property
    def dedup_unit(self) -> int: ...
    @property
    def chunk_size(self) -> int:
        """Default length of ``get_chunk()`` (32 MiB unless given, as in dgen-py 0.3.0)."""
