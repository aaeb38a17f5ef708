"""Per-example losses ``l(p, y)`` of a prediction ``p = x.w + b``, and their derivatives.

Sign convention everywhere: arguments in the order ``(p, y)``, ``deriv`` is
``dl/dp``, binary labels are +-1. Every formula is written so that it neither
overflows nor loses precision for ``|p|`` up to 1e300 (a loss value that is
mathematically larger than the largest float is ``inf``, never NaN).

A loss is picked by name from :data:`LOSSES`; kernels receive its integer
``code`` and call :func:`loss_deriv`, the single place that branches on it.
"""
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from ..errors import check_choice

SQUARED_ERROR = 0
LOG_LOSS = 1
HINGE = 2
SQUARED_HINGE = 3
MODIFIED_HUBER = 4


@jit
def _log1pexp(t):
    """log(1 + exp(t)) without overflow."""
    if t > 0.0:
        return t + math.log1p(math.exp(-t))
    return math.log1p(math.exp(t))


@jit
def loss_value(code, p, y):
    """l(p, y) for the loss with this ``code``."""
    if code == SQUARED_ERROR:
        r = p - y
        return 0.5 * r * r
    z = y * p
    if code == LOG_LOSS:
        return _log1pexp(-z)
    if code == HINGE:
        return max(0.0, 1.0 - z)
    if code == SQUARED_HINGE:
        m = max(0.0, 1.0 - z)
        return m * m
    # MODIFIED_HUBER
    if z < -1.0:
        return -4.0 * z
    m = max(0.0, 1.0 - z)
    return m * m


@jit
def loss_deriv(code, p, y):
    """dl/dp at (p, y) for the loss with this ``code`` (a subgradient for hinge)."""
    if code == SQUARED_ERROR:
        return p - y
    z = y * p
    if code == LOG_LOSS:
        # -y * sigmoid(-z), evaluated on the side where exp cannot overflow
        if z > 0.0:
            e = math.exp(-z)
            return -y * e / (1.0 + e)
        return -y / (1.0 + math.exp(z))
    if code == HINGE:
        return -y if z < 1.0 else 0.0
    if code == SQUARED_HINGE:
        return -2.0 * y * (1.0 - z) if z < 1.0 else 0.0
    # MODIFIED_HUBER
    if z < -1.0:
        return -4.0 * y
    return -2.0 * y * (1.0 - z) if z < 1.0 else 0.0


@jit
def loss_curvature(code, p, y):
    """d2l/dp2 at (p, y) (a generalized second derivative at kinks); 0 for hinge."""
    if code == SQUARED_ERROR:
        return 1.0
    z = y * p
    if code == LOG_LOSS:
        s = 1.0 / (1.0 + math.exp(-abs(z)))
        return s * (1.0 - s)
    if code == HINGE:
        return 0.0
    if code == SQUARED_HINGE:
        return 2.0 if z < 1.0 else 0.0
    return 2.0 if -1.0 <= z < 1.0 else 0.0


@jit
def _values(code, p, y, out):
    for i in range(p.shape[0]):
        out[i] = loss_value(code, p[i], y[i])
    return out


@jit
def _derivs(code, p, y, out):
    for i in range(p.shape[0]):
        out[i] = loss_deriv(code, p[i], y[i])
    return out


@jit
def _curvatures(code, p, y, out):
    for i in range(p.shape[0]):
        out[i] = loss_curvature(code, p[i], y[i])
    return out


def _pair(p, y):
    p = np.ascontiguousarray(p, dtype=np.float64)
    y = np.ascontiguousarray(np.broadcast_to(np.asarray(y, dtype=np.float64), p.shape))
    return p.ravel(), y.ravel(), p.shape


@dataclass(frozen=True)
class Loss:
    """A loss: its name, kernel code, task and smoothness constant.

    ``smoothness`` is the Lipschitz constant of ``deriv`` in ``p`` (``inf`` for
    hinge, which is not smooth); the per-example smoothness of ``x -> l(x.w, y)``
    is ``smoothness * ||x||^2``. ``bounded_derivative`` says whether ``|dl/dp|``
    is bounded; where it is not, a too-large step diverges instead of bouncing.
    """

    name: str
    code: int
    smoothness: float
    classification: bool
    bounded_derivative: bool

    @property
    def is_smooth(self):
        return math.isfinite(self.smoothness)

    def value(self, p, y):
        """Element-wise loss values (float64 array shaped like ``p``)."""
        p, y, shape = _pair(p, y)
        return _values(self.code, p, y, np.empty_like(p)).reshape(shape)

    def deriv(self, p, y):
        """Element-wise ``dl/dp`` (float64 array shaped like ``p``)."""
        p, y, shape = _pair(p, y)
        return _derivs(self.code, p, y, np.empty_like(p)).reshape(shape)

    def curvature(self, p, y):
        """Element-wise ``d2l/dp2`` (generalized at kinks)."""
        p, y, shape = _pair(p, y)
        return _curvatures(self.code, p, y, np.empty_like(p)).reshape(shape)


LOSSES = {
    loss.name: loss
    for loss in (
        Loss("squared_error", SQUARED_ERROR, 1.0, classification=False, bounded_derivative=False),
        Loss("log_loss", LOG_LOSS, 0.25, classification=True, bounded_derivative=True),
        Loss("hinge", HINGE, math.inf, classification=True, bounded_derivative=True),
        Loss("squared_hinge", SQUARED_HINGE, 2.0, classification=True, bounded_derivative=False),
        Loss("modified_huber", MODIFIED_HUBER, 2.0, classification=True, bounded_derivative=True),
    )
}


def get_loss(loss):
    """The :class:`Loss` named ``loss`` (or ``loss`` itself if it is one)."""
    if isinstance(loss, Loss):
        return loss
    return LOSSES[check_choice("loss", loss, LOSSES)]
