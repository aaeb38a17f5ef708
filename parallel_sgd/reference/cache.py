"""Optima stored on disk, one ``.npz`` per problem fingerprint.

A certified optimum of a large problem takes minutes, and every run of the
benchmark on the same problem needs the same ``P*``: it is solved once and read
back afterwards. Files are written atomically; an unreadable or foreign file is
ignored and overwritten. (The in-memory cache is ``_MEMORY`` in the package.)
"""
import warnings

import numpy as np

from .._files import atomic_write
from ..data.catalog import get_data_home
from .optimum import Optimum

_CACHE_VERSION = 1


def _cache_path(problem):
    return get_data_home() / "optima" / f"{problem.fingerprint}.npz"


def load(problem, tol):
    """The stored optimum if it exists, is readable and was solved to ``tol`` or tighter."""
    try:
        with np.load(_cache_path(problem), allow_pickle=False) as f:
            if (int(f["version"]) != _CACHE_VERSION or str(f["fingerprint"]) != problem.fingerprint
                    or float(f["tol"]) > tol or f["coef"].shape != (problem.n_features,)):
                return None
            coef = np.array(f["coef"], dtype=np.float64)
            coef.setflags(write=False)
            return Optimum(coef, float(f["intercept"]), float(f["objective"]), float(f["gap"]),
                           bool(f["certified"]), str(f["method"]), int(f["n_iter"]),
                           float(f["time_s"]))
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt or foreign file: ignored, then overwritten
        return None


def save(problem, tol, opt):
    """Store the optimum (written to a temporary name, then renamed)."""
    path = _cache_path(problem)
    try:
        with atomic_write(path, "wb") as f:
            np.savez(f, version=_CACHE_VERSION, fingerprint=problem.fingerprint, tol=tol,
                     coef=opt.coef, intercept=opt.intercept, objective=opt.objective,
                     gap=opt.gap, certified=opt.certified, method=opt.method,
                     n_iter=opt.n_iter, time_s=opt.time_s)
    except OSError as err:
        warnings.warn(f"could not cache the optimum in {path}: {err}", RuntimeWarning,
                      stacklevel=3)
