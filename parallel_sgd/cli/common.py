"""What the subcommands share: the one-line error, argument types, loading data, and
turning arguments into a Problem and ``psgd.fit`` options."""
import argparse
import os
import tempfile
from pathlib import Path

from .._interrupts import was_terminated
from ..data import CATALOG, fetch, load
from ..model.problem import Problem

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process SIGTERM ended


def interrupted_exit():
    """``(exit code, word)`` of a run stopped by Ctrl-C or by SIGTERM."""
    if was_terminated():
        return EXIT_TERMINATED, "terminated"
    return EXIT_INTERRUPTED, "interrupted"


class CliError(Exception):
    """A one-line error for the user; exits with code 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors become :class:`CliError` (one line, code 2)."""

    def error(self, message):
        raise CliError(message)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def names(kind, known):
    """An argument type: a comma-separated list of names from ``known``."""
    def parse(text):
        chosen = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in known]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {unknown[0] if unknown else text!r}; known {kind}s: "
                f"{', '.join(sorted(known))}")
        return list(dict.fromkeys(chosen))
    return parse


def load_data(spec, n_features=None):
    """A Dataset from a catalog name, an svmlight file, a folder of part files or a cache."""
    if spec in CATALOG:
        return fetch(spec)
    if os.path.exists(spec):
        return load(spec, n_features=n_features)
    raise CliError(f"--data {spec!r} is neither a file, a folder nor a known dataset "
                   f"(known: {', '.join(sorted(CATALOG))})")


def existing_file(path):
    """``path``, or a CliError when there is no such file."""
    if not os.path.exists(path):
        raise CliError(f"no such file: {path}")
    return path


def writable_folder(path):
    """``path``, if it is a folder that takes new files or one that can be made there
    (checked before a run starts, so that no measurement is lost at its end, and made
    only when the results are written); else a CliError."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CliError(f"--out {path}: is a file, not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CliError(f"--out {path}: {existing} is a file, not a folder")
    try:
        tempfile.TemporaryFile(dir=existing).close()  # a file that vanishes when closed
    except OSError as error:
        raise CliError(f"--out {path}: cannot write in {existing} "
                       f"({error.strerror or error})") from None
    return path


RUN_FILES = ("results.json", "trace.csv", "convergence.png")  # what a bench run writes


def fresh_run_folder(path, overwrite):
    """``path`` ready for a run's files: refused (CliError) if it already holds any
    file unless ``overwrite``; with it, the files of an earlier run are removed first,
    so that none survives next to the new ones (a folder of a suite's runs is refused
    the same way)."""
    path = writable_folder(path)
    if not path.is_dir():
        return path
    present = sorted(entry.name for entry in path.iterdir())
    if present and not overwrite:
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        raise CliError(f"--out {path}: not empty ({shown}); pass --overwrite to replace "
                       f"an earlier run's files, or name another folder")
    for name in RUN_FILES:
        try:
            (path / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            raise CliError(f"--out {path}: cannot remove {name} ({error.strerror})") from None
    return path


def add_problem_args(p):
    p.add_argument("--loss", default="log_loss")
    p.add_argument("--alpha", type=float, default=1e-5)
    p.add_argument("--l1-ratio", type=float, default=0.0)
    p.add_argument("--no-intercept", action="store_true", help="fit without an intercept")


def add_fit_args(p):
    p.add_argument("--workers", type=positive_int, default=2)
    p.add_argument("--epochs", type=float, default=10.0)
    p.add_argument("--batch-size", type=positive_int, default=1)
    p.add_argument("--learning-rate", default=None,
                   help="step-size schedule of the SGD drivers (default: optimal); "
                        "SVRG takes a constant step")
    p.add_argument("--eta0", type=float, default=None)
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=float, default=1.0)
    p.add_argument("--shuffle", type=shuffle_choice, default=True,
                   help="row order: true (a new permutation every epoch, the default), once "
                        "(one permutation at set-up), blocks (cache-sized blocks of rows in a "
                        "random order, shuffled within) or false (the stored order); SVRG "
                        "takes the other orders with uniform sampling")


def shuffle_choice(text):
    """``--shuffle``'s value: True, "once", "blocks" or False."""
    value = {"true": True, "false": False, "once": "once", "blocks": "blocks"}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true, once, blocks or false, got {text!r}")
    return value


def fit_kwargs(args):
    """The ``psgd.fit`` options the arguments name."""
    return dict(n_workers=args.workers, n_epochs=args.epochs, batch_size=args.batch_size,
                learning_rate=args.learning_rate, eta0=args.eta0, optimizer=args.optimizer,
                random_state=args.seed, eval_every=args.eval_every, shuffle=args.shuffle)


def problem_of(data, args):
    """The Problem the arguments define on ``data``."""
    return Problem(data, args.loss, alpha=args.alpha, l1_ratio=args.l1_ratio,
                   fit_intercept=not args.no_intercept)
