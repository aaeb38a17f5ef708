"""A Hogwild! replica of the head of the features only: merges in O(H), not O(d).

A full replica (:mod:`.hogwild`) costs O(d) per merge, and on wide sparse data
(d from 10^6 up, a few dozen non-zeros per row) the merges took most of a
worker's time: two workers ran slower than one thread (BENCHMARKS.md, Hogwild!).
Here a worker keeps private only the ``H`` features most rows touch (the *head*,
chosen by column counts) and writes the others (the *tail*) in place into the
shared model, as Hogwild! itself does: a tail feature is rare, so two workers
seldom write its cache line at the same time, while the head's lines, which
every row writes, stay private.

The features are relabeled for the fit so that the head is ``0 .. H-1``
(:func:`relabel`: the head features above ``H`` swap labels with the tail
features below it), which makes membership one comparison, ``j < H``; a lookup
per non-zero made every step half as slow again. The leader swaps the shared
model into these labels before each call and back after it
(:func:`swap_columns`), so between calls it is in the user's order.

The shared model is ``w = S * V`` with one shared scale ``S``
(``shared.scalars[SCALE]``) carrying the L2 shrink in O(1). A worker's view is
``sigma * h`` on the head and ``sigma * V`` on the tail, where ``sigma = a *
S_ref``: ``a`` is its own shrink since its last merge and ``S_ref`` the shared
scale it last read. A step on a tail coordinate adds ``c / sigma`` to ``V[j]``;
a merge (:func:`merge_head`) is

    S <- S * a                                   (O(1), under ``head.lock``)
    V[:H] += share * (h - base);  h = base = V[:H]              (O(H))

With L1, the head gets one proximal step per merge (as a full replica does) and
the tail the lazy cumulative penalty of the serial kernel, against the shared
total ``shared.scalars[L1_TOTAL]`` that merges add to (:func:`tail_l1`).
The replica's scalars hold ``a`` at ``SCALE``, its unmerged L1 total at
``L1_TOTAL`` and ``S_ref``, ``U_ref`` at ``S_REF``, ``U_REF``.
"""
import numpy as np
from numba import prange, types
from numba.extending import intrinsic, overload

from .._jit import inlined_jit, jit, overload_options, parallel_jit
from ..maths.losses import loss_deriv
from ..maths.penalties import soft_threshold
from .args import L1_TOTAL, S_REF, SCALE, U_REF, StepSize
from .atomics import acquire, release
from .handoff import stretch
from .rows import prefetch_ahead, row_bounds, row_dot, row_entry, sample_weight
from .rules import SGD, bias_corrections, rule_delta
from .sgd import add_row, rule_step

MIN_FACTOR = 1e-9
"""The smallest L2 shrink factor of one step (a step with ``eta * l2 >= 1`` would set
every weight to 0; with the tail in the shared model, a worker shrinks by this instead)."""


@intrinsic
def _ctpop(typingctx, value):
    sig = types.int64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


def popcount(value):
    """The number of set bits of a non-negative int64."""
    return int(value).bit_count()


@overload(popcount, **overload_options())
def _popcount(value):
    return lambda value: _ctpop(value)


def head_map(is_head):
    """The lookup :func:`head_slot` reads, for the boolean mask ``is_head`` of the head
    features: per 64 features an int64 of their bits and the number of head
    features before them (16 bytes per 64 features)."""
    words = -(-is_head.shape[0] // 64)
    padded = np.zeros(words * 64, dtype=bool)
    padded[:is_head.shape[0]] = is_head
    table = np.empty(2 * words, dtype=np.int64)
    table[0::2] = np.packbits(padded, bitorder="little").view("<i8")
    per_word = padded.reshape(words, 64).sum(axis=1)
    table[1::2] = np.concatenate([[0], np.cumsum(per_word)[:-1]])
    return table


@inlined_jit
def head_slot(table, j):
    """Feature ``j``'s rank among the head features, or -1 when it is in the tail."""
    at = 2 * (np.int64(j) >> 6)
    bit = np.int64(j) & 63
    word = table[at]
    if (word >> bit) & 1 == 0:
        return np.int64(-1)
    return table[at + 1] + popcount(word & ~(np.int64(-1) << bit))


@parallel_jit
def relabel(indices, table, low_label, head_label, size, out):
    """``out[k]``: the label of feature ``indices[k]`` -- ``low_label[j]`` for ``j < size``,
    ``head_label[rank]`` for a head feature above it, ``j`` itself for the rest of
    the tail. Parallel over blocks of entries; O(nnz) once per fit."""
    n = indices.shape[0]
    blocks = 256
    for block in prange(blocks):
        for k in range(block * n // blocks, (block + 1) * n // blocks):
            j = indices[k]
            if j < size:
                out[k] = low_label[j]
            else:
                rank = head_slot(table, j)
                out[k] = j if rank < 0 else head_label[rank]


@jit
def swap_entries(v, low, high):
    """Swap ``v[low[t]]`` and ``v[high[t]]`` for every ``t``: the relabeling and its
    inverse, O(number of swaps)."""
    for t in range(low.shape[0]):
        a, b = low[t], high[t]
        v[a], v[b] = v[b], v[a]


@inlined_jit
def select(condition, if_true, if_false):
    """``if_true if condition else if_false`` with both already loaded: the compiler makes
    it a conditional move, not a branch the head/tail mix of a row would mispredict."""
    return if_true if condition else if_false


@inlined_jit
def tail_l1(V, Q, j, scale, u):
    """The serial kernel's lazy cumulative L1 step on a tail coordinate
    (:func:`~parallel_sgd.maths.penalties.cumulative_l1`), with the pending penalty
    clipped at 0: this worker's view ``u`` of the total may be behind another's."""
    z = V[j]
    if z > 0.0:
        V[j] = max(0.0, z - max(0.0, u + Q[j]) / scale)
    elif z < 0.0:
        V[j] = min(0.0, z + max(0.0, u - Q[j]) / scale)
    Q[j] += scale * (V[j] - z)


@jit
def load_head(shared, replica):
    """Make the replica's head (``V[:H]``, H its size), intercept and rule state those of
    the shared model, and its scalars ``a = 1`` and the shared scale and L1 total."""
    model, base = replica.model, replica.base
    V, h, base_h = shared.v, model.v, base.v
    for t in range(h.shape[0]):
        h[t] = base_h[t] = V[t]
    model.b[0] = base.b[0] = shared.b[0]
    state, mine, old = shared.rule_state, model.rule_state, base.rule_state
    intercept, size = state.shape[1] - 1, mine.shape[1] - 1
    for slot in range(state.shape[0]):
        for t in range(size):
            mine[slot, t] = old[slot, t] = state[slot, t]
        mine[slot, size] = old[slot, size] = state[slot, intercept]
    scalars = model.scalars
    scalars[SCALE], scalars[L1_TOTAL] = 1.0, 0.0
    scalars[S_REF], scalars[U_REF] = shared.scalars[SCALE], shared.scalars[L1_TOTAL]


@inlined_jit
def merged_state(before, now, then, share):
    """A rule-state entry after a merge: the shared ``before`` plus ``share`` times the
    replica's change ``now - then``, clipped at 0 where all three are >= 0 (an average of
    squares stays >= 0; see :func:`.hogwild.merge_replica`)."""
    fresh = before + share * (now - then)
    if fresh < 0.0 <= min(before, now, then):
        fresh = 0.0
    return fresh


@inlined_jit
def merge_scale(shared_scalars, scalars, lock):
    """A merge's O(1) part, under ``lock``: the shared scale ``S`` takes the worker's shrink
    ``a`` (``scalars[SCALE]``) and the shared L1 total its unmerged total; the worker
    restarts from them (``a = 1``, ``S_ref = S``). Returns ``(S_ref / S_old, S)``: what
    turns values in the units of the worker's old ``S_ref`` into those of the ``S``
    before this merge, and the new ``S``."""
    acquire(lock)
    s_old = shared_scalars[SCALE]
    s_new = s_old * scalars[SCALE]
    u = shared_scalars[L1_TOTAL] + scalars[L1_TOTAL]
    shared_scalars[SCALE] = s_new
    shared_scalars[L1_TOTAL] = u
    release(lock)
    ratio = scalars[S_REF] / s_old
    scalars[SCALE], scalars[L1_TOTAL] = 1.0, 0.0
    scalars[S_REF], scalars[U_REF] = s_new, u
    return ratio, s_new


@inlined_jit
def merge_intercepts(shared_b, b, base_b, share):
    """Add ``share`` times the replica's intercept change since its last merge to the
    shared intercepts (one, or K), and reload them."""
    for k in range(b.shape[0]):
        fresh = shared_b[k] + share * (b[k] - base_b[k])
        shared_b[k] = fresh
        b[k] = fresh
        base_b[k] = fresh


@jit
def merge_head(shared, replica, merge, head, l1_threshold):
    """Apply the worker's shrink ``a`` to the shared scale, add its head's change since
    its last merge to ``V[:H]`` (times ``merge.shares``, as a full replica's merge
    does) and reload the head: O(H) + O(1). ``l1_threshold`` is the L1 penalty of
    the stretch (``l1 * sum(eta)``), one proximal step on the merged head."""
    model, base = replica.model, replica.base
    ratio, s_new = merge_scale(shared.scalars, model.scalars, head.lock)
    threshold = l1_threshold / s_new
    V, h, base_h, shares = shared.v, model.v, base.v, merge.shares
    for t in range(h.shape[0]):
        fresh = V[t] + shares[t] * ratio * (h[t] - base_h[t])
        if threshold > 0.0:
            fresh = soft_threshold(fresh, threshold)
        V[t] = fresh
        h[t] = base_h[t] = V[t]  # as stored, in the data's dtype
    merge_intercepts(shared.b, model.b, base.b, merge.intercept_share)
    state, mine, old = shared.rule_state, model.rule_state, base.rule_state
    intercept, size = state.shape[1] - 1, mine.shape[1] - 1
    for slot in range(state.shape[0]):
        for t in range(size + 1):
            at = t if t < size else intercept
            fresh = merged_state(state[slot, at], mine[slot, t], old[slot, t],
                                 merge.state_share)
            state[slot, at] = fresh
            mine[slot, t] = fresh
            old[slot, t] = fresh


@jit
def split_plain_steps(data, shared, replica, config, l1, order, etas):
    """The sgd rule's steps (:func:`.sgd.sgd_epoch`) on the head replica (labels below
    its size H) and the shared tail; L1 (strength ``l1``) lazily on the tail only.
    Returns the steps done."""
    X, indices, indptr, y, weights = data
    V, Q = shared.v, shared.q
    model = replica.model
    h, scalars = model.v, model.scalars
    size = h.shape[0]
    loss, l2, intercept_rate = config.loss, config.l2, config.intercept_rate
    a, l1_local, u_ref = scalars[SCALE], scalars[L1_TOTAL], scalars[U_REF]
    sigma = a * scalars[S_REF]
    b = model.b[0]
    last = max(size - 1, 0)
    m = order.shape[0]
    done = m
    for s in range(m):
        prefetch_ahead(data, order, s)
        i = order[s]
        eta = etas[s]
        lo, hi = row_bounds(X, indptr, i)
        if size == 0:  # every write in place: the serial kernel's loops
            dot = row_dot(X, indices, indptr, i, V)
        else:
            dot = 0.0
            for k in range(lo, hi):
                j, x = row_entry(X, indices, i, k)
                dot += select(j < size, h[min(j, last)], V[j]) * x
        p = sigma * dot + b
        if not np.isfinite(p):
            done = s
            break
        g = sample_weight(weights, i) * loss_deriv(loss, p, y[i])
        if l2 > 0.0:
            factor = max(1.0 - eta * l2, MIN_FACTOR)
            a *= factor
            sigma *= factor
        l1_local += eta * l1
        c = -eta * g / sigma
        if l1 > 0.0:
            for k in range(lo, hi):
                j, x = row_entry(X, indices, i, k)
                if j < size:
                    h[j] += c * x
                else:
                    V[j] += c * x
                    if x != 0.0:
                        tail_l1(V, Q, j, sigma, u_ref + l1_local)
        elif g != 0.0 and size == 0:
            add_row(X, indices, i, lo, hi, V, c)
        elif g != 0.0:  # the same loop without L1: as one loop, every step took 15% longer
            for k in range(lo, hi):
                j, x = row_entry(X, indices, i, k)
                if j < size:
                    h[j] += c * x
                else:
                    V[j] += c * x
        b -= intercept_rate * eta * g
    model.b[0], scalars[SCALE], scalars[L1_TOTAL] = b, a, l1_local
    return done


@jit
def split_adaptive_steps(data, shared, replica, config, l1, order, etas, t_start):
    """momentum, adagrad, rmsprop, adam (:func:`.sgd.sgd_epoch`) on the head replica and
    the shared tail, each coordinate's rule state where its weight is; L1 (strength
    ``l1``) in the tail's steps, at merges on the head. Returns the steps done."""
    X, indices, indptr, y, weights = data
    V, shared_state = shared.v, shared.rule_state
    model = replica.model
    h, b, state = model.v, model.b, model.rule_state
    size = h.shape[0]  # also the intercept's slot in the replica's rule state
    rule, pw, l2 = config.rule, config.penalty_weights, config.l2
    m = order.shape[0]
    for s in range(m):
        prefetch_ahead(data, order, s)
        i = order[s]
        eta = etas[s]
        lo, hi = row_bounds(X, indptr, i)
        dot = 0.0
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            dot += (h[j] if j < size else V[j]) * x
        p = dot + b[0]
        if not np.isfinite(p):
            return s
        g = sample_weight(weights, i) * loss_deriv(config.loss, p, y[i])
        c1, c2 = bias_corrections(rule, t_start + s)
        step = StepSize(eta, c1, c2)
        for k in range(lo, hi):
            j, x = row_entry(X, indices, i, k)
            if x != 0.0:
                if j < size:
                    h[j] = rule_step(rule, state, j, g * x, h[j], pw[j], l2, 0.0, step)
                else:
                    V[j] = rule_step(rule, shared_state, j, g * x, V[j], pw[j], l2, l1, step)
        if config.intercept_rate > 0.0:
            b[0] += config.intercept_rate * rule_delta(rule, state, size, g, step)
    return m


@jit
def split_replica_epoch(data, shared, replica, config, merge, head, order, etas, t_start):
    """:func:`.hogwild.replica_epoch` for a head replica: reload the head (the leader
    may have rescaled the shared model between calls), then steps over ``order``,
    merging every ``merge.every`` steps (in equal stretches) and at the end; returns
    the steps done."""
    load_head(shared, replica)
    m = order.shape[0]
    size = stretch(m, merge.every)
    for start in range(0, m, size):
        end = min(m, start + size)
        if config.rule.code == SGD:
            done = split_plain_steps(data, shared, replica, config, merge.l1,
                                     order[start:end], etas[start:end])
        else:
            done = split_adaptive_steps(data, shared, replica, config, merge.l1,
                                        order[start:end], etas[start:end], t_start + start)
        merge_head(shared, replica, merge, head, merge.l1 * etas[start:start + done].sum())
        if done < end - start:
            return start + done
    return m


@jit
def settle_head_l1(shared, size):
    """Mark the head's coordinates (labels below ``size``) as having received the whole
    L1 total (``q = -sign(w) * total``): their penalty was applied at merges, and the
    lazy penalty the tail still owes must not be applied to them again."""
    V, Q = shared.v, shared.q
    total = shared.scalars[L1_TOTAL]
    if total > 0.0:
        for t in range(size):
            if V[t] > 0.0:
                Q[t] = -total
            elif V[t] < 0.0:
                Q[t] = total


@jit
def fold_scale(shared):
    """``V *= S; S = 1`` (O(d)): the leader, between calls, when ``S`` got small."""
    V, scale = shared.v, shared.scalars[SCALE]
    for j in range(V.shape[0]):
        V[j] *= scale
    shared.scalars[SCALE] = 1.0
