"""How long ``reference_optimum`` takes, next to liblinear on the same problem.

Usage::

    python bench/bench_reference.py [--problems a9a,news20,text,wide1m]
        [--losses log_loss,hinge] [--intercept yes,no] [--repeats 3]
        [--liblinear-eps 1e-2,1e-4,1e-6] [--threads 2]

For each problem, loss and intercept setting: the wall time of
``reference_optimum(problem, cache=False)`` (median of ``repeats``), its method,
iterations and certified relative gap; then liblinear (``-s 0`` for log loss,
``-s 3`` for hinge; ``-m threads`` when the installed build is the multi-core one,
``pip install liblinear-multicore`` in a venv of its own, as it shares
``liblinear-official``'s import name) at each stopping tolerance ``-e``: its fit
time (building liblinear's problem included) and the relative suboptimality
of its ``w`` against our ``P*``. liblinear penalizes its bias for the hinge
dual, so it has no row there with an intercept.

Problems: ``a9a`` and ``news20`` (classes 1-10 against 11-20) from the shared
data or ``psgd.fetch``; ``text``, the 200,000 x 47,236 synthetic problem
(alpha 1e-5); ``wide1m``, 1,000,000 x 2,000,000 with 40 non-zeros per row
(alpha 1e-6).
"""
import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

import parallel_sgd as psgd
from parallel_sgd.benchmark.peers.liblinear import _weights, solver_options

warnings.filterwarnings("ignore")

SYNTHETIC = {
    "text": (dict(n_samples=200_000, n_features=47_236, nnz_per_row=75), 1e-5),
    "wide1m": (dict(n_samples=1_000_000, n_features=2_000_000, nnz_per_row=40), 1e-6),
}
REAL = {"a9a": ("a9a.gz", 1e-4), "news20": ("news20.gz", 1e-5)}
LIBLINEAR_SOLVER = {"log_loss": 0, "hinge": 3}


def load(name):
    """``(Dataset, alpha)`` of a named problem."""
    if name in SYNTHETIC:
        spec, alpha = SYNTHETIC[name]
        return psgd.make_sparse_classification(random_state=0, **spec), alpha
    file, alpha = REAL[name]
    shared = os.environ.get("PSGD_SHARED_DATA")
    path = Path(shared) / file if shared else None
    data = psgd.load(str(path)) if path and path.exists() else psgd.fetch(name)
    if name == "news20":
        data = psgd.Dataset(data.X, np.where(data.y <= 10, 1.0, -1.0))
    return data, alpha


def liblinear_threads(threads):
    """``" -m threads"`` if the installed liblinear is the multi-core build, else ``""``;
    None without liblinear."""
    try:
        from liblinear.liblinearutil import parameter
    except ImportError:
        return None
    try:
        parameter(f"-s 0 -m {threads} -q")
    except (ValueError, TypeError):
        return ""
    return f" -m {threads}"


def time_liblinear(problem, optimum, eps, threads_option):
    from liblinear.liblinearutil import parameter, train
    from liblinear.liblinearutil import problem as lib_problem

    X = problem.data.X.copy()  # liblinear rewrites the index arrays it is given
    options = solver_options(problem, eps, LIBLINEAR_SOLVER[problem.loss.name]
                             if problem.loss.name == "hinge" else None) + threads_option
    start = time.perf_counter()
    model = train(lib_problem(problem.y, X), parameter(options))
    elapsed = time.perf_counter() - start
    w, b = _weights(model, problem)
    value = problem.objective(w, b)
    return elapsed, (value - optimum.objective) / abs(optimum.objective)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="a9a,news20,text,wide1m")
    parser.add_argument("--losses", default="log_loss,hinge")
    parser.add_argument("--intercept", default="yes,no")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--liblinear-eps", default="1e-2,1e-4,1e-6")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    threads_option = liblinear_threads(args.threads)
    build = ("none" if threads_option is None else
             "multi-core" + threads_option if threads_option else "single-core")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; liblinear: {build}; "
          f"reference_optimum medians of {args.repeats}")
    for name in args.problems.split(","):
        data, alpha = load(name)
        for loss in args.losses.split(","):
            for intercept in args.intercept.split(","):
                problem = psgd.Problem(data, loss=loss, alpha=alpha,
                                       fit_intercept=intercept == "yes")
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    optimum = psgd.reference_optimum(problem, cache=False)
                    times.append(time.perf_counter() - start)
                print(f"{name:7} {loss:9} intercept={intercept:3} ours {statistics.median(times):7.2f} s"
                      f"  {optimum.method} ({optimum.n_iter} it), gap {optimum.relative_gap:.1e}"
                      f"{'' if optimum.certified else ' (estimated)'}", flush=True)
                if threads_option is None or (loss == "hinge" and problem.fit_intercept):
                    continue
                for eps in (float(e) for e in args.liblinear_eps.split(",")):
                    elapsed, reached = time_liblinear(problem, optimum, eps, threads_option)
                    print(f"{'':7} {'':9} {'':13} liblinear -e {eps:g}: {elapsed:7.2f} s,"
                          f" relative suboptimality {reached:.1e}", flush=True)


if __name__ == "__main__":
    main()
