"""Ctrl-C (and an application's SIGTERM) during a fit, delivered where the drivers can
stop cleanly.

Python runs a signal's handler at whatever bytecode the main thread runs when the
signal arrives. During a fit that is often Numba's dispatcher, typing the
arguments of a kernel call, which can lose the handler's ``KeyboardInterrupt``,
or turn it into a ``SystemError``, with the call half made: a Hogwild! leader
then waits for workers that never got its call, or training simply goes on. So
while a fit runs, the first SIGINT only sets a flag, and the drivers hand it to
the handler that was installed before (Python's own raises ``KeyboardInterrupt``)
at their next safe point (:func:`raise_if_interrupted`: between kernel calls, at
a checkpoint, at the end of the fit). The first signal also puts that handler
back, so a second Ctrl-C acts at once, as it would without a fit.

SIGTERM is deferred the same way when a Python handler of the application's is
installed for it (the ``psgd`` command installs :func:`raise_terminated`, so that
``timeout``, SLURM, Kubernetes and Docker stop a run as Ctrl-C does); with the
default action a library user's process still ends at once.
"""
import os
import signal
import sys
import threading
from contextlib import contextmanager

DEFERRED = (signal.SIGINT, signal.SIGTERM)
_state = {"active": False, "pending": None, "previous": {}, "terminated": False}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's ``KeyboardInterrupt`` is (so that every clean stop
    of an interrupted run applies), but telling a SIGTERM apart."""


def raise_terminated(signum, frame):
    """A SIGTERM handler that raises :class:`Terminated` (and remembers it)."""
    _state["terminated"] = True
    raise Terminated()


def was_terminated():
    """Whether :func:`raise_terminated` has run since :func:`reset_terminated`."""
    return _state["terminated"]


def reset_terminated():
    _state["terminated"] = False


def _defer(signum, frame):
    if _state["pending"] is None:
        _state["pending"] = signum
    signal.signal(signum, _state["previous"][signum])  # a second signal acts at once


def _deferrable(signum, handler):
    """Whether ``handler``, installed for ``signum``, is one to defer: any Python
    handler for SIGINT, a Python callable for SIGTERM (not its default action)."""
    if handler is None:  # installed from outside Python: leave it alone
        return False
    return signum == signal.SIGINT or callable(handler)


@contextmanager
def deferred_interrupts():
    """Defer SIGINT (and a handled SIGTERM) to :func:`raise_if_interrupted` inside the
    block (main thread only; nested blocks share the outermost). Leaving the block
    delivers a pending one."""
    if _state["active"] or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in DEFERRED}
    previous = {signum: h for signum, h in previous.items() if _deferrable(signum, h)}
    if not previous:
        yield
        return
    _state.update(active=True, pending=None, previous=previous)
    for signum in previous:
        signal.signal(signum, _defer)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if signal.getsignal(signum) is _defer:
                signal.signal(signum, handler)
        pending = _state["pending"]
        _state.update(active=False, pending=None, previous={})
    if pending is not None:
        _deliver(pending, previous[pending])


def raise_if_interrupted():
    """Hand a deferred signal to its handler now (once): by default, for Ctrl-C, raise
    ``KeyboardInterrupt``."""
    pending = _state["pending"]
    if pending is not None:
        _state["pending"] = None
        _deliver(pending, _state["previous"][pending])


def _deliver(signum, handler):
    if handler is signal.SIG_IGN:
        return
    if handler is signal.SIG_DFL:  # the default action: the process ends by the signal
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    handler(signum, sys._getframe(1))
