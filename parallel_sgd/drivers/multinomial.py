"""The sync and Hogwild! drivers for multinomial problems (softmax, Crammer-Singer).

They run the multiclass kernels (:mod:`parallel_sgd.kernels.multiclass`) inside
the loop every SGD-family driver shares (:func:`.common.train_epochs`: epochs,
checkpoints, divergence checks), with the plain ``sgd`` update rule and one
example per step. Hogwild! runs on the binary driver's worker team (:mod:`.team`:
row shards, per-worker random streams, frequency-weighted replica merges); one
worker runs the serial kernel, so its result equals ``driver="sync"`` exactly.
"""
import numpy as np

from ..kernels.args import SCALE, Channel, Scores
from ..kernels.multiclass import multiclass_epoch
from ..kernels.multiclass_hogwild import multiclass_replica_serve, new_multiclass_replica
from ..kernels.split_replica import fold_scale, settle_head_l1
from .common import check_plain_steps, train_epochs
from .serial import running_objective
from .split_layout import default_multiclass_replica_features
from .state import MultinomialState, kernel_rows, multiclass_config
from .team import FOLD_BELOW, ThreadTeam, Workers, check_team_options, train_team


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
        self.data = kernel_rows(problem)
        self.config = multiclass_config(problem, intercept_rate)
        self.state = state
        self.scratch = Scores(np.zeros(problem.n_classes), np.zeros(problem.n_classes))
        self.loss_sum = None  # np.zeros(1) sums the steps' losses (running objective)

    def run(self, order, etas, t_start):
        return multiclass_epoch(self.data, self.state.kernel_model, self.config, order, etas,
                                self.scratch, self.loss_sum)


def run_sync(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state,
             eval_every, trace, coef_init=None, intercept_init=None, intercept_rate=1.0,
             shuffle=True, resume=None, epoch_end=None):
    """Serial SGD on a multinomial problem; the options mean what they mean for
    :func:`parallel_sgd.drivers.sync.run` (``resume``, ``epoch_end`` included)."""
    check_plain_steps("multinomial problems", "example", batch_size, rule)
    state = new_state(problem, coef_init, intercept_init, resume)
    return train_serial(problem, state, trace, schedule, n_epochs=n_epochs,
                        eval_every=eval_every, random_state=random_state,
                        intercept_rate=intercept_rate, shuffle=shuffle, epoch_end=epoch_end)


def train_serial(problem, state, trace, schedule, *, n_epochs, eval_every, random_state,
                 intercept_rate=1.0, shuffle=True, epoch_end=None):
    """Train ``state`` with the serial multiclass kernel; returns the Result with
    ``state`` attached and its step count advanced."""
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
    """The binary driver's :class:`~.team.Workers` (shards, streams, step plans, the
    layout of full or head replicas) running the multiclass kernels."""

    def __init__(self, problem, rule, state, n_workers, merge_every, intercept_rate,
                 merge_weights, random_state, shuffle, replica_features=None):
        if replica_features is None:
            replica_features = default_multiclass_replica_features(problem)
        super().__init__(problem, rule, state, n_workers, merge_every, "none", intercept_rate,
                         merge_weights, random_state, shuffle, replica_features)
        # merges apply L1 to full replicas (head replicas apply it lazily on the tail)
        self.config = multiclass_config(problem, intercept_rate)
        if self.head is None:
            self.config = self.config._replace(l1=0.0)
        self.merge = self.merge._replace(state_share=1.0)  # no rule states here
        self.plain_steps = True
        self.n_classes = problem.n_classes
        self.probe = None  # checkpoints score K classes: the problem's own pass does it

    def before_call(self):
        """With head replicas: fold a small shared scale into the weights (O(dK), rare),
        then relabel the shared model for the call (O(HK))."""
        if self.layout is not None:
            if self.shared.scalars[SCALE] < FOLD_BELOW:
                fold_scale(self.shared)
            self._swap_model()

    def after_call(self):
        """With head replicas: settle the head's L1 bookkeeping and put the shared model
        back in the features' order (O(HK))."""
        if self.layout is not None:
            settle_head_l1(self.shared, self.layout.size * self.n_classes)
            self._swap_model()

    def _swap_model(self):
        for flat in (self.shared.v, self.shared.q):  # a feature's K weights move together
            self.layout.swap(flat.reshape(-1, self.n_classes).T)

    def serve(self, worker, sync, spins):
        return multiclass_replica_serve(Channel(sync, worker, spins), self.shard(worker),
                                        self.data, self.shared, self.replicas[worker],
                                        self.config, self.merge, self.head)

    def make_replicas(self, count=None):
        if self.replicas is None:
            self.replicas = [new_multiclass_replica(self.shared, self.head)
                             for _ in range(count or self.n_workers)]


def run_hogwild(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state,
                eval_every, trace, coef_init=None, intercept_init=None, intercept_rate=1.0,
                shuffle=True, backend="threads", merge_every=None, merge_weights="frequency",
                replica_features=None):
    """Hogwild! on a multinomial problem: ``n_workers`` threads, each on a private replica
    merged into the shared weights every ``merge_every`` steps or, on wide data, writing
    in place (see :func:`parallel_sgd.drivers.hogwild.run` for the options; threads only)."""
    check_plain_steps("multinomial problems", "example", batch_size, rule)
    if backend != "threads":
        raise ValueError(f"multinomial problems run Hogwild! on threads only "
                         f"(backend='threads'), got backend={backend!r}")
    check_team_options(problem, n_workers, batch_size, rule, backend, "none", merge_every,
                       merge_weights, replica_features)
    state = new_state(problem, coef_init, intercept_init, None)
    if n_workers == 1:
        return train_serial(problem, state, trace, schedule, n_epochs=n_epochs,
                            eval_every=eval_every, random_state=random_state,
                            intercept_rate=intercept_rate, shuffle=shuffle)
    workers = MultinomialWorkers(problem, rule, state, n_workers, merge_every, intercept_rate,
                                 merge_weights, random_state, shuffle, replica_features)
    team = ThreadTeam(workers)
    return train_team(problem, trace, state, schedule, team, n_epochs, eval_every,
                      random_state)


DRIVERS = {"sync": run_sync, "hogwild": run_hogwild}
