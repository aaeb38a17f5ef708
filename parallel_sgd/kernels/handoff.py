"""The spin hand-off between the Hogwild! team's leader and its workers.

Waking a sleeping thread or process costs an OS wake-up, which is long next to a
short call's steps (BENCHMARKS.md, Hogwild!). So the team talks through one
int64 array, ``sync``, with acquire/release atomics, and waits by spinning where
a wait is short -- first with the x86 ``pause`` hint, then yielding the core to
any other runnable thread (:func:`relax`):

* line 0 holds ``GO``, the number of the newest call (its *generation*), which
  the leader publishes after writing every worker's plan (``STOP`` when it closes
  the team);
* worker ``w``'s line (``line(w)``, its own 128 bytes, so nothing else shares
  its cache lines) holds its plan -- ``KIND`` (``STEPS``, or ``MARGINS`` for a
  checkpoint's pass), ``START``/``END`` (its own steps, or its block of rows),
  ``T_START`` (its own step count) and ``RESHUFFLE`` -- written by the leader, and
  its answer -- ``COUNT`` (work done; ``FAILED`` when it raised) and ``DONE`` (the
  generation it finished) -- written by the worker.

A worker's serve kernel (:func:`next_job` ... :func:`finish` in a loop) keeps
taking calls while they come within ``channel.spins`` waits of each other
(:class:`~.args.Channel`), then returns to Python to sleep; the leader wakes
sleepers before it plans (so the wake-up overlaps the planning) and spins in
:func:`wait_all` for the answers.
"""
import numpy as np

from .._jit import jit
from .atomics import acquire_load, release_store, spin_pause, yield_cpu
from .orders import shuffle_blocks

LINE = 16  # int64 slots per line: 128 bytes, two cache lines (adjacent-line prefetch)
GO, DONE, COUNT, START, END, T_START, RESHUFFLE, KIND = 0, 0, 1, 2, 3, 4, 5, 6
STEPS, MARGINS = 0, 1  # kinds of call: SGD steps; the margins of a block of rows
FAILED = -1
STOP = -1  # published as the generation when the team closes: waiting workers return
PAUSES = 2048  # ~25 us of pause-spinning before a waiter starts yielding


@jit
def relax(attempt):
    """Wait a moment in a spin loop: ``pause`` for the first ``PAUSES`` attempts, then
    ``sched_yield``. A yielding waiter gives way to any other runnable thread, where
    a pure spin would take a core from them; the scheduler still counts it as load,
    which is why the team computes the checkpoints' pass itself. A waiter that slept
    instead would wake late for the next call."""
    if attempt < PAUSES:
        spin_pause()
    else:
        yield_cpu()


def private_copy(array, fill=None):
    """A copy of ``array`` (filled with ``fill`` if given) starting on a 128-byte boundary
    with nothing else on its cache lines: small arrays from ``np.zeros`` come from
    malloc and can share a line with another thread's, whose writes then slow this
    one's (false sharing)."""
    size = max(1, array.nbytes)
    raw = np.zeros(size + 3 * LINE * 8, dtype=np.uint8)
    start = -raw.ctypes.data % (LINE * 8) + LINE * 8
    copy = raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    copy[...] = array if fill is None else fill
    return copy


def new_sync(n_workers):
    """A zeroed ``sync`` array for ``n_workers`` workers, on lines of its own."""
    return private_copy(np.zeros(LINE * (n_workers + 1), dtype=np.int64))


@jit
def line(worker):
    """Index of worker ``worker``'s first slot in ``sync``."""
    return LINE * (worker + 1)


def write_plan(sync, worker, start, end, t_start, reshuffle, kind=STEPS):
    """The leader's part: worker ``worker``'s next call (before :func:`publish`);
    ``reshuffle`` is 0 (keep the rows' order), 1 (shuffle them) or the block size of
    the "blocks" order, applied before the call's steps."""
    at = line(worker)
    sync[at + START], sync[at + END] = start, end
    sync[at + T_START], sync[at + RESHUFFLE], sync[at + KIND] = t_start, int(reshuffle), kind


@jit
def publish(sync, generation):
    """Release generation ``generation``: every plan written before is visible to it."""
    release_store(sync, GO, generation)


@jit
def next_job(channel, shard):
    """Wait (at most ``channel.spins`` times, see :func:`relax`) for a generation this
    worker has not done; returns ``(generation, kind, start, end, t_start)`` of its
    plan, after reshuffling the worker's own rows (``shard.rows``) with its generator
    ``shard.rng`` when the plan starts an epoch, or generation 0 when none came."""
    sync = channel.sync
    at = line(channel.worker)
    last = sync[at + DONE]
    for attempt in range(channel.spins + 1):
        generation = acquire_load(sync, GO)
        if generation == STOP:
            break
        if generation != last:
            if sync[at + RESHUFFLE] > 0:  # 1: every row; more: blocks of that many
                shuffle_blocks(shard.rng, shard.rows, sync[at + RESHUFFLE])
            return (generation, sync[at + KIND], sync[at + START], sync[at + END],
                    sync[at + T_START])
        relax(attempt)
    return 0, STEPS, 0, 0, 0


@jit
def finish(sync, worker, generation, count):
    """Answer generation ``generation`` with ``count`` steps done (``FAILED``: raised)."""
    at = line(worker)
    sync[at + COUNT] = count
    release_store(sync, at + DONE, generation)


@jit
def wait_all(sync, n_workers, generation, spins):
    """Whether every worker answered ``generation``, waiting at most ``spins`` times."""
    for attempt in range(spins + 1):
        answered = 0
        for worker in range(n_workers):
            answered += acquire_load(sync, line(worker) + DONE) == generation
        if answered == n_workers:
            return True
        relax(attempt)
    return False


@jit
def stretch(m, merge_every):
    """Steps between merges when ``m`` steps are to run with merges at most
    ``merge_every`` apart: equal stretches, so that no last stretch of a few steps
    pays for a whole O(d) merge."""
    stretches = max(1, -(-m // merge_every))
    return max(1, -(-m // stretches))


def counts(sync, n_workers):
    """Each worker's answer to the last generation (``FAILED`` where it raised)."""
    return [int(sync[line(w) + COUNT]) for w in range(n_workers)]
