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

Changes are not simply summed, though. Workers that start from the same stale
weights and touch the same coordinate all push it the same way, so their summed
changes overshoot up to n_workers-fold. A merge therefore adds coordinate j's
change times ``shares[j] = 1 / (1 + (n_workers - 1) * f_j)``, where ``f_j`` is the
fraction of rows where feature j is non-zero: rare features are summed, the
intercept (f = 1) and dense features are averaged over the workers. Measured
with 2 workers after 4 epochs (relative suboptimality, median of 3 seeds; serial
/ summed / weighted): the 200k sparse problem 1.7e-3 / 5.6e-3 / 5.7e-3; dense
200k x 100 1.4e-1 / 1.4e-1 / 6.1e-2; a9a 9.9e-2 / 1.2e-1 / 4.3e-2. With the
intercept summed too, the sparse run blew up (relative suboptimality 1.7 by
epoch 4, merges every 4096 steps).

Merges take no lock either (``lock=None``): two workers merging at once sweep
the weight vector from different starting times, so they rarely write the same
coordinate at the same moment, and a lost addition costs what a lost Hogwild
update costs. Measured on 16 cores, merges under one lock serialized the
workers (16 threads: 3.8x the speed of one).

``locked_epoch`` is the opposite baseline: every step on the shared model under
one global lock (the paper's round-robin/AIG comparison).
"""

from .._jit import jit
from ..penalties import soft_threshold
from .atomics import acquire, release
from .handoff import MARGINS, finish, next_job, private_copy, stretch
from .linalg import margins_of_rows
from .sgd import B, SCALE, U, sgd_epoch


@jit
def merge_replica(shared, replica, base, lock, shares, intercept_share, state_share,
                  l1_threshold):
    """Add the replica's change since its last merge to the shared model; reload it.

    Coordinate j's change is added times ``shares[j]``, the intercept's times
    ``intercept_share`` (see the module docstring). The L1 penalty
    of the replica's steps is applied here, to the merged weights, as one
    proximal step with threshold ``l1 * sum(eta)``: applied on each replica, its
    clipping at zero does not add up (two replicas each clipping a weight of 0.1
    to 0 would merge to -0.1). The update rule's state is merged with weight
    ``state_share``: 1 for running sums (Adagrad), 1 / n_workers for moving averages
    (momentum, RMSProp, Adam), whose summed changes could turn an average of
    squares negative. Even a share can: when another worker merged twice since this
    one's last reload, RMSProp's average went negative and the run NaN, so a value
    that is >= 0 in the shared model, the replica and the base is clipped at 0.
    (Blending ``shared += share * (replica - shared)`` instead never goes negative, but
    mixes in stale values: Adam's suboptimality after 6 epochs was 3.3e-3 against
    0.7-2.4e-3.)
    """
    V, shared_scalars, _, shared_state = shared
    v, scalars, _, state = replica
    base_v, base_scalars, base_state = base
    scale = scalars[SCALE]
    acquire(lock)
    for j in range(v.shape[0]):
        fresh = V[j] + shares[j] * (v[j] * scale - base_v[j])
        if l1_threshold > 0.0:
            fresh = soft_threshold(fresh, l1_threshold)
        V[j] = fresh
        v[j] = fresh
        base_v[j] = fresh
    fresh = shared_scalars[B] + intercept_share * (scalars[B] - base_scalars[B])
    shared_scalars[B] = fresh
    scalars[B] = fresh
    base_scalars[B] = fresh
    for slot in range(state.shape[0]):
        for j in range(state.shape[1]):
            before, mine, old = shared_state[slot, j], state[slot, j], base_state[slot, j]
            fresh = before + state_share * (mine - old)
            if fresh < 0.0 <= min(before, mine, old):
                fresh = 0.0  # an average of squares stays >= 0 (see above)
            shared_state[slot, j] = fresh
            state[slot, j] = fresh
            base_state[slot, j] = fresh
    release(lock)
    scalars[SCALE] = 1.0
    scalars[U] = 0.0


@jit
def load_replica(shared, replica, base):
    """Make the replica and its merge base equal to the shared model."""
    V, shared_scalars, _, shared_state = shared
    v, scalars, q, state = replica
    base_v, base_scalars, base_state = base
    for j in range(v.shape[0]):
        v[j] = base_v[j] = V[j]
        q[j] = 0.0
    scalars[B] = base_scalars[B] = shared_scalars[B]
    for slot in range(state.shape[0]):
        for j in range(state.shape[1]):
            state[slot, j] = base_state[slot, j] = shared_state[slot, j]
    scalars[SCALE] = 1.0
    scalars[U] = 0.0


@jit
def replica_epoch(data, shared, replica, base, config, order, etas, t_start, merge_every, lock,
                  shares, intercept_share, state_share, l1):
    """Serial steps on the worker's replica over rows ``order``, merging every
    ``merge_every`` steps and at the end; returns the steps done (fewer when a
    prediction stopped being finite). ``config`` must have no L1 part (so the
    replica's ``q`` is never used): the L1 strength ``l1`` is applied at merges.

    The replica is not reloaded first: its last merge reloaded it, so it misses only
    the other workers' merges since -- the staleness it has between merges anyway.
    Reloading every call cost news20 (62k weights) 38 us on top of the 4 merges of
    66 us each in a worker's 1.4 ms half epoch."""
    m = order.shape[0]
    size = stretch(m, merge_every)
    for start in range(0, m, size):
        end = min(m, start + size)
        done = sgd_epoch(data, replica, config, order[start:end], etas[start:end],
                         t_start + start)
        merge_replica(shared, replica, base, lock, shares, intercept_share, state_share,
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
    """A worker's replica and merge base, loaded from the shared model, each array on
    cache lines of its own (:func:`.handoff.private_copy`)."""
    V, shared_scalars, _, shared_state = shared
    replica = (private_copy(V, 0), private_copy(shared_scalars), private_copy(V, 0),
               private_copy(shared_state, 0))
    base = (private_copy(V, 0), private_copy(shared_scalars), private_copy(shared_state, 0))
    load_replica(shared, replica, base)
    return replica, base


@jit
def probe_margins(data, start, end, probe):
    """A ``MARGINS`` call: ``out[i] = x_i . w + b`` for rows ``start <= i < end`` (in
    storage order: the workers' own rows, in their shuffled order, took 44 ms on the
    200k x 47k problem against 11 ms), where ``probe = (point, out)`` and ``point``
    holds ``w`` then ``b``."""
    point, out = probe
    d = point.shape[0] - 1
    margins_of_rows(data[0], data[1], data[2], start, end, point[:d], point[d], out)
    return end - start


@jit
def replica_serve(sync, worker, spins, rows, rng, etas, probe, data, shared, replica, base,
                  config, merge_every, lock, shares, intercept_share, state_share, l1):
    """Worker ``worker``'s calls, as the team's hand-off (:mod:`.handoff`) deals them,
    until none comes within ``spins`` waits: :func:`replica_epoch` on its own ``rows``
    and ``etas`` -- or, with ``replica=None`` (the global-lock baseline),
    :func:`locked_epoch` -- or :func:`probe_margins` of a block of rows."""
    while True:
        generation, kind, start, end, t_start = next_job(sync, worker, rows, rng, spins)
        if generation == 0:
            return
        if kind == MARGINS:
            done = probe_margins(data, start, end, probe)
        elif replica is None:
            done = locked_epoch(data, shared, config, rows[start:end], etas[start:end],
                                t_start, lock)
        else:
            done = replica_epoch(data, shared, replica, base, config, rows[start:end],
                                 etas[start:end], t_start, merge_every, lock, shares,
                                 intercept_share, state_share, l1)
        finish(sync, worker, generation, done)
