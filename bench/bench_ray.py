"""The Ray parameter server against the in-process sync driver.

Usage::

    python bench/bench_ray.py                       # local Ray on this machine, 2 workers
    python bench/bench_ray.py --quick               # a 10x smaller problem
    python bench/bench_ray.py --address auto        # the cluster this node belongs to
    python bench/bench_ray.py --two-nodes --servers 2 --staleness 0,1,4,16
                                                    # a 2-node ray.cluster_utils cluster here

On the sparse 200k x 47,236 problem (log_loss, alpha=1e-5), every configuration
-- the sync driver, then ``driver="ray"`` with 1 and 2 workers, 1 or 2 servers,
in sync, async and ssp modes -- trains from the same seeds, interleaved seed by
seed, after one warm-up fit per configuration (actor start-up, Numba loading
and Ray's first-call costs stay out of the solver clock anyway; the warm-up
keeps them out of the page cache and the object store too). Reported, as medians
over ``--repeats`` seeds: examples per second of solver time and its ratio to the
sync driver's, the mean time of one round (``time_s`` over a worker's rounds),
bytes pushed per update, the largest staleness seen, the time to relative
suboptimality 1e-2 and 1e-3 (against ``reference_optimum``; "-" when not
reached) and the final relative suboptimality.
"""
import argparse
import os
import platform
import time
import warnings

import numpy as np

import parallel_sgd as psgd
from parallel_sgd.trace import first_time_below

warnings.filterwarnings("ignore", message="the first step")


def configurations(servers, stalenesses):
    yield "sync driver", {"driver": "sync"}
    ray = {"driver": "ray"}
    yield "ray sync, 1 worker", dict(ray, n_workers=1, mode="sync")
    for n_servers in servers:
        tag = f"{n_servers} server{'s' if n_servers > 1 else ''}"
        yield f"ray sync, 2 workers, {tag}", dict(ray, n_workers=2, n_servers=n_servers,
                                                   mode="sync")
        yield f"ray async, 2 workers, {tag}", dict(ray, n_workers=2, n_servers=n_servers,
                                                    mode="async")
    for s in stalenesses:
        yield f"ray ssp s={s}, 2 workers", dict(ray, n_workers=2, mode="ssp", staleness=s)


def run_once(problem, optimum, seed, epochs, options, extra):
    if options["driver"] == "ray":
        options = dict(options, **extra)
    result = psgd.fit(problem, n_epochs=epochs, eval_every=0.5, optimum=optimum,
                      random_state=seed, **options)
    rows = result.trace
    time_s = rows[-1]["time_s"]
    config = result.config
    rounds = config.get("rounds")
    return {
        "examples_per_s": rows[-1]["n_grad_evals"] / time_s,
        "round_ms": 1e3 * time_s / rounds if rounds else float("nan"),
        "bytes_per_update": config.get("bytes_per_update", float("nan")),
        "staleness_max": max(r.get("staleness_max", 0) for r in rows),
        "t_1e-2": first_time_below(rows, 1e-2),
        "t_1e-3": first_time_below(rows, 1e-3),
        "subopt": rows[-1]["relative_suboptimality"],
        "local_steps": config.get("local_steps"),
    }


def fmt_time(value):
    return "-" if not np.isfinite(value) else f"{value:.2f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 20k-row problem, 1 repeat")
    parser.add_argument("--address", default=None, help="Ray cluster (default: a local Ray)")
    parser.add_argument("--epochs", type=float, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--servers", default="1,2")
    parser.add_argument("--staleness", default="1,4")
    parser.add_argument("--local-steps", type=int, default=None)
    parser.add_argument("--two-nodes", action="store_true",
                        help="start a two-node ray.cluster_utils.Cluster on this machine "
                             "(one CPU each) and run there")
    args = parser.parse_args(argv)
    cluster = start_two_nodes() if args.two_nodes else None
    try:
        bench(args)
    finally:
        if cluster is not None:
            import ray
            ray.shutdown()
            cluster.shutdown()


def start_two_nodes():
    """A head and a worker node, one CPU each, joined by this process."""
    import ray
    from ray.cluster_utils import Cluster
    cluster = Cluster(initialize_head=True,
                      head_node_args=dict(num_cpus=1, include_dashboard=False))
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    return cluster


def bench(args):
    n = 20_000 if args.quick else 200_000
    repeats = 1 if args.quick else args.repeats
    data = psgd.make_sparse_classification(n_samples=n, random_state=0)
    problem = psgd.Problem(data, "log_loss", alpha=1e-5)
    optimum = psgd.reference_optimum(problem)
    extra = {"address": args.address, "local_steps": args.local_steps}
    extra = {key: value for key, value in extra.items() if value is not None}
    configs = list(configurations([int(s) for s in args.servers.split(",")],
                                  [int(s) for s in args.staleness.split(",") if s]))
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{n} x {problem.n_features}, nnz {problem.data.nnz}; {args.epochs:g} epochs; "
          f"medians of {repeats}; Ray at "
          f"{'a two-node cluster' if args.two_nodes else args.address or 'a local Ray'}")
    for _, options in configs:  # warm-up: Ray start, actors, Numba caches
        run_once(problem, optimum, 99, 0.5, options, extra)
    results = {label: [] for label, _ in configs}
    started = time.perf_counter()
    for seed in range(repeats):
        for label, options in configs:
            results[label].append(run_once(problem, optimum, seed, args.epochs, options, extra))
    base = np.median([r["examples_per_s"] for r in results["sync driver"]])
    print(f"| configuration | examples/s | vs sync driver | round | local steps | bytes/update "
          f"| staleness max | t(1e-2) | t(1e-3) | subopt after {args.epochs:g} epochs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, runs in results.items():
        med = {key: float(np.median([r[key] for r in runs])) for key in runs[0]
               if key != "local_steps"}
        steps = runs[0]["local_steps"]
        round_ms = "-" if not np.isfinite(med["round_ms"]) else f"{med['round_ms']:.1f} ms"
        bytes_ = "-" if not np.isfinite(med["bytes_per_update"]) \
            else f"{med['bytes_per_update']:.1f}"
        print(f"| {label} | {med['examples_per_s'] / 1e6:.2f} M | "
              f"{med['examples_per_s'] / base:.2f}x | {round_ms} | {steps or '-'} | {bytes_} | "
              f"{int(med['staleness_max'])} | {fmt_time(med['t_1e-2'])} | "
              f"{fmt_time(med['t_1e-3'])} | {med['subopt']:.1e} |")
    print(f"# {time.perf_counter() - started:.0f} s of timed runs")


if __name__ == "__main__":
    main()
