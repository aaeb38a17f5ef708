"""One Hogwild! worker's share of an epoch for multiclass models.

The replica scheme of :mod:`.hogwild` applied to the d x K weights: each worker
steps on a private replica with the serial kernel (:func:`.multiclass.multiclass_epoch`,
without its L1 part) and every ``merge_every`` steps adds its change since the
last merge into the shared weights, row ``j`` of ``W`` weighted by ``shares[j]``
(the frequency-weighted shares of :func:`parallel_sgd.drivers.hogwild.merge_shares`),
the intercepts by ``intercept_share``; the L1 penalty of the replica's steps is
applied at the merge as one soft-thresholding step. No locks.

``shared = (V, scalars, q, b)`` is the shared model (its scale stays 1), a
replica has the same shape, its merge ``base = (base_v, base_b)``.
"""
import numpy as np

from .._jit import jit
from ..penalties import soft_threshold
from .handoff import STEPS, finish, next_job, private_copy, stretch
from .multiclass import SCALE, U, multiclass_epoch


@jit
def merge_multiclass_replica(shared, replica, base, shares, intercept_share, l1_threshold):
    """Add the replica's change since its last merge to the shared model; reload it."""
    V, _, _, shared_b = shared
    v, scalars, _, b = replica
    base_v, base_b = base
    scale = scalars[SCALE]
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
        fresh = shared_b[k] + intercept_share * (b[k] - base_b[k])
        shared_b[k] = fresh
        b[k] = fresh
        base_b[k] = fresh
    scalars[SCALE] = 1.0
    scalars[U] = 0.0


@jit
def load_multiclass_replica(shared, replica, base):
    """Make the replica and its merge base equal to the shared model."""
    V, _, _, shared_b = shared
    v, scalars, q, b = replica
    base_v, base_b = base
    for t in range(v.shape[0]):
        v[t] = base_v[t] = V[t]
        q[t] = 0.0
    for k in range(b.shape[0]):
        b[k] = base_b[k] = shared_b[k]
    scalars[SCALE] = 1.0
    scalars[U] = 0.0


@jit
def multiclass_replica_epoch(data, shared, replica, base, config, order, etas, merge_every,
                             shares, intercept_share, l1, scratch):
    """Serial steps on the worker's replica over rows ``order``, merging every
    ``merge_every`` steps and at the end; returns the steps done (fewer when a
    score stopped being finite). ``config`` must have no L1 part: the L1 strength
    ``l1`` is applied at merges. As in :func:`.hogwild.replica_epoch`, the replica's
    last merge reloaded it."""
    m = order.shape[0]
    size = stretch(m, merge_every)
    for start in range(0, m, size):
        end = min(m, start + size)
        done = multiclass_epoch(data, replica, config, order[start:end], etas[start:end],
                                scratch, None)
        merge_multiclass_replica(shared, replica, base, shares, intercept_share,
                                 l1 * etas[start:start + done].sum())
        if done < end - start:
            return start + done
    return m


def new_multiclass_replica(shared):
    """A worker's replica (loaded from the shared model), merge base and scratch."""
    V, scalars, _, b = shared
    replica = (private_copy(V, 0), private_copy(scalars), private_copy(V, 0), private_copy(b))
    base = (private_copy(V, 0), private_copy(b))
    scratch = (private_copy(np.zeros(b.shape[0])), private_copy(np.zeros(b.shape[0])))
    load_multiclass_replica(shared, replica, base)
    return replica, base, scratch


@jit
def multiclass_replica_serve(sync, worker, spins, rows, rng, etas, data, shared, replica, base,
                             config, merge_every, shares, intercept_share, l1, scratch):
    """Worker ``worker``'s calls of :func:`multiclass_replica_epoch`, as the team's
    hand-off deals them (see :func:`.hogwild.replica_serve`)."""
    while True:
        generation, kind, start, end, _ = next_job(sync, worker, rows, rng, spins)
        if generation == 0:
            return
        if kind != STEPS:
            raise ValueError("multiclass Hogwild! workers only take calls of SGD steps")
        done = multiclass_replica_epoch(data, shared, replica, base, config, rows[start:end],
                                        etas[start:end], merge_every, shares,
                                        intercept_share, l1, scratch)
        finish(sync, worker, generation, done)
