"""Ctrl-C during a fit: deferred to a safe point, then handed to the handler it would
have reached; a Hogwild! team stops cleanly wherever the signal lands."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd._interrupts import deferred_interrupts, raise_if_interrupted


@pytest.fixture(autouse=True)
def python_handles_sigint():
    """Python's own SIGINT handler, as in a terminal: a shell that starts a job in the
    background (``cmd &``) hands it SIGINT ignored, and Python then keeps it so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_me():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.01)  # let Python run the handler


def test_a_deferred_interrupt_waits_for_the_safe_point():
    reached = []
    with pytest.raises(KeyboardInterrupt), deferred_interrupts():
        interrupt_me()
        reached.append("after the signal")  # the signal did not raise here
        raise_if_interrupted()
        reached.append("after the safe point")
    assert reached == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_leaving_the_block_delivers_a_pending_interrupt_and_a_second_one_acts_at_once():
    with pytest.raises(KeyboardInterrupt), deferred_interrupts():
        interrupt_me()
    with pytest.raises(KeyboardInterrupt), deferred_interrupts():
        interrupt_me()
        interrupt_me()  # raises here: the first put Python's handler back
        pytest.fail("the second Ctrl-C did not interrupt")
    with deferred_interrupts():  # nothing pending: nothing raised, and nothing left over
        raise_if_interrupted()
    raise_if_interrupted()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_user_handler_runs_at_the_safe_point_and_stays_installed():
    calls = []

    def handler(signum, frame):
        calls.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        with deferred_interrupts():
            interrupt_me()
            assert calls == []
            raise_if_interrupted()
            assert calls == [signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_nothing_is_deferred():
    seen = []

    def body():
        with deferred_interrupts():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def test_a_handled_sigterm_is_deferred_and_raises_terminated_at_the_safe_point():
    from parallel_sgd._interrupts import Terminated, raise_terminated, was_terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        with pytest.raises(Terminated), deferred_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            assert signal.getsignal(signal.SIGTERM) is raise_terminated  # a second acts
            raise_if_interrupted()
        assert was_terminated()
        assert signal.getsignal(signal.SIGTERM) is raise_terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_left_at_its_default_is_not_deferred():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with deferred_interrupts():
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # a library user's process
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler


def synthetic():
    data = psgd.make_sparse_classification(n_samples=2000, n_features=300, nnz_per_row=10,
                                           random_state=0)
    return psgd.Problem(data, "log_loss", alpha=1e-3)


@pytest.mark.parametrize("driver,options", [
    ("sync", {}), ("sync", {"batch_size": 16, "n_workers": 2}),
    ("hogwild", {"n_workers": 2}), ("svrg", {}), ("svrg", {"n_workers": 2})])
def test_ctrl_c_in_a_fit_raises_keyboard_interrupt_at_the_next_checkpoint(driver, options):
    rows = []

    def callback(row):
        rows.append(row["epoch"])
        if len(rows) == 2:
            interrupt_me()  # inside the fit, between two checkpoints' work

    with pytest.raises(KeyboardInterrupt):
        psgd.fit(synthetic(), driver=driver, n_epochs=50, eval_every=1, callback=callback,
                 **options)
    assert len(rows) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not [t for t in threading.enumerate() if t.name.startswith("psgd-hogwild")]
    assert np.isfinite(psgd.fit(synthetic(), driver=driver, n_epochs=1, **options).objective)


TRAIN = textwrap.dedent("""
    import multiprocessing as mp, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    import parallel_sgd as psgd
    data = psgd.make_sparse_classification(n_samples=20000, n_features=2000,
                                           nnz_per_row=20, random_state=0)
    problem = psgd.Problem(data, 'log_loss', alpha=1e-4)
    def callback(row):
        if row['epoch'] == 0:
            print(' '.join(str(p.pid) for p in mp.active_children()), flush=True)
    print('started', flush=True)
    psgd.fit(problem, driver='hogwild', n_workers=3, backend='processes', n_epochs=100000,
             callback=callback)
""")


def _start_training(tmp_path, stderr):
    """A process training a 3-worker process team, once it has printed 'started'."""
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=stderr, text=True)
    assert proc.stdout.readline().strip() == "started"
    return proc


def _workers_of(parent):
    """The pids of ``parent``'s children that run the training script."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if ppid == parent and b"train.py" in cmdline.read():
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_leave_when_their_leader_is_killed(tmp_path):
    """A leader killed outright (no Ctrl-C, no clean-up) leaves no worker and no shared
    segment behind: the workers' pipes reach end-of-file."""
    from parallel_sgd.drivers.shared_arrays import leftover_segments
    proc = _start_training(tmp_path, stderr=subprocess.DEVNULL)
    try:
        workers = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(pid) for pid in workers)
        time.sleep(0.5)
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _running(pid)]
        # the last holder gone, multiprocessing's resource tracker unlinks the segments
        while leftover_segments() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert leftover_segments() == []
    finally:
        proc.kill()
        proc.stdout.close()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.7, 1.1, 1.6, 2.2, 2.9, 3.7])
def test_ctrl_c_anywhere_in_a_process_team_fit_stops_it(tmp_path, delay):
    """Wherever the signal lands (set-up, forking, a call, a checkpoint), the run ends
    with KeyboardInterrupt, promptly, leaving no worker and no shared segment."""
    from parallel_sgd.drivers.shared_arrays import leftover_segments
    proc = _start_training(tmp_path, stderr=subprocess.PIPE)
    try:
        time.sleep(delay)
        workers = _workers_of(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0 and err.rstrip().endswith("KeyboardInterrupt"), err[-2000:]
    assert not [pid for pid in workers if _running(pid)]
    assert leftover_segments() == []
