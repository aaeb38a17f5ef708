"""Dual coordinate ascent for the hinge loss with an L2 or elastic-net penalty.

For a fixed intercept ``b`` the primal, divided by ``l2``, is

    C sum_i s_i max(0, m_i - y_i x_i.w) + ||w||^2/2 + kappa ||w||_1,
    C = 1/(n l2),  kappa = l1/l2,  m_i = 1 - y_i b,

and its dual, over the box ``0 <= beta_i <= U_i = C s_i``, is

    D(beta) = sum_i beta_i m_i - ||soft(v, kappa)||^2/2,   v = sum_i beta_i y_i x_i,

with ``w = soft(v, kappa)`` (Hsieh et al. 2008 for ``kappa = 0``; the Prox-SDCA
form of Shalev-Shwartz and Zhang 2014 otherwise). One coordinate step maximizes
the quadratic model of ``D`` along ``beta_i`` (exact for ``kappa = 0``, a
majorization step otherwise, since ``||soft(., kappa)||^2/2`` is 1-smooth) and
updates ``v`` in O(nnz of the row). Coordinates stuck at a bound are shrunk
away as in liblinear and brought back before convergence is declared. The
coordinates may be cut into parts that threads visit at once, sharing ``v``.

Also :func:`quadratic_l1_cd`: coordinate descent on the dense proximal-Newton
model that the smooth-loss reference solver minimizes when there is an L1 term.
"""
import numpy as np
from numba import prange

from .._jit import inlined_jit, jit, parallel_jit
from .atomics import atomic_add
from ..maths.penalties import soft_threshold
from .rows import (WEIGHTS_DISTANCE, prefetch_row_weights, prefetch_rows_ahead, row_bounds,
                   row_entry)

_XS_MULT = np.uint64(0x2545F4914F6CDD1D)
_INV_2_53 = 1.0 / 9007199254740992.0


@jit
def _random_below(rng, k):
    """A uniform integer in ``[0, k)`` from the xorshift64* state ``rng[0]``."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    r = (x * _XS_MULT) >> np.uint64(11)
    return min(int(float(r) * _INV_2_53 * k), k - 1)


@jit
def _row_dot_soft(X, indices, indptr, i, v, kappa):
    """``x_i . soft(v, kappa)``."""
    lo, hi = row_bounds(X, indptr, i)
    s = 0.0
    for k in range(lo, hi):
        j, x = row_entry(X, indices, i, k)
        s += x * soft_threshold(v[j], kappa)
    return s


@jit
def _shuffle(index, size, rng):
    for k in range(size - 1, 0, -1):
        r = _random_below(rng, k + 1)
        index[k], index[r] = index[r], index[k]


@inlined_jit
def _part_epoch(data, state, config, lo, size, m_old, mm_old, rng, shared):
    """One epoch over the ``size`` active coordinates at ``index[lo:]``, in a new random
    order; coordinates that the thresholds ``m_old``/``mm_old`` say are stuck at a bound
    are shrunk away (swapped past the end). Returns ``(size, pg_max, pg_min)``."""
    X, indices, indptr, y = data.X, data.indices, data.indptr, data.y
    upper, qii = data.upper, data.qii
    beta, v, index = state.beta, state.v, state.index
    margin, kappa = config.margin, config.kappa
    _shuffle(index[lo:], size, rng)
    order = index[lo:lo + size]  # the epoch's order (shrunk rows only get prefetched)
    pg_max, pg_min = 0.0, 0.0  # so that spread >= max |PG| (optimal iff 0)
    s = 0
    while s < size:
        i = index[lo + s]
        # every access is a cache miss in a random order over a large v
        prefetch_rows_ahead(X, indices, indptr, y, beta, order, s)
        if s + WEIGHTS_DISTANCE < size:
            prefetch_row_weights(X, indices, indptr, order[s + WEIGHTS_DISTANCE], v, 1)
        # plain reads of v while other parts add to it atomically: a read may miss an
        # update in flight, as any asynchronous coordinate method's does (PASSCoDe)
        g = y[i] * _row_dot_soft(X, indices, indptr, i, v, kappa) - margin[i]
        bi = beta[i]
        ui = upper[i]
        pg = 0.0
        if bi <= 0.0:
            if g > m_old:
                size -= 1
                index[lo + s], index[lo + size] = index[lo + size], index[lo + s]
                continue
            if g < 0.0:
                pg = g
        elif bi >= ui:
            if g < mm_old:
                size -= 1
                index[lo + s], index[lo + size] = index[lo + size], index[lo + s]
                continue
            if g > 0.0:
                pg = g
        else:
            pg = g
        pg_max = max(pg_max, pg)
        pg_min = min(pg_min, pg)
        if pg != 0.0:
            q = qii[i]
            if q > 0.0:
                new = min(max(bi - g / q, 0.0), ui)
            else:
                new = ui if g < 0.0 else 0.0
            delta = (new - bi) * y[i]
            if delta != 0.0:
                beta[i] = new
                first, end = row_bounds(X, indptr, i)
                for k in range(first, end):
                    j, x = row_entry(X, indices, i, k)
                    if shared:
                        atomic_add(v, j, delta * x)
                    else:
                        v[j] += delta * x
        s += 1
    return size, pg_max, pg_min


@parallel_jit
def dual_cd(data, state, config, max_visits, eps):
    """Run dual coordinate ascent until the projected-gradient spread is ``<= eps``.

    ``data`` is a :class:`~.args.DualData`, ``state`` a :class:`~.args.DualState`
    whose ``index`` lists the coordinates to visit (those with ``upper > 0``), cut
    into parts at ``bounds``, and ``config`` a :class:`~.args.DualConfig` with
    ``margin[i] = m_i``. ``beta`` and ``v`` are updated in place (``v`` must equal
    ``sum_i beta_i y_i x_i`` on entry).

    The parts run on threads of their own, each in its own random order with its
    own generator ``rng[p]``, adding to the shared ``v`` atomically (PASSCoDe-Atomic,
    Hsieh et al. 2015: with plain writes, the "Wild" variant, the writes lost to
    collisions on the frequent features left ``w = v`` far less accurate than the
    serial method's, and the solves took longer, BENCHMARKS.md). With one part this
    is the serial method, deterministic, with plain writes.

    Stops early after the epoch that brings the coordinate visits to
    ``max_visits`` (shrinking makes epochs cheaper as it goes, so work is
    counted in visits). Returns ``(epochs, spread, visits)``: epochs run, the
    last pass's projected-gradient spread (``<= eps`` means converged) and visits.
    """
    bounds, rng = state.bounds, state.rng
    n_parts = bounds.shape[0] - 1
    if rng.shape[0] < n_parts:
        raise ValueError("dual_cd: one generator state per part is needed")
    sizes = np.empty(n_parts, dtype=np.int64)
    pg_maxes = np.zeros(n_parts)
    pg_mins = np.zeros(n_parts)
    for p in range(n_parts):
        sizes[p] = bounds[p + 1] - bounds[p]
    big = np.inf
    m_old, mm_old = big, -big  # shrinking thresholds: max and min PG of the last pass
    spread = big
    visits = 0
    epoch = 0
    while visits < max_visits:
        epoch += 1
        for p in range(n_parts):  # loops, not numpy reductions: those become parallel regions
            visits += sizes[p]
        if n_parts == 1:  # no threads to start (a parallel region costs ~0.1 ms an epoch)
            sizes[0], pg_maxes[0], pg_mins[0] = _part_epoch(
                data, state, config, bounds[0], sizes[0], m_old, mm_old, rng, False)
        else:
            for p in prange(n_parts):
                sizes[p], pg_maxes[p], pg_mins[p] = _part_epoch(
                    data, state, config, bounds[p], sizes[p], m_old, mm_old, rng[p:p + 1],
                    True)
        pg_max, pg_min = pg_maxes[0], pg_mins[0]
        for p in range(1, n_parts):
            pg_max = max(pg_max, pg_maxes[p])
            pg_min = min(pg_min, pg_mins[p])
        spread = pg_max - pg_min
        if spread <= eps:
            shrunk = False
            for p in range(n_parts):
                shrunk = shrunk or sizes[p] != bounds[p + 1] - bounds[p]
                sizes[p] = bounds[p + 1] - bounds[p]
            if not shrunk:
                return epoch, spread, visits
            m_old, mm_old = big, -big  # verify on every coordinate before stopping
            continue
        m_old = pg_max if pg_max > 0.0 else big
        mm_old = pg_min if pg_min < 0.0 else -big
    return epoch, spread, visits


@jit
def quadratic_l1_cd(H, g, w, l1, penalized, d, hd, max_sweeps, tol):
    """Cyclic coordinate descent on a proximal-Newton model, in place on ``d``.

    Minimizes ``g.d + d.H.d/2 + l1 * sum_{penalized j} |w_j + d_j|`` for a dense
    positive semidefinite ``H``; ``hd`` must hold ``H d`` on entry and is kept
    equal to it. A coordinate with ``H_jj = 0`` gets a tiny curvature so that the
    model stays bounded. Stops when a sweep moves no coordinate by more than
    ``tol`` times the largest ``|w_j + d_j|``; returns the sweeps run.
    """
    m = d.shape[0]
    floor = 0.0
    for j in range(m):
        floor = max(floor, H[j, j])
    floor = max(floor * 1e-12, 1e-300)
    for sweep in range(max_sweeps):
        biggest_move = 0.0
        biggest = 0.0
        for j in range(m):
            a = max(H[j, j], floor)
            c = g[j] + hd[j] - H[j, j] * d[j]
            old = d[j]
            if penalized[j]:
                x = w[j] - c / a
                kappa = l1 / a
                x = x - kappa if x > kappa else (x + kappa if x < -kappa else 0.0)
                new = x - w[j]
            else:
                new = -c / a
            delta = new - old
            if delta != 0.0:
                d[j] = new
                for k in range(m):
                    hd[k] += H[j, k] * delta  # H is symmetric: read rows
            biggest_move = max(biggest_move, abs(delta))
            biggest = max(biggest, abs(w[j] + new))
        if biggest_move <= tol * biggest:
            return sweep + 1
    return max_sweeps
