"""The ``psgd`` command: bench, train, predict, data.

Bad arguments or input print one line (``psgd: error: ...``) and exit with code
2, never a traceback. The CLI uses the public Python API only.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .data import (CATALOG, dataset_info, fetch, list_datasets, load_svmlight,
                   make_sparse_classification)
from .drivers import DRIVERS
from .errors import DataError, DivergenceError
from .problem import Problem
from .reference import reference_optimum
from .report import atomic_write, format_table, write_results
from .runner import compare

BUILTIN = dict(n_samples=100_000, n_features=20_000, nnz_per_row=50)
EXIT_BAD_INPUT = 2


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


def _drivers(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in DRIVERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown driver {unknown[0] if unknown else text!r}; known drivers: "
            f"{', '.join(sorted(DRIVERS))}")
    return names


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
    p.add_argument("--learning-rate", default="optimal")
    p.add_argument("--eta0", type=float, default=None)
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=float, default=1.0)


def build_parser():
    parser = _Parser(prog="psgd", description="Parallel and asynchronous SGD for linear models.")
    parser.add_argument("--version", action="version", version=f"psgd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    bench = sub.add_parser("bench", help="train several drivers side by side and compare them")
    bench.add_argument("--data", default=None,
                       help="dataset name or svmlight path (default: a built-in synthetic problem)")
    bench.add_argument("--test", default=None, help="svmlight test file (default: 20%% held out)")
    _add_problem_args(bench)
    bench.add_argument("--drivers", type=_drivers, default=["sync"])
    _add_fit_args(bench)
    bench.add_argument("--out", default=None, help="output folder (default: a timestamped one)")

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


def machine_description():
    import numba
    import scipy
    return {"platform": platform.platform(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__}


def cmd_bench(args, out):
    if args.data is None:
        data = make_sparse_classification(**BUILTIN, random_state=args.seed)
        source = "synthetic sparse {n_samples} x {n_features}, {nnz_per_row} nnz/row".format(
            **BUILTIN)
    else:
        data, source = load_data(args.data), args.data
    if args.test is not None:
        train, test = data, load_svmlight(args.test, n_features=data.n_features)
    else:
        train, test = data.split(test_size=0.2, random_state=args.seed)
    problem = _problem(train, args)
    print(f"data: {source}; train {train.n_samples} x {train.n_features}, test {test.n_samples}",
          file=out)
    started = time.perf_counter()
    optimum = reference_optimum(problem)
    print(f"reference optimum P* = {optimum.objective:.12g} ({optimum.method}, "
          f"{time.perf_counter() - started:.1f}s)", file=out)
    comparison = compare(problem, args.drivers, optimum=optimum, test=test, **_fit_kwargs(args))
    out_dir = Path(args.out or time.strftime("psgd-runs/%Y%m%d-%H%M%S"))
    config = {key: value for key, value in vars(args).items() if key != "command"}
    config.update(data=source, n_samples=train.n_samples, n_features=train.n_features)
    write_results(out_dir, config, {"objective": optimum.objective, "method": optimum.method,
                                    "gap": optimum.gap},
                  comparison.summaries, comparison.rows, machine_description())
    print(format_table(comparison.summaries, problem.metric_name), file=out, end="")
    print(f"results: {out_dir}/results.json, {out_dir}/trace.csv", file=out)
    return 0


def cmd_train(args, out):
    problem = _problem(load_data(args.data), args)
    from .drivers import fit
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


COMMANDS = {"bench": cmd_bench, "train": cmd_train, "predict": cmd_predict, "data": cmd_data}


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
        return 130


if __name__ == "__main__":
    sys.exit(main())
