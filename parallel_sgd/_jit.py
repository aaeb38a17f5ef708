"""The one place that sets Numba compilation flags.

Every compiled function in the package is built through :func:`jit` (serial,
GIL released), :func:`inlined_jit` (per-step helpers, inlined into their callers)
or :func:`parallel_jit` (``prange`` loops), so caching, ``nogil`` and the
fast-math policy are decided here once.

Fast-math is on for reassociation, contraction and reciprocals (so dot products
vectorize and use FMA), but *without* ``nnan``/``ninf``: the kernels rely on
seeing NaN and infinity to detect divergence. ``nsz`` is left out too: together
with ``reassoc`` it lets LLVM fold ``x - x`` to 0, which turns Numba's
``np.isfinite`` into ``True`` for NaN.
"""
import os

# OpenMP threads (Numba's default threading layer) spin for a while after every
# parallel region with the default active wait policy. Between epochs the drivers
# evaluate the objective with a parallel pass, and the spinning threads would then
# take the cores from the next epoch's workers; passive waiting gives them back
# (BENCHMARKS.md, Hogwild!). libgomp reads this when Numba first starts it, which
# is after this import; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402

FASTMATH = {"reassoc", "contract", "arcp"}

_OPTIONS = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")


def jit(function=None, **extra):
    """``numba.njit`` with the project's flags (cache, nogil, safe fast-math)."""
    options = {**_OPTIONS, **extra}
    if function is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(function)


def inlined_jit(function=None, **extra):
    """Like :func:`jit`, but inlined into its callers by Numba (``inline="always"``): for
    the helpers a kernel calls once per step or per coordinate. A compiled call that
    stays a call reference-counts its array arguments; on arrays the Hogwild! workers
    share, those counts are atomics every worker writes, so the workers would contend
    for their cache lines on every step (BENCHMARKS.md, Structure)."""
    return jit(function, inline="always", **extra)


def parallel_jit(function=None, **extra):
    """Like :func:`jit` but compiled with ``parallel=True`` for ``prange`` loops."""
    return jit(function, parallel=True, **extra)


def overload_options():
    """Options for ``numba.extending.overload`` implementations (always inlined)."""
    return dict(inline="always", jit_options={"fastmath": FASTMATH, "error_model": "numpy"})
