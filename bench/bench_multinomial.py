"""Multinomial (softmax, Crammer-Singer) against one-vs-rest: fit time and test accuracy.

    python bench/bench_multinomial.py [--data news20|letter|PATH] [--repeats 3] [--epochs 10]

`psgd.SGDClassifier` with 2 workers: one-vs-rest trains its K binary problems side
by side on the 2 threads (`driver="sync"`) or one after the other by 2 Hogwild!
workers; a multinomial model is one problem, trained by 2 Hogwild! workers (or
serially, for reference). Both run a fixed number of epochs (`tol=None`) and with
the default stopping rule (`tol=1e-3`). Times are wall-clock medians of whole
`fit` calls after one warm-up fit each, the configurations interleaved (see
`bench_ovr.timed_fits`); accuracy is on letter's test file, or a held-out 20% of
news20. Run it alone on the machine.
"""
import argparse
import functools
import os
from pathlib import Path

import numpy as np
from bench_ovr import seeded, timed_fits

import parallel_sgd as psgd

CONFIGURATIONS = [  # (name, multi_class, driver, workers)
    ("one-vs-rest", "ovr", "sync", 2),
    ("one-vs-rest", "ovr", "hogwild", 2),
    ("multinomial", "multinomial", "hogwild", 2),
    ("multinomial", "multinomial", "sync", 1),
]


def load(name):
    shared = Path(os.environ.get("PSGD_SHARED_DATA")
                  or Path(__file__).parents[2] / "shared" / "data")
    if name == "letter":
        return (psgd.load_svmlight(shared / "letter.scale.gz", n_features=16),
                psgd.load_svmlight(shared / "letter.scale.t.gz", n_features=16))
    path = shared / "news20.gz" if name == "news20" else Path(name)
    return psgd.load_svmlight(path).split(test_size=0.2, random_state=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="news20")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--alpha", type=float, default=1e-4)
    args = parser.parse_args()

    train, test = load(args.data)
    X, y, Xt, yt = train.X, train.y, test.X, test.y
    print(f"{args.data}: {X.shape[0]} x {X.shape[1]} train, {np.unique(y).size} classes; "
          f"alpha={args.alpha:g}; medians of {args.repeats}")
    print(f"{'stopping':<10} {'loss':<9} {'model':<12} {'driver':<8} {'workers':>7} "
          f"{'fit s':>8} {'epochs':>6} {'accuracy':>8}")
    for label, stop in [(f"{args.epochs} epochs", dict(tol=None, max_iter=args.epochs)),
                        ("tol=1e-3", dict(tol=1e-3))]:
        for loss in ("log_loss", "hinge"):
            makers = {
                (name, driver, workers): functools.partial(
                    psgd.SGDClassifier, loss=loss, alpha=args.alpha, multi_class=multi_class,
                    driver=driver, n_workers=workers, **stop)
                for name, multi_class, driver, workers in CONFIGURATIONS}
            rows = timed_fits({key: seeded(make) for key, make in makers.items()},
                              X, y, Xt, yt, args.repeats)
            for (name, driver, workers), (seconds, accuracy, epochs) in rows.items():
                print(f"{label:<10} {loss:<9} {name:<12} {driver:<8} {workers:>7} "
                      f"{seconds:>8.3f} {epochs:>6g} {accuracy:>8.4f}")


if __name__ == "__main__":
    main()
