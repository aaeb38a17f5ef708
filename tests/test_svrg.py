"""The SVRG driver: exact lazy updates, linear convergence to the optimum, clear refusals."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import parallel_sgd as psgd
from parallel_sgd.drivers.state import kernel_rows
from parallel_sgd.drivers.svrg import Snapshot
from parallel_sgd.drivers.svrg_loop import default_steps, sampling_ratios
from parallel_sgd.kernels import svrg as kernels
from parallel_sgd.kernels.args import SVRGConfig

from . import reference


def sparse_problem(n=300, d=60, loss="log_loss", alpha=1e-2, l1_ratio=0.0, weights=False,
                   dtype=np.float64, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.1, random_state=seed, format="csr", dtype=dtype)
    X.data = (rng.standard_normal(X.nnz) * 2).astype(dtype)
    y = X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)
    if loss != "squared_error":
        y = np.where(y > 0, 1.0, -1.0)
    sample_weight = rng.uniform(0.5, 2.0, n) if weights else None
    return psgd.Problem(psgd.Dataset(X, y, sample_weight=sample_weight), loss, alpha=alpha,
                        l1_ratio=l1_ratio, **kwargs)


# -- the kernels --------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@example(w=1.0, k=1, h=0.0, c=0.0, tau=2.2250738585e-313)  # w / tau overflowed to inf
@example(w=1.0, k=400, h=1e-6, c=0.0, tau=2.2250738585e-313)
@given(w=st.floats(-5, 5), k=st.integers(1, 400), h=st.sampled_from([0.0, 1e-6, 1e-3, 0.05]),
       c=st.floats(-0.05, 0.05), tau=st.floats(0.0, 0.05))
@pytest.mark.kernel
def test_prox_steps_equal_that_many_proximal_steps(w, k, h, c, tau):
    expected = w
    for _ in range(k):
        expected = reference.soft_threshold((1.0 - h) * expected - c, tau)
    got = kernels.prox_steps(w, k, h, c, tau)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def _inner_loop(problem, order, eta, eta_b, ratios, X=None):
    """One inner loop of the kernels from a random snapshot ``(w0, b0)`` over rows ``order``;
    returns ``(w, b, (w0, b0))``."""
    data = kernel_rows(problem)
    if X is not None:
        data = data._replace(X=X, indices=None, indptr=None)
    rng = np.random.default_rng(1)
    w0, b0 = 0.1 * rng.standard_normal(problem.n_features), 0.2
    snapshot = Snapshot(problem, data)
    snapshot.take(w0, b0)
    model = kernels.new_model(problem.n_features)
    kernels.start_inner_loop(model, w0, b0, snapshot.mu, eta)
    config = SVRGConfig(problem.loss.code, eta, eta * problem.penalty.l2,
                        eta * problem.penalty.l1, eta_b, np.array([snapshot.mu_b]))
    assert kernels.inner_steps(data, model, snapshot.derivs, config, order, ratios) == len(order)
    return kernels.current_weights(model, config, np.empty(problem.n_features)), model.b[0], \
        (w0, b0)


@pytest.mark.parametrize("loss,l1_ratio,weights,sampling", [
    ("log_loss", 0.0, False, "uniform"), ("log_loss", 0.5, True, "smoothness"),
    ("squared_error", 0.0, True, "smoothness"), ("squared_hinge", 1.0, False, "uniform"),
    ("modified_huber", 0.15, False, "smoothness"),
])
@pytest.mark.kernel
def test_lazy_sparse_steps_equal_dense_steps(loss, l1_ratio, weights, sampling):
    """After one inner loop of 3n steps the lazily updated weights equal the NumPy
    reference that updates every coordinate on every step, and the kernels on the same
    data as a dense array, to 1e-10."""
    problem = sparse_problem(loss=loss, l1_ratio=l1_ratio, weights=weights,
                             alpha=0.1 if l1_ratio else 1e-2)  # L1 strong enough to bite
    _, ratios = sampling_ratios(problem, sampling)
    eta, eta_b = default_steps(problem, ratios)
    order = np.random.default_rng(2).integers(0, problem.n_samples, 3 * problem.n_samples)
    w, b, (w0, b0) = _inner_loop(problem, order, eta, eta_b, ratios)
    ref_w, ref_b = reference.svrg_inner_loop(
        problem.data.X, problem.y, w0, b0, loss, order, eta, eta_b, problem.penalty.l2,
        problem.penalty.l1, ratios, problem.data.sample_weight)
    np.testing.assert_allclose(w, ref_w, rtol=1e-10, atol=1e-12)
    assert b == pytest.approx(ref_b, rel=1e-10, abs=1e-12)
    dense_w, dense_b, _ = _inner_loop(problem, order, eta, eta_b, ratios,
                                      X=problem.data.X.toarray())
    np.testing.assert_allclose(dense_w, ref_w, rtol=1e-10, atol=1e-12)
    if l1_ratio >= 0.5:
        assert (w == 0).any()  # the proximal steps do set weights to zero


@pytest.mark.kernel
def test_the_weight_scale_is_folded_before_it_underflows():
    """A strong L2 shrinks the scale P below 1e-100 many times in one loop; the weights
    still equal the reference."""
    problem = sparse_problem(loss="squared_error", alpha=20.0)
    eta, eta_b = default_steps(problem, None)
    order = np.random.default_rng(3).integers(0, problem.n_samples, 20 * problem.n_samples)
    w, b, (w0, b0) = _inner_loop(problem, order, eta, eta_b, None)
    ref_w, ref_b = reference.svrg_inner_loop(problem.data.X, problem.y, w0, b0,
                                             "squared_error", order, eta, eta_b,
                                             problem.penalty.l2, 0.0)
    assert (1 - eta * problem.penalty.l2) ** len(order) < 1e-200
    np.testing.assert_allclose(w, ref_w, rtol=1e-9, atol=1e-12)


# -- convergence --------------------------------------------------------------------------

def _relative(problem, result, optimum):
    return (problem.objective(result.coef, result.intercept) - optimum.objective) / abs(
        optimum.objective)


def test_converges_to_the_optimum_on_a9a(shared_data):
    problem = psgd.Problem(psgd.load_svmlight(shared_data / "a9a.gz", n_features=123),
                           "log_loss", alpha=1e-3)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_epochs=30, optimum=optimum)
    assert result.trace[-1]["epoch"] <= 30
    assert _relative(problem, result, optimum) <= 1e-10


def standardized(path, n_features):
    data = psgd.load_svmlight(path, n_features=n_features)
    X = data.X.toarray()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return psgd.Dataset(np.ascontiguousarray(X), (data.y - data.y.mean()) / data.y.std())


def test_converges_to_the_least_squares_optimum_on_cadata(shared_data):
    problem = psgd.Problem(standardized(shared_data / "cadata.gz", 8), "squared_error",
                           alpha=1e-4)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_epochs=30, optimum=optimum)
    assert _relative(problem, result, optimum) <= 1e-10


@pytest.mark.parametrize("options", [dict(l1_ratio=0.5), dict(loss="squared_hinge"),
                                     dict(loss="squared_error", weights=True),
                                     dict(dtype=np.float32)])
def test_converges_on_sparse_problems(options):
    """Rows with ||x||^2 ~ 80 and alpha=0.1: a condition number L_max / alpha near n."""
    problem = sparse_problem(n=2000, d=200, seed=4, alpha=0.1, **options)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_epochs=40, optimum=optimum)
    assert _relative(problem, result, optimum) <= 1e-8


def test_started_at_the_optimum_it_stays_there():
    problem = sparse_problem(l1_ratio=0.3)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_epochs=6, coef_init=optimum.coef,
                      intercept_init=optimum.intercept)
    assert _relative(problem, result, optimum) <= 1e-12
    np.testing.assert_allclose(result.coef, optimum.coef, atol=1e-6)


def test_small_steps_never_increase_the_objective_between_snapshots():
    """With a step of 1/(4 L_max), uniform sampling, the objective at each snapshot (a
    checkpoint every outer loop: n + inner_steps evaluations) is below the previous one."""
    problem = sparse_problem(n=1000, d=100, seed=5)
    eta0 = 1.0 / (4 * problem.max_smoothness)
    result = psgd.fit(problem, driver="svrg", n_epochs=40, eval_every=2.0, eta0=eta0,
                      sampling="uniform", inner_steps=problem.n_samples, random_state=3)
    objectives = [row["objective"] for row in result.trace]
    assert len(objectives) == 21
    assert all(b <= a * (1 + 1e-12) for a, b in zip(objectives, objectives[1:])), objectives


def test_work_is_counted_in_effective_passes():
    problem = sparse_problem()
    n = problem.n_samples
    result = psgd.fit(problem, driver="svrg", n_epochs=5, eval_every=0.5, inner_steps=n // 2,
                      warm_start=True)
    rows = result.trace
    assert rows[1]["n_grad_evals"] == n and rows[1]["n_updates"] == 0  # the warm-start epoch
    assert all(row["epoch"] == row["n_grad_evals"] / n for row in rows)
    assert rows[-1]["n_grad_evals"] <= 5 * n
    # after the warm start, each outer loop is a snapshot (n) and n/2 inner steps
    assert rows[-1]["n_updates"] == (rows[-1]["n_grad_evals"] - n) // 3
    assert result.config["inner_steps"] == n // 2 and result.config["driver"] == "svrg"


def test_option_two_random_iterate_converges():
    problem = sparse_problem(n=1000, d=100, seed=6)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_epochs=40, variant="random", optimum=optimum)
    assert _relative(problem, result, optimum) <= 1e-6


# -- two workers --------------------------------------------------------------------------

def test_two_workers_reach_the_same_target_on_a9a(shared_data):
    """Asynchronous inner loops (private replicas merged into shared weights) still
    converge linearly: every one of 3 seeds reaches 1e-8 within 30 effective passes."""
    problem = psgd.Problem(psgd.load_svmlight(shared_data / "a9a.gz", n_features=123),
                           "log_loss", alpha=1e-3)
    optimum = psgd.reference_optimum(problem)
    for seed in range(3):
        result = psgd.fit(problem, driver="svrg", n_workers=2, n_epochs=30, random_state=seed)
        assert _relative(problem, result, optimum) <= 1e-8, seed


@pytest.mark.parametrize("options", [dict(l1_ratio=0.5), dict(loss="squared_error")])
def test_two_workers_converge_with_l1_and_least_squares(options):
    problem = sparse_problem(n=2000, d=200, seed=7, alpha=0.1, **options)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="svrg", n_workers=2, n_epochs=40, merge_every=256)
    assert _relative(problem, result, optimum) <= 1e-8
    assert result.trace[-1]["n_workers"] == 2


# -- refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(loss="hinge"), "driver 'svrg' needs a smooth loss; 'hinge' is not. Use "
                         "loss='squared_hinge'"),
    (dict(optimizer="adam"), "optimizer must be 'sgd', got 'adam'"),
    (dict(learning_rate="optimal"), "driver 'svrg' takes a constant step, not "
                                    "learning_rate='optimal'"),
    (dict(batch_size=4), "batch_size must be 1, got 4"),
    (dict(inner_steps=0), "inner_steps must be an integer >= 1, got 0"),
    (dict(variant="middle"), "unknown variant 'middle'"),
    (dict(sampling="by_norm"), "unknown sampling 'by_norm'"),
    (dict(backend="threads"), "driver 'svrg' takes no option 'backend'"),
    (dict(n_workers=2, merge_every=0), "merge_every must be an integer >= 1, got 0"),
])
def test_bad_configuration(kwargs, match):
    loss = kwargs.pop("loss", "log_loss")
    with pytest.raises(ValueError, match=match):
        psgd.fit(sparse_problem(loss=loss), driver="svrg", **kwargs)


def test_a_step_too_large_stops_with_a_divergence_error():
    problem = sparse_problem(loss="squared_error")
    with pytest.raises(psgd.DivergenceError, match="eta0="), \
            pytest.warns(UserWarning, match="expect divergence"):
        psgd.fit(problem, driver="svrg", eta0=1e3, n_epochs=20)
