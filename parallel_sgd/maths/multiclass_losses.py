"""Multiclass losses of K scores ``p = x W + b``: softmax and Crammer-Singer.

Same conventions as :mod:`parallel_sgd.maths.losses`, with the label ``y`` an integer
class index in ``0 .. K-1`` and ``p`` a vector of K scores:

* ``softmax``: ``l(p, y) = log(sum_k exp(p_k)) - p_y`` (the cross-entropy of the
  softmax model), computed with the maximum score subtracted so that it neither
  overflows nor loses precision; ``dl/dp_k = softmax(p)_k - [k == y]``.
* ``multiclass_hinge`` (Crammer and Singer 2001): ``l(p, y) = max(0, 1 + max_{k != y}
  p_k - p_y)``; its subgradient is ``+1`` at the best other class ``m``, ``-1`` at
  ``y`` when the margin is violated (``1 + p_m - p_y > 0``), and 0 otherwise (also
  at the kink, as the binary hinge does). Ties for ``m`` go to the smallest index.

:func:`multiclass_loss_grad` is the one place the kernels branch on the loss code.
"""
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from ..errors import check_choice
from .losses import get_loss

SOFTMAX = 0
MULTICLASS_HINGE = 1


@jit
def softmax_grad(p, y, g):
    """Softmax cross-entropy at scores ``p`` and label ``y``; writes ``dl/dp`` into ``g``."""
    K = p.shape[0]
    top = p[0]
    for k in range(1, K):
        top = max(top, p[k])
    for k in range(K):
        g[k] = math.exp(p[k] - top)
    # summed in a loop of its own: fused with the stores into g, the sum's order
    # would depend on whether g and p lie close in memory (LLVM's runtime alias
    # check picks a vector or a scalar loop), and so would the result's last bits
    total = 0.0
    for k in range(K):
        total += g[k]
    for k in range(K):
        g[k] /= total
    g[y] -= 1.0
    return top + math.log(total) - p[y]


@jit
def crammer_singer_grad(p, y, g):
    """Crammer-Singer hinge at scores ``p`` and label ``y``; writes a subgradient into ``g``."""
    K = p.shape[0]
    best = -1
    for k in range(K):
        g[k] = 0.0
        if k != y and (best < 0 or p[k] > p[best]):
            best = k
    margin = 1.0 + p[best] - p[y]
    if margin > 0.0:
        g[best] = 1.0
        g[y] = -1.0
        return margin
    return 0.0


@jit
def multiclass_loss_grad(code, p, y, g):
    """Loss value at (``p``, ``y``) for the loss ``code``; ``g`` receives ``dl/dp``."""
    if code == SOFTMAX:
        return softmax_grad(p, y, g)
    return crammer_singer_grad(p, y, g)


@jit
def _values_and_grads(code, P, y, G, out):
    for i in range(P.shape[0]):
        out[i] = multiclass_loss_grad(code, P[i], y[i], G[i])
    return out


@dataclass(frozen=True)
class MulticlassLoss:
    """A multiclass loss: name, kernel code and constants.

    ``smoothness`` bounds the largest eigenvalue of the Hessian in ``p`` (1/2 for
    softmax; ``inf`` for the hinge, which is not smooth), so that the per-example
    smoothness in ``W`` is ``smoothness * ||x||^2``. ``binary`` is the binary loss the
    model reduces to with two classes (on the score difference); the step-size
    defaults are taken from it.
    """

    name: str
    code: int
    smoothness: float
    binary_name: str
    classification: bool = True
    bounded_derivative: bool = True

    @property
    def is_smooth(self):
        return math.isfinite(self.smoothness)

    @property
    def binary(self):
        return get_loss(self.binary_name)

    def value_and_grad(self, P, y):
        """Per-row losses (n,) and ``dl/dP`` (n, K) for scores ``P`` (n, K), labels ``y``."""
        P = np.ascontiguousarray(P, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.int64)
        G = np.empty_like(P)
        values = _values_and_grads(self.code, P, y, G, np.empty(P.shape[0]))
        return values, G

    def value(self, P, y):
        """Per-row losses for scores ``P`` (n, K) and labels ``y`` (n,)."""
        return self.value_and_grad(P, y)[0]


MULTICLASS_LOSSES = {
    loss.name: loss
    for loss in (
        MulticlassLoss("softmax", SOFTMAX, 0.5, "log_loss"),
        MulticlassLoss("multiclass_hinge", MULTICLASS_HINGE, math.inf, "hinge"),
    )
}

# the binary loss names the estimator's ``loss`` uses for the same models
FROM_BINARY = {"log_loss": "softmax", "hinge": "multiclass_hinge"}


def get_multiclass_loss(loss):
    """The :class:`MulticlassLoss` named ``loss`` (also ``log_loss`` -> softmax,
    ``hinge`` -> multiclass_hinge)."""
    if isinstance(loss, MulticlassLoss):
        return loss
    if isinstance(loss, str) and loss in FROM_BINARY:
        loss = FROM_BINARY[loss]
    return MULTICLASS_LOSSES[check_choice("multiclass loss", loss, MULTICLASS_LOSSES)]
