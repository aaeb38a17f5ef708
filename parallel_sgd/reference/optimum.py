"""`Optimum`, what `reference_optimum` returns: the minimizer and how well it is known.

Its own module so that the dispatch and the disk cache, which both build one,
can import it without importing each other.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Optimum:
    """The minimizer of a Problem's objective and how well it is known.

    Attributes
    ----------
    coef : ndarray of float64, shape (n_features,), read-only
    intercept : float
    objective : float
        ``P(coef, intercept)``, the value quoted as ``P*``.
    gap : float
        Upper bound on ``objective - P*`` (an estimate when ``certified`` is False).
    certified : bool
        Whether ``gap`` is a duality-gap bound rather than an estimate.
    method : str
        The solver that produced the point.
    n_iter : int
        Its iterations (L-BFGS plus Newton steps, dual CD epochs, or simplex steps).
    time_s : float
        Wall-clock seconds of the solve (not of a cache lookup).
    """

    coef: np.ndarray
    intercept: float
    objective: float
    gap: float
    certified: bool
    method: str
    n_iter: int
    time_s: float

    @property
    def relative_gap(self):
        """``gap / |objective|``: what ``tol`` bounds."""
        return self.gap / abs(self.objective) if self.objective != 0 else self.gap
