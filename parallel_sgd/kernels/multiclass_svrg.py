"""SVRG inner loop for the softmax model in O(nnz K) per step (L2 penalty only).

The multiclass form of :func:`.svrg.inner_l2`: one inner step on row ``i``::

    delta = s_i dl/dp(x_i W + b, y_i) - D_i          (K values; D_i cached at the snapshot)
    W <- (1 - eta l2) W - eta M - eta x_i^T delta     (M = X^T D / n, the snapshot gradient)
    b <- b - eta_b (delta + m_b)

The shrink and the ``M`` term touch every weight on every step; they are applied
just in time by keeping every weight as ``W_jk = P (psi_jk - c_jk R)`` with
``c = eta M``, ``P = (1 - eta l2)^t`` and ``R = sum_{s <= t} 1/P_s``: a step advances
the two scalars and changes ``psi`` on the row's features only.

``model`` is a :class:`~.args.SoftmaxSVRGModel` (``psi`` and ``c`` flat d x K,
row-major, float64; ``P`` and ``R`` in ``scalars``), ``config`` a
:class:`~.args.SoftmaxSVRGConfig` (``shrink`` is ``h = eta l2``; ``mu_b`` the
intercepts' snapshot gradient) and ``scratch`` an :class:`~.args.SVRGScratch`.
"""
import numpy as np

from .._jit import jit
from ..maths.multiclass_losses import multiclass_loss_grad
from .args import P, R
from .rows import prefetch_ahead, row_bounds, row_entry, sample_weight
from .svrg import MIN_P, fold


@jit
def multiclass_inner_l2(data, model, snapshot, config, order, scratch):
    """Inner steps over rows ``order``; returns the steps done (fewer when a score
    stopped being finite). ``snapshot`` (n x K) holds ``s_i dl/dp`` at the snapshot."""
    X, indices, indptr, y, weights = data
    psi, c, b, scalars = model
    loss_code, eta, eta_b, mu_b = config.loss, config.eta, config.eta_b, config.mu_b
    p, g, xc = scratch
    K = b.shape[0]
    a = 1.0 - config.shrink
    p_scale, r_sum = scalars[P], scalars[R]
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        i = order[s]
        lo, hi = row_bounds(X, indptr, i)
        for k in range(K):
            p[k] = 0.0
            xc[k] = 0.0
        for e in range(lo, hi):
            j, x = row_entry(X, indices, i, e)
            base = j * K
            for k in range(K):
                p[k] += x * psi[base + k]
                xc[k] += x * c[base + k]
        finite = True
        for k in range(K):
            p[k] = p_scale * (p[k] - r_sum * xc[k]) + b[k]
            finite = finite and np.isfinite(p[k])
        if not finite:
            done = s
            break
        multiclass_loss_grad(loss_code, p, y[i], g)
        s_i = sample_weight(weights, i)
        p_scale *= a
        r_sum += 1.0 / p_scale
        for k in range(K):
            delta = s_i * g[k] - snapshot[i, k]
            b[k] -= eta_b * (delta + mu_b[k])
            g[k] = eta * delta / p_scale
        for e in range(lo, hi):
            j, x = row_entry(X, indices, i, e)
            base = j * K
            for k in range(K):
                psi[base + k] -= g[k] * x
        if p_scale < MIN_P:
            fold(psi, c, p_scale, r_sum)
            p_scale, r_sum = 1.0, 0.0
    scalars[P], scalars[R] = p_scale, r_sum
    return done


@jit
def multiclass_svrg_weights(model, out):
    """The flat weights ``P (psi - c R)`` at the current step, into ``out``."""
    psi, c, scalars = model.psi, model.c, model.scalars
    for t in range(out.shape[0]):
        out[t] = scalars[P] * (psi[t] - c[t] * scalars[R])
    return out
