"""The Numba epoch kernels against the NumPy reference, dense and CSR, float32 and float64."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import parallel_sgd as psgd
from parallel_sgd.drivers.state import ModelState, kernel_rows, sgd_config
from parallel_sgd.kernels.minibatch import make_scratch, minibatch_epoch
from parallel_sgd.kernels.sgd import sgd_epoch
from parallel_sgd.model.optimizers import get_optimizer

from . import reference as ref

pytestmark = pytest.mark.kernel  # also run as plain Python in CI (NUMBA_DISABLE_JIT=1)

LOSSES = ["squared_error", "log_loss", "hinge", "squared_hinge", "modified_huber"]
RULES = ["sgd", "momentum", "adagrad", "rmsprop", "adam"]
PENALTIES = [(0.0, 0.0), (0.05, 0.0), (0.05, 1.0), (0.05, 0.4)]
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def make_data(n=50, d=9, seed=0, loss="log_loss", weighted=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.5] = 0.0
    X[:, 3] = 0.0  # a column no row touches
    if loss == "squared_error":
        y = X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)
    else:
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    weights = rng.uniform(0.5, 2.0, n) if weighted else None
    return X, y, weights


def run_kernel(X, y, loss, alpha, l1_ratio, rule, order, etas, batch_size=1, dtype=np.float64,
               sparse=False, weights=None, fit_intercept=True):
    data = psgd.Dataset(sp.csr_matrix(X) if sparse else X, y, sample_weight=weights, dtype=dtype)
    problem = psgd.Problem(data, loss, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept)
    rule = get_optimizer(rule)
    state = ModelState(data.n_features, data.dtype, rule)
    if batch_size == 1:
        done = sgd_epoch(kernel_rows(problem), state.kernel_model, sgd_config(problem, rule), order,
                         etas, 0)
    else:
        done = minibatch_epoch(kernel_rows(problem), state.kernel_model, sgd_config(problem, rule),
                               order, etas, batch_size, 0,
                               make_scratch(data.n_features, batch_size))
    assert done == len(etas)
    return state.weights()


def assert_close(actual, expected, rtol):
    (w, b), (w_ref, b_ref) = actual, expected
    scale = max(1.0, np.abs(w_ref).max(), abs(b_ref))
    np.testing.assert_allclose(w, w_ref, rtol=rtol, atol=rtol * scale)
    assert abs(b - b_ref) <= rtol * scale


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("alpha,l1_ratio", PENALTIES, ids=["none", "l2", "l1", "enet"])
@pytest.mark.parametrize("loss", LOSSES)
def test_epoch_matches_reference(loss, alpha, l1_ratio, rule, sparse, dtype):
    X, y, _ = make_data(loss=loss)
    order = np.random.default_rng(1).permutation(len(y)).astype(np.int64)
    eta0 = 0.05 if rule in ("sgd", "momentum") else 0.02
    etas = eta0 / np.sqrt(1.0 + np.arange(len(y)))
    got = run_kernel(X, y, loss, alpha, l1_ratio, rule, order, etas, dtype=dtype, sparse=sparse)
    want = ref.ReferenceSGD(X, y, loss, alpha, l1_ratio, rule).run(order, etas).weights()
    assert_close(got, want, TOLERANCE[dtype])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("alpha,l1_ratio", PENALTIES[1:], ids=["l2", "l1", "enet"])
def test_minibatch_matches_reference(alpha, l1_ratio, rule, sparse):
    X, y, weights = make_data(loss="log_loss", weighted=True)
    batch = 7
    order = np.random.default_rng(2).permutation(len(y)).astype(np.int64)
    etas = np.full(-(-len(y) // batch), 0.1)  # the last batch is short
    got = run_kernel(X, y, "log_loss", alpha, l1_ratio, rule, order, etas, batch_size=batch,
                     sparse=sparse, weights=weights)
    want = ref.ReferenceSGD(X, y, "log_loss", alpha, l1_ratio, rule,
                            sample_weight=weights).run(order, etas, batch_size=batch).weights()
    assert_close(got, want, 1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_sample_weights_and_no_intercept(loss):
    X, y, weights = make_data(loss=loss, weighted=True, seed=3)
    order = np.arange(len(y), dtype=np.int64)[::-1].copy()
    etas = np.full(len(y), 0.03)
    got = run_kernel(X, y, loss, 0.05, 0.4, "sgd", order, etas, sparse=True, weights=weights,
                     fit_intercept=False)
    want = ref.ReferenceSGD(X, y, loss, 0.05, 0.4, "sgd", fit_intercept=False,
                            sample_weight=weights).run(order, etas).weights()
    assert got[1] == 0.0
    assert_close(got, want, 1e-12)


def test_scale_underflow_is_folded():
    """Many strong shrink steps push the weight scale below 1e-9; the result stays exact."""
    X, y, _ = make_data(n=40, seed=4)
    order = np.tile(np.arange(40), 5).astype(np.int64)
    etas = np.full(len(order), 0.5)
    got = run_kernel(X, y, "log_loss", 0.9, 0.0, "sgd", order, etas, sparse=True)
    want = ref.ReferenceSGD(X, y, "log_loss", 0.9, 0.0).run(order, etas).weights()
    assert_close(got, want, 1e-11)


def test_shrink_factor_below_zero_resets_weights():
    X, y, _ = make_data(n=20, seed=5)
    order = np.arange(20, dtype=np.int64)
    etas = np.full(20, 2.0)  # eta * l2 = 2 > 1: max(0, 1 - eta*l2) = 0
    got = run_kernel(X, y, "log_loss", 1.0, 0.0, "sgd", order, etas)
    want = ref.ReferenceSGD(X, y, "log_loss", 1.0, 0.0).run(order, etas).weights()
    assert_close(got, want, 1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.sampled_from(LOSSES), rule=st.sampled_from(RULES),
       l1_ratio=st.sampled_from([0.0, 0.5, 1.0]), batch=st.sampled_from([1, 4]))
def test_dense_and_csr_give_the_same_epoch(seed, loss, rule, l1_ratio, batch):
    X, y, weights = make_data(n=30, d=6, seed=seed, loss=loss, weighted=seed % 2 == 0)
    order = np.random.default_rng(seed).permutation(30).astype(np.int64)
    etas = np.full(-(-30 // batch), 0.05)
    args = (X, y, loss, 0.02, l1_ratio, rule, order, etas)
    dense = run_kernel(*args, batch_size=batch, weights=weights)
    csr = run_kernel(*args, batch_size=batch, weights=weights, sparse=True)
    assert_close(dense, csr, 1e-13)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.sampled_from(LOSSES), rule=st.sampled_from(RULES),
       sparse=st.booleans())
def test_zero_step_size_changes_nothing(seed, loss, rule, sparse):
    X, y, _ = make_data(n=20, d=5, seed=seed, loss=loss)
    order = np.arange(20, dtype=np.int64)
    w, b = run_kernel(X, y, loss, 0.1, 0.5, rule, order, np.zeros(20), sparse=sparse)
    assert not w.any() and b == 0.0


def test_non_finite_prediction_stops_the_kernel():
    X, y, _ = make_data(n=20, d=5, loss="squared_error")
    data = psgd.Dataset(X * 1e150, y)
    problem = psgd.Problem(data, "squared_error", alpha=0.0)
    rule = get_optimizer("sgd")
    state = ModelState(5, np.float64, rule)
    done = sgd_epoch(kernel_rows(problem), state.kernel_model, sgd_config(problem, rule),
                     np.arange(20, dtype=np.int64), np.full(20, 1.0), 0)
    assert done < 20


# -- dual coordinate ascent on threads ----------------------------------------------------------
def test_atomic_add_loses_no_write_between_threads():
    import numba
    from numba import prange

    if numba.config.DISABLE_JIT or numba.get_num_threads() < 2:
        pytest.skip("needs two threads running compiled code")

    from parallel_sgd._jit import parallel_jit
    from parallel_sgd.kernels.atomics import atomic_add

    @parallel_jit
    def hammer(v, where):
        for t in prange(2):
            for k in range(where.shape[0]):
                atomic_add(v, where[k], 1.0)
        return v

    # plain adds lose about a third of these on two busy cores
    where = np.random.default_rng(0).integers(0, 3, 500_000)
    v = hammer(np.zeros(3), where)
    np.testing.assert_array_equal(v, 2.0 * np.bincount(where, minlength=3))


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_dual_cd_in_parts_reaches_the_optimality_conditions(parts):
    """Each part visits only its own coordinates; together they solve the box QP
    (projected gradient ~ 0, ``v = sum beta y x``) whatever the number of parts."""
    from parallel_sgd.kernels.args import DualConfig, DualData, DualState
    from parallel_sgd.kernels.dual_cd import dual_cd

    X, y, _ = make_data(n=60, d=9, seed=4)
    X = sp.csr_matrix(X)
    upper = np.full(60, 0.5)
    upper[:3] = 0.0  # weight 0: never visited
    data = DualData(X.data, X.indices, X.indptr, y, upper, np.asarray(X.multiply(X).sum(1)).ravel())
    index = np.flatnonzero(upper > 0).astype(np.int64)
    beta, v = np.zeros(60), np.zeros(9)
    state = DualState(beta, v, index, np.arange(1, parts + 1, dtype=np.uint64) * 12345,
                      np.linspace(0, index.size, parts + 1).astype(np.int64))
    margin = 1.0 - 0.3 * y
    epochs, spread, visits = dual_cd(data, state, DualConfig(margin, 0.0), 10**9, 1e-12)
    assert spread <= 1e-12 and epochs > 1
    assert sorted(index.tolist()) == list(range(3, 60))  # a permutation of the visited ones
    np.testing.assert_allclose(v, X.T @ (y * beta), atol=1e-12)
    assert np.all(beta[:3] == 0.0) and np.all((beta >= 0.0) & (beta <= upper))
    g = y * (X @ v) - margin  # the dual's gradient, negated
    free = (beta > 0) & (beta < upper)
    assert np.abs(g[free]).max() <= 1e-10
    assert np.all(g[(beta == 0) & (upper > 0)] >= -1e-10) and np.all(g[beta == upper] <= 1e-10)
