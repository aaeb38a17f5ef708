"""SVRG (Johnson & Zhang 2013) for the softmax multinomial model, L2 penalty only.

Each outer loop takes a snapshot -- every row's K loss derivatives there (cached,
so an inner step costs one gradient evaluation) and the full gradient, over
``n_workers`` threads -- then runs ``inner_steps`` serial steps of
:func:`parallel_sgd.kernels.multiclass_svrg.multiclass_inner_l2` on rows drawn
uniformly. Work is counted in effective passes (gradient evaluations / n) as
for the binary SVRG driver, whose pass counter and step rule this shares
(:mod:`.svrg_loop`):
``1 / (2.75 L)`` with ``L`` the largest per-example smoothness
(``smoothness * s_i ||x_i||^2 + l2`` for the weights, ``smoothness * s_i`` for the
intercepts; softmax's smoothness is 1/2).
"""
import numpy as np

from ..kernels.args import SoftmaxSVRGConfig, SoftmaxSVRGModel, SVRGScratch
from ..kernels.linalg import data_arrays
from ..kernels.multiclass import rmatmul
from ..kernels.multiclass_svrg import multiclass_inner_l2, multiclass_svrg_weights
from .common import Result, check_plain_steps, numba_threads, positive_int
from .orders import RowStream
from .state import MultinomialState, kernel_rows
from .svrg_loop import PassCounter, default_steps, outer_loops, warm_up


def check_problem(problem, batch_size, rule):
    """Refuse what multinomial SVRG cannot do, naming the alternatives."""
    if problem.loss.name != "softmax":
        raise ValueError(f"driver 'svrg' needs a smooth loss; {problem.loss.name!r} is not: "
                         f"use driver='sync' or 'hogwild' for it")
    if problem.penalty.l1 > 0:
        raise ValueError("driver 'svrg' on multinomial problems takes an L2 penalty only "
                         "(l1_ratio=0); use driver='sync' or 'hogwild' for L1")
    check_plain_steps("multinomial problems", "example", batch_size, rule)


class SoftmaxSVRG:
    """The snapshot and the inner-loop state of one run."""

    def __init__(self, problem, eta, eta_b):
        d, K = problem.n_features, problem.n_classes
        self.problem = problem
        self.data = kernel_rows(problem)
        self.config = SoftmaxSVRGConfig(loss=problem.loss.code, eta=eta,
                                        shrink=eta * problem.penalty.l2, eta_b=eta_b,
                                        mu_b=np.zeros(K))
        self.model = SoftmaxSVRGModel(np.zeros(d * K), np.zeros(d * K), np.zeros(K),
                                      np.array([1.0, 0.0]))
        self.derivs = np.zeros((problem.n_samples, K))
        self.scratch = SVRGScratch(np.zeros(K), np.zeros(K), np.zeros(K))
        self.flat = np.zeros(d * K)

    def take_snapshot(self, W, b, compile_only=False):
        """Cache every row's ``s_i dl/dp`` at ``(W, b)``; restart the inner loop there
        (``compile_only`` takes the whole snapshot too: its passes are NumPy's)."""
        problem = self.problem
        _, G = problem.loss.value_and_grad(problem.decision_function(W, b), problem.y)
        if problem.data.sample_weight is not None:
            G *= problem.data.sample_weight[:, None]
        self.derivs[:] = G
        n = problem.n_samples
        mu = rmatmul(*data_arrays(problem.data.X), G, problem.n_features) / n
        self.config.mu_b[:] = G.sum(axis=0) / n if problem.fit_intercept else 0.0
        psi, c, intercepts, scalars = self.model
        psi[:] = W.ravel()
        c[:] = self.config.eta * mu.ravel()
        scalars[:] = (1.0, 0.0)
        intercepts[:] = b

    def run(self, rows):
        return multiclass_inner_l2(self.data, self.model, self.derivs, self.config, rows,
                                   self.scratch)

    def weights(self):
        flat = multiclass_svrg_weights(self.model, self.flat)
        return flat.reshape(self.problem.n_features, -1).copy(), self.model.b.copy()


def run_svrg(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state,
             eval_every, trace, coef_init=None, intercept_init=None, inner_steps=None,
             shuffle=True):
    """Train a softmax multinomial problem with SVRG; see :func:`parallel_sgd.fit`.

    ``schedule`` is None (the default steps) or a constant schedule whose ``eta0``
    is the weights' step (the intercepts' is scaled alike); ``inner_steps`` per
    outer loop, default ``n``; ``n_workers`` threads compute the snapshots. Rows are
    drawn uniformly at random (``shuffle=True``) or taken in passes in another order
    (:mod:`.orders`).
    """
    check_problem(problem, batch_size, rule)
    n, d, K = problem.n_samples, problem.n_features, problem.n_classes
    m = n if inner_steps is None else positive_int("inner_steps", inner_steps)
    eta, eta_b = default_steps(problem, None)
    if schedule is not None:
        eta, eta_b = schedule.eta0, eta_b * schedule.eta0 / eta
    chosen = dict(eta0=eta, eta_intercept=eta_b, inner_steps=m)
    W, b = MultinomialState(d, K, np.float64, coef_init, intercept_init).iterate()
    solver = SoftmaxSVRG(problem, eta, eta_b)
    rng = np.random.default_rng(random_state)
    counter = PassCounter(problem, trace, n_epochs, eval_every, eta)
    trace.record(W, b, epoch=0, n_updates=0, n_grad_evals=0)
    with numba_threads(n_workers):
        warm_up(solver, W, b)
        stream = None if shuffle is True else RowStream(rng, problem, shuffle)
        draw = (lambda: rng.integers(0, n, m)) if stream is None else (lambda: stream.take(m))
        W, b = outer_loops(solver, counter, trace, W, b, draw)
    return Result(W, b, trace.rows, driver=trace.driver, config=chosen)
