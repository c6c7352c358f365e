"""The cache of freed buffers: a second generate_buffer of the same length reuses the first's
memory (no page faults) and still returns exactly the stream's bytes; DGEN_BUFFER_CACHE bounds
it (0 turns it off; a malformed value is a ValueError)."""

import os
import subprocess
import sys

import dgen_py

from conftest import MiB

SIZE = 64 * MiB

PROBE = f"""
import resource, dgen_py
def faults(call):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    out = call()
    return out, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
v, first = faults(lambda: dgen_py.generate_buffer({SIZE}, 2.0, 3.0, seed=1))
del v
v, second = faults(lambda: dgen_py.generate_buffer({SIZE}, 1.0, 1.5, seed=2, max_threads=1))
ok = v == dgen_py.generate_buffer({SIZE}, 1.0, 1.5, seed=2, max_threads=2)
print(first, second, ok)
"""


def _probe(**env):
    out = subprocess.run([sys.executable, "-c", PROBE], env=dict(os.environ, **env),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    first, second, ok = out.stdout.split()
    return int(first), int(second), ok == "True"


def test_a_freed_buffer_is_reused_without_page_faults_and_right_bytes():
    pages = SIZE // 4096
    first, second, ok = _probe()
    assert ok
    assert first >= pages // 2  # fresh memory: a fault per page (or per pair with fault-around)
    assert second < pages // 20, (first, second)


def test_the_cache_can_be_turned_off_or_bounded():
    pages = SIZE // 4096
    for limit in ("0", "32MiB"):  # off, or too small for a 64 MiB buffer
        first, second, ok = _probe(DGEN_BUFFER_CACHE=limit)
        assert ok and second >= pages // 2, (limit, first, second)


def test_a_malformed_limit_is_a_value_error():
    code = f"import dgen_py\ntry:\n    dgen_py.generate_buffer({SIZE})\nexcept ValueError as e:\n    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, DGEN_BUFFER_CACHE="lots"),
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("invalid DGEN_BUFFER_CACHE")


def test_views_alive_keep_their_memory():
    """A block is only reused once every view of it is gone."""
    a = dgen_py.generate_buffer(16 * MiB, seed=3)
    keep = memoryview(a)[5:10]
    ref = bytes(a)
    del a
    b = dgen_py.generate_buffer(16 * MiB, seed=4)
    assert bytes(keep) == ref[5:10] and bytes(b) != ref
