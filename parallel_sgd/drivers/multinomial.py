"""The sync and Hogwild! drivers for multinomial problems (softmax, Crammer-Singer).

They run the multiclass kernels (:mod:`parallel_sgd.kernels.multiclass`) inside
the loop every SGD-family driver shares (:func:`.common.train_epochs`: epochs,
checkpoints, divergence checks), with the plain ``sgd`` update rule and one
example per step. Hogwild! reuses the binary driver's workers and thread team
(row shards, per-worker random streams, frequency-weighted replica merges);
one worker runs the serial kernel, so its result equals ``driver="sync"`` exactly.
"""
import numpy as np

from ..errors import DivergenceError
from ..kernels.multiclass import multiclass_epoch
from ..kernels.multiclass_hogwild import multiclass_replica_serve, new_multiclass_replica
from ..penalties import flush_cumulative_l1
from .common import kernel_data, train_epochs
from .hogwild import ThreadTeam, Workers, check_options, train_team
from .sync import running_objective


class MultinomialState:
    """The d x K weights as the kernels hold them: ``W = scale * v`` (flat, row-major),
    lazily L1-penalized; ``b`` the K intercepts; ``steps`` the steps taken so far."""

    def __init__(self, n_features, n_classes, dtype, coef_init=None, intercept_init=None):
        self.shape = (n_features, n_classes)
        self.v = np.zeros(n_features * n_classes, dtype=dtype)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64)
            if coef_init.shape != self.shape:
                raise ValueError(f"coef_init must have shape {self.shape} (features x "
                                 f"classes), got {coef_init.shape}")
            self.v[:] = coef_init.ravel()
        self.scalars = np.array([1.0, 0.0])
        self.q = np.zeros_like(self.v)
        self.b = np.zeros(n_classes)
        if intercept_init is not None:
            self.b[:] = np.broadcast_to(np.asarray(intercept_init, dtype=np.float64),
                                        (n_classes,))
        self.steps = 0

    @property
    def arrays(self):
        """``(v, scalars, q, b)``: the kernels' ``model`` argument."""
        return self.v, self.scalars, self.q, self.b

    def iterate(self):
        """``(W, b)`` as float64 copies: scale folded in, pending L1 penalty applied."""
        w = self.v.astype(np.float64) * self.scalars[0]
        if self.scalars[1] > 0.0:
            flush_cumulative_l1(w, self.q.astype(np.float64), 1.0, self.scalars[1])
        return w.reshape(self.shape), self.b.copy()

    weights = iterate

    def check_finite(self, where):
        W, b = self.iterate()
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise DivergenceError(f"training diverged ({where}): the weights are no longer finite")


def kernel_config(problem, intercept_rate, l1=None):
    """``(loss_code, l2, l1, intercept_rate)``: the multiclass kernels' ``config``."""
    rate = float(intercept_rate) if problem.fit_intercept else 0.0
    return (problem.loss.code, problem.penalty.l2,
            problem.penalty.l1 if l1 is None else l1, rate)


def check_common(batch_size, rule):
    """What both drivers refuse: mini-batches and update rules other than plain SGD."""
    if batch_size != 1:
        raise ValueError(f"multinomial problems are trained one example per step: batch_size "
                         f"must be 1, got {batch_size}")
    if rule.name != "sgd":
        raise ValueError(f"multinomial problems are trained with optimizer 'sgd' only, got "
                         f"{rule.name!r}")


def new_state(problem, coef_init, intercept_init, resume):
    if resume is None:
        return MultinomialState(problem.n_features, problem.n_classes, problem.data.dtype,
                                coef_init, intercept_init)
    if not isinstance(resume, MultinomialState):
        raise TypeError(f"resume must be the Result.state of a multinomial fit, got "
                        f"{type(resume).__name__}")
    if coef_init is not None or intercept_init is not None:
        raise ValueError("pass either resume or coef_init/intercept_init, not both")
    if resume.shape != (problem.n_features, problem.n_classes) or \
            resume.v.dtype != problem.data.dtype:
        raise ValueError(f"resume holds {resume.shape} {resume.v.dtype} weights; the problem "
                         f"has {problem.n_features} {problem.data.dtype} features and "
                         f"{problem.n_classes} classes")
    return resume


class SerialRunner:
    """Runs stretches of steps of the serial multiclass kernel on one state."""

    def __init__(self, problem, state, intercept_rate):
        self.data = kernel_data(problem)
        self.config = kernel_config(problem, intercept_rate)
        self.state = state
        self.scratch = (np.zeros(problem.n_classes), np.zeros(problem.n_classes))
        self.loss_sum = None  # np.zeros(1) sums the steps' losses (running objective)

    def run(self, order, etas, t_start):
        return multiclass_epoch(self.data, self.state.arrays, self.config, order, etas,
                                self.scratch, self.loss_sum)


def run_sync(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state,
             eval_every, trace, coef_init=None, intercept_init=None, intercept_rate=1.0,
             shuffle=True, resume=None, epoch_end=None):
    """Serial SGD on a multinomial problem; the options mean what they mean for
    :func:`parallel_sgd.drivers.sync.run` (``resume``, ``epoch_end`` included)."""
    check_common(batch_size, rule)
    state = new_state(problem, coef_init, intercept_init, resume)
    runner = SerialRunner(problem, state, intercept_rate)
    runner.run(np.zeros(0, dtype=np.int64), np.zeros(0), 0)  # compile before the clock
    result = train_epochs(problem, trace, state, schedule, runner.run, n_epochs=n_epochs,
                          eval_every=eval_every, random_state=random_state, shuffle=shuffle,
                          first_step=state.steps,
                          epoch_end=running_objective(epoch_end, runner, problem))
    state.steps += result.n_updates
    result.state = state
    return result


class MultinomialWorkers(Workers):
    """The binary driver's :class:`~.hogwild.Workers` (shards, streams, step plans)
    running the multiclass replica kernel."""

    def __init__(self, problem, rule, state, n_workers, merge_every, intercept_rate,
                 merge_weights, random_state, shuffle):
        super().__init__(problem, rule, state, n_workers, merge_every, "none", intercept_rate,
                         merge_weights, random_state, shuffle)
        self.config = kernel_config(problem, intercept_rate, l1=0.0)  # merges apply L1
        self.probe = None  # checkpoints score K classes: the problem's own pass does it

    def serve(self, worker, sync, spins):
        replica, base, scratch = self.replicas[worker]
        return multiclass_replica_serve(sync, worker, spins, self.own_rows(worker),
                                        self.rngs[worker], self.own_etas(worker), self.data,
                                        self.shared, replica, base, self.config,
                                        self.merge_every, self.shares, 1.0 / self.n_workers,
                                        self.l1, scratch)

    def make_replicas(self):
        if self.replicas is None:
            self.replicas = [new_multiclass_replica(self.shared) for _ in range(self.n_workers)]


def run_hogwild(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state,
                eval_every, trace, coef_init=None, intercept_init=None, intercept_rate=1.0,
                shuffle=True, backend="threads", merge_every=None, merge_weights="frequency"):
    """Hogwild! on a multinomial problem: ``n_workers`` threads, each on a private replica
    merged into the shared weights every ``merge_every`` steps (see
    :func:`parallel_sgd.drivers.hogwild.run` for the options; threads only)."""
    check_common(batch_size, rule)
    if backend != "threads":
        raise ValueError(f"multinomial problems run Hogwild! on threads only "
                         f"(backend='threads'), got backend={backend!r}")
    check_options(problem, n_workers, batch_size, rule, backend, "none", merge_every,
                  merge_weights)
    if n_workers == 1:
        return run_sync(problem, n_workers=1, n_epochs=n_epochs, batch_size=1,
                        schedule=schedule, rule=rule, random_state=random_state,
                        eval_every=eval_every, trace=trace, coef_init=coef_init,
                        intercept_init=intercept_init, intercept_rate=intercept_rate,
                        shuffle=shuffle)
    state = new_state(problem, coef_init, intercept_init, None)
    workers = MultinomialWorkers(problem, rule, state, n_workers, merge_every, intercept_rate,
                                 merge_weights, random_state, shuffle)
    team = ThreadTeam(workers)
    return train_team(problem, trace, state, schedule, team, n_epochs, eval_every,
                      random_state)


DRIVERS = {"sync": run_sync, "hogwild": run_hogwild}
