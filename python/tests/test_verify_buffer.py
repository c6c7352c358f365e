"""verify_buffer / BufferPool.verify / Generator.verify: objects checked against the stream at
their offset, with the first wrong byte and what the wrong 4 KiB unit holds."""

import pytest

import dgen_py

from conftest import MiB

KiB = 1024
PARAMS = dict(dedup_ratio=2.0, compress_ratio=2.5)


def _check(buf, offset, **kw):
    args = dict(PARAMS, seed=5)
    args.update(kw)
    return dgen_py.verify_buffer(buf, offset, **args)


@pytest.fixture(scope="module")
def stream():
    return bytes(dgen_py.generate_buffer(6 * MiB, 2.0, 2.5, seed=5))


@pytest.mark.parametrize("offset,size", [(0, 4096), (12_345, 70_001), (MiB - 3, 3 * MiB + 7), (0, 6 * MiB)])
def test_clean_objects_at_any_offset_pass(stream, offset, size):
    for buf in (stream[offset : offset + size], bytearray(stream[offset : offset + size]),
                memoryview(stream)[offset : offset + size]):
        r = _check(buf, offset)
        assert r.is_clean and bool(r) and r.first_mismatch_offset is None
        assert r.bytes_checked == size and r.offset == offset and r.mismatched_blocks == 0
        assert r.finding is None and r.seed == 5 and r.stream_id == 0


def test_a_flipped_byte_is_located_and_diagnosed_as_corruption(stream):
    offset = 2 * MiB + 100
    obj = bytearray(stream[offset : offset + 256 * KiB])
    bad = offset + 50_000
    obj[bad - offset] ^= 0xFF
    r = _check(obj, offset)
    assert not r and r.first_mismatch_offset == bad and r.mismatched_blocks == 1
    assert r.finding_offset == bad // 4096 * 4096
    assert r.finding_kind == "corrupted" and "corruption" in r.finding
    assert str(bad) in str(r)


def test_zeros_and_other_seeds_and_streams_are_told_apart(stream):
    offset = 64 * KiB
    obj = bytearray(stream[offset : offset + 64 * KiB])
    obj[8192:12288] = bytes(4096)
    r = _check(obj, offset)
    assert r.first_mismatch_offset == offset + 8192
    assert r.finding_kind == "unrecognised" and r.zeros is True
    # The right object read back at the wrong offset, or from another stream / seed.
    other_stream = bytes(dgen_py.generate_buffer(128 * KiB, 2.0, 2.5, seed=5, stream_id=9))[offset:]
    r = _check(other_stream, offset)
    assert r.first_mismatch_offset == offset and r.finding_kind == "other_stream"
    assert _check(other_stream, offset, stream_id=9).is_clean
    r = _check(stream[offset : offset + 8192], offset, seed=6)
    assert r.finding_kind == "unrecognised" and r.zeros is False


def test_an_object_read_from_the_wrong_offset_is_misdirected(stream):
    # A unique (not deduplicated) unit's content served for another offset.
    home = 3 * MiB
    r = _check(stream[home : home + 4096], home + 1024 * KiB)
    assert not r and r.first_mismatch_offset == home + 1024 * KiB
    assert r.finding_kind == "misdirected" and "misdirected write" in r.finding


def test_counts_match_across_threads_and_pieces(stream):
    obj = bytearray(stream[:6 * MiB])
    for at in (5, 4096 * 300, 3 * MiB + 1, 6 * MiB - 1):
        obj[at] ^= 1
    results = [_check(obj, 0, max_threads=t) for t in (1, 2, None)]
    assert {(r.first_mismatch_offset, r.mismatched_blocks) for r in results} == {(5, 4)}


def test_a_unit_not_held_from_its_start_is_not_diagnosed(stream):
    offset = 4096 + 100
    obj = bytearray(stream[offset : offset + 8192])
    obj[0] ^= 1
    r = _check(obj, offset)
    assert r.first_mismatch_offset == offset and r.finding is None and r.finding_offset is None


def test_buffer_pool_slices_verify_by_position():
    pool = dgen_py.BufferPool(2.0, 2.5, seed=11)
    objs = []
    for size in (KiB, 64 * KiB, 3 * MiB, 100):
        at = pool.position
        objs.append((at, bytes(pool.next_slice(size))))
    for at, obj in objs:
        assert pool.verify(obj, at)
        assert dgen_py.verify_buffer(obj, at, 2.0, 2.5, seed=11)
    at, obj = objs[1]
    assert not pool.verify(obj, at + 4096)


def test_generator_chunks_verify_by_position_and_set_seed_is_refused():
    g = dgen_py.Generator(4 * MiB, 2.0, 2.5, seed=3, chunk_size=MiB)
    chunks = []
    while not g.is_complete():
        at = g.position()
        chunks.append((at, bytes(g.get_chunk())))
    assert all(g.verify(c, at) for at, c in chunks)
    g.reset()
    g.get_chunk()
    g.set_seed(4)  # the next bytes are seed 4's stream from its start, position goes on
    at = g.position()
    c = bytes(g.get_chunk())
    assert g.verify(c, at) and dgen_py.verify_buffer(c, at - MiB, 2.0, 2.5, seed=4)
    with pytest.raises(ValueError, match="invalid position"):
        g.verify(chunks[0][1], 0)


def test_bad_arguments():
    with pytest.raises(TypeError, match="seed"):
        dgen_py.verify_buffer(b"x", 0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="invalid offset"):
        dgen_py.verify_buffer(b"x", -1, seed=1)
    with pytest.raises(ValueError, match="invalid offset"):
        dgen_py.verify_buffer(b"xy", 2**64 - 1, seed=1)
    with pytest.raises(TypeError, match="C-contiguous buffer"):
        dgen_py.verify_buffer("text", 0, seed=1)
    with pytest.raises(ValueError, match="ratio"):
        dgen_py.verify_buffer(b"x", 0, 0.5, seed=1)
    assert dgen_py.verify_buffer(b"", 0, seed=1).is_clean
