"""Run drivers (and peers) on one Problem side by side, repeated, and summarize their traces.

Every entry gets the same Problem, worker count, data-order seed and
hyper-parameters, in one process (so JIT warm-up and the machine are shared);
suboptimality is measured against one reference optimum. Repeat ``r`` uses the
seed ``random_state + r`` for every entry, and the repeats are interleaved
(repeat 0 of every entry, then repeat 1, ...) so a slow spell of the machine
does not land on one entry only. Summaries are medians over the repeats.

Ctrl-C (``KeyboardInterrupt``) stops the comparison cleanly: the rows recorded
so far are kept and summarized, and the :class:`Comparison` says it was
interrupted.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from ..drivers import fit
from ..errors import DivergenceError
from ..trace import first_time_below
from .peers import PEERS, run_peer

THRESHOLDS = (1e-2, 1e-4, 1e-6)


@dataclass
class DriverSummary:
    """One entry's outcome: times to the suboptimality thresholds and final figures.

    With several repeats every figure is the median over them (a threshold
    that fewer than half the repeats reached has time NaN); ``time_s_min`` and
    ``time_s_max`` give the spread of the total solver time.
    """

    driver: str
    n_workers: int
    time_to: dict
    final_objective: float
    final_suboptimality: float
    test_metric: float
    epochs: float
    updates_per_s: float
    time_s: float
    repeats: int = 1
    time_s_min: float = math.nan
    time_s_max: float = math.nan
    kind: str = "driver"

    def as_row(self):
        row = {"driver": self.driver, "kind": self.kind, "n_workers": self.n_workers,
               "repeats": self.repeats}
        row.update({f"time_to_{t:g}": self.time_to[t] for t in THRESHOLDS})
        row.update(final_objective=self.final_objective,
                   final_suboptimality=self.final_suboptimality, test_metric=self.test_metric,
                   epochs=self.epochs, updates_per_s=self.updates_per_s, time_s=self.time_s,
                   time_s_min=self.time_s_min, time_s_max=self.time_s_max)
        return row


@dataclass
class Comparison:
    """All trace rows of a side-by-side run, one summary per entry, and what was skipped."""

    rows: list = field(default_factory=list)
    summaries: list = field(default_factory=list)
    skipped: list = field(default_factory=list)   # (name, reason)
    interrupted: bool = False


def summarize(driver, n_workers, trace):
    """A :class:`DriverSummary` from one run's trace rows."""
    last = trace[-1]
    time_s = last["time_s"]
    n_updates = last["n_updates"]
    return DriverSummary(
        driver=driver,
        n_workers=n_workers,
        time_to={t: first_time_below(trace, t) for t in THRESHOLDS},
        final_objective=last["objective"],
        final_suboptimality=last["relative_suboptimality"],
        test_metric=last["test_metric"],
        epochs=last["epoch"],
        updates_per_s=n_updates / time_s if time_s > 0 and n_updates > 0 else math.nan,
        time_s=time_s,
        time_s_min=time_s,
        time_s_max=time_s,
    )


def _median_time(values):
    """Median where NaN means "never": NaN unless at least half the values are finite."""
    values = np.array([math.inf if v != v else v for v in values], dtype=float)
    middle = float(np.median(values))
    return middle if math.isfinite(middle) else math.nan


def finite_median(values):
    """The median of the values that are not NaN (NaN when none is)."""
    values = [v for v in values if v == v]
    return float(np.median(values)) if values else math.nan


def summarize_repeats(driver, traces, kind="driver"):
    """One :class:`DriverSummary` over several runs of the same entry: medians."""
    parts = [summarize(driver, trace[-1]["n_workers"], trace) for trace in traces if trace]
    times = [p.time_s for p in parts]
    return DriverSummary(
        driver=driver,
        n_workers=parts[0].n_workers,
        time_to={t: _median_time([p.time_to[t] for p in parts]) for t in THRESHOLDS},
        final_objective=finite_median([p.final_objective for p in parts]),
        final_suboptimality=finite_median([p.final_suboptimality for p in parts]),
        test_metric=finite_median([p.test_metric for p in parts]),
        epochs=finite_median([p.epochs for p in parts]),
        updates_per_s=finite_median([p.updates_per_s for p in parts]),
        time_s=finite_median(times),
        repeats=len(parts),
        time_s_min=min(times),
        time_s_max=max(times),
        kind=kind,
    )


def compare(problem, drivers, optimum=None, test=None, on_row=None, repeats=1, peers=(),
            on_start=None, skip_unusable=False, driver_options=None, **fit_kwargs):
    """Fit ``problem`` with each driver (then each peer), ``repeats`` times, interleaved.

    Parameters
    ----------
    problem : Problem
    drivers : list of str
        Names from :data:`parallel_sgd.drivers.DRIVERS`.
    optimum : Optimum, optional
        ``P*`` for the suboptimality columns.
    test : Dataset, optional
        Held-out data for the test metric.
    on_row : callable, optional
        Sees each trace row as it is recorded (with its ``repeat``); for progress bars.
    repeats : int
        Runs per entry; repeat ``r`` uses seed ``random_state + r``.
    peers : list of str
        Names from :data:`parallel_sgd.benchmark.peers.PEERS`, run after the drivers.
    on_start : callable, optional
        ``on_start(name, repeat)`` before each run.
    skip_unusable : bool
        Record a driver that rejects the problem (a ``ValueError`` before its
        first row) in ``skipped`` and go on, instead of raising. A peer that
        fails and a run that diverges are always recorded there, never raised:
        the other entries still run.
    driver_options : dict, optional
        ``{driver: {option: value}}`` passed to that driver only.
    **fit_kwargs
        Passed to :func:`parallel_sgd.fit` unchanged for every driver.

    Returns
    -------
    Comparison
    """
    comparison = Comparison()
    traces = {name: [] for name in [*drivers, *peers]}
    seed = fit_kwargs.pop("random_state", 0)
    active = list(traces)
    try:
        for repeat in range(repeats):
            for name in list(active):
                current = []
                traces[name].append(current)

                def record(row, repeat=repeat, current=current):
                    row["repeat"] = repeat
                    current.append(row)
                    comparison.rows.append(row)
                    return bool(on_row(row)) if on_row is not None else False

                if on_start is not None:
                    on_start(name, repeat)
                try:
                    _run_one(name, problem, peers, optimum, test, record, seed + repeat,
                             (driver_options or {}).get(name, {}), fit_kwargs)
                except ValueError as exc:
                    usable = isinstance(exc, DivergenceError) or name in peers
                    if not (usable or (skip_unusable and not current)):
                        raise
                    reason = str(exc).splitlines()[0]
                    if current:
                        reason = f"stopped after {len(current)} rows: {reason}"
                    comparison.skipped.append((name, reason))
                    active.remove(name)
    except KeyboardInterrupt:
        comparison.interrupted = True
    for name, runs in traces.items():
        runs = [run for run in runs if run]
        if runs:
            kind = "driver" if name not in peers else (
                "peer" if PEERS[name].comparable else "peer, throughput only")
            comparison.summaries.append(summarize_repeats(name, runs, kind))
    return comparison


def _run_one(name, problem, peers, optimum, test, callback, seed, options, fit_kwargs):
    if name in peers:
        run_peer(name, problem, n_epochs=fit_kwargs.get("n_epochs", 10), random_state=seed,
                 learning_rate=fit_kwargs.get("learning_rate") or "optimal",
                 eta0=fit_kwargs.get("eta0"), optimum=optimum, test=test, callback=callback)
    else:
        fit(problem, driver=name, optimum=optimum, test=test, callback=callback,
            random_state=seed, **options, **fit_kwargs)


__all__ = ["THRESHOLDS", "Comparison", "DriverSummary", "compare", "summarize",
           "summarize_repeats"]
