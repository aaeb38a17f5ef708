"""L2, L1 and elastic-net penalties, and the lazy L1 catch-up the sparse kernels use.

The penalty is ``alpha*(1 - l1_ratio)/2*||w||^2 + alpha*l1_ratio*||w||_1``; the
intercept is never penalized. On sparse rows a step must cost O(nnz of the row),
so kernels apply L2 through a weight scale (``w = scale * v``) and L1 through the
cumulative penalty of Tsuruoka, Tsujii and Ananiadou (ACL 2009), on the
coordinates a row touches only (:func:`cumulative_l1`).
"""
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit


@dataclass(frozen=True)
class Penalty:
    """Elastic-net penalty with strength ``alpha >= 0`` and mixing ``l1_ratio`` in [0, 1]."""

    alpha: float
    l1_ratio: float = 0.0

    def __post_init__(self):
        alpha, ratio = float(self.alpha), float(self.l1_ratio)
        if not math.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha!r}")
        if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "l1_ratio", ratio)

    @property
    def l2(self):
        """Coefficient of ``||w||^2 / 2``."""
        return self.alpha * (1.0 - self.l1_ratio)

    @property
    def l1(self):
        """Coefficient of ``||w||_1``."""
        return self.alpha * self.l1_ratio

    def value(self, w):
        # np.sum(w * w), not w @ w: a BLAS call wakes OpenBLAS's worker threads, which
        # then spin and take the cores from the next SGD epoch (BENCHMARKS.md, Serial epoch).
        squares, absolutes = norms(np.ascontiguousarray(w).ravel())
        return 0.5 * self.l2 * squares + self.l1 * absolutes

    def gradient(self, w):
        """Gradient of the L2 part plus the L1 subgradient ``l1*sign(w)`` (0 at 0)."""
        w = np.asarray(w, dtype=np.float64)
        return self.l2 * w + self.l1 * np.sign(w)

    def prox(self, w, step):
        """``argmin_z penalty(z) + ||z - w||^2 / (2 step)``: soft-threshold, then shrink."""
        w = np.asarray(w, dtype=np.float64)
        soft = np.sign(w) * np.maximum(np.abs(w) - step * self.l1, 0.0)
        return soft / (1.0 + step * self.l2)


@jit
def soft_threshold(w, threshold):
    """``sign(w) * max(|w| - threshold, 0)``: the proximal step of ``threshold * |w|``."""
    if w > threshold:
        return w - threshold
    if w < -threshold:
        return w + threshold
    return 0.0


@jit
def cumulative_l1(v, q, j, scale, u):
    """Bring coordinate ``j`` up to date with the L1 penalty accumulated so far.

    ``u`` is the total L1 penalty per weight applied since training began
    (the sum of ``eta_t * l1``), ``q[j]`` what coordinate ``j`` has actually
    received; the weight is ``scale * v[j]``. Moves it toward zero by the
    difference, clipped at zero (Tsuruoka et al. 2009), in O(1).
    """
    z = v[j]
    if z > 0.0:
        v[j] = max(0.0, z - (u + q[j]) / scale)
    elif z < 0.0:
        v[j] = min(0.0, z + (u - q[j]) / scale)
    q[j] += scale * (v[j] - z)


@jit
def norms(w):
    """``(sum w_j^2, sum |w_j|)`` in float64, in one pass and without temporaries."""
    squares = absolutes = 0.0
    for j in range(w.shape[0]):
        x = np.float64(w[j])
        squares += x * x
        absolutes += abs(x)
    return squares, absolutes


@jit
def flush_cumulative_l1(v, q, scale, u):
    """Apply :func:`cumulative_l1` to every coordinate (before ``w`` leaves the kernels)."""
    for j in range(v.shape[0]):
        cumulative_l1(v, q, j, scale, u)
