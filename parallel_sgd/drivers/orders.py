"""The order in which the drivers visit the rows: ``shuffle=True | "once" | "blocks" | False``.

* ``True``: a fresh random permutation every epoch (random reshuffling);
* ``"once"``: one physical permutation of the rows at set-up (:func:`permuted_once`, by
  :func:`parallel_sgd.fit`), then every epoch in that stored order: the "shuffle once"
  scheme, with the rates of reshuffling, and sequential reads of the data;
* ``"blocks"``: a random order of blocks of consecutive rows, each about
  :data:`BLOCK_BYTES` of data (so one fits a core's L2 cache), the rows shuffled within
  each block: near-sequential reads, and the order out-of-core training streams in;
* ``False``: the stored order, every epoch.
"""
import numpy as np

from ..kernels.orders import shuffle_blocks

SHUFFLES = (True, "once", "blocks", False)
BLOCK_BYTES = 1 << 20
MIN_BLOCK_ROWS = 16


def check_shuffle(shuffle):
    """``shuffle`` as one of :data:`SHUFFLES` (numpy booleans too), else a ValueError."""
    if isinstance(shuffle, (bool, np.bool_)):
        return bool(shuffle)
    if isinstance(shuffle, str) and shuffle in ("once", "blocks"):
        return shuffle
    raise ValueError(f"shuffle must be True, 'once', 'blocks' or False, got {shuffle!r}")


def row_bytes(problem):
    """Bytes of data a row occupies on average (values, column indices, its indptr slot)."""
    data = problem.data
    n = max(problem.n_samples, 1)
    if data.is_sparse:
        return data.X.nnz / n * (data.X.data.itemsize + 4) + 4
    return problem.n_features * data.X.itemsize


def block_rows(problem, block_bytes=BLOCK_BYTES):
    """Rows in a block of the "blocks" order: about ``block_bytes`` of data, at least
    :data:`MIN_BLOCK_ROWS`."""
    return max(MIN_BLOCK_ROWS, int(block_bytes // max(row_bytes(problem), 1.0)))


def order_block(shuffle, problem):
    """The block size :func:`draw_order` takes for ``shuffle``: :func:`block_rows` for
    "blocks", else 1."""
    return block_rows(problem) if shuffle == "blocks" else 1


def reshuffle_code(shuffle, problem):
    """What a worker does with its own rows at each epoch start: 0 keep their order,
    1 shuffle them, ``B > 1`` shuffle them in blocks of ``B`` (:mod:`..kernels.handoff`)."""
    return order_block(shuffle, problem) if shuffle in (True, "blocks") else 0


def draw_order(rng, n, shuffle, block=1):
    """An epoch's row order: a fresh permutation (True), the stored order (False,
    "once"), blocks of ``block`` rows (``"blocks"``), or None (``shuffle=None``: the
    driver's workers draw their own)."""
    if shuffle is None:
        return None
    if shuffle is True:
        return rng.permutation(n)
    order = np.arange(n)
    if shuffle == "blocks":
        shuffle_blocks(rng, order, block)
    return order


class RowStream:
    """Rows without replacement, epoch after epoch, in a :data:`SHUFFLES` order: for the
    drivers that take rows a stretch at a time (SVRG's inner loops)."""

    def __init__(self, rng, problem, shuffle):
        self.rng, self.n, self.shuffle = rng, problem.n_samples, shuffle
        self.block = order_block(shuffle, problem)
        self.order, self.position = None, self.n

    def take(self, length):
        """The next ``length`` rows (int64)."""
        out = np.empty(length, dtype=np.int64)
        filled = 0
        while filled < length:
            if self.position == self.n:
                self.order = draw_order(self.rng, self.n, self.shuffle, self.block)
                self.position = 0
            count = min(length - filled, self.n - self.position)
            out[filled:filled + count] = self.order[self.position:self.position + count]
            filled += count
            self.position += count
        return out


def once_order(n, random_state):
    """The permutation of ``shuffle="once"``, drawn from a stream of ``random_state``'s
    own, so that the driver's draws are those of the unpermuted fit."""
    return np.random.default_rng(random_state).spawn(1)[0].permutation(n)


def permuted_once(problem, random_state):
    """``problem`` on its rows in the order :func:`once_order` draws: the same objective
    and optimum, the data copied once."""
    return problem.with_rows_permuted(once_order(problem.n_samples, random_state))
