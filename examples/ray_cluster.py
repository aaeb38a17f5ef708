"""The Ray parameter server on a cluster: sync, async and bounded-staleness workers.

Trains one sparse logistic-regression problem with the in-process sync driver
and with ``driver="ray"`` in three consistency modes -- bulk-synchronous rounds,
fully asynchronous workers, and stale-synchronous workers at most ``staleness``
rounds ahead of the slowest -- and plots relative suboptimality against solver
time (left) and passes over the data (right). Each run's staleness (the most
rounds a push's worker was ahead of the slowest) and bytes pushed per update are
printed.

Without ``--address`` a local Ray is started for the run (and shut down at
exit); with ``--address auto`` (on a node of a cluster started with ``ray start``
or ``docker/compose.yml``) or ``--address ray://head:10001`` the workers and
servers run on that cluster.

Usage::

    python examples/ray_cluster.py [--quick] [--address ADDR] [--workers 2] [--out ray_cluster.png]
"""
import argparse

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import parallel_sgd as psgd
from parallel_sgd.benchmark.plots import save_figure


def runs(args):
    """(label, fit options) of every run: the sync driver, then the Ray modes."""
    ray = dict(driver="ray", n_workers=args.workers, n_servers=args.servers,
               address=args.address)
    return [("sync driver (in process)", dict(driver="sync")),
            ("ray sync", dict(ray, mode="sync")),
            ("ray async", dict(ray, mode="async")),
            (f"ray ssp (staleness {args.staleness})", dict(ray, mode="ssp",
                                                          staleness=args.staleness))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small problem, few passes")
    parser.add_argument("--address", default=None,
                        help="Ray cluster ('auto', 'host:6379', 'ray://host:10001'); "
                             "default: a local Ray")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--staleness", type=int, default=2)
    parser.add_argument("--out", default="ray_cluster.png")
    args = parser.parse_args(argv)
    n_samples, n_features, n_epochs = (8_000, 2_000, 3) if args.quick else (200_000, 47_236, 6)
    data = psgd.make_sparse_classification(n_samples=n_samples, n_features=n_features,
                                           random_state=0)
    problem = psgd.Problem(data, loss="log_loss", alpha=1e-5)
    optimum = psgd.reference_optimum(problem)

    figure = Figure(figsize=(12, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    by_time, by_pass = figure.subplots(1, 2)
    for label, options in runs(args):
        result = psgd.fit(problem, n_epochs=n_epochs, eval_every=0.5, optimum=optimum,
                          random_state=0, **options)
        rows = result.trace
        gaps = [max(row["relative_suboptimality"], 1e-16) for row in rows]
        by_time.semilogy([row["time_s"] for row in rows], gaps, marker=".", label=label)
        by_pass.semilogy([row["epoch"] for row in rows], gaps, marker=".", label=label)
        extra = ""
        if options["driver"] == "ray":
            extra = (f", staleness max {max(row['staleness_max'] for row in rows)}, "
                     f"{result.config['bytes_per_update']:.1f} bytes pushed per update")
        print(f"{label:26s} {result.time_s:6.2f} s, relative suboptimality {gaps[-1]:.2e}{extra}")
    by_time.set_xlabel("solver time (s)")
    by_pass.set_xlabel("passes over the data")
    for axes in (by_time, by_pass):
        axes.set_ylabel("relative suboptimality (P - P*) / P*")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    by_time.set_title(f"{args.workers} Ray workers, {args.servers} servers, "
                      f"{n_samples} x {n_features} sparse, log loss")
    by_pass.set_title(f"where: {args.address or 'a local Ray'}")
    figure.tight_layout()
    save_figure(figure, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
