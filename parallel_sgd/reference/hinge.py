"""The hinge loss: dual coordinate ascent with an intercept search, or a linear program.

With ``l2 > 0``, `HingeDual` runs dual CD (:mod:`parallel_sgd.kernels.dual_cd`)
at a fixed intercept inside a 1-D root search over the intercept,
and polishes each certificate by an exact solve on the face the margins point
to. With ``l2 = 0`` (pure L1, where dual CD does not apply) the dual is a
linear program: `hinge_lp` solves it with HiGHS.
"""
import numba
import numpy as np
import scipy.sparse as sp
from scipy.linalg import lstsq
from scipy.optimize import linprog, lsq_linear

from ..kernels.args import DualConfig, DualData, DualState
from ..kernels.dual_cd import dual_cd
from .model import Model, soft


class HingeDual:
    """Dual coordinate ascent for the hinge loss with ``l2 > 0`` (see :mod:`.kernels.dual_cd`).

    With an intercept, ``F(b) = min_w P(w, b)`` is convex and each dual point
    ``beta`` solved at ``b`` gives the affine minorant
    ``F(b') >= l2 (sum beta - ||w||^2/2) - l2 b' sum y beta``, so ``b*`` is the
    root of the decreasing ``Y(b) = sum y beta(b)``, found by regula falsi. Two
    points with ``Y`` of opposite signs combine (convexly) into one with
    ``sum y beta = 0``, dual feasible for the full problem: a certificate.

    The primal ``w`` of a dual point is only ``O(sqrt(dual error))`` accurate, so
    when the dimension allows it each certificate is also tried on the face the
    margins point to (:func:`_hinge_face`), which yields an exact primal-dual pair.
    """

    max_passes, max_work = 5000, 3e9  # budget: passes over the data, or row entries read

    def __init__(self, problem, seed=0x9E3779B97F4A7C15):
        self.problem = problem
        self.model = m = Model(problem)
        self.kappa = m.l1 / m.l2
        self.upper = m.s / (m.n * m.l2)
        self.data = DualData(*m.arrays, m.y, self.upper, problem.row_norms_sq)
        self.beta = np.zeros(m.n)
        self.v = np.zeros(m.d)
        index = np.flatnonzero(self.upper > 0).astype(np.int64)
        parts = _parts(problem)
        seeds = [seed + 2 * p for p in range(parts)]  # odd, never 0: xorshift's states
        self.state = DualState(self.beta, self.v, index, np.array(seeds, dtype=np.uint64),
                               np.linspace(0, index.size, parts + 1).astype(np.int64))
        self.epochs = 0
        row_size = max(1.0, problem.data.nnz / m.n)
        self.budget = max(self.max_passes * m.n, self.max_work / row_size)  # coordinate visits
        self.best = None  # (w, b, P(w, b)) of the best primal point seen
        self.dual = -np.inf

    def solve(self, b, eps):
        """Dual CD at intercept ``b`` to a projected-gradient spread ``eps``.

        Returns ``(A, Y, beta)``: ``A - l2 * Y * b'`` is the minorant of ``F`` at
        ``b'`` and ``Y = sum y beta``.
        """
        m = self.model
        margin = 1.0 - m.y * b
        while self.budget > 0:
            epochs, spread, visits = dual_cd(self.data, self.state, DualConfig(margin, self.kappa),
                                             min(self.budget, 100 * m.n), eps)
            self.epochs += epochs
            self.budget -= visits
            if spread <= eps:
                break
        self.v[:] = m.rmatvec(m.y * self.beta)  # drop the drift of incremental updates
        w = soft(self.v, self.kappa)
        return m.l2 * (float(self.beta.sum()) - 0.5 * float(w @ w)), float(m.y @ self.beta), \
            self.beta.copy()

    def certify(self, betas, start, tol):
        """Update the best primal point and dual bound.

        From the dual points ``betas`` (balanced by :meth:`Model.dual` when there
        is an intercept) and from the primal point ``start = (w, b)`` of the last
        solve, the primal point of the best dual one, and the faces near ``start``.
        """
        m = self.model
        best_u, best_dual = None, -np.inf
        for beta in betas:
            alpha = np.divide(beta, self.upper, out=np.zeros(m.n), where=self.upper > 0)
            dual, u = m.dual(-m.y * np.minimum(alpha, 1.0))
            if u is not None and dual > best_dual:
                best_u, best_dual = u, dual
        candidates = [start[0]]
        if best_u is not None:
            self.dual = max(self.dual, best_dual)
            if m.fit_intercept:  # without, u = l2 v: it is ``start``'s ``w`` again
                candidates.append(soft(best_u, m.l1) / m.l2)
        for w in candidates:
            self._offer(w)
        if not m.direct_newton:
            return
        # the margins' error is unknown: try faces from wide to narrow
        for delta in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8):
            if self.gap() <= tol * self.best[2]:
                return
            face = _hinge_face(m, *start, delta)
            if face is not None:
                self._offer(face[0], face[1])
                dual, u = m.dual(-m.y * face[2])
                self.dual = max(self.dual, dual)
                if u is not None:
                    w = soft(u, m.l1) / m.l2
                    self._offer(w)

    def _offer(self, w, b=None):
        """Keep ``(w, b)`` if it is the best primal point yet; ``b`` None: the best
        intercept for ``w`` (none without one), from ``w``'s margins (one pass)."""
        m = self.model
        if b is None:
            z0 = m.margins(w, 0.0)
            b = _hinge_intercept(z0, m.y, m.s) if m.fit_intercept else 0.0
            value = self.problem.objective(w, b, margins=z0 + b)
        else:
            value = self.problem.objective(w, b)
        if self.best is None or value < self.best[2]:
            self.best = (w, b, value)

    def gap(self):
        return np.inf if self.best is None else self.best[2] - self.dual

    def optimum(self, tol):
        method = "dual_cd"
        eps = 1e-2
        if self.problem.fit_intercept:
            method = "dual_cd+intercept_search"
            self._search_intercept(tol)
        else:
            while self.budget > 0:
                beta = self.solve(0.0, eps)[2]
                self.certify([beta], (soft(self.v, self.kappa), 0.0), tol)
                if self.gap() <= tol * self.best[2]:
                    break
                eps = max(0.1 * eps, 1e-14)
        if self.best is None:
            return soft(self.v, self.kappa), 0.0, np.inf, False, method, self.epochs
        w, b, _ = self.best
        return w, b, self.gap(), np.isfinite(self.dual), method, self.epochs

    def _search_intercept(self, tol, max_outer=200):
        """Find ``b*``, the root of ``Y(b) = sum y beta(b)`` (decreasing), by regula falsi.

        Probes from ``b = 0`` (:func:`_probe_intercept`) until ``Y`` changes sign; an
        end solved far less precisely than the latest solve is solved again when the
        search keeps moving the other one (a loose ``Y`` may have the wrong sign). Each
        solve is warm-started and a decade more precise than the last; the dual
        bound is certified from the bracket's two ends combined (``sum y beta = 0``)
        and from the latest solve alone (balanced by :meth:`Model.dual`), which is
        the better one once ``b`` is close to ``b*``.
        """
        ends = {}  # +1: a cut with Y > 0 (b below b*), -1: with Y < 0
        b, eps, probes, last_sides = 0.0, 1e-1, [], []
        for _ in range(max_outer):
            _, Y, beta = self.solve(b, eps)
            w = soft(self.v, self.kappa)
            if Y == 0.0:  # b is b* for this solve's precision
                self.certify([beta], (w, b), tol)
                if self.gap() <= tol * self.best[2] or self.budget <= 0:
                    return
                eps = max(0.1 * eps, 1e-14)
                continue
            side = 1 if Y > 0 else -1
            ends[side] = (b, Y, beta, eps)
            last_sides.append(side)
            if len(ends) == 2 and not ends[1][0] < ends[-1][0]:
                del ends[-side]  # a looser solve's sign, now contradicted: probe again
                probes = []
            if len(ends) < 2:
                if self.budget <= 0:
                    self.certify([beta], (w, b), tol)
                    return
                probes.append((b, Y))
                b = _probe_intercept(probes, side)
                continue
            (b_lo, Y_lo, beta_lo, _), (b_hi, Y_hi, beta_hi, _) = ends[1], ends[-1]
            t = Y_lo / (Y_lo - Y_hi)
            self.certify([(1.0 - t) * beta_lo + t * beta_hi, beta], (w, b), tol)
            if self.gap() <= tol * self.best[2] or self.budget <= 0:
                return
            eps = max(0.1 * eps, 1e-14)
            stale = ends[-side]
            if last_sides[-3:] == [side] * 3 and stale[3] > 100.0 * eps:
                b = stale[0]  # stuck against an end solved far less precisely: redo it
            else:
                b = _next_intercept(b_lo, Y_lo, b_hi, Y_hi, last_sides)


def _parts(problem, min_entries=2_000_000):
    """How many threads share dual CD: all of Numba's on sparse data with at least
    ``min_entries`` stored entries; one (serial and deterministic) otherwise, where
    the rows are too few to pay for threads or, dense, would all collide in ``v``."""
    X = problem.data.X
    if not hasattr(X, "indptr") or X.nnz < min_entries:
        return 1
    return max(1, min(numba.get_num_threads(), problem.n_samples))


def _hinge_face(model, w, b, delta, max_size=2e9):
    """Minimize the hinge objective on the face its margins at ``(w, b)`` point to.

    Samples with ``y_i(x_i.w + b)`` within ``delta`` of 1 are held on the kink
    (equality constraints), those below it contribute their linear piece, those
    above nothing; with L1 the zero coordinates of ``w`` stay zero. That is an
    equality-constrained quadratic program, solved by a null-space method; its
    multipliers ``mu_i = s_i alpha_i / n`` give the dual point. Returns
    ``(w, b, alpha)`` or None when the face is too large or not bounded.
    """
    y, s, n = model.y, model.s, model.n
    fi = int(model.fit_intercept)
    score = y * model.margins(w, b)
    on = np.flatnonzero(np.abs(score - 1.0) <= delta)
    below = (score < 1.0 - delta) & (s > 0)
    free = np.flatnonzero(w) if model.l1 > 0 else np.arange(model.d)
    k = free.size + fi
    if on.size * k * k > max_size:
        return None
    X = model.problem.data.X
    weight = s * below / n
    c = np.append(model.rmatvec(weight * y)[free], weight @ y if fi else [])
    ell = np.append(model.l1 * np.sign(w[free]), np.zeros(fi)) - c
    q = np.append(np.full(free.size, model.l2), np.zeros(fi))
    rows = X[on][:, free]
    rows = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
    A = y[on, None] * (np.hstack([rows, np.ones((on.size, 1))]) if fi else rows)
    U, S, Vt = np.linalg.svd(A, full_matrices=on.size < k)
    rank = int(np.sum(S > 1e-12 * S.max())) if S.size else 0
    z = Vt[:rank].T @ ((U[:, :rank].T @ np.ones(on.size)) / S[:rank])
    N = Vt[rank:].T
    if N.shape[1]:
        reduced = N.T @ (q[:, None] * N)
        t, *_ = lstsq(reduced, -N.T @ (q * z + ell), cond=1e-13)
        z = z + N @ t
    stationarity = q * z + ell  # = A^T mu at the optimum of the face
    if N.shape[1] and np.abs(N.T @ stationarity).max(initial=0.0) > 1e-8 * (
            1.0 + np.abs(stationarity).max(initial=0.0)):
        return None  # unbounded along the face (no sample pins the intercept)
    mu = np.zeros(on.size)
    if on.size:
        cap = s[on] / n
        mu = lstsq(A.T, stationarity, cond=1e-13)[0]
        if np.any(mu < 0) or np.any(mu > cap):
            mu = lsq_linear(A.T, stationarity, bounds=(0.0, cap + 1e-300), method="bvls").x
    alpha = below.astype(np.float64)
    alpha[on] = np.clip(np.divide(mu * n, s[on], out=np.zeros(on.size), where=s[on] > 0),
                        0.0, 1.0)
    w_face = np.zeros(model.d)
    w_face[free] = z[:free.size]
    return w_face, (float(z[-1]) if fi else 0.0), alpha


def _probe_intercept(probes, side, first_step=0.1):
    """The next ``b`` to try before ``Y`` has changed sign: ``first_step`` toward ``b*``,
    then the secant root of the last two probes overshot by 20% (to bracket it),
    kept between 1.5 and 4 times the last step."""
    b, Y = probes[-1]
    if len(probes) == 1:
        return b + side * first_step
    b_prev, Y_prev = probes[-2]
    last = abs(b - b_prev)
    step = 4.0 * last
    if Y != Y_prev:
        root = b - Y * (b - b_prev) / (Y - Y_prev)
        if (root - b) * side > 0:
            step = min(max(1.2 * abs(root - b), 1.5 * last), 4.0 * last)
    return b + side * step


def _next_intercept(b_lo, Y_lo, b_hi, Y_hi, last_sides):
    """Where the line through the bracket's ends ``(b, Y)`` crosses 0 (regula falsi).

    Illinois safeguard: when the same end moved twice in a row, the other end's
    ``Y`` counts half; three times, bisection.
    """
    mid = 0.5 * (b_lo + b_hi)
    if len(last_sides) >= 3 and last_sides[-1] == last_sides[-2] == last_sides[-3]:
        return mid
    if len(last_sides) >= 2 and last_sides[-1] == last_sides[-2]:
        if last_sides[-1] == 1:
            Y_hi = 0.5 * Y_hi
        else:
            Y_lo = 0.5 * Y_lo
    cross = b_lo + (b_hi - b_lo) * Y_lo / (Y_lo - Y_hi)
    inner_lo, inner_hi = sorted((b_lo, b_hi))
    if np.isfinite(cross) and inner_lo < cross < inner_hi:
        return cross
    return mid


def _hinge_intercept(z0, y, s):
    """``argmin_b sum_i s_i max(0, 1 - y_i (z0_i + b))``: a weighted median of the kinks.

    The slope in ``b`` is ``-S_+ + sum_{kink_i < b} s_i`` (``S_+`` the weight of
    the positive class), so the minimum is at the first kink where the
    cumulative weight reaches ``S_+``.
    """
    kinks = y - z0
    order = np.argsort(kinks, kind="stable")
    cumulative = np.cumsum(s[order])
    k = int(np.searchsorted(cumulative, float(s[y > 0].sum()), side="left"))
    return float(kinks[order[min(k, kinks.size - 1)]])


def hinge_lp(problem):
    """Hinge with ``l2 = 0``: the dual linear program, solved exactly by HiGHS (simplex).

    ``max (1/n) sum_i s_i alpha_i`` over ``0 <= alpha <= 1`` subject to
    ``|(1/n) sum_i s_i y_i alpha_i x_ij| <= l1`` for every ``j`` and, with an
    intercept, ``sum_i s_i y_i alpha_i = 0``: ``n`` variables but only ``2d (+1)``
    rows, far smaller for the simplex than the primal's ``n`` rows. ``w`` is
    read off the rows' multipliers and ``b`` is then made exactly optimal.
    """
    model = Model(problem)
    n, d, y, s = model.n, model.d, model.y, model.s
    X = sp.csr_matrix(problem.data.X, dtype=np.float64)
    M = (X.T @ sp.diags(s * y / n)).tocsr()
    eq = dict(A_eq=sp.csr_matrix((s * y)[None, :]), b_eq=[0.0]) if model.fit_intercept else {}
    res = linprog(-s / n, A_ub=sp.vstack([M, -M], format="csc"), b_ub=np.full(2 * d, model.l1),
                  bounds=(0.0, 1.0), method="highs-ds", **eq,
                  options=dict(primal_feasibility_tolerance=1e-10,
                               dual_feasibility_tolerance=1e-10))
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the hinge LP: {res.message}")
    multipliers = res.ineqlin.marginals
    w = multipliers[d:] - multipliers[:d]
    b = _hinge_intercept(model.margins(w, 0.0), y, s) if model.fit_intercept else 0.0
    value = problem.objective(w, b)
    dual = model.dual(-y * np.clip(res.x, 0.0, 1.0))[0]
    if np.isfinite(dual):
        return w, b, value - dual, True, "highs", res.nit
    return w, b, abs(value + res.fun), False, "highs", res.nit
