"""`reference_optimum`: certified optima, agreement with scikit-learn/liblinear, caching."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.datasets import load_svmlight_file

import parallel_sgd as psgd
from parallel_sgd import reference
from parallel_sgd.reference import Optimum, reference_optimum

LOSSES = ["squared_error", "log_loss", "hinge", "squared_hinge", "modified_huber"]
PENALTIES = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.5}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets an empty memory cache and its own disk cache folder."""
    monkeypatch.setenv("PSGD_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(reference, "_MEMORY", {})


def load(folder, name, n_features):
    X, y = load_svmlight_file(str(folder / name), n_features=n_features)
    return psgd.Dataset(X, y)


def tiny_data(seed, loss, sparse=False, n=40, d=3):
    """A small noisy problem with sample weights (some zero) and a sparse-ish design."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.7)
    if loss == "squared_error":
        y = X @ rng.normal(size=d) + 0.5 + 0.3 * rng.normal(size=n)
    else:
        y = np.where(X @ rng.normal(size=d) + 0.3 + rng.normal(size=n) > 0, 1.0, -1.0)
    weights = rng.uniform(0.5, 2.0, size=n)
    weights[:2] = 0.0
    return psgd.Dataset(sp.csr_matrix(X) if sparse else X, y, sample_weight=weights)


def min_norm_subgradient(problem, w, b):
    """The smallest element of the subdifferential of P at ``(w, b)`` (smooth losses)."""
    gw, gb = problem.loss_gradient(w, b)
    gw = gw + problem.penalty.l2 * w
    l1 = problem.penalty.l1
    sub = np.where(w != 0, gw + l1 * np.sign(w), np.sign(gw) * np.maximum(np.abs(gw) - l1, 0))
    return np.append(sub, gb) if problem.fit_intercept else sub


def brute_force(problem, start):
    """Powell from ``start``, then from its own answer: a slow, independent minimizer."""
    d = problem.n_features

    def objective(x):
        return problem.objective(x[:d], x[d] if problem.fit_intercept else 0.0)

    x = np.append(start[0], start[1]) if problem.fit_intercept else start[0]
    x = x + 0.1
    for _ in range(3):
        x = minimize(objective, x, method="Powell",
                     options=dict(xtol=1e-12, ftol=1e-15, maxfev=40000)).x
    return objective(x)


# -- optimality on small problems ---------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_small_problems_are_solved_exactly(loss, penalty, fit_intercept):
    seed = LOSSES.index(loss) * 10 + list(PENALTIES).index(penalty)
    problems = [psgd.Problem(tiny_data(seed, loss, sparse), loss=loss, alpha=0.05,
                             l1_ratio=PENALTIES[penalty], fit_intercept=fit_intercept)
                for sparse in (False, True)]
    dense, csr = (reference_optimum(p, cache=False) for p in problems)
    problem = problems[0]
    tol = reference.DEFAULT_TOL["smooth" if problem.loss.is_smooth else "hinge"]
    for opt, p in ((dense, problems[0]), (csr, problems[1])):
        assert isinstance(opt, Optimum)
        assert opt.certified and opt.gap <= tol * abs(opt.objective)
        assert opt.objective == p.objective(opt.coef, opt.intercept)
        assert opt.coef.dtype == np.float64 and opt.coef.shape == (p.n_features,)
    assert csr.objective == pytest.approx(dense.objective, rel=1e-9, abs=1e-12)
    if not fit_intercept:
        assert dense.intercept == 0.0

    w, b, value = dense.coef, dense.intercept, dense.objective
    if problem.loss.is_smooth:
        assert np.abs(min_norm_subgradient(problem, w, b)).max() < 1e-7
    rng = np.random.default_rng(seed)
    for scale in (1e-2, 1e-4, 1e-6):
        for _ in range(10):
            dw = scale * rng.normal(size=w.shape)
            db = scale * rng.normal() if fit_intercept else 0.0
            assert problem.objective(w + dw, b + db) >= value - 1e-13 * abs(value)
    assert value <= brute_force(problem, (w, b)) + 1e-12 * abs(value)


def test_float32_data_and_no_penalty_least_squares():
    data = tiny_data(3, "squared_error")
    problem = psgd.Problem(data.astype(np.float32), loss="squared_error", alpha=0.0)
    with pytest.warns(RuntimeWarning, match="not certified"):
        opt = reference_optimum(problem, cache=False)
    assert not opt.certified  # no penalty: the dual has no feasible point in floating point
    assert opt.gap <= 1e-10 * opt.objective  # the Newton-decrement estimate
    X = np.hstack([data.X.astype(np.float32).astype(np.float64), np.ones((data.n_samples, 1))])
    root = np.sqrt(data.sample_weight)
    exact = np.linalg.lstsq(root[:, None] * X, root * data.y, rcond=None)[0]
    np.testing.assert_allclose(np.append(opt.coef, opt.intercept), exact, rtol=1e-7, atol=1e-9)


def test_no_minimizer_terminates_with_a_warning():
    X = np.array([[1.0, 0.5], [2.0, -1.0], [-1.0, 0.3], [-2.0, 1.0]])
    problem = psgd.Problem(psgd.Dataset(X, [1, 1, 0, 0]), loss="log_loss", alpha=0.0)
    with pytest.warns(RuntimeWarning, match="alpha=0"):
        opt = reference_optimum(problem, cache=False)
    assert not opt.certified
    assert np.isfinite(opt.objective) and np.all(np.isfinite(opt.coef))


def test_bad_arguments():
    problem = psgd.Problem(tiny_data(0, "log_loss"), loss="log_loss")
    for tol in (0.0, -1e-3, 1.0, 1e-18, float("nan")):
        with pytest.raises(ValueError, match="tol"):
            reference_optimum(problem, tol=tol)
    with pytest.raises(TypeError, match="Problem"):
        reference_optimum(tiny_data(0, "log_loss"))


# -- real data against scikit-learn and liblinear -------------------------------------------
@pytest.mark.parametrize("name, n_features, alpha", [("a9a.gz", 123, 1e-4),
                                                     ("ijcnn1.gz", 22, 1e-5)])
def test_log_loss_matches_scikit_learn(shared_data, name, n_features, alpha):
    from sklearn.linear_model import LogisticRegression

    data = load(shared_data, name, n_features)
    problem = psgd.Problem(data, loss="log_loss", alpha=alpha)
    opt = reference_optimum(problem)
    assert opt.certified and opt.relative_gap <= 1e-10
    clf = LogisticRegression(C=1.0 / (data.n_samples * alpha), tol=1e-12, max_iter=1000,
                             solver="newton-cholesky").fit(data.X, data.y)
    theirs = problem.objective(clf.coef_.ravel(), clf.intercept_[0])
    assert opt.objective <= theirs + 1e-12 * abs(theirs)
    assert theirs - opt.objective <= 1e-10 * abs(theirs)
    np.testing.assert_allclose(opt.coef, clf.coef_.ravel(), rtol=1e-4, atol=1e-5)
    assert opt.intercept == pytest.approx(clf.intercept_[0], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("alpha", [1e-4, 1e-5])
def test_hinge_without_intercept_matches_liblinear(shared_data, alpha):
    from sklearn.svm import LinearSVC

    data = load(shared_data, "a9a.gz", 123)
    problem = psgd.Problem(data, loss="hinge", alpha=alpha, fit_intercept=False)
    opt = reference_optimum(problem)
    assert opt.certified and opt.relative_gap <= 1e-9
    # liblinear's dual CD visits rows in a random order; seed 0 converges (some
    # seeds stop at max_iter about 3e-6 above P*, which says nothing about ours)
    svc = LinearSVC(loss="hinge", dual=True, C=1.0 / (data.n_samples * alpha),
                    fit_intercept=False, tol=1e-10, max_iter=200_000,
                    random_state=0).fit(data.X, data.y)
    theirs = problem.objective(svc.coef_.ravel(), 0.0)
    # P* <= theirs, so ours can exceed theirs by at most our certified gap
    assert opt.objective <= theirs + opt.gap + 1e-15
    assert theirs - opt.objective <= 1e-7 * theirs


def test_hinge_with_intercept_beats_liblinear(shared_data):
    from sklearn.svm import LinearSVC

    data = load(shared_data, "a9a.gz", 123)
    alpha = 1e-4
    problem = psgd.Problem(data, loss="hinge", alpha=alpha)
    opt = reference_optimum(problem)
    assert opt.certified and opt.relative_gap <= 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear may not converge with a scaled intercept
        svc = LinearSVC(loss="hinge", dual=True, C=1.0 / (data.n_samples * alpha),
                        intercept_scaling=10.0, tol=1e-6, max_iter=5_000,
                        random_state=0).fit(data.X, data.y)
    theirs = problem.objective(svc.coef_.ravel(), svc.intercept_[0])
    assert opt.objective <= theirs + opt.gap + 1e-15
    assert theirs - opt.objective <= 1e-3 * theirs


def test_l1_hinge_is_the_linear_program(shared_data):
    data = load(shared_data, "a1a.gz", 123)
    problem = psgd.Problem(data, loss="hinge", alpha=1e-3, l1_ratio=1.0)
    opt = reference_optimum(problem)
    assert opt.method == "highs" and opt.certified and opt.relative_gap <= 1e-9
    assert np.count_nonzero(opt.coef) < problem.n_features


# -- truncated Newton on large d --------------------------------------------------------------
@pytest.fixture(scope="module")
def wide_data():
    """More features than the dense Hessian allows (d > 2000), so truncated Newton runs."""
    from parallel_sgd.data.generators import make_sparse_classification

    data = make_sparse_classification(n_samples=3000, n_features=6000, nnz_per_row=20,
                                      random_state=3)
    weights = np.random.default_rng(3).uniform(0.0, 2.0, size=data.n_samples)
    weights[:5] = 0.0
    return psgd.Dataset(data.X, data.y, sample_weight=weights)


@pytest.mark.parametrize("loss", ["log_loss", "squared_error", "squared_hinge", "modified_huber"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_truncated_newton_agrees_with_lbfgs_and_newton(wide_data, loss, fit_intercept, monkeypatch):
    problem = psgd.Problem(wide_data, loss=loss, alpha=1e-5, fit_intercept=fit_intercept)
    opt = reference_optimum(problem, cache=False)
    assert opt.method == "newton_cg"
    assert opt.certified and opt.relative_gap <= reference.DEFAULT_TOL["smooth"]
    assert opt.objective == problem.objective(opt.coef, opt.intercept)
    # the L-BFGS + Newton path, an independent solver, finds the same P*
    from parallel_sgd.reference import smooth

    monkeypatch.setattr(smooth, "newton_cg", lambda model, tol: (
        np.zeros(model.d), 0.0, 1.0, np.inf, False, 0))
    other = reference_optimum(problem, cache=False)
    assert other.method == "lbfgs+newton" and other.certified
    assert abs(opt.objective - other.objective) <= opt.gap + other.gap + 1e-15
    assert np.abs(min_norm_subgradient(problem, opt.coef, opt.intercept)).max() < 1e-8


def test_truncated_newton_without_l2_is_not_used(wide_data):
    problem = psgd.Problem(wide_data, loss="log_loss", alpha=1e-4, l1_ratio=0.5)
    opt = reference_optimum(problem, cache=False)
    assert opt.method == "lbfgs+newton" and opt.certified


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hinge_dual_cd_on_threads_reaches_the_serial_optimum(wide_data, fit_intercept,
                                                            monkeypatch):
    """Dual CD cut into parts that threads run at once (atomic adds to v) certifies
    the same P* as the serial method (the parts only apply to large data by default)."""
    from parallel_sgd.reference import hinge

    problem = psgd.Problem(wide_data, loss="hinge", alpha=1e-4, fit_intercept=fit_intercept)
    serial = reference_optimum(problem, cache=False)
    monkeypatch.setattr(hinge, "_parts", lambda problem: 2)
    assert hinge.HingeDual(problem).state.bounds.tolist() == [0, 1497, 2995]  # 5 rows weigh 0
    threaded = reference_optimum(problem, cache=False)
    for opt in (serial, threaded):
        assert opt.certified and opt.relative_gap <= reference.DEFAULT_TOL["hinge"]
    assert abs(threaded.objective - serial.objective) <= threaded.gap + serial.gap + 1e-15


@pytest.fixture(scope="module")
def text_like():
    """The default synthetic problem: 200,000 x 47,236 with 15M non-zeros."""
    from parallel_sgd.data.generators import make_sparse_classification

    return make_sparse_classification(random_state=0)


@pytest.mark.slow
@pytest.mark.parametrize("loss, l1_ratio", [("log_loss", 0.0), ("hinge", 0.0),
                                            ("squared_hinge", 0.0), ("log_loss", 0.5)])
def test_large_sparse_problem(text_like, loss, l1_ratio):
    problem = psgd.Problem(text_like, loss=loss, alpha=1e-5, l1_ratio=l1_ratio)
    opt = reference_optimum(problem, cache=False)
    kind = "smooth" if problem.loss.is_smooth else "hinge"
    assert opt.certified and opt.relative_gap <= reference.DEFAULT_TOL[kind]
    if l1_ratio > 0:
        assert 0 < np.count_nonzero(opt.coef) < problem.n_features


# -- caching -----------------------------------------------------------------------------
def forbid_solving(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the optimum was recomputed")

    monkeypatch.setattr(reference, "_smooth_optimum", fail)


def test_cached_in_memory_and_on_disk(tmp_path, monkeypatch):
    problem = psgd.Problem(tiny_data(1, "log_loss"), loss="log_loss", alpha=0.01)
    first = reference_optimum(problem)
    path = tmp_path / "home" / "optima" / f"{problem.fingerprint}.npz"
    assert path.is_file()
    with monkeypatch.context() as m:
        forbid_solving(m)
        assert reference_optimum(problem) is first
        m.setattr(reference, "_MEMORY", {})  # a fresh process: only the disk remains
        again = reference_optimum(problem)
        # a looser tolerance is served by the stored tighter one
        assert reference_optimum(problem, tol=1e-6).objective == first.objective
    assert again is not first
    for field in ("intercept", "objective", "gap", "certified", "method", "n_iter", "time_s"):
        assert getattr(again, field) == getattr(first, field)
    np.testing.assert_array_equal(again.coef, first.coef)
    assert not again.coef.flags.writeable


def test_cache_false_recomputes_and_stores_nothing(tmp_path):
    problem = psgd.Problem(tiny_data(2, "squared_hinge"), loss="squared_hinge", alpha=0.01)
    calls = []
    original = reference._smooth_optimum

    def counting(*args):
        calls.append(1)
        return original(*args)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(reference, "_smooth_optimum", counting)
        a = reference_optimum(problem, cache=False)
        b = reference_optimum(problem, cache=False)
        reference_optimum(problem)
        reference_optimum(problem)
    assert len(calls) == 3
    assert a is not b and a.objective == b.objective
    assert len(list((tmp_path / "home" / "optima").glob("*.npz"))) == 1


def test_corrupt_or_looser_cache_file_is_replaced(tmp_path, monkeypatch):
    problem = psgd.Problem(tiny_data(4, "modified_huber"), loss="modified_huber", alpha=0.01)
    path = tmp_path / "home" / "optima" / f"{problem.fingerprint}.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    opt = reference_optimum(problem)
    assert opt.certified
    monkeypatch.setattr(reference, "_MEMORY", {})
    with monkeypatch.context() as m:
        forbid_solving(m)
        assert reference_optimum(problem).objective == opt.objective  # rewritten and readable
        with pytest.raises(AssertionError, match="recomputed"):
            reference_optimum(problem, tol=1e-13)  # tighter than what is stored
    assert not list(path.parent.glob(".*"))  # no temporary file left behind
