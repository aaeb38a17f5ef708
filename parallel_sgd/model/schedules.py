"""Learning-rate schedules: plain functions of the step count, built by validating factories.

A schedule maps an integer array of global step counts ``t = 0, 1, ...`` (and the
current epoch) to step sizes. Drivers materialize one array of step sizes per
block of steps, so kernels never call Python and a new schedule needs no
recompilation.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..errors import check_choice


def _positive(name, value):
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


@dataclass(frozen=True)
class Schedule:
    """A named step-size rule ``rate(t, epoch)``; call it with an array of steps."""

    name: str
    eta0: float
    alpha: float = 0.0
    t0: float = 0.0
    beta: float = 1.0

    def __call__(self, steps, epoch=0):
        t = np.asarray(steps, dtype=np.float64)
        if self.name == "constant":
            return np.full(t.shape, self.eta0)
        if self.name == "inverse":
            return self.eta0 / (1.0 + self.eta0 * self.alpha * t)
        if self.name == "inverse_sqrt":
            return self.eta0 / np.sqrt(1.0 + t)
        if self.name == "optimal":
            return 1.0 / (self.alpha * (self.t0 + t))
        # exponential back-off: constant within an epoch, times beta after each
        return np.full(t.shape, self.eta0 * self.beta ** epoch)

    def rate(self, step, epoch=0):
        """The step size at one step (a float)."""
        return float(self(np.array([step]), epoch)[0])


def constant(eta0):
    """``eta_t = eta0``."""
    return Schedule("constant", _positive("eta0", eta0))


def inverse(eta0, alpha):
    """``eta_t = eta0 / (1 + eta0 * alpha * t)``: the 1/t decay for alpha-strongly convex problems."""
    alpha = _positive("alpha (the inverse schedule needs alpha > 0)", alpha)
    return Schedule("inverse", _positive("eta0", eta0), alpha=alpha)


def inverse_sqrt(eta0):
    """``eta_t = eta0 / sqrt(1 + t)``."""
    return Schedule("inverse_sqrt", _positive("eta0", eta0))


def optimal(alpha, eta0):
    """Bottou's ``eta_t = 1 / (alpha * (t0 + t))`` with ``t0`` chosen so ``eta_0 = eta0``."""
    alpha = _positive("alpha (the optimal schedule needs alpha > 0)", alpha)
    eta0 = _positive("eta0", eta0)
    return Schedule("optimal", eta0, alpha=alpha, t0=1.0 / (alpha * eta0))


def exponential(eta0, beta=0.9):
    """``eta = eta0 * beta**epoch``: Hogwild's per-epoch back-off (Niu et al. 2011)."""
    beta = float(beta)
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must be in (0, 1], got {beta!r}")
    return Schedule("exponential", _positive("eta0", eta0), beta=beta)


SCHEDULES = ("constant", "inverse", "inverse_sqrt", "optimal", "exponential")


def sklearn_optimal_eta0(alpha, loss):
    """The first step scikit-learn's ``learning_rate="optimal"`` takes (Bottou's heuristic).

    ``typw = sqrt(1/sqrt(alpha))`` is a typical weight size; the first step is
    ``typw / max(1, |dl/dp(-typw, 1)|)``. scikit-learn writes the max over the
    signed derivative, which is negative for every classification loss, so in
    practice ``eta_0 = alpha**-0.25``; we keep its formula, sign included.
    """
    alpha = _positive("alpha (the optimal schedule needs alpha > 0)", alpha)
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    slope = float(loss.deriv(np.array([-typw]), np.array([1.0]))[0])
    return typw / max(1.0, slope)


def make_schedule(name, eta0, alpha, loss, max_smoothness):
    """Build the schedule ``name`` from ``fit``'s arguments.

    ``eta0=None`` picks a default: ``1 / L_max`` where ``L_max``
    (``max_smoothness``) bounds the smoothness of every per-example loss, the
    largest step that is stable; for ``optimal``, scikit-learn's first step --
    capped at ``1 / L_max`` for losses whose derivative is unbounded
    (``squared_error``, ``squared_hinge``), where scikit-learn's step diverges.
    ``beta`` for the exponential schedule may be given as ``("exponential", beta)``.
    """
    beta = 0.9
    if isinstance(name, tuple):
        name, beta = name
    check_choice("learning_rate", name, SCHEDULES)
    safe = 1.0 / max_smoothness
    if name == "optimal":
        if eta0 is None:
            eta0 = sklearn_optimal_eta0(alpha, loss)
            eta0 = eta0 if loss.bounded_derivative else min(eta0, safe)
        return optimal(alpha, eta0)
    if eta0 is None:
        eta0 = safe
    if name == "constant":
        return constant(eta0)
    if name == "inverse":
        return inverse(eta0, alpha)
    if name == "inverse_sqrt":
        return inverse_sqrt(eta0)
    return exponential(eta0, beta)
