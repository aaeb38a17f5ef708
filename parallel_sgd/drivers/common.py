"""What every SGD-family driver shares: the model state the kernels mutate, their
grouped arguments, argument checks and the `Result`."""
from dataclasses import dataclass, field

import numpy as np

from ..errors import DivergenceError
from ..kernels.linalg import data_arrays
from ..penalties import flush_cumulative_l1
from ..trace import optimum_value


@dataclass
class Result:
    """What ``fit`` returns: the weights, the intercept and the convergence trace."""

    coef: np.ndarray
    intercept: float
    trace: list
    driver: str = ""
    config: dict = field(default_factory=dict)

    @property
    def objective(self):
        """The objective at the final weights (from the last trace row)."""
        return self.trace[-1]["objective"] if self.trace else float("nan")

    @property
    def time_s(self):
        return self.trace[-1]["time_s"] if self.trace else 0.0

    @property
    def n_updates(self):
        return self.trace[-1]["n_updates"] if self.trace else 0


class ModelState:
    """The weights as the kernels hold them: ``w = scale * v``, lazily L1-penalized.

    ``v`` has the data's dtype; ``scalars = [b, scale, u]`` is float64; ``q`` holds
    the L1 penalty each coordinate has received; ``rule_state`` the update rule's.
    """

    def __init__(self, n_features, dtype, rule, coef_init=None, intercept_init=0.0):
        self.v = np.zeros(n_features, dtype=dtype)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64)
            if coef_init.shape != (n_features,):
                raise ValueError(f"coef_init must have shape ({n_features},), got {coef_init.shape}")
            self.v[:] = coef_init
        self.scalars = np.array([float(intercept_init or 0.0), 1.0, 0.0])
        self.q = np.zeros(n_features, dtype=dtype)
        self.rule_state = rule.init_state(n_features, dtype)

    @property
    def arrays(self):
        """``(v, scalars, q, rule_state)``: the kernels' ``model`` argument."""
        return self.v, self.scalars, self.q, self.rule_state

    def weights(self):
        """``(w, b)`` as float64 copies: scale folded in, pending L1 penalty applied.

        The kernel state itself is not changed, so evaluating does not perturb training.
        """
        w = self.v.astype(np.float64) * self.scalars[1]
        if self.scalars[2] > 0.0:
            flush_cumulative_l1(w, self.q.astype(np.float64), 1.0, self.scalars[2])
        return w, float(self.scalars[0])

    def check_finite(self, where):
        w, b = self.weights()
        if not (np.isfinite(w).all() and np.isfinite(b)):
            raise DivergenceError(f"training diverged ({where}): the weights are no longer finite")


def kernel_data(problem):
    """``(X, indices, indptr, y, sample_weight)``: the kernels' ``data`` argument."""
    values, indices, indptr = data_arrays(problem.data.X)
    return values, indices, indptr, problem.y, problem.data.sample_weight


def kernel_config(problem, rule, intercept_rate=1.0):
    """``(loss_code, rule_code, hyper, l2, l1, intercept_rate, penalty_weights)``.

    ``intercept_rate`` scales the intercept's steps; it is 0 without an intercept.
    """
    return (
        problem.loss.code,
        rule.code,
        rule.hyper_array(),
        problem.penalty.l2,
        problem.penalty.l1,
        float(intercept_rate) if problem.fit_intercept else 0.0,
        problem.penalty_weights.astype(np.float64),
    )


def divergence_error(where, schedule, problem):
    """The error raised when a prediction or weight stops being finite."""
    safe = 1.0 / problem.max_smoothness
    return DivergenceError(
        f"training diverged at {where}. "
        f"The step size is too large for this data (first step {schedule.rate(0):.3g}); "
        f"try a smaller learning rate, e.g. eta0={safe:.3g} (1 / max per-example smoothness), "
        f"or standardize the features."
    )


def check_progress(rows, schedule, problem, growth=1e6):
    """Raise :func:`divergence_error` if the last checkpoint's objective is not finite or
    has grown ``growth``-fold over the first: a step that large never helps."""
    first, last = rows[0]["objective"], rows[-1]["objective"]
    if not np.isfinite(last) or last > growth * max(abs(first), 1e-12):
        raise divergence_error(f"epoch {rows[-1]['epoch']:g} (objective {last:.3g}, "
                               f"started at {first:.3g})", schedule, problem)


def positive_int(name, value, upper=None, upper_name=None):
    """``value`` as an int >= 1 (and <= ``upper``), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if upper is not None and value > upper:
        raise ValueError(f"{name}={value} exceeds {upper_name} ({upper})")
    return int(value)


def positive_number(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0, got {value!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return value


__all__ = ["Result", "ModelState", "kernel_data", "kernel_config", "divergence_error",
           "check_progress",
           "positive_int", "positive_number", "optimum_value"]
