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
"""
import numpy as np

from .._jit import jit
from ..maths.penalties import soft_threshold
from .args import L1_TOTAL, SCALE, MergeBase, MulticlassModel, Replica, Scores
from .handoff import STEPS, finish, next_job, private_copy, stretch
from .multiclass import multiclass_epoch


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


def new_multiclass_replica(shared):
    """A worker's :class:`~.args.Replica` (loaded from the shared model), with scratch."""
    K = shared.b.shape[0]
    model = MulticlassModel(private_copy(shared.v, 0), private_copy(shared.b),
                            private_copy(shared.scalars), private_copy(shared.v, 0))
    base = MergeBase(private_copy(shared.v, 0), private_copy(shared.b), None)
    scores = Scores(private_copy(np.zeros(K)), private_copy(np.zeros(K)))
    replica = Replica(model, base, scores)
    load_multiclass_replica(shared, replica)
    return replica


@jit
def multiclass_replica_serve(channel, shard, data, shared, replica, config, merge):
    """The worker's calls of :func:`multiclass_replica_epoch`, as the team's hand-off
    deals them (see :func:`.hogwild.replica_serve`)."""
    while True:
        generation, kind, start, end, _ = next_job(channel, shard)
        if generation == 0:
            return
        if kind != STEPS:
            raise ValueError("multiclass Hogwild! workers only take calls of SGD steps")
        done = multiclass_replica_epoch(data, shared, replica, config, merge,
                                        shard.rows[start:end], shard.etas[start:end])
        finish(channel.sync, channel.worker, generation, done)
