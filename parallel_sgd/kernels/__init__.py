"""Numba hot loops: row access, SGD epochs, mini-batch steps, margins.

Kernels only mutate the arrays they are given; they never allocate per example,
never do I/O and never import drivers. Data arrives as ``(X, indices, indptr)``:
``(X, None, None)`` for a dense C-contiguous matrix, ``(data, indices, indptr)``
for CSR. The row accessors in :mod:`.rows` are specialized on that at compile
time, so each kernel is written once for both layouts.
"""
