"""Which features a Hogwild! worker keeps private on wide data, and the labels that
make them ``0 .. H-1`` (:mod:`parallel_sgd.kernels.split_replica`)."""
import numpy as np

from ..kernels.split_replica import head_map, relabel, swap_entries


def default_replica_features(problem, merge_every):
    """How many of the most frequent features a worker keeps private: all of them (a
    full replica) while a merge's O(d) costs at most about half the row work between
    merges, ``d <= max(8192, merge_every * nnz_per_row / 2)``, and dense data always;
    on wider data none, every write in place into the shared model (merges O(1)).

    On 2 cores no head size beat none on the wide problems (BENCHMARKS.md, Hogwild!):
    a row's head and tail entries interleave, and the branch between them costs more
    than the contention on the hot features that the head avoids. With more cores
    that contention grows; ``replica_features`` sets a head there.
    """
    d = problem.n_features
    if not problem.data.is_sparse:
        return d
    nnz_per_row = max(1.0, problem.data.nnz / problem.n_samples)
    return d if d <= max(8192, merge_every * nnz_per_row / 2) else 0


MULTICLASS_HEAD = 4096


def default_multiclass_replica_features(problem):
    """:func:`default_replica_features` for K-class models: full replicas on dense data
    and up to ``2 * MULTICLASS_HEAD`` features, else a head of the ``MULTICLASS_HEAD``
    most frequent. A frequent feature's K weights are K times the cache lines two
    workers fight over, while telling head from tail costs one branch per feature for
    all K; heads of 1k-4k features beat both full replicas and none on news20 and on
    the 1M-feature 20-class problem (BENCHMARKS.md, Hogwild!)."""
    d = problem.n_features
    if not problem.data.is_sparse or d <= 2 * MULTICLASS_HEAD:
        return d
    return MULTICLASS_HEAD


def head_mask(column_counts, size):
    """The ``size`` features (or a few fewer, at ties) with the largest column counts, as
    a boolean mask; features no row touches are never in it. O(d)."""
    counts = np.asarray(column_counts)
    at_least = np.cumsum(np.bincount(counts)[::-1])[::-1]  # at_least[t] = #(counts >= t)
    fits = at_least <= size
    threshold = int(np.argmax(fits)) if fits.any() else len(at_least)
    return counts >= max(1, threshold)


class SplitLayout:
    """The head of ``size`` features of one fit and its labels.

    Head features at or above ``H`` (the head's actual size) swap labels with the
    tail features below it, pairwise in ascending order (``low[t]`` with
    ``high[t]``), so the head is labeled ``0 .. H-1``; the swap is its own inverse.
    :attr:`indices` are the data's column indices relabeled (computed once per
    problem and size, and kept on the problem for the next fit).
    """

    def __init__(self, problem, size):
        if size == 0:  # every write in place: nothing to choose, nothing to relabel
            self.size = 0
            self.low = self.high = self.feature_at = np.zeros(0, dtype=np.int64)
            self.indices = problem.data.X.indices
            return
        mask = head_mask(problem.column_counts, size)
        self.size = H = int(mask.sum())
        self.low = np.flatnonzero(~mask[:H]).astype(np.int64)
        self.high = (np.flatnonzero(mask[H:]) + H).astype(np.int64)
        # label t < H holds feature feature_at[t]
        self.feature_at = np.arange(H, dtype=np.int64)
        self.feature_at[self.low] = self.high
        self.indices = self._relabeled(problem, mask)

    def _relabeled(self, problem, mask):
        if self.low.shape[0] == 0:  # the head is 0 .. H-1 already (or empty): no new labels
            return problem.data.X.indices
        cached = problem.__dict__.get("_split_layout_indices")
        if cached is not None and cached[0] == self.size and cached[1].shape == mask.shape \
                and np.array_equal(cached[1], mask):
            return cached[2]
        indices = problem.data.X.indices
        heads = np.flatnonzero(mask)
        head_label = heads.astype(indices.dtype)
        head_label[heads >= self.size] = self.low
        out = np.empty_like(indices)
        relabel(indices, head_map(mask), self.feature_at.astype(indices.dtype), head_label,
                self.size, out)
        problem.__dict__["_split_layout_indices"] = (self.size, mask, out)
        return out

    def rows(self, rows):
        """The kernels' :class:`~parallel_sgd.kernels.args.Rows` with relabeled columns."""
        return rows._replace(indices=self.indices)

    def swap(self, array):
        """Relabel ``array`` (indexed by feature on its last axis) in place, or back."""
        for row in (array,) if array.ndim == 1 else array:
            swap_entries(row, self.low, self.high)

    def relabeled(self, array):
        """A relabeled copy of ``array``."""
        copy = np.array(array)
        self.swap(copy)
        return copy
