"""`Dataset`: a design matrix with targets, in the layouts the kernels read.

Dense data is a C-contiguous float32/float64 array. Sparse data is a canonical
CSR matrix: int32 indices sorted within each row, no duplicates and no stored
zeros, so that "the coordinates a row touches" means the same thing for dense and
sparse copies of the same data.
"""
import numpy as np
import scipy.sparse as sp

from ..errors import DataError
from ._csr_kernels import BAD_INDPTR, CANONICAL, NOT_FINITE, OUT_OF_RANGE, scan_csr

FLOAT_DTYPES = (np.float32, np.float64)


def _first_bad_row(X):
    """Index of the first row of a dense ``X`` holding a NaN or an infinity, or None."""
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    return int(bad[0]) if bad.size else None


def _as_float_dtype(dtype):
    return dtype if dtype in FLOAT_DTYPES else np.dtype(np.float64)


INT32_MAX = np.iinfo(np.int32).max


def _scan(X):
    """``(status, row norms)`` of one pass of :func:`scan_csr` over ``X``."""
    norms = np.empty(X.shape[0])
    status, row = scan_csr(X.indptr, X.indices, X.data, X.shape[1], norms)
    if status == NOT_FINITE:
        raise DataError(f"X row {row} holds a NaN or an infinity")
    if status == OUT_OF_RANGE:
        raise DataError(f"X row {row} holds a column index outside 0..{X.shape[1] - 1}")
    if status == BAD_INDPTR:
        raise DataError(f"X has an invalid CSR indptr (at row {row})")
    return status, norms


def canonical_csr(X, dtype=None):
    """``X`` as a canonical int32 CSR matrix of ``dtype``, and its squared row norms (None
    when it had to be fixed first).

    One pass over the arrays decides whether they are already canonical (scipy's flag
    is not trusted either way) and computes the row norms; only a matrix that is not
    gets copied and sorted. The user's arrays are shared, never modified.
    """
    X = sp.csr_matrix(X)  # also converts COO, CSC, csr_array; shares data if CSR
    if X.ndim != 2:
        raise DataError(f"X must be 2-D, got {X.ndim} dimensions")
    target = np.dtype(dtype) if dtype is not None else _as_float_dtype(X.dtype)
    if X.shape[1] > INT32_MAX or X.nnz > INT32_MAX:
        raise DataError(f"X is too large for int32 CSR indices: shape {X.shape}, nnz {X.nnz}")
    converted = X.dtype != target
    if converted:
        X = X.astype(target)
    status, norms = _scan(X)
    if status != CANONICAL:
        if not converted:  # astype already copied: the user's arrays are not these
            X = X.copy()
        X.sum_duplicates()
        X.eliminate_zeros()
        X.sort_indices()
        norms = None
    if X.indices.dtype != np.int32 or X.indptr.dtype != np.int32:
        X = sp.csr_matrix((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
                          shape=X.shape)
    X.has_canonical_format = True  # checked above: no second check by scipy
    return X, norms


def as_design_matrix(X, dtype=None):
    """Return ``X`` as a C-contiguous float array or a canonical CSR matrix.

    Copies only when the input is not already in that layout. Raises
    :class:`DataError` naming the first row that holds a NaN or an infinity.
    """
    return design_matrix(X, dtype)[0]


def design_matrix(X, dtype=None):
    """``(X, squared row norms or None)``: :func:`as_design_matrix` with the row norms that
    its check of a sparse ``X`` computed, for :meth:`Dataset.of_design_matrix`."""
    if sp.issparse(X):
        return canonical_csr(X, dtype)
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"X must be 2-D, got an array of shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise DataError(f"X must be numeric, got dtype {X.dtype}")
    target = np.dtype(dtype) if dtype is not None else _as_float_dtype(X.dtype)
    X = np.ascontiguousarray(X, dtype=target)
    row = _first_bad_row(X)
    if row is not None:
        raise DataError(f"X row {row} holds a NaN or an infinity")
    return X, None


def _as_vector(values, name, n_samples, dtype=None):
    values = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    if values.ndim != 1:
        raise DataError(f"{name} must be 1-D, got shape {values.shape}")
    if values.shape[0] != n_samples:
        raise DataError(f"{name} has {values.shape[0]} entries but X has {n_samples} rows")
    if values.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError(f"{name} holds a NaN or an infinity at row {int(bad[0])}")
    return values


def _rows_of(values, rows):
    """``values[rows]`` of an optional per-row array (None stays None)."""
    return None if values is None else values[rows]


class Dataset:
    """A design matrix ``X`` with targets ``y`` and optional query ids and sample weights.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix, shape (n_samples, n_features)
        Stored as a C-contiguous float32/float64 array or a canonical int32 CSR matrix.
    y : array-like, shape (n_samples,)
        Targets: labels for classification, floats for regression.
    qid : array-like of int, optional
        Query ids for ranking; rows of one query need not be contiguous.
    sample_weight : array-like of float, optional
        Non-negative per-row weights ``s_i`` in the objective (default 1).
    """

    def __init__(self, X, y, qid=None, sample_weight=None, dtype=None):
        self.X, self.scanned_row_norms = design_matrix(X, dtype)
        self._column_counts = None
        self._set_vectors(y, qid, sample_weight)

    @classmethod
    def of_design_matrix(cls, X, row_norms, y, qid=None, sample_weight=None):
        """A Dataset over ``(X, row_norms)`` as :func:`design_matrix` returned them: the
        targets and weights are checked, ``X`` is not scanned a second time."""
        data = cls.__new__(cls)
        data.X, data.scanned_row_norms, data._column_counts = X, row_norms, None
        data._set_vectors(y, qid, sample_weight)
        return data

    def _set_vectors(self, y, qid, sample_weight):
        n = self.X.shape[0]
        self.y = _as_vector(y, "y", n)
        self.qid = None if qid is None else _as_vector(qid, "qid", n, dtype=np.int64)
        self.sample_weight = None
        if sample_weight is not None:
            weights = _as_vector(sample_weight, "sample_weight", n, dtype=np.float64)
            if np.any(weights < 0):
                row = int(np.flatnonzero(weights < 0)[0])
                raise DataError(f"sample_weight must be non-negative; row {row} is {weights[row]}")
            self.sample_weight = weights

    @classmethod
    def from_checked(cls, X, y, qid=None, sample_weight=None, column_counts=None,
                     row_norms=None):
        """A Dataset over arrays that are already checked and in the stored layout (a
        cache this package wrote): nothing is copied or scanned."""
        data = cls.__new__(cls)
        data.X, data.y, data.qid, data.sample_weight = X, y, qid, sample_weight
        data._column_counts, data.scanned_row_norms = column_counts, row_norms
        if sp.issparse(X):
            X.has_canonical_format = True
        return data

    @property
    def column_counts(self):
        """``d_j``: the number of rows where feature ``j`` is non-zero (int32), counted on
        first use (the drivers that need it: Hogwild!'s head, the adaptive rules) and
        kept; a cache stores it."""
        if self._column_counts is None:
            if self.is_sparse:
                counts = np.bincount(self.X.indices, minlength=self.n_features)
            else:
                counts = np.count_nonzero(self.X, axis=0)
            self._column_counts = counts.astype(np.int32)
        return self._column_counts

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def is_sparse(self):
        return sp.issparse(self.X)

    @property
    def dtype(self):
        return self.X.dtype

    @property
    def nnz(self):
        return self.X.nnz if self.is_sparse else int(np.count_nonzero(self.X))

    def __len__(self):
        return self.n_samples

    def __repr__(self):
        layout = f"CSR, nnz={self.X.nnz}" if self.is_sparse else "dense"
        extras = "".join(
            f", {name}" for name in ("qid", "sample_weight") if getattr(self, name) is not None
        )
        return (
            f"Dataset({self.n_samples} x {self.n_features}, {layout}, "
            f"{self.dtype.name}{extras})"
        )

    def take(self, rows):
        """The rows ``rows`` (an index array or a boolean mask) as a new Dataset."""
        rows = np.asarray(rows)
        return Dataset(self.X[rows], self.y[rows], qid=_rows_of(self.qid, rows),
                       sample_weight=_rows_of(self.sample_weight, rows))

    def permuted(self, order):
        """The rows in ``order`` (a permutation of all of them) as a new Dataset: the
        column counts carry over, nothing is checked again."""
        order = np.asarray(order)
        X = self.X[order]
        if sp.issparse(X) and (X.indices.dtype != np.int32 or X.indptr.dtype != np.int32):
            return self.take(order)
        return Dataset.from_checked(X, self.y[order], qid=_rows_of(self.qid, order),
                                    sample_weight=_rows_of(self.sample_weight, order),
                                    column_counts=self._column_counts,
                                    row_norms=_rows_of(self.scanned_row_norms, order))

    def astype(self, dtype):
        """This dataset with ``X`` converted to ``dtype`` (float32 or float64)."""
        if np.dtype(dtype) == self.dtype:
            return self
        return Dataset(self.X.astype(dtype), self.y, qid=self.qid,
                       sample_weight=self.sample_weight, dtype=dtype)

    def with_n_features(self, n_features):
        """This dataset widened to ``n_features`` columns (a test file often names fewer)."""
        if n_features == self.n_features:
            return self
        if n_features < self.n_features:
            raise DataError(
                f"data has {self.n_features} features, more than the {n_features} expected"
            )
        if self.is_sparse:
            X = sp.csr_matrix((self.X.data, self.X.indices, self.X.indptr),
                              shape=(self.n_samples, n_features))
        else:
            X = np.zeros((self.n_samples, n_features), dtype=self.dtype)
            X[:, : self.n_features] = self.X
        return Dataset(X, self.y, qid=self.qid, sample_weight=self.sample_weight)

    def split(self, test_size=0.2, random_state=0):
        """Shuffle and split into ``(train, test)``; with ``qid``, whole queries move together."""
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size must be in (0, 1), got {test_size}")
        rng = np.random.default_rng(random_state)
        if self.qid is None:
            order = rng.permutation(self.n_samples)
            n_test = max(1, int(round(test_size * self.n_samples)))
            if n_test >= self.n_samples:
                raise DataError(f"cannot split {self.n_samples} rows with test_size={test_size}")
            return self.take(np.sort(order[n_test:])), self.take(np.sort(order[:n_test]))
        queries = rng.permutation(np.unique(self.qid))
        n_test = max(1, int(round(test_size * queries.size)))
        if n_test >= queries.size:
            raise DataError(f"cannot split {queries.size} queries with test_size={test_size}")
        in_test = np.isin(self.qid, queries[:n_test])
        return self.take(np.flatnonzero(~in_test)), self.take(np.flatnonzero(in_test))
