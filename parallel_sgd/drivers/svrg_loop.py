"""What both SVRG drivers share: per-row smoothness, row sampling, the default steps,
the pass counter and the outer loop of snapshots and inner loops.

Work is counted in effective passes: gradient evaluations / n, a snapshot
being n evaluations and an inner step one.
"""
import math

import numpy as np

from ..model.schedules import constant
from ..trace import checkpoint_epochs
from .common import check_progress, divergence_error


def row_smoothness(problem):
    """``(L_w, L_b)`` per row: the smoothness of example i's term ``s_i l(x_i.w + b, y_i)
    + l2/2 ||w||^2`` in ``w`` (``s_i smooth ||x_i||^2 + l2``) and in ``b`` (``s_i smooth``)."""
    weights = (problem.data.sample_weight if problem.data.sample_weight is not None
               else np.ones(problem.n_samples))
    in_b = problem.loss.smoothness * weights
    return in_b * problem.row_norms_sq + problem.penalty.l2, in_b


def sampling_ratios(problem, sampling):
    """``(probabilities, ratios)`` of the row sampling: ``None, None`` for uniform; for
    "smoothness", ``p_i`` proportional to the row's smoothness in ``(w, b)`` and
    ``r_i = 1 / (n p_i)``, which keeps the variance-reduced gradient unbiased."""
    if sampling == "uniform":
        return None, None
    in_w, in_b = row_smoothness(problem)
    smoothness = in_w + (in_b if problem.fit_intercept else 0.0)
    probabilities = smoothness / smoothness.sum()
    with np.errstate(divide="ignore"):
        return probabilities, 1.0 / (problem.n_samples * probabilities)


STEP_DIVISOR = 2.75


def default_steps(problem, ratios):
    """``(eta_w, eta_b)``: ``1 / (2.75 L)`` for the weights and, separately, the intercept.

    ``L`` is each block's largest per-example smoothness under the sampling
    (``max_i r_i L_i``). The intercept's own smoothness (``s_i`` times the loss's) is
    ~``||x||^2`` times smaller than the weights', so one step for both would make
    the intercept the slowest direction. The divisor 2.75 was tuned (BENCHMARKS.md,
    SVRG).
    """
    in_w, in_b = row_smoothness(problem)
    if ratios is not None:
        sampled = np.isfinite(ratios)  # rows never drawn (p_i = 0) add nothing
        in_w, in_b = (ratios * in_w)[sampled], (ratios * in_b)[sampled]
    eta_w = 1.0 / (STEP_DIVISOR * max(in_w.max(), 1e-300))
    eta_b = 1.0 / (STEP_DIVISOR * max(in_b.max(), 1e-300)) if problem.fit_intercept else 0.0
    return eta_w, eta_b


class PassCounter:
    """Gradient evaluations done, and the trace rows due at the checkpoints they pass."""

    def __init__(self, problem, trace, n_epochs, eval_every, eta):
        self.problem, self.trace, self.n = problem, trace, problem.n_samples
        self.budget = int(round(n_epochs * self.n))
        self.goals = iter([int(round(mark * self.n))
                           for mark in checkpoint_epochs(n_epochs, eval_every)])
        self.goal = next(self.goals)
        self.evals = self.updates = 0
        self.step = constant(eta)  # for the divergence messages

    def room(self):
        """Evaluations left before the next checkpoint or the end of the budget."""
        return min(self.goal, self.budget) - self.evals

    def record(self, weights, intercept, final=False):
        """A trace row if a checkpoint was passed (or ``final``); True when training
        should stop: the budget is spent, or the callback asked."""
        if not final and self.room() > 0:
            return False
        if final and self.trace.rows[-1]["n_grad_evals"] == self.evals:
            return True  # this point is recorded already
        while self.goal <= self.evals:
            self.goal = next(self.goals, math.inf)
        stop = self.trace.record(weights, intercept, epoch=self.evals / self.n,
                                 n_updates=self.updates, n_grad_evals=self.evals)
        check_progress(self.trace.rows, self.step, self.problem)
        return stop or final or self.evals >= self.budget

    def diverged(self, done):
        return divergence_error(f"effective pass {(self.evals + done) / self.n:.3g} (a "
                                f"prediction became NaN or infinite)", self.step, self.problem)


def outer_loops(solver, counter, trace, w, b, draw_rows):
    """Snapshots and inner loops until the pass budget is spent or the callback stops;
    returns the final ``(w, b)``.

    ``solver.take_snapshot(w, b)`` costs n evaluations and starts an inner loop of
    the rows ``draw_rows()`` draws; ``solver.run(rows)`` runs them in stretches
    between checkpoints (one evaluation each) and returns how many it did;
    ``solver.weights()`` gives the current ``(w, b)``.
    """
    n = counter.n
    while counter.evals + n < counter.budget:  # room for a snapshot and inner steps
        with trace.clock:
            solver.take_snapshot(w, b)
            rows = draw_rows()
        counter.evals += n
        stop = counter.record(w, b)
        position = 0
        while position < len(rows) and not stop:
            chunk = min(len(rows) - position, counter.room())
            with trace.clock:
                done = solver.run(rows[position:position + chunk])
            if done < chunk:
                raise counter.diverged(done)
            position += chunk
            counter.evals += chunk
            counter.updates += chunk
            stop = counter.record(*solver.weights())
        with trace.clock:
            w, b = solver.weights()
        if stop:
            return w, b
    counter.record(w, b, final=True)
    return w, b


def warm_up(solver, w, b):
    """Compile (or load) every kernel before the clock starts; ``solver.take_snapshot``
    with ``compile_only=True`` may skip the pass over the data (2.5 s at 2M x 2M)."""
    solver.take_snapshot(w, b, compile_only=True)
    solver.run(np.zeros(0, dtype=np.int64))
    solver.weights()
