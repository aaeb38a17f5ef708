"""The Hogwild! driver: one worker is the serial driver, two converge as well, bad options fail."""
import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd.drivers.team import default_merge_every
from parallel_sgd.model.optimizers import sgd

BACKENDS = ["threads", "processes"]


def synthetic(n=6000, d=1500, seed=0, alpha=1e-3, **kwargs):
    data = psgd.make_sparse_classification(n_samples=n, n_features=d, nnz_per_row=20,
                                           random_state=seed)
    return psgd.Problem(data, "log_loss", alpha=alpha, **kwargs)


def geometric_mean(values):
    return float(np.exp(np.mean(np.log(values))))


@pytest.mark.parametrize("options", [dict(), dict(optimizer="adam", learning_rate="constant",
                                                  eta0=0.01), dict(l1_ratio=0.5)])
def test_one_worker_is_the_sync_driver_bit_for_bit(options):
    l1_ratio = options.pop("l1_ratio", 0.0)
    problem = synthetic(l1_ratio=l1_ratio)
    hog = psgd.fit(problem, driver="hogwild", n_workers=1, n_epochs=3, random_state=4, **options)
    ref = psgd.fit(problem, driver="sync", batch_size=1, n_epochs=3, random_state=4, **options)
    np.testing.assert_array_equal(hog.coef, ref.coef)
    assert hog.intercept == ref.intercept
    assert [r["objective"] for r in hog.trace] == [r["objective"] for r in ref.trace]
    assert hog.trace[-1]["driver"] == "hogwild"


def _final_suboptimality(problem, optimum, driver, seed, n_epochs, **options):
    result = psgd.fit(problem, driver=driver, n_workers=2, n_epochs=n_epochs, random_state=seed,
                      optimum=optimum, **options)
    return result.trace[-1]["relative_suboptimality"]


def _assert_two_workers_converge_like_serial(problem, n_epochs, hogwild_options=None,
                                            **options):
    """Over 5 seeds, 2 workers' suboptimality after ``n_epochs`` is at most 1.5 times the
    serial driver's (geometric means). The 1/sqrt(t) schedule keeps the final iterates
    within 2x of each other across seeds; with Bottou's schedule they spread 30-100x
    on these problems, too wide for a factor-1.5 test on 5 seeds."""
    optimum = psgd.reference_optimum(problem)
    serial = [_final_suboptimality(problem, optimum, "sync", s, n_epochs, **options)
              for s in range(5)]
    hogwild = [_final_suboptimality(problem, optimum, "hogwild", s, n_epochs, **options,
                                    **(hogwild_options or {})) for s in range(5)]
    assert geometric_mean(hogwild) <= 1.5 * geometric_mean(serial), (serial, hogwild)


def test_two_workers_converge_like_serial_on_a9a(shared_data):
    data = psgd.load_svmlight(shared_data / "a9a.gz", n_features=123)
    problem = psgd.Problem(data, "log_loss", alpha=1e-4)
    _assert_two_workers_converge_like_serial(problem, 5, learning_rate="inverse_sqrt")


def test_two_workers_converge_like_serial_on_synthetic_sparse_data():
    _assert_two_workers_converge_like_serial(synthetic(n=20_000, d=5_000, alpha=1e-3), 8,
                                             learning_rate="inverse_sqrt")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer,options", [
    ("sgd", dict(l1_ratio=0.0)), ("sgd", dict(l1_ratio=0.5)), ("sgd", dict(l1_ratio=1.0)),
    ("adagrad", dict(l1_ratio=0.5)), ("momentum", dict(l1_ratio=0.0)),
    ("rmsprop", dict(l1_ratio=0.0)), ("adam", dict(l1_ratio=0.0)),
])
def test_every_rule_and_penalty_trains_on_two_workers(backend, optimizer, options):
    """Two workers end within 3x (plus 1e-3) of the serial driver's suboptimality after
    6 epochs (medians of 5 seeds; the statistical comparison is the test above).

    One run is not enough: how the two workers' steps interleave changes a run's end
    point, most for the moving-average rules, whose state merges average the workers'
    changes -- a worker that ran alone for a while had its state change halved. Adam
    on threads, 10 seeds: serial 0.9-14e-3 (median 1.7e-3), two workers 1.7-7.8e-3
    (median 3.5e-3), so a median of 3 seeds crossed the bound now and then; of 5, the
    spread of the median is half as wide.
    """
    problem = synthetic(**options)
    optimum = psgd.reference_optimum(problem)
    # Bottou's "optimal" schedule is not used here: its final iterates spread 30-100x
    # across seeds (see above), too wide for this comparison. Nor is RMSProp at
    # eta0=0.03: there even the serial driver's checkpoints jump between 2.6e-3 and
    # 2.5e-2 from one half epoch to the next.
    schedule, eta0 = {"sgd": ("inverse_sqrt", None), "momentum": ("inverse_sqrt", 0.1),
                      "adagrad": ("constant", 0.1), "rmsprop": ("inverse", 0.003),
                      "adam": ("inverse", 0.01)}[optimizer]
    runs = {driver: np.median([
        psgd.fit(problem, driver=driver, n_workers=2, n_epochs=6, optimizer=optimizer,
                 learning_rate=schedule, eta0=eta0, optimum=optimum, random_state=seed,
                 **driver_options).trace[-1]["relative_suboptimality"] for seed in range(5)])
        for driver, driver_options in (("sync", {}), ("hogwild", {"backend": backend}))}
    assert runs["sync"] < 5e-2
    assert runs["hogwild"] < 3 * runs["sync"] + 1e-3, runs


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("locking", ["none", "global"])
def test_checkpoints_are_evaluated_by_the_team(backend, locking, monkeypatch):
    """The checkpoints' margins come from the workers (no other thread pool competes
    with them for the cores) and give the objective the problem's own pass gives."""
    problem = synthetic(l1_ratio=0.5)
    own_pass = psgd.Problem.decision_function
    calls = []

    def counted(self, *args, **kwargs):
        calls.append(1)
        return own_pass(self, *args, **kwargs)

    monkeypatch.setattr(psgd.Problem, "decision_function", counted)
    result = psgd.fit(problem, driver="hogwild", n_workers=2, backend=backend, n_epochs=2,
                      locking=locking, eval_every=0.5)
    assert len(result.trace) == 5 and calls == []
    assert result.objective == pytest.approx(problem.objective(result.coef, result.intercept),
                                             rel=1e-12)
    assert len(calls) == 1


@pytest.mark.kernel
def test_merged_averages_of_squares_stay_nonnegative():
    """Another worker merged twice since this replica's reload, each time with a
    smaller average of squares: adding this replica's (negative) change must not take
    the shared average below zero -- that made RMSProp's steps NaN."""
    from parallel_sgd.kernels.args import LinearModel, Merge
    from parallel_sgd.kernels.hogwild import merge_replica, new_replica
    d = 3
    shared = LinearModel(np.zeros(d), np.zeros(1), np.array([1.0, 0.0]), np.zeros(d),
                         np.full((1, d + 1), 10.0))
    merge = Merge(every=1, shares=np.ones(d), intercept_share=0.5, state_share=0.5, l1=0.0,
                  lock=None)
    replica = new_replica(shared)
    replica.base.rule_state[:] = 10.0  # this replica loaded the shared average at 10 ...
    replica.model.rule_state[:] = 0.5  # ... and its own steps decayed it to 0.5
    shared.rule_state[:] = 0.25 * 10.0 + 0.25 * 0.0 + 0.5 * 0.0  # two merges of decayed values
    merge_replica(shared, replica, merge, 0.0)
    assert (shared.rule_state >= 0).all()
    assert (replica.model.rule_state == shared.rule_state).all()
    # a signed average (momentum) is merged as before, whatever its sign
    shared.rule_state[:], replica.base.rule_state[:], replica.model.rule_state[:] = -1.0, 2.0, 1.0
    merge_replica(shared, replica, merge, 0.0)
    np.testing.assert_allclose(shared.rule_state, -1.5)


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_and_dense_data(sparse):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 20)).astype(np.float32)
    y = np.where(X @ rng.standard_normal(20) > 0, 1, -1)
    data = psgd.Dataset(__import__("scipy.sparse").sparse.csr_matrix(X) if sparse else X, y)
    problem = psgd.Problem(data, "hinge", alpha=1e-3)
    result = psgd.fit(problem, driver="hogwild", n_workers=2, n_epochs=5)
    assert result.coef.dtype == np.float64
    assert problem.metric(result.coef, result.intercept, data) > 0.9


def test_global_lock_baseline_matches_serial_quality():
    problem = synthetic()
    optimum = psgd.reference_optimum(problem)
    locked = psgd.fit(problem, driver="hogwild", n_workers=2, locking="global", n_epochs=5,
                      optimum=optimum)
    serial = psgd.fit(problem, n_epochs=5, optimum=optimum)
    assert locked.trace[-1]["relative_suboptimality"] < 3 * max(
        serial.trace[-1]["relative_suboptimality"], 1e-4)


def _record_team_calls(n_workers, random_state):
    """Two epochs of calls, with a checkpoint at step 400, through a thread team whose
    kernel is a stand-in that records, per call, the rows and step sizes each worker
    was dealt (through the real hand-off, which also reshuffles); returns the
    Workers and each epoch's final ``orders``."""
    from parallel_sgd.drivers.state import ModelState
    from parallel_sgd.drivers.team import ThreadTeam, Workers
    from parallel_sgd.kernels.args import Channel
    from parallel_sgd.kernels.handoff import finish, next_job
    problem = synthetic(n=1001, d=50)
    state = ModelState(problem.n_features, np.float64, sgd(), None, 0.0)
    workers = Workers(problem, sgd(), state, n_workers, None, "none", 1.0,
                      random_state=random_state)
    n = problem.n_samples
    np.testing.assert_array_equal(np.sort(workers.orders), np.arange(n))
    shards = [set(workers.own_rows(w)) for w in range(n_workers)]
    seen, dealt = [], []

    def record(w, sync, spins):  # stands in for the serve kernel
        while True:
            generation, _, a, b, _ = next_job(Channel(sync, w, spins), workers.shard(w))
            if generation == 0:
                return
            seen.extend(workers.own_rows(w)[a:b])
            positions = workers.own_etas(w)[a:b] % n  # the step sizes below are positions
            assert (positions % n_workers == w).all()
            dealt.extend(positions)
            finish(sync, w, generation, b - a)

    workers.serve = record
    team = ThreadTeam(workers)
    epoch_orders = []
    try:
        for epoch in range(2):
            etas = np.arange(n, dtype=float) + epoch * n
            for lo, hi in ((0, 400), (400, n)):  # a checkpoint at step 400
                assert team.run_steps(None, etas[lo:hi], epoch * n + lo) == hi - lo
            assert sorted(seen) == list(range(n)) and sorted(dealt) == list(range(n))
            seen.clear(), dealt.clear()
            epoch_orders.append(workers.orders.copy())
    finally:
        team.close()
    assert [set(workers.own_rows(w)) for w in range(n_workers)] == shards
    return workers, epoch_orders


@pytest.mark.parametrize("n_workers", [2, 3])
def test_workers_own_a_shard_and_a_stream_and_share_every_epoch_exactly(n_workers):
    """Every row is visited once per epoch, even across a mid-epoch checkpoint; each
    worker gets the step sizes of the epoch positions it owns; each reshuffles only
    its own rows, with its own stream, the same way in every run."""
    workers, epoch_orders = _record_team_calls(n_workers, random_state=3)
    assert (epoch_orders[0] != epoch_orders[1]).mean() > 0.9  # reshuffled every epoch
    assert len({stream.spawn_key for stream in workers.streams}) == n_workers
    _, again = _record_team_calls(n_workers, random_state=3)
    np.testing.assert_array_equal(np.array(again), np.array(epoch_orders))
    _, other = _record_team_calls(n_workers, random_state=4)
    assert (other[1] != epoch_orders[1]).mean() > 0.9


def _shape(n, d, nnz):
    from types import SimpleNamespace
    return SimpleNamespace(n_samples=n, n_features=d, data=SimpleNamespace(nnz=nnz))


def test_default_merge_interval():
    big = _shape(200_000, 47_236, 15_000_000)  # the 200k x 47k problem
    assert default_merge_every(big, 2) == 4096  # bounded by the others' unmerged steps
    assert default_merge_every(big, 16) == 512
    assert default_merge_every(_shape(200_000, 100, 20_000_000), 2) == 256  # never below
    assert default_merge_every(_shape(2_000, 5_000, 20_000), 2) == 500  # half a share
    assert default_merge_every(_shape(800, 5_000, 8_000), 2) == 256


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_workers=0), "n_workers must be an integer >= 1"),
    (dict(n_workers=7000), "n_workers=7000 exceeds the number of rows"),
    (dict(n_workers=2, batch_size=8), "batch_size must be 1"),
    (dict(n_workers=2, backend="mpi"), "unknown backend 'mpi'; known backends: processes, threads"),
    (dict(n_workers=2, locking="row"), "unknown locking 'row'"),
    (dict(n_workers=2, merge_every=0), "merge_every must be an integer >= 1"),
    (dict(n_workers=2, merge_weights="max"), "unknown merge_weights 'max'; known merge_weights: frequency, sum"),
    (dict(n_workers=2, staleness=3), "driver 'hogwild' takes no option 'staleness'; its "
                                     "options: backend, intercept_rate, locking"),
    (dict(n_workers=2, optimizer=sgd().__class__("lars", 0, 0, lock_free_safe=False)),
     "update rule 'lars' is not safe without locks"),
])
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        psgd.fit(synthetic(), driver="hogwild", **kwargs)


# -- the processes backend: shared memory is always released --------------------------------

def _no_segments_left():
    from parallel_sgd.drivers.shared_arrays import leftover_segments
    return leftover_segments() == []


def test_spawned_workers_attach_to_the_data_in_shared_memory(monkeypatch):
    """Where there is no fork, workers are spawned and the data is copied into shared
    memory instead of inherited; they train as well and nothing is left behind."""
    from parallel_sgd.drivers import processes
    monkeypatch.setattr(processes, "start_method", lambda: "spawn")
    problem = synthetic()
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="hogwild", n_workers=2, backend="processes",
                      n_epochs=4, optimum=optimum, learning_rate="inverse_sqrt")
    serial = psgd.fit(problem, n_epochs=4, optimum=optimum, learning_rate="inverse_sqrt")
    assert result.trace[-1]["relative_suboptimality"] < 3 * serial.trace[-1][
        "relative_suboptimality"] + 1e-3
    assert _no_segments_left()


def test_processes_backend_leaves_no_segment_after_success():
    result = psgd.fit(synthetic(), driver="hogwild", n_workers=2, backend="processes",
                      n_epochs=2)
    assert np.isfinite(result.objective)
    assert _no_segments_left()


@pytest.mark.parametrize("fault,n_workers,match", [
    ("1:raise", 2, "hogwild worker 1 failed"),
    ("2:exit", 3, r"hogwild worker 2 \(pid \d+\) died with exit code 3")])
def test_a_failing_worker_fails_the_run_and_frees_memory(fault, n_workers, match, monkeypatch):
    """(Worker 0 is the calling process itself; the others are processes.)"""
    from parallel_sgd.drivers.processes import FAULT_HOOK, WorkerError
    monkeypatch.setenv(FAULT_HOOK, fault)
    with pytest.raises(WorkerError, match=match):
        psgd.fit(synthetic(), driver="hogwild", n_workers=n_workers, backend="processes",
                 n_epochs=2)
    assert _no_segments_left()


@pytest.mark.parametrize("failing", [{1}, {0, 1}])
def test_a_failing_thread_worker_fails_the_run_with_its_error(failing, monkeypatch):
    """Whether a worker raises in a call or before it saw one (its error then answers
    no call: the leader must notice it anyway), the run fails with that error and
    every worker thread is gone."""
    import threading

    from parallel_sgd.drivers.team import Workers
    serve = Workers.serve

    def failing_serve(self, worker, sync, spins):
        if worker in failing:
            raise RuntimeError(f"worker {worker} broke")
        return serve(self, worker, sync, spins)

    monkeypatch.setattr(Workers, "serve", failing_serve)
    with pytest.raises(RuntimeError, match=r"worker [01] broke"):
        psgd.fit(synthetic(), driver="hogwild", n_workers=2, n_epochs=2)
    assert not [t for t in threading.enumerate() if t.name.startswith("psgd-hogwild")]


def test_an_interrupted_parent_frees_memory(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "train.py"
    script.write_text(
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it\n"
        "import parallel_sgd as psgd\n"
        "data = psgd.make_sparse_classification(n_samples=20000, n_features=2000,\n"
        "                                       nnz_per_row=20, random_state=0)\n"
        "problem = psgd.Problem(data, 'log_loss', alpha=1e-4)\n"
        "print('started', flush=True)\n"
        "psgd.fit(problem, driver='hogwild', n_workers=2, backend='processes', n_epochs=10000)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(3.0)  # workers running
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert _no_segments_left()


@pytest.mark.parametrize("m,merge_every", [(7968, 3983), (3984, 3984), (50_000, 4096),
                                           (5, 100), (101, 100), (1, 1), (0, 256)])
def test_merges_split_a_call_into_equal_stretches(m, merge_every):
    """As few merges as ``merge_every`` allows, over stretches that differ by fewer steps
    than there are stretches: no last stretch of a few steps paying for a whole O(d)
    merge."""
    from parallel_sgd.kernels.handoff import stretch
    size = stretch(m, merge_every)
    assert 1 <= size <= merge_every
    stretches = [min(size, m - start) for start in range(0, m, size)]
    assert len(stretches) == -(-m // merge_every)
    assert not stretches or max(stretches) - min(stretches) < len(stretches)
