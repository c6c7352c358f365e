"""A block device as the target (a loop device over a file): size defaults to the device's,
never written past its end."""

import os
import shutil
import subprocess

import pytest

import dgen_py

from conftest import MiB


@pytest.fixture
def loop_device(disk_dir):
    if os.geteuid() != 0 or not shutil.which("losetup"):
        pytest.skip("loop devices need root and losetup")
    img = disk_dir / "loop.img"
    with open(img, "wb") as f:
        f.truncate(32 * MiB)
    r = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot set up a loop device: {r.stderr.strip()}")
    dev = r.stdout.strip()
    try:
        yield dev, img
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)


def test_block_device_whole_size_and_bounds(loop_device):
    dev, img = loop_device
    stats = dgen_py.write_file(dev, None, compress_ratio=2.0, seed=9, stream_id=4)
    assert stats.bytes_written == 32 * MiB
    check = dgen_py.read_and_validate(dev, seed=9, compress_ratio=2.0, stream_id=4)
    assert check.is_clean and check.bytes_checked == 32 * MiB
    with pytest.raises(ValueError, match="larger than the device"):
        dgen_py.write_file(dev, 33 * MiB, seed=9)
    # A shorter write leaves the rest of the device alone (never truncated).
    dgen_py.write_file(dev, 4 * MiB, seed=10, stream_id=4, compress_ratio=2.0)
    data = img.read_bytes()
    assert len(data) == 32 * MiB
    assert data[: 4 * MiB] == dgen_py.generate_buffer(4 * MiB, compress_ratio=2.0, seed=10, stream_id=4)
    assert data[4 * MiB :] == dgen_py.generate_buffer(32 * MiB, compress_ratio=2.0, seed=9, stream_id=4)[4 * MiB :]


def test_regular_file_needs_a_size(disk_dir):
    with pytest.raises(ValueError, match="size"):
        dgen_py.write_file(disk_dir / "f.bin", None)
    assert not (disk_dir / "f.bin").exists()
