"""A parameter server: one contiguous key range of the model and its update-rule state.

A plain class (the Ray actor wraps it unchanged), so its logic is tested without Ray.
Keys are the ``d`` weights and, last, the intercept (key ``d``). A :class:`Push`
from a worker says how the model changed over its round: every weight key below
``d`` is multiplied by ``factor`` (the L2 shrink of the round's steps), then
``values`` are added at ``indices``, and ``state`` (the update rule's state
deltas, one row per slot) at the same indices.

The server keeps a clock per worker: the last round it received from it. A pull
for round ``r`` reports the staleness ``r - min(clocks)``: how many rounds the
worker is ahead of the slowest one. In ``sync`` mode pushes are buffered and
applied (in worker order) when the first pull of a later round arrives, so every
worker of a round reads the same model. Pushes are deduplicated by
``(worker, round)``: a retried round is applied once.
"""
import time
from dataclasses import dataclass

import numpy as np

from .checkpoint import load_checkpoint, save_checkpoint


@dataclass
class Push:
    """One worker's change of one server's keys over one round."""

    worker: int
    round: int
    factor: float
    indices: np.ndarray  # int32 global keys, sorted
    values: np.ndarray   # float64 weight changes after the factor
    state: np.ndarray = None  # (n_slots, len(indices)) rule-state changes, or None

    @property
    def nbytes(self):
        return self.indices.nbytes + self.values.nbytes + (0 if self.state is None
                                                           else self.state.nbytes)


@dataclass(frozen=True)
class CheckpointPolicy:
    """Checkpoint into ``path`` every ``every`` applied pushes or ``seconds``."""

    path: str
    every: int = 8
    seconds: float = 30.0


class ParameterServer:
    """Owns keys ``lo .. hi`` of a model with ``n_features`` weights plus the intercept.

    Parameters
    ----------
    lo, hi : int
        The key range.
    n_features : int
        ``d``; keys below it are weights (scaled by a push's factor), key ``d`` the
        intercept.
    n_slots : int
        Rows of update-rule state per key (0: the rule has none); it starts at zero.
    n_workers : int
    weights : ndarray, shape (hi - lo,), optional
        Initial values of the keys (default zero).
    sync : bool
        Buffer pushes until the next round's pull (bulk-synchronous rounds).
    checkpoint : CheckpointPolicy or None
        Where to save the state; if a checkpoint exists there the server resumes
        from it (a restarted actor re-runs this constructor) and counts a restart.
    """

    def __init__(self, lo, hi, n_features, n_slots, n_workers, weights=None, sync=False,
                 checkpoint=None):
        self.lo, self.hi = int(lo), int(hi)
        self.n_scaled = max(0, min(self.hi, n_features) - self.lo)
        self.sync = sync
        self.policy = checkpoint
        self.w = np.zeros(self.hi - self.lo)
        if weights is not None:
            self.w[:] = weights  # a writable copy
        self.state = np.zeros((n_slots, self.hi - self.lo)) if n_slots else None
        self.clocks = np.full(n_workers, -1, dtype=np.int64)  # last round received
        self.pending = []
        self.n_applied = 0
        self.restarts = 0
        self._saved_at = (0, time.monotonic())
        if checkpoint is not None:
            saved = load_checkpoint(checkpoint.path)
            if saved is None:
                self.save()
            else:
                self._restore(saved)

    def _restore(self, saved):
        self.w = saved["w"]
        self.state = saved.get("state")
        self.clocks = saved["clocks"]
        self.n_applied = int(saved["n_applied"])
        self.restarts = int(saved["restarts"]) + 1
        self.save()

    def pull(self, worker, round_):
        """``(weights, rule_state, staleness)`` for ``worker``'s round ``round_``."""
        if self.sync:
            self._apply_pending(before=round_)
        staleness = max(0, int(round_) - int(self.clocks.min()) - 1)
        return self.w.copy(), None if self.state is None else self.state.copy(), staleness

    def push(self, push):
        """Receive ``push``; returns False if it was a duplicate (already received)."""
        if push.round <= self.clocks[push.worker]:
            return False
        self.clocks[push.worker] = push.round
        if self.sync:
            self.pending.append(push)
        else:
            self._apply(push)
        return True

    def weights(self):
        """The keys' current values (every received push applied)."""
        self._apply_pending(before=None)
        return self.w.copy()

    def status(self):
        """What the driver reports: restarts survived, pushes applied, clocks."""
        return {"restarts": self.restarts, "n_applied": self.n_applied,
                "clocks": self.clocks.tolist()}

    def save(self):
        """Write a checkpoint now (atomically; the previous one stays until replaced)."""
        if self.policy is None:
            return
        arrays = {"w": self.w, "clocks": self.clocks, "n_applied": self.n_applied,
                  "restarts": self.restarts}
        if self.state is not None:
            arrays["state"] = self.state
        save_checkpoint(self.policy.path, arrays)
        self._saved_at = (self.n_applied, time.monotonic())

    def _apply_pending(self, before):
        ready = [p for p in self.pending if before is None or p.round < before]
        if not ready:
            return
        self.pending = [p for p in self.pending if not (before is None or p.round < before)]
        for push in sorted(ready, key=lambda p: (p.round, p.worker)):
            self._apply(push)

    def _apply(self, push):
        if push.factor != 1.0:
            self.w[:self.n_scaled] *= push.factor
        local = push.indices.astype(np.int64) - self.lo
        self.w[local] += push.values
        if push.state is not None and self.state is not None:
            self.state[:, local] += push.state
        self.n_applied += 1
        self._maybe_save()

    def _maybe_save(self):
        if self.policy is None:
            return
        count, when = self._saved_at
        if (self.n_applied - count >= self.policy.every
                or time.monotonic() - when >= self.policy.seconds):
            self.save()
