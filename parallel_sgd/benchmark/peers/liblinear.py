"""liblinear (the ``liblinear-official`` package) as a peer.

liblinear minimizes ``1/2 ||w||^2 + C sum_i loss_i``; with ``C = 1 / (n alpha)``
that is our objective times ``1 / alpha`` for log, hinge and squared hinge
losses. Its squared-error regression uses ``(y - p)^2`` without our 1/2, so
there ``C = 1 / (2 n alpha)``. The intercept is a bias feature (``-B 1``) left
unpenalized with ``-R`` where liblinear allows it (every solver used here but
the hinge dual).

liblinear has no iteration cap, so the trace is a sweep over its stopping
tolerance ``-e``: one fresh fit per tolerance, each row timed by its own fit.
"""
import math
import time

import numpy as np

#: loss -> (solver, C multiplier, -R allowed)
SOLVERS = {"log_loss": (0, 1.0, True), "squared_hinge": (2, 1.0, True),
           "hinge": (3, 1.0, False), "squared_error": (11, 0.5, True)}

TOLERANCES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8)


def _weights(model, problem):
    """``(w, b)`` for the +1 class: liblinear's weights are for its first label seen."""
    w, b = model.get_decfun()
    w = np.asarray(w[:problem.n_features], dtype=np.float64)
    sign = -1.0 if problem.classes is not None and model.get_labels()[0] != 1 else 1.0
    return sign * w, sign * float(b) if problem.fit_intercept else 0.0


def solver_options(problem, tolerance, solver=None):
    """The liblinear option string for ``problem`` at stopping tolerance ``tolerance``
    (``solver``: another liblinear solver for the same loss, e.g. 7, the dual of
    logistic regression, which penalizes the bias)."""
    default, factor, unpenalized_bias = SOLVERS[problem.loss.name]
    if solver is None:
        solver = default
    else:
        unpenalized_bias = False
    C = factor / (problem.n_samples * problem.alpha) if problem.alpha > 0 else 1e12
    options = f"-s {solver} -c {C!r} -e {tolerance!r} -q"
    if problem.fit_intercept:
        options += " -B 1" + (" -R" if unpenalized_bias else "")
    if solver == 11:
        options += " -p 0"
    return options


def run_liblinear(problem, trace, tolerances=TOLERANCES, solver=None):
    """Fit once per tolerance (loosest first); stops early when the gap is below 1e-10."""
    from liblinear.liblinearutil import parameter, train
    from liblinear.liblinearutil import problem as lib_problem
    X = problem.data.X
    data = lib_problem(problem.y, X.tocsr() if hasattr(X, "tocsr") else X)
    trace.record(np.zeros(problem.n_features), 0.0, epoch=0, n_updates=0, n_grad_evals=0)
    for tolerance in tolerances:
        params = parameter(solver_options(problem, tolerance, solver))
        started = time.perf_counter()
        model = train(data, params)
        trace.clock.elapsed = time.perf_counter() - started
        w, b = _weights(model, problem)
        if trace.record(w, b, epoch=math.nan, n_updates=0, n_grad_evals=0):
            break
        gap = trace.rows[-1]["relative_suboptimality"]
        if gap == gap and gap < 1e-10:
            break
