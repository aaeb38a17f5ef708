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
import numpy as np

from ..errors import check_choice
from ..kernels import svrg as kernels
from ..kernels import svrg_async as async_kernels
from ..kernels.args import (
    Channel,
    Merge,
    P,
    Shard,
    SharedWeights,
    SVRGConfig,
    SVRGHeadReplica,
    SVRGModel,
    SVRGReplica,
)
from ..kernels.handoff import private_copy
from ..kernels.linalg import rmatvec
from ..kernels.sampling import alias_draws, alias_table
from ..kernels.sgd import sgd_epoch
from ..model.optimizers import sgd
from .common import Result, numba_threads, positive_int
from .orders import RowStream
from .split_layout import SplitLayout, default_replica_features
from .state import ModelState, kernel_rows, sgd_config
from .svrg_loop import PassCounter, default_steps, outer_loops, sampling_ratios, warm_up
from .team import (
    CALL_SHRINK,
    FOLD_BELOW,
    ThreadTeam,
    check_replica_features,
    default_merge_every,
    merge_shares,
)

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


def check_svrg_shuffle(shuffle, sampling):
    """SVRG's rows come from random draws (``shuffle=True``) or, uniformly weighted only,
    from passes in another order: rows drawn by smoothness have no pass to take."""
    if shuffle is not True and sampling != "uniform":
        raise ValueError(f"driver 'svrg' with shuffle={shuffle!r} takes its rows in passes "
                         f"without replacement, which needs sampling='uniform' (rows drawn by "
                         f"smoothness are drawn at random: shuffle=True)")


class Snapshot:
    """The per-row derivatives and the full loss gradient at the outer loop's weights."""

    def __init__(self, problem, data):
        self.problem, self.data = problem, data
        self.derivs = np.empty(problem.n_samples)
        self.mu = np.zeros(problem.n_features)
        self.mu_b = 0.0

    def take(self, w, b, compile_only=False):
        data = no_rows(self.data) if compile_only else self.data
        derivs = self.derivs[:0] if compile_only else self.derivs
        n = max(1, len(derivs))
        kernels.snapshot_derivs(data, w, b, self.problem.loss.code, derivs)
        self.mu = rmatvec(data.X, data.indices, data.indptr, derivs,
                          self.problem.n_features) / n
        self.mu_b = float(derivs.sum()) / n if self.problem.fit_intercept else 0.0


def no_rows(data):
    """The kernels' :class:`~parallel_sgd.kernels.args.Rows` of ``data`` with none of its
    rows (the same types, so a call on it compiles what a call on ``data`` runs)."""
    if data.indptr is None:
        return data._replace(X=data.X[:0])
    return data._replace(indptr=data.indptr[:1])


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

    def take_snapshot(self, w, b, compile_only=False):
        """Snapshot at ``(w, b)`` and start an inner loop there (``compile_only``: only
        compile the snapshot's kernels, on no rows)."""
        self.snapshot.take(w, b, compile_only)
        self.config.mu_b[0] = self.snapshot.mu_b  # in place: the workers hold this config
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


SPLIT_MERGE_EVERY = 32
"""Steps between a worker's merges when it writes the tail in place: it sees the other
workers' tail steps at once but their mu and L2 terms (the shared P and R) only when
they merge, and on a feature most rows touch that half-seen change made the inner
loop diverge with stretches of 1000 steps; 32 steps converge per pass like the serial
loop, and a merge costs O(H) + O(1) (BENCHMARKS.md, SVRG)."""


class AsyncInnerLoop(_InnerLoop):
    """The inner loop on the Hogwild! worker team (:class:`.team.ThreadTeam`): each call
    deals the drawn rows out in one block per worker, and every worker steps on its
    rows at once, merging after equal stretches of at most ``merge_every`` steps
    with frequency-weighted shares (:mod:`.team`).

    Without L1 the shared iterate keeps the serial loop's lazy form and a worker
    keeps private only the head of the features (``replica_features``, chosen from
    the problem as for Hogwild!: every feature on narrow data, none on wide data),
    so merges cost O(head) + O(1) (:mod:`parallel_sgd.kernels.svrg_async`); with L1
    every worker runs the serial proximal loop on a full replica.
    """

    def __init__(self, problem, data, snapshot, ratios, config, n_workers, merge_every,
                 replica_features, max_steps):
        super().__init__(data, snapshot, ratios, config)
        d = problem.n_features
        self.n_workers = n_workers
        self.probe = None  # the checkpoints' objective is the problem's own pass
        every = merge_every or default_merge_every(problem, n_workers)
        self.proximal = config.threshold > 0.0
        if self.proximal:
            size = d
        elif replica_features is None:
            size = default_replica_features(problem, every)
        else:
            size = min(int(replica_features), d)
        if size < d and merge_every is None:
            every = SPLIT_MERGE_EVERY
        self.layout = SplitLayout(problem, size) if 0 < size < d else None
        if self.layout is not None:
            self.data, size = self.layout.rows(data), self.layout.size
            features = self.layout.feature_at
        else:
            features = None if size == d else np.zeros(0, dtype=np.int64)
        # with L1 a full replica's whole change is weighted by frequency, as Hogwild!'s
        # is; a head's steps add up (the lazy form applies every step's mu and L2 terms
        # in full, so weighting the rest would move the fixed point away from the optimum)
        weighting = "frequency" if self.proximal else "sum"
        self.merge = Merge(every=every, shares=merge_shares(problem, n_workers, weighting,
                                                            features),
                           intercept_share=1.0 / n_workers, state_share=1.0, l1=0.0, lock=None)
        self.lock = private_copy(np.zeros(1, dtype=np.int64))
        self.size = size
        self.c = np.zeros(d)  # eta * mu: read by every worker
        if self.proximal:
            self.shared = SharedWeights(np.zeros(d), np.zeros(1))
        else:
            self.shared = SVRGModel(np.zeros(d), self.c, np.zeros(1, dtype=np.int64),
                                    np.zeros(1), np.array([1.0, 0.0, 0.0]))
        self.replicas = None
        self.rows = np.zeros(max(1, max_steps), dtype=np.int64)  # a call's rows
        self.shard = Shard(self.rows, np.zeros(0), np.random.default_rng(0))  # no reshuffles
        self.team = ThreadTeam(self)

    def make_replicas(self):
        """One replica per worker, each on cache lines of its own."""
        d = self.shared.w.shape[0] if self.proximal else self.shared.psi.shape[0]
        if self.proximal:
            self.replicas = [SVRGReplica(kernels.new_model(d, c=self.c), np.zeros(d),
                                         private_copy(np.zeros(1)))
                             for _ in range(self.n_workers)]
        else:
            self.replicas = [SVRGHeadReplica(private_copy(np.zeros(self.size)),
                                             np.zeros(self.size), private_copy(np.zeros(1)),
                                             np.zeros(1), private_copy(np.zeros(4)))
                             for _ in range(self.n_workers)]

    def serve(self, worker, sync, spins):
        serve = async_kernels.full_serve if self.proximal else async_kernels.head_serve
        return serve(Channel(sync, worker, spins), self.shard, self.data, self.shared,
                     self.replicas[worker], self.snapshot.derivs, self.config, self.merge,
                     self.lock, self.ratios)

    def start(self, w, b, eta):
        self.c[:] = eta * self.snapshot.mu
        if self.proximal:
            self.shared.w[:] = w
        else:
            self.shared.psi[:] = w
            self.shared.scalars[:] = (1.0, 0.0, 0.0)  # P, R, STEP
            if self.layout is not None:
                self.layout.swap(self.shared.psi)
                self.layout.swap(self.c)
        self.shared.b[0] = b

    def calls(self, m):
        """``(start, end)`` of the calls that run ``m`` steps: one, except where the L2
        shrink of the lazy form would take ``P`` down by more than ``CALL_SHRINK`` in one
        call (``P`` is folded into the weights between calls)."""
        shrink = self.config.shrink
        if self.proximal or shrink <= 0.0:
            return [(0, m)]
        longest = max(1, int(np.log(CALL_SHRINK) / np.log1p(-min(shrink, 1.0 - 1e-12))))
        return [(start, min(m, start + longest)) for start in range(0, m, longest)]

    def run(self, rows):
        if len(rows) == 0:
            self.team.warm_up()
            return 0
        for start, end in self.calls(len(rows)):
            if not self.proximal and self.shared.scalars[P] < FOLD_BELOW:
                kernels.fold(self.shared.psi, self.c, *self.shared.scalars[:2])
                self.shared.scalars[:2] = (1.0, 0.0)
            self.rows[:end - start] = rows[start:end]
            bounds = np.linspace(0, end - start, self.n_workers + 1).round().astype(np.int64)
            done = self.team.run_blocks(bounds)
            for w, count in enumerate(done):
                if count < bounds[w + 1] - bounds[w]:
                    return int(start + bounds[w] + count)
        return len(rows)

    def weights(self):
        if self.proximal:
            return self.shared.w.copy(), float(self.shared.b[0])
        out = kernels.current_weights(self.shared, self.config, np.empty(self.c.shape[0]))
        if self.layout is not None:
            self.layout.swap(out)
        return out, float(self.shared.b[0])

    def close(self):
        self.team.close()


def run(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state, eval_every,
        trace, coef_init=None, intercept_init=None, inner_steps=None, variant="last",
        sampling="smoothness", warm_start=False, intercept_rate=1.0, merge_every=None,
        replica_features=None, shuffle=True):
    """Train with SVRG; see :func:`parallel_sgd.fit` for the common arguments.

    ``schedule`` is None (the default steps, :func:`default_steps`) or a constant
    schedule whose ``eta0`` is the weights' step (the intercept's is scaled alike).
    Driver options: ``inner_steps`` per outer loop (default ``n``), ``variant``
    "last" (option I) or "random" (option II), ``sampling`` "smoothness" (default:
    rows drawn in proportion to their smoothness, steps from the mean rather than
    the largest) or "uniform", ``warm_start`` (one SGD epoch first, counted as a
    pass), ``intercept_rate`` (multiplies the intercept's step), ``merge_every``
    (with ``n_workers > 1``: steps between a worker's merges, as for Hogwild!),
    ``replica_features`` (with ``n_workers > 1`` and no L1: how many of the most
    frequent features a worker keeps private, the others written in place; default
    chosen from the problem as for Hogwild!). ``shuffle=True`` draws the inner loop's
    rows at random with replacement (by ``sampling``); with ``sampling="uniform"`` the
    other orders (:mod:`.orders`) take them in passes without replacement instead.
    """
    check_problem(problem, batch_size, rule, variant, sampling, inner_steps)
    check_svrg_shuffle(shuffle, sampling)
    if merge_every is not None:
        positive_int("merge_every", merge_every)
    check_replica_features(replica_features)
    n, d = problem.n_samples, problem.n_features
    m = int(inner_steps or n)
    probabilities, ratios = sampling_ratios(problem, sampling)
    eta, eta_b = default_steps(problem, ratios)
    if schedule is not None:  # the user's step for the weights; the intercept's keeps its ratio
        eta, eta_b = schedule.eta0, eta_b * schedule.eta0 / eta
    config = SVRGConfig(loss=problem.loss.code, eta=eta, shrink=eta * problem.penalty.l2,
                        threshold=eta * problem.penalty.l1, eta_b=eta_b * intercept_rate,
                        mu_b=np.zeros(1))
    chosen = dict(eta0=eta, eta_intercept=config.eta_b, inner_steps=m, variant=variant,
                  sampling=sampling)
    w, b = ModelState(d, np.float64, sgd(), coef_init, intercept_init).iterate()
    data = kernel_rows(problem)
    snapshot = Snapshot(problem, data)
    inner = (SerialInnerLoop(problem, data, snapshot, ratios, config) if n_workers == 1 else
             AsyncInnerLoop(problem, data, snapshot, ratios, config, n_workers, merge_every,
                            replica_features, m))
    rng = np.random.default_rng(random_state)
    table = None if probabilities is None else alias_table(probabilities)

    stream = None if shuffle is True else RowStream(rng, problem, shuffle)

    def draw_rows():
        length = m if variant == "last" else int(rng.integers(1, m + 1))
        if stream is not None:
            return stream.take(length)
        if table is None:
            return rng.integers(0, n, length)
        return alias_draws(rng, *table, np.empty(length, dtype=np.int64))

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
