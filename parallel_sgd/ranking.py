"""Learning to rank with SVM-Rank (Joachims 2002), trained by SGD on sampled pairs.

    P(w) = (1/|Pairs|) sum_{(i, j) in Pairs} max(0, 1 - (x_i - x_j).w) + alpha/2 ||w||^2

over ``Pairs`` = every ``(i, j)`` of one query (``qid``) with ``y_i > y_j``. Pairs
are drawn uniformly from ``Pairs`` on the fly (:class:`PairSampler`); they are
never materialized: with the rows of each query sorted by relevance, the rows
ranked below row ``i`` form a prefix of its query's block, so a pair is one index
into a cumulative count (O(n) memory, O(log n) per draw). Metrics: NDCG@k and
pairwise accuracy, averaged over queries.
"""
import math

import numpy as np

from .errors import DataError
from .kernels.linalg import data_arrays
from .kernels.pairwise import pairwise_epoch


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


def fit_pairwise(X, y, qid, alpha, schedule, n_epochs, rng, state, steps_per_epoch=None):
    """Train ``state`` (a :class:`~parallel_sgd.drivers.common.ModelState`) for
    ``n_epochs`` epochs of ``steps_per_epoch`` pair steps (default: the number of rows).
    Returns the steps taken; raises a DivergenceError-like ValueError if a prediction
    stops being finite."""
    sampler = PairSampler(y, qid)
    if sampler.n_pairs == 0:
        raise DataError("no query holds two rows of different relevance: no pairs to learn from")
    steps = steps_per_epoch or X.shape[0]
    data = data_arrays(X)
    for epoch in range(n_epochs):
        first, second = sampler.draw(rng, steps)
        etas = schedule(np.arange(state.steps, state.steps + steps), epoch)
        done = pairwise_epoch(data, state.arrays, state.average, alpha, first, second, etas,
                              state.steps)
        state.steps += done
        if done < steps:
            raise ValueError(f"training diverged at epoch {epoch} (a score became NaN or "
                             f"infinite); try a smaller eta0 (first step {schedule.rate(0):.3g})")
    return sampler


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
