"""A Problem's arrays, the passes over them every solver shares, and the Fenchel dual.

`Model` evaluates margins, the smooth part of the objective and its gradient,
the losses' conjugates and the dual bound ``D(theta)`` that certifies every
optimum (see :mod:`parallel_sgd.reference` for the formula), so that the
smooth and the hinge solvers measure their gap the same way.
"""
import math

import numpy as np
from scipy.special import xlogy

from ..kernels.linalg import data_arrays, margins, rmatvec

# largest |t| = |y * theta| in the domain of each classification loss's conjugate
T_MAX = {"log_loss": 1.0, "hinge": 1.0, "squared_hinge": math.inf, "modified_huber": 4.0}


def soft(u, kappa):
    return np.sign(u) * np.maximum(np.abs(u) - kappa, 0.0)


class Model:
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
        t = T_MAX[self.loss.name]
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
            shrunk = soft(u, self.l1)
            penalty_conj = float(shrunk @ shrunk) / (2.0 * self.l2)
        else:
            top = float(np.abs(u).max(initial=0.0))
            if top > self.l1:
                if self.l1 == 0.0:
                    return -np.inf, u
                theta, u = theta * (self.l1 / top), u * (self.l1 / top)
            penalty_conj = 0.0
        return -float(self.s @ self.conjugate(theta)) / self.n - penalty_conj, u


def smooth_intercept(model, z0, b):
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
