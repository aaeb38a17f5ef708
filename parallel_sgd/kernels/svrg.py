"""SVRG inner loops (Johnson & Zhang 2013) in O(nnz) per step on sparse rows.

One inner step on row ``i`` (sampled with probability ``p_i``, ``r_i = 1/(n p_i)``)::

    delta = r_i * (s_i l'(x_i.w + b, y_i) - d_i)     d_i: s_i l'(...) at the snapshot, cached
    w <- prox_{eta l1}((1 - eta l2) w - eta mu - eta delta x_i)
    b <- b - eta_b (delta + mu_b)

``mu`` is the loss gradient at the snapshot. Its term and the L2 shrink touch
every coordinate on every step; here they are applied to a coordinate just in
time, when a row reads it, so the catch-up is exact (the technique of
scikit-learn's SAG and lightning's SVRG):

* without L1 (:func:`inner_l2`), every coordinate is kept as
  ``w_j = P (psi_j - c_j R)`` with ``c_j = eta mu_j``, ``P = (1 - eta l2)^t`` and
  ``R = sum_{s <= t} 1/P_s``: a step advances the two scalars, which moves every
  untouched coordinate by its shrink and its ``mu`` term at once, and changes
  ``psi`` on the row's coordinates only -- no timestamps, no per-step O(d);
* with L1 (:func:`inner_prox`), the proximal step does not compose linearly, so
  each coordinate remembers the step it was last brought up to date, and
  :func:`prox_steps` applies the missed steps in closed form: each missed step
  is affine while the weight keeps its sign, so at most three affine stretches
  (one sign, zero, the other sign) cover any number of them.

``model`` is an :class:`~.args.SVRGModel` (``P``, ``R`` and the step count ``t`` in
``scalars``; ``P = 1``, ``R = 0`` in the L1 form; the intercept in ``b``) and
``config`` an :class:`~.args.SVRGConfig` (``shrink`` is ``h = eta l2``, ``threshold``
is ``tau = eta l1``). All weights are float64 whatever the data's dtype (the
targets are 1e-10 relative suboptimality).
"""
import math

import numpy as np
from numba import prange

from .._jit import inlined_jit, jit, parallel_jit
from ..maths.losses import loss_deriv
from ..maths.penalties import soft_threshold
from .args import STEP, P, R, SVRGModel
from .rows import (
    prefetch_ahead,
    prefetch_pass_weights,
    prefetch_weights_ahead,
    row_bounds,
    row_dot,
    row_entry,
    sample_weight,
)

MIN_P = 1e-100  # below this, fold P and R into psi (O(d), or O(dK) for K classes; rare)


@parallel_jit
def snapshot_derivs(data, w, b, loss_code, out):
    """``out[i] = s_i l'(x_i.w + b, y_i)`` for every row, in parallel."""
    X, indices, indptr, y, weights = data
    n = out.shape[0]
    for i in prange(n):
        prefetch_pass_weights(X, indices, indptr, i, n, w)
        p = row_dot(X, indices, indptr, i, w) + b
        out[i] = sample_weight(weights, i) * loss_deriv(loss_code, p, y[i])
    return out


@inlined_jit
def variance_reduced(data, ratios, snapshot, loss_code, i, p):
    """Row ``i``'s ``delta = r_i (s_i l'(p, y_i) - d_i)`` at prediction ``p``: its loss
    derivative now less the snapshot's, reweighted for the sampling."""
    return sample_weight(ratios, i) * (
        sample_weight(data.weights, i) * loss_deriv(loss_code, p, data.y[i]) - snapshot[i])


@jit
def affine_steps(w, k, h, e):
    """``w`` after ``k`` steps of ``w <- (1 - h) w - e``: ``a^k w - e (1 - a^k) / h``.

    Written with ``expm1``/``log1p`` so that a tiny ``h`` (weak L2) loses no precision.
    """
    if h == 0.0:
        return w - k * e
    log_a = math.log1p(-h)
    return math.exp(k * log_a) * w + e * math.expm1(k * log_a) / h


@jit
def prox_steps(w, k, h, c, tau):
    """``w`` after ``k`` steps of ``w <- soft_threshold((1 - h) w - c, tau)``, exactly.

    While the result keeps one sign the step is affine (``w <- (1 - h) w - e`` with
    ``e = c + sign * tau``), so a stretch of steps has a closed form
    (:func:`affine_steps`); the number of steps before the sign changes comes from
    a logarithm and is then checked against the exact condition.
    """
    a = 1.0 - h
    while k > 0:
        z = a * w - c
        if -tau <= z <= tau:  # lands on zero
            w = 0.0
            k -= 1
            if abs(c) <= tau:  # and zero is a fixed point
                return 0.0
            continue
        sign = 1.0 if z > 0.0 else -1.0
        e = c + sign * tau
        # steps 1..S keep the sign; the limit of the stretch is -e/h (or none if h = 0)
        if sign * e <= 0.0:  # moving away from zero, or towards a limit of this sign
            return affine_steps(w, k, h, e)
        if h == 0.0:
            q = sign * w / (sign * e)
        else:
            rho = sign * e / (h * sign * w + sign * e)
            q = math.log(rho) / math.log1p(-h)
        # q overflows to infinity when e is subnormal: clamp before rounding
        s = math.ceil(min(q, float(k) + 1.0)) - 1.0
        s = int(min(max(s, 1.0), float(k)))
        while s > 1 and sign * affine_steps(w, s, h, e) <= 0.0:
            s -= 1
        while s < k and sign * affine_steps(w, s + 1, h, e) > 0.0:
            s += 1
        w = affine_steps(w, s, h, e)
        k -= s
    return w


@jit
def inner_l2(data, model, snapshot, config, order, ratios):
    """Inner steps over rows ``order`` without L1; returns the steps done (fewer when a
    prediction stopped being finite)."""
    X, indices, indptr, y, weights = data
    psi, c, scalars = model.psi, model.c, model.scalars
    loss_code, eta, eta_b, mu_b = config.loss, config.eta, config.eta_b, config.mu_b[0]
    a = 1.0 - config.shrink
    b, p_scale, r_sum = model.b[0], scalars[P], scalars[R]
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        prefetch_weights_ahead(data, order, s, psi, 1)
        prefetch_weights_ahead(data, order, s, c, 1)
        i = order[s]
        lo, hi = row_bounds(X, indptr, i)
        x_psi = 0.0
        x_c = 0.0
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            x_psi += x * psi[j]
            x_c += x * c[j]
        p = p_scale * (x_psi - r_sum * x_c) + b
        if not np.isfinite(p):
            done = s
            break
        delta = variance_reduced(data, ratios, snapshot, loss_code, i, p)
        p_scale *= a
        r_sum += 1.0 / p_scale
        step = eta * delta / p_scale
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            psi[j] -= step * x
        b -= eta_b * (delta + mu_b)
        if p_scale < MIN_P:
            fold(psi, c, p_scale, r_sum)
            p_scale, r_sum = 1.0, 0.0
    model.b[0], scalars[P], scalars[R] = b, p_scale, r_sum
    scalars[STEP] += done
    return done


@jit
def fold(psi, c, p_scale, r_sum):
    """Write the weights ``P (psi - c R)`` into ``psi`` (then P = 1, R = 0): before P underflows."""
    for j in range(psi.shape[0]):
        psi[j] = p_scale * (psi[j] - c[j] * r_sum)


@jit
def inner_prox(data, model, snapshot, config, order, ratios):
    """Inner steps over rows ``order`` with L1 (proximal steps, caught up just in time)."""
    X, indices, indptr, y, weights = data
    w, c, last = model.psi, model.c, model.last
    loss_code, eta, eta_b, mu_b = config.loss, config.eta, config.eta_b, config.mu_b[0]
    h, tau = config.shrink, config.threshold
    a = 1.0 - h
    b = model.b[0]
    t = int(model.scalars[STEP])
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        i = order[s]
        lo, hi = row_bounds(X, indptr, i)
        p = b
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            if last[j] < t:
                w[j] = prox_steps(w[j], t - last[j], h, c[j], tau)
                last[j] = t
            p += x * w[j]
        if not np.isfinite(p):
            done = s
            break
        delta = variance_reduced(data, ratios, snapshot, loss_code, i, p)
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            w[j] = soft_threshold(a * w[j] - c[j] - eta * delta * x, tau)
            last[j] = t + 1
        b -= eta_b * (delta + mu_b)
        t += 1
    model.b[0] = b
    model.scalars[STEP] = t
    return done


@inlined_jit
def weight_now(model, config, j):
    """Coordinate ``j`` of the weights at the current step (the model is unchanged)."""
    scalars = model.scalars
    if config.threshold > 0.0:
        return prox_steps(model.psi[j], int(scalars[STEP]) - model.last[j], config.shrink,
                          model.c[j], config.threshold)
    return scalars[P] * (model.psi[j] - model.c[j] * scalars[R])


@jit
def current_weights(model, config, out):
    """The weights ``w`` at the current step, into ``out`` (the model is unchanged)."""
    for j in range(out.shape[0]):
        out[j] = weight_now(model, config, j)
    return out


@jit
def start_inner_loop(model, w, b, mu, eta):
    """Reset the model to weights ``w``, intercept ``b``, at step 0 of an inner loop whose
    snapshot gradient is ``mu``."""
    psi, c, last, scalars = model.psi, model.c, model.last, model.scalars
    for j in range(psi.shape[0]):
        psi[j] = w[j]
        c[j] = eta * mu[j]
        last[j] = 0
    model.b[0] = b
    scalars[P], scalars[R], scalars[STEP] = 1.0, 0.0, 0.0


def new_model(n_features, c=None):
    """An :class:`~.args.SVRGModel` of ``n_features`` float64 weights at zero; ``c`` (the
    snapshot term) may be an array shared with other workers' models."""
    return SVRGModel(np.zeros(n_features), np.zeros(n_features) if c is None else c,
                     np.zeros(n_features, dtype=np.int64), np.zeros(1),
                     np.array([1.0, 0.0, 0.0]))


@jit
def inner_steps(data, model, snapshot, config, order, ratios):
    """:func:`inner_prox` when the config has an L1 part, else :func:`inner_l2`."""
    if config.threshold > 0.0:
        return inner_prox(data, model, snapshot, config, order, ratios)
    return inner_l2(data, model, snapshot, config, order, ratios)
