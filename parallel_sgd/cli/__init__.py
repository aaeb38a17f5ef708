"""The ``psgd`` command: bench, plot, train, predict, data.

Bad arguments or input print one line (``psgd: error: ...``) and exit with code
2, never a traceback; Ctrl-C exits with 130 (a bench keeps what it measured).
The CLI uses the public Python API only.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..benchmark.peers import PEERS, select_peers
from ..benchmark.plots import describe, plot_convergence
from ..benchmark.progress import ProgressBars
from ..benchmark.report import atomic_write, format_table, format_verdict, load_run, write_results
from ..benchmark.runner import compare
from ..benchmark.suite import read_suite
from ..data import (
    CATALOG,
    dataset_info,
    fetch,
    list_datasets,
    load_svmlight,
    make_sparse_classification,
)
from ..drivers import DRIVERS, local_drivers
from ..errors import DataError, DivergenceError
from ..model.problem import Problem
from ..reference import reference_optimum

BUILTIN = dict(n_samples=100_000, n_features=20_000, nnz_per_row=50)
TASKS = ("classify", "rank")
# bench options given per task: None on the command line means "not given"; each task
# fills in its defaults, and --task rank refuses the classification-only ones
CLASSIFY_DEFAULTS = dict(alpha=1e-5, epochs=20.0, loss="log_loss", l1_ratio=0.0,
                         no_intercept=False, workers=2, batch_size=1, optimizer="sgd",
                         eval_every=1.0)
CLASSIFY_ONLY = ("loss", "l1_ratio", "no_intercept", "workers", "batch_size", "optimizer",
                 "eval_every", "drivers", "peers", "address")
# MQ2008 Fold1 train -> test; alpha and epochs as in tests/test_ranking.py
RANK_DEFAULTS = dict(data="mq2008.fold1", alpha=1e-2, epochs=20)
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A one-line error for the user; exits with code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CliError(message)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _names(kind, known):
    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {unknown[0] if unknown else text!r}; known {kind}s: "
                f"{', '.join(sorted(known))}")
        return list(dict.fromkeys(names))
    return parse


_drivers = _names("driver", DRIVERS)
_peer_names = _names("peer", PEERS)


def _peers(text):
    return "all" if text.strip() == "all" else _peer_names(text)


def load_data(spec, n_features=None):
    """A Dataset from a catalog name or an svmlight file path."""
    if spec in CATALOG:
        return fetch(spec)
    if os.path.exists(spec):
        return load_svmlight(spec, n_features=n_features)
    raise CliError(f"--data {spec!r} is neither a file nor a known dataset "
                   f"(known: {', '.join(sorted(CATALOG))})")


def _add_problem_args(p):
    p.add_argument("--loss", default="log_loss")
    p.add_argument("--alpha", type=float, default=1e-5)
    p.add_argument("--l1-ratio", type=float, default=0.0)
    p.add_argument("--no-intercept", action="store_true", help="fit without an intercept")


def _add_fit_args(p):
    p.add_argument("--workers", type=_positive_int, default=2)
    p.add_argument("--epochs", type=float, default=10.0)
    p.add_argument("--batch-size", type=_positive_int, default=1)
    p.add_argument("--learning-rate", default=None,
                   help="step-size schedule of the SGD drivers (default: optimal); "
                        "SVRG takes a constant step")
    p.add_argument("--eta0", type=float, default=None)
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=float, default=1.0)


def build_parser():
    parser = _Parser(prog="psgd", description="Parallel and asynchronous SGD for linear models.")
    parser.add_argument("--version", action="version", version=f"psgd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    bench = sub.add_parser("bench", help="train several drivers side by side and compare them")
    bench.add_argument("--task", choices=TASKS, default="classify",
                       help="classify (default): the drivers on a classification or regression "
                            "problem; rank: psgd.SVMRank (plain and averaged) against a "
                            "pairwise-transform LinearSVC on data with qid (default mq2008.fold1, "
                            "alpha 1e-2, 20 epochs)")
    bench.add_argument("--data", default=None,
                       help="dataset name or svmlight path (default: a built-in synthetic problem)")
    bench.add_argument("--test", default=None,
                       help="svmlight test file (default: 20%% held out; with --task rank, "
                            "whole queries, or the named dataset's test file)")
    _add_problem_args(bench)
    bench.add_argument("--drivers", type=_drivers, default=None,
                       help=f"comma-separated, from {', '.join(DRIVERS)} "
                            f"(default: {','.join(local_drivers())})")
    bench.add_argument("--peers", type=_peers, nargs="?", const="all", default=None,
                       help=f"also run other solvers: all installed ones, or a comma-separated "
                            f"list from {', '.join(PEERS)}")
    _add_fit_args(bench)
    # 20 passes (CLASSIFY_DEFAULTS): enough for SVRG's linear convergence to show (1e-6
    # and below on the built-in problem) while the SGD drivers level off; ~8 s on 2 cores
    bench.set_defaults(**{name: None for name in CLASSIFY_DEFAULTS})
    bench.add_argument("--repeats", type=_positive_int, default=3,
                       help="runs per driver (seeds seed, seed+1, ...); the table shows medians")
    bench.add_argument("--address", default=None, help="Ray cluster address (driver 'ray')")
    bench.add_argument("--out", default=None, help="output folder (default: a timestamped one)")
    bench.add_argument("--quiet", action="store_true", help="no progress bars")
    bench.add_argument("--config", default=None,
                       help="a TOML suite of bench runs ([[run]] tables of these options); "
                            "each run writes a sub-folder of --out")

    plot = sub.add_parser("plot", help="redraw (and overlay) the figures of saved bench runs")
    plot.add_argument("dirs", nargs="+", metavar="DIR", help="folders written by psgd bench")
    plot.add_argument("--out", default=None,
                      help="PNG to write (default: DIR/convergence.png for one folder, "
                           "convergence.png here for several)")

    train = sub.add_parser("train", help="train one model and save it")
    train.add_argument("--data", required=True)
    _add_problem_args(train)
    train.add_argument("--driver", default="sync", choices=sorted(DRIVERS))
    _add_fit_args(train)
    train.add_argument("--model-out", required=True)

    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--model", required=True)
    predict.add_argument("--data", required=True)
    predict.add_argument("--out", default=None, help="write predictions here (default: stdout)")

    data = sub.add_parser("data", help="list, fetch or describe datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    data_sub.add_parser("list", help="the named datasets and whether they are cached")
    fetch_p = data_sub.add_parser("fetch", help="download a named dataset into the cache")
    fetch_p.add_argument("name")
    info = data_sub.add_parser("info", help="rows, features, density and labels of a file")
    info.add_argument("path")
    return parser


def _fit_kwargs(args):
    return dict(n_workers=args.workers, n_epochs=args.epochs, batch_size=args.batch_size,
                learning_rate=args.learning_rate, eta0=args.eta0, optimizer=args.optimizer,
                random_state=args.seed, eval_every=args.eval_every)


def _problem(data, args):
    return Problem(data, args.loss, alpha=args.alpha, l1_ratio=args.l1_ratio,
                   fit_intercept=not args.no_intercept)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_description():
    import numba
    import scipy
    return {"platform": platform.platform(), "processor": _cpu_model(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__}


def _bench_data(args):
    if args.data is None:
        data = make_sparse_classification(**BUILTIN, random_state=args.seed)
        source = "synthetic sparse {n_samples} x {n_features}, {nnz_per_row} nnz/row".format(
            **BUILTIN)
    else:
        data, source = load_data(args.data), args.data
    if args.test is not None:
        if not os.path.exists(args.test):
            raise CliError(f"no such file: {args.test}")
        return data, load_svmlight(args.test, n_features=data.n_features), source
    train, test = data.split(test_size=0.2, random_state=args.seed)
    return train, test, source


def _bench_peers(args, problem):
    """The peers to run; notes on stderr for those that cannot (an error if named)."""
    if args.peers is None:
        return []
    names = None if args.peers == "all" else args.peers
    runnable, skipped = select_peers(problem, names)
    if names is not None and skipped:
        raise CliError(f"peer {skipped[0][0]!r} {skipped[0][1]}")
    for name, reason in skipped:
        print(f"psgd: note: peer {name} {reason}", file=sys.stderr)
    return runnable


def cmd_bench(args, out):
    if args.config is not None:
        return run_suite(args, out)
    return bench_one(args, out, Path(args.out or time.strftime("psgd-runs/%Y%m%d-%H%M%S")))


def _task_options(args):
    """Fill in the task's defaults; a CliError for an option the task does not take."""
    if args.task == "rank":
        given = [name for name in CLASSIFY_ONLY if getattr(args, name) not in (None, False)]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            raise CliError(f"--task rank does not take {options} (options of the "
                           f"classification drivers)")
        if args.epochs is not None and float(args.epochs) != int(args.epochs):
            raise CliError(f"--task rank takes whole --epochs (SVMRank's max_iter), "
                           f"got {args.epochs:g}")
        defaults = RANK_DEFAULTS
    else:
        defaults = CLASSIFY_DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.task == "rank":
        args.epochs = int(args.epochs)
        if args.epochs < 1 or not args.alpha > 0:
            raise CliError(f"--task rank needs --epochs >= 1 and --alpha > 0, got "
                           f"{args.epochs} and {args.alpha:g}")


def bench_one(args, out, out_dir):
    """One ``psgd bench`` run into ``out_dir``; returns the exit code (130 if interrupted)."""
    _task_options(args)
    if args.task == "rank":
        return bench_rank(args, out, out_dir)
    train, test, source = _bench_data(args)
    problem = _problem(train, args)
    drivers = args.drivers if args.drivers is not None else local_drivers()
    peers = _bench_peers(args, problem)
    print(f"data: {source}; train {train.n_samples} x {train.n_features}, test {test.n_samples}",
          file=out)
    started = time.perf_counter()
    optimum = reference_optimum(problem)
    print(f"reference optimum P* = {optimum.objective:.12g} ({optimum.method}, "
          f"{time.perf_counter() - started:.1f}s)", file=out)
    progress = ProgressBars(args.epochs, args.repeats, enabled=False if args.quiet else None)
    fit_kwargs = _fit_kwargs(args)
    options = {"ray": {"address": args.address}} if args.address else {}
    try:
        comparison = compare(problem, drivers, optimum=optimum, test=test,
                             on_row=progress.update, on_start=progress.start,
                             repeats=args.repeats, peers=peers,
                             skip_unusable=args.drivers is None, driver_options=options,
                             **fit_kwargs)
    finally:
        progress.close()
    for name, reason in comparison.skipped:
        print(f"psgd: note: {name} skipped: {reason}", file=sys.stderr)
    config = {key: value for key, value in vars(args).items() if key not in ("command", "config")}
    config.update(data=source, drivers=drivers, peers=peers, n_samples=train.n_samples,
                  n_features=train.n_features, n_test=test.n_samples)
    write_results(out_dir, config, {"objective": optimum.objective, "method": optimum.method,
                                    "gap": optimum.gap},
                  comparison.summaries, comparison.rows, machine_description(),
                  interrupted=comparison.interrupted,
                  skipped=[{"name": n, "reason": r} for n, r in comparison.skipped])
    interrupted = comparison.interrupted
    try:
        if comparison.summaries:
            plot_convergence([("", comparison.rows)], out_dir / "convergence.png",
                             describe({"config": config}))
            print(format_table(comparison.summaries, problem.metric_name), file=out, end="")
            print(format_verdict(comparison.summaries), file=out, end="")
        print(f"results: {out_dir}/results.json, trace.csv"
              + (", convergence.png" if comparison.summaries else ""), file=out)
    except KeyboardInterrupt:  # the results are on disk: only the figure or table is missing
        interrupted = True
    if interrupted:
        print(f"psgd: interrupted; partial results in {out_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _with_qid(data, where):
    if data.qid is None:
        raise CliError(f"{where} has no qid: --task rank needs the query id of every row "
                       f"(label qid:Q index:value ...)")
    return data


def _rank_data(args):
    """``(train, test, source)`` for ``--task rank``: a catalog entry's own test file, or
    ``--test``, or whole queries held out."""
    spec = args.data
    if spec in CATALOG:
        if CATALOG[spec].task != "ranking":
            ranking = sorted(name for name, entry in CATALOG.items() if entry.task == "ranking")
            raise CliError(f"{spec} is a {CATALOG[spec].task} dataset without qid: --task rank "
                           f"needs query ids (ranking datasets: {', '.join(ranking)})")
        train = _with_qid(fetch(spec), spec)
        if args.test is None and "test" in CATALOG[spec].files:
            return train, _with_qid(fetch(spec, split="test"), f"{spec} (test)"), \
                f"{spec} (train -> test)"
    else:
        train = _with_qid(load_data(spec), spec)
    source = spec
    if args.test is not None:
        if not os.path.exists(args.test):
            raise CliError(f"no such file: {args.test}")
        test = load_svmlight(args.test, n_features=train.n_features)
        return train, _with_qid(test, args.test), source
    train, test = train.split(test_size=0.2, random_state=args.seed)
    return train, test, f"{source} (20% of the queries held out)"


def bench_rank(args, out, out_dir):
    """``psgd bench --task rank`` into ``out_dir``: SVMRank against a pairwise LinearSVC."""
    try:
        import sklearn
    except ImportError:
        raise CliError("--task rank needs scikit-learn (psgd.SVMRank is a scikit-learn "
                       "estimator): pip install scikit-learn") from None
    from ..benchmark import rank_bench

    train, test, source = _rank_data(args)
    n_pairs = rank_bench.count_pairs(train)
    print(f"data: {source}; train {train.n_samples} x {train.n_features} "
          f"({np.unique(train.qid).size} queries, {n_pairs:,} pairs), test {test.n_samples} "
          f"({np.unique(test.qid).size} queries); alpha={args.alpha:g}, {args.epochs} epochs",
          file=out)
    config = {key: getattr(args, key) for key in (
        "task", "alpha", "epochs", "learning_rate", "eta0", "repeats", "seed", "test")}
    config.update(data=source, n_samples=train.n_samples, n_features=train.n_features,
                  n_queries=int(np.unique(train.qid).size), n_pairs=n_pairs,
                  n_test=test.n_samples, average_from=rank_bench.average_from(
                      train.n_samples, args.epochs))
    machine = dict(machine_description(), **{"scikit-learn": sklearn.__version__})
    rows, trace, interrupted = [], [], False
    try:
        rank_bench.run_rank_bench(
            train, test, alpha=args.alpha, epochs=args.epochs, repeats=args.repeats,
            seed=args.seed, learning_rate=args.learning_rate, eta0=args.eta0, rows=rows,
            trace=trace, on_note=lambda text: print(f"psgd: note: {text}", file=sys.stderr))
    except KeyboardInterrupt:
        interrupted = True
    rank_bench.write_rank_results(out_dir, config, rows, machine, trace=trace,
                                  interrupted=interrupted)
    figure = any(row["relative_suboptimality"] == row["relative_suboptimality"]
                 for row in trace)
    if figure:
        plot_convergence([("", trace)], out_dir / "convergence.png",
                         describe({"config": config}) + ", SVM-Rank against linearsvc's P*")
    if rows:
        print(rank_bench.format_rank_table(rows, n_pairs), file=out, end="")
    print(f"results: {out_dir}/results.json, trace.csv"
          + (", convergence.png" if figure else ""), file=out)
    if interrupted:
        print(f"psgd: interrupted; partial results in {out_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def run_suite(args, out):
    """``psgd bench --config suite.toml``: every run of the suite, each in its own folder."""
    entries = read_suite(args.config)
    parser = build_parser()
    out_root = Path(args.out or time.strftime("psgd-runs/suite-%Y%m%d-%H%M%S"))
    parsed = []
    for name, argv in entries:
        try:
            run_args = parser.parse_args(["bench", *argv] + (["--quiet"] if args.quiet else []))
        except CliError as exc:
            raise CliError(f"{args.config}: run {name!r}: {exc}") from None
        parsed.append((name, run_args))
    for index, (name, run_args) in enumerate(parsed, start=1):
        print(f"== {name} ({index}/{len(parsed)}) ==", file=out)
        code = bench_one(run_args, out, out_root / name)
        if code != 0:
            return code
    print(f"suite: {len(parsed)} runs in {out_root}/ (psgd plot {out_root}/* overlays them)",
          file=out)
    return 0


def cmd_plot(args, out):
    runs = [(Path(folder), *load_run(folder)) for folder in args.dirs]
    several = len(runs) > 1
    target = Path(args.out) if args.out else (
        Path("convergence.png") if several else runs[0][0] / "convergence.png")
    for folder, results, _ in runs:
        metric = "rmse" if results.get("config", {}).get("loss") == "squared_error" \
            else "accuracy"
        print(f"{folder}: {describe(results)}" + (" (interrupted)"
                                                   if results.get("interrupted") else ""),
              file=out)
        if results.get("summaries"):
            print(format_table(results["summaries"], metric), file=out, end="")
        elif results.get("task") == "rank" and results.get("rows"):
            from ..benchmark.rank_bench import format_rank_table
            print(format_rank_table(results["rows"]), file=out, end="")
    title = None if several else describe(runs[0][1])
    plot_convergence([(folder.name if several else "", rows) for folder, _, rows in runs],
                     target, title)
    print(f"figure: {target}", file=out)
    return 0


def cmd_train(args, out):
    problem = _problem(load_data(args.data), args)
    from ..drivers import fit
    result = fit(problem, driver=args.driver, **_fit_kwargs(args))
    config = dict(loss=args.loss, alpha=args.alpha, l1_ratio=args.l1_ratio,
                  fit_intercept=problem.fit_intercept, data=args.data, **result.config)
    classes = problem.classes if problem.classes is not None else np.array([])
    with atomic_write(args.model_out, "wb") as handle:
        np.savez(handle, coef=result.coef, intercept=result.intercept, classes=classes,
                 config=json.dumps(config))
    print(f"trained {args.driver} in {result.time_s:.3g}s: objective {result.objective:.8g}; "
          f"model saved to {args.model_out}", file=out)
    return 0


def load_model(path):
    try:
        with np.load(path, allow_pickle=False) as model:
            return (model["coef"], float(model["intercept"]), model["classes"],
                    json.loads(str(model["config"])))
    except FileNotFoundError:
        raise CliError(f"no such model file: {path}") from None
    except (OSError, KeyError, ValueError) as exc:
        raise CliError(f"{path} is not a psgd model file ({exc})") from None


def cmd_predict(args, out):
    coef, intercept, classes, config = load_model(args.model)
    data = load_data(args.data, n_features=coef.shape[0])
    if data.n_features != coef.shape[0]:
        raise DataError(f"{args.data} has {data.n_features} features, the model {coef.shape[0]}")
    scores = np.asarray(data.X @ coef).ravel() + intercept
    if classes.size:
        predictions = classes[(scores > 0).astype(np.intp)]
        metric = ("accuracy", float(np.mean(predictions == data.y))) \
            if np.isin(data.y, classes).all() else None
    else:
        predictions = scores
        metric = ("rmse", float(np.sqrt(np.mean((scores - data.y) ** 2))))
    text = "\n".join(f"{value:.10g}" for value in predictions) + "\n"
    if args.out:
        with atomic_write(args.out) as handle:
            handle.write(text)
    else:
        out.write(text)
    if metric is not None:
        print(f"{metric[0]}: {metric[1]:.6g}", file=sys.stderr)
    return 0


def cmd_data(args, out):
    if args.data_command == "list":
        for row in list_datasets():
            out.write("  ".join(str(v) for v in row.values()) + "\n")
    elif args.data_command == "fetch":
        data = load_data(args.name)
        print(f"{args.name}: {data!r}", file=out)
    else:
        if not os.path.exists(args.path):
            raise CliError(f"no such file: {args.path}")
        for key, value in dataset_info(args.path).items():
            print(f"{key}: {value}", file=out)
    return 0


COMMANDS = {"bench": cmd_bench, "plot": cmd_plot, "train": cmd_train, "predict": cmd_predict,
            "data": cmd_data}


def main(argv=None, out=None):
    """Entry point; returns the exit code (0 success, 2 bad arguments or input)."""
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, out)
    except (CliError, ValueError, OSError) as exc:
        kind = "diverged" if isinstance(exc, DivergenceError) else "error"
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"psgd: {kind}: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("psgd: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
