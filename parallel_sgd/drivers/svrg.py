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
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import check_choice
from ..kernels.linalg import rmatvec
from ..kernels.sgd import sgd_epoch
from ..kernels import svrg as kernels
from ..optimizers import sgd
from ..schedules import constant
from ..trace import checkpoint_epochs
from .common import (ModelState, Result, check_progress, divergence_error, kernel_config,
                     kernel_data, positive_int)
from .hogwild import default_merge_every, merge_shares
from .sync import numba_threads

VARIANTS = ("last", "random")
SAMPLING = ("uniform", "smoothness")
SMOOTH_LOSSES = ("squared_error", "log_loss", "squared_hinge", "modified_huber")


def row_smoothness(problem):
    """``(L_w, L_b)`` per row: the smoothness of example i's term ``s_i l(x_i.w + b, y_i)
    + l2/2 ||w||^2`` in ``w`` (``s_i smooth ||x_i||^2 + l2``) and in ``b`` (``s_i smooth``)."""
    weights = (problem.data.sample_weight if problem.data.sample_weight is not None
               else np.ones(problem.n_samples))
    in_b = problem.loss.smoothness * weights
    return in_b * problem.row_norms_sq + problem.penalty.l2, in_b


def sampling_ratios(problem, sampling):
    """``(probabilities, ratios)`` of the row sampling: ``None, None`` for uniform; for
    "smoothness", ``p_i`` proportional to the row's smoothness in ``(w, b)`` and
    ``r_i = 1 / (n p_i)``, which keeps the variance-reduced gradient unbiased."""
    if sampling == "uniform":
        return None, None
    in_w, in_b = row_smoothness(problem)
    smoothness = in_w + (in_b if problem.fit_intercept else 0.0)
    probabilities = smoothness / smoothness.sum()
    with np.errstate(divide="ignore"):
        return probabilities, 1.0 / (problem.n_samples * probabilities)


STEP_DIVISOR = 2.75


def default_steps(problem, ratios):
    """``(eta_w, eta_b)``: ``1 / (2.75 L)`` for the weights and, separately, the intercept.

    ``L`` is each block's largest per-example smoothness under the sampling
    (``max_i r_i L_i``). The intercept's own smoothness (``s_i`` times the loss's) is
    ~``||x||^2`` times smaller than the weights', and one step for both made the
    intercept the slowest direction: on a9a with alpha=1e-4, 30 effective passes
    reached a relative suboptimality of 8.5e-6 with one step and ~5e-9 with two.
    The divisor: over 6 seeds on a9a, 30 passes reached at most 4e-11 / 4.6e-9
    (alpha 1e-3 / 1e-4) with 2.75, 4.4e-12 / 9.5e-9 with 3 and 3.9e-10 / 2.2e-9
    with 2.5 (README, Performance).
    """
    in_w, in_b = row_smoothness(problem)
    if ratios is not None:
        sampled = np.isfinite(ratios)  # rows never drawn (p_i = 0) add nothing
        in_w, in_b = (ratios * in_w)[sampled], (ratios * in_b)[sampled]
    eta_w = 1.0 / (STEP_DIVISOR * max(in_w.max(), 1e-300))
    eta_b = 1.0 / (STEP_DIVISOR * max(in_b.max(), 1e-300)) if problem.fit_intercept else 0.0
    return eta_w, eta_b


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
        X, indices, indptr = self.data[:3]
        kernels.snapshot_derivs(self.data, w, b, self.problem.loss.code, self.derivs)
        n = self.problem.n_samples
        self.mu = rmatvec(X, indices, indptr, self.derivs, self.problem.n_features) / n
        self.mu_b = float(self.derivs.mean()) if self.problem.fit_intercept else 0.0


def warm_start_epoch(problem, w, b, eta, rng, intercept_rate):
    """One epoch of plain SGD at step ``eta`` from ``(w, b)``; returns the new ``(w, b)``."""
    state = ModelState(problem.n_features, np.float64, sgd(), w, b)
    order = rng.permutation(problem.n_samples)
    etas = np.full(problem.n_samples, eta)
    done = sgd_epoch(kernel_data(problem), state.arrays, kernel_config(problem, sgd(),
                                                                       intercept_rate),
                     order, etas, 0)
    return done, *state.weights()


class _InnerLoop:
    """What both inner loops share: the snapshot, and the kernel config it completes
    (``config[5]`` is the snapshot's intercept gradient)."""

    def __init__(self, data, snapshot, ratios, config):
        self.data, self.snapshot, self.ratios, self.config = data, snapshot, ratios, config

    def take_snapshot(self, w, b):
        """Snapshot at ``(w, b)`` and start an inner loop there."""
        self.snapshot.take(w, b)
        self.config = self.config[:5] + (self.snapshot.mu_b,)
        self.start(w, b, self.config[1])

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
        out = np.empty_like(self.model[0])
        return kernels.current_weights(self.model, self.config, out), float(self.model[3][0])


class AsyncInnerLoop(_InnerLoop):
    """The inner loop on ``n_workers`` threads, each stepping on a private replica and
    merging into the shared weights every ``merge_every`` steps (the Hogwild! driver's
    replica scheme and frequency-weighted merges, :mod:`.hogwild`). Every worker
    keeps the exact lazy updates of the serial loop on its replica, so a merge adds
    what that many serial steps from the same point would have; the optimum stays a
    fixed point (every replica's change is zero there)."""

    def __init__(self, problem, data, snapshot, ratios, config, n_workers, merge_every):
        super().__init__(data, snapshot, ratios, config)
        d = problem.n_features
        self.shared = (np.zeros(d), np.zeros(1))
        self.c = np.zeros(d)  # eta * mu: read by every replica
        self.replicas = []
        for _ in range(n_workers):
            _, _, last, scalars = kernels.new_model(d)
            self.replicas.append(((np.zeros(d), self.c, last, scalars), np.zeros(d)))
        self.shares = merge_shares(problem, n_workers, "frequency")
        self.merge_every = merge_every or default_merge_every(problem, n_workers)
        self.pool = ThreadPoolExecutor(max_workers=n_workers - 1,
                                       thread_name_prefix="psgd-svrg")

    def start(self, w, b, eta):
        self.shared[0][:] = w
        self.shared[1][0] = b
        self.c[:] = eta * self.snapshot.mu

    def _work(self, worker, rows):
        replica, base = self.replicas[worker]
        return kernels.replica_inner_steps(
            self.data, self.shared, replica, base, self.snapshot.derivs, self.config, rows,
            self.ratios, self.merge_every, self.shares, 1.0 / len(self.replicas))

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
        return self.shared[0].copy(), float(self.shared[1][0])

    def close(self):
        self.pool.shutdown(wait=True)


class PassCounter:
    """Gradient evaluations done, and the trace rows due at the checkpoints they pass."""

    def __init__(self, problem, trace, n_epochs, eval_every, eta):
        self.problem, self.trace, self.n = problem, trace, problem.n_samples
        self.budget = int(round(n_epochs * self.n))
        self.goals = iter([int(round(mark * self.n))
                           for mark in checkpoint_epochs(n_epochs, eval_every)])
        self.goal = next(self.goals)
        self.evals = self.updates = 0
        self.step = constant(eta)  # for the divergence messages

    def room(self):
        """Evaluations left before the next checkpoint or the end of the budget."""
        return min(self.goal, self.budget) - self.evals

    def record(self, weights, intercept, final=False):
        """A trace row if a checkpoint was passed (or ``final``); True when training
        should stop: the budget is spent, or the callback asked."""
        if not final and self.room() > 0:
            return False
        if final and self.trace.rows[-1]["n_grad_evals"] == self.evals:
            return True  # this point is recorded already
        while self.goal <= self.evals:
            self.goal = next(self.goals, math.inf)
        stop = self.trace.record(weights, intercept, epoch=self.evals / self.n,
                                 n_updates=self.updates, n_grad_evals=self.evals)
        check_progress(self.trace.rows, self.step, self.problem)
        return stop or final or self.evals >= self.budget

    def diverged(self, done):
        return divergence_error(f"effective pass {(self.evals + done) / self.n:.3g} (a "
                                f"prediction became NaN or infinite)", self.step, self.problem)


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
    config = (problem.loss.code, eta, eta * problem.penalty.l2, eta * problem.penalty.l1,
              eta_b * intercept_rate, 0.0)
    chosen = dict(eta0=eta, eta_intercept=config[4], inner_steps=m, variant=variant,
                  sampling=sampling)
    w, b = ModelState(d, np.float64, sgd(), coef_init, intercept_init).iterate()
    data = kernel_data(problem)
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


def outer_loops(solver, counter, trace, w, b, draw_rows):
    """Snapshots and inner loops until the pass budget is spent or the callback stops;
    returns the final ``(w, b)``.

    ``solver.take_snapshot(w, b)`` costs n evaluations and starts an inner loop of
    the rows ``draw_rows()`` draws; ``solver.run(rows)`` runs them in stretches
    between checkpoints (one evaluation each) and returns how many it did;
    ``solver.weights()`` gives the current ``(w, b)``.
    """
    n = counter.n
    while counter.evals + n < counter.budget:  # room for a snapshot and inner steps
        with trace.clock:
            solver.take_snapshot(w, b)
            rows = draw_rows()
        counter.evals += n
        stop = counter.record(w, b)
        position = 0
        while position < len(rows) and not stop:
            chunk = min(len(rows) - position, counter.room())
            with trace.clock:
                done = solver.run(rows[position:position + chunk])
            if done < chunk:
                raise counter.diverged(done)
            position += chunk
            counter.evals += chunk
            counter.updates += chunk
            stop = counter.record(*solver.weights())
        with trace.clock:
            w, b = solver.weights()
        if stop:
            return w, b
    counter.record(w, b, final=True)
    return w, b


def warm_up(solver, w, b):
    """Compile (or load) every kernel before the clock starts."""
    solver.take_snapshot(w, b)
    solver.run(np.zeros(0, dtype=np.int64))
    solver.weights()
