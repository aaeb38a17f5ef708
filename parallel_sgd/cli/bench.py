"""``psgd bench``: drivers (and peers) side by side on one problem, or a suite of such
runs (``--config``); ``--task rank`` is :mod:`.rank`."""
import sys
import time
from pathlib import Path

from ..benchmark.peers import PEERS, select_peers
from ..benchmark.plots import describe
from ..benchmark.progress import ProgressBars
from ..benchmark.session import BenchRun, machine_description
from ..benchmark.suite import read_suite
from ..data import load, make_sparse_classification
from ..drivers import DRIVERS, local_drivers
from . import rank
from .common import (
    EXIT_BAD_INPUT,
    CliError,
    Parser,
    add_fit_args,
    add_problem_args,
    existing_file,
    fit_kwargs,
    interrupted_exit,
    load_data,
    names,
    positive_int,
    problem_of,
    fresh_run_folder,
)

BUILTIN = dict(n_samples=100_000, n_features=20_000, nnz_per_row=50)
TASKS = ("classify", "rank")
# bench options given per task: None on the command line means "not given"; each task
# fills in its defaults, and --task rank refuses the classification-only ones
CLASSIFY_DEFAULTS = dict(alpha=1e-5, epochs=20.0, loss="log_loss", l1_ratio=0.0,
                         no_intercept=False, workers=2, batch_size=1, optimizer="sgd",
                         eval_every=1.0)
CLASSIFY_ONLY = ("loss", "l1_ratio", "no_intercept", "workers", "batch_size", "optimizer",
                 "eval_every", "drivers", "peers", "address")

_peer_names = names("peer", PEERS)


def _peers(text):
    return "all" if text.strip() == "all" else _peer_names(text)


def add_arguments(bench):
    """The options of ``psgd bench`` (also those of a suite's runs)."""
    bench.add_argument("--task", choices=TASKS, default="classify",
                       help="classify (default): the drivers on a classification or regression "
                            "problem; rank: SVM-Rank (plain and averaged) against a "
                            "pairwise-transform LinearSVC on data with qid (default mq2008.fold1, "
                            "alpha 1e-2, 20 epochs)")
    bench.add_argument("--data", default=None,
                       help="dataset name or svmlight path (default: a built-in synthetic problem)")
    bench.add_argument("--test", default=None,
                       help="svmlight test file (default: 20%% held out; with --task rank, "
                            "whole queries, or the named dataset's test file)")
    add_problem_args(bench)
    bench.add_argument("--drivers", type=names("driver", DRIVERS), default=None,
                       help=f"comma-separated, from {', '.join(DRIVERS)} "
                            f"(default: {','.join(local_drivers())})")
    bench.add_argument("--peers", type=_peers, nargs="?", const="all", default=None,
                       help=f"also run other solvers: all installed ones, or a comma-separated "
                            f"list from {', '.join(PEERS)}")
    add_fit_args(bench)
    # 20 passes (CLASSIFY_DEFAULTS): enough for SVRG's linear convergence to show while
    # the SGD drivers level off (BENCHMARKS.md, SVRG)
    bench.set_defaults(**{name: None for name in CLASSIFY_DEFAULTS})
    bench.add_argument("--repeats", type=positive_int, default=3,
                       help="runs per driver (seeds seed, seed+1, ...); the table shows medians")
    bench.add_argument("--address", default=None, help="Ray cluster address (driver 'ray')")
    bench.add_argument("--out", default=None, help="output folder (default: a timestamped one)")
    bench.add_argument("--overwrite", action="store_true",
                       help="replace the files of an earlier run in --out (else a folder that "
                            "holds any file is refused before the run)")
    bench.add_argument("--quiet", action="store_true", help="no progress bars")
    bench.add_argument("--config", default=None,
                       help="a TOML suite of bench runs ([[run]] tables of these options); "
                            "each run writes a sub-folder of --out")


def add_parser(sub):
    add_arguments(sub.add_parser("bench", help="train several drivers side by side and "
                                               "compare them"))


def run(args, out):
    if args.config is not None:
        return run_suite(args, out)
    return bench_one(args, out, Path(args.out or time.strftime("psgd-runs/%Y%m%d-%H%M%S")))


def task_options(args):
    """Fill in the task's defaults; a CliError for an option the task does not take."""
    if args.task == "rank":
        given = [name for name in CLASSIFY_ONLY if getattr(args, name) not in (None, False)]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            raise CliError(f"--task rank does not take {options} (options of the "
                           f"classification drivers)")
        defaults = rank.DEFAULTS
    else:
        defaults = CLASSIFY_DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.task == "rank":
        rank.check_options(args)


def bench_one(args, out, out_dir):
    """One ``psgd bench`` run into ``out_dir``; returns the exit code (130 if interrupted, 143 if terminated)."""
    task_options(args)
    out_dir = fresh_run_folder(out_dir, args.overwrite)
    if args.task == "rank":
        return rank.run(args, out, out_dir)
    train, test, source = _bench_data(args)
    problem = problem_of(train, args)
    drivers = args.drivers if args.drivers is not None else local_drivers()
    peers = _bench_peers(args, problem)
    print(f"data: {source}; train {train.n_samples} x {train.n_features}, test {test.n_samples}",
          file=out)
    bench = BenchRun(problem, test)
    optimum = bench.find_optimum()
    print(f"reference optimum P* = {optimum.objective:.12g} ({optimum.method}, "
          f"{bench.optimum_s:.1f}s)", file=out)
    progress = ProgressBars(args.epochs, args.repeats, enabled=False if args.quiet else None)
    options = {"ray": {"address": args.address}} if args.address else {}
    if args.shuffle is not True:  # SVRG takes passes in an order with uniform sampling only
        options["svrg"] = {"sampling": "uniform"}
    try:
        comparison = bench.compare(drivers, on_row=progress.update, on_start=progress.start,
                                   repeats=args.repeats, peers=peers,
                                   skip_unusable=args.drivers is None, driver_options=options,
                                   **fit_kwargs(args))
    finally:
        progress.close()
    for name, reason in comparison.skipped:
        print(f"psgd: note: {name} skipped: {reason}", file=sys.stderr)
    config = {key: value for key, value in vars(args).items() if key not in ("command", "config")}
    config.update(data=source, drivers=drivers, peers=peers, n_samples=train.n_samples,
                  n_features=train.n_features, n_test=test.n_samples)
    bench.write(out_dir, config, machine_description())
    interrupted = comparison.interrupted
    try:
        if comparison.summaries:
            bench.plot(out_dir / "convergence.png", describe({"config": config}))
            print(bench.table(), file=out, end="")
        print(f"results: {out_dir}/results.json, trace.csv"
              + (", convergence.png" if comparison.summaries else ""), file=out)
    except KeyboardInterrupt:  # the results are on disk: only the figure or table is missing
        interrupted = True
    if interrupted:
        code, word = interrupted_exit()
        print(f"psgd: {word}; partial results in {out_dir}", file=sys.stderr)
        return code
    return _measured_anything(drivers, comparison, out_dir)


def _measured_anything(drivers, comparison, out_dir):
    """0, or 2 with the reason when no driver gave a result: all skipped (nothing
    measured) or all diverged (their rows, if any, are in the files all the same)."""
    failed = {name: reason for name, reason in comparison.skipped if name in drivers}
    if len(failed) < len(drivers):
        return 0
    reasons = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
    diverged = all("diverged" in reason for reason in failed.values())
    what = "diverged: every driver diverged" if diverged else "error: no driver measured anything"
    print(f"psgd: {what} ({reasons}); files in {out_dir}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _bench_data(args):
    if args.data is None:
        data = make_sparse_classification(**BUILTIN, random_state=args.seed)
        source = "synthetic sparse {n_samples} x {n_features}, {nnz_per_row} nnz/row".format(
            **BUILTIN)
    else:
        data, source = load_data(args.data), args.data
    if args.test is not None:
        test = load(existing_file(args.test), n_features=data.n_features)
        return data, test, source
    train, test = data.split(test_size=0.2, random_state=args.seed)
    return train, test, source


def _bench_peers(args, problem):
    """The peers to run; notes on stderr for those that cannot (an error if named)."""
    if args.peers is None:
        return []
    chosen = None if args.peers == "all" else args.peers
    runnable, skipped = select_peers(problem, chosen)
    if chosen is not None and skipped:
        raise CliError(f"peer {skipped[0][0]!r} {skipped[0][1]}")
    for name, reason in skipped:
        print(f"psgd: note: peer {name} {reason}", file=sys.stderr)
    return runnable


def run_suite(args, out):
    """``psgd bench --config suite.toml``: every run of the suite, each in its own folder."""
    entries = read_suite(args.config)
    parser = Parser(prog="psgd bench")
    add_arguments(parser)
    out_root = Path(args.out or time.strftime("psgd-runs/suite-%Y%m%d-%H%M%S"))
    parsed = []
    for name, argv in entries:
        try:
            run_args = parser.parse_args([*argv] + (["--quiet"] if args.quiet else []))
        except CliError as exc:
            raise CliError(f"{args.config}: run {name!r}: {exc}") from None
        parsed.append((name, run_args))
    fresh_run_folder(out_root, args.overwrite)
    for index, (name, run_args) in enumerate(parsed, start=1):
        run_args.overwrite = args.overwrite
        print(f"== {name} ({index}/{len(parsed)}) ==", file=out)
        code = bench_one(run_args, out, out_root / name)
        if code != 0:
            return code
    print(f"suite: {len(parsed)} runs in {out_root}/ (psgd plot {out_root}/* overlays them)",
          file=out)
    return 0
