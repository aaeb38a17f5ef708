"""``fit(problem, driver="ray")``: the parameter server on Ray.

``n_servers`` server actors own contiguous key ranges of the model; ``n_workers``
worker actors each own a shard of the rows and run rounds (pull, ``local_steps``
kernel steps, push). The driver only dispatches rounds (``ray.wait``), holding
each worker to the mode's bound on how far it may run ahead of the slowest
(sync 0, ssp ``staleness``, async none), and meets all workers at checkpoints to
record the trace. A worker that dies is restarted by Ray and its round is
dispatched again; a server that dies is restarted from its last checkpoint.
"""
import math
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np

from ...errors import DivergenceError
from ...model.optimizers import sgd
from ...trace import checkpoint_epochs
from ..common import Result, check_progress, divergence_error
from ..orders import order_block
from ..state import ModelState, sgd_config
from ..team import merge_shares
from . import session
from .actors import start_inputs, start_server, start_worker
from .rounds import Clocks, RoundPlan
from .server import CheckpointPolicy
from .settings import ClusterSettings, PSConfig, default_local_steps, key_ranges
from .worker import WorkerSpec


def run(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state, eval_every,
        trace, coef_init=None, intercept_init=None, intercept_rate=1.0, mode="sync",
        staleness=None, n_servers=1, local_steps=None, address=None, data=None, cluster=None,
        checkpoint_dir=None, checkpoint_every=None, max_restarts=None, shuffle=True):
    """Train with the Ray parameter server; see :func:`parallel_sgd.fit` for the arguments.

    Driver options
    --------------
    mode : {"sync", "async", "ssp"}
        Consistency of the workers' rounds (see :class:`.settings.PSConfig`).
    staleness : int
        ssp's bound: a worker more than this many rounds ahead of the slowest waits.
    n_servers : int
        Server actors, each owning a contiguous range of the weights.
    local_steps : int
        Steps per round between a worker's pull and its push (default: see
        :func:`.settings.default_local_steps`).
    address : str
        None (a Ray already initialized here, else a local one), ``"auto"``,
        ``"host:port"`` or ``"ray://host:10001"``.
    data : str
        A catalog name, an svmlight file, a part folder or a cache every worker
        loads itself (a shared volume on a cluster) instead of receiving the
        problem's data through the object store; it must hold the problem's rows.
    cluster : ClusterSettings
        CPUs per actor, restarts, checkpoints; ``address``, ``checkpoint_dir``,
        ``checkpoint_every`` and ``max_restarts`` override its fields.
    intercept_rate : float
        Scales the intercept's steps (as in the sync driver).

    Returns
    -------
    Result
        ``result.config["faults"]`` counts the worker and server failures survived.
    """
    settings = _cluster_settings(cluster, address=address, checkpoint_dir=checkpoint_dir,
                                 checkpoint_every=checkpoint_every, max_restarts=max_restarts)
    config = PSConfig(mode, staleness, n_servers, local_steps)
    _check_problem(problem, n_workers, batch_size, data)
    if data is not None and shuffle == "once":
        raise ValueError("shuffle='once' permutes the problem's rows, and workers that load "
                         "data themselves read them in the file's order: use shuffle='blocks' "
                         "or False with data")
    d = problem.n_features
    key_ranges(d + 1, config.n_servers)  # checks n_servers before Ray starts
    model0 = _initial_model(d, coef_init, intercept_init)
    ray = session.connect(settings.address, settings.num_cpus)

    shards, seeds = deal_rows(problem.n_samples, n_workers, random_state, shuffle)
    shard_steps = [-(-len(s) // batch_size) for s in shards]
    steps_per_pass = sum(shard_steps)
    local = config.local_steps or default_local_steps(
        max(shard_steps), problem.data.nnz / problem.n_samples * batch_size, d)
    plan = RoundPlan(n_epochs, -(-max(shard_steps) // local),
                     checkpoint_epochs(n_epochs, eval_every))

    run_id = uuid.uuid4().hex[:10]
    folder, owned = _checkpoint_folder(settings, run_id)
    actors = []
    try:
        servers, workers = _start_actors(ray, actors, run_id, problem, data, rule, schedule,
                                         settings, config, batch_size, shards, seeds,
                                         intercept_rate, model0, folder, steps_per_pass,
                                         shuffle)
        ray.get([w.warm_up.remote() for w in workers])  # load shards and compile, clock stopped
        rounds = RoundRunner(ray, workers, servers, plan, shard_steps, config.bound,
                             settings.max_restarts, d)
        rows = rounds.train(trace, problem, schedule, steps_per_pass)
        w, b = rounds.model()
        if not (np.isfinite(w).all() and np.isfinite(b)):
            raise divergence_error("the end of training (the weights are not finite)",
                                   schedule, problem)
        server_restarts = sum(s["restarts"] for s in ray.get([s.status.remote() for s in servers]))
    finally:
        for handle in actors:
            ray.kill(handle)
        if owned:
            shutil.rmtree(folder, ignore_errors=True)
    stats = rounds.stats
    return Result(w, b, rows, driver=trace.driver, config=dict(
        mode=config.mode, staleness=config.staleness, n_servers=config.n_servers,
        local_steps=local, rounds=plan.n_rounds,
        faults={"workers": rounds.worker_faults, "servers": server_restarts},
        bytes_pushed=stats.bytes, bytes_per_update=stats.bytes / max(stats.steps, 1),
        keys_per_push=stats.keys / max(stats.pushes, 1)))


def _start_actors(ray, actors, run_id, problem, data, rule, schedule, settings, config,
                  batch_size, shards, seeds, intercept_rate, model0, folder, steps_per_pass,
                  shuffle):
    """Start the servers, the inputs holder and the workers (appended to ``actors`` as they
    start, so the caller kills them whatever happens); returns ``(servers, workers)``.
    Worker ``w`` trains rows ``shards[w]`` with shuffling stream ``seeds[w]``."""
    d = problem.n_features
    n_workers = len(shards)
    ranges = key_ranges(d + 1, config.n_servers)
    initial = None if not model0.any() else model0  # zeros need not travel
    for s, (lo, hi) in enumerate(ranges):
        actors.append(start_server(
            settings, run_id, s, lo, hi, d, rule.n_slots, n_workers,
            weights=None if initial is None else initial[lo:hi], sync=config.mode == "sync",
            checkpoint=CheckpointPolicy(str(folder / f"server-{s}.npz"),
                                        settings.checkpoint_every, settings.checkpoint_seconds)))
    servers = list(actors)
    shares, state_share = push_shares(problem, rule, n_workers)
    problem_args = (problem.loss, problem.alpha, problem.l1_ratio, problem.fit_intercept)
    kernel_args = sgd_config(problem, rule, intercept_rate)
    specs = [[ray.put(WorkerSpec(
        w, n_workers, problem.n_samples, shards[w], seeds[w], problem_args, kernel_args,
        rule.n_slots, batch_size, schedule, steps_per_pass, tuple(ranges), shares,
        state_share, shuffle, order_block(shuffle, problem)))]
        for w in range(n_workers)]
    source = [data if data is not None else ray.put(problem.data)]
    actors.append(start_inputs(run_id, specs, source))
    workers = [start_worker(settings, run_id, w, len(servers), d) for w in range(n_workers)]
    actors += workers
    return servers, workers


class RoundStats:
    """Totals of the rounds done, and the staleness of those since the last trace row."""

    def __init__(self):
        self.steps = self.examples = self.bytes = self.keys = self.pushes = 0
        self.staleness = []

    def add(self, report):
        self.steps += report.n_steps
        self.examples += report.n_examples
        self.bytes += report.bytes_pushed
        self.keys += report.keys_pushed
        self.pushes += 1
        self.staleness.append(report.staleness)

    def staleness_row(self):
        values, self.staleness = self.staleness, []
        if not values:
            return {"staleness_mean": 0.0, "staleness_max": 0}
        return {"staleness_mean": float(np.mean(values)), "staleness_max": int(max(values))}


class RoundRunner:
    """Dispatches the workers' rounds under the consistency bound and records checkpoints."""

    def __init__(self, ray, workers, servers, plan, shard_steps, bound, max_restarts, d):
        self.ray, self.workers, self.servers = ray, workers, servers
        self.plan, self.shard_steps, self.d = plan, shard_steps, d
        self.clocks = Clocks(len(workers), bound)
        self.max_retries = max_restarts + 1
        self.stats = RoundStats()
        self.worker_faults = 0
        self._failures = {}
        self._problem = None  # (schedule, problem), for divergence errors

    def model(self):
        """``(w, b)`` with every push applied (float64 copies)."""
        full = np.concatenate(self.ray.get([s.weights.remote() for s in self.servers]))
        return full[:self.d], float(full[self.d])

    def train(self, trace, problem, schedule, steps_per_pass):
        """Run every round, recording a trace row at each checkpoint; returns the rows."""
        self._problem = (schedule, problem)
        trace.record(*self.model(), epoch=0, n_updates=0, n_grad_evals=0,
                     **self.stats.staleness_row())
        for end in self.plan.mark_ends:
            with trace.clock:
                self._rounds_until(end)
            stats = self.stats
            stop = trace.record(*self.model(), epoch=stats.steps / steps_per_pass,
                                n_updates=stats.steps, n_grad_evals=stats.examples,
                                **stats.staleness_row())
            try:
                check_progress(trace.rows, schedule, problem)
            except DivergenceError:
                raise divergence_error(f"epoch {trace.rows[-1]['epoch']:g}", schedule,
                                       problem) from None
            if stop:
                break
        return trace.rows

    def _rounds_until(self, end):
        ray, clocks = self.ray, self.clocks
        inflight = {}
        while not clocks.all_reached(end):
            busy = set(inflight.values())
            for w, worker in enumerate(self.workers):
                if w not in busy and clocks.may_start(w, end):
                    epoch, start, stop = self.plan.steps(clocks.completed[w], self.shard_steps[w])
                    ref = worker.run_round.remote(clocks.completed[w], epoch, start, stop)
                    inflight[ref] = w
            if not inflight:
                raise RuntimeError(f"no round can start (clocks {clocks.completed}, goal {end})")
            done, _ = ray.wait(list(inflight), num_returns=1)
            for ref in done:
                w = inflight.pop(ref)
                try:
                    report = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    self._worker_failed(w, exc)
                    continue
                except DivergenceError:  # raised in the worker: a prediction not finite
                    raise divergence_error(f"worker {w}'s round {self.clocks.completed[w]} (a "
                                           f"prediction became NaN or infinite)",
                                           *self._problem) from None
                clocks.complete(w)
                self.stats.add(report)
                self.worker_faults += bool(report.restarted)

    def _worker_failed(self, w, exc):
        """A worker died during a round: dispatch it again (to the restarted actor, whose
        first report counts the fault)."""
        key = (w, self.clocks.completed[w])
        self._failures[key] = self._failures.get(key, 0) + 1
        if self._failures[key] > self.max_retries:
            raise RuntimeError(f"worker {w} failed round {key[1]} {self._failures[key]} times "
                               f"(max_restarts exhausted): {exc}") from exc


def push_shares(problem, rule, n_workers):
    """Weights of the keys' changes in a push (None with one worker) and of the rule state's:
    the Hogwild driver's frequency merge weights, the intercept's being ``1 / k``."""
    if n_workers == 1:
        return None, 1.0
    shares = np.append(merge_shares(problem, n_workers, "frequency"), 1.0 / n_workers)
    return shares, 1.0 if rule.state_is_sum else 1.0 / n_workers


def deal_rows(n, n_workers, random_state, shuffle=True):
    """Each worker's rows and the seed of its shuffling stream.

    One worker gets all rows in order and the seed ``random_state`` itself (the sync
    driver's order); several get ``p % k == w`` of a random assignment and streams
    spawned from ``random_state``, as in the Hogwild driver, or, with an order other
    than ``shuffle=True``, a contiguous stretch of rows each.
    """
    if n_workers == 1:
        return [np.arange(n)], [random_state]
    root, *streams = np.random.SeedSequence(random_state).spawn(n_workers + 1)
    if shuffle is not True:
        return np.array_split(np.arange(n), n_workers), streams
    assignment = np.random.default_rng(root).permutation(n)
    return [np.sort(assignment[w::n_workers]) for w in range(n_workers)], streams


def _cluster_settings(cluster, **overrides):
    if cluster is None:
        cluster = ClusterSettings()
    elif not isinstance(cluster, ClusterSettings):
        raise TypeError(f"cluster must be a ClusterSettings, got {type(cluster).__name__}")
    fields = {key: value for key, value in overrides.items() if value is not None}
    if not fields:
        return cluster
    return ClusterSettings(**{**cluster.__dict__, **fields})


def _check_problem(problem, n_workers, batch_size, data):
    if n_workers > problem.n_samples:
        raise ValueError(f"n_workers={n_workers} exceeds the number of rows "
                         f"({problem.n_samples}): every worker needs rows to work on")
    if data is not None and not isinstance(data, str):
        raise ValueError(f"data must be a catalog name or an svmlight path (or None: the "
                         f"problem's data through the object store), got {type(data).__name__}")
    if batch_size > math.ceil(problem.n_samples / n_workers):
        raise ValueError(f"batch_size={batch_size} exceeds a worker's share of the rows "
                         f"({problem.n_samples // n_workers})")


def _initial_model(d, coef_init, intercept_init):
    """The starting weights and intercept as one array of d + 1 (the servers' keys)."""
    w, b = ModelState(d, np.float64, sgd(), coef_init, intercept_init).iterate()
    return np.append(w, b)


def _checkpoint_folder(settings, run_id):
    """The run's checkpoint folder, and whether this fit owns (and removes) it."""
    if settings.checkpoint_dir is None:
        return Path(tempfile.mkdtemp(prefix=f"psgd-ray-{run_id}-")), True
    folder = Path(settings.checkpoint_dir) / f"run-{run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder, False
