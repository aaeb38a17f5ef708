"""scikit-learn peers: SGDClassifier / SGDRegressor, and LogisticRegression (saga, liblinear).

Conventions: ``SGDClassifier``'s ``alpha`` and ``l1_ratio`` are ours;
``LogisticRegression`` minimizes ``C sum_i s_i l_i + penalty(w)`` with the
penalty not divided by ``alpha``, so ``C = 1 / (n alpha)`` gives the same
minimizer. Labels are the Problem's internal +-1, so ``coef_`` is the weight of
the +1 class, as ours is.
"""
import math
import time
import warnings

import numpy as np

from ...model.schedules import make_schedule

#: our schedule -> scikit-learn SGD's (``inverse`` is ``optimal`` with another t0,
#: which scikit-learn picks itself; ``exponential`` has no counterpart).
SGD_SCHEDULES = {"optimal": "optimal", "inverse": "optimal", "constant": "constant",
                 "inverse_sqrt": "invscaling", "exponential": "constant"}


def _sgd_estimator(problem, random_state, learning_rate, eta0):
    from sklearn.linear_model import SGDClassifier, SGDRegressor
    schedule = make_schedule(learning_rate, eta0, problem.alpha, problem.loss,
                             problem.max_smoothness)
    options = dict(
        loss=problem.loss.name, alpha=problem.alpha,
        penalty="elasticnet" if problem.l1_ratio > 0 else "l2", l1_ratio=problem.l1_ratio,
        fit_intercept=problem.fit_intercept, learning_rate=SGD_SCHEDULES[schedule.name],
        eta0=schedule.eta0, power_t=0.5, shuffle=True, random_state=random_state, tol=None)
    if problem.classes is None:
        return SGDRegressor(**options)
    return SGDClassifier(**options)


def _coef(estimator):
    return np.ravel(estimator.coef_).astype(np.float64), float(np.ravel(estimator.intercept_)[0])


def run_sgd(problem, trace, n_epochs, random_state, learning_rate, eta0):
    """``partial_fit`` once per epoch (scikit-learn shuffles each time); a row per epoch."""
    estimator = _sgd_estimator(problem, random_state, learning_rate, eta0)
    X, y, weights = problem.data.X, problem.y, problem.data.sample_weight
    n = problem.n_samples
    extra = {} if problem.classes is None else {"classes": np.array([-1.0, 1.0])}
    trace.record(np.zeros(problem.n_features), 0.0, epoch=0, n_updates=0, n_grad_evals=0)
    for epoch in range(1, math.ceil(n_epochs) + 1):
        with trace.clock:
            estimator.partial_fit(X, y, sample_weight=weights, **extra)
        if trace.record(*_coef(estimator), epoch=epoch, n_updates=epoch * n,
                        n_grad_evals=epoch * n):
            break


def _logistic(problem, solver, **options):
    from sklearn.linear_model import LogisticRegression
    C = 1.0 / (problem.n_samples * problem.alpha) if problem.alpha > 0 else np.inf
    return LogisticRegression(C=C, l1_ratio=problem.l1_ratio, solver=solver,
                              fit_intercept=problem.fit_intercept, **options)


def _fresh_fits(problem, trace, solver, max_iters, passes, **options):
    """A fresh fit per ``max_iter`` in ``max_iters``, each timed alone (its row's ``time_s``).

    Warm starts do not work as checkpoints here: SAGA restarted from a warm
    start forgets its gradient table and stalls. ``passes(n_iter)`` converts the
    solver's iterations to passes (NaN when they are not passes).
    """
    from sklearn.exceptions import ConvergenceWarning
    X, y, weights = problem.data.X, problem.y, problem.data.sample_weight
    n = problem.n_samples
    trace.record(np.zeros(problem.n_features), 0.0, epoch=0, n_updates=0, n_grad_evals=0)
    for max_iter in max_iters:
        estimator = _logistic(problem, solver, max_iter=max_iter, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            estimator.fit(X, y, sample_weight=weights)
            trace.clock.elapsed = time.perf_counter() - started
        n_iter = int(np.max(estimator.n_iter_))
        epoch = passes(n_iter)
        updates = 0 if epoch != epoch else int(epoch * n)
        if trace.record(*_coef(estimator), epoch=epoch, n_updates=updates, n_grad_evals=updates):
            break
        gap = trace.rows[-1]["relative_suboptimality"]
        if n_iter < max_iter or (gap == gap and gap < 1e-10):  # converged: more is the same
            break


def doubling(last):
    """1, 2, 4, ... up to and including ``ceil(last)``."""
    last = max(1, math.ceil(last))
    return [1 << k for k in range(last.bit_length()) if (1 << k) < last] + [last]


def run_saga(problem, trace, n_epochs, random_state):
    """SAGA with ``max_iter`` = 1, 2, 4, ... ``n_epochs`` passes, a fresh fit each."""
    _fresh_fits(problem, trace, "saga", doubling(n_epochs), float, tol=0.0,
                random_state=random_state)


def run_liblinear(problem, trace, max_iters=(1, 2, 4, 8, 16, 32, 64)):
    """liblinear through scikit-learn: a fresh fit per ``max_iter``, each timed alone.

    Newton iterations are not passes over the data, so rows carry ``epoch = NaN``.
    """
    _fresh_fits(problem, trace, "liblinear", max_iters, lambda n_iter: math.nan, tol=1e-12)
