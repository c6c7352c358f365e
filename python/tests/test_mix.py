"""Compressibility mixes: ``compress_ratio="1:30%,4:50%,16:20%"`` gives each dedup block one of
the ratios, in the given shares, through every entry point; a bad mix raises ValueError naming
compress_ratio, the value and the reason."""

import subprocess
import zlib

import pytest

import dgen_py

from conftest import MiB

MIX = "1:30%,4:50%,16:20%"
AGGREGATE = 1 / (0.3 / 1 + 0.5 / 4 + 0.2 / 16)
BLOCK = 128 * 1024


def _block_ratios(data: bytes, level: int = 1) -> list:
    """zlib's ratio of each 128 KiB dedup block, compressed alone."""
    return [
        BLOCK / len(zlib.compress(data[i : i + BLOCK], level))
        for i in range(0, len(data) - BLOCK + 1, BLOCK)
    ]


def test_blocks_take_the_mix_ratios_in_their_shares():
    data = bytes(dgen_py.generate_buffer(32 * MiB, 1.0, MIX, seed=5))
    ratios = _block_ratios(data)
    # Three clusters, apart by far more than deflate's spread around each class's ratio.
    low = [r for r in ratios if r < 1.5]
    mid = [r for r in ratios if 2.5 < r < 6]
    high = [r for r in ratios if r > 9]
    assert len(low) + len(mid) + len(high) == len(ratios) == 256
    for group, share in ((low, 0.3), (mid, 0.5), (high, 0.2)):
        assert abs(len(group) - share * 256) <= 4, (len(low), len(mid), len(high))
    # a plain ratio has one cluster
    plain = _block_ratios(bytes(dgen_py.generate_buffer(8 * MiB, 1.0, 4.0, seed=5)))
    assert all(2.5 < r < 6 for r in plain)


def test_every_entry_point_gives_the_same_bytes(tmp_path, dgen_cli):
    want = bytes(dgen_py.generate_buffer(4 * MiB, 1.5, MIX, seed=9, stream_id=3))
    g = dgen_py.Generator(4 * MiB, 1.5, MIX, seed=9, stream_id=3)
    buf = bytearray(4 * MiB)
    g.fill_chunk(buf)
    assert buf == want
    assert g.compress_ratio == pytest.approx(AGGREGATE)
    assert f"compress_ratio='{MIX}'" in repr(g)
    pool = dgen_py.BufferPool(1.5, MIX, seed=9, stream_id=3)
    assert pool.compress_ratio == pytest.approx(AGGREGATE)
    path = tmp_path / "mix.bin"
    stats = dgen_py.write_file(
        path, 4 * MiB, dedup_ratio=1.5, compress_ratio=MIX, seed=9, stream_id=3,
        use_direct_io=False,
    )
    assert stats.compress_ratio == pytest.approx(AGGREGATE)
    assert path.read_bytes() == want
    ok = dgen_py.read_and_validate(
        path, seed=9, dedup_ratio=1.5, compress_ratio=MIX, stream_id=3, use_direct_io=False
    )
    assert ok.mismatched_blocks == 0
    bad = dgen_py.read_and_validate(
        path, seed=9, dedup_ratio=1.5, compress_ratio="1:30%,4:40%,16:30%", stream_id=3,
        use_direct_io=False,
    )
    assert bad.mismatched_blocks > 0
    out = tmp_path / "cli.bin"
    subprocess.run(
        [str(dgen_cli), "gen", "--size", str(4 * MiB), "--dedup", "1.5", "--compress", MIX,
         "--seed", "9", "--stream-id", "3", "-o", str(out)],
        check=True, capture_output=True,
    )
    assert out.read_bytes() == want
    # a ratio given as text is that ratio
    assert bytes(dgen_py.generate_buffer(MiB, 1.0, "3", seed=1)) == bytes(
        dgen_py.generate_buffer(MiB, 1.0, 3.0, seed=1)
    )


@pytest.mark.parametrize(
    "value, why",
    [
        ("1:30%,4:50%", "sum to 80%"),
        ("0.5:50%,4:50%", "below 1"),
        ("1:50%,4:50", "in percent"),
        ("many", "not a ratio"),
        ("1:50%,80:50%", "above the supported maximum"),
    ],
)
def test_a_bad_mix_raises_value_error_naming_it(tmp_path, value, why):
    path = tmp_path / "never.bin"
    for call in (
        lambda: dgen_py.generate_buffer(MiB, 1.0, value),
        lambda: dgen_py.Generator(MiB, 1.0, value),
        lambda: dgen_py.write_file(path, MiB, compress_ratio=value),
    ):
        with pytest.raises(ValueError) as e:
            call()
        msg = str(e.value)
        assert "compress_ratio" in msg and value in msg and why in msg, msg
        assert "\n" not in msg
    assert not path.exists()
    with pytest.raises(TypeError, match="compress_ratio"):
        dgen_py.generate_buffer(MiB, 1.0, [1, 2])


def test_per_codec_ratios(tmp_path):
    spec = "lz4=2.2,zstd=3.3"
    data = bytes(dgen_py.generate_buffer(8 * MiB, 1.0, spec, seed=3))
    plain = bytes(dgen_py.generate_buffer(8 * MiB, 1.0, 2.2, seed=3))
    chunk = 64 * 1024

    def deflate_ratio(buf):
        packed = sum(len(zlib.compress(buf[i : i + chunk], 1)) for i in range(0, len(buf), chunk))
        return len(buf) / packed

    # deflate entropy-codes the literals: near zstd's 3.3 (within 5%), far above the plain 2.2
    assert abs(deflate_ratio(data) / 3.3 - 1) < 0.05
    assert abs(deflate_ratio(plain) / 2.2 - 1) < 0.05
    g = dgen_py.Generator(8 * MiB, 1.0, spec, seed=3)
    assert g.compress_ratio == 2.2 and f"compress_ratio='{spec}'" in repr(g)
    path = tmp_path / "z.bin"
    dgen_py.write_file(path, 8 * MiB, compress_ratio=spec, seed=3, stream_id=0, use_direct_io=False)
    assert path.read_bytes() == data
    ok = dgen_py.read_and_validate(path, seed=3, compress_ratio=spec, stream_id=0, use_direct_io=False)
    assert ok.mismatched_blocks == 0
    with pytest.raises(ValueError, match="zstd=9 is above"):
        dgen_py.generate_buffer(MiB, 1.0, "lz4=2.2,zstd=9")
