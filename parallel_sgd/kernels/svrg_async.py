"""Asynchronous SVRG inner loops: the workers of the Hogwild! team (:mod:`.handoff`)
stepping at once on one shared iterate.

Without L1 the shared iterate is the serial loop's lazy form, ``w = P (psi - c R)``
(:mod:`.svrg`), and a worker keeps private only a *head* of ``H`` features (labels
``0 .. H-1``, the most frequent ones; ``H = d`` is a full replica, ``H = 0`` none),
writing the others' ``psi`` in place, as Hogwild! itself does
(:mod:`.split_replica` for the SGD kernels). The snapshot term and the L2 shrink,
which move every coordinate on every step, stay two scalars: a worker advances
its own view of ``P`` and ``R`` step by step, and a merge (:func:`merge_head`)
hands its steps to the shared ones in O(1),

    P <- P a^s,   R <- R + (R_view - R_ref) P_ref / P     (under ``lock``)

which is exactly what ``s`` more steps do to every coordinate no row touched;
then ``psi[:H] += share * (P_ref / P) (h - base)`` and the intercept's change, in
O(H). So a merge costs O(H) + O(1), never O(d), and the optimum stays a fixed
point (every step's change is zero there).

With L1 the proximal steps do not compose into two scalars, and each worker runs
the serial proximal loop on a full replica (:func:`full_replica_steps`), merged in
O(d).
"""
import numpy as np

from .._jit import inlined_jit, jit
from .args import REF_P, REF_R, VIEW_P, VIEW_R, P, R
from .atomics import acquire, release
from .handoff import finish, next_job, stretch
from .rows import prefetch_ahead, prefetch_weights_ahead, row_bounds, row_entry
from .split_replica import merge_intercepts, select
from .svrg import inner_steps, variance_reduced, weight_now


@jit
def load_head(shared, replica):
    """Start the worker from the shared iterate: its head, intercept and view of P, R."""
    psi, h, base = shared.psi, replica.h, replica.base
    for t in range(h.shape[0]):
        h[t] = base[t] = psi[t]
    replica.b[0] = replica.base_b[0] = shared.b[0]
    scalars = replica.scalars
    scalars[VIEW_P] = scalars[REF_P] = shared.scalars[P]
    scalars[VIEW_R] = scalars[REF_R] = shared.scalars[R]


@inlined_jit
def merge_scalars(shared_scalars, scalars, lock):
    """A merge's O(1) part, under ``lock``: the worker's steps since its last merge move
    the shared ``P`` and ``R`` as they moved its view; the worker restarts from the
    result. Returns ``P_ref / P_old``, which turns the worker's ``psi`` changes into
    the units of the shared ``P`` before this merge."""
    acquire(lock)
    p_old = shared_scalars[P]
    ratio = scalars[REF_P] / p_old
    p_new = p_old * (scalars[VIEW_P] / scalars[REF_P])
    r_new = shared_scalars[R] + (scalars[VIEW_R] - scalars[REF_R]) * ratio
    shared_scalars[P] = p_new
    shared_scalars[R] = r_new
    release(lock)
    scalars[VIEW_P] = scalars[REF_P] = p_new
    scalars[VIEW_R] = scalars[REF_R] = r_new
    return ratio


@jit
def merge_head(shared, replica, merge, lock):
    """Hand the worker's steps to the shared P and R, add its head's change (times
    ``merge.shares``) and its intercept's (times ``merge.intercept_share``), and
    reload both: O(H) + O(1)."""
    ratio = merge_scalars(shared.scalars, replica.scalars, lock)
    psi, h, base, shares = shared.psi, replica.h, replica.base, merge.shares
    for t in range(h.shape[0]):
        fresh = psi[t] + shares[t] * ratio * (h[t] - base[t])
        psi[t] = fresh
        h[t] = base[t] = fresh
    merge_intercepts(shared.b, replica.b, replica.base_b, merge.intercept_share)


@jit
def head_inner_l2(data, shared, replica, snapshot, config, order, ratios):
    """The serial :func:`.svrg.inner_l2` steps over rows ``order`` on the head replica
    (labels below its size) and the shared tail, with the worker's own view of P and
    R; returns the steps done."""
    X, indices, indptr, y, weights = data
    psi, c, h = shared.psi, shared.c, replica.h
    size = h.shape[0]
    last = max(size - 1, 0)
    split = 0 < size < psi.shape[0]
    own = h if size > 0 else psi  # without a split, every weight is in one of them
    loss_code, eta, eta_b, mu_b = config.loss, config.eta, config.eta_b, config.mu_b[0]
    a = 1.0 - config.shrink
    scalars = replica.scalars
    b, p_scale, r_sum = replica.b[0], scalars[VIEW_P], scalars[VIEW_R]
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        prefetch_weights_ahead(data, order, s, psi, 1)
        prefetch_weights_ahead(data, order, s, c, 1)
        i = order[s]
        lo, hi = row_bounds(X, indptr, i)
        x_psi = 0.0
        x_c = 0.0
        if split:
            for k in range(lo, hi):
                j, x = row_entry(X, indices, i, k)
                x_psi += x * select(j < size, h[min(j, last)], psi[j])
                x_c += x * c[j]
        else:  # a full replica or none: the serial loop's one array
            for k in range(lo, hi):
                j, x = row_entry(X, indices, i, k)
                x_psi += x * own[j]
                x_c += x * c[j]
        p = p_scale * (x_psi - r_sum * x_c) + b
        if not np.isfinite(p):
            done = s
            break
        delta = variance_reduced(data, ratios, snapshot, loss_code, i, p)
        p_scale *= a
        r_sum += 1.0 / p_scale
        step = eta * delta / p_scale
        if step != 0.0 and split:
            for k in range(lo, hi):
                j, x = row_entry(X, indices, i, k)
                if j < size:
                    h[j] -= step * x
                else:
                    psi[j] -= step * x
        elif step != 0.0:
            for k in range(lo, hi):
                j, x = row_entry(X, indices, i, k)
                own[j] -= step * x
        b -= eta_b * (delta + mu_b)
    replica.b[0], scalars[VIEW_P], scalars[VIEW_R] = b, p_scale, r_sum
    return done


@jit
def head_replica_steps(data, shared, replica, snapshot, config, merge, lock, order, ratios):
    """One worker's inner steps over rows ``order``: reload, then equal stretches of at
    most ``merge.every`` steps, each merged (:func:`merge_head`); returns the steps done."""
    load_head(shared, replica)
    m = order.shape[0]
    size = stretch(m, merge.every)
    for start in range(0, m, size):
        end = min(m, start + size)
        done = head_inner_l2(data, shared, replica, snapshot, config, order[start:end],
                             ratios)
        merge_head(shared, replica, merge, lock)
        if done < end - start:
            return start + done
    return m


@jit
def reload_full(shared, replica):
    """Start the full replica from the shared weights (step 0 of its own count)."""
    model, base = replica.model, replica.base
    psi, last, scalars = model.psi, model.last, model.scalars
    for j in range(psi.shape[0]):
        psi[j] = base[j] = shared.w[j]
        last[j] = 0
    model.b[0] = replica.base_b[0] = shared.b[0]
    scalars[0], scalars[1], scalars[2] = 1.0, 0.0, 0.0  # P, R, STEP


@jit
def merge_full(shared, replica, config, merge):
    """Add the full replica's change since its last reload to the shared weights,
    coordinate j weighted by ``merge.shares[j]``, and reload it: O(d)."""
    model, base, shares = replica.model, replica.base, merge.shares
    for j in range(base.shape[0]):
        shared.w[j] += shares[j] * (weight_now(model, config, j) - base[j])
    shared.b[0] += merge.intercept_share * (model.b[0] - replica.base_b[0])
    reload_full(shared, replica)


@jit
def full_replica_steps(data, shared, replica, snapshot, config, merge, lock, order, ratios):
    """One worker's proximal inner steps (with L1) over rows ``order`` on its full replica
    (:class:`~.args.SVRGReplica`), merged into ``shared`` (:class:`~.args.SharedWeights`)
    after equal stretches of at most ``merge.every`` steps; returns the steps done."""
    reload_full(shared, replica)
    m = order.shape[0]
    size = stretch(m, merge.every)
    for start in range(0, m, size):
        end = min(m, start + size)
        done = inner_steps(data, replica.model, snapshot, config, order[start:end], ratios)
        merge_full(shared, replica, config, merge)
        if done < end - start:
            return start + done
    return m


@jit
def head_serve(channel, shard, data, shared, replica, snapshot, config, merge, lock, ratios):
    """The worker's calls of :func:`head_replica_steps` on ``shard.rows[start:end]``, as
    the team's hand-off deals them (see :func:`.hogwild.replica_serve`)."""
    while True:
        generation, kind, start, end, _ = next_job(channel, shard)
        if generation == 0:
            return
        done = head_replica_steps(data, shared, replica, snapshot, config, merge, lock,
                                  shard.rows[start:end], ratios)
        finish(channel.sync, channel.worker, generation, done)


@jit
def full_serve(channel, shard, data, shared, replica, snapshot, config, merge, lock, ratios):
    """The worker's calls of :func:`full_replica_steps` (see :func:`head_serve`)."""
    while True:
        generation, kind, start, end, _ = next_job(channel, shard)
        if generation == 0:
            return
        done = full_replica_steps(data, shared, replica, snapshot, config, merge, lock,
                                  shard.rows[start:end], ratios)
        finish(channel.sync, channel.worker, generation, done)
