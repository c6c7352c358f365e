"""Issue 11 in Python: ``DedupLayout`` (working sets, skew, shifted duplicates, a global dedup
scope) gives the same bytes in every entry point, keeps the dedup ratio, and is checked."""

import hashlib

import pytest

import dgen_py
from dgen_py import DedupLayout

MiB = 1 << 20
SEED = 1234


def distinct_ratio(data, unit):
    """Fixed-block dedup ratio of ``data`` at ``unit`` bytes (whole units)."""
    n = len(data) // unit
    view = memoryview(data)
    seen = {hashlib.blake2b(view[i * unit:(i + 1) * unit], digest_size=16).digest() for i in range(n)}
    return n / len(seen)


def test_bad_layouts_are_refused_naming_the_argument():
    for kwargs, says in [
        ({"working_set": 0.0}, "working_set"),
        ({"working_set": "150%"}, "working_set"),
        ({"skew": 11.0}, "dedup skew"),
        ({"scope": "world"}, "scope"),
        ({"scope": "global"}, "scope_index"),
        ({"scope_index": 2}, "scope_index"),
    ]:
        with pytest.raises(ValueError, match=says):
            DedupLayout(**kwargs)
    with pytest.raises(TypeError, match="working_set"):
        DedupLayout(working_set=[0.1])
    layout = DedupLayout(working_set="10%", skew=1.0, scope="global", scope_index=3)
    assert (layout.working_set, layout.skew, layout.shifted, layout.scope, layout.scope_index) == (
        0.1,
        1.0,
        False,
        "global",
        3,
    )
    assert "scope_index=3" in repr(layout)


def test_a_global_scope_holds_the_ratio_over_all_targets_and_each_verifies_by_its_index(disk_dir):
    size = 16 * MiB
    targets = []
    for j in range(4):
        layout = DedupLayout(scope="global", scope_index=j)
        path = disk_dir / f"g{j}.bin"
        stats = dgen_py.write_file(path, size, dedup_ratio=2.0, seed=SEED, use_direct_io=False, dedup_layout=layout)
        data = path.read_bytes()
        # The same bytes from every entry point: the stream id plays no part in a global scope.
        assert data == bytes(dgen_py.generate_buffer(size, 2.0, seed=SEED, dedup_layout=layout))
        gen = dgen_py.Generator(size, 2.0, seed=SEED, stream_id=99, dedup_layout=layout)
        chunks = bytearray()
        while not gen.is_complete():
            chunks += bytes(gen.get_chunk(3 * MiB))
        assert bytes(chunks) == data
        assert dgen_py.read_and_validate(path, size, SEED, 2.0, use_direct_io=False, dedup_layout=layout).is_clean
        assert dgen_py.verify_buffer(data, 0, 2.0, seed=SEED, dedup_layout=layout)
        other = DedupLayout(scope="global", scope_index=(j + 1) % 4)
        assert not dgen_py.verify_buffer(data, 0, 2.0, seed=SEED, dedup_layout=other)
        assert stats.bytes_written == size
        targets.append(data)
    assert distinct_ratio(b"".join(targets), 128 * 1024) == pytest.approx(2.0, rel=0.005)
    assert distinct_ratio(targets[0], 128 * 1024) == pytest.approx(2.0, rel=0.005)
    assert distinct_ratio(targets[3], 128 * 1024) < 1.7


def test_a_working_set_bounds_the_copied_originals_and_keeps_the_ratio():
    unit = 4096
    data = bytes(
        dgen_py.generate_buffer(
            64 * MiB, 2.0, seed=SEED, dedup_unit=unit, dedup_layout=DedupLayout(working_set=0.1, skew=1.0)
        )
    )
    counts = {}
    view = memoryview(data)
    for i in range(len(data) // unit):
        h = hashlib.blake2b(view[i * unit:(i + 1) * unit], digest_size=16).digest()
        counts[h] = counts.get(h, 0) + 1
    blocks = len(data) // unit
    assert blocks / len(counts) == pytest.approx(2.0, rel=0.005)
    copied = sum(1 for c in counts.values() if c > 1)
    assert copied <= 0.101 * len(counts), (copied, len(counts))
    # BufferPool slices are one stream: the same bytes in pieces.
    pool = dgen_py.BufferPool(2.0, seed=SEED, dedup_unit=unit, dedup_layout=DedupLayout(working_set=0.1, skew=1.0))
    pieces = b"".join(bytes(pool.next_slice(n)) for n in [MiB, 3 * MiB, 5000, 4 * MiB - 5000])
    assert pieces == data[: len(pieces)]


def test_shifted_duplicates_hide_from_4k_blocks_and_show_to_512_byte_blocks():
    data = bytes(dgen_py.generate_buffer(32 * MiB, 2.0, seed=SEED, dedup_layout=DedupLayout(shifted=True)))
    assert distinct_ratio(data, 512) == pytest.approx(2.0, rel=0.01)
    assert distinct_ratio(data, 4096) < 1.2
