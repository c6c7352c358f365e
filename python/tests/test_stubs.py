"""The type stubs match the compiled module (mypy's stubtest), and typed code using them checks."""

import subprocess
import sys

import pytest

pytest.importorskip("mypy", reason="mypy not installed (scripts/setup installs it)")


def test_stubs_match_runtime(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "dgen_py"], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_typed_usage_checks(tmp_path):
    src = tmp_path / "use.py"
    src.write_text(
        "import dgen_py\n"
        "s = dgen_py.write_file('f', 4096, progress=lambda d, t: None, seed=3)\n"
        "n: int = s.bytes_written\n"
        "g = dgen_py.Generator(10, 2.0, seed=1)\n"
        "k: int = g.fill_chunk(bytearray(10)) + g.position()\n"
        "v = dgen_py.read_and_validate('f', seed=s.seed)\n"
        "o: int | None = v.first_mismatch_offset\n"
        "b: dgen_py.BytesView = dgen_py.generate_buffer('1M', 2.0)\n"
        "c: bytes = bytes(b) + b[1:3]\n"
        "p = dgen_py.BufferPool(2.0, compress_ratio=1.5, seed=1)\n"
        "r: float = p.compress_ratio + len(p.next_slice(4096))\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text("import dgen_py\nx: str = dgen_py.write_file('f', 1).bytes_written\n")
    ok = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(src)], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    ko = subprocess.run([sys.executable, "-m", "mypy", str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert ko.returncode != 0 and "incompatible types" in ko.stdout.lower()
