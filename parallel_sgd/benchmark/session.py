"""One side-by-side comparison from start to files, as ``psgd bench`` and the examples
run it: the exact optimum, every driver and peer on the same problem, the table, the
results folder and the convergence figure."""
import os
import platform
import time

import numpy as np

from ..reference import reference_optimum
from .plots import plot_convergence
from .report import format_table, format_verdict, write_results
from .runner import compare


class BenchRun:
    """A comparison on ``problem`` (held-out ``test`` data for the test metric).

    Call :meth:`find_optimum`, then :meth:`compare`; :meth:`table`, :meth:`write` and
    :meth:`plot` report what was measured (also after an interrupted comparison).
    """

    def __init__(self, problem, test=None):
        self.problem = problem
        self.test = test
        self.optimum = None
        self.optimum_s = None
        self.comparison = None

    def find_optimum(self, **options):
        """The exact optimum ``P*`` every run's suboptimality is measured against (timed)."""
        started = time.perf_counter()
        self.optimum = reference_optimum(self.problem, **options)
        self.optimum_s = time.perf_counter() - started
        return self.optimum

    def compare(self, drivers, **options):
        """Run ``drivers`` (and ``peers=``, ...) side by side: see
        :func:`parallel_sgd.benchmark.runner.compare` for the options."""
        self.comparison = compare(self.problem, drivers, optimum=self.optimum, test=self.test,
                                  **options)
        return self.comparison

    @property
    def rows(self):
        return self.comparison.rows

    def table(self):
        """The results table and the verdict lines (empty when nothing was measured)."""
        summaries = self.comparison.summaries
        if not summaries:
            return ""
        return format_table(summaries, self.problem.metric_name) + format_verdict(summaries)

    def write(self, out_dir, config, machine=None):
        """``results.json`` and ``trace.csv`` into ``out_dir``, atomically."""
        optimum = None if self.optimum is None else {
            "objective": self.optimum.objective, "method": self.optimum.method,
            "gap": self.optimum.gap}
        comparison = self.comparison
        return write_results(out_dir, config, optimum, comparison.summaries, comparison.rows,
                             machine, interrupted=comparison.interrupted,
                             skipped=[{"name": n, "reason": r} for n, r in comparison.skipped])

    def plot(self, path, title=None):
        """The convergence figure (suboptimality vs solver time and vs passes) at ``path``."""
        return plot_convergence([("", self.comparison.rows)], path, title)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_description():
    """The machine and library versions a benchmark ran with (for its results file)."""
    import numba
    import scipy
    return {"platform": platform.platform(), "processor": _cpu_model(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__}
