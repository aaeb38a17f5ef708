"""Row accessors shared by every kernel, specialized at compile time on the layout.

``row_bounds(X, indptr, i)`` gives the range of entry positions ``k`` of row
``i`` and ``row_entry(X, indices, i, k)`` the coordinate ``j`` and value ``x`` at
``k``. For dense data ``indptr``/``indices`` are ``None``, ``k`` runs over all
columns and ``j = k``; for CSR ``k`` runs over the row's stored entries. Loops
written against these two functions compile to the plain dense or sparse loop.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .._jit import inlined_jit, jit, overload_options

PREFETCH_DISTANCE = 8



# Each accessor below is a plain Python function (what runs under NUMBA_DISABLE_JIT=1)
# and an overload that compiles only the branch the argument types select.

def _dense_bounds(X, indptr, i):
    return 0, X.shape[1]


def _csr_bounds(X, indptr, i):
    return indptr[i], indptr[i + 1]


def row_bounds(X, indptr, i):
    """(first, end) entry positions of row ``i``."""
    return (_dense_bounds if indptr is None else _csr_bounds)(X, indptr, i)


def _dense_entry(X, indices, i, k):
    return k, X[i, k]


def _csr_entry(X, indices, i, k):
    return indices[k], X[k]


def row_entry(X, indices, i, k):
    """(coordinate, value) of the entry at position ``k`` of row ``i``."""
    return (_dense_entry if indices is None else _csr_entry)(X, indices, i, k)


@overload(row_bounds, **overload_options())
def _row_bounds(X, indptr, i):
    return _dense_bounds if isinstance(indptr, types.NoneType) else _csr_bounds


@overload(row_entry, **overload_options())
def _row_entry(X, indices, i, k):
    return _dense_entry if isinstance(indices, types.NoneType) else _csr_entry


def _unit_weight(weights, i):
    return 1.0


def _weight(weights, i):
    return weights[i]


def sample_weight(weights, i):
    """``weights[i]``, or 1 when there are no sample weights (``None``)."""
    return (_unit_weight if weights is None else _weight)(weights, i)


@overload(sample_weight, **overload_options())
def _sample_weight(weights, i):
    return _unit_weight if isinstance(weights, types.NoneType) else _weight


def prefetch(array, index):
    """Hint the CPU to load ``array[index]`` into cache (nothing in plain Python)."""


@overload(prefetch, **overload_options())
def _prefetch(array, index):
    return lambda array, index: prefetch_line(array, index)


@intrinsic
def prefetch_line(typingctx, array, index):
    """Hint the CPU to load ``array[index]`` into cache (``llvm.prefetch``, read, high locality)."""
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        ary, idx = args
        aryty = signature.args[0]
        handle = context.make_array(aryty)(context, builder, ary)
        ptr = cgutils.get_item_pointer(context, builder, aryty, handle, [idx], wraparound=False)
        bytes_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [bytes_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, bytes_ptr), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


def prefetch_row(X, indices, indptr, i):
    """Prefetch every cache line of row ``i``'s values (and indices, for CSR)."""


@overload(prefetch_row, **overload_options())
def _prefetch_row(X, indices, indptr, i):
    if isinstance(indptr, types.NoneType):
        def dense(X, indices, indptr, i):
            row = X[i]
            for k in range(0, row.shape[0], 64 // row.itemsize):
                prefetch(row, k)
        return dense

    def sparse(X, indices, indptr, i):
        lo, hi = indptr[i], indptr[i + 1]
        for k in range(lo, hi, 64 // indices.itemsize):
            prefetch(indices, k)
        for k in range(lo, hi, 64 // X.itemsize):
            prefetch(X, k)
    return sparse


def prefetch_row_start(X, indptr, i):
    """Prefetch where row ``i`` starts (CSR: ``indptr[i]``; dense: nothing to look up)."""


@overload(prefetch_row_start, **overload_options())
def _prefetch_row_start(X, indptr, i):
    if isinstance(indptr, types.NoneType):
        return lambda X, indptr, i: None
    return lambda X, indptr, i: prefetch(indptr, i)


def prefetch_weight(weights, i):
    """Prefetch ``weights[i]`` (nothing without sample weights)."""


@overload(prefetch_weight, **overload_options())
def _prefetch_weight(weights, i):
    if isinstance(weights, types.NoneType):
        return lambda weights, i: None
    return lambda weights, i: prefetch(weights, i)


@inlined_jit
def prefetch_ahead(data, order, s):
    """Software prefetch for a random row order, two stages ahead of step ``s``.

    Visiting rows in random order is latency-bound: fetch ``indptr`` of the row
    ``2 * PREFETCH_DISTANCE`` steps ahead, and the entries, label and sample
    weight of the row ``PREFETCH_DISTANCE`` steps ahead (its ``indptr`` is in
    cache by then). The distance and what is prefetched were chosen by
    measurement (BENCHMARKS.md, Serial epoch).
    """
    prefetch_rows_ahead(data.X, data.indices, data.indptr, data.y, data.weights, order, s)


@inlined_jit
def prefetch_rows_ahead(X, indices, indptr, y, weights, order, s):
    """:func:`prefetch_ahead` on arrays: ``y`` and ``weights`` (or None) are any per-row
    arrays the step at ``order[s]`` will read."""
    m = order.shape[0]
    if s + 2 * PREFETCH_DISTANCE < m:
        prefetch_row_start(X, indptr, order[s + 2 * PREFETCH_DISTANCE])
    if s + PREFETCH_DISTANCE < m:
        ahead = order[s + PREFETCH_DISTANCE]
        prefetch_row(X, indices, indptr, ahead)
        prefetch(y, ahead)
        prefetch_weight(weights, ahead)


WEIGHTS_DISTANCE = 6
PREFETCH_MIN_BYTES = 4 << 20  # smaller weight arrays stay in the caches


def prefetch_row_weights(X, indices, indptr, i, v, width):
    """Prefetch the ``width`` consecutive weights ``v[j * width ...]`` of every feature
    ``j`` of row ``i`` (sparse rows only: a dense row's weights are read in order), when
    ``v`` is too large for the caches: on a cached model the extra loop over the row
    only costs (BENCHMARKS.md, SVRG)."""


@overload(prefetch_row_weights, **overload_options())
def _prefetch_row_weights(X, indices, indptr, i, v, width):
    if isinstance(indptr, types.NoneType):
        return lambda X, indices, indptr, i, v, width: None

    def csr(X, indices, indptr, i, v, width):
        if v.size * v.itemsize < PREFETCH_MIN_BYTES:
            return
        per_line = 64 // v.itemsize
        for k in range(indptr[i], indptr[i + 1]):
            base = np.int64(indices[k]) * width
            for line in range(base // per_line, (base + width - 1) // per_line + 1):
                prefetch(v, line * per_line)
    return csr


@inlined_jit
def prefetch_weights_ahead(data, order, s, v, width):
    """Prefetch the weights (``width`` per feature) that the row ``WEIGHTS_DISTANCE``
    steps ahead will read and write: on a model far larger than the caches every
    feature of a row is a cache miss, one after the other. That row's entries were
    prefetched by :func:`prefetch_ahead` ``PREFETCH_DISTANCE - WEIGHTS_DISTANCE``
    steps before."""
    if s + WEIGHTS_DISTANCE < order.shape[0]:
        prefetch_row_weights(data.X, data.indices, data.indptr, order[s + WEIGHTS_DISTANCE],
                             v, width)


@inlined_jit
def prefetch_pass_weights(X, indices, indptr, i, end, v):
    """In a pass over rows ``.. end`` in order: prefetch the weights ``v[j]`` of the row
    ``WEIGHTS_DISTANCE`` rows after ``i``. The rows themselves stream in order, but
    their features' weights are scattered over a model larger than the caches."""
    if i + WEIGHTS_DISTANCE < end:
        prefetch_row_weights(X, indices, indptr, i + WEIGHTS_DISTANCE, v, 1)


@jit
def row_dot(X, indices, indptr, i, w):
    """``x_i . w`` accumulated in float64."""
    lo, hi = row_bounds(X, indptr, i)
    s = 0.0
    for k in range(lo, hi):
        j, x = row_entry(X, indices, i, k)
        s += w[j] * x
    return s


@jit
def row_norms_sq(X, indices, indptr, out):
    """Squared Euclidean norm of every row, into ``out``."""
    for i in range(out.shape[0]):
        lo, hi = row_bounds(X, indptr, i)
        s = 0.0
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            s += x * x
        out[i] = s
    return out
