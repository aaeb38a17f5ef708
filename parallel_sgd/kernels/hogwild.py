"""One worker's share of a Hogwild! epoch, and the serialized baseline.

Each worker steps on a private replica of the model and merges into the shared
weights every ``merge.every`` steps (the replica scheme of HOGWILD++, Zhang,
Hsieh & Akella 2016, with one replica per worker): on shared weights, rows with
a Zipf feature popularity make both cores write the same cache lines all the
time, and two threads ran slower than one (BENCHMARKS.md, Hogwild!). A merge is

    shared += replica - base;  replica = base = shared

so the shared model receives every worker's updates, delayed by at most
``merge.every`` of its steps, and each worker starts again from everybody's
progress. A replica runs the serial kernel (:func:`.sgd.sgd_epoch`) without its
L1 part, which the merge applies (see :func:`merge_replica`).

Changes are not simply summed, though. Workers that start from the same stale
weights and touch the same coordinate all push it the same way, so their summed
changes overshoot up to n_workers-fold. A merge therefore adds coordinate j's
change times ``merge.shares[j] = 1 / (1 + (n_workers - 1) * f_j)``, where ``f_j``
is the fraction of rows where feature j is non-zero: rare features are summed,
the intercept (f = 1) and dense features are averaged over the workers.

Merges take no lock either (``merge.lock`` is None): two workers merging at once
sweep the weight vector from different starting times, so they rarely write the
same coordinate at the same moment, and a lost addition costs what a lost
Hogwild update costs; a lock serialized the workers.

``locked_epoch`` is the opposite baseline: every step on the shared model under
one global lock (the paper's round-robin/AIG comparison).

On wide data a full replica's O(d) merges cost more than the steps between
them; there a worker keeps only the head of the features private and writes
the tail in place (:mod:`.split_replica`, ``head`` not None below).
"""
import numpy as np
from numba import types
from numba.extending import overload

from .._jit import jit, overload_options
from ..maths.penalties import soft_threshold
from .args import L1_TOTAL, SCALE, LinearModel, MergeBase, Replica
from .atomics import acquire, release
from .handoff import MARGINS, finish, next_job, private_copy, stretch
from .linalg import margins_of_rows
from .sgd import sgd_epoch
from .split_replica import merged_state, split_replica_epoch


@jit
def merge_replica(shared, replica, merge, l1_threshold):
    """Add the replica's change since its last merge to the shared model; reload it.

    Coordinate j's change is added times ``merge.shares[j]``, the intercept's times
    ``merge.intercept_share`` (see the module docstring). The L1 penalty of the
    replica's steps is applied here, to the merged weights, as one proximal step
    with threshold ``l1_threshold = l1 * sum(eta)``: applied on each replica, its
    clipping at zero does not add up (two replicas each clipping a weight of 0.1
    to 0 would merge to -0.1). The update rule's state is merged with weight
    ``merge.state_share``: 1 for running sums (Adagrad), 1 / n_workers for moving
    averages (momentum, RMSProp, Adam), whose summed changes could turn an average
    of squares negative. Even a share can: when another worker merged twice since
    this one's last reload, RMSProp's average went negative and the run NaN, so a
    value that is >= 0 in the shared model, the replica and the base is clipped at
    0. (Blending ``shared += share * (replica - shared)`` never goes negative, but
    mixes in stale values, which slowed Adam down.)
    """
    model, base = replica.model, replica.base
    V, v, base_v, shares = shared.v, model.v, base.v, merge.shares
    scale = model.scalars[SCALE]
    acquire(merge.lock)
    for j in range(v.shape[0]):
        fresh = V[j] + shares[j] * (v[j] * scale - base_v[j])
        if l1_threshold > 0.0:
            fresh = soft_threshold(fresh, l1_threshold)
        V[j] = fresh
        v[j] = fresh
        base_v[j] = fresh
    fresh = shared.b[0] + merge.intercept_share * (model.b[0] - base.b[0])
    shared.b[0] = fresh
    model.b[0] = fresh
    base.b[0] = fresh
    shared_state, state, base_state = shared.rule_state, model.rule_state, base.rule_state
    for slot in range(state.shape[0]):
        for j in range(state.shape[1]):
            fresh = merged_state(shared_state[slot, j], state[slot, j], base_state[slot, j],
                                 merge.state_share)
            shared_state[slot, j] = fresh
            state[slot, j] = fresh
            base_state[slot, j] = fresh
    release(merge.lock)
    model.scalars[SCALE] = 1.0
    model.scalars[L1_TOTAL] = 0.0


@jit
def load_replica(shared, replica):
    """Make the replica and its merge base equal to the shared model."""
    model, base = replica.model, replica.base
    V, v, base_v = shared.v, model.v, base.v
    for j in range(v.shape[0]):
        v[j] = base_v[j] = V[j]
    model.b[0] = base.b[0] = shared.b[0]
    shared_state, state, base_state = shared.rule_state, model.rule_state, base.rule_state
    for slot in range(state.shape[0]):
        for j in range(state.shape[1]):
            state[slot, j] = base_state[slot, j] = shared_state[slot, j]
    model.scalars[SCALE] = 1.0
    model.scalars[L1_TOTAL] = 0.0


@jit
def replica_epoch(data, shared, replica, config, merge, order, etas, t_start):
    """Serial steps on the worker's replica over rows ``order``, merging every
    ``merge.every`` steps (in equal stretches, :func:`.handoff.stretch`) and at the
    end; returns the steps done (fewer when a prediction stopped being finite).
    ``config`` must have no L1 part (so the replica's ``q`` is never used): the L1
    strength ``merge.l1`` is applied at merges.

    The replica is not reloaded first: its last merge reloaded it, so it misses only
    the other workers' merges since -- the staleness it has between merges anyway.
    """
    m = order.shape[0]
    size = stretch(m, merge.every)
    for start in range(0, m, size):
        end = min(m, start + size)
        done = sgd_epoch(data, replica.model, config, order[start:end], etas[start:end],
                         t_start + start)
        merge_replica(shared, replica, merge, merge.l1 * etas[start:start + done].sum())
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


def new_replica(shared, head=None):
    """A worker's :class:`~.args.Replica`, each array on cache lines of its own
    (:func:`.handoff.private_copy`): of the whole model, loaded from ``shared``, or with
    ``head`` (:class:`~.args.Head`) of the head only, loaded at each call. Its ``q`` is
    empty: replicas step without L1."""
    if head is None:
        weights, state = shared.v, shared.rule_state
    else:
        weights = np.zeros(head.size)
        state = np.zeros((shared.rule_state.shape[0], head.size + 1), shared.rule_state.dtype)
    model = LinearModel(private_copy(weights, 0), private_copy(shared.b),
                        private_copy(np.ones(4)), private_copy(weights[:0]),
                        private_copy(state, 0))
    base = MergeBase(private_copy(weights, 0), private_copy(shared.b), private_copy(state, 0))
    replica = Replica(model, base, None)
    if head is None:
        load_replica(shared, replica)
    return replica


def replica_steps(data, shared, replica, config, merge, head, order, etas, t_start):
    """A worker's steps over ``order``: :func:`replica_epoch` on a full replica (``head``
    None), else :func:`.split_replica.split_replica_epoch`; returns the steps done."""
    if head is None:
        return replica_epoch(data, shared, replica, config, merge, order, etas, t_start)
    return split_replica_epoch(data, shared, replica, config, merge, head, order, etas,
                               t_start)


@overload(replica_steps, **overload_options())
def _replica_steps(data, shared, replica, config, merge, head, order, etas, t_start):
    if isinstance(head, types.NoneType):
        def full(data, shared, replica, config, merge, head, order, etas, t_start):
            return replica_epoch(data, shared, replica, config, merge, order, etas, t_start)
        return full

    def split(data, shared, replica, config, merge, head, order, etas, t_start):
        return split_replica_epoch(data, shared, replica, config, merge, head, order, etas,
                                   t_start)
    return split


@jit
def probe_margins(data, start, end, probe):
    """A ``MARGINS`` call: ``probe.out[i] = x_i . w + b`` for rows ``start <= i < end``,
    in storage order (a block per worker reads memory sequentially; the workers' own
    shuffled rows would not), at ``probe.point`` (``w`` then ``b``)."""
    point = probe.point
    d = point.shape[0] - 1
    margins_of_rows(data.X, data.indices, data.indptr, start, end, point[:d], point[d],
                    probe.out)
    return end - start


@jit
def replica_serve(channel, shard, probe, data, shared, replica, config, merge, head):
    """The worker's calls, as the team's hand-off (:mod:`.handoff`) deals them through
    ``channel``, until none comes within ``channel.spins`` waits: :func:`replica_steps`
    on its own rows and step sizes (``shard``) -- or, with ``replica=None`` (the
    global-lock baseline), :func:`locked_epoch` -- or :func:`probe_margins` of a block
    of rows."""
    while True:
        generation, kind, start, end, t_start = next_job(channel, shard)
        if generation == 0:
            return
        rows, etas = shard.rows[start:end], shard.etas[start:end]
        if kind == MARGINS:
            done = probe_margins(data, start, end, probe)
        elif replica is None:
            done = locked_epoch(data, shared, config, rows, etas, t_start, merge.lock)
        else:
            done = replica_steps(data, shared, replica, config, merge, head, rows, etas,
                                 t_start)
        finish(channel.sync, channel.worker, generation, done)
