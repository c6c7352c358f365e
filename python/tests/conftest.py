"""Shared fixtures: scratch directories on a real disk (O_DIRECT works there), the `dgen` CLI."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20

try:
    import dgen_py  # noqa: F401
except ImportError as e:  # e.g. python/dgen_py (sources, no native module) shadowing the install
    pytest.exit(
        f"cannot import dgen_py ({e}): install it with `pip install ./python` and run the tests "
        "from the repository root: `python3 -m pytest python/tests`",
        returncode=4,
    )


def _supports_direct_io(directory: Path) -> bool:
    probe = directory / ".odirect-probe"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o600)
    except OSError:
        return False
    os.close(fd)
    probe.unlink()
    return True


@pytest.fixture
def disk_dir():
    """A scratch directory on the checkout's file system (not /tmp, which may be tmpfs), or in
    $DGEN_TEST_DIR when set. Removed afterwards."""
    base = Path(os.environ.get("DGEN_TEST_DIR", REPO / "target"))
    base.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix="dgen-py-test-", dir=base))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def direct_dir(disk_dir):
    """Like disk_dir, but the test is skipped where the file system refuses O_DIRECT."""
    if not _supports_direct_io(disk_dir):
        pytest.skip(f"{disk_dir} refuses O_DIRECT; set DGEN_TEST_DIR to a disk file system")
    return disk_dir


@pytest.fixture
def dgen_cli():
    """Path of the dgen CLI built by `cargo build --release` (skips when it is absent)."""
    exe = REPO / "target" / "release" / "dgen"
    if not exe.is_file():
        pytest.skip(f"{exe} not built (run `cargo build --release` at the repository root)")
    return exe


def os_threads() -> int:
    """Threads of this process, Rust ones included. The kernel's io_uring workers (iou-wrk-*)
    are left out: they exit on their own shortly after their ring is closed (the ring's fd is
    covered by open_fds)."""
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().startswith("iou-wrk-"):
                    continue
        except OSError:  # exited meanwhile
            continue
        count += 1
    return count


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
