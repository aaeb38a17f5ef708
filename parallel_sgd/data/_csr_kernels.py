"""One pass over a user's CSR arrays: is the matrix canonical, is it valid, and the
squared norm of every row.

scipy's ``has_canonical_format`` flag is conservative (slicing, stacking and
``csr_matrix((data, indices, indptr))`` leave it unset on rows that are in fact
sorted), and trusting it cost a copy plus ``sum_duplicates`` and ``sort_indices`` on
every fit. Checking the arrays themselves costs one sequential read of them, and the
row norms every step-size default needs (``L_max``) come out of the same read. Column
counts do not: their increments land at random over a d-long array, which made the
pass 8x slower at 2M features, and the serial SGD driver never needs them
(BENCHMARKS.md, Data path).
"""
import math

from .._jit import jit

CANONICAL = 0
UNSORTED = 1  # indices not strictly increasing within a row (unsorted or duplicated)
STORED_ZERO = 2  # explicit zeros (possibly also unsorted)
NOT_FINITE = 3  # a NaN or an infinity; ``row`` names the first
OUT_OF_RANGE = 4  # a column index below 0 or not below n_features; ``row`` names it
BAD_INDPTR = 5  # indptr decreasing, or not ending at nnz; ``row`` names it


@jit
def scan_csr(indptr, indices, data, n_features, norms):
    """Check ``(data, indices, indptr)`` and write each row's squared norm into ``norms``.

    Returns ``(status, row)``: ``status`` is one of the codes above (the fixable ones,
    :data:`UNSORTED` and :data:`STORED_ZERO`, leave the scan going, so that an invalid
    entry later on is still reported), ``row`` the row of an invalid entry or -1.
    The norms are exact only when the matrix is canonical (duplicates not summed).
    """
    n_rows = indptr.shape[0] - 1
    nnz = data.shape[0]
    if indptr[0] != 0 or indptr[n_rows] != nnz or indices.shape[0] != nnz:
        return BAD_INDPTR, 0
    status = CANONICAL
    for i in range(n_rows):
        lo, hi = indptr[i], indptr[i + 1]
        if hi < lo:
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
