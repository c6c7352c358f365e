"""Bad arguments raise ValueError (or TypeError) before any file is touched; I/O errors raise
OSError subclasses carrying errno, filename and the bytes done."""

import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import dgen_py

from conftest import MiB, open_fds, os_threads

BAD_WRITE_ARGS = [
    (dict(size=-1), ValueError, "size"),
    (dict(size=0), ValueError, "size"),
    (dict(size=2**64), ValueError, "size"),
    (dict(size="12 parsecs"), ValueError, "size"),
    (dict(dedup_ratio=0.5), ValueError, "dedup ratio"),
    (dict(dedup_ratio=float("nan")), ValueError, "dedup ratio"),
    (dict(compress_ratio=0.99), ValueError, "compression ratio"),
    (dict(compress_ratio=1e9), ValueError, "compression ratio"),
    (dict(buffer_size=1000), ValueError, "buffer size"),
    (dict(buffer_size=0), ValueError, "buffer size"),
    (dict(buffer_size=-4096), ValueError, "buffer_size"),
    (dict(buffer_size=2 * 1024**3), ValueError, "buffer size"),
    (dict(buffer_count=-1), ValueError, "buffer_count"),
    (dict(buffer_count=10**6), ValueError, "buffer count"),
    (dict(dedup_unit=3000), ValueError, "dedup unit"),
    (dict(queue_depth=0), ValueError, "queue depth"),
    (dict(threads=-2), ValueError, "threads"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(stream_id=-5), ValueError, "stream_id"),
    (dict(size=True), TypeError, "bool"),
    (dict(size=1.5), TypeError, "size"),
    (dict(progress=42), TypeError, "progress"),
]


def _write_kwargs(**over):
    kw = dict(size=MiB)
    kw.update(over)
    return kw


@pytest.mark.parametrize("kwargs,exc,match", BAD_WRITE_ARGS, ids=lambda x: repr(x) if isinstance(x, dict) else "")
def test_bad_arguments_touch_nothing(disk_dir, kwargs, exc, match):
    path = disk_dir / "never.bin"
    kw = _write_kwargs(**kwargs)
    size = kw.pop("size")
    with pytest.raises(exc, match=match):
        dgen_py.write_file(path, size, **kw)
    assert not path.exists()
    if "stream_id" in kw:
        kw["stream_ids"] = [kw.pop("stream_id"), 1]
    with pytest.raises(exc, match=match):
        dgen_py.write_files([path, disk_dir / "never2.bin"], size, **kw)
    assert list(disk_dir.iterdir()) == []


def test_existing_file_is_not_truncated_by_bad_arguments(disk_dir):
    path = disk_dir / "keep.bin"
    path.write_bytes(b"precious")
    with pytest.raises(ValueError):
        dgen_py.write_file(path, MiB, compress_ratio=0)
    assert path.read_bytes() == b"precious"


def test_bad_validation_arguments(disk_dir):
    path = disk_dir / "small.bin"
    w = dgen_py.write_file(path, MiB)
    # Larger than the file: missing data is a failed verification (OSError at the data's end).
    with pytest.raises(OSError, match="data ends at byte 1048576") as e:
        dgen_py.read_and_validate(path, 2 * MiB, seed=w.seed)
    assert e.value.offset == MiB and e.value.bytes_checked == 0
    with pytest.raises(ValueError, match="dedup ratio"):
        dgen_py.read_and_validate(path, seed=w.seed, dedup_ratio=0)
    with pytest.raises(ValueError, match="stream_ids"):
        dgen_py.write_files([disk_dir / "a", disk_dir / "b"], MiB, stream_ids=[1])
    with pytest.raises(ValueError):
        dgen_py.write_files([disk_dir / "dup", disk_dir / "dup"], MiB)
    with pytest.raises(ValueError):
        dgen_py.write_files([], MiB)


def test_generator_bad_arguments():
    for kwargs, match in [
        (dict(size=-1), "size"),
        (dict(size=10, dedup_ratio=0.1), "dedup ratio"),
        (dict(size=10, compress_ratio=-3), "compression ratio"),
        (dict(size=10, numa_mode="sometimes"), "numa_mode"),
        (dict(size=10, chunk_size=0), "chunk_size"),
        (dict(size=10, dedup_unit=5000), "dedup unit"),
        (dict(size=10, seed=-4), "seed"),
    ]:
        with pytest.raises(ValueError, match=match):
            dgen_py.Generator(**kwargs)
    with pytest.raises(ValueError, match="size"):
        dgen_py.generate_buffer(-10)
    with pytest.raises(ValueError, match="compression ratio"):
        dgen_py.generate_buffer(10, compress_ratio=0.5)


def test_missing_directory_is_file_not_found(disk_dir):
    path = disk_dir / "no" / "such" / "dir" / "f.bin"
    with pytest.raises(FileNotFoundError) as info:
        dgen_py.write_file(path, MiB)
    e = info.value
    assert e.errno == errno.ENOENT
    assert e.filename == str(path)
    assert e.bytes_written == 0
    assert not path.parent.exists()
    with pytest.raises(FileNotFoundError) as info:
        dgen_py.read_and_validate(disk_dir / "absent.bin", seed=1)
    assert info.value.errno == errno.ENOENT and info.value.bytes_checked == 0


def test_directory_as_path_is_is_a_directory_error(disk_dir):
    with pytest.raises(IsADirectoryError) as info:
        dgen_py.write_file(disk_dir, MiB)
    assert info.value.errno == errno.EISDIR


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses file permissions")
def test_permission_denied(disk_dir):
    disk_dir.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as info:
            dgen_py.write_file(disk_dir / "f.bin", MiB)
        assert info.value.errno in (errno.EACCES, errno.EPERM)
    finally:
        disk_dir.chmod(0o700)


@pytest.fixture
def small_tmpfs():
    """An 8 MiB tmpfs (needs root and mount rights; skipped otherwise)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    d = Path(tempfile.mkdtemp(prefix="dgen-py-enospc-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        d.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=False)
        d.rmdir()


@pytest.mark.parametrize("use_io_uring", [True, False], ids=["io_uring", "pwrite"])
def test_enospc_raises_oserror_with_partial_count(small_tmpfs, use_io_uring):
    dgen_py.write_file(small_tmpfs / "warm.bin", 4096, use_io_uring=use_io_uring)
    (small_tmpfs / "warm.bin").unlink()
    threads, fds = os_threads(), open_fds()
    path = small_tmpfs / "full.bin"
    with pytest.raises(OSError) as info:
        dgen_py.write_file(path, 64 * MiB, buffer_size=MiB, use_io_uring=use_io_uring)
    e = info.value
    assert type(e) is OSError
    assert e.errno == errno.ENOSPC
    assert e.filename == str(path)
    assert 0 < e.bytes_written <= 8 * MiB
    # The file is cut back to what was written in full from its start, not left at 64 MiB.
    assert path.stat().st_size <= e.bytes_written
    assert path.stat().st_size % MiB == 0
    assert "No space left on device" in str(e)
    assert os_threads() == threads and open_fds() == fds


def test_rust_panic_becomes_runtime_error():
    from dgen_py import _dgen

    with pytest.raises(RuntimeError, match="deliberate test panic"):
        _dgen._panic_for_tests()
    assert dgen_py.generate_buffer(10, seed=1) == dgen_py.generate_buffer(10, seed=1)  # still alive
