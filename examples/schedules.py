"""Step-size schedules compared on one problem: constant, 1/t, 1/sqrt(t) and "optimal".

Serial SGD (``driver="sync"``) on the same sparse logistic-regression problem
and the same data order with each schedule of :mod:`parallel_sgd.model.schedules`:

* ``constant``: ``eta0``;
* ``inverse`` (1/t): ``eta0 / (1 + eta0 alpha t)``;
* ``inverse_sqrt`` (1/sqrt t): ``eta0 / sqrt(1 + t)``;
* ``optimal`` (Bottou, scikit-learn's default): ``1 / (alpha (t0 + t))``;

``eta0`` is the library's default for each (``1 / L_max`` for the first three,
scikit-learn's heuristic for ``optimal``). Left: relative suboptimality per
pass; right: the step sizes themselves. A constant step as large as the
largest stable one never settles: the gradient noise keeps it far from the
optimum, which is why the decaying schedules exist.

Usage::

    python examples/schedules.py [--quick] [--out schedules.png]
"""
import argparse

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import parallel_sgd as psgd
from parallel_sgd.benchmark.plots import save_figure
from parallel_sgd.model.schedules import make_schedule

SCHEDULES = ("constant", "inverse", "inverse_sqrt", "optimal")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller problem, fewer passes")
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--out", default="schedules.png")
    args = parser.parse_args(argv)
    n_samples, n_epochs = (5_000, 4) if args.quick else (50_000, 20)
    data = psgd.make_sparse_classification(n_samples=n_samples, n_features=5_000,
                                           nnz_per_row=30, random_state=0)
    problem = psgd.Problem(data, loss="log_loss", alpha=args.alpha)
    optimum = psgd.reference_optimum(problem)

    figure = Figure(figsize=(12, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    progress, steps = figure.subplots(1, 2)
    t = np.unique(np.geomspace(1, n_epochs * n_samples, 200).astype(int)) - 1
    for name in SCHEDULES:
        result = psgd.fit(problem, driver="sync", n_epochs=n_epochs, learning_rate=name,
                          eval_every=0.25, optimum=optimum, random_state=0)
        epochs = [row["epoch"] for row in result.trace]
        gaps = [max(row["relative_suboptimality"], 1e-16) for row in result.trace]
        schedule = make_schedule(name, None, problem.alpha, problem.loss,
                                 problem.max_smoothness)
        label = f"{name} (eta0={schedule.eta0:.3g})"
        progress.semilogy(epochs, gaps, marker=".", label=label)
        steps.loglog(t + 1, schedule(t), label=label)
        print(f"{name:13s} eta0={schedule.eta0:<10.4g} relative suboptimality after "
              f"{n_epochs} passes: {gaps[-1]:.3e}")
    progress.set_xlabel("passes over the data")
    progress.set_ylabel("relative suboptimality (P - P*) / P*")
    progress.set_title(f"serial SGD, log loss, alpha={args.alpha:g}, {n_samples} x 5,000 sparse")
    steps.set_xlabel("step t + 1")
    steps.set_ylabel("step size eta_t")
    steps.set_title("the schedules")
    for axes in (progress, steps):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    figure.tight_layout()
    save_figure(figure, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
