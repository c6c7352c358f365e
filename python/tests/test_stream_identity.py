"""Issue 11 (A): with a fixed seed, two targets never share content unless asked. The default
stream id is a hash of the canonical path (plus the host name for devices): the same name in two
directories differs, the same target gets the same bytes on every run, a moved file needs the id
it was written with, and ``stream_id="name"`` is the old name-only rule."""

import os
import subprocess

import pytest

import dgen_py

from conftest import MiB

SEED = 4321


def _units(data):
    return {data[i : i + 4096] for i in range(0, len(data), 4096)}


def test_same_name_in_two_directories_differs_and_each_verifies(disk_dir):
    (disk_dir / "vol1").mkdir()
    (disk_dir / "vol2").mkdir()
    a, b = disk_dir / "vol1" / "test.dat", disk_dir / "vol2" / "test.dat"
    sa = dgen_py.write_file(a, 2 * MiB, dedup_ratio=2.0, compress_ratio=2.0, seed=SEED, use_direct_io=False)
    sb = dgen_py.write_file(b, 2 * MiB, dedup_ratio=2.0, compress_ratio=2.0, seed=SEED, use_direct_io=False)
    assert sa.stream_id != sb.stream_id
    ca, cb = a.read_bytes(), b.read_bytes()
    assert not (_units(ca) & _units(cb)), "the two files share 4 KiB units"
    for p in (a, b):
        v = dgen_py.read_and_validate(p, 2 * MiB, SEED, 2.0, 2.0, use_direct_io=False)
        assert v.is_clean
    # The same target again, through a relative path from its directory and a path with `..`:
    # the same stream, the same bytes.
    cwd = os.getcwd()
    try:
        os.chdir(disk_dir / "vol1")
        again = dgen_py.write_file("test.dat", 2 * MiB, dedup_ratio=2.0, compress_ratio=2.0, seed=SEED, use_direct_io=False)
    finally:
        os.chdir(cwd)
    assert again.stream_id == sa.stream_id
    assert a.read_bytes() == ca
    odd = disk_dir / "vol2" / ".." / "vol1" / "test.dat"
    assert dgen_py.read_and_validate(odd, 2 * MiB, SEED, 2.0, 2.0, use_direct_io=False).is_clean
    # write_files follows the same rule
    multi = dgen_py.write_files([a, b], 2 * MiB, dedup_ratio=2.0, compress_ratio=2.0, seed=SEED, use_direct_io=False)
    assert [s.stream_id for s in multi] == [sa.stream_id, sb.stream_id]


def test_name_is_the_old_rule(disk_dir):
    (disk_dir / "x").mkdir()
    (disk_dir / "y").mkdir()
    a, b = disk_dir / "x" / "n.bin", disk_dir / "y" / "n.bin"
    sa = dgen_py.write_file(a, MiB, seed=SEED, stream_id="name", use_direct_io=False)
    sb = dgen_py.write_file(b, MiB, seed=SEED, stream_id="name", use_direct_io=False)
    assert sa.stream_id == sb.stream_id
    assert a.read_bytes() == b.read_bytes() == dgen_py.generate_buffer(MiB, seed=SEED, stream_id=sa.stream_id)
    assert dgen_py.read_and_validate(b, MiB, SEED, stream_id="name", use_direct_io=False).is_clean
    multi = dgen_py.write_files([a, b], MiB, seed=SEED, stream_ids=["name", "path"], use_direct_io=False)
    assert multi[0].stream_id == sa.stream_id != multi[1].stream_id
    with pytest.raises(ValueError, match=r"stream_id.*\"file\".*'path'"):
        dgen_py.write_file(a, MiB, seed=SEED, stream_id="file")


def test_a_moved_file_needs_its_id(disk_dir, dgen_cli):
    (disk_dir / "a").mkdir()
    (disk_dir / "b").mkdir()
    old, new = disk_dir / "a" / "m.bin", disk_dir / "b" / "m.bin"
    s = dgen_py.write_file(old, MiB, seed=SEED, compress_ratio=2.0, use_direct_io=False)
    old.rename(new)
    v = dgen_py.read_and_validate(new, MiB, SEED, compress_ratio=2.0, use_direct_io=False)
    # Every block is wrong from its header on. The header is the first 16 bytes and its first byte
    # matches by chance once in 256 paths (the temporary folder's name is random), so the first
    # mismatch is somewhere in those 16 bytes, not necessarily at byte 0.
    assert not v.is_clean and v.first_mismatch_offset < 16 and v.mismatched_blocks == MiB // 4096
    v = dgen_py.read_and_validate(new, MiB, SEED, compress_ratio=2.0, stream_id=s.stream_id, use_direct_io=False)
    assert v.is_clean
    # The CLI agrees with Python on the path rule.
    out = subprocess.run([str(dgen_cli), "stream-id", str(old)], check=True, capture_output=True, text=True)
    assert out.stdout.split("\t")[0] == str(s.stream_id)
