"""SVRG: the cost of an effective pass, time to tight targets against SGD and liblinear,
and the defaults that make the ill-conditioned case converge.

Usage::

    python bench/bench_svrg.py                       # everything below, ~3 minutes on 2 cores
    python bench/bench_svrg.py --parts choices --out docs/figures/svrg_choices.png

Parts:

* ``pass``: median solver time of one SGD epoch and of one effective SVRG pass
  (30 passes / 30) on 1 and 2 workers, side by side, 5 seeds, on the problems of
  ``--pass-problems``: ``sparse`` (200k x 47k) and ``wide`` (2M x 2M, 40 non-zeros
  per row, 1 SGD epoch against 2 passes);
* ``race``: time to relative suboptimality 1e-4 / 1e-6 / 1e-8 for sync SGD, Hogwild
  (2 workers), SVRG on 1 and 2 workers, scikit-learn LogisticRegression (saga,
  liblinear) and liblinear's primal and dual solvers, on the 200k problem and a9a
  (log_loss, alpha 1e-5 / 1e-4, *without an intercept*: liblinear's dual penalizes
  the bias, so every solver here solves that same objective); medians of 3;
* ``choices``: a9a with alpha=1e-4 and an intercept, the case whose condition
  number is about n: suboptimality against effective passes for the textbook
  settings and each default, one at a time (5 seeds), plotted to ``--out``.
"""
import argparse
import os
import platform
import warnings

import numpy as np

import parallel_sgd as psgd
from parallel_sgd.benchmark.peers import run_peer
from parallel_sgd.drivers.svrg_loop import default_steps, row_smoothness, sampling_ratios
from parallel_sgd.trace import Trace, first_time_below

warnings.filterwarnings("ignore", message="the first step")
TARGETS = (1e-4, 1e-6, 1e-8)


def sparse_problem(fit_intercept=True):
    data = psgd.make_sparse_classification(n_samples=200_000, random_state=0)
    return psgd.Problem(data, "log_loss", alpha=1e-5, fit_intercept=fit_intercept)


def a9a_problem(alpha=1e-4, fit_intercept=True):
    return psgd.Problem(psgd.fetch("a9a"), "log_loss", alpha=alpha, fit_intercept=fit_intercept)


def wide_problem():
    """2M rows x 2M features, 40 non-zeros per row (the wide problem of bench_hogwild)."""
    data = psgd.make_sparse_classification(n_samples=2_000_000, n_features=2_000_000,
                                           nnz_per_row=40, random_state=0)
    return psgd.Problem(data, "log_loss", alpha=1e-6)


def part_pass(repeats, problems=("sparse",)):
    for name in problems:
        if name == "wide":
            problem, epochs, passes, title = wide_problem(), 1, 2, "2M x 2M"
        else:
            problem, epochs, passes, title = sparse_problem(), 5, 30, "200k x 47k"
        sgd, svrg = [], {1: [], 2: []}
        for seed in range(repeats):
            run = psgd.fit(problem, driver="sync", n_epochs=epochs, eval_every=epochs,
                           random_state=seed)
            sgd.append(run.time_s / epochs)
            for k in svrg:
                run = psgd.fit(problem, driver="svrg", n_workers=k, n_epochs=passes,
                               eval_every=passes, random_state=seed)
                svrg[k].append(run.time_s / run.trace[-1]["epoch"])
        sgd = np.median(sgd)
        one, two = (np.median(svrg[k]) for k in (1, 2))
        print(f"\n{title}, log_loss: one SGD epoch {sgd * 1e3:.1f} ms, one effective SVRG "
              f"pass {one * 1e3:.1f} ms ({one / sgd:.2f}x), on 2 workers {two * 1e3:.1f} ms "
              f"({one / two:.2f}x faster than one; a snapshot is n evaluations, an inner step "
              f"one, its snapshot derivative cached)")


def _liblinear_dual(problem, optimum):
    from parallel_sgd.benchmark.peers.liblinear import run_liblinear
    trace = Trace(problem, "liblinear-dual", 1, optimum=optimum)
    run_liblinear(problem, trace, tolerances=(1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8, 1e-10),
                  solver=7)
    return trace.rows


def contenders():
    yield "sync", lambda p, o, s: psgd.fit(p, driver="sync", n_epochs=30, optimum=o,
                                           learning_rate="inverse_sqrt", random_state=s).trace
    yield "hogwild x2", lambda p, o, s: psgd.fit(p, driver="hogwild", n_workers=2,
                                                 n_epochs=30, optimum=o,
                                                 learning_rate="inverse_sqrt",
                                                 random_state=s).trace
    for k in (1, 2):
        yield f"svrg x{k}", lambda p, o, s, k=k: psgd.fit(
            p, driver="svrg", n_workers=k, n_epochs=40, eval_every=1, optimum=o,
            random_state=s).trace
    for peer in ("sklearn-saga", "sklearn-liblinear", "liblinear"):
        yield peer, lambda p, o, s, peer=peer: run_peer(peer, p, n_epochs=40, optimum=o,
                                                        random_state=s)
    yield "liblinear-dual", lambda p, o, s: _liblinear_dual(p, o)


def part_race(repeats, problems):
    for name in problems:
        problem = sparse_problem(False) if name == "sparse" else a9a_problem(1e-4, False)
        optimum = psgd.reference_optimum(problem)
        print(f"\n{name} ({problem.n_samples} x {problem.n_features}, alpha {problem.alpha:g}, "
              f"no intercept): solver seconds to relative suboptimality, medians of {repeats}")
        print(f"{'solver':18s}" + "".join(f"{f't({t:g})':>11s}" for t in TARGETS)
              + f"{'final':>10s}")
        for label, run in contenders():
            times, finals = [], []
            for seed in range(repeats):
                rows = run(problem, optimum, seed)
                times.append([first_time_below(rows, t) for t in TARGETS])
                finals.append(rows[-1]["relative_suboptimality"])
            times = np.array(times)
            cells = []
            for column in times.T:
                reached = column[~np.isnan(column)]
                cells.append(f"{np.median(reached):10.3f}s" if reached.size > repeats / 2
                             else f"{'-':>11s}")
            print(f"{label:18s}" + "".join(cells) + f"{np.median(finals):10.1e}")


def choices():
    """(label, fit options) for each setting, the textbook's first."""
    problem = a9a_problem()
    n = problem.n_samples
    in_w, in_b = row_smoothness(problem)
    joint = (in_w + in_b).max()  # one step for (w, b): 1 / (3 L_max)
    eta_w, eta_b = default_steps(problem, None)  # uniform sampling, the default divisor

    def textbook_like(divisor, inner, sampling="uniform", separate=False):
        if separate:
            return dict(sampling=sampling, inner_steps=inner, eta0=eta_w * 2.75 / divisor)
        # same step for the intercept: intercept_rate undoes the separate intercept step
        return dict(sampling=sampling, inner_steps=inner, eta0=1 / (divisor * joint),
                    intercept_rate=eta_w / eta_b)

    return problem, [
        ("textbook: uniform, 1/(3 L_max), m = 2n", textbook_like(3, 2 * n)),
        ("+ separate intercept step", textbook_like(3, 2 * n, separate=True)),
        ("+ m = n", textbook_like(3, n, separate=True)),
        ("+ smoothness sampling", dict(sampling="smoothness", inner_steps=n,
                                       eta0=_smoothness_step(problem, 3))),
        ("default (+ divisor 2.75)", {}),
    ]


def _smoothness_step(problem, divisor):
    _, ratios = sampling_ratios(problem, "smoothness")
    return default_steps(problem, ratios)[0] * 2.75 / divisor


def part_choices(repeats, out):
    problem, settings = choices()
    optimum = psgd.reference_optimum(problem)
    print(f"\na9a, alpha 1e-4, with intercept: relative suboptimality after 30 effective "
          f"passes (median of {repeats} seeds, [min, max])")
    curves = {}
    for label, options in settings:
        runs = [psgd.fit(problem, driver="svrg", n_epochs=30, eval_every=1, optimum=optimum,
                         random_state=s, **options).trace for s in range(repeats)]
        finals = [rows[-1]["relative_suboptimality"] for rows in runs]
        print(f"  {label:42s} {np.median(finals):.1e} [{min(finals):.1e}, {max(finals):.1e}]")
        curves[label] = runs
    if out:
        plot_choices(curves, out)
        print(f"  figure: {out}")
    problem = cadata_problem()
    optimum = psgd.reference_optimum(problem)
    print(f"\ncadata (standardized), squared error, alpha 1e-4: after 30 passes (L_max "
          f"{problem.max_smoothness:.0f}, mean L {row_smoothness(problem)[0].mean():.1f})")
    for sampling in ("uniform", "smoothness"):
        finals = [psgd.fit(problem, driver="svrg", n_epochs=30, eval_every=30, optimum=optimum,
                           sampling=sampling, random_state=s).trace[-1]["relative_suboptimality"]
                  for s in range(repeats)]
        print(f"  sampling={sampling:11s} {np.median(finals):.1e} [{min(finals):.1e}, "
              f"{max(finals):.1e}]")


def cadata_problem():
    data = psgd.fetch("cadata")
    X = data.X.toarray()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (data.y - data.y.mean()) / data.y.std()
    return psgd.Problem(psgd.Dataset(np.ascontiguousarray(X), y), "squared_error", alpha=1e-4)


def plot_choices(curves, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, runs in curves.items():
        passes = [row["epoch"] for row in runs[0]]
        values = np.array([[max(row["relative_suboptimality"], 1e-16) for row in rows]
                           for rows in runs])
        line, = ax.semilogy(passes, np.median(values, axis=0), label=label)
        ax.fill_between(passes, values.min(axis=0), values.max(axis=0), alpha=0.2,
                        color=line.get_color())
    ax.axhline(1e-8, color="gray", lw=0.8, ls="--")
    ax.set_xlabel("effective passes (gradient evaluations / n)")
    ax.set_ylabel("relative suboptimality")
    ax.set_title("SVRG on a9a, log loss, alpha = 1e-4 (condition number ~ n)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    fig.savefig(out, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="pass,race,choices")
    parser.add_argument("--problems", default="sparse,a9a")
    parser.add_argument("--pass-problems", default="sparse", help="sparse,wide")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/figures/svrg_choices.png")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs")
    parts = args.parts.split(",")
    if "pass" in parts:
        part_pass(max(args.repeats, 5), args.pass_problems.split(","))
    if "race" in parts:
        part_race(args.repeats, args.problems.split(","))
    if "choices" in parts:
        part_choices(max(args.repeats, 5), args.out)


if __name__ == "__main__":
    main()
