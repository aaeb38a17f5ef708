"""The sync driver through `psgd.fit`: wiring, trace, determinism, errors, convergence."""
import time

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import parallel_sgd as psgd
from parallel_sgd.model.schedules import make_schedule

from . import reference as ref


def small_problem(loss="log_loss", n=300, d=8, seed=0, sparse=True, alpha=1e-3, l1_ratio=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.5] = 0.0
    w = rng.standard_normal(d)
    if loss == "squared_error":
        y = X @ w + 0.5 + 0.1 * rng.standard_normal(n)
    else:
        y = np.where(X @ w + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)
    data = psgd.Dataset(sp.csr_matrix(X) if sparse else X, y)
    return psgd.Problem(data, loss, alpha=alpha, l1_ratio=l1_ratio)


def exact_optimum(problem):
    fun = lambda z: problem.objective(z[:-1], z[-1])
    jac = lambda z: np.append(*problem.gradient(z[:-1], z[-1]))
    res = scipy.optimize.minimize(fun, np.zeros(problem.n_features + 1), jac=jac,
                                  method="L-BFGS-B", options=dict(ftol=0, gtol=1e-12, maxiter=5000))
    return res.fun


def test_serial_sync_equals_the_reference_over_epochs():
    problem = small_problem(l1_ratio=0.5)
    result = psgd.fit(problem, n_epochs=3, learning_rate="inverse", eta0=0.1, random_state=7)
    rng = np.random.default_rng(7)
    sched = make_schedule("inverse", 0.1, problem.alpha, problem.loss, problem.max_smoothness)
    model = ref.ReferenceSGD(problem.data.X, problem.y, "log_loss", problem.alpha, 0.5)
    n = problem.n_samples
    for epoch in range(3):
        order = rng.permutation(n)
        model.run(order, sched(np.arange(epoch * n, (epoch + 1) * n), epoch), t_start=epoch * n)
    w, b = model.weights()
    np.testing.assert_allclose(result.coef, w, rtol=1e-11, atol=1e-12)
    assert result.intercept == pytest.approx(b, rel=1e-11)


def test_trace_rows_and_checkpoints():
    problem = small_problem()
    result = psgd.fit(problem, n_epochs=2, eval_every=0.5, optimum=0.1)
    epochs = [row["epoch"] for row in result.trace]
    assert epochs == [0.0, 0.5, 1.0, 1.5, 2.0]
    n = problem.n_samples
    assert [row["n_updates"] for row in result.trace] == [0, n // 2, n, n + n // 2, 2 * n]
    times = [row["time_s"] for row in result.trace]
    assert times == sorted(times) and times[0] == 0.0
    last = result.trace[-1]
    assert last["objective"] == pytest.approx(problem.objective(result.coef, result.intercept))
    assert last["suboptimality"] == pytest.approx(last["objective"] - 0.1)
    assert last["relative_suboptimality"] == pytest.approx((last["objective"] - 0.1) / 0.1)
    assert last["driver"] == "sync" and last["n_workers"] == 1
    assert result.objective == last["objective"]


def test_final_row_is_written_whatever_eval_every_says():
    result = psgd.fit(small_problem(), n_epochs=2, eval_every=5.0)
    assert [row["epoch"] for row in result.trace] == [0.0, 2.0]
    partial = psgd.fit(small_problem(), n_epochs=1.25, eval_every=1.0)
    assert [row["epoch"] for row in partial.trace] == [0.0, 1.0, 1.25]


def test_solver_clock_stops_during_evaluation():
    problem = small_problem()
    pause = 0.2
    result = psgd.fit(problem, n_epochs=3, callback=lambda row: time.sleep(pause))
    assert result.trace[-1]["time_s"] < pause


def test_callback_can_stop_training():
    result = psgd.fit(small_problem(), n_epochs=10, callback=lambda row: row["epoch"] >= 2)
    assert result.trace[-1]["epoch"] == 2.0


def test_test_metric_is_recorded():
    problem = small_problem()
    train, test = problem.data.split(0.3, random_state=0)
    result = psgd.fit(psgd.Problem(train, "log_loss", alpha=1e-3), n_epochs=2, test=test)
    assert 0.7 < result.trace[-1]["test_metric"] <= 1.0


def test_same_seed_same_result_and_other_seed_differs():
    problem = small_problem()
    a, b = psgd.fit(problem, random_state=1), psgd.fit(problem, random_state=1)
    c = psgd.fit(problem, random_state=2)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert not np.array_equal(a.coef, c.coef)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_minibatch_is_the_same_on_one_or_two_threads(optimizer):
    problem = small_problem(l1_ratio=0.3)
    one = psgd.fit(problem, batch_size=16, n_workers=1, optimizer=optimizer, eta0=0.1,
                   learning_rate="constant")
    two = psgd.fit(problem, batch_size=16, n_workers=2, optimizer=optimizer, eta0=0.1,
                   learning_rate="constant")
    np.testing.assert_array_equal(one.coef, two.coef)
    assert one.trace[-1]["n_updates"] == 10 * -(-problem.n_samples // 16)
    assert one.trace[-1]["n_grad_evals"] == 10 * problem.n_samples


@pytest.mark.filterwarnings("ignore:the first step")
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("loss", ["log_loss", "squared_error", "squared_hinge", "modified_huber"])
def test_converges_near_the_optimum(loss, sparse):
    problem = small_problem(loss, n=2000, sparse=sparse, alpha=1e-2)
    p_star = exact_optimum(problem)
    result = psgd.fit(problem, n_epochs=30, learning_rate="optimal", optimum=p_star)
    assert result.trace[-1]["relative_suboptimality"] < 2e-3


@pytest.mark.parametrize("optimizer", ["momentum", "adagrad", "rmsprop", "adam"])
def test_adaptive_rules_converge(optimizer):
    problem = small_problem(n=2000, alpha=1e-2)
    p_star = exact_optimum(problem)
    schedule, eta0 = {"momentum": ("inverse_sqrt", 0.1), "adagrad": ("constant", 0.1),
                      "rmsprop": ("inverse", 0.03), "adam": ("inverse_sqrt", 0.1)}[optimizer]
    result = psgd.fit(problem, n_epochs=30, optimizer=optimizer, learning_rate=schedule,
                      eta0=eta0, optimum=p_star)
    assert result.trace[-1]["relative_suboptimality"] < 5e-3


def test_divergence_stops_with_a_suggestion():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5)) * 100.0
    problem = psgd.Problem(psgd.Dataset(X, X @ np.ones(5)), "squared_error", alpha=1e-4)
    with pytest.warns(UserWarning, match="expect divergence"), \
            pytest.raises(psgd.DivergenceError, match="smaller learning rate, e.g. eta0="):
        psgd.fit(problem, learning_rate="constant", eta0=1.0)


def test_a_finite_blow_up_is_divergence_too():
    problem = small_problem("squared_hinge", n=500, sparse=False)
    with pytest.warns(UserWarning, match="largest stable step"), \
            pytest.raises(psgd.DivergenceError, match="objective .* started at"):
        psgd.fit(problem, learning_rate="optimal", eta0=5.0)


def test_default_optimal_step_is_stable_on_unnormalized_regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 5)) * 100.0
    problem = psgd.Problem(psgd.Dataset(X, X @ np.ones(5) + 1.0), "squared_error", alpha=1e-2)
    result = psgd.fit(problem, n_epochs=5)
    assert result.objective < problem.objective(np.zeros(5), 0.0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(driver="spark"), "unknown driver 'spark'; known drivers: hogwild, ray, svrg, sync"),
    (dict(n_workers=0), "n_workers must be an integer >= 1"),
    (dict(n_workers=1.5), "n_workers must be an integer >= 1"),
    (dict(batch_size=10_000), "batch_size=10000 exceeds the number of rows"),
    (dict(n_epochs=0), "n_epochs must be a number > 0"),
    (dict(eval_every=-1), "eval_every must be a number > 0"),
    (dict(optimizer="sgdr"), "unknown optimizer"),
    (dict(learning_rate="linear"), "unknown learning_rate"),
    (dict(n_workers=10_000, batch_size=4), "exceeds the"),
])
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        psgd.fit(small_problem(), **kwargs)


def test_problem_must_be_a_problem():
    with pytest.raises(TypeError, match="psgd.Problem"):
        psgd.fit("a9a")


def test_fit_without_evaluation_trains_the_same_model():
    data = psgd.make_sparse_classification(n_samples=200, n_features=30, nnz_per_row=5,
                                           random_state=2)
    problem = psgd.Problem(data, "log_loss", alpha=1e-3)
    plain = psgd.fit(problem, n_epochs=3, random_state=1)
    quiet = psgd.fit(problem, n_epochs=3, random_state=1, evaluate=False)
    np.testing.assert_array_equal(plain.coef, quiet.coef)
    assert [row["objective"] for row in quiet.trace] == [None] * len(plain.trace)
    assert all(np.isfinite(row["objective"]) for row in plain.trace)


def test_serial_sgd_reports_the_one_worker_it_used():
    problem = small_problem()
    serial = psgd.fit(problem, n_epochs=1, n_workers=4)
    assert serial.trace[-1]["n_workers"] == 1 and serial.config["n_workers"] == 1
    batched = psgd.fit(problem, n_epochs=1, n_workers=2, batch_size=8)
    assert batched.trace[-1]["n_workers"] == 2 and batched.config["n_workers"] == 2
