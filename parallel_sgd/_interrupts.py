"""Ctrl-C during a fit, delivered where the drivers can stop cleanly.

Python runs a SIGINT handler at whatever bytecode the main thread runs when the
signal arrives. During a fit that is often Numba's dispatcher, typing the
arguments of a kernel call, which can lose the handler's ``KeyboardInterrupt``,
or turn it into a ``SystemError``, with the call half made: a Hogwild! leader
then waits for workers that never got its call, or training simply goes on. So
while a fit runs, the first SIGINT only sets a flag, and the drivers hand it to
the handler that was installed before (Python's own raises ``KeyboardInterrupt``)
at their next safe point (:func:`raise_if_interrupted`: between kernel calls, at
a checkpoint, at the end of the fit). The first signal also puts that handler
back, so a second Ctrl-C acts at once, as it would without a fit.
"""
import os
import signal
import sys
import threading
from contextlib import contextmanager

_state = {"active": False, "pending": False, "previous": None}


def _defer(signum, frame):
    _state["pending"] = True
    signal.signal(signal.SIGINT, _state["previous"])  # a second Ctrl-C acts at once


@contextmanager
def deferred_interrupts():
    """Defer SIGINT to :func:`raise_if_interrupted` inside the block (main thread only;
    nested blocks share the outermost). Leaving the block delivers a pending one."""
    if _state["active"] or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # installed from outside Python: leave it alone
        yield
        return
    _state.update(active=True, pending=False, previous=previous)
    signal.signal(signal.SIGINT, _defer)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is _defer:
            signal.signal(signal.SIGINT, previous)
        pending = _state["pending"]
        _state.update(active=False, pending=False, previous=None)
    if pending:
        _deliver(previous)


def raise_if_interrupted():
    """Hand a deferred Ctrl-C to its handler now (once): by default, raise
    ``KeyboardInterrupt``."""
    if _state["pending"]:
        _state["pending"] = False
        _deliver(_state["previous"])


def _deliver(handler):
    if handler is signal.SIG_IGN:
        return
    if handler is signal.SIG_DFL:  # the default action: the process ends by the signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return
    handler(signal.SIGINT, sys._getframe(1))
