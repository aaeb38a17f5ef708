"""Run several drivers on one Problem side by side and summarize their traces.

Every driver gets the same Problem, worker count, data-order seed and
hyper-parameters, in one process (so JIT warm-up and the machine are shared);
suboptimality is measured against one reference optimum.
"""
import math
from dataclasses import dataclass, field

from .drivers import fit
from .trace import first_time_below

THRESHOLDS = (1e-2, 1e-4, 1e-6)


@dataclass
class DriverSummary:
    """One driver's outcome: times to the suboptimality thresholds and final figures."""

    driver: str
    n_workers: int
    time_to: dict
    final_objective: float
    final_suboptimality: float
    test_metric: float
    epochs: float
    updates_per_s: float
    time_s: float

    def as_row(self):
        row = {"driver": self.driver, "n_workers": self.n_workers}
        row.update({f"time_to_{t:g}": self.time_to[t] for t in THRESHOLDS})
        row.update(final_objective=self.final_objective,
                   final_suboptimality=self.final_suboptimality, test_metric=self.test_metric,
                   epochs=self.epochs, updates_per_s=self.updates_per_s, time_s=self.time_s)
        return row


@dataclass
class Comparison:
    """All trace rows of a side-by-side run and one summary per driver."""

    rows: list = field(default_factory=list)
    summaries: list = field(default_factory=list)


def summarize(driver, n_workers, trace):
    """A :class:`DriverSummary` from one run's trace rows."""
    last = trace[-1]
    time_s = last["time_s"]
    return DriverSummary(
        driver=driver,
        n_workers=n_workers,
        time_to={t: first_time_below(trace, t) for t in THRESHOLDS},
        final_objective=last["objective"],
        final_suboptimality=last["relative_suboptimality"],
        test_metric=last["test_metric"],
        epochs=last["epoch"],
        updates_per_s=last["n_updates"] / time_s if time_s > 0 else math.nan,
        time_s=time_s,
    )


def compare(problem, drivers, optimum=None, test=None, on_row=None, **fit_kwargs):
    """Fit ``problem`` with each driver in ``drivers`` and collect rows and summaries.

    ``fit_kwargs`` go to :func:`parallel_sgd.fit` unchanged for every driver;
    ``on_row(row)`` sees each trace row as it is recorded (progress reporting).
    """
    comparison = Comparison()
    for driver in drivers:
        result = fit(problem, driver=driver, optimum=optimum, test=test, callback=on_row,
                     **fit_kwargs)
        comparison.rows.extend(result.trace)
        comparison.summaries.append(
            summarize(driver, fit_kwargs.get("n_workers", 1), result.trace))
    return comparison
