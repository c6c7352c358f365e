"""Thread counts (max_threads / threads, DGEN_THREADS, RAYON_NUM_THREADS) and NUMA placement
(numa_mode / numa_node) at every entry point, observed from inside the module: the threads that
ran the work, the CPUs they may run on, the node, and the memory policy of returned buffers."""

import os
import warnings

import pytest

import dgen_py
from dgen_py import _dgen

from conftest import MiB

CPUS = sorted(os.sched_getaffinity(0))
INFO = dgen_py.get_numa_info()
NODE0 = sorted(set(INFO["nodes"][0]["cpus"]) & set(CPUS))
MPOL_DEFAULT, MPOL_BIND = 0, 2


def _record(call):
    """Runs `call` with recording on; returns (threads, cpus, node) of the last run."""
    _dgen._record_runs(True)
    try:
        out = call()
    finally:
        last = _dgen._record_runs(False)
    assert last is not None, "the call ran no recorded work"
    return last, out


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("DGEN_THREADS", raising=False)
    monkeypatch.delenv("RAYON_NUM_THREADS", raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    path = tmp_path_factory.mktemp("threads") / "f.bin"
    dgen_py.write_file(path, 4 * MiB, use_direct_io=False, seed=1, stream_id=1, fsync=False)
    return path


def _in_memory(name, kw):
    """One call of the in-memory entry point `name`, with `kw` (max_threads, numa args)."""
    big = 3 * MiB
    threads = {k: v for k, v in kw.items() if k == "max_threads"}
    no_node = {k: v for k, v in kw.items() if k != "numa_node"}
    calls = {
        "generate_buffer": lambda: dgen_py.generate_buffer(big, 2.0, **kw),
        "generate_data": lambda: dgen_py.generate_data(big, 2.0, **no_node),
        "fill_buffer": lambda: dgen_py.fill_buffer(bytearray(big), **no_node),
        "generate_into_buffer": lambda: dgen_py.generate_into_buffer(bytearray(big), **kw),
        "Generator.fill_chunk": lambda: dgen_py.Generator(big, **kw).fill_chunk(bytearray(big)),
        "Generator.get_chunk": lambda: dgen_py.Generator(big, **kw).get_chunk(),
        "BufferPool.next_slice": lambda: dgen_py.BufferPool(2.0, **kw).next_slice(big),
        "generate_uniform": lambda: dgen_py.generate_uniform(big // 4, **no_node),
        "generate_uniform_vectors": lambda: dgen_py.generate_uniform_vectors(big // 4096, 1024, **no_node),
        "normalize_rows": lambda: dgen_py.normalize_rows(bytearray(big), 1024, **threads),
        "verify_buffer": lambda: dgen_py.verify_buffer(bytes(big), 0, seed=1, **threads),
    }
    return calls[name]


IN_MEMORY = ["generate_buffer", "generate_data", "fill_buffer", "generate_into_buffer",
             "Generator.fill_chunk", "Generator.get_chunk", "BufferPool.next_slice",
             "generate_uniform", "generate_uniform_vectors", "normalize_rows", "verify_buffer"]
FILES = ["write_file", "write_files", "read_and_validate"]
#: Entry points that take numa_node (the others take numa_mode only, or nothing).
WITH_NODE = {"generate_buffer", "generate_into_buffer", "Generator.fill_chunk", "Generator.get_chunk",
             "BufferPool.next_slice", "write_file", "write_files", "read_and_validate"}
WITH_MODE = WITH_NODE | {"generate_data", "fill_buffer", "generate_uniform", "generate_uniform_vectors"}


def _file_call(name, target, kw):
    common = dict(use_direct_io=False, seed=1, **kw)
    calls = {
        "write_file": lambda: dgen_py.write_file(target, 4 * MiB, fsync=False, stream_id=1, **common),
        "write_files": lambda: dgen_py.write_files([target], 4 * MiB, fsync=False, stream_ids=[1], **common),
        "read_and_validate": lambda: dgen_py.read_and_validate(target, 4 * MiB, stream_id=1, **common),
    }
    return calls[name]


def _call(name, target, threads=None, **numa):
    if name in FILES:
        kw = dict(numa, **({} if threads is None else {"threads": threads}))
        return _file_call(name, target, kw)
    kw = dict(numa, **({} if threads is None else {"max_threads": threads}))
    return _in_memory(name, kw)


ALL = IN_MEMORY + FILES


@pytest.mark.parametrize("name", ALL)
def test_thread_count_precedence(name, target, clean_env):
    n = len(CPUS)
    (threads, cpus, node), _ = _record(_call(name, target))
    assert (threads, node) == (n, None) and cpus == CPUS
    # The argument: 1 thread.
    assert _record(_call(name, target, threads=1))[0][0] == 1
    # DGEN_THREADS, then RAYON_NUM_THREADS, when no argument is given.
    clean_env.setenv("RAYON_NUM_THREADS", "1")
    assert _record(_call(name, target))[0][0] == 1
    clean_env.setenv("DGEN_THREADS", str(n))
    assert _record(_call(name, target))[0][0] == n  # DGEN_THREADS wins over RAYON_NUM_THREADS
    clean_env.setenv("RAYON_NUM_THREADS", "zero")  # ignored, as rayon does
    clean_env.setenv("DGEN_THREADS", "1")
    assert _record(_call(name, target))[0][0] == 1
    # DGEN_THREADS caps the argument, with a warning.
    if n > 1:
        with pytest.warns(RuntimeWarning, match=r"=2 is more than the 1 CPUs available \(DGEN_THREADS\)"):
            assert _record(_call(name, target, threads=2))[0][0] == 1


def test_bench_rolling_pool_follows_the_environment(clean_env):
    """bench_rolling_pool has no thread argument (as in dgen-py 0.3.0): the environment rules."""
    call = lambda: dgen_py.bench_rolling_pool(3 * MiB, 3 * MiB)  # noqa: E731 (slices over 1 MiB use the threads)
    assert _record(call)[0][0] == len(CPUS)
    clean_env.setenv("RAYON_NUM_THREADS", "1")
    assert _record(call)[0][0] == 1
    clean_env.setenv("DGEN_THREADS", str(len(CPUS)))
    assert _record(call)[0][0] == len(CPUS)


def test_rayon_num_threads_is_capped_at_the_cpus(clean_env):
    clean_env.setenv("RAYON_NUM_THREADS", str(len(CPUS) + 5))
    assert _record(lambda: dgen_py.generate_buffer(3 * MiB))[0][0] == len(CPUS)


needs_numa_calls = pytest.mark.skipif(not INFO["numa_placement"], reason="the kernel refuses NUMA calls here")


@needs_numa_calls
@pytest.mark.parametrize("name", sorted(WITH_MODE))
def test_force_places_threads_on_the_node(name, target, clean_env):
    numa = dict(numa_mode="force", numa_node=0) if name in WITH_NODE else dict(numa_mode="force")
    if name not in WITH_NODE and INFO["num_nodes"] > 1:
        pytest.skip("without numa_node, force uses the calling CPU's node")
    (threads, cpus, node), out = _record(_call(name, target, **numa))
    assert node == 0 and cpus == NODE0 and threads == min(len(NODE0), len(CPUS))
    if name in FILES:
        assert out is not None
    # Unplaced runs record no node.
    assert _record(_call(name, target, numa_mode="disabled"))[0][2] is None


@needs_numa_calls
@pytest.mark.parametrize("call", [
    lambda **k: dgen_py.generate_buffer(3 * MiB, **k),
    lambda **k: dgen_py.generate_data(3 * MiB, numa_mode=k["numa_mode"]),
    lambda **k: dgen_py.Generator(3 * MiB, **k).get_chunk(),
    lambda **k: dgen_py.BufferPool(**k).next_slice(4096),
    lambda **k: dgen_py.BufferPool(**k).next_slice(3 * MiB),
    lambda **k: dgen_py.generate_uniform(MiB, numa_mode=k["numa_mode"]),
], ids=["generate_buffer", "generate_data", "get_chunk", "pool_block", "pool_large", "uniform"])
def test_force_places_returned_memory_on_the_node(call):
    mode, nodes, at = _dgen._memory_policy(call(numa_mode="force", numa_node=0))
    assert (mode, nodes, at) == (MPOL_BIND, [0], 0)
    mode, _, _ = _dgen._memory_policy(call(numa_mode="disabled", numa_node=None))
    assert mode == MPOL_DEFAULT


@needs_numa_calls
def test_placement_keeps_to_the_process_cpu_set():
    """In a child restricted to one CPU of node 0, the placement's CPU set is the node's CPUs the
    process may use, and its (one, pinned) fill thread may run there only. (That pinning itself
    narrows a thread's CPUs is tested in the core, `numa::tests`, with a one-CPU placement.)"""
    import subprocess, sys
    code = (
        "import os, dgen_py\nfrom dgen_py import _dgen\n"
        f"os.sched_setaffinity(0, {{{NODE0[-1]}}})\n"
        "_dgen._record_runs(True)\n"
        "dgen_py.generate_buffer(3 << 20, numa_mode='force', numa_node=0, max_threads=1)\n"
        "print(_dgen._record_runs(False))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str((1, [NODE0[-1]], 0))


@pytest.mark.parametrize("name", sorted(WITH_NODE))
def test_force_on_a_missing_node_fails_naming_the_argument(name, target):
    missing = max(n["node"] for n in INFO["nodes"]) + 1
    with pytest.raises(ValueError) as e:
        _call(name, target, numa_mode="force", numa_node=missing)()
    msg = str(e.value)
    assert msg.startswith(f"invalid numa_node: {missing} (numa_mode='force'): this machine has no NUMA node {missing}")
    assert "\n" not in msg


@pytest.mark.parametrize("name", sorted(WITH_NODE))
def test_auto_on_a_missing_node_warns_and_runs_unplaced(name, target, clean_env):
    missing = max(n["node"] for n in INFO["nodes"]) + 1
    with pytest.warns(RuntimeWarning, match=f"numa_node={missing} ignored"):
        (_, _, node), _ = _record(_call(name, target, numa_mode="auto", numa_node=missing))
    assert node is None


def test_auto_on_one_node_is_a_silent_no_op(target):
    if INFO["num_nodes"] != 1:
        pytest.skip("a multi-node machine places on the node")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (_, _, node), view = _record(lambda: dgen_py.generate_buffer(3 * MiB, numa_node=0))
    assert node is None and _dgen._memory_policy(view)[0] == MPOL_DEFAULT


def test_bad_numa_arguments():
    with pytest.raises(ValueError, match=r'^invalid numa_mode: "sometimes" \(expected'):
        dgen_py.BufferPool(numa_mode="sometimes")
    with pytest.raises(ValueError, match="invalid numa_node: -1"):
        dgen_py.write_file("/dev/null", 10, numa_node=-1)
    with pytest.raises(ValueError, match="not a node number"):
        dgen_py.generate_buffer(10, numa_node=2**40)


def test_a_forked_child_starts_its_own_threads():
    """multiprocessing's fork: the parent's kept pools have no threads in the child."""
    import subprocess, sys
    code = (
        "import os, dgen_py\n"
        "ref = bytes(dgen_py.generate_buffer(3 << 20, seed=8, max_threads=2))\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = bytes(dgen_py.generate_buffer(3 << 20, seed=8, max_threads=2)) == ref\n"
        "    os._exit(0 if ok else 1)\n"
        "print(os.waitpid(pid, 0)[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "0", out.stderr
