"""The exact optimum ``P*`` of a :class:`~parallel_sgd.model.problem.Problem`, with a certificate.

Every suboptimality in the project is measured against this (DESIGN section 5),
so it must be far more precise than any SGD run: relative 1e-10 on ``P*`` for
smooth losses, 1e-9 for the hinge loss (the defaults of ``tol``).

* Smooth losses without L1 on large ``d``: truncated Newton from zero (CG on
  the Hessian, its rank-one mean part exact). Otherwise, L-BFGS-B on ``(w, b)``
  (on ``w = w+ - w-``, ``w+, w- >= 0``, when there is an L1 term) to a rough
  start, then Newton steps. When the dense Hessian is cheap (small ``d``) they
  are solved exactly (Cholesky, or a proximal Newton model by coordinate
  descent with L1); otherwise by preconditioned CG on the nonzero coordinates
  with their signs fixed, the line search projected back onto that orthant.
  The intercept is made exactly optimal (1-D Newton) before every certificate.
* Hinge with ``l2 > 0``: dual coordinate ascent (:mod:`.kernels.dual_cd`, on
  threads for large sparse data, so that the last digits of its optimum may
  differ from run to run, within the certified gap) at a fixed intercept,
  inside a 1-D root search over the intercept; for small ``d``, an exact solve
  on the face of the problem the margins point to.
* Hinge with ``l2 = 0``: the dual linear program, solved by HiGHS.

The reported ``gap`` bounds ``P(coef, intercept) - P*`` through Fenchel
duality: for ``theta`` in the domain of the conjugates ``l_i*`` with, when there
is an intercept, ``sum_i s_i theta_i = 0``,

    P* >= D(theta) = -(1/n) sum_i s_i l_i*(theta_i) - R*(-X^T (s theta) / n),

where ``R*(u) = ||soft(u, l1)||^2 / (2 l2)`` if ``l2 > 0`` and, if ``l2 = 0``,
``R*(u) = 0`` when ``||u||_inf <= l1`` (``theta`` is scaled down to get there).
At the optimum ``theta_i = l'(x_i.w* + b*, y_i)`` and the bound is tight. With
no penalty at all the dual needs ``X^T (s theta) = 0`` exactly, which floating
point never gives: then ``gap`` is an estimate (Newton decrement, or HiGHS's
own gap) and ``certified`` is False. ``gap`` is computed in float64 and
clipped at 0: below about ``1e-15 |P|`` it is rounding.

The package: :mod:`.optimum` (the result), :mod:`.model` (the objective's
pieces and its Fenchel dual), :mod:`.smooth` and :mod:`.newton` (smooth
losses), :mod:`.hinge` (the hinge loss) and :mod:`.cache` (optima on disk).
"""
import contextlib
import time
import warnings

import numpy as np

from ..model.multinomial import MultinomialProblem
from ..model.problem import Problem
from .cache import load, save
from .hinge import HingeDual, hinge_lp
from .model import T_MAX, Model
from .optimum import Optimum

# bound under its old private name: the dispatch calls (and tests patch) ``_smooth_optimum``
from .smooth import smooth_optimum as _smooth_optimum
from .softmax import softmax_optimum

DEFAULT_TOL = {"smooth": 1e-10, "hinge": 1e-9}
MIN_TOL = 1e-15
_MEMORY = {}  # (fingerprint, tol) -> Optimum, for this process


def reference_optimum(problem, tol=None, cache=True):
    """Solve ``problem`` to a relative precision ``tol`` on ``P*``.

    Parameters
    ----------
    problem : Problem or MultinomialProblem
        A multinomial problem must be softmax with L2 only: it is solved by
        :func:`.softmax.softmax_optimum` (L-BFGS, an estimated gap, not cached).
    tol : float, optional
        Target for ``gap / |P*|``: default 1e-10 for smooth losses, 1e-9 for hinge.
    cache : bool
        Look the optimum up, and store it, in memory and on disk under
        ``<data_home>/optima/<problem.fingerprint>.npz`` (``data_home`` is
        ``$PSGD_DATA_HOME`` or ``~/.cache/parallel_sgd``). A stored optimum is used
        when it was solved to ``tol`` or tighter. False solves afresh, touching neither.

    Returns
    -------
    Optimum
        Warns (RuntimeWarning) when the precision asked for is not certified,
        e.g. ``alpha = 0`` on separable data, where no minimizer exists.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a psgd.Problem, got {type(problem).__name__}")
    if isinstance(problem, MultinomialProblem):
        return softmax_optimum(problem, DEFAULT_TOL["smooth"] if tol is None else float(tol))
    if problem.loss.name not in T_MAX and problem.loss.name != "squared_error":
        raise ValueError(f"reference_optimum does not support loss {problem.loss.name!r}")
    kind = "smooth" if problem.loss.is_smooth else "hinge"
    tol = DEFAULT_TOL[kind] if tol is None else float(tol)
    if not MIN_TOL <= tol < 1.0:
        raise ValueError(f"tol must be in [{MIN_TOL:g}, 1) (float64 resolution), got {tol!r}")
    key = (problem.fingerprint, tol)
    if cache:
        found = _MEMORY.get(key) or load(problem, tol)
        if found is not None:
            _MEMORY[key] = found
            return found
    start = time.perf_counter()
    with _single_threaded_blas():
        if kind == "smooth":
            w, b, gap, certified, method, n_iter = _smooth_optimum(Model(problem), tol)
        elif problem.penalty.l2 > 0:
            w, b, gap, certified, method, n_iter = HingeDual(problem).optimum(tol)
        else:
            w, b, gap, certified, method, n_iter = hinge_lp(problem)
    objective = problem.objective(w, b)
    b = float(b) if problem.fit_intercept else 0.0
    w = np.array(w, dtype=np.float64)
    w.setflags(write=False)
    result = Optimum(w, b, objective, max(float(gap), 0.0), bool(certified), method,
                     int(n_iter), time.perf_counter() - start)
    if not (certified and result.relative_gap <= tol):
        what = "certified" if certified else "estimated (not certified)"
        hint = (" With alpha=0 the objective may have no minimizer (e.g. separable data)."
                if problem.alpha == 0 else "")
        warnings.warn(
            f"reference_optimum({problem!r}): relative gap {result.relative_gap:.3g} "
            f"{what}, asked for {tol:g}.{hint}", RuntimeWarning, stacklevel=2)
    if cache:
        _MEMORY[key] = result
        save(problem, tol, result)
    return result


def _single_threaded_blas():
    """Keep BLAS to one thread while solving, if threadpoolctl is installed.

    The solvers' BLAS calls are small; OpenBLAS threads left spinning after them
    take the cores the parallel Numba passes over the data need, which then run
    several times slower (BENCHMARKS.md, Reference optimum).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
