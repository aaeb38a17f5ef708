"""One pass over a user's CSR arrays: is the matrix canonical, is it valid, and the
squared norm of every row.

scipy's ``has_canonical_format`` flag is conservative (slicing, stacking and
``csr_matrix((data, indices, indptr))`` leave it unset on rows that are in fact
sorted), and trusting it cost a copy plus ``sum_duplicates`` and ``sort_indices`` on
every fit. Checking the arrays themselves costs one read of them (a band of rows per
thread), and the row norms every step-size default needs (``L_max``) come out of the same read. Column
counts do not: their increments land at random over a d-long array, which made the
pass 8x slower at 2M features, and the serial SGD driver never needs them
(BENCHMARKS.md, Data path).
"""
import math

import numpy as np
from numba import get_num_threads, prange

from .._jit import jit, parallel_jit

CANONICAL = 0
UNSORTED = 1  # indices not strictly increasing within a row (unsorted or duplicated)
STORED_ZERO = 2  # explicit zeros (possibly also unsorted)
NOT_FINITE = 3  # a NaN or an infinity; ``row`` names the first
OUT_OF_RANGE = 4  # a column index below 0 or not below n_features; ``row`` names it
BAD_INDPTR = 5  # indptr decreasing, or not ending at nnz; ``row`` names it
ROWS_PER_THREAD = 4096  # fewer rows than this per thread: not worth starting one


@jit
def _scan_rows(indptr, indices, data, n_features, norms, first, last):
    """:func:`scan_csr` on rows ``first <= i < last``; ``(status, row)``."""
    status = CANONICAL
    nnz = data.shape[0]
    for i in range(first, last):
        lo, hi = indptr[i], indptr[i + 1]
        if hi < lo or lo < 0 or hi > nnz:  # (a band reads its rows whatever came before)
            return BAD_INDPTR, i
        previous = -1
        total = 0.0
        for k in range(lo, hi):
            j = indices[k]
            v = data[k]
            if j < 0 or j >= n_features:
                return OUT_OF_RANGE, i
            if not math.isfinite(v):
                return NOT_FINITE, i
            total += v * v
            if v == 0.0:
                status = STORED_ZERO
            elif j <= previous and status == CANONICAL:
                status = UNSORTED
            previous = j
        norms[i] = total
    return status, -1


def scan_csr(indptr, indices, data, n_features, norms):
    """Check ``(data, indices, indptr)`` and write each row's squared norm into ``norms``.

    Returns ``(status, row)``: ``status`` is one of the codes above (the fixable ones,
    :data:`UNSORTED` and :data:`STORED_ZERO`, leave the scan going, so that an invalid
    entry later on is still reported), ``row`` the first row of an invalid entry or -1.
    The norms are exact only when the matrix is canonical (duplicates not summed).
    Runs on up to every thread, a band of at least ``ROWS_PER_THREAD`` rows each.
    """
    bands = max(1, min(get_num_threads(), (indptr.shape[0] - 1) // ROWS_PER_THREAD))
    return _scan_bands(indptr, indices, data, n_features, norms, bands)


@parallel_jit
def _scan_bands(indptr, indices, data, n_features, norms, bands):
    n_rows = indptr.shape[0] - 1
    nnz = data.shape[0]
    if indptr[0] != 0 or indptr[n_rows] != nnz or indices.shape[0] != nnz:
        return BAD_INDPTR, 0
    statuses = np.empty(bands, dtype=np.int64)
    rows = np.empty(bands, dtype=np.int64)
    for t in prange(bands):
        statuses[t], rows[t] = _scan_rows(indptr, indices, data, n_features, norms,
                                          t * n_rows // bands, (t + 1) * n_rows // bands)
    status = CANONICAL
    for t in range(bands):  # the first band with an invalid entry has the first such row
        if rows[t] >= 0:
            return statuses[t], rows[t]
        if statuses[t] == STORED_ZERO or (statuses[t] == UNSORTED and status == CANONICAL):
            status = statuses[t]
    return status, -1
