"""The Ray driver's logic as plain classes, without Ray: servers, workers, rounds, settings."""
import socket
import sys
import time

import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd.drivers.ray_ps.driver import deal_rows, push_shares
from parallel_sgd.drivers.ray_ps.rounds import Clocks, RoundPlan
from parallel_sgd.drivers.ray_ps.server import CheckpointPolicy, ParameterServer, Push
from parallel_sgd.drivers.ray_ps.session import resolve_address, split_host_port
from parallel_sgd.drivers.ray_ps.settings import ClusterSettings, PSConfig, key_ranges
from parallel_sgd.drivers.ray_ps.worker import LocalServers, Worker, WorkerSpec
from parallel_sgd.drivers.state import sgd_config
from parallel_sgd.model.optimizers import get_optimizer
from parallel_sgd.model.schedules import make_schedule
from parallel_sgd.trace import checkpoint_epochs


def synthetic(n=3000, d=800, seed=0, alpha=1e-3, **kwargs):
    data = psgd.make_sparse_classification(n_samples=n, n_features=d, nnz_per_row=15,
                                           random_state=seed)
    return psgd.Problem(data, "log_loss", alpha=alpha, **kwargs)


def local_fit(problem, n_workers=1, n_servers=1, n_epochs=2, local_steps=500, optimizer="sgd",
              random_state=0, eval_every=1.0, sync=True, learning_rate="optimal", eta0=None):
    """The driver's round loop in one process: every worker's round r, worker by worker."""
    rule = get_optimizer(optimizer)
    schedule = make_schedule(learning_rate, eta0, problem.alpha, problem.loss,
                             problem.max_smoothness)
    d = problem.n_features
    ranges = key_ranges(d + 1, n_servers)
    servers = [ParameterServer(lo, hi, d, rule.n_slots, n_workers, sync=sync)
               for lo, hi in ranges]
    shards, seeds = deal_rows(problem.n_samples, n_workers, random_state)
    steps = [len(s) for s in shards]
    config = sgd_config(problem, rule)
    shares = push_shares(problem, rule, n_workers)
    args = (problem.loss, problem.alpha, problem.l1_ratio, problem.fit_intercept)
    workers = [Worker(WorkerSpec(w, n_workers, problem.n_samples, shards[w], seeds[w], args,
                                 config, rule.n_slots, 1, schedule, sum(steps), tuple(ranges), *shares),
                      problem.data, d, LocalServers(servers)) for w in range(n_workers)]
    plan = RoundPlan(n_epochs, -(-max(steps) // local_steps), checkpoint_epochs(n_epochs, eval_every))
    reports = []
    for r in range(plan.n_rounds):
        for w, worker in enumerate(workers):
            reports.append(worker.run_round(r, *plan.steps(r, steps[w])))
    model = np.concatenate([s.weights() for s in servers])
    return model[:d], model[d], reports, servers


@pytest.mark.parametrize("optimizer,n_servers,options", [
    ("sgd", 1, {}), ("sgd", 3, {}), ("adagrad", 2, {}),
    # eta * l2 = 0.5: the kernel folds its scale into v within a round (a dense push)
    ("sgd", 1, dict(alpha=0.1, learning_rate="constant", eta0=5.0))])
def test_one_worker_reproduces_the_sync_driver(optimizer, n_servers, options):
    schedule = {k: options.pop(k) for k in ("learning_rate", "eta0") if k in options}
    problem = synthetic(**options)
    w, b, reports, _ = local_fit(problem, n_servers=n_servers, optimizer=optimizer,
                                 random_state=3, n_epochs=2.5, **schedule)
    ref = psgd.fit(problem, driver="sync", n_epochs=2.5, random_state=3, optimizer=optimizer,
                   **schedule)
    np.testing.assert_allclose(w, ref.coef, rtol=0, atol=1e-10)
    assert abs(b - ref.intercept) < 1e-10
    assert sum(r.n_steps for r in reports) == int(2.5 * problem.n_samples)
    assert all(r.staleness == 0 for r in reports)


def test_l1_is_flushed_at_round_ends_and_converges_like_the_sync_driver():
    """The lazy L1 penalty is applied to every weight at a round's end (penalty owed past
    zero is forgotten there, as at the Hogwild driver's merges): not bit for bit."""
    problem = synthetic(l1_ratio=0.5)
    w, b, *_ = local_fit(problem, n_servers=2, n_epochs=5, local_steps=1000)
    ref = psgd.fit(problem, driver="sync", n_epochs=5)
    assert abs(problem.objective(w, b) / ref.objective - 1) < 0.01
    assert np.count_nonzero(w) < 0.9 * problem.n_features  # L1 still zeroes weights


def test_pushes_carry_only_touched_coordinates():
    problem = synthetic(d=5000)
    *_, reports, _ = local_fit(problem, local_steps=20, n_epochs=0.1)
    touched = max(r.keys_pushed for r in reports)
    assert 0 < touched < problem.n_features / 2
    # int32 key + float64 value per touched coordinate: traffic follows the touched keys
    assert max(r.bytes_pushed for r in reports) == 12 * touched


def test_two_workers_in_sync_rounds_converge_like_serial_sgd():
    problem = synthetic(alpha=1e-3)
    w, b, reports, servers = local_fit(problem, n_workers=2, n_servers=2, n_epochs=4,
                                       local_steps=300)
    ref = psgd.fit(problem, driver="sync", n_epochs=4)
    assert problem.objective(w, b) <= ref.objective * 1.01
    assert all(r.staleness == 0 for r in reports)
    assert servers[0].status()["clocks"] == [reports[-1].round] * 2


def test_server_applies_factor_then_sparse_values_and_drops_duplicates():
    server = ParameterServer(2, 6, 5, 0, 2, weights=np.arange(4.0))  # keys 2..5, 5 = b
    push = Push(0, 0, 0.5, np.array([3, 5], dtype=np.int32), np.array([10.0, 1.0]))
    assert server.push(push)
    np.testing.assert_array_equal(server.weights(), [0.0, 10.5, 1.0, 4.0])  # b not scaled
    assert not server.push(push)  # the same round again (a retried round) is ignored
    np.testing.assert_array_equal(server.weights(), [0.0, 10.5, 1.0, 4.0])
    assert server.pull(1, 3)[2] == 3  # worker 1 has pushed nothing: 3 rounds behind


def test_sync_server_applies_a_round_when_the_next_one_pulls():
    server = ParameterServer(0, 3, 2, 0, 2, sync=True)
    server.push(Push(0, 0, 1.0, np.array([0], dtype=np.int32), np.array([1.0])))
    assert server.pull(1, 0)[0][0] == 0.0  # worker 1 still reads round 0's model
    server.push(Push(1, 0, 1.0, np.array([1], dtype=np.int32), np.array([2.0])))
    model, _, staleness = server.pull(0, 1)
    np.testing.assert_array_equal(model, [1.0, 2.0, 0.0])
    assert staleness == 0


def test_server_checkpoint_restores_after_a_restart(tmp_path):
    policy = CheckpointPolicy(str(tmp_path / "server-0.npz"), every=2, seconds=1e9)
    args = (0, 4, 3, 1, 1)  # keys 0..3, one slot of rule state, one worker
    server = ParameterServer(*args, checkpoint=policy)
    for r in range(3):
        server.push(Push(0, r, 1.0, np.array([r], dtype=np.int32), np.array([1.0]),
                         np.array([[2.0]])))
    restarted = ParameterServer(*args, checkpoint=policy)  # what Ray's restart does
    np.testing.assert_array_equal(restarted.weights(), [1.0, 1.0, 0.0, 0.0])  # 2 pushes saved
    np.testing.assert_array_equal(restarted.state, [[2.0, 2.0, 0.0, 0.0]])
    assert restarted.status()["restarts"] == 1 and restarted.clocks[0] == 1
    assert ParameterServer(*args, checkpoint=policy).status()["restarts"] == 2
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_a_restarted_worker_replays_its_stream():
    problem = synthetic()
    *_, servers = local_fit(problem, n_epochs=0.5)
    shards, seeds = deal_rows(problem.n_samples, 2, 0)
    rule = get_optimizer("sgd")
    spec = WorkerSpec(1, 2, problem.n_samples, shards[1], seeds[1],
                      (problem.loss, problem.alpha, 0.0, True), sgd_config(problem, rule), 0, 1,
                      make_schedule("optimal", None, problem.alpha, problem.loss, 1.0),
                      problem.n_samples, ((0, problem.n_features + 1),))
    first = Worker(spec, problem.data, problem.n_features, LocalServers(servers))
    orders = [first.epoch_plan(e)[0].copy() for e in range(3)]
    fresh = Worker(spec, problem.data, problem.n_features, LocalServers(servers))
    np.testing.assert_array_equal(fresh.epoch_plan(2)[0], orders[2])
    np.testing.assert_array_equal(fresh.epoch_plan(0)[0], orders[0])


def test_round_plan_covers_every_step_once_and_ends_rounds_at_marks():
    plan = RoundPlan(2.5, 3, checkpoint_epochs(2.5, 0.5))
    for steps in (7, 1000, 1001):
        covered = []
        for r in range(plan.n_rounds):
            epoch, start, stop = plan.steps(r, steps)
            assert 0 <= start <= stop <= steps
            covered += [epoch * steps + s for s in range(start, stop)]
        assert covered == list(range(int(round(2.5 * steps))))  # as the sync driver counts
    assert [plan.points[e] for e in plan.mark_ends] == [0.5, 1.0, 1.5, 2.0, 2.5]


@pytest.mark.parametrize("bound", [0, 2])
def test_clocks_keep_every_start_within_the_bound(bound):
    rng = np.random.default_rng(0)
    clocks = Clocks(3, bound)
    running, lags = set(), []
    while not clocks.all_reached(20):
        for w in range(3):
            if w not in running and clocks.may_start(w, 20):
                lags.append(clocks.completed[w] - min(clocks.completed))
                running.add(w)
        finished = rng.choice(sorted(running))  # rounds end in a random order
        running.discard(finished)
        clocks.complete(finished)
    assert max(lags) <= bound and (bound == 0 or max(lags) == bound)


def test_settings_refuse_bad_values_with_clear_messages():
    with pytest.raises(ValueError, match="unknown mode 'bsp'"):
        PSConfig(mode="bsp")
    with pytest.raises(ValueError, match="staleness must be an integer >= 0"):
        PSConfig(mode="ssp", staleness=-1)
    with pytest.raises(ValueError, match="applies to mode='ssp'"):
        PSConfig(mode="async", staleness=3)
    with pytest.raises(ValueError, match="n_servers must be an integer >= 1"):
        PSConfig(n_servers=0)
    with pytest.raises(ValueError, match="exceeds the number of keys"):
        key_ranges(3, 4)
    with pytest.raises(ValueError, match="worker_cpus"):
        ClusterSettings(worker_cpus=-1)
    assert PSConfig(mode="async").bound == float("inf")


def test_bad_options_fail_before_ray_starts():
    problem = synthetic(n=10)
    with pytest.raises(ValueError, match="staleness must be"):
        psgd.fit(problem, driver="ray", mode="ssp", staleness=-2)
    with pytest.raises(ValueError, match="n_workers=11 exceeds the number of rows"):
        psgd.fit(problem, driver="ray", n_workers=11)
    with pytest.raises(ValueError, match="takes no option 'stalenes'"):
        psgd.fit(problem, driver="ray", stalenes=2)


def test_an_unreachable_address_fails_fast():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(ConnectionError, match=f"no Ray cluster reachable at 'ray://127.0.0.1:{port}'"):
        resolve_address(f"ray://127.0.0.1:{port}")
    assert time.perf_counter() - started < 5
    with pytest.raises(ValueError, match="address must be"):
        split_host_port("somewhere")


def test_fit_with_an_unreachable_address_fails_fast_with_a_connection_error():
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        pytest.skip("a Ray is initialized in this process: fit would join it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        psgd.fit(synthetic(n=50), driver="ray", address=f"127.0.0.1:{port}")
    assert time.perf_counter() - started < 10


def test_a_worker_loads_its_rows_from_a_file_like_from_the_object_store(tmp_path):
    problem = synthetic(n=400, d=300)
    path = tmp_path / "train.svm"
    psgd.save_svmlight(problem.data, path)
    shards, seeds = deal_rows(problem.n_samples, 2, 0)
    rule = get_optimizer("sgd")
    schedule = make_schedule("optimal", None, problem.alpha, problem.loss, 1.0)
    spec = WorkerSpec(1, 2, problem.n_samples, shards[1], seeds[1],
                      (problem.loss, problem.alpha, 0.0, True), sgd_config(problem, rule), 0,
                      1, schedule, problem.n_samples, ((0, problem.n_features + 1),))
    reports = []
    for source in (problem.data, str(path)):
        server = ParameterServer(0, problem.n_features + 1, problem.n_features, 0, 2)
        worker = Worker(spec, source, problem.n_features, LocalServers([server]))
        reports.append((worker.run_round(0, 0, 0, 100), server.weights()))
    np.testing.assert_array_equal(reports[0][1], reports[1][1])
    assert reports[0][0].keys_pushed == reports[1][0].keys_pushed > 0
    with pytest.raises(ValueError, match="has 399 rows, the problem 400"):
        psgd.save_svmlight(problem.data.take(np.arange(399)), path)
        Worker(spec, str(path), problem.n_features, LocalServers([server]))
