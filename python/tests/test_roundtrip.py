"""write_file then read_and_validate: clean files pass, a flipped byte is found at its offset."""

import json

import pytest

import dgen_py

from conftest import MiB


def _flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5A]))


def test_write_then_validate_is_clean(direct_dir):
    path = direct_dir / "clean.bin"
    size = 16 * MiB
    stats = dgen_py.write_file(path, size, dedup_ratio=2.0, compress_ratio=3.0, seed=42)
    assert stats.bytes_written == size == path.stat().st_size
    assert stats.seed == 42
    assert stats.operations >= size // dgen_py.DEFAULT_BUFFER_SIZE
    assert stats.io_engine in ("io_uring", "pwrite")
    assert stats.direct_io is True
    assert stats.duration_secs > 0 and stats.throughput_gbps > 0
    assert stats.path == str(path)

    check = dgen_py.read_and_validate(path, seed=42, dedup_ratio=2.0, compress_ratio=3.0)
    assert check.bytes_checked == size
    assert check.first_mismatch_offset is None
    assert check.mismatched_blocks == 0
    assert check.is_clean
    assert check.throughput_gbps > 0


def test_flipped_byte_is_reported_at_its_offset(direct_dir):
    path = direct_dir / "flip.bin"
    size = 8 * MiB + 1234
    stats = dgen_py.write_file(path, size, seed=7)
    bad = 5 * 4096 + 123
    _flip(path, bad)
    check = dgen_py.read_and_validate(path, seed=stats.seed, stream_id=stats.stream_id)
    assert check.first_mismatch_offset == bad
    assert check.mismatched_blocks == 1
    assert not check.is_clean

    # A second bad block further on: still the first offset, two blocks; the very last byte too.
    _flip(path, 3 * MiB + 17)
    _flip(path, size - 1)
    check = dgen_py.read_and_validate(path, seed=stats.seed)
    assert check.first_mismatch_offset == bad
    assert check.mismatched_blocks == 3


def test_wrong_parameters_do_not_validate(direct_dir):
    path = direct_dir / "params.bin"
    stats = dgen_py.write_file(path, 4 * MiB, compress_ratio=2.0)
    assert dgen_py.read_and_validate(path, seed=stats.seed, compress_ratio=2.0).is_clean
    assert dgen_py.read_and_validate(path, seed=stats.seed + 1, compress_ratio=2.0).first_mismatch_offset == 0
    assert not dgen_py.read_and_validate(path, seed=stats.seed).is_clean
    assert not dgen_py.read_and_validate(
        path, seed=stats.seed, compress_ratio=2.0, stream_id=stats.stream_id + 1
    ).is_clean


def test_random_seed_is_reported_and_reproducible(direct_dir):
    a = dgen_py.write_file(direct_dir / "a.bin", 1 * MiB)
    b = dgen_py.write_file(direct_dir / "b.bin", 1 * MiB)
    assert a.seed != b.seed
    assert dgen_py.read_and_validate(direct_dir / "a.bin", seed=a.seed).is_clean


def test_partial_validation_and_size_text(direct_dir):
    path = direct_dir / "partial.bin"
    stats = dgen_py.write_file(path, "3MiB", buffer_size="1M", seed=3)
    assert stats.bytes_written == 3 * MiB
    check = dgen_py.read_and_validate(path, "1MiB", 3)  # positional: path, size, seed
    assert check.bytes_checked == MiB and check.is_clean


def test_stats_repr_str_and_dict(direct_dir):
    path = direct_dir / "repr.bin"
    stats = dgen_py.write_file(path, 1 * MiB, seed=11, stream_id=5)
    r = repr(stats)
    assert r.startswith("WriteStats(") and "bytes_written=1048576" in r and "seed=11" in r
    assert "stream_id=5" in r and repr(str(path)) in r
    assert "1 MiB" in str(stats) or "1.00 MiB" in str(stats) or "MiB" in str(stats)
    d = stats.to_dict()
    assert d["bytes_written"] == 1 * MiB and d["seed"] == 11 and d["stream_id"] == 5
    assert d["io_engine"] == stats.io_engine and d["direct_io"] == stats.direct_io
    json.dumps(d)  # serialisable
    check = dgen_py.read_and_validate(path, seed=11, stream_id=5)
    assert "first_mismatch_offset=None" in repr(check)
    assert check.to_dict()["first_mismatch_offset"] is None
    json.dumps(check.to_dict())
    assert isinstance(stats, dgen_py.WriteStats) and isinstance(check, dgen_py.VerifyStats)


def test_seed_is_required_to_validate(direct_dir):
    path = direct_dir / "noseed.bin"
    dgen_py.write_file(path, 1 * MiB)
    with pytest.raises(ValueError, match="seed"):
        dgen_py.read_and_validate(path)


def test_legacy_positional_call_shape(direct_dir):
    # path, size, buffer_size, buffer_count, use_direct_io, dedup_ratio, compress_ratio, use_io_uring
    path = direct_dir / "legacy.bin"
    stats = dgen_py.write_file(str(path), 4 * MiB, 1 * MiB, 4, True, 2.0, 2.0, False)
    assert stats.bytes_written == 4 * MiB
    assert stats.io_engine == "pwrite"
    assert stats.dedup_ratio == 2.0 and stats.compress_ratio == 2.0
    assert dgen_py.read_and_validate(path, seed=stats.seed, dedup_ratio=2.0, compress_ratio=2.0).is_clean


def test_generation_map_rewrites_every_unit_and_validates(direct_dir):
    """write_file(map=) twice: the second write changes every 4 KiB unit, keeps the dedup ratio,
    and read_and_validate(map=) accepts the new data and refuses the old."""
    import hashlib

    path, mp = direct_dir / "m.bin", direct_dir / "m.map"
    kw = dict(dedup_ratio=2.0, compress_ratio=3.0, seed=31, dedup_unit="64k", map=mp)
    st = dgen_py.write_file(path, 32 * MiB, **kw)
    first = path.read_bytes()
    assert dgen_py.read_and_validate(path, 32 * MiB, **kw).first_mismatch_offset is None
    dgen_py.write_file(path, 32 * MiB, **kw)
    second = path.read_bytes()

    def units(b):
        return [hashlib.blake2b(b[i : i + 4096]).digest() for i in range(0, len(b), 4096)]

    a, b = units(first), units(second)
    assert sum(x == y for x, y in zip(a, b)) == 0
    assert len(b) / len(set(b)) == pytest.approx(2.0, rel=0.005)
    assert dgen_py.read_and_validate(path, 32 * MiB, **kw).first_mismatch_offset is None
    # The first write's data, under another name (so the map's stream id is given), is stale.
    stale = direct_dir / "stale.bin"
    stale.write_bytes(first)
    bad = dgen_py.read_and_validate(stale, 32 * MiB, stream_id=st.stream_id, **kw)
    assert bad.first_mismatch_offset == 0
    # A map of another size is refused, and the file is left alone.
    with pytest.raises(ValueError, match="map"):
        dgen_py.write_file(path, 16 * MiB, **kw)
    assert path.read_bytes() == second
    # No block of this map was trimmed: both trimmed-block checks pass the data, and a bad value
    # for map_trimmed is a ValueError naming it, before anything is read.
    for check in ("zeros", "skip"):
        assert dgen_py.read_and_validate(path, 32 * MiB, map_trimmed=check, **kw).is_clean
    with pytest.raises(ValueError, match=r"invalid map_trimmed=\"zero\": not one of zeros"):
        dgen_py.read_and_validate(path, 32 * MiB, map_trimmed="zero", **kw)
