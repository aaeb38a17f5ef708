"""The SVRG driver: stochastic variance-reduced gradient (Johnson & Zhang, NIPS 2013).

Each outer loop takes a snapshot ``w~``: the derivative of every example's loss
there (cached, one float per row, so an inner step costs one gradient
evaluation, not two) and the full gradient ``mu``, both computed over
``n_workers`` threads. Then ``inner_steps`` steps

    w <- prox(w - eta (r_i (grad l_i(w) - grad l_i(w~)) + mu + l2 w))

on sampled rows, applied in O(nnz of the row) on sparse data
(:mod:`parallel_sgd.kernels.svrg`). Option I (``variant="last"``) starts the
next outer loop from the last iterate; option II (``"random"``) from an iterate
chosen uniformly among the inner loop's (by stopping there).

Work is counted in effective passes: gradient evaluations / n, a snapshot
being n evaluations and an inner step one. ``n_epochs`` and ``eval_every`` are
in effective passes, and so is the trace's ``epoch`` column.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import check_choice
from ..kernels import svrg as kernels
from ..kernels.args import Merge, SharedWeights, SVRGConfig, SVRGReplica
from ..kernels.linalg import rmatvec
from ..kernels.sgd import sgd_epoch
from ..model.optimizers import sgd
from .common import Result, numba_threads, positive_int
from .state import ModelState, kernel_rows, sgd_config
from .svrg_loop import PassCounter, default_steps, outer_loops, sampling_ratios, warm_up
from .team import default_merge_every, merge_shares

VARIANTS = ("last", "random")
SAMPLING = ("uniform", "smoothness")
SMOOTH_LOSSES = ("squared_error", "log_loss", "squared_hinge", "modified_huber")


def check_problem(problem, batch_size, rule, variant, sampling, inner_steps_option):
    """Refuse what SVRG cannot do, naming the alternatives."""
    if problem.loss.name not in SMOOTH_LOSSES:
        raise ValueError(
            f"driver 'svrg' needs a smooth loss; {problem.loss.name!r} is not. Use "
            f"loss='squared_hinge' (a smooth linear SVM), or the SGD drivers "
            f"(driver='sync' or 'hogwild') for {problem.loss.name!r}")
    if batch_size != 1:
        raise ValueError(f"driver 'svrg' samples one row per inner step: batch_size must be 1, "
                         f"got {batch_size}")
    if rule.name != "sgd":
        raise ValueError(f"driver 'svrg' takes plain steps: optimizer must be 'sgd', got "
                         f"{rule.name!r} (adaptive rules are for the SGD drivers)")
    check_choice("variant", variant, VARIANTS)
    check_choice("sampling", sampling, SAMPLING)
    if inner_steps_option is not None:
        positive_int("inner_steps", inner_steps_option)


class Snapshot:
    """The per-row derivatives and the full loss gradient at the outer loop's weights."""

    def __init__(self, problem, data):
        self.problem, self.data = problem, data
        self.derivs = np.empty(problem.n_samples)
        self.mu = np.zeros(problem.n_features)
        self.mu_b = 0.0

    def take(self, w, b):
        data = self.data
        kernels.snapshot_derivs(data, w, b, self.problem.loss.code, self.derivs)
        n = self.problem.n_samples
        self.mu = rmatvec(data.X, data.indices, data.indptr, self.derivs,
                          self.problem.n_features) / n
        self.mu_b = float(self.derivs.mean()) if self.problem.fit_intercept else 0.0


def warm_start_epoch(problem, w, b, eta, rng, intercept_rate):
    """One epoch of plain SGD at step ``eta`` from ``(w, b)``; returns the new ``(w, b)``."""
    state = ModelState(problem.n_features, np.float64, sgd(), w, b)
    order = rng.permutation(problem.n_samples)
    etas = np.full(problem.n_samples, eta)
    done = sgd_epoch(kernel_rows(problem), state.kernel_model,
                     sgd_config(problem, sgd(), intercept_rate), order, etas, 0)
    return done, *state.weights()


class _InnerLoop:
    """What both inner loops share: the snapshot, and the kernel config it completes
    (``config.mu_b`` is the snapshot's intercept gradient)."""

    def __init__(self, data, snapshot, ratios, config):
        self.data, self.snapshot, self.ratios, self.config = data, snapshot, ratios, config

    def take_snapshot(self, w, b):
        """Snapshot at ``(w, b)`` and start an inner loop there."""
        self.snapshot.take(w, b)
        self.config = self.config._replace(mu_b=self.snapshot.mu_b)
        self.start(w, b, self.config.eta)

    def close(self):
        pass


class SerialInnerLoop(_InnerLoop):
    """The inner loop on one model (the exact serial algorithm)."""

    def __init__(self, problem, data, snapshot, ratios, config):
        super().__init__(data, snapshot, ratios, config)
        self.model = kernels.new_model(problem.n_features)

    def start(self, w, b, eta):
        kernels.start_inner_loop(self.model, w, b, self.snapshot.mu, eta)

    def run(self, rows):
        """Inner steps over ``rows``; returns how many were done."""
        return kernels.inner_steps(self.data, self.model, self.snapshot.derivs, self.config,
                                   rows, self.ratios)

    def weights(self):
        """``(w, b)`` now, as new arrays."""
        out = np.empty_like(self.model.psi)
        return kernels.current_weights(self.model, self.config, out), float(self.model.b[0])


class AsyncInnerLoop(_InnerLoop):
    """The inner loop on ``n_workers`` threads, each stepping on a private replica and
    merging into the shared weights every ``merge_every`` steps (the team's replica
    scheme and frequency-weighted merges, :mod:`.team`). Every worker
    keeps the exact lazy updates of the serial loop on its replica, so a merge adds
    what that many serial steps from the same point would have; the optimum stays a
    fixed point (every replica's change is zero there)."""

    def __init__(self, problem, data, snapshot, ratios, config, n_workers, merge_every):
        super().__init__(data, snapshot, ratios, config)
        d = problem.n_features
        self.shared = SharedWeights(np.zeros(d), np.zeros(1))
        self.c = np.zeros(d)  # eta * mu: read by every replica
        self.replicas = [SVRGReplica(kernels.new_model(d, c=self.c), np.zeros(d), np.zeros(1))
                         for _ in range(n_workers)]
        self.merge = Merge(every=merge_every or default_merge_every(problem, n_workers),
                           shares=merge_shares(problem, n_workers, "frequency"),
                           intercept_share=1.0 / n_workers, state_share=1.0, l1=0.0, lock=None)
        self.pool = ThreadPoolExecutor(max_workers=n_workers - 1,
                                       thread_name_prefix="psgd-svrg")

    def start(self, w, b, eta):
        self.shared.w[:] = w
        self.shared.b[0] = b
        self.c[:] = eta * self.snapshot.mu

    def _work(self, worker, rows):
        return kernels.replica_inner_steps(self.data, self.shared, self.replicas[worker],
                                           self.snapshot.derivs, self.config, self.merge, rows,
                                           self.ratios)

    def run(self, rows):
        k = len(self.replicas)
        bounds = np.linspace(0, len(rows), k + 1).round().astype(np.int64)
        futures = [self.pool.submit(self._work, w, rows[bounds[w]:bounds[w + 1]])
                   for w in range(1, k)]
        try:
            done = [self._work(0, rows[:bounds[1]])]
        finally:
            done += [future.result() for future in futures]
        for w, count in enumerate(done):
            if count < bounds[w + 1] - bounds[w]:
                return int(bounds[w] + count)
        return len(rows)

    def weights(self):
        return self.shared.w.copy(), float(self.shared.b[0])

    def close(self):
        self.pool.shutdown(wait=True)


def run(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state, eval_every,
        trace, coef_init=None, intercept_init=None, inner_steps=None, variant="last",
        sampling="smoothness", warm_start=False, intercept_rate=1.0, merge_every=None):
    """Train with SVRG; see :func:`parallel_sgd.fit` for the common arguments.

    ``schedule`` is None (the default steps, :func:`default_steps`) or a constant
    schedule whose ``eta0`` is the weights' step (the intercept's is scaled alike).
    Driver options: ``inner_steps`` per outer loop (default ``n``), ``variant``
    "last" (option I) or "random" (option II), ``sampling`` "smoothness" (default:
    rows drawn in proportion to their smoothness, steps from the mean rather than
    the largest) or "uniform", ``warm_start`` (one SGD epoch first, counted as a
    pass), ``intercept_rate`` (multiplies the intercept's step), ``merge_every``
    (with ``n_workers > 1``: steps between a worker's merges, as for Hogwild!).
    """
    check_problem(problem, batch_size, rule, variant, sampling, inner_steps)
    if merge_every is not None:
        positive_int("merge_every", merge_every)
    n, d = problem.n_samples, problem.n_features
    m = int(inner_steps or n)
    probabilities, ratios = sampling_ratios(problem, sampling)
    eta, eta_b = default_steps(problem, ratios)
    if schedule is not None:  # the user's step for the weights; the intercept's keeps its ratio
        eta, eta_b = schedule.eta0, eta_b * schedule.eta0 / eta
    config = SVRGConfig(loss=problem.loss.code, eta=eta, shrink=eta * problem.penalty.l2,
                        threshold=eta * problem.penalty.l1, eta_b=eta_b * intercept_rate,
                        mu_b=0.0)
    chosen = dict(eta0=eta, eta_intercept=config.eta_b, inner_steps=m, variant=variant,
                  sampling=sampling)
    w, b = ModelState(d, np.float64, sgd(), coef_init, intercept_init).iterate()
    data = kernel_rows(problem)
    snapshot = Snapshot(problem, data)
    inner = (SerialInnerLoop(problem, data, snapshot, ratios, config) if n_workers == 1 else
             AsyncInnerLoop(problem, data, snapshot, ratios, config, n_workers, merge_every))
    rng = np.random.default_rng(random_state)

    def draw_rows():
        length = m if variant == "last" else int(rng.integers(1, m + 1))
        return (rng.integers(0, n, length) if probabilities is None
                else rng.choice(n, length, p=probabilities))

    counter = PassCounter(problem, trace, n_epochs, eval_every, eta)
    trace.record(w, b, epoch=0, n_updates=0, n_grad_evals=0)
    try:
        with numba_threads(n_workers):
            warm_up(inner, w, b)
            if warm_start:
                with trace.clock:
                    done, w, b = warm_start_epoch(problem, w, b, eta, rng, intercept_rate)
                if done < n:
                    raise counter.diverged(done)
                counter.evals += n
                if counter.record(w, b):
                    return Result(w, b, trace.rows, driver=trace.driver, config=chosen)
            w, b = outer_loops(inner, counter, trace, w, b, draw_rows)
    finally:
        inner.close()
    return Result(w, b, trace.rows, driver=trace.driver, config=chosen)
