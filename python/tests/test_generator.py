"""Generator.fill_chunk into every kind of writable buffer, get_chunk, reset/seed handling, and
generate_buffer; all against the same stream."""

import mmap
import threading

import pytest

import dgen_py

from conftest import MiB

SIZE = 3 * MiB + 1000


@pytest.fixture(scope="module")
def ref():
    return dgen_py.generate_buffer(SIZE, 2.0, 2.5, seed=77)


def _gen(**kw):
    return dgen_py.Generator(SIZE, 2.0, 2.5, seed=77, **kw)


def test_fill_bytearray_to_the_end(ref):
    g = _gen()
    assert g.position() == 0 and g.total_size() == SIZE and not g.is_complete()
    buf = bytearray(MiB)
    got = bytearray()
    counts = []
    while (n := g.fill_chunk(buf)) > 0:
        counts.append(n)
        got += buf[:n]
    assert counts == [MiB, MiB, MiB, 1000]
    assert g.is_complete() and g.position() == SIZE
    assert g.fill_chunk(buf) == 0
    assert bytes(got) == ref


def test_fill_memoryview_slice_writes_only_the_view(ref):
    g = _gen()
    backing = bytearray(b"\xee" * 10_000)
    mv = memoryview(backing)[100:4196]
    assert g.fill_chunk(mv) == 4096
    assert backing[:100] == b"\xee" * 100 and backing[4196:] == b"\xee" * (10_000 - 4196)
    assert bytes(backing[100:4196]) == ref[:4096]
    assert g.position() == 4096


def test_fill_mmap(ref):
    g = _gen()
    m = mmap.mmap(-1, 2 * MiB)
    try:
        assert g.fill_chunk(m) == 2 * MiB
        assert m[:] == ref[: 2 * MiB]
    finally:
        m.close()


def test_fill_numpy_any_dtype(ref):
    np = pytest.importorskip("numpy", reason="numpy not installed")
    g = _gen()
    a = np.zeros(MiB, dtype=np.uint8)
    assert g.fill_chunk(a) == MiB
    assert a.tobytes() == ref[:MiB]
    f = np.zeros((128, 1024), dtype=np.float64)  # 1 MiB, 2-D, C-contiguous
    assert g.fill_chunk(f) == MiB
    assert f.tobytes() == ref[MiB : 2 * MiB]
    with pytest.raises(TypeError, match="C-contiguous"):
        g.fill_chunk(np.zeros((64, 64), dtype=np.uint8).T[::2])
    ro = np.zeros(10, dtype=np.uint8)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        g.fill_chunk(ro)


def test_read_only_and_non_contiguous_buffers_are_refused():
    g = _gen()
    for bad in (b"x" * 100, memoryview(bytearray(100))[::2], "text", 42):
        with pytest.raises(TypeError):
            g.fill_chunk(bad)
    assert g.position() == 0  # nothing consumed


def test_empty_buffer_is_a_no_op():
    g = _gen()
    assert g.fill_chunk(bytearray()) == 0
    assert g.position() == 0 and not g.is_complete()


def test_get_chunk_and_reset(ref):
    g = _gen(chunk_size=MiB)
    assert g.chunk_size == MiB
    parts = []
    while (c := g.get_chunk()) is not None:
        assert isinstance(c, dgen_py.BytesView)  # dgen-py 0.3.0's return type
        parts.append(c)
    assert b"".join(parts) == ref
    g.reset()
    assert g.position() == 0
    assert g.get_chunk(10) == ref[:10]
    assert g.get_chunk("4k") == ref[10 : 10 + 4096]


def test_seed_handling():
    a, b = dgen_py.Generator(4096), dgen_py.Generator(4096)
    assert a.seed != b.seed  # drawn at random
    ba, bb = bytearray(4096), bytearray(4096)
    a.fill_chunk(ba)
    c = dgen_py.Generator(4096, seed=a.seed)
    c.fill_chunk(bb)
    assert ba == bb
    # dgen-py 0.3.0: set_seed keeps the position (it counts towards size) and the new seed's
    # stream starts at its beginning.
    c.set_seed(a.seed + 1)
    assert c.seed == a.seed + 1 and c.position() == 4096 and c.is_complete()
    c2 = dgen_py.Generator(8192, seed=a.seed)
    c2.fill_chunk(bb)
    c2.set_seed(a.seed + 1)
    assert c2.position() == 4096 and not c2.is_complete()
    c2.fill_chunk(bb)
    assert ba != bb and bb == dgen_py.generate_buffer(4096, seed=a.seed + 1)
    assert c2.is_complete()
    c.set_seed()
    assert c.seed not in (a.seed, a.seed + 1)


def test_parameters_are_exposed():
    g = dgen_py.Generator(100, 3.0, 2.0, seed=5, dedup_unit="64k", stream_id=9)
    assert (g.dedup_ratio, g.compress_ratio, g.seed, g.dedup_unit, g.stream_id) == (3.0, 2.0, 5, 65536, 9)
    assert "seed=5" in repr(g)
    assert dgen_py.StreamingGenerator is dgen_py.Generator


def test_dgen_py_compat_arguments_accepted(ref):
    # numa_mode, max_threads, numa_node, chunk_size, block_size, seed: dgen-py's positional order.
    g = dgen_py.Generator(SIZE, 2.0, 2.5, "disabled", 2, 0, MiB, 4096, 77)
    buf = bytearray(2 * MiB + 5)
    assert g.fill_chunk(buf) == len(buf)
    assert bytes(buf) == ref[: len(buf)]


@pytest.mark.parametrize("max_threads", [None, 0, 1, 2, 3])
def test_thread_counts_give_the_same_bytes(ref, max_threads):
    assert dgen_py.generate_buffer(SIZE, 2.0, 2.5, max_threads=max_threads, seed=77) == ref
    g = dgen_py.Generator(SIZE, 2.0, 2.5, max_threads=max_threads, seed=77)
    buf = bytearray(SIZE)
    assert g.fill_chunk(buf) == SIZE and bytes(buf) == ref


def test_streams_and_ratios_change_the_bytes(ref):
    assert dgen_py.generate_buffer(SIZE, 2.0, 2.5, seed=77, stream_id=1) != ref
    assert dgen_py.generate_buffer(SIZE, 1.0, 2.5, seed=77) != ref
    assert dgen_py.generate_buffer(SIZE, 2.0, 2.5, seed=78) != ref
    assert dgen_py.generate_buffer(0, seed=1) == b""


def test_threads_share_one_generator_without_overlap(ref):
    # fill_chunk reserves its range under the object's borrow, then fills with the GIL released:
    # chunks taken concurrently from several threads tile the stream exactly once.
    g = _gen()
    chunk = 64 * 1024
    got = []

    def worker():
        buf = bytearray(chunk)
        while (n := g.fill_chunk(buf)) > 0:
            got.append(bytes(buf[:n]))

    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    expected = [ref[i : i + chunk] for i in range(0, SIZE, chunk)]
    assert sorted(got) == sorted(expected)
