"""Full passes over the data: margins ``X w + b`` and ``X^T r``, in float64, in parallel.

Used to evaluate objectives and full gradients (checkpoints, the reference
optimum), never inside an SGD step.
"""
import numpy as np
from numba import get_num_threads, prange

from .._jit import jit, parallel_jit
from .rows import prefetch_pass_weights, row_bounds, row_dot, row_entry


@parallel_jit
def margins(X, indices, indptr, w, b, out):
    """``out[i] = x_i . w + b`` for every row."""
    n = out.shape[0]
    for i in prange(n):
        prefetch_pass_weights(X, indices, indptr, i, n, w)
        out[i] = row_dot(X, indices, indptr, i, w) + b
    return out


@jit
def margins_of_rows(X, indices, indptr, start, end, w, b, out):
    """``out[i] = x_i . w + b`` for rows ``start <= i < end`` only, serially (one worker's
    share of a checkpoint's pass, see :meth:`parallel_sgd.drivers.hogwild.Team.margins`)."""
    for i in range(start, end):
        prefetch_pass_weights(X, indices, indptr, i, end, w)
        out[i] = row_dot(X, indices, indptr, i, w) + b


@parallel_jit
def _rmatvec_chunks(X, indices, indptr, r, partial):
    n = r.shape[0]
    n_chunks = partial.shape[0]
    for c in prange(n_chunks):
        first = c * n // n_chunks
        last = (c + 1) * n // n_chunks
        acc = partial[c]
        acc[:] = 0.0
        for i in range(first, last):
            prefetch_pass_weights(X, indices, indptr, i, last, acc)
            ri = r[i]
            if ri != 0.0:
                lo, hi = row_bounds(X, indptr, i)
                for k in range(lo, hi):
                    j, x = row_entry(X, indices, i, k)
                    acc[j] += ri * x
    return partial


def rmatvec(X, indices, indptr, r, n_features):
    """``X^T r`` in float64 (one private buffer per thread, summed at the end)."""
    n_chunks = max(1, min(get_num_threads(), r.shape[0]))
    partial = np.empty((n_chunks, n_features))
    return _rmatvec_chunks(X, indices, indptr, np.ascontiguousarray(r, dtype=np.float64),
                           partial).sum(axis=0)


def data_arrays(X):
    """``(values, indices, indptr)`` of a dense array or CSR matrix, as the kernels take it."""
    if hasattr(X, "indptr"):
        return X.data, X.indices, X.indptr
    return X, None, None
