"""What every SGD-family driver shares: the model state the kernels mutate, their
grouped arguments, argument checks and the `Result`."""
from dataclasses import dataclass, field

import numpy as np

from ..errors import DivergenceError
from ..kernels import averaging
from ..kernels.linalg import data_arrays
from ..penalties import flush_cumulative_l1
from ..trace import checkpoint_epochs, optimum_value


@dataclass
class Result:
    """What ``fit`` returns: the weights, the intercept and the convergence trace."""

    coef: np.ndarray
    intercept: float
    trace: list
    driver: str = ""
    config: dict = field(default_factory=dict)
    state: object = None  # the sync driver's ModelState, to resume from (``resume=``)

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
    ``average`` is None, or the ASGD state ``(aw, avg)`` of :mod:`..kernels.averaging`
    once :meth:`start_averaging` was called; ``steps`` counts the steps taken so far
    (a resumed fit continues its schedule from there).
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
        self.rule_name = rule.name
        self.average = None
        self.steps = 0

    @property
    def arrays(self):
        """``(v, scalars, q, rule_state)``: the kernels' ``model`` argument."""
        return self.v, self.scalars, self.q, self.rule_state

    def start_averaging(self, start=0):
        """Average the iterates of global steps ``t >= start`` (0-based) from now on."""
        avg = np.zeros(averaging.N_SCALARS)
        avg[averaging.BSUM] = 1.0
        avg[averaging.START] = float(start)
        self.average = (np.zeros(self.v.shape[0]), avg)

    @property
    def averaged(self):
        """Whether :meth:`weights` returns an average (averaging on and started)."""
        return self.average is not None and self.average[1][averaging.COUNT] > 0

    def weights(self):
        """The model ``(w, b)``: the average of the iterates once ASGD has started,
        else :meth:`iterate`."""
        if not self.averaged:
            return self.iterate()
        aw, avg = self.average
        w = (aw + avg[averaging.A] * self.v.astype(np.float64)) / avg[averaging.BSUM]
        return w, float(avg[averaging.INTERCEPT])

    def iterate(self):
        """``(w, b)`` as float64 copies: scale folded in, pending L1 penalty applied.

        The kernel state itself is not changed, so evaluating does not perturb training.
        """
        w = self.v.astype(np.float64) * self.scalars[1]
        if self.scalars[2] > 0.0:
            flush_cumulative_l1(w, self.q.astype(np.float64), 1.0, self.scalars[2])
        return w, float(self.scalars[0])

    def check_finite(self, where):
        w, b = self.iterate()
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
    has grown ``growth``-fold over the first: a step that large never helps.

    The growth test applies to losses with an unbounded derivative only. With a
    bounded one (hinge, log, modified Huber) a step moves the weights by at most
    ``eta * s_i * |x_i|``: heavily weighted rows (scikit-learn's class-weight check
    gives one class 1000) can send the objective far up for a while, and the
    decreasing steps bring it back -- that is not divergence."""
    first, last = rows[0]["objective"], rows[-1]["objective"]
    grew = not problem.loss.bounded_derivative and last > growth * max(abs(first), 1e-12)
    if not np.isfinite(last) or grew:
        raise divergence_error(f"epoch {rows[-1]['epoch']:g} (objective {last:.3g}, "
                               f"started at {first:.3g})", schedule, problem)


def train_epochs(problem, trace, state, schedule, run_steps, *, n_epochs, eval_every,
                 random_state, shuffle=True, batch_size=1, first_step=0, epoch_end=None):
    """The loop every SGD-family driver shares: epochs, checkpoints, divergence checks.

    Each epoch draws a permutation of the rows (or keeps their order, or, with
    ``shuffle=None``, leaves the order to ``run_steps``, which then gets
    ``rows=None``) and the step sizes of its steps; ``run_steps(rows, etas,
    first_step)`` runs the steps that fall before the next checkpoint
    (``len(etas)`` of them, ``batch_size`` rows each) and returns how many it
    completed. The solver clock runs only inside it; the trace gets a row at
    epoch 0 and at every checkpoint. ``first_step`` is the global step count
    training resumes from: the schedule and the kernels see ``first_step + step``
    (the trace counts this run's steps). ``epoch_end(epoch)``, if given, is called
    (clock running) whenever an epoch completes; True stops training there.
    Returns the final :class:`Result`.
    """
    n = problem.n_samples
    steps_per_epoch = -(-n // batch_size)
    rng = np.random.default_rng(random_state)
    step = examples = 0
    trace.record(*state.weights(), epoch=0, n_updates=0, n_grad_evals=0)
    epoch, position, order, etas = 0, 0, None, None
    for mark in checkpoint_epochs(n_epochs, eval_every):
        goal = int(round(mark * steps_per_epoch))
        with trace.clock:
            while step < goal:
                if etas is None:
                    order = draw_order(rng, n, shuffle)
                    t = first_step + step
                    etas = schedule(np.arange(t, t + steps_per_epoch), epoch)
                end = min(steps_per_epoch, position + goal - step)
                rows = None if order is None else order[position * batch_size:end * batch_size]
                done = run_steps(rows, etas[position:end], first_step + step)
                if done < end - position:
                    raise divergence_error(
                        f"epoch {epoch}, step {position + done} (a prediction became NaN "
                        f"or infinite)", schedule, problem)
                step += end - position
                examples += min(end * batch_size, n) - position * batch_size
                position = end
                if position == steps_per_epoch:
                    epoch, position, etas = epoch + 1, 0, None
                    if epoch_end is not None and epoch_end(epoch):
                        goal = -1  # stop after this checkpoint's row
                        break
        stop = trace.record(*state.weights(), epoch=step / steps_per_epoch, n_updates=step,
                            n_grad_evals=examples)
        check_progress(trace.rows, schedule, problem)
        if stop or goal < 0:
            break
    state.check_finite("at the end of training")
    return Result(*state.weights(), trace.rows, driver=trace.driver)


def draw_order(rng, n, shuffle):
    """An epoch's row order: a fresh permutation, the stored order, or None (``shuffle=None``:
    the driver's workers draw their own)."""
    if shuffle is None:
        return None
    return rng.permutation(n) if shuffle else np.arange(n)


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
           "check_progress", "train_epochs",
           "positive_int", "positive_number", "optimum_value"]
