"""The ``psgd`` command: bench, plot, train, predict, data (one module each).

Bad arguments or input print one line (``psgd: error: ...``) and exit with code
2, never a traceback; Ctrl-C exits with 130 (a bench keeps what it measured).
The CLI uses the library's public layers only (data, models, ``psgd.fit``, the
benchmark machinery), never the kernels.
"""
import sys

from .. import __version__
from ..errors import DivergenceError
from . import bench, data, plot, predict, train
from .common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, CliError, Parser

COMMANDS = {"bench": bench, "plot": plot, "train": train, "predict": predict, "data": data}


def build_parser():
    parser = Parser(prog="psgd", description="Parallel and asynchronous SGD for linear models.")
    parser.add_argument("--version", action="version", version=f"psgd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv=None, out=None):
    """Entry point; returns the exit code (0 success, 2 bad arguments or input)."""
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command].run(args, out)
    except (CliError, ValueError, OSError) as exc:
        kind = "diverged" if isinstance(exc, DivergenceError) else "error"
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"psgd: {kind}: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("psgd: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


__all__ = ["main", "build_parser", "CliError"]
