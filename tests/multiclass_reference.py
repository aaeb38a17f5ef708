"""Slow NumPy references for the multiclass models (softmax, Crammer-Singer).

Written from DESIGN.md section 1 with K scores and the step rule of
``parallel_sgd.kernels.multiclass``, on a dense float64 d x K matrix with no weight
scale and no lazy updates except the cumulative L1 penalty, which is the rule itself.
"""
import numpy as np
from scipy.special import logsumexp, softmax

from .reference import dense


def loss_value(name, P, y):
    """Per-row losses of scores ``P`` (n, K) and class indices ``y``."""
    P = np.atleast_2d(np.asarray(P, dtype=np.float64))
    rows = np.arange(P.shape[0])
    if name == "softmax":
        return logsumexp(P, axis=1) - P[rows, y]
    others = P.copy()
    others[rows, y] = -np.inf
    return np.maximum(0.0, 1.0 + others.max(axis=1) - P[rows, y])


def loss_grad(name, P, y):
    """``dl/dP`` (n, K); for the hinge the subgradient at the best other class (lowest index)."""
    P = np.atleast_2d(np.asarray(P, dtype=np.float64))
    rows = np.arange(P.shape[0])
    if name == "softmax":
        G = softmax(P, axis=1)
        G[rows, y] -= 1.0
        return G
    others = P.copy()
    others[rows, y] = -np.inf
    best = others.argmax(axis=1)
    violated = 1.0 + others[rows, best] - P[rows, y] > 0
    G = np.zeros_like(P)
    G[rows[violated], best[violated]] = 1.0
    G[rows[violated], y[violated]] = -1.0
    return G


def objective(X, y, W, b, loss, alpha, l1_ratio, sample_weight=None):
    """P(W, b) straight from the definition."""
    X = dense(X)
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    risk = np.mean(s * loss_value(loss, X @ W + b, y))
    return risk + alpha * (1 - l1_ratio) / 2 * np.sum(W * W) + alpha * l1_ratio * np.abs(W).sum()


class ReferenceMulticlassSGD:
    """One multiclass model trained step by step as the kernel defines the steps."""

    def __init__(self, X, y, K, loss, alpha, l1_ratio, intercept_rate=1.0, sample_weight=None):
        self.X = dense(X)
        self.y = np.asarray(y)
        self.loss = loss
        self.l2, self.l1 = alpha * (1 - l1_ratio), alpha * l1_ratio
        self.rate = intercept_rate
        self.s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        self.W = np.zeros((self.X.shape[1], K))
        self.b = np.zeros(K)
        self.u = 0.0
        self.q = np.zeros_like(self.W)

    def _cumulative_l1(self, j, k):
        z = self.W[j, k]
        if z > 0:
            self.W[j, k] = max(0.0, z - (self.u + self.q[j, k]))
        elif z < 0:
            self.W[j, k] = min(0.0, z + (self.u - self.q[j, k]))
        self.q[j, k] += self.W[j, k] - z

    def step(self, i, eta):
        x = self.X[i]
        g = self.s[i] * loss_grad(self.loss, x @ self.W + self.b, np.array([self.y[i]]))[0]
        self.W *= max(0.0, 1 - eta * self.l2)
        self.W -= eta * np.outer(x, g)
        self.b -= self.rate * eta * g
        self.u += eta * self.l1
        if self.l1 > 0:
            for j in np.flatnonzero(x):
                for k in range(self.W.shape[1]):
                    self._cumulative_l1(j, k)

    def weights(self):
        """(W, b) with the pending L1 penalty applied to every weight."""
        W = self.W.copy()
        pos, neg = W > 0, W < 0
        W[pos] = np.maximum(0.0, W[pos] - (self.u + self.q[pos]))
        W[neg] = np.minimum(0.0, W[neg] + (self.u - self.q[neg]))
        return W, self.b.copy()

    def run(self, order, etas):
        for i, eta in zip(order, etas):
            self.step(i, eta)
        return self


def svrg_inner_loop(X, y, W, b, loss, order, eta, eta_b, l2, sample_weight=None):
    """SVRG's inner steps from the snapshot ``(W, b)``, dense, from the definition:
    ``W <- (1 - eta l2) W - eta (M + x_i^T delta)``, ``b <- b - eta_b (delta + m_b)``."""
    X = dense(X)
    n = len(y)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight)
    D = s[:, None] * loss_grad(loss, X @ W + b, y)
    M, m_b = X.T @ D / n, D.sum(axis=0) / n
    W, b = W.copy(), b.copy()
    for i in order:
        delta = s[i] * loss_grad(loss, X[i] @ W + b, np.array([y[i]]))[0] - D[i]
        W = (1 - eta * l2) * W - eta * (M + np.outer(X[i], delta))
        b = b - eta_b * (delta + m_b)
    return W, b
