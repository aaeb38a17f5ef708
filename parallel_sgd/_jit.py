"""The one place that sets Numba compilation flags.

Every compiled function in the package is built through :func:`jit` (serial,
GIL released) or :func:`parallel_jit` (``prange`` loops), so caching, ``nogil``
and the fast-math policy are decided here once.

Fast-math is on for reassociation, contraction and reciprocals (so dot products
vectorize and use FMA), but *without* ``nnan``/``ninf``: the kernels rely on
seeing NaN and infinity to detect divergence. ``nsz`` is left out too: together
with ``reassoc`` it lets LLVM fold ``x - x`` to 0, which turns Numba's
``np.isfinite`` into ``True`` for NaN.
"""
import numba

FASTMATH = {"reassoc", "contract", "arcp"}

_OPTIONS = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")


def jit(function=None, **extra):
    """``numba.njit`` with the project's flags (cache, nogil, safe fast-math)."""
    options = {**_OPTIONS, **extra}
    if function is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(function)


def parallel_jit(function=None, **extra):
    """Like :func:`jit` but compiled with ``parallel=True`` for ``prange`` loops."""
    return jit(function, parallel=True, **extra)


def overload_options():
    """Options for ``numba.extending.overload`` implementations (always inlined)."""
    return dict(inline="always", jit_options={"fastmath": FASTMATH, "error_model": "numpy"})
