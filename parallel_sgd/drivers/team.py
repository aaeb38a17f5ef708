"""What every parallel driver shares: the Hogwild! worker team and its replica merges.

Each worker owns a shard of the rows and its own random stream, reshuffling its
shard every epoch (see :class:`Workers`); the workers run the nogil kernels of
:mod:`parallel_sgd.kernels.hogwild` on their rows at the same time, each on a
private replica of the model merged into the shared weights every
``merge_every`` steps (:func:`default_merge_every`), with frequency-weighted
shares (:func:`merge_shares`), and meet only at checkpoints, where the trace
needs a consistent model. The calling thread is worker 0, the leader
(:class:`Team`); workers 1.. are threads (:class:`ThreadTeam`) or processes
(:class:`parallel_sgd.drivers.processes.ProcessTeam`).

SVRG's asynchronous inner loop runs on the same team (:meth:`Team.run_blocks`) with
the same merge shares and intervals; the Ray parameter server uses the shares too.
"""
import threading

import numpy as np

from ..errors import check_choice
from ..kernels.args import SCALE, Channel, Head, Merge, Probe, Shard
from ..kernels.handoff import (
    FAILED,
    GO,
    MARGINS,
    STEPS,
    STOP,
    counts,
    finish,
    new_sync,
    publish,
    wait_all,
    write_plan,
)
from ..kernels.hogwild import new_replica, replica_serve
from ..kernels.rules import SGD
from ..kernels.split_replica import MIN_FACTOR, fold_scale, settle_head_l1
from .common import train_epochs
from .orders import reshuffle_code
from .split_layout import SplitLayout, default_replica_features
from .state import kernel_rows, sgd_config

BACKENDS = ("threads", "processes")
LOCKING = ("none", "global")
MERGE_WEIGHTS = ("frequency", "sum")


def default_merge_every(problem, n_workers):
    """Steps between a worker's merges: the smallest of

    * ``10 d / nnz_per_row``: a merge costs O(d) and a step ~ the row's non-zeros,
      so merges cost about 10% of the steps;
    * ``8192 / n_workers``: the other workers' unmerged steps stay under ~8k (with
      more, many threads fall far behind the serial run's progress per epoch);
    * half the worker's share of an epoch, rounded up (shorter stretches make the
      merges of a wide model a large share of the time);

    and at least 256 (BENCHMARKS.md, Hogwild!).
    """
    nnz_per_row = max(1.0, problem.data.nnz / problem.n_samples)
    wanted = min(int(10 * problem.n_features / nnz_per_row), 8192 // n_workers,
                 -(-problem.n_samples // (2 * n_workers)))
    return max(256, wanted)


def merge_shares(problem, n_workers, merge_weights, features=None):
    """Weight of each coordinate's change in a merge: ``1 / (1 + (k - 1) f_j)`` with
    ``f_j`` the fraction of rows touching feature j ("frequency"), or 1 ("sum");
    for every feature, or for ``features`` only."""
    if features is not None and len(features) == 0:
        return np.ones(0)
    counts = problem.column_counts if features is None else problem.column_counts[features]
    if merge_weights == "sum":
        return np.ones(counts.shape[0])
    frequency = counts / problem.n_samples
    return 1.0 / (1.0 + (n_workers - 1) * frequency)


def check_team_options(problem, n_workers, batch_size, rule, backend, locking, merge_every,
                       merge_weights, replica_features=None):
    """Validate a team's options; errors name the option and the accepted values."""
    check_choice("backend", backend, BACKENDS)
    check_choice("merge_weights", merge_weights, MERGE_WEIGHTS)
    check_choice("locking", locking, LOCKING)
    if batch_size != 1:
        raise ValueError(f"driver 'hogwild' updates after every example: batch_size must be 1, "
                         f"got {batch_size} (use driver='sync' for mini-batches)")
    if n_workers > problem.n_samples:
        raise ValueError(f"n_workers={n_workers} exceeds the number of rows "
                         f"({problem.n_samples}): every worker needs rows to work on")
    if not rule.lock_free_safe:
        raise ValueError(f"update rule {rule.name!r} is not safe without locks; "
                         f"use one of: sgd, momentum, adagrad, rmsprop, adam")
    if merge_every is not None and (isinstance(merge_every, bool)
                                    or not isinstance(merge_every, (int, np.integer))
                                    or merge_every < 1):
        raise ValueError(f"merge_every must be an integer >= 1, got {merge_every!r}")
    check_replica_features(replica_features)


def check_replica_features(replica_features):
    """``replica_features`` is None (chosen from the problem) or an integer >= 0."""
    if replica_features is not None and (isinstance(replica_features, bool)
                                         or not isinstance(replica_features, (int, np.integer))
                                         or replica_features < 0):
        raise ValueError(f"replica_features must be an integer >= 0 (or None: chosen from the "
                         f"problem), got {replica_features!r}")


class Workers:
    """The kernel arguments of each worker: a private replica around the shared model,
    its own shard of the rows and its own random stream.

    Worker ``w`` owns the rows at epoch positions ``p % n_workers == w`` (a random
    assignment drawn once from ``random_state``, or the stored order with
    ``shuffle=False`` or ``"once"``; with ``"blocks"``, a contiguous stretch of as many
    rows), and reshuffles them (``True``: all; ``"blocks"``: in blocks, :mod:`.orders`)
    at the start of every epoch, inside its kernel, with its own generator (``rngs``,
    from ``SeedSequence(random_state).spawn``), so no permutation is drawn centrally.
    The epoch's step sizes are dealt out the same way: position ``p`` of the epoch
    is worker ``p % n_workers``'s step ``p // n_workers``.
    ``orders`` and ``etas`` hold every worker's rows and step sizes, worker ``w``'s
    at ``offsets[w]:offsets[w + 1]``.
    """

    def __init__(self, problem, rule, state, n_workers, merge_every, locking, intercept_rate,
                 merge_weights="frequency", random_state=0, shuffle=True, replica_features=None):
        self.data = kernel_rows(problem)
        self.locked = locking == "global"
        self.config = sgd_config(problem, rule, intercept_rate, batch_size=1)
        if not self.locked:  # replicas step without L1; merges apply it
            self.config = self.config._replace(l1=0.0)
        every = merge_every or default_merge_every(problem, n_workers)
        if replica_features is None:
            replica_features = default_replica_features(problem, every)
        self.layout = self.head = None  # full replicas; else head replicas (split_replica)
        if not self.locked and replica_features < problem.n_features:
            self.layout = SplitLayout(problem, replica_features)
            self.head = Head(self.layout.size, np.zeros(1, dtype=np.int64))
            self.data = self.layout.rows(self.data)
            shares = merge_shares(problem, n_workers, merge_weights, self.layout.feature_at)
            if self.config.rule.code != SGD:
                self.config = self.config._replace(
                    penalty_weights=self.layout.relabeled(self.config.penalty_weights))
        else:
            shares = merge_shares(problem, n_workers, merge_weights)
        self.merge = Merge(every=every, shares=shares,
                           intercept_share=1.0 / n_workers,
                           state_share=1.0 if rule.state_is_sum else 1.0 / n_workers,
                           l1=problem.penalty.l1,
                           lock=np.zeros(1, dtype=np.int64) if self.locked else None)
        self.plain_steps = rule.code == SGD  # the shared scale carries L2 (calls())
        self.shared = state.kernel_model
        self.replicas = None  # made by the thread team; processes make their own
        self.n_workers = n_workers
        self.n = n = problem.n_samples
        root, *self.streams = np.random.SeedSequence(random_state).spawn(n_workers + 1)
        self.rngs = [np.random.default_rng(stream) for stream in self.streams]
        self.offsets = np.concatenate([[0], np.cumsum(
            [len(range(w, n, n_workers)) for w in range(n_workers)])])
        if shuffle == "blocks":  # a contiguous stretch each, shuffled in blocks
            self.orders = np.arange(n)
        else:
            assignment = (np.random.default_rng(root).permutation(n) if shuffle is True
                          else np.arange(n))
            self.orders = np.concatenate([assignment[w::n_workers] for w in range(n_workers)])
        self.etas = np.zeros(n)
        self.reshuffle = reshuffle_code(shuffle, problem)
        # a checkpoint's (w, b) and the margins the workers compute from it
        self.probe = Probe(np.zeros(problem.n_features + 1), np.zeros(n))

    def own_rows(self, worker):
        """Worker ``worker``'s rows (a view of ``orders``), in its current epoch order."""
        return self.orders[self.offsets[worker]:self.offsets[worker + 1]]

    def own_etas(self, worker):
        """Worker ``worker``'s step sizes (a view of ``etas``), aligned with :meth:`own_rows`."""
        return self.etas[self.offsets[worker]:self.offsets[worker + 1]]

    def shard(self, worker, rng=None):
        """Worker ``worker``'s :class:`~parallel_sgd.kernels.args.Shard`."""
        return Shard(self.own_rows(worker), self.own_etas(worker),
                     self.rngs[worker] if rng is None else rng)

    def plan(self, etas, first_step):
        """Deal the steps ``first_step ...`` (``len(etas)`` of them, within one epoch) to
        the workers: write each one's step sizes into ``etas`` and return, per worker,
        ``(start, end, t_start, reshuffle)`` in its own rows, where ``t_start`` is its
        own step count (Adam's bias correction) and ``reshuffle`` marks an epoch start.
        """
        k, position = self.n_workers, first_step % self.n
        end = position + len(etas)
        plans = []
        for w in range(k):
            a, b = (position - w + k - 1) // k, (end - w + k - 1) // k
            self.etas[self.offsets[w] + a:self.offsets[w] + b] = etas[(w - position) % k::k]
            plans.append((a, b, (first_step - position) // k + a,
                          self.reshuffle if position == 0 else 0))
        return plans

    def calls(self, etas):
        """``(start, end)`` of the calls that run the steps with sizes ``etas``: one, except
        where head replicas shrink the shared scale by more than ``CALL_SHRINK`` in one
        call (the scale is folded into the weights between calls, :meth:`before_call`)."""
        l2 = self.config.l2
        if self.head is None or not self.plain_steps or l2 <= 0.0 or len(etas) == 0:
            return [(0, len(etas))]
        shrink = -np.cumsum(np.log(np.maximum(1.0 - etas * l2, MIN_FACTOR)))
        group = np.floor(shrink / -np.log(CALL_SHRINK))
        cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), len(etas)]
        return list(zip(cuts[:-1], cuts[1:]))

    def before_call(self):
        """With head replicas: fold a small shared scale into the weights (O(d), rare), then
        relabel the shared model for the call (O(H))."""
        if self.layout is not None:
            if self.shared.scalars[SCALE] < FOLD_BELOW:
                fold_scale(self.shared)
            self._swap_model()

    def after_call(self):
        """With head replicas: settle the head's L1 bookkeeping and put the shared model
        back in the features' order (O(H))."""
        if self.layout is not None:
            settle_head_l1(self.shared, self.layout.size)
            self._swap_model()

    def _swap_model(self):
        for array in (self.shared.v, self.shared.q, self.shared.rule_state[:, :-1]):
            self.layout.swap(array)

    def relabel_point(self, w):
        """Put a checkpoint's ``w`` (in place) in the labels the workers' rows use."""
        if self.layout is not None:
            self.layout.swap(w)

    def first_failure(self, etas, first_step, plans, done):
        """The index in ``etas`` of the first step a worker could not complete, or its length."""
        k, position = self.n_workers, first_step % self.n
        failed = [(w - position) % k + k * count
                  for w, ((a, b, _, _), count) in enumerate(zip(plans, done)) if count < b - a]
        return min(failed, default=len(etas))

    def serve(self, worker, sync, spins):
        """Run worker ``worker``'s calls as the hand-off ``sync`` deals them, until none
        comes within ``spins`` waits (:mod:`parallel_sgd.kernels.handoff`)."""
        replica = None if self.locked else self.replicas[worker]
        return replica_serve(Channel(sync, worker, spins), self.shard(worker), self.probe,
                             self.data, self.shared, replica, self.config, self.merge,
                             self.head)

    def make_replicas(self, count=None):
        """Private replicas for the first ``count`` workers (default: all), the ones that
        run in this process."""
        if not self.locked and self.replicas is None:
            self.replicas = [new_replica(self.shared, self.head)
                             for _ in range(count or self.n_workers)]


CALL_SHRINK = 1e-12
"""The most a call's steps may shrink the shared scale of head replicas (:meth:`Workers.calls`)."""
FOLD_BELOW = 1e-6
"""A shared scale below this is folded into the weights before the next call."""


SPINS = 65536
"""How long a waiting worker stays awake for the next call before it sleeps: ~25 us of
pauses, then ~10 ms of yields on an idle core (:func:`parallel_sgd.kernels.handoff.relax`),
longer than a checkpoint between two calls takes, so the workers are awake when the
next call comes (BENCHMARKS.md, Hogwild!)."""


class Team:
    """What every Hogwild! team shares: the calling thread is worker 0, the leader,
    and workers 1.. (threads or processes) take their calls through the spin hand-off
    of :mod:`parallel_sgd.kernels.handoff`, which costs no OS wake-up per call.

    A subclass starts the workers with ``self.sync`` and defines ``_wake_workers``
    (before and after each call is published), ``_check_workers`` (raise when one
    died; called while the leader waits), ``_error`` (the error of a worker that
    answered ``FAILED``) and ``close``.
    """

    def __init__(self, workers, sync):
        self.workers = workers
        self.sync = sync
        self.generation = 0
        self.spins = SPINS

    def run_steps(self, rows, etas, first_step):
        for start, end in self.workers.calls(etas):
            done = self._steps(etas[start:end], first_step + start)
            if done < end - start:
                return start + done
        return len(etas)

    def _steps(self, etas, first_step):
        self._wake_workers()  # first: the OS wake-up overlaps the planning below
        plans = self.workers.plan(etas, first_step)
        self.workers.before_call()
        try:
            done = self._call(plans, STEPS)
        finally:
            self.workers.after_call()
        return self.workers.first_failure(etas, first_step, plans, done)

    def run_blocks(self, bounds):
        """One call of steps in which worker ``w`` takes positions ``bounds[w]`` to
        ``bounds[w + 1]`` of the rows its serve kernel steps over (SVRG: the inner loop's
        drawn rows); returns each worker's count of steps done."""
        self._wake_workers()
        k = self.workers.n_workers
        return self._call([(int(bounds[w]), int(bounds[w + 1]), 0, False) for w in range(k)],
                          STEPS)

    def margins(self, w, b):
        """``X w + b`` over the training rows, each worker computing a block of them: the
        checkpoints' pass (:attr:`parallel_sgd.trace.Trace.margins`) runs on the team,
        whose waiting workers would otherwise compete with another pool's threads for
        the cores."""
        self._wake_workers()
        point, out = self.workers.probe
        point[:-1], point[-1] = w, b
        self.workers.relabel_point(point[:-1])
        n, k = self.workers.n, self.workers.n_workers
        plans = [(i * n // k, (i + 1) * n // k, 0, False) for i in range(k)]
        self._call(plans, MARGINS)
        return out.copy()

    def _call(self, plans, kind):
        """Publish one call (``plans[w]`` for worker ``w``), take the leader's part, wait
        for the others; returns each worker's count of work done."""
        for w, plan in enumerate(plans):
            write_plan(self.sync, w, *plan, kind)
        self.generation += 1
        publish(self.sync, self.generation)
        self._wake_workers()  # again: a worker that gave up spinning meanwhile sleeps
        try:
            self.workers.serve(0, self.sync, 0)
        finally:
            self._wait()
        done = counts(self.sync, self.workers.n_workers)
        for w in range(self.workers.n_workers):
            if done[w] == FAILED:
                raise self._error(w)
        return done

    def _wait(self):
        """Until every worker answered this generation (checking on them now and then)."""
        while not wait_all(self.sync, self.workers.n_workers, self.generation, self.spins):
            self._check_workers()

    def warm_up(self):
        """Compile (or load) the leader's kernel before any clock starts."""
        self.workers.serve(0, self.sync, 0)


class ThreadTeam(Team):
    """A :class:`Team` whose workers are threads of this process, living as long as it.

    A worker that raises answers ``FAILED``; the leader re-raises its error.
    """

    def __init__(self, workers):
        workers.make_replicas()
        super().__init__(workers, new_sync(workers.n_workers))
        self.wake = [threading.Event() for _ in range(workers.n_workers)]
        self.errors = {}
        self.stopping = False
        self.threads = [threading.Thread(target=self._serve_forever, args=(w,), daemon=True,
                                         name=f"psgd-hogwild-{w}")
                        for w in range(1, workers.n_workers)]
        for thread in self.threads:
            thread.start()

    def _serve_forever(self, worker):
        while True:
            self.wake[worker].wait()
            self.wake[worker].clear()
            if self.stopping:
                return
            try:
                self.workers.serve(worker, self.sync, self.spins)
            except BaseException as error:  # noqa: B036 -- the leader re-raises it
                self.errors[worker] = error
                finish(self.sync, worker, self.sync[GO], FAILED)

    def _wake_workers(self):
        for event in self.wake[1:]:
            event.set()

    def _check_workers(self):
        """A worker that raised outside a call (so answered no generation) fails the run."""
        if self.errors:
            raise self.errors.pop(min(self.errors))

    def _error(self, worker):
        return self.errors.pop(worker)

    def close(self):
        self.stopping = True
        publish(self.sync, STOP)
        self._wake_workers()
        for thread in self.threads:
            thread.join()


def train_team(problem, trace, state, schedule, team, n_epochs, eval_every, random_state):
    """The shared epoch loop (:func:`.common.train_epochs`) on a team of workers that draw
    their own rows; the team is closed afterwards, whatever happens."""
    try:
        team.warm_up()
        if team.workers.probe is not None:
            trace.margins = team.margins
        return train_epochs(problem, trace, state, schedule, team.run_steps, n_epochs=n_epochs,
                            eval_every=eval_every, random_state=random_state, shuffle=None)
    finally:
        trace.margins = None
        team.close()
