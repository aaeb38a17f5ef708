"""Which steps each round covers, and which worker may start its next round.

Plain Python, no Ray: the driver asks :class:`RoundPlan` what round ``r`` of worker
``w`` is and :class:`Clocks` whether the worker may start it.

Rounds cut every worker's epoch at the same fractions (``j / rounds_per_epoch``
and the checkpoint marks), so every worker has the same number of rounds, a
checkpoint is the end of a round for all of them, and a round never spans two
epochs.
"""
import math


class RoundPlan:
    """Round boundaries as epoch fractions, shared by every worker.

    Parameters
    ----------
    n_epochs : float
        Passes over the data.
    rounds_per_epoch : int
    marks : list of float
        Checkpoint epochs (the last is ``n_epochs``).
    """

    def __init__(self, n_epochs, rounds_per_epoch, marks):
        count = int(math.ceil(n_epochs * rounds_per_epoch - 1e-9))
        points = {round(k / rounds_per_epoch, 12) for k in range(count + 1)}
        points.update(round(m, 12) for m in marks)
        self.points = sorted(p for p in points if p <= n_epochs + 1e-12)
        self.mark_ends = [self.points.index(round(m, 12)) for m in marks]

    @property
    def n_rounds(self):
        return len(self.points) - 1

    def steps(self, round_, steps_per_epoch):
        """``(epoch, start, stop)``: round ``round_`` of a worker with this many steps per epoch."""
        a, b = self.points[round_], self.points[round_ + 1]
        epoch = int(math.floor(a + 1e-12))
        base = epoch * steps_per_epoch
        return (epoch, int(round(a * steps_per_epoch)) - base,
                int(round(b * steps_per_epoch)) - base)


class Clocks:
    """Completed rounds per worker and the consistency bound between them.

    ``bound`` is how many rounds a worker may be ahead of the slowest one when it
    starts a round: 0 for sync (bulk-synchronous), ``s`` for ssp, inf for async.
    """

    def __init__(self, n_workers, bound):
        self.completed = [0] * n_workers
        self.bound = bound

    def may_start(self, worker, until):
        """Whether ``worker`` may start its next round (and it is before round ``until``)."""
        r = self.completed[worker]
        return r < until and r - min(self.completed) <= self.bound

    def complete(self, worker):
        self.completed[worker] += 1

    def all_reached(self, until):
        return min(self.completed) >= until
