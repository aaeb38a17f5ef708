"""Mini-batch SGD: each batch's per-example derivatives in parallel, then one update.

The batch gradient is ``(1/B) sum_r g_r x_r`` at the same weights for every row
of the batch, plus the penalty as in :mod:`.sgd` (for the sgd rule one shrink per
batch; for the others the touched-coordinate estimate, each row contributing
``pw_j / B``). ``batch_size=1`` gives the serial kernel's steps.
"""
import numpy as np
from numba import prange

from .._jit import jit, parallel_jit
from ..maths.losses import loss_deriv
from .args import L1_TOTAL, SCALE, BatchScratch, StepSize
from .rows import row_bounds, row_dot, row_entry, sample_weight
from .rules import SGD, bias_corrections, rule_delta
from .sgd import add_row, catch_up_l1, rule_step, shrink


@jit
def apply_batch(data, model, config, rows, eta, t, scratch):
    """One update from the derivatives ``scratch.derivs`` of the batch's rows ``rows``,
    at step size ``eta`` (global step ``t``)."""
    X, indices, indptr, y, weights = data
    v, b, scalars, state = model.v, model.b, model.scalars, model.rule_state
    derivs, acc, count, mark, touched = scratch
    l2, l1, intercept_rate = config.l2, config.l1, config.intercept_rate
    d = v.shape[0]
    n = rows.shape[0]
    inv_b = 1.0 / n
    g_b = 0.0
    for r in range(n):
        g_b += derivs[r]
    g_b *= inv_b
    if config.rule.code == SGD:
        if l2 > 0.0:
            scalars[SCALE] = shrink(v, scalars[SCALE], 1.0 - eta * l2)
        scalars[L1_TOTAL] += eta * l1
        q, scale, l1_total = model.q, scalars[SCALE], scalars[L1_TOTAL]
        for r in range(n):
            i = rows[r]
            lo, hi = row_bounds(X, indptr, i)
            g = derivs[r] * inv_b
            if g != 0.0:
                add_row(X, indices, i, lo, hi, v, -eta * g / scale)
            if l1 > 0.0:
                catch_up_l1(X, indices, i, lo, hi, v, q, scale, l1_total)
        if intercept_rate > 0.0:
            b[0] -= intercept_rate * eta * g_b
        return
    # adaptive rules: sum the batch gradient per touched coordinate, then step each once
    stamp = mark[d] + 1
    mark[d] = stamp
    n_touched = 0
    for r in range(n):
        i = rows[r]
        lo, hi = row_bounds(X, indptr, i)
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            if x != 0.0:
                if mark[j] != stamp:
                    mark[j] = stamp
                    touched[n_touched] = j
                    n_touched += 1
                    acc[j] = 0.0
                    count[j] = 0.0
                acc[j] += derivs[r] * x * inv_b
                count[j] += inv_b
    rule, pw = config.rule, config.penalty_weights
    step = StepSize(eta, *bias_corrections(rule, t))
    for a in range(n_touched):
        j = touched[a]
        v[j] = rule_step(rule, state, j, acc[j], v[j], count[j] * pw[j], l2, l1, step)
    if intercept_rate > 0.0:
        b[0] += intercept_rate * rule_delta(rule, state, d, g_b, step)


def make_scratch(n_features, batch_size):
    """Per-fit scratch for :func:`apply_batch` (allocated once, never per example)."""
    return BatchScratch(np.zeros(batch_size), np.zeros(n_features), np.zeros(n_features),
                        np.zeros(n_features + 1, dtype=np.int64),
                        np.zeros(n_features, dtype=np.int64))


@parallel_jit
def minibatch_epoch(data, model, config, order, etas, batch_size, t_start, scratch):
    """Run ``len(etas)`` mini-batch steps over ``order``; returns the steps done.

    Each batch's derivatives are computed in parallel (``prange`` over the
    batch), then :func:`apply_batch` makes one update. A short last batch is
    averaged over its own size. Stops early, returning the batch index, when a
    prediction is not finite.
    """
    X, indices, indptr, y, weights = data
    v, b, scalars = model.v, model.b, model.scalars
    derivs = scratch.derivs
    loss = config.loss
    m = order.shape[0]
    n_steps = etas.shape[0]
    for s in range(n_steps):
        first = s * batch_size
        size = min(m, first + batch_size) - first
        scale, intercept = scalars[SCALE], b[0]
        bad = 0
        for r in prange(size):
            i = order[first + r]
            p = scale * row_dot(X, indices, indptr, i, v) + intercept
            if np.isfinite(p):
                derivs[r] = sample_weight(weights, i) * loss_deriv(loss, p, y[i])
            else:
                derivs[r] = 0.0
                bad += 1
        if bad > 0:
            return s
        apply_batch(data, model, config, order[first:first + size], etas[s], t_start + s,
                    scratch)
    return n_steps
