"""Slow, obviously-correct NumPy versions of what the kernels compute.

Written from the definitions in DESIGN.md section 1 and the step rules in
``parallel_sgd.kernels.sgd`` -- with dense float64 vectors and no tricks (no weight
scale, no lazy updates) -- so that the Numba kernels can be checked against them.
"""
import numpy as np


def loss_value(name, p, y):
    p = np.asarray(p, dtype=np.float64)
    z = y * p
    if name == "squared_error":
        return 0.5 * (p - y) ** 2
    if name == "log_loss":
        return np.logaddexp(0.0, -z)
    if name == "hinge":
        return np.maximum(0.0, 1.0 - z)
    if name == "squared_hinge":
        return np.maximum(0.0, 1.0 - z) ** 2
    if name == "modified_huber":
        return np.where(z < -1.0, -4.0 * z, np.maximum(0.0, 1.0 - z) ** 2)
    raise KeyError(name)


def loss_deriv(name, p, y):
    p = np.asarray(p, dtype=np.float64)
    z = y * p
    if name == "squared_error":
        return p - y
    if name == "log_loss":
        return -y * np.exp(-np.logaddexp(0.0, z))  # -y * sigmoid(-z)
    if name == "hinge":
        return np.where(z < 1.0, -y, 0.0)
    if name == "squared_hinge":
        return np.where(z < 1.0, -2.0 * y * (1.0 - z), 0.0)
    if name == "modified_huber":
        return np.where(z < -1.0, -4.0 * y, np.where(z < 1.0, -2.0 * y * (1.0 - z), 0.0))
    raise KeyError(name)


def dense(X):
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float64)


def objective(X, y, w, b, loss, alpha, l1_ratio, sample_weight=None):
    """P(w, b) straight from the definition."""
    X = dense(X)
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    risk = np.mean(s * loss_value(loss, X @ w + b, y))
    return risk + alpha * (1 - l1_ratio) / 2 * w @ w + alpha * l1_ratio * np.abs(w).sum()


def gradient(X, y, w, b, loss, alpha, l1_ratio, sample_weight=None, fit_intercept=True):
    """(dP/dw, dP/db), L1 as the subgradient sign(w)."""
    X = dense(X)
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    r = s * loss_deriv(loss, X @ w + b, y) / len(y)
    gw = X.T @ r + alpha * (1 - l1_ratio) * w + alpha * l1_ratio * np.sign(w)
    return gw, (r.sum() if fit_intercept else 0.0)


def rule_delta(name, hyper, state, j, g, eta, t):
    """Change of coordinate j; ``state`` is a dict of float64 arrays (d + 1 entries)."""
    beta1, beta2, eps = hyper
    if name == "sgd":
        return -eta * g
    if name == "momentum":
        state["v"][j] = beta1 * state["v"][j] + g
        return -eta * state["v"][j]
    if name == "adagrad":
        state["G"][j] += g * g
        return -eta * g / (np.sqrt(state["G"][j]) + eps)
    if name == "rmsprop":
        state["E"][j] = beta1 * state["E"][j] + (1 - beta1) * g * g
        return -eta * g / (np.sqrt(state["E"][j]) + eps)
    if name == "adam":
        state["m"][j] = beta1 * state["m"][j] + (1 - beta1) * g
        state["s"][j] = beta2 * state["s"][j] + (1 - beta2) * g * g
        m_hat = state["m"][j] / (1 - beta1 ** (t + 1))
        s_hat = state["s"][j] / (1 - beta2 ** (t + 1))
        return -eta * m_hat / (np.sqrt(s_hat) + eps)
    raise KeyError(name)


def new_state(d):
    return {key: np.zeros(d + 1) for key in ("v", "G", "E", "m", "s")}


def column_weights(X):
    """n / d_j, 1 for empty columns."""
    counts = (dense(X) != 0).sum(axis=0)
    return np.where(counts > 0, X.shape[0] / np.maximum(counts, 1), 1.0)


class ReferenceSGD:
    """One model trained step by step exactly as the kernels define the steps."""

    def __init__(self, X, y, loss, alpha, l1_ratio, rule="sgd", hyper=(0.9, 0.999, 1e-8),
                 fit_intercept=True, sample_weight=None):
        self.X = dense(X)
        self.y = np.asarray(y, dtype=np.float64)
        self.loss, self.rule, self.hyper = loss, rule, hyper
        self.l2 = alpha * (1 - l1_ratio)
        self.l1 = alpha * l1_ratio
        self.fit_intercept = fit_intercept
        self.s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        d = self.X.shape[1]
        self.w = np.zeros(d)
        self.b = 0.0
        self.u = 0.0
        self.q = np.zeros(d)
        self.state = new_state(d)
        self.pw = column_weights(X)

    def _cumulative_l1(self, j):
        z = self.w[j]
        if z > 0:
            self.w[j] = max(0.0, z - (self.u + self.q[j]))
        elif z < 0:
            self.w[j] = min(0.0, z + (self.u - self.q[j]))
        self.q[j] += self.w[j] - z

    def step(self, rows, eta, t):
        """One update from the rows ``rows`` (a batch; a single row for plain SGD)."""
        X, w = self.X, self.w
        g = np.array([self.s[i] * loss_deriv(self.loss, X[i] @ w + self.b, self.y[i])
                      for i in rows], dtype=np.float64).reshape(-1)
        batch = len(rows)
        if self.rule == "sgd":
            self.w = w = max(0.0, 1 - eta * self.l2) * w
            for gi, i in zip(g, rows):
                w -= eta * gi / batch * X[i]
            if self.fit_intercept:
                self.b -= eta * g.sum() / batch
            self.u += eta * self.l1
            if self.l1 > 0:
                for i in rows:
                    for j in np.flatnonzero(X[i]):
                        self._cumulative_l1(j)
            return
        grad = np.zeros_like(w)
        count = np.zeros_like(w)
        for gi, i in zip(g, rows):
            nz = X[i] != 0
            grad[nz] += gi * X[i, nz] / batch
            count[nz] += 1.0 / batch
        for j in np.flatnonzero(count):
            wj = w[j]
            gj = grad[j] + count[j] * self.pw[j] * (self.l2 * wj + self.l1 * np.sign(wj))
            new = wj + rule_delta(self.rule, self.hyper, self.state, j, gj, eta, t)
            if self.l1 > 0 and new * wj < 0:
                new = 0.0
            w[j] = new
        if self.fit_intercept:
            self.b += rule_delta(self.rule, self.hyper, self.state, len(w), g.sum() / batch, eta, t)

    def weights(self):
        """(w, b) with the pending L1 penalty applied to every coordinate."""
        w, q = self.w.copy(), self.q.copy()
        for j in range(len(w)):
            z = w[j]
            if z > 0:
                w[j] = max(0.0, z - (self.u + q[j]))
            elif z < 0:
                w[j] = min(0.0, z + (self.u - q[j]))
        return w, self.b

    def run(self, order, etas, batch_size=1, t_start=0):
        for s, eta in enumerate(etas):
            self.step(order[s * batch_size:(s + 1) * batch_size], eta, t_start + s)
        return self


def schedule_rates(name, t, eta0, alpha=0.0, t0=0.0, beta=1.0, epoch=0):
    t = np.asarray(t, dtype=np.float64)
    if name == "constant":
        return np.full_like(t, eta0)
    if name == "inverse":
        return eta0 / (1 + eta0 * alpha * t)
    if name == "inverse_sqrt":
        return eta0 / np.sqrt(1 + t)
    if name == "optimal":
        return 1.0 / (alpha * (1.0 / (alpha * eta0) + t))
    if name == "exponential":
        return np.full_like(t, eta0 * beta ** epoch)
    raise KeyError(name)


def svrg_inner_loop(X, y, w, b, loss, order, eta, eta_b, l2, l1, ratios=None,
                    sample_weight=None):
    """One SVRG inner loop from snapshot ``(w, b)`` over rows ``order``, every step applied
    to every coordinate: ``w <- soft((1 - eta l2) w - eta (mu + delta x_i), eta l1)``,
    ``b <- b - eta_b (delta + mu_b)`` with ``delta = r_i (s_i l'(x_i.w + b) - s_i l'(x_i.w~ + b~))``.
    Returns ``(w, b)``."""
    X = dense(X)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    r = np.ones(n) if ratios is None else ratios
    snap = s * loss_deriv(loss, X @ w + b, y)
    mu, mu_b = X.T @ snap / n, snap.mean()
    w, b = np.array(w, dtype=np.float64), float(b)
    for i in order:
        delta = r[i] * (s[i] * loss_deriv(loss, X[i] @ w + b, y[i]) - snap[i])
        z = (1.0 - eta * l2) * w - eta * (mu + delta * X[i])
        w = soft_threshold(z, eta * l1)
        b -= eta_b * (delta + mu_b)
    return w, b


def soft_threshold(z, threshold):
    """``sign(z) * max(|z| - threshold, 0)``."""
    return np.sign(z) * np.maximum(np.abs(z) - threshold, 0.0)


class ReferenceASGD(ReferenceSGD):
    """:class:`ReferenceSGD` that also averages its iterates (Polyak-Ruppert), from the
    definition: after every step ``t >= start`` (0-based), ``abar += (w - abar) / k``.

    The iterates averaged are the ones the steps produce (L1 applied lazily, at the
    coordinates a row touches), as the kernel and scikit-learn average them.
    """

    def __init__(self, *args, start=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.start = start
        self.count = 0
        self.avg_w = np.zeros_like(self.w)
        self.avg_b = 0.0

    def run(self, order, etas, batch_size=1, t_start=0):
        for s, eta in enumerate(etas):
            t = t_start + s
            self.step(order[s * batch_size:(s + 1) * batch_size], eta, t)
            if t >= self.start:
                self.count += 1
                self.avg_w = self.avg_w + (self.w - self.avg_w) / self.count
                self.avg_b += (self.b - self.avg_b) / self.count
        return self

    def averaged_weights(self):
        """The average (or the current weights while averaging has not started)."""
        return (self.avg_w.copy(), self.avg_b) if self.count else self.weights()
