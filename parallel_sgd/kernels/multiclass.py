"""Serial SGD for multiclass linear models (softmax, Crammer-Singer) and full passes.

The weights ``W`` (d x K) are held flat and row-major, ``v[j*K + k]``, so the K
weights of one feature share cache lines; ``W = scale * v`` (the weight-scale
trick: L2 costs O(1) per step) and L1 is the cumulative penalty of Tsuruoka et
al. on the touched rows of ``W`` only, as in :mod:`.sgd`.

State passed in (and mutated): ``model``, a :class:`~.args.MulticlassModel` (``v``
and ``q``, the L1 penalty each weight has received, of length ``d*K`` in the data's
dtype; the weight scale and the cumulative L1 penalty per weight in ``scalars``;
the K intercepts ``b``), and ``scratch``, :class:`~.args.Scores` for the scores and
their derivatives, so a step allocates nothing.

One step on row ``i`` with step size ``eta``::

    p = scale * (x_i v) + b;    g = s_i * dl/dp(p, y_i)     (K scores, K derivatives)
    scale *= max(0, 1 - eta*l2)
    v[j, :] -= (eta/scale) * x_ij * g   for the row's features j;   b -= eta * g
    l1_total += eta*l1; catch up L1 on the row's features (all K weights of each)
"""
import numpy as np
from numba import get_num_threads, prange

from .._jit import inlined_jit, jit, parallel_jit
from ..maths.multiclass_losses import SOFTMAX, multiclass_loss_grad
from ..maths.penalties import cumulative_l1
from .args import L1_TOTAL, SCALE
from .rows import prefetch_ahead, prefetch_weights_ahead, row_bounds, row_entry, sample_weight
from .sgd import shrink


@jit
def row_scores(X, indices, indptr, i, v, n_classes, out):
    """``out[k] = x_i . v[:, k]`` (float64) for the flat d x K weights ``v``."""
    for k in range(n_classes):
        out[k] = 0.0
    lo, hi = row_bounds(X, indptr, i)
    for e in range(lo, hi):
        j, x = row_entry(X, indices, i, e)
        base = j * n_classes
        for k in range(n_classes):
            out[k] += v[base + k] * x
    return out


@inlined_jit
def finish_scores(p, scale, b):
    """``p = scale * p + b`` in place; False when a score is not finite."""
    finite = True
    for k in range(b.shape[0]):
        p[k] = scale * p[k] + b[k]
        finite = finite and np.isfinite(p[k])
    return finite


@inlined_jit
def step_intercepts(g, b, step, intercept_rate, scale):
    """Turn the derivatives ``g`` into the weights' step (``g *= step / scale``) after
    moving the intercepts by ``intercept_rate * step * g``."""
    for k in range(b.shape[0]):
        g[k] *= step
        b[k] += intercept_rate * g[k]
        g[k] /= scale


@jit
def multiclass_epoch(data, model, config, order, etas, scratch, loss_sum):
    """One plain-SGD step per entry of ``order`` (row ids), step sizes ``etas``.

    ``data.y`` holds the int64 class indices; ``config`` is a
    :class:`~.args.MulticlassConfig` (``intercept_rate`` scales the intercepts'
    steps, 0 without intercepts). ``loss_sum`` (float64 array of one, or None)
    receives ``sum s_i l(p_i, y_i)`` at each step's prediction before its update.
    Returns the steps done: ``len(order)``, or the position of the first step
    whose scores were not finite (training stops there).
    """
    X, indices, indptr, y, weights = data
    v, b, scalars, q = model
    loss_code, l2, l1, intercept_rate = config.loss, config.l2, config.l1, config.intercept_rate
    p, g = scratch.p, scratch.g
    K = b.shape[0]
    scale, l1_total = scalars[SCALE], scalars[L1_TOTAL]
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        prefetch_weights_ahead(data, order, s, v, K)
        i = order[s]
        eta = etas[s]
        row_scores(X, indices, indptr, i, v, K, p)
        if not finish_scores(p, scale, b):
            done = s
            break
        s_i = sample_weight(weights, i)
        value = multiclass_loss_grad(loss_code, p, y[i], g)
        if loss_sum is not None:
            loss_sum[0] += s_i * value
        if l2 > 0.0:
            scale = shrink(v, scale, 1.0 - eta * l2)
        l1_total += eta * l1
        lo, hi = row_bounds(X, indptr, i)
        if value > 0.0 or loss_code == SOFTMAX:  # a hinge within its margin moves nothing
            step_intercepts(g, b, -eta * s_i, intercept_rate, scale)
            for e in range(lo, hi):
                j, x = row_entry(X, indices, i, e)
                base = j * K
                for k in range(K):
                    v[base + k] += g[k] * x
        if l1 > 0.0:
            for e in range(lo, hi):
                j, x = row_entry(X, indices, i, e)
                if x != 0.0:
                    for k in range(j * K, j * K + K):
                        cumulative_l1(v, q, k, scale, l1_total)
    scalars[SCALE], scalars[L1_TOTAL] = scale, l1_total
    return done


@parallel_jit
def multiclass_scores(X, indices, indptr, W, b, out):
    """``out = X W + b`` (n x K, float64) for weights ``W`` (d x K, float64)."""
    K = b.shape[0]
    flat = W.reshape(-1)
    for i in prange(out.shape[0]):
        row_scores(X, indices, indptr, i, flat, K, out[i])
        for k in range(K):
            out[i, k] += b[k]
    return out


@parallel_jit
def _rmatmul_chunks(X, indices, indptr, R, partial):
    n = R.shape[0]
    K = R.shape[1]
    n_chunks = partial.shape[0]
    for c in prange(n_chunks):
        acc = partial[c]
        acc[:] = 0.0
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            lo, hi = row_bounds(X, indptr, i)
            for e in range(lo, hi):
                j, x = row_entry(X, indices, i, e)
                for k in range(K):
                    acc[j, k] += R[i, k] * x
    return partial


def rmatmul(X, indices, indptr, R, n_features):
    """``X^T R`` (d x K, float64) for ``R`` (n x K), one private buffer per thread."""
    R = np.ascontiguousarray(R, dtype=np.float64)
    n_chunks = max(1, min(get_num_threads(), R.shape[0]))
    partial = np.empty((n_chunks, n_features, R.shape[1]))
    return _rmatmul_chunks(X, indices, indptr, R, partial).sum(axis=0)
