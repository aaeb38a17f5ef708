"""Smooth losses: truncated Newton, or L-BFGS-B to a rough start and then Newton steps.

Without L1 on large ``d`` (no dense Hessian) truncated Newton from zero
(:mod:`.newton_cg`) needs the fewest passes over the data. Otherwise, and as
a fallback when it stalls, L-BFGS-B only has to find a rough start (and, with
L1 and no dense Hessian, the support); Newton from there converges in a few
steps to the precision asked. The intercept is made exactly optimal (1-D
Newton) before every certificate. The Newton step itself is in :mod:`.newton`.
"""
import numpy as np
from scipy.optimize import minimize

from .model import smooth_intercept
from .newton import newton_step
from .newton_cg import newton_cg


def smooth_optimum(model, tol, rounds=3):
    """Truncated Newton where it applies; else (or if it stalls) L-BFGS-B, then Newton,
    again from there, more tightly, while Newton stalls."""
    w, b, n_iter = np.zeros(model.d), 0.0, 0
    if model.l1 == 0 and model.l2 > 0 and not model.direct_newton:
        w, b, value, gap, certified, n_iter = newton_cg(model, tol)
        if gap <= tol * abs(value):
            return w, b, gap, certified, "newton_cg", n_iter
    # Newton converges in a few steps from a rough start, so L-BFGS-B only finds
    # one; but with L1 and no dense Hessian it must also find the support, and with
    # L1 alone the directions where X is degenerate (no curvature) are left to it
    rough = model.l1 == 0 or (model.direct_newton and model.l2 > 0)
    ftol = 1e-4 if rough else 1e-3 * tol
    maxiter = 5000 if model.problem.alpha > 0 else 1000
    for _ in range(rounds):
        w, b, n_lbfgs = _lbfgs(model, w, b, ftol, maxiter)
        w, b, value, gap, certified, n_newton = _newton_polish(model, w, b, tol)
        n_iter += n_lbfgs + n_newton
        if gap <= tol * abs(value):
            break
        ftol = max(1e-3 * ftol, 1e-3 * tol)
    return w, b, gap, certified, "lbfgs+newton", n_iter


def _lbfgs(model, w, b, ftol, maxiter):
    """L-BFGS-B from ``(w, b)``; with L1, on ``(w+, w-, b)`` with ``w = w+ - w-``, ``w+- >= 0``."""
    d, fi, l1 = model.d, int(model.fit_intercept), model.l1

    def unpack(x):
        w = x[:d] - x[d:2 * d] if l1 > 0 else x[:d]
        return np.ascontiguousarray(w), (x[-1] if fi else 0.0)

    def fun(x):
        w, b = unpack(x)
        z = model.margins(w, b)
        gw, gb = model.gradient(z, w)
        value = model.smooth_value(z, w)
        if l1 > 0:
            value += l1 * float(x[:2 * d].sum())
            gw = np.concatenate([gw + l1, l1 - gw])
        return value, np.concatenate([gw, [gb]]) if fi else gw

    start = np.concatenate([np.maximum(w, 0.0), np.maximum(-w, 0.0)]) if l1 > 0 else w
    bounds = [(0.0, None)] * (2 * d) + [(None, None)] * fi if l1 > 0 else None
    res = minimize(fun, np.append(start, [b] * fi), jac=True, method="L-BFGS-B", bounds=bounds,
                   options=dict(maxiter=maxiter, maxcor=20, maxls=40, ftol=ftol, gtol=1e-14))
    w, b = unpack(res.x)
    return w, b, int(res.nit)


def _newton_polish(model, w, b, tol, max_iter=50):
    """Newton steps from ``(w, b)`` until the duality gap is below ``tol * |P| / 10``.

    Stops early when the gap stalls. Returns ``(w, b, P, gap, certified,
    iterations)`` for the point with the smallest gap (the Newton-decrement
    estimate, not certified, where the dual has no feasible point).
    """
    best, estimate, gaps = None, None, []
    extra = 2 if model.direct_newton else 0  # cheap steps: go on toward float precision
    for it in range(max_iter + 1):
        if model.fit_intercept:
            b = smooth_intercept(model, model.margins(w, 0.0), b)
        z = model.margins(w, b)
        value = model.smooth_value(z, w) + model.l1 * float(np.abs(w).sum())
        gap = value - model.dual(model.loss.deriv(z, model.y))[0]
        if best is None or gap < best[3]:
            best = (w, b, value, gap)
        gaps.append(gap)
        target = 0.1 * tol * abs(value)
        if gap <= target:
            if extra == 0 or gap <= 1e-15 * abs(value):
                break
            extra -= 1
        if it == max_iter or (len(gaps) > 10 and gap > 0.5 * gaps[-11]):
            break
        step = newton_step(model, w, b, z, value, gap, target)
        if step is None:
            break
        w, b, estimate = step
        if not np.isfinite(gap) and estimate <= target:
            return w, b, model.problem.objective(w, b), estimate, False, it + 1
    w, b, value, gap = best
    if np.isfinite(gap):
        return w, b, value, gap, True, it
    return w, b, value, (np.inf if estimate is None else estimate), False, it


