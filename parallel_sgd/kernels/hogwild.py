"""One worker's share of a Hogwild! epoch, and the serialized baseline.

Measured on 2 cores with the 200k x 47k sparse problem: two threads running the
serial kernel on *private* weights take 0.52x the time of one thread; on
*shared* weights 1.1x -- slower than one thread. Each row writes ~75 weights, and
with a Zipf feature popularity almost every cache line of the weight vector is
written by both cores all the time. Keeping only the 512 most popular features
private still left 2 threads at 0.87x of one. So each worker steps on a private
replica of the model and merges into the shared weights every ``merge_every``
steps (the replica scheme of HOGWILD++, Zhang, Hsieh & Akella 2016, with one
replica per worker):

    shared += replica - base;  replica = base = shared

so the shared model receives every worker's updates, delayed by at most
``merge_every`` of its steps, and each worker starts again from everybody's
progress. A replica runs the serial kernel (:func:`.sgd.sgd_epoch`) without its
L1 part, which the merge applies (see :func:`merge_replica`).

The intercept, which every row moves, is the exception: its changes are
averaged over the workers, not summed. Summed, the delayed changes of
workers that all push it the same way overshoot; measured on the 200k problem
with 2 workers and merges every 4096 steps, the run then blew up to a relative
suboptimality of 1.7 by epoch 4, and with the intercept averaged it tracked the
serial run (4.5e-3 vs 1.7e-3 at epoch 4, within seed noise). Averaging every
coordinate was stable too but converged 3x slower by epoch 5. Merges hold a
spinlock for their O(d) work; the steps themselves take no lock.

``locked_epoch`` is the opposite baseline: every step on the shared model under
one global lock (the paper's round-robin/AIG comparison).
"""
import numpy as np

from .._jit import jit
from ..penalties import soft_threshold
from .atomics import acquire, release
from .sgd import B, SCALE, U, sgd_epoch


@jit
def merge_replica(shared, replica, base, lock, intercept_share, state_share, l1_threshold):
    """Add the replica's change since its last merge to the shared model; reload it.

    The intercept's change is added times ``intercept_share`` (1 / n_workers): every
    row moves the intercept, so workers starting from the same stale value push it
    the same way and their summed changes overshoot n_workers-fold. The L1 penalty
    of the replica's steps is applied here, to the merged weights, as one
    proximal step with threshold ``l1 * sum(eta)``: applied on each replica, its
    clipping at zero does not add up (two replicas each clipping a weight of 0.1
    to 0 would merge to -0.1). The update rule's state is merged with weight
    ``state_share``: 1 for running sums (Adagrad), 1 / n_workers for moving averages
    (momentum, RMSProp, Adam), whose summed changes could turn an average of
    squares negative.
    """
    V, shared_scalars, _, shared_state = shared
    v, scalars, q, state = replica
    base_v, base_scalars, base_state = base
    scale = scalars[SCALE]
    acquire(lock)
    for j in range(v.shape[0]):
        fresh = V[j] + (v[j] * scale - base_v[j])
        if l1_threshold > 0.0:
            fresh = soft_threshold(fresh, l1_threshold)
        V[j] = fresh
        v[j] = fresh
        base_v[j] = fresh
        q[j] = 0.0
    fresh = shared_scalars[B] + intercept_share * (scalars[B] - base_scalars[B])
    shared_scalars[B] = fresh
    scalars[B] = fresh
    base_scalars[B] = fresh
    for slot in range(state.shape[0]):
        for j in range(state.shape[1]):
            fresh = shared_state[slot, j] + state_share * (state[slot, j] - base_state[slot, j])
            shared_state[slot, j] = fresh
            state[slot, j] = fresh
            base_state[slot, j] = fresh
    release(lock)
    scalars[SCALE] = 1.0
    scalars[U] = 0.0


@jit
def load_replica(shared, replica, base, lock):
    """Make the replica and its merge base equal to the shared model."""
    V, shared_scalars, _, shared_state = shared
    v, scalars, q, state = replica
    base_v, base_scalars, base_state = base
    acquire(lock)
    for j in range(v.shape[0]):
        v[j] = base_v[j] = V[j]
        q[j] = 0.0
    scalars[B] = base_scalars[B] = shared_scalars[B]
    for slot in range(state.shape[0]):
        for j in range(state.shape[1]):
            state[slot, j] = base_state[slot, j] = shared_state[slot, j]
    release(lock)
    scalars[SCALE] = 1.0
    scalars[U] = 0.0


@jit
def replica_epoch(data, shared, replica, base, config, order, etas, t_start, merge_every, lock,
                  intercept_share, state_share, l1):
    """Serial steps on the worker's replica over rows ``order``, merging every
    ``merge_every`` steps and at the end; returns the steps done (fewer when a
    prediction stopped being finite). The replica is first reloaded from the
    shared model, which the other workers' last merges have changed. ``config``
    must have no L1 part: the L1 strength ``l1`` is applied at merges."""
    load_replica(shared, replica, base, lock)
    m = order.shape[0]
    for start in range(0, m, merge_every):
        end = min(m, start + merge_every)
        done = sgd_epoch(data, replica, config, order[start:end], etas[start:end],
                         t_start + start)
        merge_replica(shared, replica, base, lock, intercept_share, state_share,
                      l1 * etas[start:start + done].sum())
        if done < end - start:
            return start + done
    return m


@jit
def locked_epoch(data, shared, config, order, etas, t_start, lock):
    """Serial steps on the shared model, each under the global lock; returns steps done."""
    for s in range(order.shape[0]):
        acquire(lock)
        done = sgd_epoch(data, shared, config, order[s:s + 1], etas[s:s + 1], t_start + s)
        release(lock)
        if done == 0:
            return s
    return order.shape[0]


def new_replica(shared):
    """A worker's replica and merge base, shaped like the shared model.

    Separate allocations, so two workers never write the same cache line.
    """
    V, shared_scalars, _, shared_state = shared
    replica = (np.zeros_like(V), shared_scalars.copy(), np.zeros_like(V),
               np.zeros_like(shared_state))
    base = (np.zeros_like(V), shared_scalars.copy(), np.zeros_like(shared_state))
    return replica, base
