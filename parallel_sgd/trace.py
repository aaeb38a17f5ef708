"""Convergence traces: flat rows at checkpoints, timed by a solver-only clock.

A row holds ``driver, n_workers, epoch, n_updates, n_grad_evals, time_s,
objective, suboptimality, relative_suboptimality, test_metric`` (and, for
parameter-server drivers, ``staleness_mean, staleness_max``). ``time_s`` counts
solver time only: the clock stops while the objective is evaluated.
"""
import math
import time

import numpy as np

from ._interrupts import raise_if_interrupted

TRACE_FIELDS = (
    "driver", "n_workers", "epoch", "n_updates", "n_grad_evals", "time_s", "objective",
    "suboptimality", "relative_suboptimality", "test_metric", "staleness_mean", "staleness_max",
)


class SolverClock:
    """Accumulates wall time only between :meth:`start` and :meth:`stop`."""

    def __init__(self):
        self.elapsed = 0.0
        self._since = None

    def start(self):
        if self._since is None:
            self._since = time.perf_counter()

    def stop(self):
        if self._since is not None:
            self.elapsed += time.perf_counter() - self._since
            self._since = None
        return self.elapsed

    @property
    def running(self):
        return self._since is not None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def optimum_value(optimum):
    """P* as a float from an ``Optimum``-like object, a number, or None."""
    if optimum is None:
        return None
    return float(getattr(optimum, "objective", optimum))


class Trace:
    """Builds trace rows for one run; evaluation happens with the solver clock stopped."""

    def __init__(self, problem, driver, n_workers, optimum=None, test=None, callback=None,
                 evaluate=True):
        self.problem = problem
        self.evaluate = evaluate  # False: rows without the objective (None), no pass
        self.driver = driver
        self.n_workers = n_workers
        self.p_star = optimum_value(optimum)
        self.test = test
        self.callback = callback
        self.clock = SolverClock()
        self.rows = []
        # ``margins(w, b) -> X w + b``: a driver whose own workers compute the checkpoint
        # pass (Hogwild!'s team) sets it while it trains; None: the problem's pass
        self.margins = None
        if test is not None:
            problem.encode_targets(test)  # fail early on labels the problem does not know

    def record(self, w, b, epoch, n_updates, n_grad_evals, **extra):
        """Evaluate ``(w, b)`` (clock paused) and append a row; returns True to stop.
        A Ctrl-C deferred during a fit is raised here (:mod:`parallel_sgd._interrupts`)."""
        raise_if_interrupted()
        was_running = self.clock.running
        self.clock.stop()
        if not self.evaluate:
            objective = None
        elif self.margins is None:
            objective = self.problem.objective(w, b)
        else:
            objective = self.problem.objective(w, b, margins=self.margins(w, b))
        row = {
            "driver": self.driver,
            "n_workers": self.n_workers,
            "epoch": float(epoch),
            "n_updates": int(n_updates),
            "n_grad_evals": int(n_grad_evals),
            "time_s": self.clock.elapsed,
            "objective": objective,
            "suboptimality": math.nan,
            "relative_suboptimality": math.nan,
            "test_metric": math.nan,
        }
        if self.p_star is not None and objective is not None:
            gap = objective - self.p_star
            row["suboptimality"] = gap
            row["relative_suboptimality"] = gap / max(abs(self.p_star), np.finfo(float).tiny)
        if self.test is not None and self.evaluate:
            row["test_metric"] = self.problem.metric(w, b, self.test)
        row.update(extra)
        self.rows.append(row)
        stop = bool(self.callback(row)) if self.callback is not None else False
        if was_running:
            self.clock.start()
        return stop


def checkpoint_epochs(n_epochs, eval_every):
    """Epoch marks at which to evaluate: multiples of ``eval_every``, and always the end."""
    if eval_every <= 0:
        raise ValueError(f"eval_every must be > 0, got {eval_every!r}")
    count = int(math.floor(n_epochs / eval_every + 1e-9))
    marks = [round(k * eval_every, 12) for k in range(1, count + 1)]
    if not marks or marks[-1] < n_epochs - 1e-9:
        marks.append(float(n_epochs))
    return marks


def first_time_below(rows, threshold, key="relative_suboptimality"):
    """Solver time of the first row whose ``key`` is at or below ``threshold`` (NaN if none)."""
    for row in rows:
        value = row.get(key, math.nan)
        if value == value and value <= threshold:
            return row["time_s"]
    return math.nan
