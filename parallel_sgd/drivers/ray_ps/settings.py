"""The Ray driver's settings: the algorithm's (:class:`PSConfig`) apart from the
cluster's (:class:`ClusterSettings`), each validated once, before Ray is touched."""
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common import positive_int

MODES = ("sync", "async", "ssp")


@dataclass(frozen=True)
class PSConfig:
    """How the parameter server trains.

    Parameters
    ----------
    mode : {"sync", "async", "ssp"}
        ``sync``: bulk-synchronous rounds, every worker's push of a round is applied
        before any worker pulls for the next; ``async``: every worker pulls and pushes
        as soon as it is ready; ``ssp``: like async, but a worker more than
        ``staleness`` rounds ahead of the slowest waits (stale synchronous parallel).
    staleness : int
        The ssp bound ``s >= 0`` (``ssp`` with 0 behaves like ``sync``).
    n_servers : int
        Server actors; each owns a contiguous range of the ``d + 1`` keys (the
        intercept is the last key).
    local_steps : int or None
        Steps a worker takes between its pull and its push (None: see
        :func:`default_local_steps`).
    """

    mode: str = "sync"
    staleness: int = 0
    n_servers: int = 1
    local_steps: int = None

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        staleness = self.staleness
        if staleness is None:
            staleness = 0
        if isinstance(staleness, bool) or not isinstance(staleness, (int, np.integer)) \
                or staleness < 0:
            raise ValueError(f"staleness must be an integer >= 0, got {self.staleness!r}")
        if self.mode != "ssp" and staleness:
            raise ValueError(f"staleness={staleness} applies to mode='ssp' only "
                             f"(got mode={self.mode!r})")
        object.__setattr__(self, "staleness", int(staleness))
        positive_int("n_servers", self.n_servers)
        if self.local_steps is not None:
            positive_int("local_steps", self.local_steps)

    @property
    def bound(self):
        """Rounds a worker may run ahead of the slowest one (inf for async)."""
        if self.mode == "async":
            return math.inf
        return 0 if self.mode == "sync" else self.staleness


@dataclass(frozen=True)
class ClusterSettings:
    """Where and how the actors run.

    Parameters
    ----------
    address : str or None
        None: the Ray already initialized in this process, else a local one started
        once per process; ``"auto"``: the cluster this machine belongs to (``ray
        start``); ``"host:port"`` or ``"ray://host:10001"``: that cluster.
    num_cpus : int or None
        CPUs of a local Ray (default: all).
    worker_cpus, server_cpus : float
        CPUs each worker / server actor reserves. Fractions (or 0) let more actors
        than cores share a small machine; the workers are spread over the nodes.
    max_restarts : int
        Restarts Ray grants each actor after it dies.
    checkpoint_dir : str or None
        Where servers checkpoint (a run-specific folder inside it; default: a
        temporary folder removed after the fit). On a multi-node cluster give a
        folder every node sees, so a server restarted elsewhere finds its state.
    checkpoint_every : int
        A server checkpoints after this many applied pushes ...
    checkpoint_seconds : float
        ... or this many seconds since its last checkpoint, whichever comes first.
    """

    address: str = None
    num_cpus: int = None
    worker_cpus: float = 0.5
    server_cpus: float = 0.0
    max_restarts: int = 3
    checkpoint_dir: str = None
    checkpoint_every: int = 8
    checkpoint_seconds: float = 30.0

    def __post_init__(self):
        if self.address is not None and not isinstance(self.address, str):
            raise ValueError(f"address must be a string such as 'auto', 'host:6379' or "
                             f"'ray://host:10001', got {self.address!r}")
        if self.num_cpus is not None:
            positive_int("num_cpus", self.num_cpus)
        for name in ("worker_cpus", "server_cpus"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if isinstance(self.max_restarts, bool) or not isinstance(self.max_restarts, int) \
                or self.max_restarts < 0:
            raise ValueError(f"max_restarts must be an integer >= 0, got {self.max_restarts!r}")
        positive_int("checkpoint_every", self.checkpoint_every)
        if not self.checkpoint_seconds > 0:
            raise ValueError(f"checkpoint_seconds must be > 0, got {self.checkpoint_seconds!r}")
        if self.checkpoint_dir is not None:
            object.__setattr__(self, "checkpoint_dir", str(Path(self.checkpoint_dir)))


def default_local_steps(shard_steps, nnz_per_row, n_features):
    """Steps per round: a round's pull and push move ``~d`` floats and cost about as
    much as ``d / nnz_per_row`` steps do, so ``50 d / nnz_per_row`` steps keep
    communication near 2%; at most a quarter of a worker's epoch (so rounds mix
    the workers' progress several times per pass) and at least 256."""
    wanted = int(50 * n_features / max(1.0, nnz_per_row))
    return max(256, min(wanted, max(1, shard_steps // 4)))


def key_ranges(n_keys, n_servers):
    """``n_servers`` contiguous ``(lo, hi)`` ranges covering ``0 .. n_keys`` evenly."""
    if n_servers > n_keys:
        raise ValueError(f"n_servers={n_servers} exceeds the number of keys ({n_keys}: the "
                         f"weights and the intercept)")
    bounds = [n_keys * s // n_servers for s in range(n_servers + 1)]
    return list(zip(bounds[:-1], bounds[1:]))
