"""The same parameters give the same bytes whichever path produced them: write_file with any
pool, thread, engine or O_DIRECT setting, write_files, Generator, generate_buffer, `dgen gen`."""

import subprocess

import pytest

import dgen_py

from conftest import MiB

SEED = 1234
STREAM = 99
# Not a multiple of 4096 nor of any buffer size: exercises the unaligned tail under O_DIRECT.
SIZE = 6 * MiB + 4096 * 3 + 517

VARIANTS = [
    dict(),
    dict(buffer_size=4096 * 16, buffer_count=3),
    dict(buffer_size=1 * MiB, buffer_count=1, queue_depth=1),
    dict(buffer_size=2 * MiB, buffer_count=16, queue_depth=8),
    dict(threads=1),
    dict(threads=3, buffer_size=512 * 1024),
    dict(use_io_uring=False),
    dict(use_io_uring=False, threads=2, buffer_size=1 * MiB),
    dict(use_direct_io=False),
    dict(use_direct_io=False, use_io_uring=False, fsync=False),
]

RATIOS = [(1.0, 1.0), (2.0, 3.0), (5.5, 1.7)]


@pytest.fixture(scope="module")
def references():
    return {
        r: dgen_py.generate_buffer(SIZE, r[0], r[1], seed=SEED, stream_id=STREAM) for r in RATIOS
    }


@pytest.mark.parametrize("ratios", RATIOS, ids=lambda r: f"d{r[0]}-c{r[1]}")
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()) or "defaults")
def test_write_file_matches_generate_buffer(direct_dir, references, ratios, variant):
    path = direct_dir / "id.bin"
    stats = dgen_py.write_file(
        path, SIZE, dedup_ratio=ratios[0], compress_ratio=ratios[1], seed=SEED, stream_id=STREAM,
        **variant,
    )
    assert stats.bytes_written == SIZE
    assert path.stat().st_size == SIZE
    assert stats.direct_io == variant.get("use_direct_io", True)
    if variant.get("use_io_uring", True) is False:
        assert stats.io_engine == "pwrite"
    assert path.read_bytes() == references[ratios]


@pytest.mark.parametrize("size", [1, 4095, 4097, 8 * MiB - 1, 8 * MiB + 1, 3 * 8 * MiB + 12345])
def test_exact_unaligned_sizes_with_o_direct(direct_dir, size):
    path = direct_dir / "odd.bin"
    stats = dgen_py.write_file(path, size, seed=5, stream_id=1)
    assert stats.direct_io is True
    assert stats.bytes_written == size == path.stat().st_size
    assert path.read_bytes() == dgen_py.generate_buffer(size, seed=5, stream_id=1)
    assert dgen_py.read_and_validate(path, seed=5, stream_id=1).is_clean


def test_rewrite_truncates_to_exact_size(direct_dir):
    path = direct_dir / "shrink.bin"
    dgen_py.write_file(path, 5 * MiB, seed=1)
    dgen_py.write_file(path, 1 * MiB + 3, seed=1)
    assert path.stat().st_size == 1 * MiB + 3


def test_generator_chunks_match(references):
    ref = references[(2.0, 3.0)]
    # Irregular chunk sizes, so chunks straddle atoms, dedup blocks and the parallel threshold.
    gen = dgen_py.Generator(SIZE, 2.0, 3.0, seed=SEED, stream_id=STREAM)
    out = bytearray()
    sizes = [1, 4095, 4096, 100_000, 3 * MiB + 7, 5]
    i = 0
    while not gen.is_complete():
        buf = bytearray(sizes[i % len(sizes)])
        n = gen.fill_chunk(buf)
        assert n > 0
        out += buf[:n]
        i += 1
    assert gen.fill_chunk(bytearray(10)) == 0
    assert bytes(out) == ref


def test_write_files_each_file_its_stream(direct_dir):
    paths = [direct_dir / f"multi-{i}.bin" for i in range(3)]
    all_stats = dgen_py.write_files(paths, 2 * MiB + 100, compress_ratio=2.0, seed=SEED)
    assert [s.path for s in all_stats] == [str(p) for p in paths]
    assert len({s.stream_id for s in all_stats}) == 3
    for p, s in zip(paths, all_stats):
        assert s.seed == SEED and s.bytes_written == 2 * MiB + 100
        assert p.read_bytes() == dgen_py.generate_buffer(
            2 * MiB + 100, compress_ratio=2.0, seed=SEED, stream_id=s.stream_id
        )
    explicit = dgen_py.write_files(paths[:2], MiB, seed=SEED, stream_ids=[7, 8])
    assert [s.stream_id for s in explicit] == [7, 8]
    assert paths[1].read_bytes() == dgen_py.generate_buffer(MiB, seed=SEED, stream_id=8)


@pytest.mark.parametrize("ratios", RATIOS, ids=lambda r: f"d{r[0]}-c{r[1]}")
def test_matches_dgen_gen_cli(direct_dir, references, dgen_cli, ratios):
    out = direct_dir / "cli.bin"
    subprocess.run(
        [
            str(dgen_cli), "gen", "--size", str(SIZE), "--dedup", str(ratios[0]),
            "--compress", str(ratios[1]), "--seed", str(SEED), "--stream-id", str(STREAM),
            "-o", str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == references[ratios]
    # And write_file to the same name without an explicit stream id matches `dgen gen` without one.
    subprocess.run(
        [str(dgen_cli), "gen", "--size", "1M", "--seed", str(SEED), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    cli_bytes = out.read_bytes()
    dgen_py.write_file(out, MiB, seed=SEED)
    assert out.read_bytes() == cli_bytes


def test_compress_codec_snappy_is_its_own_stream_everywhere(direct_dir, dgen_cli):
    """compress_codec="snappy" changes the bytes, and every face agrees on them; verify needs it."""
    kw = dict(seed=SEED, stream_id=STREAM)
    lz = dgen_py.generate_buffer(2 * MiB, 1.0, 3.0, **kw)
    snappy = dgen_py.generate_buffer(2 * MiB, 1.0, 3.0, compress_codec="snappy", **kw)
    assert lz != snappy
    gen = dgen_py.Generator(2 * MiB, 1.0, 3.0, compress_codec="snappy", **kw)
    buf = bytearray(2 * MiB)
    assert gen.fill_chunk(buf) == 2 * MiB and bytes(buf) == snappy
    out = direct_dir / "snappy.bin"
    subprocess.run(
        [
            str(dgen_cli), "gen", "--size", "2M", "--compress", "3", "--compress-codec",
            "snappy", "--seed", str(SEED), "--stream-id", str(STREAM), "-o", str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == snappy
    ok = dgen_py.read_and_validate(out, 2 * MiB, compress_ratio=3.0, compress_codec="snappy", **kw)
    assert ok.first_mismatch_offset is None
    bad = dgen_py.read_and_validate(out, 2 * MiB, compress_ratio=3.0, **kw)
    # The first literal run is the same keystream; every 4 KiB block differs from its first match on.
    assert bad.first_mismatch_offset is not None and bad.first_mismatch_offset < 4096
    assert bad.mismatched_blocks == 2 * MiB // 4096


def test_compress_codec_bad_values_are_named():
    with pytest.raises(ValueError, match="compress codec.*gzip"):
        dgen_py.generate_buffer(4096, compress_codec="gzip")
    with pytest.raises(ValueError, match="snappy"):
        dgen_py.generate_buffer(4096, 1.0, 20.0, compress_codec="snappy")
