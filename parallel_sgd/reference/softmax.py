"""The optimum of a softmax :class:`~parallel_sgd.model.multinomial.MultinomialProblem` (L2 only).

The objective is smooth, so L-BFGS-B on ``(W, b)`` flattened, with the exact
gradient, to a gradient norm far below what SGD reaches. With ``l2 > 0`` the
objective is ``l2``-strongly convex in ``W``; the reported ``gap`` is the
estimate ``||grad||^2 / (2 l2)`` (not a certificate: the intercepts are not
penalized), so ``certified`` is False.
"""
import time

import numpy as np
from scipy.optimize import minimize

from .optimum import Optimum


def softmax_optimum(problem, tol=1e-10, max_iter=20000):
    """Minimize a softmax multinomial problem's objective.

    Parameters
    ----------
    problem : MultinomialProblem
        With ``loss="softmax"`` and no L1 part (``l1_ratio=0`` or ``alpha=0``).
    tol : float
        Relative decrease of the objective (L-BFGS's ``ftol``) to stop at.
    max_iter : int

    Returns
    -------
    Optimum
        ``coef`` (d, K), ``intercept`` (K,), ``objective``, an estimated ``gap``.
    """
    if problem.loss.name != "softmax":
        raise ValueError(f"softmax_optimum solves softmax problems, not {problem.loss.name!r}; "
                         f"compare Crammer-Singer fits with LinearSVC(multi_class="
                         f"'crammer_singer') instead")
    if problem.penalty.l1 > 0:
        raise ValueError("softmax_optimum needs a smooth objective: l1_ratio must be 0")
    d, K = problem.n_features, problem.n_classes
    size = d * K

    def unpack(z):
        return z[:size].reshape(d, K), (z[size:] if problem.fit_intercept else None)

    def value_and_grad(z):
        W, b = unpack(z)
        gw, gb = problem.gradient(W, b)
        parts = [gw.ravel(), gb] if problem.fit_intercept else [gw.ravel()]
        return problem.objective(W, b), np.concatenate(parts)

    start = time.perf_counter()
    z0 = np.zeros(size + (K if problem.fit_intercept else 0))
    found = minimize(value_and_grad, z0, jac=True, method="L-BFGS-B",
                     options=dict(maxiter=max_iter, maxfun=2 * max_iter, ftol=tol,
                                  gtol=1e-12, maxcor=30))
    W, b = unpack(found.x)
    W = W.copy()
    b = np.zeros(K) if b is None else b.copy()
    objective = problem.objective(W, b)
    grad = found.jac
    l2 = problem.penalty.l2
    gap = float(grad @ grad / (2 * l2)) if l2 > 0 else float("nan")
    W.setflags(write=False)
    b.setflags(write=False)
    return Optimum(W, b, objective, gap, False, "lbfgs", int(found.nit),
                   time.perf_counter() - start)
