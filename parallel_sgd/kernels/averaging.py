"""Averaged SGD (Polyak-Ruppert) at O(nnz) per step: the bookkeeping the SGD kernel calls.

The average of the iterates ``w_t = scale_t * v_t`` from step ``start`` on,
``abar_k = (1/k) sum_{s=1..k} w_s``, is never formed during training. Following
Xu (2011, "Towards optimal one pass large scale learning with averaged SGD") and
Bottou's ASGD, as scikit-learn does, it is kept as

    abar = (aw + a * v) / bsum

with ``average`` an :class:`~.args.Average`: ``aw`` a float64 array and ``avg``
holding ``a, bsum, k, intercept_average, start`` at the slots named below. Every
change of the kernel state keeps the identity:

* a change ``dv`` of ``v[j]`` inside a step (gradient or L1 catch-up): ``aw[j] -= a * dv``;
* before ``v`` is folded into a new scale (``v *= s``) or reset to zero (O(d), rare):
  the average is written out, ``aw = (aw + a * v) / bsum``, ``a = 0``, ``bsum = 1``
  (as scikit-learn's ``reset_wscale`` does; keeping ``a`` and rescaling it by
  ``1/s`` instead grows it by 1e9 per fold until ``aw + a * v`` cancels to noise);
* at the end of step ``t >= start``, with ``k`` incremented and ``mu = 1/k``:
  ``bsum /= 1 - mu`` (for ``k > 1``), ``a += mu * scale * bsum``, and the
  intercept's average ``ab += (b - ab) / k``.

``a * v`` is about ``a / scale`` times the average, so ``aw + a * v`` loses that
factor of precision to cancellation, more the further the scale falls (BENCHMARKS.md,
Serial epoch). The average is therefore also written out whenever ``a`` exceeds
``WRITE_OUT * scale``; ``a`` then grows back by about ``scale / k`` per step, so
write-outs come at geometrically spaced steps (``k``, ~17k, ...) when the scale is
steady: O(d log n) in all. So a step costs O(nnz of the row) more, plus O(1).
``average=None`` turns every hook into nothing at compile time: the plain kernel
is unchanged.

The hooks are inlined overloads that read ``average.aw`` and ``average.avg`` and
never unpack the tuple (``aw, avg = average``): Numba 0.68 silently drops writes to
unpacked arrays inside an overload inlined with ``inline="always"``.
"""
from numba import types
from numba.extending import overload

from .._jit import overload_options

A, BSUM, COUNT, INTERCEPT, START = 0, 1, 2, 3, 4
N_SCALARS = 5
WRITE_OUT = 16.0


def _absent(average):
    return isinstance(average, (types.NoneType, types.Omitted))


def _track_change(average, j, dv):
    aw = average.aw
    aw[j] = aw[j] - average.avg[A] * dv


def _write_out(average, v):
    aw = average.aw
    avg = average.avg
    a, bsum = avg[A], avg[BSUM]
    for j in range(v.shape[0]):
        aw[j] = (aw[j] + a * v[j]) / bsum
    avg[A] = 0.0
    avg[BSUM] = 1.0


def _advance(average, t, v, scale, b):
    avg = average.avg
    if t < avg[START]:
        return
    k = avg[COUNT] + 1.0
    mu = 1.0 / k
    if k > 1.0:
        avg[BSUM] = avg[BSUM] / (1.0 - mu)
    avg[A] = avg[A] + mu * scale * avg[BSUM]
    avg[INTERCEPT] = avg[INTERCEPT] + (b - avg[INTERCEPT]) * mu
    avg[COUNT] = k
    if avg[A] > WRITE_OUT * scale:
        write_out(average, v)


# the hooks: plain Python (what runs under NUMBA_DISABLE_JIT=1), and overloads that
# compile to nothing without an average

def track_change(average, j, dv):
    """Record that ``v[j]`` changed by ``dv`` during the current step."""
    if average is not None:
        _track_change(average, j, dv)


def write_out(average, v):
    """Store the average in ``aw`` alone (``a = 0``): ``v`` is about to be rescaled or reset."""
    if average is not None:
        _write_out(average, v)


def advance(average, t, v, scale, b):
    """Fold the iterate after global step ``t`` (weights ``scale * v``, intercept ``b``)."""
    if average is not None:
        _advance(average, t, v, scale, b)


@overload(track_change, **overload_options())
def _overload_track_change(average, j, dv):
    return (lambda average, j, dv: None) if _absent(average) else _track_change


@overload(write_out, **overload_options())
def _overload_write_out(average, v):
    return (lambda average, v: None) if _absent(average) else _write_out


@overload(advance, **overload_options())
def _overload_advance(average, t, v, scale, b):
    return (lambda average, t, v, scale, b: None) if _absent(average) else _advance
