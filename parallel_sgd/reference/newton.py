"""One (proximal) Newton step of the smooth solver, and the linear algebra it needs.

With a cheap dense Hessian (small ``d``) the Newton system is solved exactly
(Cholesky, or the proximal Newton model by coordinate descent with L1);
otherwise by Jacobi-preconditioned CG on the nonzero coordinates with their
signs fixed. Either way a backtracking line search (projected onto the
orthant with L1) makes the step.
"""
import math

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve, lstsq

from ..kernels.dual_cd import quadratic_l1_cd


def newton_step(model, w, b, z, value, gap, target):
    """One Newton step from ``(w, b)``; ``(w, b, decrement/2)``, or None if the line search fails.

    With L1 and a dense Hessian it is a proximal Newton step (the L1 model solved
    by coordinate descent, as in newGLMNET); otherwise a Newton step on the
    nonzero coordinates with their signs fixed, projected back onto that orthant.
    """
    gw, gb = model.gradient(z, w)
    curv = model.s * model.loss.curvature(z, model.y) / model.n
    fi = model.fit_intercept
    active = sign = None
    if model.direct_newton and model.l1 > 0:
        grad = np.append(gw, gb) if fi else gw
        step = _prox_newton_direction(model, _dense_hessian(model, curv, None), grad, w)
    else:
        if model.l1 > 0:
            sign = np.sign(w)
            entering = (w == 0) & (np.abs(gw) > model.l1)
            sign[entering] = -np.sign(gw[entering])
            active = np.flatnonzero(sign)
            gw = gw[active] + model.l1 * sign[active]
        grad = np.append(gw, gb) if fi else gw
        if model.direct_newton:
            step = _solve_psd(_dense_hessian(model, curv, active), -grad)
        else:
            hess_vec, diag = _hessian(model, curv, active)
            rtol = 0.3 * math.sqrt(target / gap) if np.isfinite(gap) and gap > 0 else 1e-8
            step = _pcg(hess_vec, -grad, 1.0 / diag, min(0.1, max(rtol, 1e-12)), maxiter=500)
    return _line_search(model, w, b, value, grad, step, active, sign)


def _line_search(model, w, b, value, grad, step, active, sign):
    """Backtracking (Armijo) along ``step``, projected on the orthant ``sign`` when ``active``.

    ``grad`` is the gradient of the smooth part (on ``active`` plus the L1 term
    when given); the L1 change is then exact in the first-order model, so the
    proximal step's sufficient decrease is the one of Lee, Sun and Saunders (2014).
    """
    fi = model.fit_intercept
    dw = step[:-1] if fi else step
    db = float(step[-1]) if fi else 0.0
    l1_norm = float(np.abs(w).sum())
    t, decrement = 1.0, None
    for _ in range(40):
        new_w = w.copy()
        if active is None:
            new_w += t * dw
        else:
            moved = w[active] + t * dw
            new_w[active] = np.where(moved * sign[active] < 0, 0.0, moved)
        new_b = b + t * db
        new_l1 = float(np.abs(new_w).sum())
        new_value = model.smooth_value(model.margins(new_w, new_b), new_w) + model.l1 * new_l1
        moved_by = new_w - w if active is None else (new_w - w)[active]
        if fi:
            moved_by = np.append(moved_by, new_b - b)
        predicted = float(grad @ moved_by)
        if active is None:
            predicted += model.l1 * (new_l1 - l1_norm)
        if decrement is None:
            decrement = -predicted
            if not decrement > 0:
                return None
        if new_value <= value + 1e-4 * predicted or (
                -predicted <= 1e-15 * abs(value) and new_value <= value + 1e-15 * abs(value)):
            return new_w, new_b, 0.5 * decrement
        t *= 0.5
    return None


def _prox_newton_direction(model, H, grad, w, rounds=40, sweeps=30):
    """``argmin_d grad.d + d.H.d/2 + l1 ||w + d||_1`` (``b``, if any, last and unpenalized).

    Coordinate descent finds the sign pattern of ``w + d``; on that pattern the
    model is a quadratic solved exactly, accepted once it keeps the signs and
    the zero coordinates satisfy their optimality conditions (coordinate
    descent alone crawls when ``H`` is ill-conditioned).
    """
    size = grad.size
    penalized = np.ones(size, dtype=np.bool_)
    penalized[model.d:] = False
    wx = np.zeros(size)
    wx[:model.d] = w
    d, hd = np.zeros(size), np.zeros(size)
    for _ in range(rounds):
        if quadratic_l1_cd(H, grad, wx, model.l1, penalized, d, hd, sweeps, 1e-13) < sweeps:
            return d
        x = wx + d
        free = (x != 0) | ~penalized
        sign = np.where(penalized, np.sign(x), 0.0)
        exact = -wx
        rhs = -(grad[free] + model.l1 * sign[free] + H[np.ix_(free, ~free)] @ exact[~free])
        exact[free] = _solve_psd(H[np.ix_(free, free)], rhs)
        residual = grad + H @ exact
        if (np.all((wx + exact)[free & penalized] * sign[free & penalized] > 0)
                and np.all(np.abs(residual[~free]) <= model.l1 * (1 + 1e-9))):
            return exact
    return d


def _dense_hessian(model, curv, active):
    """The smooth part's Hessian on the ``active`` coordinates (and ``b``), as a dense matrix."""
    X = model.problem.data.X
    if active is not None:
        X = X[:, active]
    if sp.issparse(X):
        H = (X.T @ sp.diags(curv) @ X).toarray()
    else:
        H = X.T @ (X * curv[:, None])
    H = np.asarray(H, dtype=np.float64)
    H[np.diag_indices_from(H)] += model.l2
    if model.fit_intercept:
        xc = np.asarray(X.T @ curv, dtype=np.float64).ravel()
        H = np.block([[H, xc[:, None]], [xc[None, :], np.array([[curv.sum()]])]])
    return H


def _solve_psd(H, rhs):
    """``H^+ rhs`` for a positive semidefinite ``H``: Cholesky, or least squares if singular."""
    try:
        return cho_solve(cho_factor(H), rhs)
    except np.linalg.LinAlgError:
        return lstsq(H, rhs, cond=1e-14)[0]


def _hessian(model, curv, active):
    """``(v -> H v, diag(H))`` of the smooth part on the ``active`` coordinates (and ``b``)."""
    fi = model.fit_intercept
    diag = model.rmatvec(curv, model.squared_arrays()) + model.l2
    diag_b = [float(curv.sum())] if fi else []
    if active is not None:
        diag = diag[active]
    diag = np.concatenate([diag, diag_b])
    diag[diag <= 0] = 1.0

    def hess_vec(vec):
        vw = vec[:-1] if fi else vec
        vb = vec[-1] if fi else 0.0
        full = vw if active is None else np.zeros(model.d)
        if active is not None:
            full[active] = vw
        r = curv * model.margins(np.ascontiguousarray(full), vb)
        hw = model.rmatvec(r)
        hw = (hw if active is None else hw[active]) + model.l2 * vw
        return np.append(hw, r.sum()) if fi else hw

    return hess_vec, diag


def _pcg(hess_vec, rhs, inv_diag, rtol, maxiter):
    """Jacobi-preconditioned conjugate gradient for ``H x = rhs`` (H positive semidefinite)."""
    x = np.zeros_like(rhs)
    r = rhs.copy()
    z = inv_diag * r
    p = z.copy()
    rz = float(r @ z)
    stop = rtol * float(np.linalg.norm(rhs))
    for _ in range(maxiter):
        hp = hess_vec(p)
        curvature = float(p @ hp)
        if curvature <= 0:
            break
        a = rz / curvature
        x += a * p
        r -= a * hp
        if np.linalg.norm(r) <= stop:
            break
        z = inv_diag * r
        rz, rz_old = float(r @ z), rz
        p = z + (rz / rz_old) * p
    return x if x.any() else inv_diag * rhs

