"""Numba hot loops: row access, SGD epochs, mini-batch steps, SVRG inner loops, dual
coordinate ascent, the update rules, the replica merges and the team's hand-off.

Kernels only mutate the arrays they are given; they never allocate per example,
never do I/O and never import drivers. They take a few named tuples, defined once
in :mod:`.args`: the data (``Rows``, dense ``(X, None, None, ...)`` or CSR
``(data, indices, indptr, ...)``), the model state, the config and scratch. The
row accessors in :mod:`.rows` are specialized on the layout at compile time, so
each kernel is written once for both.
"""
