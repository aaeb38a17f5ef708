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
away as in liblinear and brought back before convergence is declared.

Also :func:`quadratic_l1_cd`: coordinate descent on the dense proximal-Newton
model that the smooth-loss reference solver minimizes when there is an L1 term.
"""
import numpy as np

from .._jit import jit
from ..maths.penalties import soft_threshold
from .rows import row_bounds, row_entry

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


@jit
def dual_cd(data, state, config, max_visits, eps):
    """Run dual coordinate ascent until the projected-gradient spread is ``<= eps``.

    ``data`` is a :class:`~.args.DualData`, ``state`` a :class:`~.args.DualState`
    whose ``index`` lists the coordinates to visit (those with ``upper > 0``), and
    ``config`` a :class:`~.args.DualConfig` with ``margin[i] = m_i``. ``beta`` and
    ``v`` are updated in place (``v`` must equal ``sum_i beta_i y_i x_i`` on entry).

    Stops early after the epoch that brings the coordinate visits to
    ``max_visits`` (shrinking makes epochs cheaper as it goes, so work is
    counted in visits). Returns ``(epochs, spread, visits)``: epochs run, the
    last pass's projected-gradient spread (``<= eps`` means converged) and visits.
    """
    X, indices, indptr, y = data.X, data.indices, data.indptr, data.y
    upper, qii = data.upper, data.qii
    beta, v, index, rng = state.beta, state.v, state.index, state.rng
    margin, kappa = config.margin, config.kappa
    n_active = index.shape[0]
    size = n_active
    big = np.inf
    m_old, mm_old = big, -big  # shrinking thresholds: max and min PG of the last pass
    spread = big
    visits = 0
    epoch = 0
    while visits < max_visits:
        epoch += 1
        _shuffle(index, size, rng)
        visits += size
        pg_max, pg_min = 0.0, 0.0  # so that spread >= max |PG| (optimal iff 0)
        s = 0
        while s < size:
            i = index[s]
            g = y[i] * _row_dot_soft(X, indices, indptr, i, v, kappa) - margin[i]
            bi = beta[i]
            ui = upper[i]
            pg = 0.0
            if bi <= 0.0:
                if g > m_old:
                    size -= 1
                    index[s], index[size] = index[size], index[s]
                    continue
                if g < 0.0:
                    pg = g
            elif bi >= ui:
                if g < mm_old:
                    size -= 1
                    index[s], index[size] = index[size], index[s]
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
                    lo, hi = row_bounds(X, indptr, i)
                    for k in range(lo, hi):
                        j, x = row_entry(X, indices, i, k)
                        v[j] += delta * x
            s += 1
        spread = pg_max - pg_min
        if spread <= eps:
            if size == n_active:
                return epoch, spread, visits
            size = n_active  # verify on every coordinate before stopping
            m_old, mm_old = big, -big
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
