"""Sync vs Hogwild! (vs SVRG, when that driver is installed) on a real dataset.

Every driver in ``psgd.drivers.DRIVERS`` but ``ray`` runs on the same Problem,
with the same workers, seeds and checkpoints, through the comparison ``psgd bench``
runs (:class:`parallel_sgd.benchmark.session.BenchRun`); the figure is the bench's
convergence figure (relative suboptimality vs solver time and vs passes, median
and min-max band over repeats), and the table is printed.

The dataset is a LIBSVM name (``a9a`` by default: taken from the folder in
``PSGD_SHARED_DATA`` when it is there, else ``psgd.fetch``, which downloads
it once) or an svmlight file.

Usage::

    python examples/drivers_convergence.py [--data a9a] [--quick] [--out drivers_convergence.png]
"""
import argparse
import os
from pathlib import Path

import parallel_sgd as psgd
from parallel_sgd.benchmark.session import BenchRun
from parallel_sgd.drivers import local_drivers


def load(spec):
    """A Dataset from a file path, the shared data folder, or the catalog."""
    if os.path.exists(spec):
        return psgd.load_svmlight(spec)
    shared = Path(os.environ.get("PSGD_SHARED_DATA", "")) / f"{spec}.gz"
    if os.environ.get("PSGD_SHARED_DATA") and shared.is_file():
        return psgd.load_svmlight(shared)
    return psgd.fetch(spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="a9a")
    parser.add_argument("--loss", default="log_loss")
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="a 5,000-row sample, 3 passes, one repeat")
    parser.add_argument("--out", default="drivers_convergence.png")
    args = parser.parse_args(argv)

    data = load(args.data)
    if args.quick:
        data = data.take(range(min(5000, data.n_samples)))
    train, test = data.split(test_size=0.2, random_state=0)
    bench = BenchRun(psgd.Problem(train, loss=args.loss, alpha=args.alpha), test)
    bench.find_optimum()
    drivers = local_drivers()
    # the SGD drivers decay their steps as 1/sqrt(t); SVRG keeps its constant step
    sgd_steps = {name: {"learning_rate": "inverse_sqrt"} for name in drivers if name != "svrg"}
    comparison = bench.compare(drivers, repeats=1 if args.quick else 3, skip_unusable=True,
                               driver_options=sgd_steps, n_workers=args.workers,
                               n_epochs=3 if args.quick else 15, eval_every=0.5)
    for name, reason in comparison.skipped:
        print(f"skipped {name}: {reason}")
    print(bench.table(), end="")
    title = (f"{args.data}{' (5,000-row sample)' if args.quick else ''}, {args.loss}, "
             f"alpha={args.alpha:g}, {args.workers} workers")
    bench.plot(args.out, title)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
