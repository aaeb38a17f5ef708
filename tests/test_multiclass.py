"""Multinomial models (softmax, Crammer-Singer): losses, problem, kernels, drivers, optimum."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import parallel_sgd as psgd
from parallel_sgd.drivers.state import MultinomialState, kernel_rows, multiclass_config
from parallel_sgd.kernels.args import Scores
from parallel_sgd.kernels.multiclass import multiclass_epoch
from parallel_sgd.maths.multiclass_losses import get_multiclass_loss, multiclass_loss_grad

from . import multiclass_reference as ref

LOSSES = ["softmax", "multiclass_hinge"]
PENALTIES = [(0.0, 0.0), (0.05, 0.0), (0.05, 1.0), (0.05, 0.4)]
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def make_data(n=60, d=7, K=4, seed=0, weighted=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.5] = 0.0
    X[:, 2] = 0.0  # a column no row touches
    y = rng.integers(0, K, n)
    y[:K] = np.arange(K)  # every class present
    weights = rng.uniform(0.5, 2.0, n) if weighted else None
    return X, y, weights


def make_problem(X, y, loss="softmax", alpha=1e-2, l1_ratio=0.0, weights=None, sparse=False,
                 dtype=np.float64, fit_intercept=True):
    data = psgd.Dataset(sp.csr_matrix(X) if sparse else X, y, sample_weight=weights, dtype=dtype)
    return psgd.MultinomialProblem(data, loss, alpha=alpha, l1_ratio=l1_ratio,
                                   fit_intercept=fit_intercept)


# -- losses ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=2, max_size=7), st.data())
@pytest.mark.kernel
def test_loss_values_and_gradients_match_the_definitions(scores, draw):
    P = np.array([scores])
    y = np.array([draw.draw(st.integers(0, len(scores) - 1))])
    for name in LOSSES:
        values, G = get_multiclass_loss(name).value_and_grad(P, y)
        np.testing.assert_allclose(values, ref.loss_value(name, P, y), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(G, ref.loss_grad(name, P, y), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.kernel
def test_gradients_match_finite_differences(name):
    """Away from the hinge's kinks, dl/dp is the slope of l in every score."""
    rng = np.random.default_rng(1)
    loss = get_multiclass_loss(name)
    for _ in range(20):
        P = rng.normal(0, 2, (1, 5))
        y = np.array([rng.integers(5)])
        _, G = loss.value_and_grad(P, y)
        h = 1e-6
        for k in range(5):
            up, down = P.copy(), P.copy()
            up[0, k] += h
            down[0, k] -= h
            slope = (loss.value(up, y)[0] - loss.value(down, y)[0]) / (2 * h)
            assert slope == pytest.approx(G[0, k], abs=1e-6)


@pytest.mark.kernel
def test_softmax_is_stable_for_huge_scores():
    loss = get_multiclass_loss("softmax")
    values, G = loss.value_and_grad(np.array([[1e300, -1e300, 0.0]]), np.array([1]))
    assert values[0] == np.inf or np.isfinite(values[0])
    assert np.isfinite(G).all()
    values, _ = loss.value_and_grad(np.array([[800.0, 0.0]]), np.array([0]))
    assert values[0] == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_problem_objective_and_gradient(name, sparse):
    X, y, weights = make_data(weighted=True)
    alpha, l1_ratio = 0.03, 0.3
    problem = make_problem(X, y, name, alpha, l1_ratio, weights, sparse)
    rng = np.random.default_rng(2)
    W, b = rng.normal(size=(7, 4)), rng.normal(size=4)
    assert problem.objective(W, b) == pytest.approx(
        ref.objective(X, y, W, b, name, alpha, l1_ratio, weights), rel=1e-12)
    gw, gb = problem.loss_gradient(W, b)
    G = weights[:, None] * ref.loss_grad(name, X @ W + b, y) / len(y)
    np.testing.assert_allclose(gw, X.T @ G, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, G.sum(axis=0), rtol=1e-10, atol=1e-12)
    if name == "softmax":  # the full gradient against finite differences of P (L2 part only)
        smooth = make_problem(X, y, name, alpha, 0.0, weights, sparse)
        gw, gb = smooth.gradient(W, b)
        h = 1e-6
        for j, k in [(0, 0), (3, 2), (6, 3)]:
            up, down = W.copy(), W.copy()
            up[j, k] += h
            down[j, k] -= h
            slope = (smooth.objective(up, b) - smooth.objective(down, b)) / (2 * h)
            assert slope == pytest.approx(gw[j, k], abs=1e-6)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_hessian_product_matches_finite_differences_of_the_gradient(sparse):
    X, y, weights = make_data(weighted=True)
    problem = make_problem(X, y, "softmax", 0.03, 0.0, weights, sparse)
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(7, 4)), rng.normal(size=4)
    VW, vb = rng.normal(size=(7, 4)), rng.normal(size=4)
    hw, hb = problem.hessian_product(W, b, VW, vb)
    h = 1e-6
    up, down = problem.gradient(W + h * VW, b + h * vb), problem.gradient(W - h * VW, b - h * vb)
    np.testing.assert_allclose(hw, (up[0] - down[0]) / (2 * h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(hb, (up[1] - down[1]) / (2 * h), rtol=1e-6, atol=1e-8)
    hinge = make_problem(X, y, "multiclass_hinge", 0.03, 0.0, weights, sparse)
    hw, hb = hinge.hessian_product(W, b, VW, vb)  # piecewise linear: the L2 term only
    np.testing.assert_allclose(hw, 0.03 * VW)
    assert not hb.any()


def test_labels_are_class_indices_of_any_values():
    X, y, _ = make_data()
    labels = np.array(["d", "c", "b", "a"])[y]
    problem = make_problem(X, labels)
    np.testing.assert_array_equal(problem.classes, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(problem.y, 3 - y)
    with pytest.raises(psgd.DataError, match="not one of the classes"):
        problem.metric(np.zeros((7, 4)), None, psgd.Dataset(X[:3], ["a", "b", "z"]))
    with pytest.raises(psgd.DataError, match="at least 2 classes"):
        psgd.MultinomialProblem(psgd.Dataset(X, np.zeros(len(y))))
    with pytest.raises(ValueError, match="unknown multiclass loss"):
        psgd.MultinomialProblem(psgd.Dataset(X, y), "squared_error")


# -- the kernel against the NumPy reference ----------------------------------------------
def run_kernel(problem, order, etas, intercept_rate=1.0):
    state = MultinomialState(problem.n_features, problem.n_classes, problem.data.dtype)
    K = problem.n_classes
    done = multiclass_epoch(kernel_rows(problem), state.kernel_model,
                            multiclass_config(problem, intercept_rate), order, etas,
                            Scores(np.zeros(K), np.zeros(K)), None)
    assert done == len(order)
    return state.weights()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("alpha,l1_ratio", PENALTIES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.kernel
def test_kernel_matches_reference(loss, alpha, l1_ratio, sparse, dtype):
    X, y, weights = make_data(weighted=True)
    problem = make_problem(X, y, loss, alpha, l1_ratio, weights, sparse, dtype)
    rng = np.random.default_rng(3)
    order = np.concatenate([rng.permutation(len(y)), rng.permutation(len(y))])
    etas = 0.3 / (1.0 + 0.05 * np.arange(len(order)))
    Xr = X.astype(dtype).astype(np.float64)
    expected = ref.ReferenceMulticlassSGD(Xr, y, 4, loss, alpha, l1_ratio, 0.5,
                                          weights).run(order, etas).weights()
    W, b = run_kernel(problem, order, etas, intercept_rate=0.5)
    rtol = TOLERANCE[dtype]
    scale = max(1.0, np.abs(expected[0]).max(), np.abs(expected[1]).max())
    np.testing.assert_allclose(W, expected[0], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(b, expected[1], rtol=rtol, atol=rtol * scale)


@pytest.mark.kernel
def test_zero_step_changes_nothing_and_nan_stops():
    X, y, _ = make_data()
    problem = make_problem(X, y, alpha=0.1, l1_ratio=0.5)
    W, b = run_kernel(problem, np.arange(len(y)), np.zeros(len(y)))
    assert not W.any() and not b.any()
    broken = make_problem(X, y)
    broken.data.X[5, 0] = np.nan  # past the Dataset's checks
    state = MultinomialState(7, 4, np.float64)
    done = multiclass_epoch(kernel_rows(broken), state.kernel_model,
                            multiclass_config(problem, 1.0), np.arange(10), np.full(10, 0.1),
                            Scores(np.zeros(4), np.zeros(4)), None)
    assert done == 5


# -- drivers -----------------------------------------------------------------------------
@pytest.mark.kernel
@pytest.mark.parametrize("K", [4, 8, 13])
def test_loss_gradients_do_not_depend_on_where_the_scratch_lies(K):
    # the scratch scores p and derivatives g come from np.zeros, so they may lie next
    # to each other or far apart; the result must be the same to the last bit
    # (a sum fused with the stores into g once took a different order when they
    # lay close, and two identical sync fits differed by 5e-16)
    rng = np.random.default_rng(K)
    buffer = np.zeros(1024)
    for name in LOSSES:
        code = get_multiclass_loss(name).code
        for trial in range(20):
            scores = rng.normal(scale=3.0, size=K)
            label = int(rng.integers(K))
            results = []
            for gap in [0, 1, 3, 64, 500]:  # g starts gap doubles after p's end
                p, g = buffer[:K], buffer[K + gap:2 * K + gap]
                buffer[:] = 0.0
                p[:] = scores
                value = multiclass_loss_grad(code, p, label, g)
                results.append((value, g.copy()))
            for value, grad in results[1:]:
                assert value == results[0][0], (name, K)
                np.testing.assert_array_equal(grad, results[0][1])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_one_hogwild_worker_is_the_sync_driver_bit_for_bit(loss, sparse):
    X, y, _ = make_data(n=200)
    problem = make_problem(X, y, loss, 1e-2, 0.2, sparse=sparse)
    a = psgd.fit(problem, driver="sync", n_epochs=3, random_state=4)
    b = psgd.fit(problem, driver="hogwild", n_workers=1, n_epochs=3, random_state=4)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    assert a.coef.shape == (7, 4) and a.intercept.shape == (4,)


@pytest.mark.parametrize("loss", LOSSES)
def test_hogwild_two_workers_learns(loss):
    X, _, _ = make_data(n=400)
    y = (X @ np.random.default_rng(5).normal(size=(7, 4))).argmax(axis=1)  # learnable
    problem = make_problem(X, y, loss, 1e-2, 0.1)
    sync = psgd.fit(problem, driver="sync", n_epochs=10, random_state=0)
    hog = psgd.fit(problem, driver="hogwild", n_workers=2, n_epochs=10, random_state=0,
                   merge_every=16)
    start = hog.trace[0]["objective"]
    assert hog.objective < 0.6 * start
    assert hog.objective == pytest.approx(sync.objective, rel=0.15)
    assert [row["n_updates"] for row in hog.trace][-1] == 10 * 400


def test_softmax_converges_to_the_reference_optimum(shared_data):
    train = psgd.load_svmlight(shared_data / "letter.scale.gz", n_features=16)
    test = psgd.load_svmlight(shared_data / "letter.scale.t.gz", n_features=16)
    problem = psgd.MultinomialProblem(train, "softmax", alpha=1e-3)
    optimum = psgd.reference_optimum(problem)
    assert optimum.coef.shape == (16, 26) and optimum.intercept.shape == (26,)
    np.testing.assert_allclose(problem.gradient(optimum.coef, optimum.intercept)[0], 0,
                               atol=1e-6)
    for driver, workers in [("sync", 1), ("hogwild", 2)]:
        result = psgd.fit(problem, driver=driver, n_workers=workers, n_epochs=12,
                          eval_every=4, optimum=optimum, test=test, random_state=0)
        gaps = [row["relative_suboptimality"] for row in result.trace]
        assert gaps[-1] < 1e-2 < gaps[0], (driver, gaps)
        assert all(g >= -1e-9 for g in gaps)
        assert result.trace[-1]["test_metric"] > 0.7


def test_bad_configurations_are_refused():
    X, y, _ = make_data()
    problem = make_problem(X, y)
    with pytest.raises(ValueError, match="optimizer 'sgd' only"):
        psgd.fit(problem, optimizer="adam")
    with pytest.raises(ValueError, match="batch_size must be 1"):
        psgd.fit(problem, batch_size=4)
    with pytest.raises(ValueError, match="threads only"):
        psgd.fit(problem, driver="hogwild", n_workers=2, backend="processes")
    with pytest.raises(ValueError, match="coef_init must have shape"):
        psgd.fit(problem, coef_init=np.zeros(7))
    with pytest.raises(ValueError, match="multiclass_hinge"):
        psgd.reference_optimum(make_problem(X, y, "multiclass_hinge"))
    with pytest.raises(ValueError, match="l1_ratio must be 0"):
        psgd.reference_optimum(make_problem(X, y, l1_ratio=0.5))


# -- SVRG (softmax, L2) ------------------------------------------------------------------
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.kernel
def test_svrg_inner_loop_matches_reference(sparse, dtype):
    from parallel_sgd.drivers.multinomial_svrg import SoftmaxSVRG
    X, y, weights = make_data(weighted=True)
    problem = make_problem(X, y, "softmax", 0.05, 0.0, weights, sparse, dtype)
    rng = np.random.default_rng(6)
    W, b = rng.normal(size=(7, 4)), rng.normal(size=4)
    order = rng.integers(0, len(y), 150)
    solver = SoftmaxSVRG(problem, 0.05, 0.2)
    solver.take_snapshot(W, b)
    assert solver.run(order) == len(order)
    expected = ref.svrg_inner_loop(X.astype(dtype).astype(np.float64), y, W, b, "softmax",
                                   order, 0.05, 0.2, 0.05, weights)
    actual = solver.weights()
    np.testing.assert_allclose(actual[0], expected[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(actual[1], expected[1], rtol=1e-12, atol=1e-12)


def test_svrg_converges_linearly_and_stays_at_the_optimum(shared_data):
    train = psgd.load_svmlight(shared_data / "letter.scale.gz", n_features=16)
    problem = psgd.MultinomialProblem(train, "softmax", alpha=1e-3)
    optimum = psgd.reference_optimum(problem, tol=1e-13)
    result = psgd.fit(problem, driver="svrg", n_workers=2, n_epochs=18, eval_every=6,
                      optimum=optimum)
    gaps = [row["relative_suboptimality"] for row in result.trace]
    assert gaps[1] < 1e-3 and gaps[2] < 1e-6 and gaps[3] < 1e-10, gaps
    assert result.trace[-1]["n_grad_evals"] == 18 * problem.n_samples
    still = psgd.fit(problem, driver="svrg", n_epochs=4, coef_init=optimum.coef,
                     intercept_init=optimum.intercept)
    assert still.objective <= optimum.objective * (1 + 1e-12)


def test_svrg_refuses_what_it_cannot_train():
    X, y, _ = make_data()
    with pytest.raises(ValueError, match="needs a smooth loss"):
        psgd.fit(make_problem(X, y, "multiclass_hinge"), driver="svrg")
    with pytest.raises(ValueError, match="L2 penalty only"):
        psgd.fit(make_problem(X, y, l1_ratio=0.5), driver="svrg")
    with pytest.raises(ValueError, match="constant step"):
        psgd.fit(make_problem(X, y), driver="svrg", learning_rate="optimal")
