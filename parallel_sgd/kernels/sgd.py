"""Serial SGD over a sequence of rows: the kernel every sgd-family driver runs.

It takes ``data`` (:class:`~.args.Rows`), ``model`` (:class:`~.args.LinearModel`,
mutated: ``w = scale * v``, the intercept ``b[0]``, the L1 penalty each
coordinate has received ``q`` and the update rule's state) and ``config``
(:class:`~.args.SGDConfig`). One step on row ``i`` with step size ``eta``::

    p = scale * (x_i . v) + b;  g = s_i * dl/dp(p, y_i)
    rule sgd:   scale *= max(0, 1 - eta*l2)            (L2 on every weight, O(1))
                v += (-eta*g/scale) * x_i;  b -= eta*g
                l1_total += eta*l1; catch up L1 on the row's coordinates
    others:     for each coordinate j the row touches (x_ij != 0):
                    g_j = g*x_ij + pw_j*(l2*w_j + l1*sign(w_j))
                    w_j += rule_delta(g_j)   (L1: clipped at 0 if it changes sign)
                b += rule_delta(g)

``pw_j = n / d_j`` (``d_j`` = rows where feature j is non-zero) makes the
penalty gradient on touched coordinates an unbiased estimate of the full one
(Niu et al. 2011); on dense data without zeros ``pw_j = 1``.

:func:`sgd_epoch_extras` runs the same steps and also keeps the average of the
iterates (ASGD, :mod:`.averaging`) and/or sums the loss of each step's prediction
(scikit-learn's per-epoch training loss, for its stopping rule, at no extra pass);
:func:`sgd_epoch` passes ``None`` for both, which compiles the extras away.
"""
import numpy as np
from numba import types
from numba.extending import overload

from .._jit import inlined_jit, jit, overload_options
from ..maths.losses import loss_deriv, loss_value
from ..maths.penalties import cumulative_l1
from .args import L1_TOTAL, SCALE, StepSize
from .averaging import advance, track_change, write_out
from .rows import prefetch_ahead, row_bounds, row_dot, row_entry, sample_weight
from .rules import SGD, bias_corrections, rule_delta

MIN_SCALE = 1e-9


def _add_loss(loss_sum, code, p, y, weight):
    loss_sum[0] = loss_sum[0] + weight * loss_value(code, p, y)


def add_loss(loss_sum, code, p, y, weight):
    """``loss_sum[0] += weight * l(p, y)``; nothing when ``loss_sum`` is None."""
    if loss_sum is not None:
        _add_loss(loss_sum, code, p, y, weight)


@overload(add_loss, **overload_options())
def _overload_add_loss(loss_sum, code, p, y, weight):
    if isinstance(loss_sum, (types.NoneType, types.Omitted)):
        return lambda loss_sum, code, p, y, weight: None
    return _add_loss


@jit
def shrink(v, scale, factor, average=None):
    """Multiply every weight ``scale * v`` by ``factor`` in O(1); returns the new scale.

    ``factor <= 0`` resets the weights to 0 (the step clips at zero, as
    scikit-learn does); a scale below ``MIN_SCALE`` is folded into ``v`` (O(d), rare).
    ``average`` (ASGD state or None) is told about both.
    """
    if factor <= 0.0:
        write_out(average, v)
        v[:] = 0.0
        return 1.0
    scale *= factor
    if scale < MIN_SCALE:
        write_out(average, v)
        for j in range(v.shape[0]):
            v[j] *= scale
        return 1.0
    return scale


@jit
def add_row(X, indices, i, lo, hi, v, c, average=None):
    """``v += c * x_i`` over the row's entries ``lo .. hi``; every change is reported to
    ``average`` (ASGD state, or None)."""
    for k in range(lo, hi):
        j, x = row_entry(X, indices, i, k)
        old = v[j]
        v[j] = old + c * x
        track_change(average, j, v[j] - old)


@jit
def catch_up_l1(X, indices, i, lo, hi, v, q, scale, l1_total, average=None):
    """Bring the row's coordinates up to date with the cumulative L1 penalty ``l1_total``
    (the weights are ``scale * v``); every change is reported to ``average``."""
    for k in range(lo, hi):
        j, x = row_entry(X, indices, i, k)
        if x != 0.0:
            old = v[j]
            cumulative_l1(v, q, j, scale, l1_total)
            track_change(average, j, v[j] - old)


@inlined_jit
def rule_step(rule, state, j, gj, wj, pw_j, l2, l1, step):
    """New value of coordinate ``j`` (now ``wj``) after an adaptive-rule step of size
    ``step`` (:class:`~.args.StepSize`).

    ``gj`` is the loss gradient; the penalty gradient ``pw_j * (l2*wj + l1*sign(wj))``
    is added here, and an L1 step that would cross zero stops at zero.
    """
    if l2 > 0.0 or l1 > 0.0:
        sign = 1.0 if wj > 0.0 else (-1.0 if wj < 0.0 else 0.0)
        gj += pw_j * (l2 * wj + l1 * sign)
    new = wj + rule_delta(rule, state, j, gj, step)
    if l1 > 0.0 and new * wj < 0.0:
        new = 0.0
    return new


@jit
def sgd_epoch(data, model, config, order, etas, t_start):
    """Run one SGD step per entry of ``order`` (row ids), step sizes ``etas``.

    ``config.intercept_rate`` multiplies the intercept's steps (0: no intercept).
    ``t_start`` is the global step count of ``order[0]`` (Adam's bias correction).
    Returns the number of steps done: ``len(order)``, or the position of the
    first step whose prediction was not finite (training stops there).
    """
    if config.rule.code == SGD:
        return _plain_epoch(data, model, config, order, etas, t_start, None, None)
    return _adaptive_epoch(data, model, config, order, etas, t_start, None, None)


@jit
def sgd_epoch_extras(data, model, extras, config, order, etas, t_start):
    """:func:`sgd_epoch` that also keeps ``extras`` (:class:`~.args.Extras`).

    ``extras.average`` (or None): the iterates of steps ``t >= start`` are averaged.
    ``extras.loss_sum`` (a float64 array of one, or None): each step adds
    ``s_i * l(p_i, y_i)`` at the prediction it made before its update.
    """
    if config.rule.code == SGD:
        return _plain_epoch(data, model, config, order, etas, t_start, extras.average,
                            extras.loss_sum)
    return _adaptive_epoch(data, model, config, order, etas, t_start, extras.average,
                           extras.loss_sum)


@jit
def _plain_epoch(data, model, config, order, etas, t_start, average, loss_sum):
    """The sgd rule, with ``b``, ``scale`` and ``l1_total`` kept in registers."""
    X, indices, indptr, y, weights = data
    v, q = model.v, model.q
    loss, l2, l1, intercept_rate = config.loss, config.l2, config.l1, config.intercept_rate
    b, scale, l1_total = model.b[0], model.scalars[SCALE], model.scalars[L1_TOTAL]
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        i = order[s]
        eta = etas[s]
        p = scale * row_dot(X, indices, indptr, i, v) + b
        if not np.isfinite(p):
            done = s
            break
        s_i = sample_weight(weights, i)
        add_loss(loss_sum, loss, p, y[i], s_i)
        g = s_i * loss_deriv(loss, p, y[i])
        if l2 > 0.0:
            scale = shrink(v, scale, 1.0 - eta * l2, average)
        l1_total += eta * l1
        lo, hi = row_bounds(X, indptr, i)
        if g != 0.0:
            add_row(X, indices, i, lo, hi, v, -eta * g / scale, average)
        if l1 > 0.0:
            catch_up_l1(X, indices, i, lo, hi, v, q, scale, l1_total, average)
        b -= intercept_rate * eta * g
        advance(average, t_start + s, v, scale, b)
    model.b[0], model.scalars[SCALE], model.scalars[L1_TOTAL] = b, scale, l1_total
    return done


@jit
def _adaptive_epoch(data, model, config, order, etas, t_start, average, loss_sum):
    """momentum, adagrad, rmsprop, adam: per-coordinate steps on touched coordinates."""
    X, indices, indptr, y, weights = data
    v, b, state = model.v, model.b, model.rule_state
    rule, pw, l2, l1 = config.rule, config.penalty_weights, config.l2, config.l1
    d = v.shape[0]
    m = order.shape[0]
    for s in range(m):
        prefetch_ahead(data, order, s)
        i = order[s]
        eta = etas[s]
        p = row_dot(X, indices, indptr, i, v) + b[0]
        if not np.isfinite(p):
            return s
        s_i = sample_weight(weights, i)
        add_loss(loss_sum, config.loss, p, y[i], s_i)
        g = s_i * loss_deriv(config.loss, p, y[i])
        c1, c2 = bias_corrections(rule, t_start + s)
        step = StepSize(eta, c1, c2)
        lo, hi = row_bounds(X, indptr, i)
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            if x != 0.0:
                old = v[j]
                v[j] = rule_step(rule, state, j, g * x, old, pw[j], l2, l1, step)
                track_change(average, j, v[j] - old)
        if config.intercept_rate > 0.0:
            b[0] += config.intercept_rate * rule_delta(rule, state, d, g, step)
        advance(average, t_start + s, v, 1.0, b[0])
    return m
