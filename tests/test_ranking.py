"""SVM-Rank: the pair sampler, the pairwise kernel against NumPy, the metrics against
scikit-learn, and MQ2008 against a pairwise-transform LinearSVC."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score
from sklearn.svm import LinearSVC

import parallel_sgd as psgd
from parallel_sgd.drivers.state import ModelState
from parallel_sgd.kernels.args import Rows
from parallel_sgd.kernels.linalg import data_arrays
from parallel_sgd.kernels.pairwise import pairwise_epoch
from parallel_sgd.model.optimizers import get_optimizer
from parallel_sgd.model.ranking import PairSampler, ndcg_at_k, pairwise_accuracy


def queries(n=60, seed=0):
    rng = np.random.default_rng(seed)
    qid = rng.integers(0, 7, n) * 10 + 3          # unsorted, not contiguous
    y = rng.integers(0, 3, n).astype(float)
    y[qid == 33] = 1.0                             # a query without pairs
    X = rng.standard_normal((n, 5))
    X[rng.random((n, 5)) < 0.4] = 0.0
    return X, y, qid


def all_pairs(y, qid):
    return {(i, j) for i in range(len(y)) for j in range(len(y))
            if qid[i] == qid[j] and y[i] > y[j]}


def test_pair_numbers_enumerate_every_pair_once():
    X, y, qid = queries()
    sampler = PairSampler(y, qid)
    first, second = sampler.pairs(np.arange(sampler.n_pairs))
    drawn = list(zip(first.tolist(), second.tolist()))
    assert len(drawn) == len(set(drawn)) == sampler.n_pairs
    assert set(drawn) == all_pairs(y, qid)


def test_draws_are_uniform_and_never_cross_queries():
    X, y, qid = queries()
    sampler = PairSampler(y, qid)
    first, second = sampler.draw(np.random.default_rng(0), 200_000)
    assert np.all(qid[first] == qid[second]) and np.all(y[first] > y[second])
    counts = np.unique(first * 1000 + second, return_counts=True)[1]
    expected = 200_000 / sampler.n_pairs
    assert counts.size == sampler.n_pairs
    assert np.abs(counts - expected).max() < 6 * np.sqrt(expected)  # 6 sigma


def reference_pairwise(X, first, second, etas, alpha, start):
    """Hinge on (x_i - x_j).w with L2, step by step, and the mean of the iterates."""
    w = np.zeros(X.shape[1])
    total, count = np.zeros_like(w), 0
    for t, (i, j, eta) in enumerate(zip(first, second, etas)):
        d = X[i] - X[j]
        p = d @ w
        w = max(0.0, 1 - eta * alpha) * w
        if p < 1:
            w = w + eta * d
        if t >= start:
            count += 1
            total += w
    return w, total / count


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.kernel
def test_pairwise_kernel_matches_reference(sparse):
    X, y, qid = queries()
    first, second = PairSampler(y, qid).draw(np.random.default_rng(1), 300)
    etas = 0.3 / np.sqrt(1.0 + np.arange(300))
    data = psgd.Dataset(sp.csr_matrix(X) if sparse else X, y)
    state = ModelState(5, np.float64, get_optimizer("sgd"))
    state.start_averaging(40)
    rows = Rows(*data_arrays(data.X), data.y, None)
    done = pairwise_epoch(rows, state.kernel_model, state.average, 0.05, first, second, etas, 0)
    w, average = reference_pairwise(X, first, second, etas, 0.05, 40)
    assert done == 300
    np.testing.assert_allclose(state.iterate()[0], w, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(state.weights()[0], average, rtol=1e-12, atol=1e-13)


def test_metrics_match_their_definitions():
    X, y, qid = queries(n=200)
    scores = np.random.default_rng(2).standard_normal(200)
    per_query = []
    for q in np.unique(qid):
        rows = qid == q
        if np.any(y[rows] > 0):
            per_query.append(ndcg_score([2 ** y[rows] - 1], [scores[rows]], k=10))
    assert ndcg_at_k(y, scores, qid, k=10) == pytest.approx(np.mean(per_query), rel=1e-12)
    pairs = all_pairs(y, qid)
    right = sum(scores[i] > scores[j] for i, j in pairs)
    assert pairwise_accuracy(y, scores, qid) == pytest.approx(right / len(pairs))


def test_svmrank_on_mq2008_matches_a_pairwise_linearsvc(shared_data):
    """alpha=1e-2, 20 epochs, averaging from the sixth. The reference solves the same
    objective exactly: LinearSVC on every pair difference, C = 1/(|Pairs| alpha).
    Measured over seeds 0-4: objective 0.51136-0.51143 (LinearSVC 0.51130), test
    NDCG@10 0.713-0.720 (0.716)."""
    train = psgd.load_svmlight(shared_data / "MQ2008.Fold1.train.gz", n_features=46)
    test = psgd.load_svmlight(shared_data / "MQ2008.Fold1.test.gz", n_features=46)
    alpha = 1e-2
    rank = psgd.SVMRank(alpha=alpha, max_iter=20, average=5 * train.n_samples, random_state=0)
    rank.fit(train.X, train.y, qid=train.qid)

    sampler = PairSampler(train.y, train.qid)
    first, second = sampler.pairs(np.arange(sampler.n_pairs))
    X = train.X.toarray()
    diffs = X[first] - X[second]
    signs = np.where(np.arange(len(diffs)) % 2 == 0, 1.0, -1.0)
    svc = LinearSVC(C=1 / (sampler.n_pairs * alpha), loss="hinge", fit_intercept=False,
                    tol=1e-6, max_iter=100_000).fit(diffs * signs[:, None], signs)

    def objective(w):
        return np.mean(np.maximum(0.0, 1.0 - diffs @ w)) + alpha / 2 * w @ w
    assert rank.n_pairs_ == sampler.n_pairs
    assert objective(rank.coef_) <= objective(svc.coef_.ravel()) * (1 + 5e-4)
    ours = rank.score(test.X, test.y, test.qid)
    theirs = ndcg_at_k(test.y, test.X @ svc.coef_.ravel(), test.qid, k=10)
    assert ours >= theirs - 0.005
    assert pairwise_accuracy(test.y, rank.decision_function(test.X), test.qid) > 0.81


def test_ranking_errors_are_clear():
    X, y, qid = queries()
    with pytest.raises(ValueError, match="ranking needs qid"):
        psgd.SVMRank().fit(X, y)
    with pytest.raises(ValueError, match="qid has shape"):
        psgd.SVMRank().fit(X, y, qid=qid[:5])
    with pytest.raises(ValueError, match="no query holds two rows of different relevance"):
        psgd.SVMRank().fit(X, np.ones(len(y)), qid=qid)
    with pytest.raises(ValueError, match="alpha must be a number > 0"):
        psgd.SVMRank(alpha=0).fit(X, y, qid=qid)


# -- SVM-Rank through psgd.fit -----------------------------------------------------------
def test_fit_trains_a_ranking_problem_with_a_trace_like_any_other():
    X, _, qid = queries(n=200, seed=4)
    y = np.digitize(X @ np.array([1.0, -0.5, 0.3, 0.0, 0.8]), [-0.5, 0.5]).astype(float)
    train = psgd.Dataset(X, y, qid=qid)
    problem = psgd.RankingProblem(train, alpha=0.05)
    result = psgd.fit(problem, n_epochs=4, eval_every=1.0, test=train, random_state=3)
    assert [row["epoch"] for row in result.trace] == [0, 1, 2, 3, 4]
    assert result.trace[0]["objective"] == pytest.approx(1.0)  # every pair at margin 0
    sampler = PairSampler(y, qid)
    scores = X @ result.coef
    first, second = sampler.pairs(np.arange(sampler.n_pairs))
    exact = np.mean(np.maximum(0.0, 1.0 - scores[first] + scores[second])) \
        + 0.025 * result.coef @ result.coef
    assert result.objective == pytest.approx(exact, rel=1e-12)
    assert result.objective < 0.5 * result.trace[0]["objective"] and result.intercept == 0.0
    assert result.trace[-1]["test_metric"] == pytest.approx(ndcg_at_k(y, scores, qid, k=10))
    assert result.trace[-1]["n_updates"] == 4 * 200 and result.state.steps == 4 * 200


def test_fit_on_a_ranking_problem_is_the_estimator_and_checkpoints_change_nothing():
    X, y, qid = queries(n=150, seed=5)
    seed = np.random.RandomState(0).randint(2**31 - 1)  # what SVMRank(random_state=0) draws
    problem = psgd.RankingProblem(psgd.Dataset(X, y, qid=qid), alpha=0.01)
    every_epoch = psgd.fit(problem, n_epochs=3, random_state=seed, average=100)
    halves = psgd.fit(problem, n_epochs=3, random_state=seed, average=100, eval_every=0.5)
    estimator = psgd.SVMRank(alpha=0.01, max_iter=3, average=100, random_state=0)
    estimator.fit(X, y, qid=qid)
    np.testing.assert_array_equal(every_epoch.coef, estimator.coef_)
    np.testing.assert_array_equal(halves.coef, estimator.coef_)
    assert len(halves.trace) == 7


def test_ranking_problems_refuse_what_they_cannot_do():
    X, y, qid = queries()
    problem = psgd.RankingProblem(psgd.Dataset(X, y, qid=qid), alpha=0.01)
    with pytest.raises(ValueError, match="unknown driver 'hogwild'.*sync"):
        psgd.fit(problem, driver="hogwild", n_workers=2)
    with pytest.raises(ValueError, match="one thread: n_workers must be 1"):
        psgd.fit(problem, n_workers=2)
    with pytest.raises(ValueError, match="optimizer 'sgd' only"):
        psgd.fit(problem, optimizer="adam")
    with pytest.raises(ValueError, match="no intercept"):
        psgd.fit(problem, intercept_init=1.0)
    with pytest.raises(ValueError, match="ranking needs qid"):
        psgd.RankingProblem(psgd.Dataset(X, y), alpha=0.01)
    with pytest.raises(ValueError, match="no pairs to learn from"):
        psgd.RankingProblem(psgd.Dataset(X, np.ones(len(y)), qid=qid))
    with pytest.raises(ValueError, match="ranking needs qid"):
        psgd.fit(problem, test=psgd.Dataset(X, y))
