"""Truncated Newton from zero for smooth losses without L1 on large ``d``.

Each Newton system is solved by preconditioned CG to a forcing tolerance that
tightens with the gap (superlinear convergence), the rank-one "mean" part of
the Hessian handled exactly (see :func:`_pcg`). Every Hessian product computes
``X p``; CG sums those into ``X s`` for its step ``s``, so the line search moves
the margins along ``s`` in O(n) without another pass over the data. The
duality gap of every iterate is read off the gradient's own ``X^T r`` (the dual
point is ``theta = l'(z)``); with an intercept that point is balanced, which
costs one more pass, once at the end. A pass over the data is the unit of
cost: per Newton step the margins, the gradient, the Hessian's diagonal and
``X^T c``, then two per CG step (BENCHMARKS.md, Reference optimum).
"""
import math

import numpy as np

from .model import smooth_intercept

MAX_NEWTON = 60
MAX_CG = 500


def newton_cg(model, tol):
    """Minimize ``P`` (smooth loss, ``l1 = 0 < l2``) from zero to a gap ``<= tol * |P| / 10``.

    Returns ``(w, b, P, gap, certified, iterations)`` of the last iterate; the
    gap is certified (balanced dual point) whenever it is finite.
    """
    w, b, gaps = np.zeros(model.d), 0.0, []
    for it in range(MAX_NEWTON + 1):
        z0 = model.margins(w, 0.0)
        if model.fit_intercept:
            b = smooth_intercept(model, z0, b)
        z = z0 + b
        value = model.smooth_value(z, w)
        theta = model.loss.deriv(z, model.y)
        r = model.s * theta / model.n
        data_grad = model.rmatvec(r)
        gap = value - _dual_estimate(model, theta, data_grad)
        gaps.append(gap)
        stalled = len(gaps) > 10 and gap > 0.5 * gaps[-11]
        if gap <= 0.1 * tol * abs(value) or it == MAX_NEWTON or stalled:
            break
        grad_w = data_grad + model.l2 * w
        grad_b = float(r.sum()) if model.fit_intercept else 0.0
        curv = model.s * model.loss.curvature(z, model.y) / model.n
        eta = _forcing(gap, 0.1 * tol * abs(value), abs(value))
        dw, db, xd = _pcg(model, curv, grad_w, grad_b, eta)
        step = _line_search(model, w, z, value, grad_w, grad_b, dw, db, xd)
        if step is None:
            break
        w, b = w + step * dw, b + step * db
    if model.fit_intercept:  # the estimate's dual point is not balanced: certify a balanced one
        gap = value - model.dual(theta)[0]
    return w, b, value, gap, math.isfinite(gap), it


def _forcing(gap, target, scale):
    """CG's relative residual for the next Newton step (``gap`` and ``target`` over ``scale``).

    The gap is ``||grad P||^2 / (2 l2)``, and a Newton step solved to a relative
    residual ``eta`` leaves about ``eta^2`` of it: ``eta = sqrt(gap)`` (relative)
    converges superlinearly. Once the target is within reach (a factor 100 in
    ``eta``), the ``eta`` that reaches it in one step, with a safety factor of
    0.3, saves a Newton step for a few more CG steps.
    """
    if not (gap > 0 and target > 0 and scale > 0):
        return 0.1
    eta = min(0.1, math.sqrt(gap / scale))
    one_step = 0.3 * math.sqrt(target / gap)
    if one_step >= 0.01 * eta:
        eta = min(eta, one_step)
    return max(eta, 1e-12)


def _dual_estimate(model, theta, data_grad):
    """``D(theta)`` from ``u = -X^T (s theta) / n = -data_grad``, without balancing ``theta``.

    Exact when there is no intercept (``l2 > 0`` and the derivative is inside the
    conjugate's domain, as for every smooth loss); an estimate otherwise.
    """
    if model.l2 <= 0:
        return -math.inf
    conj = float(model.s @ model.conjugate(theta)) / model.n
    return -conj - float(data_grad @ data_grad) / (2.0 * model.l2)


def _pcg(model, curv, grad_w, grad_b, eta):
    """Solve the Newton system to ``||residual|| <= eta ||rhs||`` (``rhs = -g``, or with an
    intercept its Schur complement's); returns ``(s_w, s_b, X s_w + s_b)``.

    The Hessian on ``w`` is ``X^T C X + l2 I = K + h h^T / h_bb`` with ``h = X^T c``,
    ``h_bb = sum c`` and ``K`` the curvature centred; on sparse non-negative data
    (tf-idf) the rank-one part is an outlying eigenvalue. With an intercept, CG
    runs on ``w`` alone, on the Schur complement ``K``, and ``s_b`` follows from
    ``s_w``; without, the preconditioner is ``diag(K) + h h^T / h_bb`` (inverted
    by Sherman-Morrison). Either way CG takes about half the steps of the joint
    system with a Jacobi preconditioner (BENCHMARKS.md, Reference optimum).
    """
    fi = model.fit_intercept
    diag = model.rmatvec(curv, model.squared_arrays()) + model.l2
    h_bb = float(curv.sum())
    h = model.rmatvec(curv) if h_bb > 0 else None
    rhs = -grad_w
    if h is not None:
        centred = diag - h * h / h_bb
        diag = np.where(centred > 1e-3 * diag, centred, diag)
        if fi:
            rhs = rhs + h * (grad_b / h_bb)
    u = h / diag if h is not None and not fi else None
    denominator = h_bb + float(h @ u) if u is not None else 1.0

    def precondition(r):
        z = r / diag
        return z if u is None else z - u * (float(u @ r) / denominator)

    x, xd = np.zeros(model.d), np.zeros(model.n)
    r = rhs.copy()
    stop = eta * math.sqrt(float(r @ r))
    zr = precondition(r)
    p = zr
    rz = float(r @ zr)
    for _ in range(MAX_CG):
        xp = model.margins(p, 0.0)
        hp = model.rmatvec(curv * xp) + model.l2 * p
        if fi and h is not None:
            hp -= h * (float(h @ p) / h_bb)
        curvature = float(p @ hp)
        if not curvature > 0:
            break
        a = rz / curvature
        x += a * p
        xd += a * xp
        r -= a * hp
        if math.sqrt(float(r @ r)) <= stop:
            break
        zr = precondition(r)
        rz, rz_old = float(r @ zr), rz
        p = zr + (rz / rz_old) * p
    if not x.any():  # no curvature along the first direction: a gradient step
        x = rhs / diag
        xd = model.margins(x, 0.0)
    xb = 0.0
    if fi:
        xb = -(grad_b + float(h @ x)) / h_bb if h is not None else -grad_b
        xd += xb
    return x, xb, xd


def _line_search(model, w, z, value, grad_w, grad_b, dw, db, xd):
    """Backtracking (Armijo) along ``(dw, db)`` on the margins ``z + t X d``: O(n) per trial."""
    slope = float(grad_w @ dw) + grad_b * db
    if not slope < 0:
        return None
    ww, wd, dd = float(w @ w), float(w @ dw), float(dw @ dw)
    t = 1.0
    for _ in range(50):
        data = float(model.s @ model.loss.value(z + t * xd, model.y)) / model.n
        new = data + 0.5 * model.l2 * (ww + 2.0 * t * wd + t * t * dd)
        if new <= value + 1e-4 * t * slope:
            return t
        if -t * slope <= 1e-16 * abs(value) and new <= value + 1e-15 * abs(value):
            return t  # a step too small to be measured in P: take it
        t *= 0.5
    return None
