"""The whole fit a user makes from a scipy CSR matrix, against scikit-learn's.

Usage::

    python bench/bench_setup.py [--problems text,wide] [--epochs 1,3,10] [--repeats 5]

For each problem and epoch count, three calls on the same user matrix (a CSR
matrix rebuilt from its arrays, so scipy has not flagged it canonical, as after
slicing or stacking), run in alternation, ``repeats`` times each, medians:

* ``psgd.fit``: ``Dataset`` + ``Problem`` + ``psgd.fit(..., eval_every=n_epochs)``,
  with the set-up (``Dataset``, ``Problem``) timed apart;
* ``psgd.SGDClassifier(max_iter=n, tol=None).fit``;
* scikit-learn's ``SGDClassifier(max_iter=n, tol=None).fit``.

All three use log loss, alpha 1e-5 (1e-6 on ``wide``), scikit-learn's ``optimal``
schedule and reshuffle every epoch; the ratio columns are scikit-learn's time over ours.
"""
import argparse
import platform
import time
import warnings

import numpy as np
import scipy.sparse as sp

import parallel_sgd as psgd

warnings.filterwarnings("ignore")

try:
    from sklearn.linear_model import SGDClassifier as SkSGDClassifier
except ImportError:  # pragma: no cover - the dev extra installs it
    SkSGDClassifier = None

PROBLEMS = {
    "text": dict(n_samples=100_000, n_features=47_236, nnz_per_row=75, alpha=1e-5),
    "wide": dict(n_samples=2_000_000, n_features=2_000_000, nnz_per_row=40, alpha=1e-6),
}


def user_matrix(name, quick):
    """The problem's X as a user would hand it over: CSR, canonical, scipy's flag unset."""
    spec = dict(PROBLEMS[name])
    alpha = spec.pop("alpha")
    if quick:
        spec["n_samples"] //= 10
    data = psgd.make_sparse_classification(random_state=0, **spec)
    X = data.X
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=X.shape), data.y, alpha


def time_psgd_fit(X, y, alpha, epochs, seed):
    start = time.perf_counter()
    problem = psgd.Problem(psgd.Dataset(X, y), loss="log_loss", alpha=alpha)
    problem.max_smoothness  # noqa: B018 - set-up that the fit would pay
    setup = time.perf_counter() - start
    result = psgd.fit(problem, n_epochs=epochs, eval_every=epochs, learning_rate="optimal",
                      random_state=seed)
    return time.perf_counter() - start, setup, result.trace[-1]["objective"]


def time_estimator(make, X, y, alpha, epochs, seed):
    clf = make(loss="log_loss", alpha=alpha, max_iter=epochs, tol=None, random_state=seed)
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="text,wide")
    parser.add_argument("--epochs", default="1,3,10")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10x fewer rows")
    args = parser.parse_args(argv)
    epochs_list = [int(e) for e in args.epochs.split(",")]
    print(f"machine: {platform.machine()}, medians of {args.repeats}, whole fit in seconds")
    header = (f"{'problem':8} {'epochs':>6} {'setup':>7} {'psgd.fit':>9} {'psgd.SGDC':>9} "
              f"{'sklearn':>8} {'x fit':>6} {'x SGDC':>7}")
    print(header)
    for name in args.problems.split(","):
        X, y, alpha = user_matrix(name, args.quick)
        # warm-up: compile every kernel the three calls use
        time_psgd_fit(X, y, alpha, 1, 0)
        time_estimator(psgd.SGDClassifier, X, y, alpha, 1, 0)
        for epochs in epochs_list:
            rows = {"fit": [], "setup": [], "ours": [], "sk": []}
            for seed in range(args.repeats):
                total, setup, _ = time_psgd_fit(X, y, alpha, epochs, seed)
                rows["fit"].append(total)
                rows["setup"].append(setup)
                rows["ours"].append(time_estimator(psgd.SGDClassifier, X, y, alpha, epochs,
                                                   seed))
                rows["sk"].append(time_estimator(SkSGDClassifier, X, y, alpha, epochs, seed)
                                  if SkSGDClassifier else np.nan)
            m = {key: float(np.median(v)) for key, v in rows.items()}
            print(f"{name:8} {epochs:6d} {m['setup']:7.3f} {m['fit']:9.3f} {m['ours']:9.3f} "
                  f"{m['sk']:8.3f} {m['sk'] / m['fit']:6.2f} {m['sk'] / m['ours']:7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
