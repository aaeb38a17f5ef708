"""The exact optimum ``P*`` of a :class:`~parallel_sgd.problem.Problem`, with a certificate.

Every suboptimality in the project is measured against this (DESIGN section 5),
so it must be far more precise than any SGD run: relative 1e-10 on ``P*`` for
smooth losses, 1e-9 for the hinge loss (the defaults of ``tol``).

* Smooth losses: L-BFGS-B on ``(w, b)`` (on ``w = w+ - w-``, ``w+, w- >= 0``,
  when there is an L1 term) to a rough start, then Newton steps. When the
  dense Hessian is cheap (small ``d``) they are solved exactly (Cholesky, or a
  proximal Newton model by coordinate descent with L1); otherwise by
  preconditioned CG on the nonzero coordinates with their signs fixed, the
  line search projected back onto that orthant. The intercept is made exactly
  optimal (1-D Newton) before every certificate.
* Hinge with ``l2 > 0``: dual coordinate ascent (:mod:`.kernels.dual_cd`) at a
  fixed intercept, inside a 1-D cutting-plane search over the intercept; for
  small ``d``, an exact solve on the face of the problem the margins point to.
* Hinge with ``l2 = 0``: the dual linear program, solved by HiGHS.

The reported ``gap`` bounds ``P(coef, intercept) - P*`` through Fenchel
duality: for ``theta`` in the domain of the conjugates ``l_i*`` with, when there
is an intercept, ``sum_i s_i theta_i = 0``,

    P* >= D(theta) = -(1/n) sum_i s_i l_i*(theta_i) - R*(-X^T (s theta) / n),

where ``R*(u) = ||soft(u, l1)||^2 / (2 l2)`` if ``l2 > 0`` and, if ``l2 = 0``,
``R*(u) = 0`` when ``||u||_inf <= l1`` (``theta`` is scaled down to get there).
At the optimum ``theta_i = l'(x_i.w* + b*, y_i)`` and the bound is tight. With
no penalty at all the dual needs ``X^T (s theta) = 0`` exactly, which floating
point never gives: then ``gap`` is an estimate (Newton decrement, or HiGHS's
own gap) and ``certified`` is False. ``gap`` is computed in float64 and
clipped at 0: below about ``1e-15 |P|`` it is rounding.
"""
import contextlib
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve, lstsq
from scipy.optimize import linprog, lsq_linear, minimize
from scipy.special import xlogy

from ._files import atomic_write
from .data.catalog import get_data_home
from .kernels.dual_cd import dual_cd, quadratic_l1_cd
from .kernels.linalg import data_arrays, margins, rmatvec
from .problem import Problem

DEFAULT_TOL = {"smooth": 1e-10, "hinge": 1e-9}
MIN_TOL = 1e-15
_CACHE_VERSION = 1
_MEMORY = {}

# largest |t| = |y * theta| in the domain of each classification loss's conjugate
_T_MAX = {"log_loss": 1.0, "hinge": 1.0, "squared_hinge": math.inf, "modified_huber": 4.0}


@dataclass(frozen=True)
class Optimum:
    """The minimizer of a Problem's objective and how well it is known.

    Attributes
    ----------
    coef : ndarray of float64, shape (n_features,), read-only
    intercept : float
    objective : float
        ``P(coef, intercept)``, the value quoted as ``P*``.
    gap : float
        Upper bound on ``objective - P*`` (an estimate when ``certified`` is False).
    certified : bool
        Whether ``gap`` is a duality-gap bound rather than an estimate.
    method : str
        The solver that produced the point.
    n_iter : int
        Its iterations (L-BFGS plus Newton steps, dual CD epochs, or simplex steps).
    time_s : float
        Wall-clock seconds of the solve (not of a cache lookup).
    """

    coef: np.ndarray
    intercept: float
    objective: float
    gap: float
    certified: bool
    method: str
    n_iter: int
    time_s: float

    @property
    def relative_gap(self):
        """``gap / |objective|``: what ``tol`` bounds."""
        return self.gap / abs(self.objective) if self.objective != 0 else self.gap


def reference_optimum(problem, tol=None, cache=True):
    """Solve ``problem`` to a relative precision ``tol`` on ``P*``.

    Parameters
    ----------
    problem : Problem
    tol : float, optional
        Target for ``gap / |P*|``: default 1e-10 for smooth losses, 1e-9 for hinge.
    cache : bool
        Look the optimum up, and store it, in memory and on disk under
        ``<data_home>/optima/<problem.fingerprint>.npz`` (``data_home`` is
        ``$PSGD_DATA_HOME`` or ``~/.cache/parallel_sgd``). A stored optimum is used
        when it was solved to ``tol`` or tighter. False solves afresh, touching neither.

    Returns
    -------
    Optimum
        Warns (RuntimeWarning) when the precision asked for is not certified,
        e.g. ``alpha = 0`` on separable data, where no minimizer exists.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a psgd.Problem, got {type(problem).__name__}")
    if problem.loss.name not in _T_MAX and problem.loss.name != "squared_error":
        raise ValueError(f"reference_optimum does not support loss {problem.loss.name!r}")
    kind = "smooth" if problem.loss.is_smooth else "hinge"
    tol = DEFAULT_TOL[kind] if tol is None else float(tol)
    if not MIN_TOL <= tol < 1.0:
        raise ValueError(f"tol must be in [{MIN_TOL:g}, 1) (float64 resolution), got {tol!r}")
    key = (problem.fingerprint, tol)
    if cache:
        found = _MEMORY.get(key) or _load(problem, tol)
        if found is not None:
            _MEMORY[key] = found
            return found
    start = time.perf_counter()
    with _single_threaded_blas():
        if kind == "smooth":
            w, b, gap, certified, method, n_iter = _smooth_optimum(_Model(problem), tol)
        elif problem.penalty.l2 > 0:
            w, b, gap, certified, method, n_iter = _HingeDual(problem).optimum(tol)
        else:
            w, b, gap, certified, method, n_iter = _hinge_lp(problem)
    objective = problem.objective(w, b)
    b = float(b) if problem.fit_intercept else 0.0
    w = np.array(w, dtype=np.float64)
    w.setflags(write=False)
    result = Optimum(w, b, objective, max(float(gap), 0.0), bool(certified), method,
                     int(n_iter), time.perf_counter() - start)
    if not (certified and result.relative_gap <= tol):
        what = "certified" if certified else "estimated (not certified)"
        hint = (" With alpha=0 the objective may have no minimizer (e.g. separable data)."
                if problem.alpha == 0 else "")
        warnings.warn(
            f"reference_optimum({problem!r}): relative gap {result.relative_gap:.3g} "
            f"{what}, asked for {tol:g}.{hint}", RuntimeWarning, stacklevel=2)
    if cache:
        _MEMORY[key] = result
        _save(problem, tol, result)
    return result


def _single_threaded_blas():
    """Keep BLAS to one thread while solving, if threadpoolctl is installed.

    The solvers' BLAS calls are small; OpenBLAS threads left spinning after them
    take the cores the parallel Numba passes over the data need (2-5x slower here).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# -- caching -------------------------------------------------------------------------------
def _cache_path(problem):
    return get_data_home() / "optima" / f"{problem.fingerprint}.npz"


def _load(problem, tol):
    """The stored optimum if it exists, is readable and was solved to ``tol`` or tighter."""
    try:
        with np.load(_cache_path(problem), allow_pickle=False) as f:
            if (int(f["version"]) != _CACHE_VERSION or str(f["fingerprint"]) != problem.fingerprint
                    or float(f["tol"]) > tol or f["coef"].shape != (problem.n_features,)):
                return None
            coef = np.array(f["coef"], dtype=np.float64)
            coef.setflags(write=False)
            return Optimum(coef, float(f["intercept"]), float(f["objective"]), float(f["gap"]),
                           bool(f["certified"]), str(f["method"]), int(f["n_iter"]),
                           float(f["time_s"]))
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt or foreign file: ignored, then overwritten
        return None


def _save(problem, tol, opt):
    """Store the optimum (written to a temporary name, then renamed)."""
    path = _cache_path(problem)
    try:
        with atomic_write(path, "wb") as f:
            np.savez(f, version=_CACHE_VERSION, fingerprint=problem.fingerprint, tol=tol,
                     coef=opt.coef, intercept=opt.intercept, objective=opt.objective,
                     gap=opt.gap, certified=opt.certified, method=opt.method,
                     n_iter=opt.n_iter, time_s=opt.time_s)
    except OSError as err:
        warnings.warn(f"could not cache the optimum in {path}: {err}", RuntimeWarning,
                      stacklevel=3)


# -- the objective's pieces and its Fenchel dual -------------------------------------------
def _soft(u, kappa):
    return np.sign(u) * np.maximum(np.abs(u) - kappa, 0.0)


class _Model:
    """A Problem's arrays and the passes over them the solvers share."""

    def __init__(self, problem):
        self.problem = problem
        self.arrays = data_arrays(problem.data.X)
        self.n, self.d = problem.n_samples, problem.n_features
        self.y = problem.y
        self.loss = problem.loss
        self.l1, self.l2 = problem.penalty.l1, problem.penalty.l2
        self.fit_intercept = problem.fit_intercept
        s = problem.data.sample_weight
        self.s = np.ones(self.n) if s is None else s
        self._squared = None
        # Newton systems by a dense Hessian when forming it costs less than ~50 CG steps
        values, _, indptr = self.arrays
        nnz = values.size
        row_nnz = np.full(self.n, self.d) if indptr is None else np.diff(indptr)
        cost = float(row_nnz.astype(np.float64) @ row_nnz)
        self.direct_newton = self.d <= 2000 and cost <= max(2e7, 100.0 * nnz)

    def margins(self, w, b):
        return margins(*self.arrays, w, float(b), np.empty(self.n))

    def rmatvec(self, r, arrays=None):
        return rmatvec(*(arrays or self.arrays), r, self.d)

    def squared_arrays(self):
        """The arrays of ``X`` with every entry squared (for the Hessian's diagonal)."""
        if self._squared is None:
            values, indices, indptr = self.arrays
            self._squared = (np.square(values, dtype=np.float64), indices, indptr)
        return self._squared

    def smooth_value(self, z, w):
        """The data term plus the L2 term at margins ``z``."""
        return float(self.s @ self.loss.value(z, self.y)) / self.n + 0.5 * self.l2 * float(w @ w)

    def gradient(self, z, w):
        """``(dP/dw without the L1 term, dP/db)`` at margins ``z``."""
        r = self.s * self.loss.deriv(z, self.y) / self.n
        gb = float(r.sum()) if self.fit_intercept else 0.0
        return self.rmatvec(r) + self.l2 * w, gb

    def domain(self):
        """Bounds ``(lo, hi)`` on each ``theta_i`` where the conjugate is finite."""
        if self.loss.name == "squared_error":
            return np.full(self.n, -np.inf), np.full(self.n, np.inf)
        t = _T_MAX[self.loss.name]
        return np.where(self.y > 0, -t, 0.0), np.where(self.y > 0, 0.0, t)

    def conjugate(self, theta):
        """``l_i*(theta_i)`` for every sample (theta inside the domain)."""
        if self.loss.name == "squared_error":
            return 0.5 * theta * theta + theta * self.y
        t = -self.y * theta
        if self.loss.name == "log_loss":
            return xlogy(t, t) + xlogy(1.0 - t, 1.0 - t)
        if self.loss.name == "hinge":
            return -t
        return 0.25 * t * t - t

    def dual(self, theta):
        """``(D(theta'), u)``: the dual bound at a feasible ``theta'`` made from ``theta``.

        ``theta`` is clipped to the domain, balanced (``sum s theta = 0``) with an
        intercept and scaled into the L1 ball when ``l2 = 0``; ``u = -X^T (s theta')/n``.
        ``D`` is ``-inf`` when no such ``theta'`` exists.
        """
        lo, hi = self.domain()
        theta = np.clip(theta, lo, hi)
        if self.fit_intercept:
            theta = _balance(theta, lo, hi, self.s)
            if theta is None:
                return -np.inf, None
        u = -self.rmatvec(self.s * theta / self.n)
        if self.l2 > 0:
            soft = _soft(u, self.l1)
            penalty_conj = float(soft @ soft) / (2.0 * self.l2)
        else:
            top = float(np.abs(u).max(initial=0.0))
            if top > self.l1:
                if self.l1 == 0.0:
                    return -np.inf, u
                theta, u = theta * (self.l1 / top), u * (self.l1 / top)
            penalty_conj = 0.0
        return -float(self.s @ self.conjugate(theta)) / self.n - penalty_conj, u


def _balance(theta, lo, hi, s):
    """Shift ``theta`` inside ``[lo, hi]`` so that ``sum s theta = 0`` (None if impossible).

    Each sample moves by a share of the imbalance proportional to its room
    (capped at 1), so a sample on the edge of its domain does not move.
    """
    excess = float(s @ theta)
    if excess == 0.0:
        return theta
    room = np.minimum(theta - lo if excess > 0 else hi - theta, 1.0) * (s > 0)
    capacity = float(s @ room)
    if capacity < abs(excess):
        return None
    return np.clip(theta - excess * room / capacity, lo, hi)


# -- smooth losses ------------------------------------------------------------------------
def _smooth_optimum(model, tol, rounds=3):
    """L-BFGS-B, then Newton; again from there, more tightly, while Newton stalls."""
    # Newton converges in a few steps from a rough start, so L-BFGS-B only finds
    # one; but with L1 and no dense Hessian it must also find the support, and with
    # L1 alone the directions where X is degenerate (no curvature) are left to it
    rough = model.l1 == 0 or (model.direct_newton and model.l2 > 0)
    ftol = 1e-4 if rough else 1e-3 * tol
    maxiter = 5000 if model.problem.alpha > 0 else 1000
    w, b, n_iter = np.zeros(model.d), 0.0, 0
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


def _smooth_intercept(model, z0, b):
    """``argmin_b (1/n) sum_i s_i l(z0_i + b, y_i)``: Newton on the derivative, with bisection."""
    lo, hi, reach = -np.inf, np.inf, max(1.0, abs(b))
    for _ in range(200):
        p = z0 + b
        g = float(model.s @ model.loss.deriv(p, model.y))
        if g == 0.0:
            break
        if g > 0:
            hi = b
        else:
            lo = b
        h = float(model.s @ model.loss.curvature(p, model.y))
        step = -g / h if h > 0 else -math.copysign(np.inf, g)
        if not np.isfinite(hi if step > 0 else lo):
            step = math.copysign(min(abs(step), reach), step)  # no bracket that way yet
            reach *= 2.0
        if abs(step) <= 4e-16 * max(1.0, abs(b)):
            break
        new = b + step
        if not lo < new < hi:  # overshoot past the other end of a bracket
            new = 0.5 * (lo + hi)
            if new in (lo, hi):
                break
        b = new
    return b


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
            b = _smooth_intercept(model, model.margins(w, 0.0), b)
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
        step = _newton_step(model, w, b, z, value, gap, target)
        if step is None:
            break
        w, b, estimate = step
        if not np.isfinite(gap) and estimate <= target:
            return w, b, model.problem.objective(w, b), estimate, False, it + 1
    w, b, value, gap = best
    if np.isfinite(gap):
        return w, b, value, gap, True, it
    return w, b, value, (np.inf if estimate is None else estimate), False, it


def _newton_step(model, w, b, z, value, gap, target):
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


# -- hinge ---------------------------------------------------------------------------------
class _HingeDual:
    """Dual coordinate ascent for the hinge loss with ``l2 > 0`` (see :mod:`.kernels.dual_cd`).

    With an intercept, ``F(b) = min_w P(w, b)`` is convex and each dual point
    ``beta`` solved at ``b`` gives the affine minorant
    ``F(b') >= l2 (sum beta - ||w||^2/2) - l2 b' sum y beta``. Two such points
    with slopes of opposite signs combine (convexly) into one with
    ``sum y beta = 0``, dual feasible for the full problem: the certificate.
    The next ``b`` is where the two minorants cross (bisection as a safeguard).

    The primal ``w`` of a dual point is only ``O(sqrt(dual error))`` accurate, so
    when the dimension allows it each certificate is also tried on the face the
    margins point to (:func:`_hinge_face`), which yields an exact primal-dual pair.
    """

    max_passes, max_work = 5000, 3e9  # budget: passes over the data, or row entries read

    def __init__(self, problem, seed=0x9E3779B97F4A7C15):
        self.problem = problem
        self.model = m = _Model(problem)
        self.kappa = m.l1 / m.l2
        self.upper = m.s / (m.n * m.l2)
        self.data = (*m.arrays, m.y, self.upper, problem.row_norms_sq)
        self.beta = np.zeros(m.n)
        self.v = np.zeros(m.d)
        self.state = (self.beta, self.v, np.flatnonzero(self.upper > 0).astype(np.int64),
                      np.array([seed], dtype=np.uint64))
        self.epochs = 0
        row_size = max(1.0, problem.data.nnz / m.n)
        self.budget = max(self.max_passes * m.n, self.max_work / row_size)  # coordinate visits
        self.best = None  # (w, b, P(w, b)) of the best primal point seen
        self.dual = -np.inf

    def solve(self, b, eps):
        """Dual CD at intercept ``b`` to a projected-gradient spread ``eps``.

        Returns ``(A, Y, beta)``: ``A - l2 * Y * b'`` is the minorant of ``F`` at
        ``b'`` and ``Y = sum y beta``.
        """
        m = self.model
        margin = 1.0 - m.y * b
        while self.budget > 0:
            epochs, spread, visits = dual_cd(self.data, self.state, (margin, self.kappa),
                                             min(self.budget, 100 * m.n), eps)
            self.epochs += epochs
            self.budget -= visits
            if spread <= eps:
                break
        self.v[:] = m.rmatvec(m.y * self.beta)  # drop the drift of incremental updates
        w = _soft(self.v, self.kappa)
        return m.l2 * (float(self.beta.sum()) - 0.5 * float(w @ w)), float(m.y @ self.beta), \
            self.beta.copy()

    def certify(self, beta, start, tol):
        """Update the best primal point and dual bound.

        From the dual point ``beta`` (``sum y beta`` ~ 0 with an intercept) and
        from the faces near the primal point ``start = (w, b)`` of the last solve.
        """
        m = self.model
        alpha = np.divide(beta, self.upper, out=np.zeros(m.n), where=self.upper > 0)
        dual, u = m.dual(-m.y * np.minimum(alpha, 1.0))
        candidates = [start[0]]
        if u is not None:
            self.dual = max(self.dual, dual)
            candidates.append(_soft(u, m.l1) / m.l2)
        for w in candidates:
            self._offer(w, _hinge_intercept(m.margins(w, 0.0), m.y, m.s) if m.fit_intercept
                        else 0.0)
        if not m.direct_newton:
            return
        # the margins' error is unknown: try faces from wide to narrow
        for delta in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8):
            if self.gap() <= tol * self.best[2]:
                return
            face = _hinge_face(m, *start, delta)
            if face is not None:
                self._offer(face[0], face[1])
                dual, u = m.dual(-m.y * face[2])
                self.dual = max(self.dual, dual)
                if u is not None:
                    w = _soft(u, m.l1) / m.l2
                    self._offer(w, _hinge_intercept(m.margins(w, 0.0), m.y, m.s)
                                if m.fit_intercept else 0.0)

    def _offer(self, w, b):
        value = self.problem.objective(w, b)
        if self.best is None or value < self.best[2]:
            self.best = (w, b, value)

    def gap(self):
        return np.inf if self.best is None else self.best[2] - self.dual

    def optimum(self, tol):
        method = "dual_cd"
        eps = 1e-2
        if self.problem.fit_intercept:
            method = "dual_cd+intercept_search"
            self._search_intercept(tol)
        else:
            while self.budget > 0:
                beta = self.solve(0.0, eps)[2]
                self.certify(beta, (_soft(self.v, self.kappa), 0.0), tol)
                if self.gap() <= tol * self.best[2]:
                    break
                eps = max(0.1 * eps, 1e-14)
        if self.best is None:
            return _soft(self.v, self.kappa), 0.0, np.inf, False, method, self.epochs
        w, b, _ = self.best
        return w, b, self.gap(), np.isfinite(self.dual), method, self.epochs

    def _search_intercept(self, tol, max_outer=200):
        l2 = self.model.l2
        ends = {}  # +1: a cut with F'(b) < 0 (b below b*), -1: with F'(b) > 0
        b, step, eps, last_sides = 0.0, 1.0, 1e-2, []
        for _ in range(max_outer):
            A, Y, beta = self.solve(b, eps)
            if Y == 0.0:
                self.certify(beta, (_soft(self.v, self.kappa), b), tol)
                return
            side = 1 if Y > 0 else -1
            ends[side] = (b, A, Y, beta, eps)
            last_sides.append(side)
            if len(ends) < 2:
                b, step = b + side * step, 2.0 * step
                continue
            (b_lo, A_lo, Y_lo, beta_lo, _), (b_hi, A_hi, Y_hi, beta_hi, _) = ends[1], ends[-1]
            t = Y_lo / (Y_lo - Y_hi)
            self.certify((1.0 - t) * beta_lo + t * beta_hi, (_soft(self.v, self.kappa), b), tol)
            if self.gap() <= tol * self.best[2] or self.budget <= 0:
                return
            eps = max(0.1 * eps, 1e-14)
            stale = ends[-side]
            if stale[4] > 100.0 * eps:
                b = stale[0]  # a cut solved far less precisely: redo it before trusting it
            else:
                b = _next_intercept(b_lo, A_lo, Y_lo, b_hi, A_hi, Y_hi, l2, last_sides)


def _hinge_face(model, w, b, delta, max_size=2e9):
    """Minimize the hinge objective on the face its margins at ``(w, b)`` point to.

    Samples with ``y_i(x_i.w + b)`` within ``delta`` of 1 are held on the kink
    (equality constraints), those below it contribute their linear piece, those
    above nothing; with L1 the zero coordinates of ``w`` stay zero. That is an
    equality-constrained quadratic program, solved by a null-space method; its
    multipliers ``mu_i = s_i alpha_i / n`` give the dual point. Returns
    ``(w, b, alpha)`` or None when the face is too large or not bounded.
    """
    y, s, n = model.y, model.s, model.n
    fi = int(model.fit_intercept)
    score = y * model.margins(w, b)
    on = np.flatnonzero(np.abs(score - 1.0) <= delta)
    below = (score < 1.0 - delta) & (s > 0)
    free = np.flatnonzero(w) if model.l1 > 0 else np.arange(model.d)
    k = free.size + fi
    if on.size * k * k > max_size:
        return None
    X = model.problem.data.X
    weight = s * below / n
    c = np.append(model.rmatvec(weight * y)[free], weight @ y if fi else [])
    ell = np.append(model.l1 * np.sign(w[free]), np.zeros(fi)) - c
    q = np.append(np.full(free.size, model.l2), np.zeros(fi))
    rows = X[on][:, free]
    rows = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
    A = y[on, None] * (np.hstack([rows, np.ones((on.size, 1))]) if fi else rows)
    U, S, Vt = np.linalg.svd(A, full_matrices=on.size < k)
    rank = int(np.sum(S > 1e-12 * S.max())) if S.size else 0
    z = Vt[:rank].T @ ((U[:, :rank].T @ np.ones(on.size)) / S[:rank])
    N = Vt[rank:].T
    if N.shape[1]:
        reduced = N.T @ (q[:, None] * N)
        t, *_ = lstsq(reduced, -N.T @ (q * z + ell), cond=1e-13)
        z = z + N @ t
    stationarity = q * z + ell  # = A^T mu at the optimum of the face
    if N.shape[1] and np.abs(N.T @ stationarity).max(initial=0.0) > 1e-8 * (
            1.0 + np.abs(stationarity).max(initial=0.0)):
        return None  # unbounded along the face (no sample pins the intercept)
    mu = np.zeros(on.size)
    if on.size:
        cap = s[on] / n
        mu = lstsq(A.T, stationarity, cond=1e-13)[0]
        if np.any(mu < 0) or np.any(mu > cap):
            mu = lsq_linear(A.T, stationarity, bounds=(0.0, cap + 1e-300), method="bvls").x
    alpha = below.astype(np.float64)
    alpha[on] = np.clip(np.divide(mu * n, s[on], out=np.zeros(on.size), where=s[on] > 0),
                        0.0, 1.0)
    w_face = np.zeros(model.d)
    w_face[free] = z[:free.size]
    return w_face, (float(z[-1]) if fi else 0.0), alpha


def _next_intercept(b_lo, A_lo, Y_lo, b_hi, A_hi, Y_hi, l2, last_sides):
    """Where the two minorants cross, or the midpoint when that would not shrink the bracket."""
    mid = 0.5 * (b_lo + b_hi)
    if len(last_sides) >= 2 and last_sides[-1] == last_sides[-2]:
        return mid  # the same end moved twice: halve (Illinois-style safeguard)
    cross = (A_lo - A_hi) / (l2 * (Y_lo - Y_hi))
    inner_lo, inner_hi = sorted((b_lo, b_hi))
    width = inner_hi - inner_lo
    if np.isfinite(cross) and inner_lo + 1e-3 * width < cross < inner_hi - 1e-3 * width:
        return cross
    return mid


def _hinge_intercept(z0, y, s):
    """``argmin_b sum_i s_i max(0, 1 - y_i (z0_i + b))``: a weighted median of the kinks.

    The slope in ``b`` is ``-S_+ + sum_{kink_i < b} s_i`` (``S_+`` the weight of
    the positive class), so the minimum is at the first kink where the
    cumulative weight reaches ``S_+``.
    """
    kinks = y - z0
    order = np.argsort(kinks, kind="stable")
    cumulative = np.cumsum(s[order])
    k = int(np.searchsorted(cumulative, float(s[y > 0].sum()), side="left"))
    return float(kinks[order[min(k, kinks.size - 1)]])


def _hinge_lp(problem):
    """Hinge with ``l2 = 0``: the dual linear program, solved exactly by HiGHS (simplex).

    ``max (1/n) sum_i s_i alpha_i`` over ``0 <= alpha <= 1`` subject to
    ``|(1/n) sum_i s_i y_i alpha_i x_ij| <= l1`` for every ``j`` and, with an
    intercept, ``sum_i s_i y_i alpha_i = 0``: ``n`` variables but only ``2d (+1)``
    rows, far smaller for the simplex than the primal's ``n`` rows. ``w`` is
    read off the rows' multipliers and ``b`` is then made exactly optimal.
    """
    model = _Model(problem)
    n, d, y, s = model.n, model.d, model.y, model.s
    X = sp.csr_matrix(problem.data.X, dtype=np.float64)
    M = (X.T @ sp.diags(s * y / n)).tocsr()
    eq = dict(A_eq=sp.csr_matrix((s * y)[None, :]), b_eq=[0.0]) if model.fit_intercept else {}
    res = linprog(-s / n, A_ub=sp.vstack([M, -M], format="csc"), b_ub=np.full(2 * d, model.l1),
                  bounds=(0.0, 1.0), method="highs-ds", **eq,
                  options=dict(primal_feasibility_tolerance=1e-10,
                               dual_feasibility_tolerance=1e-10))
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the hinge LP: {res.message}")
    multipliers = res.ineqlin.marginals
    w = multipliers[d:] - multipliers[:d]
    b = _hinge_intercept(model.margins(w, 0.0), y, s) if model.fit_intercept else 0.0
    value = problem.objective(w, b)
    dual = model.dual(-y * np.clip(res.x, 0.0, 1.0))[0]
    if np.isfinite(dual):
        return w, b, value - dual, True, "highs", res.nit
    return w, b, abs(value + res.fun), False, "highs", res.nit
