"""The spin hand-off between the Hogwild! team's leader and its workers.

Waking a sleeping thread or process costs an OS wake-up: on the 2-core KVM
machine a thread-pool round trip (submit, then wait for the result) added
~100 us to every call, and 150 us after the pool had idled -- a tenth of a 1 ms
stretch of a9a or news20 steps between two checkpoints. So the team talks
through one int64 array, ``sync``, with acquire/release atomics, and waits by
spinning (with the x86 ``pause`` hint) where a wait is short:

* line 0 holds ``GO``, the number of the newest call (its *generation*), which
  the leader publishes after writing every worker's plan;
* worker ``w``'s line (``line(w)``, its own 128 bytes, so nothing else shares
  its cache lines) holds its plan -- ``START``/``END`` (its own steps),
  ``T_START`` (its own step count) and ``RESHUFFLE`` -- written by the leader,
  and its answer -- ``COUNT`` (steps completed; ``FAILED`` when it raised) and
  ``DONE`` (the generation it finished) -- written by the worker.

A worker's serve kernel (:func:`next_job` ... :func:`finish` in a loop) keeps
taking calls while they come within ``spins`` pauses of each other, then
returns to Python to sleep; the leader wakes sleepers before it plans (so the
wake-up overlaps the planning) and spins in :func:`wait_all` for the answers.
"""
import numpy as np

from .._jit import jit
from .atomics import acquire_load, release_store, spin_pause

LINE = 16  # int64 slots per line: 128 bytes, two cache lines (adjacent-line prefetch)
GO, DONE, COUNT, START, END, T_START, RESHUFFLE = 0, 0, 1, 2, 3, 4, 5
FAILED = -1


def private_copy(array, fill=None):
    """A copy of ``array`` (filled with ``fill`` if given) starting on a 128-byte boundary
    with nothing else on its cache lines.

    Small arrays from ``np.zeros`` come from malloc and can share a line with another
    thread's: two private models of 123 weights measured 1.3-1.5x over one thread on
    a9a this way, and 1.9x on isolated lines."""
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


def write_plan(sync, worker, start, end, t_start, reshuffle):
    """The leader's part: worker ``worker``'s next steps (before :func:`publish`)."""
    at = line(worker)
    sync[at + START], sync[at + END] = start, end
    sync[at + T_START], sync[at + RESHUFFLE] = t_start, int(reshuffle)


@jit
def publish(sync, generation):
    """Release generation ``generation``: every plan written before is visible to it."""
    release_store(sync, GO, generation)


@jit
def seed_worker(seed):
    """Seed the calling thread's (or process's) Numba random stream, which
    :func:`next_job` reshuffles the worker's rows with."""
    np.random.seed(seed)


@jit
def next_job(sync, worker, rows, spins):
    """Wait (at most ``spins`` pauses) for a generation this worker has not done;
    returns ``(generation, start, end, t_start)`` of its plan, after reshuffling
    ``rows`` (the worker's own) when the plan starts an epoch, or generation 0 when
    none came."""
    at = line(worker)
    last = sync[at + DONE]
    for _ in range(spins + 1):
        generation = acquire_load(sync, GO)
        if generation != last:
            if sync[at + RESHUFFLE]:
                np.random.shuffle(rows)
            return generation, sync[at + START], sync[at + END], sync[at + T_START]
        spin_pause()
    return 0, 0, 0, 0


@jit
def finish(sync, worker, generation, count):
    """Answer generation ``generation`` with ``count`` steps done (``FAILED``: raised)."""
    at = line(worker)
    sync[at + COUNT] = count
    release_store(sync, at + DONE, generation)


@jit
def wait_all(sync, n_workers, generation, spins):
    """Whether every worker answered ``generation``, waiting at most ``spins`` pauses."""
    for _ in range(spins + 1):
        answered = 0
        for worker in range(n_workers):
            answered += acquire_load(sync, line(worker) + DONE) == generation
        if answered == n_workers:
            return True
        spin_pause()
    return False


def counts(sync, n_workers):
    """Each worker's answer to the last generation (``FAILED`` where it raised)."""
    return [int(sync[line(w) + COUNT]) for w in range(n_workers)]
