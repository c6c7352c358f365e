"""Progress callbacks and cancellation: Ctrl-C (KeyboardInterrupt) and exceptions raised by the
callback stop a run quickly and cleanly, with nothing left running."""

import _thread
import signal
import threading
import time

import pytest

import dgen_py

from conftest import MiB, open_fds, os_threads


def test_progress_called_monotonic_and_final(direct_dir):
    calls = []
    size = 256 * MiB
    stats = dgen_py.write_file(
        direct_dir / "p.bin", size, progress=lambda done, total: calls.append((time.monotonic(), done, total))
    )
    assert calls, "progress never called"
    dones = [d for _, d, _ in calls]
    assert all(t == size for _, _, t in calls)
    assert dones == sorted(dones)
    assert dones[-1] == size
    # At most ~10 calls a second (plus the first and the final one).
    assert len(calls) <= stats.duration_secs * 12 + 3
    gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:-1])]
    assert all(g >= 0.07 for g in gaps), gaps


def test_progress_for_validation_and_write_files(direct_dir):
    paths = [direct_dir / "m1.bin", direct_dir / "m2.bin"]
    seen = []
    dgen_py.write_files(paths, 64 * MiB, seed=1, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (128 * MiB, 128 * MiB)
    checked = []
    dgen_py.read_and_validate(paths[0], seed=1, progress=lambda d, t: checked.append((d, t)))
    assert checked[-1] == (64 * MiB, 64 * MiB)
    assert [d for d, _ in checked] == sorted(d for d, _ in checked)


def test_tqdm_style_callback(direct_dir):
    class Bar:  # what tqdm's update() needs: the increment since the last call
        n = 0

        def update(self, k):
            assert k >= 0
            self.n += k

    bar = Bar()
    dgen_py.write_file(direct_dir / "tq.bin", 64 * MiB, progress=lambda d, t: bar.update(d - bar.n))
    assert bar.n == 64 * MiB


def test_exception_in_callback_stops_the_run(direct_dir):
    path = direct_dir / "boom.bin"
    before = os_threads(), open_fds()

    def boom(done, total):
        if done > 0:
            raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback") as info:
        dgen_py.write_file(path, 8 * 1024 * MiB, progress=boom)
    assert 0 < info.value.bytes_written < 8 * 1024 * MiB
    assert (_leftover_threads_settle(before[0]), open_fds()) == before


def _leftover_threads_settle(expected, timeout=1.0):
    deadline = time.monotonic() + timeout
    while os_threads() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return os_threads()


def _require_python_sigint():
    """`_thread.interrupt_main()` raises KeyboardInterrupt only where Python handles SIGINT. A
    process started with SIGINT ignored (a background job of a non-interactive shell, some CI
    runners) gets nothing, and the tests below would write their whole 64 GiB target, or fill
    the disk: they fail at once instead, since they cannot check."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.fail(
            "SIGINT is not handled by Python in this process (it was started with SIGINT "
            f"ignored or handled elsewhere: {signal.getsignal(signal.SIGINT)!r}), so no "
            "KeyboardInterrupt can be delivered; run the tests from a shell that handles it"
        )


@pytest.mark.parametrize("use_io_uring", [True, False], ids=["io_uring", "pwrite"])
def test_keyboard_interrupt_stops_within_a_second(direct_dir, use_io_uring):
    _require_python_sigint()
    path = direct_dir / "ctrlc.bin"
    size = 64 * 1024 * MiB  # far more than can be written before the interrupt
    dgen_py.write_file(direct_dir / "warm.bin", 8 * MiB, use_io_uring=use_io_uring)  # warm pools
    threads, fds = os_threads(), open_fds()
    fired = []

    def interrupt():
        fired.append(time.monotonic())
        _thread.interrupt_main()

    timer = threading.Timer(0.5, interrupt)
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as info:
        dgen_py.write_file(path, size, use_io_uring=use_io_uring, fsync=False)
    stopped = time.monotonic()
    timer.join()
    assert fired, "the run ended before the interrupt"
    assert stopped - fired[0] < 1.0, f"took {stopped - fired[0]:.2f} s to stop"
    done = info.value.bytes_written
    assert 0 < done < size
    # Nothing left running, no descriptor leaked.
    assert _leftover_threads_settle(threads) == threads
    assert open_fds() == fds
    assert stopped - start < 5


def test_keyboard_interrupt_during_validation(direct_dir):
    _require_python_sigint()
    path = direct_dir / "v.bin"
    w = dgen_py.write_file(path, 256 * MiB, seed=3, fsync=False)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as info:
        # Slow on purpose (4 KiB O_DIRECT reads one at a time) so it is still running at 0.2 s.
        dgen_py.read_and_validate(path, seed=w.seed, buffer_size=4096, threads=1, queue_depth=1)
    timer.join()
    assert time.monotonic() - t0 < 1.5
    assert 0 < info.value.bytes_checked < 256 * MiB



def test_a_slow_progress_callback_does_not_hold_up_the_io(direct_dir):
    """The callback runs on the calling thread while the I/O goes on in its own: a callback that
    takes 2 s per call is called less often, and the write's own duration barely moves."""
    path = direct_dir / "slow.bin"
    quick = dgen_py.write_file(path, 256 * MiB, seed=5, fsync=False)
    calls = []

    def slow(done, total):
        calls.append(done)
        time.sleep(2.0)

    slowed = dgen_py.write_file(path, 256 * MiB, seed=5, fsync=False, progress=slow)
    assert calls and calls[-1] == 256 * MiB
    # Before, the hook ran inside the I/O loop: each call stalled the writes for 2 s.
    assert slowed.duration_secs < quick.duration_secs * 2 + 0.3, (quick, slowed, calls)
