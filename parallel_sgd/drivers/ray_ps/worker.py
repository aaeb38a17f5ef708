"""A parameter-server worker: a shard of the rows, loaded once, and the rounds run on it.

A plain class (the Ray actor wraps it unchanged), so its logic is tested without Ray.
A round is: pull the model from the servers, run ``stop - start`` steps of this
worker's epoch with the Numba kernels on a private copy, push what changed.

The worker's steps are dealt out as in the Hogwild driver: worker ``w`` of ``k``
owns the rows at positions ``p % k == w`` of a random assignment, reshuffles them
every epoch with its own random stream, and its step ``j`` of epoch ``e`` takes the
schedule's step size at global step ``e * S + w + k * j`` (``S`` steps per pass).
With one worker the order and the step sizes are exactly the sync driver's, so a
``sync`` run with one worker reproduces it.

A push carries only what changed: with the sgd rule the round's L2 shrink is one
``factor`` (the kernel's weight scale) and the coordinates the rows touched go as
``indices + values``; the adaptive rules (whose state the servers hold) add the
state's changes on the same coordinates. With an L1 penalty the pending lazy
penalty is applied to every weight at the end of a round, so pushes get denser
(and penalty owed past zero is forgotten there, as at the Hogwild driver's
merges: with L1 one worker is close to the sync driver, not equal to it).
"""
from dataclasses import dataclass

import numpy as np

from ...data import Dataset, fetch, load
from ...data.catalog import CATALOG
from ...errors import DivergenceError
from ...kernels.args import L1_TOTAL, SCALE, LinearModel, Rows
from ...kernels.linalg import data_arrays
from ...kernels.minibatch import make_scratch, minibatch_epoch
from ...kernels.rules import SGD
from ...kernels.sgd import sgd_epoch
from ...maths.penalties import flush_cumulative_l1
from ...model.problem import Problem
from ..orders import draw_order
from .server import Push


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs besides its data (small; sent once, at start-up)."""

    index: int
    n_workers: int
    n_samples: int             # rows of the full data (checked when the worker loads it)
    shard: np.ndarray          # the rows this worker owns
    seed: object               # int or SeedSequence of its shuffling stream
    problem_args: tuple        # (loss, alpha, l1_ratio, fit_intercept): targets encoded alike
    config: tuple              # the kernels' SGDConfig (state.sgd_config)
    n_slots: int               # the update rule's state rows
    batch_size: int
    schedule: object
    steps_per_pass: int        # S: every worker's steps of one epoch together
    ranges: tuple              # the servers' key ranges
    shares: np.ndarray = None  # (d + 1,) weight of each key's change in a push (None: 1)
    state_share: float = 1.0   # weight of the rule state's changes
    shuffle: object = True     # the epoch order of its rows (drivers.orders)
    block: int = 1             # rows per block of the "blocks" order


@dataclass
class RoundReport:
    """What a round did, for the driver's trace and statistics."""

    worker: int
    round: int
    n_steps: int
    n_examples: int
    staleness: int
    bytes_pushed: int
    keys_pushed: int
    restarted: bool = False  # the first round of a worker Ray restarted


def load_data(source, n_features):
    """A Dataset from ``source``: a Dataset, a catalog name or an svmlight path."""
    if isinstance(source, Dataset):
        return source
    if isinstance(source, str):
        data = fetch(source) if source in CATALOG else load(source, n_features=n_features)
        return data.with_n_features(n_features)
    raise TypeError(f"data must be a Dataset, a catalog name or a path, got {type(source).__name__}")


class Worker:
    """Runs rounds on one shard of rows against a group of servers.

    Parameters
    ----------
    spec : WorkerSpec
    data : Dataset or str
        The full data set (from the object store, a catalog name or a path): the
        worker keeps a private copy of its shard's rows only.
    n_features : int
        ``d`` (a file may name fewer features than the problem has).
    servers : object
        ``pull(worker, round) -> (model, rule_state, staleness)`` and
        ``push(pushes)`` over all servers (:class:`LocalServers` or the Ray group).
    """

    def __init__(self, spec, data, n_features, servers):
        self.spec = spec
        self.servers = servers
        full = load_data(data, n_features)
        if full.n_samples != spec.n_samples:
            raise ValueError(f"worker {spec.index}: the data it loaded has {full.n_samples} rows, "
                             f"the problem {spec.n_samples}")
        loss, alpha, l1_ratio, fit_intercept = spec.problem_args
        y = Problem(full, loss, alpha, l1_ratio, fit_intercept).y
        local = full.take(spec.shard)  # a private, writable copy of the shard's rows
        self.data = Rows(*data_arrays(local.X), np.ascontiguousarray(y[spec.shard]),
                         local.sample_weight)
        self.n_rows = local.n_samples
        self.d = n_features
        self.dtype = local.dtype
        self.steps_per_epoch = -(-self.n_rows // spec.batch_size)
        self.v = np.zeros(n_features, dtype=self.dtype)
        self.before = np.zeros(n_features, dtype=self.dtype)
        self.b = np.zeros(1)
        self.scalars = np.zeros(2)
        self.q = np.zeros(n_features, dtype=self.dtype)
        self.rule_state = np.zeros((spec.n_slots, n_features + 1), dtype=self.dtype)
        self.state_before = self.rule_state.copy()
        self.model = LinearModel(self.v, self.b, self.scalars, self.q, self.rule_state)
        if spec.batch_size > 1:
            self.scratch = make_scratch(n_features, spec.batch_size)
        self._epoch, self._rng, self._order, self._etas = -1, None, None, None

    # -- the epoch's order and step sizes ---------------------------------------------
    def epoch_plan(self, epoch):
        """``(order, etas)`` of ``epoch``: local row ids and the steps' sizes.

        Drawn from the worker's own stream, one order per epoch in sequence; a
        restarted worker (fresh constructor) replays the stream up to ``epoch``.
        """
        if epoch < self._epoch or self._rng is None:
            self._rng, self._epoch = np.random.default_rng(self.spec.seed), -1
        while self._epoch < epoch:
            self._order = draw_order(self._rng, self.n_rows, self.spec.shuffle,
                                     self.spec.block)
            self._epoch += 1
        if self._etas is None or self._etas[0] != epoch:
            spec = self.spec
            t = (epoch * spec.steps_per_pass + spec.index
                 + spec.n_workers * np.arange(self.steps_per_epoch))
            self._etas = (epoch, spec.schedule(t, epoch))
        return self._order, self._etas[1]

    # -- one round -----------------------------------------------------------------------
    def warm_up(self):
        """Compile (or load from Numba's cache) the kernel before any clock starts."""
        self._steps(np.zeros(0, dtype=np.int64), np.zeros(0), 0)
        return True

    def run_round(self, round_, epoch, start, stop):
        """Pull, run steps ``start .. stop`` of ``epoch``, push; returns a :class:`RoundReport`."""
        spec = self.spec
        model, state, staleness = self.servers.pull(spec.index, round_)
        self.v[:] = model[:self.d]
        self.before[:] = self.v
        self.b[0] = b_before = float(model[self.d])
        self.scalars[SCALE], self.scalars[L1_TOTAL] = 1.0, 0.0
        if spec.n_slots:
            self.rule_state[:] = state
            self.state_before[:] = self.rule_state
        order, etas = self.epoch_plan(epoch)
        bs = spec.batch_size
        rows = order[start * bs:min(stop * bs, self.n_rows)]
        t_start = epoch * spec.steps_per_pass + spec.index + spec.n_workers * start
        done = self._steps(rows, etas[start:stop], t_start)
        if done < stop - start:
            raise DivergenceError(f"worker {spec.index}: a prediction became NaN or infinite at "
                                  f"epoch {epoch}, step {start + done}")
        pushes = self._pushes(round_, etas[start:stop], b_before)
        self.servers.push(pushes)
        return RoundReport(spec.index, round_, stop - start, len(rows), staleness,
                           sum(p.nbytes for p in pushes), sum(len(p.indices) for p in pushes))

    def _steps(self, rows, etas, t_start):
        if self.spec.batch_size == 1:
            return sgd_epoch(self.data, self.model, self.spec.config, rows, etas, t_start)
        return minibatch_epoch(self.data, self.model, self.spec.config, rows, etas,
                               self.spec.batch_size, t_start, self.scratch)

    def _pushes(self, round_, etas, b_before):
        """The round's change, split by the servers' key ranges."""
        spec = self.spec
        factor, changed, delta = self._weight_changes(etas)
        keys = changed.astype(np.int32)
        values = delta
        states = None
        b_change = self.b[0] - b_before
        intercept_state = (self.rule_state[:, self.d] - self.state_before[:, self.d]
                           if spec.n_slots else None)
        if b_change != 0.0 or (intercept_state is not None and intercept_state.any()):
            keys = np.append(keys, np.int32(self.d))
            values = np.append(values, b_change)
        if spec.n_slots:
            states = (self.rule_state[:, keys].astype(np.float64)
                      - self.state_before[:, keys])
            if spec.state_share != 1.0:
                states *= spec.state_share
        if spec.shares is not None:
            values = values * spec.shares[keys]
        return split_push(spec.index, round_, factor, keys, values, states, spec.ranges)

    def _weight_changes(self, etas):
        """``(factor, keys, changes)`` of the weights (not the intercept) over the round.

        sgd rule: the weights are ``scale * v``; unless the kernel folded its scale
        into ``v`` (its scale then differs from the product of the round's shrink
        factors), untouched coordinates kept ``v``, so the change is the factor
        ``scale`` plus the touched coordinates' ``scale * (v - before)``. Adaptive
        rules: the coordinates whose weight or state moved.
        """
        l2, l1 = self.spec.config.l2, self.spec.config.l1
        if self.spec.config.rule.code != SGD:
            moved = (self.v != self.before) | (self.rule_state[:, :self.d]
                                               != self.state_before[:, :self.d]).any(axis=0)
            changed = np.flatnonzero(moved)
            return 1.0, changed, self.v[changed].astype(np.float64) - self.before[changed]
        scale = self.scalars[SCALE]
        if l1 > 0.0:  # the lazy L1 penalty every weight is owed, before w leaves the round
            flush_cumulative_l1(self.v, self.q, scale, self.scalars[L1_TOTAL])
            self.q[:] = 0.0
        expected = float(np.prod(np.maximum(0.0, 1.0 - etas * l2))) if l2 > 0.0 else 1.0
        if scale == expected or (expected > 0.0 and abs(scale / expected - 1.0) < 1e-9):
            changed = np.flatnonzero(self.v != self.before)
            return scale, changed, scale * (self.v[changed].astype(np.float64)
                                            - self.before[changed])
        full = scale * self.v.astype(np.float64) - self.before  # folded or reset: dense
        changed = np.flatnonzero(full)
        return 1.0, changed, full[changed]


def split_push(worker, round_, factor, keys, values, states, ranges):
    """One :class:`Push` per server range (possibly empty: every server's clock advances)."""
    cuts = np.searchsorted(keys, [lo for lo, _ in ranges] + [ranges[-1][1]])
    pushes = []
    for s in range(len(ranges)):
        a, b = cuts[s], cuts[s + 1]
        pushes.append(Push(worker, round_, factor, keys[a:b], values[a:b],
                           None if states is None else states[:, a:b]))
    return pushes


class LocalServers:
    """The servers as plain objects in this process (tests; the Ray group mirrors it)."""

    def __init__(self, servers):
        self.servers = list(servers)

    def pull(self, worker, round_):
        parts = [s.pull(worker, round_) for s in self.servers]
        return assemble(parts)

    def push(self, pushes):
        for server, push in zip(self.servers, pushes):
            server.push(push)


def assemble(parts):
    """Concatenate the servers' ``(weights, state, staleness)`` pulls into the model's."""
    model = np.concatenate([p[0] for p in parts])
    states = [p[1] for p in parts]
    state = None if states[0] is None else np.concatenate(states, axis=1)
    return model, state, max(p[2] for p in parts)
