"""Asynchronous SVRG on the worker team: a head replica and the tail written in place,
exact for one worker, converging to the optimum for two, whatever the head's size."""
import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd.drivers.state import kernel_rows
from parallel_sgd.drivers.svrg import Snapshot
from parallel_sgd.drivers.svrg_loop import default_steps, sampling_ratios
from parallel_sgd.kernels import svrg as kernels
from parallel_sgd.kernels import svrg_async
from parallel_sgd.kernels.args import Merge, SVRGConfig, SVRGHeadReplica, SVRGModel

from .test_svrg import _inner_loop, _relative, sparse_problem


def _one_worker(problem, order, eta, eta_b, ratios, size, every):
    """The inner loop of :func:`.test_svrg._inner_loop` (same snapshot, same rows) run by
    one worker on a head of ``size`` features merged every ``every`` steps."""
    data = kernel_rows(problem)
    d = problem.n_features
    rng = np.random.default_rng(1)
    w0, b0 = 0.1 * rng.standard_normal(d), 0.2
    snapshot = Snapshot(problem, data)
    snapshot.take(w0, b0)
    config = SVRGConfig(problem.loss.code, eta, eta * problem.penalty.l2, 0.0, eta_b,
                        np.array([snapshot.mu_b]))
    shared = SVRGModel(w0.copy(), eta * snapshot.mu, np.zeros(1, dtype=np.int64),
                       np.array([b0]), np.array([1.0, 0.0, 0.0]))
    replica = SVRGHeadReplica(np.zeros(size), np.zeros(size), np.zeros(1), np.zeros(1),
                              np.zeros(4))
    merge = Merge(every, np.ones(size), 1.0, 1.0, 0.0, None)
    done = svrg_async.head_replica_steps(data, shared, replica, snapshot.derivs, config,
                                         merge, np.zeros(1, dtype=np.int64), order, ratios)
    assert done == len(order)
    return kernels.current_weights(shared, config, np.empty(d)), shared.b[0]


@pytest.mark.kernel
@pytest.mark.parametrize("size", [0, 7, 60])
@pytest.mark.parametrize("every", [1, 13, 10_000])
def test_one_worker_on_a_head_replica_takes_the_serial_steps(size, every):
    """Merges hand the worker's steps to the shared P and R and its head's change to the
    shared psi: for one worker, the serial inner loop's iterate, whatever the head."""
    problem = sparse_problem(n=200, d=60, alpha=0.05, weights=True, seed=3)
    probabilities, ratios = sampling_ratios(problem, "smoothness")
    eta, eta_b = default_steps(problem, ratios)
    order = np.random.default_rng(2).choice(200, 500, p=probabilities)
    expected_w, expected_b, _ = _inner_loop(problem, order, eta, eta_b, ratios)
    w, b = _one_worker(problem, order, eta, eta_b, ratios, size, every)
    np.testing.assert_allclose(w, expected_w, rtol=1e-9, atol=1e-12)
    assert b == pytest.approx(expected_b, rel=1e-9)


@pytest.mark.parametrize("replica_features", [0, 15, None, 10_000])
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_two_workers_converge_with_any_head(replica_features, loss):
    problem = sparse_problem(n=2000, d=200, seed=7, alpha=0.01, loss=loss, weights=True)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_workers=2, n_epochs=60,
                      replica_features=replica_features, random_state=1)
    assert _relative(problem, result, optimum) <= 1e-8
    assert result.trace[-1]["n_workers"] == 2


def test_two_workers_write_wide_data_in_place_and_converge():
    """On data wider than a full replica pays for (the default head is empty: every
    write in place, merges O(1)), with an intercept and strong L2 (P folded between
    calls), async SVRG still reaches the optimum."""
    data = psgd.make_sparse_classification(n_samples=4000, n_features=20_000, nnz_per_row=10,
                                           random_state=0)
    for alpha in (1e-3, 0.3):
        problem = psgd.Problem(data, "log_loss", alpha=alpha)
        optimum = psgd.reference_optimum(problem)
        result = psgd.fit(problem, driver="svrg", n_workers=2, n_epochs=30, random_state=0)
        assert _relative(problem, result, optimum) <= 1e-8, alpha


def test_two_workers_share_an_uneven_inner_loop():
    """777 drawn rows per inner loop, dealt to 2 workers: every outer loop takes all of
    them (the updates count whole inner loops) and the iterate reaches the optimum."""
    problem = sparse_problem(n=1000, d=100, seed=2)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_workers=2, n_epochs=40, eval_every=40,
                      inner_steps=777, random_state=0)
    updates = result.trace[-1]["n_updates"]
    assert updates > 0 and updates % 777 == 0
    assert _relative(problem, result, optimum) <= 1e-8


@pytest.mark.parametrize("value", [-1, 2.5, True])
def test_replica_features_must_be_a_count(value):
    problem = sparse_problem()
    with pytest.raises(ValueError, match=f"replica_features must be an integer >= 0 .*got "
                                         f"{value!r}"):
        psgd.fit(problem, driver="svrg", n_workers=2, n_epochs=2, replica_features=value)
