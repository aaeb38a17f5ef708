"""Reading a read-only mapped cache ahead of the rows training will visit next.

A cache larger than memory is mapped read-only (:mod:`.cache`) and paged in as a pass
touches it. Left to itself, the kernel answers each page fault of an access it takes
for random by reading ``read_ahead_kb`` around the fault (8 MiB on the machines of
BENCHMARKS.md): on the "blocks" order, whose 1 MiB blocks come in a random order,
that read about eight times the data, one fault at a time, and an epoch ran at 0.13x
its in-memory speed. :class:`Readahead` turns that read-around off (``MADV_RANDOM``)
while training streams the rows, and asks for the pages of the next stretch of the
order (``MADV_WILLNEED``, exact byte ranges) from a thread of its own while the
kernel works on the current one, so the reads overlap the steps.
"""
import contextlib
import mmap
from concurrent.futures import ThreadPoolExecutor

import numpy as np

STRETCH_BYTES = 32 << 20  # data per stretch: the unit the pages are asked for in


ADVICE = all(hasattr(mmap, name) for name in ("MADV_RANDOM", "MADV_NORMAL", "MADV_WILLNEED")) \
    and hasattr(mmap.mmap, "madvise")  # not on Windows


def mapped_read_only(array):
    """The ``np.memmap`` that ``array`` is a whole read-only view of (same first element,
    so that its byte offsets hold), else None."""
    start = array.__array_interface__["data"][0] if array is not None else None
    while array is not None and not isinstance(array, np.memmap):
        array = array.base
    if array is None or getattr(array, "_mmap", None) is None or array.flags.writeable \
            or array.__array_interface__["data"][0] != start:
        return None
    return array


class Readahead:
    """Page advice for the arrays of a Dataset mapped read-only (:meth:`of` gives None
    for any other), row ranges at a time; a context manager around a training run
    (the helper thread), :meth:`streaming` around each stretch of steps."""

    def __init__(self, indptr, row_arrays, entry_arrays):
        self.indptr = indptr
        self.row_arrays = row_arrays  # one element per row (labels, weights, qid)
        self.entry_arrays = entry_arrays  # one element per stored entry (values, indices)
        self.maps = [a for a in (*row_arrays, *entry_arrays) if a is not None]
        self.pool = None

    @classmethod
    def of(cls, data):
        """A Readahead for ``data`` (a Dataset) if its CSR arrays are mapped read-only."""
        X = data.X
        if not ADVICE or not hasattr(X, "indptr"):
            return None
        entries = [mapped_read_only(a) for a in (X.data, X.indices)]
        if any(a is None for a in entries):
            return None
        rows = [mapped_read_only(a) for a in (X.indptr, data.y, data.sample_weight, data.qid)
                if a is not None]
        return cls(np.asarray(X.indptr), [a for a in rows if a is not None], entries)

    def __enter__(self):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="psgd-readahead")
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=True)
        self.pool = None
        return False

    @contextlib.contextmanager
    def streaming(self):
        """Read-around off while training steps run; on again after (a pass in order,
        such as a checkpoint's objective, is what read-around is good for)."""
        self._advise_all(mmap.MADV_RANDOM)
        try:
            yield self
        finally:
            self._advise_all(mmap.MADV_NORMAL)

    def ask(self, rows):
        """Ask, from the helper thread, for the pages of the rows in ``rows`` (in runs of
        consecutive rows); returns a future to wait on before asking again."""
        return self.pool.submit(self.willneed, rows)

    def willneed(self, rows):
        """``MADV_WILLNEED`` on the bytes of the rows in ``rows`` (int array)."""
        for first, last in _runs(np.unique(rows)):
            lo, hi = int(self.indptr[first]), int(self.indptr[last])
            for array in self.entry_arrays:
                _advise(array, lo, hi, mmap.MADV_WILLNEED)
            for array in self.row_arrays:  # indptr has one more than the rows
                _advise(array, first, last + 1, mmap.MADV_WILLNEED)

    def _advise_all(self, advice):
        for array in self.maps:
            _advise(array, 0, array.shape[0], advice)

    def stretch_rows(self, n_rows):
        """Rows per stretch: about :data:`STRETCH_BYTES` of entries."""
        nnz = max(int(self.indptr[-1]), 1)
        per_row = nnz / max(n_rows, 1) * sum(a.itemsize for a in self.entry_arrays)
        return max(1, int(STRETCH_BYTES / max(per_row, 1.0)))


def _runs(sorted_rows):
    """``(first, last)`` of each run of consecutive integers in ``sorted_rows``."""
    if sorted_rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(sorted_rows) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [sorted_rows.size - 1]])
    return [(int(sorted_rows[s]), int(sorted_rows[e]) + 1) for s, e in zip(starts, ends)]


def _advise(array, first, last, advice):
    """``madvise`` on the pages holding ``array[first:last]`` (page-aligned start)."""
    last = min(last, array.shape[0])
    if last <= first:
        return
    base = array.offset % mmap.ALLOCATIONGRANULARITY  # where element 0 lies in the map
    lo = base + first * array.itemsize
    hi = base + last * array.itemsize
    lo -= lo % mmap.PAGESIZE
    try:
        array._mmap.madvise(advice, lo, hi - lo)
    except (OSError, ValueError):  # advice is a hint: training goes on without it
        pass
