"""One Hogwild! worker's share of an epoch for multiclass models.

The replica scheme of :mod:`.hogwild` applied to the d x K weights: each worker
steps on a private replica with the serial kernel (:func:`.multiclass.multiclass_epoch`,
without its L1 part) and every ``merge.every`` steps adds its change since the
last merge into the shared weights, row ``j`` of ``W`` weighted by
``merge.shares[j]``, the intercepts by ``merge.intercept_share``; the L1 penalty
of the replica's steps is applied at the merge as one soft-thresholding step.
No locks.

``shared`` is a :class:`~.args.MulticlassModel` (its scale stays 1); a
replica (:class:`~.args.Replica`) holds a model of the same shape, its merge
base (weights and intercepts) and its scratch scores.

On wide data a merge's O(dK) costs more than the steps between merges. There a
worker keeps private only the head of the features (the H most frequent, labeled
``0 .. H-1``, whose K weights every other row writes) and its K intercepts, and
writes the rest in place into the shared weights, as the binary driver's workers
do (:mod:`.split_replica`): the shared ``W = S * V``, the L2 shrink carried by the
shared scale ``S`` (a worker's own shrink ``a`` since its last merge is applied to
``S`` at the merge, O(1)), L1 the lazy cumulative penalty against the shared
total on the tail and a proximal step per merge on the head (:func:`split_epoch`;
``head`` not None below). A merge costs O(HK).
"""
import numpy as np
from numba import types
from numba.extending import overload

from .._jit import jit, overload_options
from ..maths.multiclass_losses import SOFTMAX, multiclass_loss_grad
from ..maths.penalties import soft_threshold
from .args import L1_TOTAL, S_REF, SCALE, U_REF, MergeBase, MulticlassModel, Replica, Scores
from .handoff import STEPS, finish, next_job, private_copy, stretch
from .multiclass import finish_scores, multiclass_epoch, step_intercepts
from .rows import prefetch_ahead, prefetch_weights_ahead, row_bounds, row_entry, sample_weight
from .split_replica import MIN_FACTOR, merge_intercepts, merge_scale, tail_l1


@jit
def merge_multiclass_replica(shared, replica, merge, l1_threshold):
    """Add the replica's change since its last merge to the shared model; reload it."""
    model, base = replica.model, replica.base
    V, v, base_v, shares = shared.v, model.v, base.v, merge.shares
    b, base_b, shared_b = model.b, base.b, shared.b
    scale = model.scalars[SCALE]
    K = b.shape[0]
    for j in range(shares.shape[0]):
        share = shares[j]
        for t in range(j * K, j * K + K):
            fresh = V[t] + share * (v[t] * scale - base_v[t])
            if l1_threshold > 0.0:
                fresh = soft_threshold(fresh, l1_threshold)
            V[t] = fresh
            v[t] = fresh
            base_v[t] = fresh
    for k in range(K):
        fresh = shared_b[k] + merge.intercept_share * (b[k] - base_b[k])
        shared_b[k] = fresh
        b[k] = fresh
        base_b[k] = fresh
    model.scalars[SCALE] = 1.0
    model.scalars[L1_TOTAL] = 0.0


@jit
def load_multiclass_replica(shared, replica):
    """Make the replica and its merge base equal to the shared model."""
    model, base = replica.model, replica.base
    V, v, q, base_v = shared.v, model.v, model.q, base.v
    for t in range(v.shape[0]):
        v[t] = base_v[t] = V[t]
        q[t] = 0.0
    for k in range(model.b.shape[0]):
        model.b[k] = base.b[k] = shared.b[k]
    model.scalars[SCALE] = 1.0
    model.scalars[L1_TOTAL] = 0.0


@jit
def multiclass_replica_epoch(data, shared, replica, config, merge, order, etas):
    """Serial steps on the worker's replica over rows ``order``, merging every
    ``merge.every`` steps and at the end; returns the steps done (fewer when a
    score stopped being finite). ``config`` must have no L1 part: the L1 strength
    ``merge.l1`` is applied at merges. As in :func:`.hogwild.replica_epoch`, the
    replica's last merge reloaded it."""
    m = order.shape[0]
    size = stretch(m, merge.every)
    for start in range(0, m, size):
        end = min(m, start + size)
        done = multiclass_epoch(data, replica.model, config, order[start:end],
                                etas[start:end], replica.scores, None)
        merge_multiclass_replica(shared, replica, merge, merge.l1 * etas[start:start + done].sum())
        if done < end - start:
            return start + done
    return m


@jit
def split_steps(data, shared, replica, config, l1, order, etas):
    """The serial kernel's steps (:func:`.multiclass.multiclass_epoch`) on the worker's
    head replica (features labeled below its size H, weights ``h``) and, for the
    others, in place into the shared weights ``S * V``; in this worker's view
    ``sigma * h`` and ``sigma * V`` (``sigma = a * S_ref``, see :mod:`.split_replica`),
    with its private intercepts; L1 (strength ``l1``) lazily on the tail, against the
    shared total (the head's at merges). Returns the steps done."""
    X, indices, indptr, y, weights = data
    V, Q = shared.v, shared.q
    model = replica.model
    h, b, scalars = model.v, model.b, model.scalars
    p, g = replica.scores
    K = b.shape[0]
    size = h.shape[0] // K
    loss_code, l2, intercept_rate = config.loss, config.l2, config.intercept_rate
    a, l1_local, u_ref = scalars[SCALE], scalars[L1_TOTAL], scalars[U_REF]
    sigma = a * scalars[S_REF]
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        prefetch_weights_ahead(data, order, s, V, K)
        i = order[s]
        eta = etas[s]
        lo, hi = row_bounds(X, indptr, i)
        for k in range(K):
            p[k] = 0.0
        for e in range(lo, hi):
            j, x = row_entry(X, indices, i, e)
            weights_of = h if j < size else V
            base = j * K
            for k in range(K):
                p[k] += weights_of[base + k] * x
        if not finish_scores(p, sigma, b):
            done = s
            break
        s_i = sample_weight(weights, i)
        value = multiclass_loss_grad(loss_code, p, y[i], g)
        if l2 > 0.0:
            factor = max(1.0 - eta * l2, MIN_FACTOR)
            a *= factor
            sigma *= factor
        l1_local += eta * l1
        if value > 0.0 or loss_code == SOFTMAX:  # a hinge within its margin moves nothing
            step_intercepts(g, b, -eta * s_i, intercept_rate, sigma)
            for e in range(lo, hi):
                j, x = row_entry(X, indices, i, e)
                weights_of = h if j < size else V
                base = j * K
                for k in range(K):
                    weights_of[base + k] += g[k] * x
        if l1 > 0.0:
            for e in range(lo, hi):
                j, x = row_entry(X, indices, i, e)
                if j >= size and x != 0.0:
                    for t in range(j * K, j * K + K):
                        tail_l1(V, Q, t, sigma, u_ref + l1_local)
    scalars[SCALE], scalars[L1_TOTAL] = a, l1_local
    return done


@jit
def load_head(shared, replica):
    """Start a worker from the shared head (``V[:H*K]``), intercepts, scale and L1 total."""
    model, base = replica.model, replica.base
    V, h, base_h = shared.v, model.v, base.v
    for t in range(h.shape[0]):
        h[t] = base_h[t] = V[t]
    for k in range(model.b.shape[0]):
        model.b[k] = base.b[k] = shared.b[k]
    scalars = model.scalars
    scalars[SCALE], scalars[L1_TOTAL] = 1.0, 0.0
    scalars[S_REF], scalars[U_REF] = shared.scalars[SCALE], shared.scalars[L1_TOTAL]


@jit
def merge_head(shared, replica, merge, head, l1_threshold):
    """:func:`.split_replica.merge_head` for K classes: the worker's shrink into the
    shared scale (O(1), under ``head.lock``), its head's change into ``V[:H*K]``
    (row ``j`` times ``merge.shares[j]``, then one proximal step of ``l1_threshold``)
    and its intercepts' change, each reloaded: O(HK + K)."""
    model, base = replica.model, replica.base
    ratio, s_new = merge_scale(shared.scalars, model.scalars, head.lock)
    threshold = l1_threshold / s_new
    V, h, base_h, shares = shared.v, model.v, base.v, merge.shares
    K = model.b.shape[0]
    for t in range(h.shape[0]):
        fresh = V[t] + shares[t // K] * ratio * (h[t] - base_h[t])
        if threshold > 0.0:
            fresh = soft_threshold(fresh, threshold)
        V[t] = fresh
        h[t] = base_h[t] = V[t]
    merge_intercepts(shared.b, model.b, base.b, merge.intercept_share)


@jit
def split_epoch(data, shared, replica, config, merge, head, order, etas):
    """:func:`multiclass_replica_epoch` for a head replica (of size 0: every write in
    place): reload it (the leader may have rescaled the shared model between
    calls), then steps over ``order``, merging every ``merge.every`` steps (in equal
    stretches) and at the end; returns the steps done."""
    load_head(shared, replica)
    m = order.shape[0]
    size = stretch(m, merge.every)
    for start in range(0, m, size):
        end = min(m, start + size)
        done = split_steps(data, shared, replica, config, merge.l1, order[start:end],
                           etas[start:end])
        merge_head(shared, replica, merge, head, merge.l1 * etas[start:start + done].sum())
        if done < end - start:
            return start + done
    return m


def new_multiclass_replica(shared, head=None):
    """A worker's :class:`~.args.Replica` with scratch scores: of the whole model, loaded
    from ``shared``, or with ``head`` (:class:`~.args.Head`) of the head's ``H x K``
    weights only (none: every write in place), loaded at each call."""
    K = shared.b.shape[0]
    weights = shared.v if head is None else shared.v[:head.size * K]
    scalars = shared.scalars if head is None else np.ones(4)
    model = MulticlassModel(private_copy(weights, 0), private_copy(shared.b),
                            private_copy(scalars), private_copy(weights, 0))
    base = MergeBase(private_copy(weights, 0), private_copy(shared.b), None)
    scores = Scores(private_copy(np.zeros(K)), private_copy(np.zeros(K)))
    replica = Replica(model, base, scores)
    if head is None:
        load_multiclass_replica(shared, replica)
    return replica


def multiclass_steps(data, shared, replica, config, merge, head, order, etas):
    """A worker's steps over ``order``: :func:`multiclass_replica_epoch` on a full replica
    (``head`` None), else :func:`split_epoch`; returns the steps done."""
    if head is None:
        return multiclass_replica_epoch(data, shared, replica, config, merge, order, etas)
    return split_epoch(data, shared, replica, config, merge, head, order, etas)


@overload(multiclass_steps, **overload_options())
def _multiclass_steps(data, shared, replica, config, merge, head, order, etas):
    if isinstance(head, types.NoneType):
        def full(data, shared, replica, config, merge, head, order, etas):
            return multiclass_replica_epoch(data, shared, replica, config, merge, order, etas)
        return full

    def in_place(data, shared, replica, config, merge, head, order, etas):
        return split_epoch(data, shared, replica, config, merge, head, order, etas)
    return in_place


@jit
def multiclass_replica_serve(channel, shard, data, shared, replica, config, merge, head):
    """The worker's calls of :func:`multiclass_steps`, as the team's hand-off deals them
    (see :func:`.hogwild.replica_serve`)."""
    while True:
        generation, kind, start, end, _ = next_job(channel, shard)
        if generation == 0:
            return
        if kind != STEPS:
            raise ValueError("multiclass Hogwild! workers only take calls of SGD steps")
        done = multiclass_steps(data, shared, replica, config, merge, head,
                                shard.rows[start:end], shard.etas[start:end])
        finish(channel.sync, channel.worker, generation, done)
