"""``psgd bench --task rank``: SVM-Rank (plain and averaged) through ``psgd.fit`` against
a pairwise-transform LinearSVC (:mod:`parallel_sgd.benchmark.rank_bench`)."""
import sys

import numpy as np

from ..benchmark import rank_bench
from ..benchmark.plots import describe, plot_convergence
from ..benchmark.session import machine_description
from ..data import CATALOG, fetch, load
from .common import CliError, existing_file, interrupted_exit, load_data

# MQ2008 Fold1 train -> test; alpha and epochs as in tests/test_ranking.py
DEFAULTS = dict(data="mq2008.fold1", alpha=1e-2, epochs=20)


def check_options(args):
    """Whole ``--epochs >= 1`` and ``--alpha > 0``, else a CliError."""
    if float(args.epochs) != int(args.epochs):
        raise CliError(f"--task rank takes whole --epochs (SVMRank's max_iter), "
                       f"got {args.epochs:g}")
    args.epochs = int(args.epochs)
    if args.epochs < 1 or not args.alpha > 0:
        raise CliError(f"--task rank needs --epochs >= 1 and --alpha > 0, got "
                       f"{args.epochs} and {args.alpha:g}")


def _with_qid(data, where):
    if data.qid is None:
        raise CliError(f"{where} has no qid: --task rank needs the query id of every row "
                       f"(label qid:Q index:value ...)")
    return data


def rank_data(args):
    """``(train, test, source)``: a catalog entry's own test file, or ``--test``, or whole
    queries held out."""
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
        test = load(existing_file(args.test), n_features=train.n_features)
        return train, _with_qid(test, args.test), source
    train, test = train.split(test_size=0.2, random_state=args.seed)
    return train, test, f"{source} (20% of the queries held out)"


def run(args, out, out_dir):
    """The ranking bench into ``out_dir``; returns the exit code (130 if interrupted, 143 if terminated)."""
    try:
        import sklearn
    except ImportError:
        raise CliError("--task rank needs scikit-learn (its LinearSVC is the reference): "
                       "pip install scikit-learn") from None
    train, test, source = rank_data(args)
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
        code, word = interrupted_exit()
        print(f"psgd: {word}; partial results in {out_dir}", file=sys.stderr)
        return code
    return 0
