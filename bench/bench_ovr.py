"""One-vs-rest on news20 (20 classes): `psgd.SGDClassifier` against scikit-learn's
`SGDClassifier`, both training the 20 binary problems on 1 and 2 threads.

    python bench/bench_ovr.py [--data PATH] [--repeats 5] [--epochs 5]

Both run the same algorithm (binary SGD per class, `optimal` steps, the intercept
damped by 0.01 on sparse data) for a fixed number of epochs (`tol=None`), and with
their default stopping rule (`tol=1e-3`). Times are wall-clock medians of whole
`fit` calls (input checks included) after one warm-up fit each, the
configurations interleaved; accuracy is on a held-out 20% split. Run it alone on
the machine.
"""
import argparse
import functools
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import linear_model

import parallel_sgd as psgd


def default_data():
    shared = os.environ.get("PSGD_SHARED_DATA") or Path(__file__).parents[2] / "shared" / "data"
    return Path(shared) / "news20.gz"


def timed_fits(makers, X, y, Xt, yt, repeats):
    """``{name: (median fit seconds, median accuracy, median n_iter_)}``; the
    configurations run interleaved (one fit of each per repeat, seeds 0..repeats-1),
    so that a slow spell of the machine hits them alike."""
    runs = {name: [] for name in makers}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in makers.values():
            make(0).fit(X, y)  # warm-up: JIT cache, thread pools
        for seed in range(repeats):
            for name, make in makers.items():
                model = make(seed)
                start = time.perf_counter()
                model.fit(X, y)
                runs[name].append((time.perf_counter() - start, model.score(Xt, yt),
                                   model.n_iter_))
    return {name: tuple(statistics.median(column) for column in zip(*rows))
            for name, rows in runs.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data()))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--loss", default="hinge")
    parser.add_argument("--alpha", type=float, default=1e-4)
    args = parser.parse_args()

    train, test = psgd.load_svmlight(args.data).split(test_size=0.2, random_state=0)
    X, y, Xt, yt = train.X, train.y, test.X, test.y
    print(f"{Path(args.data).name}: {X.shape[0]} x {X.shape[1]} train, nnz {X.nnz}, "
          f"{np.unique(y).size} classes; loss={args.loss}, alpha={args.alpha:g}; "
          f"medians of {args.repeats}")
    print(f"{'stopping':<14} {'implementation':<28} {'threads':>7} {'fit s':>8} "
          f"{'epochs':>6} {'accuracy':>8}")
    for label, stop in [(f"{args.epochs} epochs", dict(tol=None, max_iter=args.epochs)),
                        ("tol=1e-3", dict(tol=1e-3))]:
        makers = {}
        for threads in (1, 2):
            makers[("psgd.SGDClassifier", threads)] = functools.partial(
                psgd.SGDClassifier, loss=args.loss, alpha=args.alpha, n_workers=threads, **stop)
            makers[("sklearn SGDClassifier", threads)] = functools.partial(
                linear_model.SGDClassifier, loss=args.loss, alpha=args.alpha, n_jobs=threads,
                **stop)
        rows = timed_fits({key: seeded(make) for key, make in makers.items()},
                          X, y, Xt, yt, args.repeats)
        for (name, threads), (seconds, accuracy, epochs) in rows.items():
            print(f"{label:<14} {name:<28} {threads:>7} {seconds:>8.3f} {epochs:>6g} "
                  f"{accuracy:>8.4f}")
        for name in ("psgd.SGDClassifier", "sklearn SGDClassifier"):
            print(f"{label:<14} {name + ' 2-thread speed-up':<36} "
                  f"{rows[(name, 1)][0] / rows[(name, 2)][0]:>8.2f}x")
        print(f"{label:<14} {'psgd vs sklearn, 2 threads':<36} "
              f"{rows[('sklearn SGDClassifier', 2)][0] / rows[('psgd.SGDClassifier', 2)][0]:>8.2f}x")


def seeded(make):
    """``make`` as a function of the seed alone (``timed_fits`` passes each repeat's)."""
    return lambda seed: make(random_state=seed)


if __name__ == "__main__":
    main()
