"""The fault matrix from Python: missing data never verifies, nothing is lost before the first
write, stop signals end a write cleanly, exceptions carry the record, bad paths name the
argument, max_threads is capped."""

import os
import resource
import signal
import subprocess
import sys
import time
import warnings

import pytest

import dgen_py

from conftest import MiB


def test_verify_of_an_empty_file_is_refused(disk_dir):
    f = disk_dir / "empty.bin"
    f.write_bytes(b"")
    with pytest.raises(ValueError, match="empty .0 bytes.: nothing to verify"):
        dgen_py.read_and_validate(f, seed=1)


def test_verify_of_a_truncated_file_fails_with_the_offset(disk_dir):
    f = disk_dir / "cut.bin"
    w = dgen_py.write_file(f, 2 * MiB, seed=4)
    os.truncate(f, 1_000_000)
    for uring in (True, False):
        with pytest.raises(OSError, match="data ends at byte 1000000") as e:
            dgen_py.read_and_validate(f, 2 * MiB, seed=w.seed, use_io_uring=uring)
        assert e.value.offset == 1_000_000
        assert e.value.seed == w.seed
    # Without a size, the whole current length is checked and reported.
    assert dgen_py.read_and_validate(f, seed=w.seed).bytes_checked == 1_000_000


def test_verify_of_dev_null_needs_a_size_and_then_fails_at_zero():
    with pytest.raises(ValueError, match="required for /dev/null"):
        dgen_py.read_and_validate("/dev/null", seed=1)
    for uring in (True, False):
        with pytest.raises(OSError, match="ends at byte 0") as e:
            dgen_py.read_and_validate("/dev/null", MiB, seed=1, use_io_uring=uring)
        assert e.value.offset == 0


def test_too_large_for_the_file_system_touches_nothing(disk_dir):
    f = disk_dir / "keep.bin"
    f.write_bytes(b"old content")
    with pytest.raises(ValueError, match="largest size a file can have"):
        dgen_py.write_file(f, "15E", seed=1)
    assert f.read_bytes() == b"old content"


def test_rlimit_fsize_is_refused_before_the_file_is_touched(disk_dir):
    f = disk_dir / "keep.bin"
    f.write_bytes(b"old content")
    code = (
        "import resource, dgen_py, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
        "try:\n"
        f"    dgen_py.write_file({str(f)!r}, 8 << 20, seed=1)\n"
        "except ValueError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "RLIMIT_FSIZE" in r.stdout
    assert f.read_bytes() == b"old content"


def test_fifo_is_refused_without_blocking(disk_dir):
    fifo = disk_dir / "fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(ValueError, match="FIFO"):
        dgen_py.write_file(fifo, MiB)
    with pytest.raises(ValueError, match="FIFO"):
        dgen_py.read_and_validate(fifo, MiB, seed=1)
    assert time.monotonic() - start < 5


def test_path_type_errors_name_the_argument(disk_dir):
    with pytest.raises(TypeError, match="path must be str, bytes or os.PathLike, not int"):
        dgen_py.write_file(42, MiB)
    with pytest.raises(ValueError, match="invalid path: .* NUL byte"):
        dgen_py.write_file(str(disk_dir / "a\0b"), MiB)
    with pytest.raises(ValueError, match="invalid path: .* NUL byte"):
        dgen_py.read_and_validate(b"x\0y", seed=1)
    with pytest.raises(TypeError, match=r"paths\[1\] must be str"):
        dgen_py.write_files([disk_dir / "a", 3.5], MiB)
    with pytest.raises(TypeError, match="paths must be a sequence of paths, not a single str"):
        dgen_py.write_files(str(disk_dir / "a"), MiB)
    assert list(disk_dir.iterdir()) == []


def test_exceptions_carry_the_seed_and_the_valid_length(disk_dir):
    f = disk_dir / "stop.bin"

    def stop(done, total):
        if done >= 8 * MiB:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough") as e:
        dgen_py.write_file(f, 1 << 34, seed=21, fsync=False, buffer_size=MiB, progress=stop)
    assert e.value.seed == 21
    assert e.value.valid_length == f.stat().st_size
    assert e.value.valid_lengths == [e.value.valid_length]
    assert 0 < e.value.valid_length <= e.value.bytes_written
    assert dgen_py.read_and_validate(f, e.value.valid_length, seed=21).first_mismatch_offset is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signal_ends_write_file_cleanly_with_128_plus_n(disk_dir, sig):
    f = disk_dir / "big.bin"
    code = (
        "import dgen_py, sys\n"
        "try:\n"
        f"    dgen_py.write_file({str(f)!r}, 1 << 36, seed=9, fsync=False, buffer_size=1 << 20)\n"
        "except SystemExit as e:\n"
        "    print(e.seed, e.valid_length, flush=True)\n"
        "    raise\n"
    )
    # The child starts with the signal's default disposition whatever this process has: one
    # that inherits it ignored (a test run under `nohup`) rightly keeps ignoring it, and would
    # write the whole 64 GiB, or fill the disk.
    p = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 10
    while (not f.exists() or f.stat().st_blocks == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(sig)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 128 + sig, out
    seed, valid = (int(x) for x in out.split())
    assert seed == 9
    assert f.stat().st_size == valid > 0
    assert dgen_py.read_and_validate(f, valid, seed=9).first_mismatch_offset is None
    # The handlers were restored: the default again once the call returned.
    assert signal.getsignal(sig) == signal.SIG_DFL


def test_max_threads_is_capped_with_a_warning(monkeypatch):
    cpus = len(os.sched_getaffinity(0))
    with pytest.warns(RuntimeWarning, match=f"more than the {cpus} CPUs"):
        dgen_py.Generator(MiB, max_threads=cpus + 100, seed=1)
    monkeypatch.setenv("DGEN_THREADS", "1")
    with pytest.warns(RuntimeWarning, match="more than the 1 CPUs available .DGEN_THREADS."):
        dgen_py.generate_buffer(4096, max_threads=2, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = dgen_py.generate_buffer(4 * MiB, seed=5)  # DGEN_THREADS=1: one thread, same bytes
    monkeypatch.setenv("DGEN_THREADS", "lots")
    with pytest.raises(ValueError, match="DGEN_THREADS"):
        dgen_py.generate_buffer(4096, seed=1)
    monkeypatch.delenv("DGEN_THREADS")
    assert dgen_py.generate_buffer(4 * MiB, seed=5) == ref
