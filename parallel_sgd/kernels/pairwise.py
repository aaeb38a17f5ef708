"""SGD on pairs of rows: the SVM-Rank step (Joachims 2002), hinge on ``(x_i - x_j).w``.

The driver draws the pairs (``first[s]`` ranked above ``second[s]``, same query);
one step with step size ``eta``::

    p = scale * (x_i . v - x_j . v)
    scale *= max(0, 1 - eta*l2)                    (L2 on every weight, O(1))
    if p < 1:  w += eta * (x_i - x_j)              (the hinge's subgradient)

at O(nnz of the two rows). ``average`` (ASGD state of :mod:`.averaging`, or None)
averages the iterates as in :mod:`.sgd`.
"""
import numpy as np

from .._jit import jit
from .args import SCALE
from .averaging import advance
from .rows import row_bounds, row_dot
from .sgd import add_row, shrink


@jit
def pairwise_epoch(data, model, average, l2, first, second, etas, t_start):
    """One hinge step per pair ``(first[s], second[s])`` of rows of ``data``
    (:class:`~.args.Rows`) on ``model`` (:class:`~.args.LinearModel`, whose intercept is
    not used); returns the steps done (the position of the first non-finite
    prediction, if any)."""
    X, indices, indptr = data.X, data.indices, data.indptr
    v, scalars = model.v, model.scalars
    scale = scalars[SCALE]
    m = etas.shape[0]
    for s in range(m):
        i, j = first[s], second[s]
        eta = etas[s]
        p = scale * (row_dot(X, indices, indptr, i, v) - row_dot(X, indices, indptr, j, v))
        if not np.isfinite(p):
            scalars[SCALE] = scale
            return s
        if l2 > 0.0:
            scale = shrink(v, scale, 1.0 - eta * l2, average)
        if p < 1.0:
            lo, hi = row_bounds(X, indptr, i)
            add_row(X, indices, i, lo, hi, v, eta / scale, average)
            lo, hi = row_bounds(X, indptr, j)
            add_row(X, indices, j, lo, hi, v, -eta / scale, average)
        advance(average, t_start + s, v, scale, 0.0)
    scalars[SCALE] = scale
    return m
