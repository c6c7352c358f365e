"""Data profiles: ``profile="text"`` (or a profile file) makes data that compresses like the
sample the profile was measured on, through write_file, generate_buffer and Generator; the
data verifies with the same profile; a missing, malformed or other-version profile raises
OSError / ValueError naming the file, and a profile with compress_ratio raises ValueError."""

import json
import warnings
import zlib

import pytest

import dgen_py

from conftest import MiB

UNIT = 32 * 1024


def _ratio(data: bytes) -> float:
    """deflate-1's aggregate ratio over independent 32 KiB units (the profiles' reference unit)."""
    comp = sum(len(zlib.compress(data[i : i + UNIT], 1)) for i in range(0, len(data), UNIT))
    return len(data) / comp


def test_profiles_differ_as_their_samples_do_and_entry_points_agree(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes out of reach (README, "Profiles")
        text = bytes(dgen_py.generate_buffer(8 * MiB, profile="text", seed=3))
        compressed = bytes(dgen_py.generate_buffer(8 * MiB, profile="compressed", seed=3))
        g = dgen_py.Generator(8 * MiB, profile="text", seed=3)
        buf = bytearray(8 * MiB)
        g.fill_chunk(buf)
    assert bytes(buf) == text
    assert _ratio(text) > 2.0, _ratio(text)  # text compresses (its sample: zstd-1 3.6, lz4 2.5)
    assert _ratio(compressed) < 1.25, _ratio(compressed)  # already-compressed data barely does
    path = tmp_path / "t.bin"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        stats = dgen_py.write_file(
            str(path), 4 * MiB, use_direct_io=False, seed=3, stream_id=0, profile="text"
        )
        assert stats.bytes_written == 4 * MiB
        assert path.read_bytes() == text[: 4 * MiB]
        ok = dgen_py.read_and_validate(str(path), seed=3, stream_id=0, profile="text", use_direct_io=False)
        assert ok.first_mismatch_offset is None
        bad = dgen_py.read_and_validate(str(path), seed=3, stream_id=0, profile="database", use_direct_io=False)
        assert bad.first_mismatch_offset is not None


def test_the_dgen_py_0_3_0_entry_points_take_a_profile_too():
    """generate_data, fill_buffer, generate_into_buffer and BufferPool give the same bytes as
    generate_buffer with the same profile; a pool made with a profile refuses reconfigure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = bytes(dgen_py.generate_buffer(2 * MiB, profile="database", seed=5))
        assert want != bytes(dgen_py.generate_buffer(2 * MiB, seed=5))
        assert bytes(dgen_py.generate_data(2 * MiB, profile="database", seed=5)) == want
        buf = bytearray(2 * MiB)
        assert dgen_py.fill_buffer(buf, profile="database", seed=5) == 2 * MiB
        assert bytes(buf) == want
        buf = bytearray(2 * MiB)
        dgen_py.generate_into_buffer(buf, profile="database", seed=5)
        assert bytes(buf) == want
        pool = dgen_py.BufferPool(profile="database", seed=5)
        got = b"".join(bytes(pool.next_slice(256 * 1024)) for _ in range(8))
        assert got == want
        with pytest.raises(ValueError, match="made with profile"):
            pool.reconfigure(2.0, 2.0)


def test_bad_profiles_raise_naming_the_file(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(OSError) as e:
        dgen_py.generate_buffer(MiB, profile=str(missing))
    assert e.value.filename == str(missing)
    junk = tmp_path / "junk.json"
    junk.write_text("{ not json")
    with pytest.raises(ValueError, match="invalid profile: .*junk.json.*not a valid dgen profile"):
        dgen_py.generate_buffer(MiB, profile=str(junk))
    v9 = tmp_path / "v9.json"
    v9.write_text(json.dumps({"format": "dgen-profile", "version": 9}))
    with pytest.raises(ValueError, match="version 9, this dgen reads version 2"):
        dgen_py.write_file(str(tmp_path / "out.bin"), MiB, profile=str(v9))
    assert not (tmp_path / "out.bin").exists()
    with pytest.raises(ValueError, match="cannot be combined with compress_ratio=3"):
        dgen_py.generate_buffer(MiB, 1.0, 3.0, profile="text")
