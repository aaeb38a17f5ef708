"""The ``psgd`` command: bench, plot, train, predict, data (one module each).

Bad arguments or input print one line (``psgd: error: ...``) and exit with code
2, never a traceback; Ctrl-C exits with 130 and SIGTERM (``timeout``, SLURM,
Kubernetes, Docker) with 143, both at the fit's next safe point, a bench keeping
what it measured.
The CLI uses the library's public layers only (data, models, ``psgd.fit``, the
benchmark machinery), never the kernels.
"""
import contextlib
import signal
import sys
import threading

from .. import __version__
from .._interrupts import raise_terminated, reset_terminated
from ..errors import DivergenceError
from . import bench, data, plot, predict, train
from .common import EXIT_BAD_INPUT, CliError, Parser, interrupted_exit

COMMANDS = {"bench": bench, "plot": plot, "train": train, "predict": predict, "data": data}


def build_parser():
    parser = Parser(prog="psgd", description="Parallel and asynchronous SGD for linear models.")
    parser.add_argument("--version", action="version", version=f"psgd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv=None, out=None):
    """Entry point; returns the exit code (0 success, 2 bad arguments or input, 130
    Ctrl-C, 143 SIGTERM)."""
    out = out or sys.stdout
    with handled_sigterm():
        try:
            args = build_parser().parse_args(argv)
            return COMMANDS[args.command].run(args, out)
        except (CliError, ValueError, OSError) as exc:
            kind = "diverged" if isinstance(exc, DivergenceError) else "error"
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"psgd: {kind}: {message}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            code, word = interrupted_exit()
            print(f"psgd: {word}", file=sys.stderr)
            return code


@contextlib.contextmanager
def handled_sigterm():
    """SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``, deferred during a fit
    as Ctrl-C is) while the command runs, unless something else already handles it
    (an application embedding ``main``, or a signal left to another thread)."""
    reset_terminated()
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


__all__ = ["main", "build_parser", "CliError"]
