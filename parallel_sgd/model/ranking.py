"""Learning to rank with SVM-Rank (Joachims 2002): the pairwise problem and its metrics.

    P(w) = (1/|Pairs|) sum_{(i, j) in Pairs} max(0, 1 - (x_i - x_j).w) + alpha/2 ||w||^2

over ``Pairs`` = every ``(i, j)`` of one query (``qid``) with ``y_i > y_j``
(:class:`RankingProblem`, which ``psgd.fit`` trains like any other problem). Pairs
are drawn uniformly from ``Pairs`` on the fly (:class:`PairSampler`); they are
never materialized: with the rows of each query sorted by relevance, the rows
ranked below row ``i`` form a prefix of its query's block, so a pair is one index
into a cumulative count (O(n) memory, O(log n) per draw). Metrics: NDCG@k and
pairwise accuracy, averaged over queries.
"""
import math
from functools import cached_property

import numpy as np

from ..errors import DataError
from ..kernels.linalg import data_arrays, margins
from ..maths.losses import get_loss
from .problem import LinearProblem

PAIR_CHUNK = 1 << 20  # pairs enumerated at once when an objective is evaluated


class PairSampler:
    """Uniform draws from the pairs ``(i, j)`` of one query with ``y_i > y_j``.

    ``order`` holds the rows grouped by query, each group sorted by relevance;
    ``below[k]`` is the number of rows of ``order[k]``'s query with a lower
    relevance (they are ``order[start[k]:start[k] + below[k]]``); ``cumulative``
    their running sum, so pair number ``u`` is the ``(u - cumulative[k-1])``-th row
    below ``order[k]``, where ``k`` is found by binary search.
    """

    def __init__(self, y, qid):
        y = np.asarray(y, dtype=np.float64)
        qid = np.asarray(qid)
        self.order = np.lexsort((y, qid))
        ys, qs = y[self.order], qid[self.order]
        n = y.shape[0]
        new_query = np.r_[True, qs[1:] != qs[:-1]] if n else np.zeros(0, bool)
        new_level = new_query | np.r_[True, ys[1:] != ys[:-1]] if n else new_query
        positions = np.arange(n)
        self.start = np.maximum.accumulate(np.where(new_query, positions, 0))
        level_start = np.maximum.accumulate(np.where(new_level, positions, 0))
        self.below = level_start - self.start
        self.cumulative = np.cumsum(self.below)
        self.n_pairs = int(self.cumulative[-1]) if n else 0
        self.qid = qs

    def pairs(self, u):
        """Rows ``(first, second)`` of the pairs numbered ``u`` (first ranked above)."""
        k = np.searchsorted(self.cumulative, u, side="right")
        offset = u - (self.cumulative[k] - self.below[k])
        return self.order[k], self.order[self.start[k] + offset]

    def draw(self, rng, size):
        """``size`` pairs drawn uniformly with replacement."""
        return self.pairs(rng.integers(self.n_pairs, size=size))


def check_queries(y, qid, n_samples):
    """``qid`` as an int array of ``n_samples`` entries; a DataError if it is not usable."""
    if qid is None:
        raise DataError("ranking needs qid (the query id of every row)")
    qid = np.asarray(qid)
    if qid.shape != (n_samples,):
        raise DataError(f"qid has shape {qid.shape}; X has {n_samples} rows")
    if qid.dtype.kind not in "iu":
        raise DataError(f"qid must hold integers, got dtype {qid.dtype}")
    return qid


def pair_objective(X, y, qid, coef, alpha, sampler=None):
    """The SVM-Rank objective ``P(w)`` of weights ``coef`` over every pair of ``(X, y, qid)``.

    Parameters
    ----------
    X : array or sparse matrix, shape (n_samples, n_features)
    y : array, shape (n_samples,)
        Relevance labels.
    qid : array of int, shape (n_samples,)
    coef : array, shape (n_features,)
    alpha : float
    sampler : PairSampler, optional
        One built on ``(y, qid)`` already (saves sorting the rows again).

    Returns
    -------
    float
        Mean pair hinge loss plus ``alpha/2 ||coef||^2``; the pairs are enumerated in
        chunks from the scores, never built.
    """
    sampler = sampler if sampler is not None else PairSampler(y, qid)
    coef = np.asarray(coef, dtype=np.float64).ravel()
    return pair_loss(sampler, np.asarray(X @ coef, dtype=np.float64).ravel()) \
        + 0.5 * alpha * float(coef @ coef)


def pair_loss(sampler, scores):
    """The mean hinge ``max(0, 1 - (s_i - s_j))`` over every pair of ``sampler``."""
    loss = 0.0
    for start in range(0, sampler.n_pairs, PAIR_CHUNK):
        first, second = sampler.pairs(np.arange(start, min(start + PAIR_CHUNK, sampler.n_pairs)))
        loss += float(np.maximum(0.0, 1.0 - (scores[first] - scores[second])).sum())
    return loss / max(sampler.n_pairs, 1)


class RankingProblem(LinearProblem):
    """SVM-Rank's objective on a :class:`Dataset` with ``qid`` (see the module docstring).

    ``psgd.fit(RankingProblem(data, alpha), driver="sync")`` trains it by SGD on pairs
    drawn within queries, an epoch being ``n_samples`` pairs; its trace holds the
    exact objective over every pair and, with ``test=``, the test queries' NDCG@10.
    The model has no intercept (a ranking does not change with one).

    Parameters
    ----------
    data : Dataset
        Rows, relevance labels ``y`` and query ids ``qid``.
    alpha : float >= 0
        L2 penalty strength.
    """

    fit_intercept = False
    classes = None
    metric_name = "ndcg@10"

    def __init__(self, data, alpha=1e-4):
        super().__init__(data, alpha, 0.0)
        self.qid = check_queries(data.y, data.qid, data.n_samples)
        if data.y.dtype.kind not in "biuf":
            raise DataError(f"ranking needs numeric relevance labels, got {data.y.dtype}")
        self.y = np.ascontiguousarray(data.y, dtype=np.float64)
        self.loss = get_loss("hinge")
        self.sampler = PairSampler(self.y, self.qid)
        if self.sampler.n_pairs == 0:
            raise DataError("no query holds two rows of different relevance: no pairs to "
                            "learn from")

    @property
    def n_pairs(self):
        return self.sampler.n_pairs

    def __repr__(self):
        return f"RankingProblem({self.data!r}, alpha={self.alpha:g}, pairs={self.n_pairs})"

    @cached_property
    def max_smoothness(self):
        """A bound on every pair term's smoothness scale: ``||x_i - x_j||^2 <= 4 max ||x||^2``
        (hinge is not smooth; this sets the step-size defaults), plus ``alpha``."""
        return 4.0 * float(self.row_norms_sq.max()) + self.penalty.l2

    def _weights(self, w):
        w = np.ascontiguousarray(w, dtype=np.float64)
        if w.shape != (self.n_features,):
            raise ValueError(f"w must have shape ({self.n_features},), got {w.shape}")
        return w

    def decision_function(self, w, b=0.0, X=None):
        """Scores ``X w`` (float64; default: the training rows); rank by decreasing score."""
        w = self._weights(w)
        X = self._design(X)
        values, indices, indptr = data_arrays(X)
        return margins(values, indices, indptr, w, 0.0, np.empty(X.shape[0]))

    def objective(self, w, b=0.0, margins=None):
        """``P(w)`` over every pair (``b`` is ignored; ``margins``, if given, are ``X w``)."""
        w = self._weights(w)
        scores = self.decision_function(w) if margins is None else margins
        return pair_loss(self.sampler, scores) + self.penalty.value(w)

    def encode_targets(self, data):
        """``data``'s relevance labels, after checking it has query ids."""
        check_queries(data.y, data.qid, data.n_samples)
        return np.asarray(data.y, dtype=np.float64)

    def metric(self, w, b, data):
        """NDCG@10 of the scores ``X w`` over ``data``'s queries."""
        return ndcg_at_k(self.encode_targets(data), self.decision_function(w, X=data),
                         data.qid, k=10)


def _query_blocks(qid):
    order = np.argsort(qid, kind="stable")
    bounds = np.flatnonzero(np.r_[True, qid[order][1:] != qid[order][:-1], True])
    return order, bounds


def ndcg_at_k(y, scores, qid, k=10):
    """Mean NDCG@k over the queries that hold a relevant row (ideal DCG > 0).

    ``DCG@k = sum_{r <= k} (2^rel_r - 1) / log2(1 + r)`` over the rows ranked by
    decreasing score (ties broken by row order); queries whose rows all have
    relevance 0 are left out (their NDCG is undefined)."""
    y, scores, qid = np.asarray(y, float), np.asarray(scores, float), np.asarray(qid)
    order, bounds = _query_blocks(qid)
    values = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        rows = order[lo:hi]
        gains = 2.0 ** y[rows] - 1.0
        ideal = np.sort(gains)[::-1][:k]
        discounts = 1.0 / np.log2(np.arange(2, ideal.size + 2))
        best = float(ideal @ discounts)
        if best <= 0:
            continue
        ranked = gains[np.argsort(-scores[rows], kind="stable")][:k]
        values.append(float(ranked @ discounts[:ranked.size]) / best)
    return float(np.mean(values)) if values else math.nan


def pairwise_accuracy(y, scores, qid):
    """Fraction of the pairs ``y_i > y_j`` of one query ranked ``score_i > score_j``,
    over all pairs of all queries (ties count as wrong)."""
    y, scores, qid = np.asarray(y, float), np.asarray(scores, float), np.asarray(qid)
    order, bounds = _query_blocks(qid)
    right = total = 0
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        rows = order[lo:hi]
        above = y[rows][:, None] > y[rows][None, :]
        total += int(above.sum())
        right += int((above & (scores[rows][:, None] > scores[rows][None, :])).sum())
    return right / total if total else math.nan
