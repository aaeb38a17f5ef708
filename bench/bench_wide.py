"""Whole-fit wall time next to solver time on the 200k problem and the wide ones.

Usage::

    python bench/bench_wide.py [--repeats 2] [--problems 200k,2Mx2M,1Mx20M]

Each problem (``make_sparse_classification``: the default 200,000 x 47,236, and
2M x 2M and 1M x 20M features at 40 non-zeros per row) is generated once; then the
sync driver (1 thread) and Hogwild! (2 threads) each fit it ``repeats`` times, 2
epochs, log loss, alpha = 1e-6, one checkpoint at the end. ``wall`` is what a user
waits for: ``Problem(data)`` and ``psgd.fit``, after a tiny warm-up fit has loaded
the compiled kernels; ``solver`` is the trace's solver clock. One JSON line per fit,
then a table of medians.
"""
import argparse
import json
import statistics
import time
import warnings

import parallel_sgd as psgd

warnings.filterwarnings("ignore", message="the first step")

PROBLEMS = {"200k": {},
            "2Mx2M": dict(n_samples=2_000_000, n_features=2_000_000, nnz_per_row=40),
            "1Mx20M": dict(n_samples=1_000_000, n_features=20_000_000, nnz_per_row=40)}
DRIVERS = (("sync", 1), ("hogwild", 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    args = parser.parse_args()
    tiny = psgd.make_sparse_classification(n_samples=2000, n_features=500, nnz_per_row=10,
                                           random_state=0)
    for driver, workers in DRIVERS:  # load the kernels before any clock starts
        psgd.fit(psgd.Problem(tiny, "log_loss", alpha=1e-5), driver=driver,
                 n_workers=workers, n_epochs=1)
    table = []
    for name in args.problems.split(","):
        started = time.perf_counter()
        data = psgd.make_sparse_classification(random_state=0, **PROBLEMS[name])
        generated = time.perf_counter() - started
        for driver, workers in DRIVERS:
            walls, solvers = [], []
            for seed in range(args.repeats):
                started = time.perf_counter()
                problem = psgd.Problem(data, "log_loss", alpha=1e-6)
                result = psgd.fit(problem, driver=driver, n_workers=workers, n_epochs=2,
                                  eval_every=2, random_state=seed)
                walls.append(time.perf_counter() - started)
                solvers.append(result.trace[-1]["time_s"])
                print(json.dumps({"problem": name, "driver": driver, "workers": workers,
                                  "seed": seed, "wall_s": round(walls[-1], 3),
                                  "solver_s": round(solvers[-1], 3),
                                  "objective": result.objective,
                                  "generate_s": round(generated, 1)}), flush=True)
            table.append((name, driver, workers, statistics.median(walls),
                          statistics.median(solvers)))
        del data
    print(f"\n{'problem':8s} {'driver':8s} {'workers':>7s} {'wall s':>8s} {'solver s':>9s}")
    for name, driver, workers, wall, solver in table:
        print(f"{name:8s} {driver:8s} {workers:7d} {wall:8.3f} {solver:9.3f}")


if __name__ == "__main__":
    main()
