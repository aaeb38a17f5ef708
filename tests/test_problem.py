"""Problem: the objective and gradient of DESIGN section 1, label handling, bad input."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import parallel_sgd as psgd
from parallel_sgd.maths.losses import LOSSES

from . import reference as ref

SMOOTH = [name for name, loss in LOSSES.items() if loss.is_smooth]


def random_problem(seed, loss, alpha=0.01, l1_ratio=0.3, sparse=False, weighted=True,
                   fit_intercept=True, dtype=np.float64, n=40, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.4] = 0.0
    y = X @ rng.standard_normal(d) if loss == "squared_error" else rng.choice([-1.0, 1.0], n)
    weights = rng.uniform(0.2, 3.0, n) if weighted else None
    data = psgd.Dataset(sp.csr_matrix(X) if sparse else X, y, sample_weight=weights, dtype=dtype)
    return psgd.Problem(data, loss, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_objective_and_gradient_match_the_definition(loss, sparse):
    problem = random_problem(0, loss, sparse=sparse)
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal(6), 0.4
    X, y, s = problem.data.X, problem.y, problem.data.sample_weight
    want = ref.objective(X, y, w, b, loss, 0.01, 0.3, s)
    assert problem.objective(w, b) == pytest.approx(want, rel=1e-13)
    gw, gb = problem.gradient(w, b)
    want_w, want_b = ref.gradient(X, y, w, b, loss, 0.01, 0.3, s)
    np.testing.assert_allclose(gw, want_w, rtol=1e-12, atol=1e-15)
    assert gb == pytest.approx(want_b, rel=1e-12, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.sampled_from(SMOOTH), sparse=st.booleans(),
       fit_intercept=st.booleans())
def test_gradient_matches_finite_differences(seed, loss, sparse, fit_intercept):
    problem = random_problem(seed, loss, l1_ratio=0.0, sparse=sparse,
                             fit_intercept=fit_intercept)
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal(6), rng.standard_normal()
    gw, gb = problem.gradient(w, b)
    h = 1e-6
    for j in range(6):
        e = np.zeros(6)
        e[j] = h
        numeric = (problem.objective(w + e, b) - problem.objective(w - e, b)) / (2 * h)
        assert gw[j] == pytest.approx(numeric, rel=1e-5, abs=1e-6)
    numeric_b = (problem.objective(w, b + h) - problem.objective(w, b - h)) / (2 * h)
    assert gb == pytest.approx(numeric_b if fit_intercept else 0.0, rel=1e-5, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.sampled_from(SMOOTH))
def test_hessian_product_matches_gradient_differences(seed, loss):
    problem = random_problem(seed, loss, l1_ratio=0.0)
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal(6), 0.3
    vw, vb = rng.standard_normal(6), 0.7
    hw, hb = problem.hessian_product(w, b, vw, vb)
    h = 1e-6
    plus, minus = problem.gradient(w + h * vw, b + h * vb), problem.gradient(w - h * vw, b - h * vb)
    np.testing.assert_allclose(hw, (plus[0] - minus[0]) / (2 * h), rtol=1e-4, atol=1e-5)
    assert hb == pytest.approx((plus[1] - minus[1]) / (2 * h), rel=1e-4, abs=1e-5)


def test_float32_data_gives_float64_objective():
    p64 = random_problem(3, "log_loss")
    p32 = random_problem(3, "log_loss", dtype=np.float32)
    w = np.linspace(-1, 1, 6)
    assert p32.objective(w, 0.1) == pytest.approx(p64.objective(w, 0.1), rel=1e-6)


def test_any_two_labels_map_to_plus_minus_one():
    X = np.eye(4)
    problem = psgd.Problem(psgd.Dataset(X, ["spam", "ham", "spam", "ham"]), "hinge")
    assert list(problem.classes) == ["ham", "spam"]
    np.testing.assert_array_equal(problem.y, [1, -1, 1, -1])
    w = np.array([1.0, -1.0, 1.0, -1.0])
    assert list(problem.predict(w, 0.0)) == ["spam", "ham", "spam", "ham"]
    assert problem.metric(w, 0.0, psgd.Dataset(X, ["spam", "ham", "spam", "ham"])) == 1.0


def test_non_binary_labels_are_an_error():
    with pytest.raises(psgd.DataError, match=r"needs binary labels.*y holds 3: \[1, 2, 3\]"):
        psgd.Problem(psgd.Dataset(np.eye(3), [1, 2, 3]), "log_loss")


def test_unknown_test_labels_are_an_error():
    problem = psgd.Problem(psgd.Dataset(np.eye(2), [0, 1]), "log_loss")
    with pytest.raises(psgd.DataError, match="label 7 is not one of the two classes"):
        problem.metric(np.zeros(2), 0.0, psgd.Dataset(np.eye(2), [1, 7]))


def test_feature_count_mismatch_is_an_error():
    problem = random_problem(0, "log_loss")
    test = psgd.Dataset(np.ones((3, 5)), [1, -1, 1])
    with pytest.raises(psgd.DataError, match="5 features but the problem has 6"):
        problem.metric(np.zeros(6), 0.0, test)


@pytest.mark.parametrize("kwargs,match", [
    (dict(alpha=-1.0), "alpha must be"),
    (dict(alpha=float("inf")), "alpha must be"),
    (dict(l1_ratio=1.5), r"l1_ratio must be in \[0, 1\]"),
    (dict(l1_ratio=-0.1), r"l1_ratio must be in \[0, 1\]"),
    (dict(loss="absolute"), "unknown loss 'absolute'; known losses: hinge, log_loss"),
])
def test_bad_problem_arguments(kwargs, match):
    data = psgd.Dataset(np.eye(2), [0, 1])
    with pytest.raises(ValueError, match=match):
        psgd.Problem(data, **kwargs)


def test_regression_needs_numeric_targets():
    with pytest.raises(psgd.DataError, match="numeric targets"):
        psgd.Problem(psgd.Dataset(np.eye(2), ["a", "b"]), "squared_error")


def test_penalty_weights_and_smoothness():
    X = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 0, 1.0], [3.0, 0, 0]]))
    problem = psgd.Problem(psgd.Dataset(X, [1, -1, 1]), "log_loss", alpha=0.1)
    np.testing.assert_allclose(problem.penalty_weights, [1.5, 1.0, 1.5])
    assert problem.max_smoothness == pytest.approx(0.25 * (9 + 1) + 0.1)
    assert problem.fingerprint != psgd.Problem(problem.data, "hinge", alpha=0.1).fingerprint


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "squared_error"])
def test_objective_at_zero_weights_needs_no_pass_but_agrees(loss):
    data = psgd.make_sparse_classification(n_samples=80, n_features=20, nnz_per_row=4,
                                           random_state=1)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, 80)
    problem = psgd.Problem(psgd.Dataset(data.X, data.y, sample_weight=weights), loss,
                           alpha=0.1)
    w = np.zeros(20)
    margins = problem.decision_function(w, 0.7)
    assert problem.objective(w, 0.7) == pytest.approx(
        problem.objective(w, 0.7, margins=margins), rel=1e-15)
