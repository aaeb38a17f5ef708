"""What every driver shares: the `Result`, the epoch loop with its checkpoints and
divergence checks, argument checks, and the Numba thread count of a fit."""
from contextlib import contextmanager
from dataclasses import dataclass, field

import numba
import numpy as np

from .._interrupts import raise_if_interrupted
from ..errors import DivergenceError
from ..trace import checkpoint_epochs
from .orders import draw_order, order_block


@dataclass
class Result:
    """What ``fit`` returns: the weights, the intercept and the convergence trace."""

    coef: np.ndarray
    intercept: float
    trace: list
    driver: str = ""
    config: dict = field(default_factory=dict)
    state: object = None  # the sync driver's model state, to resume from (``resume=``)

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
    if first is None or last is None:  # not evaluated (fit's evaluate=False)
        return
    grew = not problem.loss.bounded_derivative and last > growth * max(abs(first), 1e-12)
    if not np.isfinite(last) or grew:
        raise divergence_error(f"epoch {rows[-1]['epoch']:g} (objective {last:.3g}, "
                               f"started at {first:.3g})", schedule, problem)


def train_epochs(problem, trace, state, schedule, run_steps, *, n_epochs, eval_every,
                 random_state, shuffle=True, batch_size=1, first_step=0, epoch_end=None):
    """The loop every SGD-family driver shares: epochs, checkpoints, divergence checks.

    Each epoch draws its row order (:func:`.orders.draw_order`; with
    ``shuffle=None`` it leaves the order to ``run_steps``, which then gets
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
    block = order_block(shuffle, problem)
    for mark in checkpoint_epochs(n_epochs, eval_every):
        goal = int(round(mark * steps_per_epoch))
        with trace.clock:
            while step < goal:
                if etas is None:
                    order = draw_order(rng, n, shuffle, block)
                    t = first_step + step
                    etas = schedule(np.arange(t, t + steps_per_epoch), epoch)
                end = min(steps_per_epoch, position + goal - step)
                rows = None if order is None else order[position * batch_size:end * batch_size]
                done = run_steps(rows, etas[position:end], first_step + step)
                raise_if_interrupted()
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


@contextmanager
def numba_threads(n_workers):
    """Run the enclosed ``prange`` kernels on ``n_workers`` threads."""
    if n_workers > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"n_workers={n_workers} exceeds the {numba.config.NUMBA_NUM_THREADS} threads Numba "
            f"was started with (set NUMBA_NUM_THREADS before importing parallel_sgd)"
        )
    previous = numba.get_num_threads()
    numba.set_num_threads(n_workers)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def average_start(average):
    """The 0-based step averaging starts at (None: no averaging), from the ``average``
    option: False/None (off), True (from the first step) or the 1-based step ``k``
    (scikit-learn's meaning; 0 is off)."""
    if average is False or average is None:
        return None
    if average is True:
        return 0
    if isinstance(average, (int, np.integer)) and average >= 0:
        return None if average == 0 else int(average) - 1
    raise ValueError(f"average must be True, False or an int >= 0 (the step averaging "
                     f"starts at), got {average!r}")


def check_plain_steps(what, unit, batch_size, rule):
    """What the drivers of multinomial and ranking problems refuse: more than one
    ``unit`` per step, and update rules other than plain SGD (``what`` names the
    problems in the message)."""
    if batch_size != 1:
        raise ValueError(f"{what} are trained one {unit} per step: batch_size must be 1, "
                         f"got {batch_size}")
    if rule.name != "sgd":
        raise ValueError(f"{what} are trained with optimizer 'sgd' only, got {rule.name!r}")
