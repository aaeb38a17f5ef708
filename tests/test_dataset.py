"""Dataset: layouts, validation, split."""
import numpy as np
import pytest
import scipy.sparse as sp

import parallel_sgd as psgd


def test_csr_is_canonical_int32_without_stored_zeros():
    X = sp.coo_matrix(([1.0, 2.0, 0.0, 3.0], ([0, 0, 1, 1], [2, 0, 1, 1])), shape=(2, 3))
    data = psgd.Dataset(X, [1, 2])
    assert data.X.indices.dtype == np.int32 and data.X.indptr.dtype == np.int32
    assert data.X.has_sorted_indices
    np.testing.assert_array_equal(data.X.toarray(), [[2.0, 0, 1.0], [0, 3.0, 0]])
    assert data.X.nnz == 3


def test_user_matrix_is_not_modified():
    X = sp.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0]]))
    X.indices = X.indices.astype(np.int64)
    psgd.Dataset(X, [0, 1])
    assert X.indices.dtype == np.int64


def _unflagged(X):
    """``X`` rebuilt from its arrays: canonical, but without scipy's flag set."""
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=X.shape)


@pytest.mark.kernel
def test_canonical_csr_is_shared_not_copied_even_unflagged():
    X = _unflagged(sp.random(50, 40, density=0.2, format="csr", random_state=0,
                             dtype=np.float64))
    X.sort_indices()
    X = _unflagged(X)
    data = psgd.Dataset(X, np.ones(50))
    assert np.shares_memory(data.X.data, X.data)  # scipy wraps views: identity is too strict
    assert np.shares_memory(data.X.indices, X.indices)
    assert np.shares_memory(data.X.indptr, X.indptr)
    np.testing.assert_array_equal(data.column_counts, np.count_nonzero(X.toarray(), axis=0))


@pytest.mark.kernel
@pytest.mark.parametrize("defect", ["unsorted", "duplicate", "zero"])
def test_non_canonical_csr_is_fixed_and_counted(defect):
    dense = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 4.0]])
    data, indices = {"unsorted": ([2.0, 1.0, 3.0, 4.0], [2, 1, 0, 2]),
                     "duplicate": ([1.0, 1.0, 1.0, 3.0, 4.0], [1, 2, 2, 0, 2]),
                     "zero": ([0.0, 1.0, 2.0, 3.0, 4.0], [0, 1, 2, 0, 2])}[defect]
    indptr = [0, len(data) - 2, len(data)]  # the last row holds two entries
    X = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(2, 3))
    before = X.indices.copy()
    got = psgd.Dataset(X, [0, 1])
    np.testing.assert_array_equal(got.X.toarray(), dense)
    np.testing.assert_array_equal(got.X.indices, [1, 2, 0, 2])
    np.testing.assert_array_equal(got.column_counts, [1, 1, 2])
    np.testing.assert_array_equal(X.indices, before)  # the user's arrays are untouched


@pytest.mark.kernel
def test_invalid_csr_arrays_name_the_row():
    X = sp.csr_matrix(np.eye(3))
    bad = X.copy()
    bad.data[2] = np.inf
    with pytest.raises(psgd.DataError, match="row 2 holds a NaN or an infinity"):
        psgd.Dataset(_unflagged(bad), np.ones(3))
    bad = X.copy()
    bad.indices[1] = 7
    with pytest.raises(psgd.DataError, match="row 1 holds a column index outside 0..2"):
        psgd.Dataset(sp.csr_matrix((bad.data, bad.indices, bad.indptr), shape=(3, 3)),
                     np.ones(3))


def test_column_counts_of_dense_and_problem_agree():
    X = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 4.0]])
    for data in (psgd.Dataset(X, [0, 1, 0]), psgd.Dataset(sp.csr_matrix(X), [0, 1, 0])):
        np.testing.assert_array_equal(data.column_counts, [1, 3])
        problem = psgd.Problem(data, loss="log_loss")
        np.testing.assert_array_equal(problem.column_counts, [1, 3])


def test_dense_becomes_c_contiguous_float():
    X = np.asfortranarray(np.arange(6).reshape(3, 2))
    data = psgd.Dataset(X, [0, 1, 0])
    assert data.X.flags.c_contiguous and data.X.dtype == np.float64
    assert psgd.Dataset(X.astype(np.float32), [0, 1, 0]).dtype == np.float32


@pytest.mark.parametrize("sparse", [False, True])
def test_non_finite_values_name_the_row(sparse):
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(psgd.DataError, match="row 2 holds a NaN"):
        psgd.Dataset(sp.csr_matrix(X) if sparse else X, np.ones(4))
    with pytest.raises(psgd.DataError, match="y holds a NaN or an infinity at row 1"):
        psgd.Dataset(np.ones((2, 2)), [0.0, np.inf])


def test_shape_mismatches_are_errors():
    with pytest.raises(psgd.DataError, match="y has 3 entries but X has 2 rows"):
        psgd.Dataset(np.ones((2, 2)), [1, 2, 3])
    with pytest.raises(psgd.DataError, match="sample_weight must be non-negative; row 1"):
        psgd.Dataset(np.ones((2, 2)), [1, 2], sample_weight=[1.0, -1.0])
    with pytest.raises(psgd.DataError, match="X must be 2-D"):
        psgd.Dataset(np.ones(3), [1, 2, 3])


def test_split_is_seeded_and_keeps_queries_together():
    X = np.arange(40.0).reshape(20, 2)
    qid = np.repeat(np.arange(5), 4)
    data = psgd.Dataset(X, np.arange(20.0), qid=qid)
    train, test = data.split(test_size=0.4, random_state=3)
    assert set(np.unique(train.qid)).isdisjoint(np.unique(test.qid))
    assert train.n_samples + test.n_samples == 20
    again = data.split(test_size=0.4, random_state=3)[1]
    np.testing.assert_array_equal(test.y, again.y)
    plain_train, plain_test = psgd.Dataset(X, np.arange(20.0)).split(0.25, random_state=0)
    assert plain_test.n_samples == 5 and plain_train.n_samples == 15


def test_with_n_features_widens_and_refuses_to_narrow():
    data = psgd.Dataset(sp.csr_matrix(np.eye(3)), [0, 1, 0])
    assert data.with_n_features(5).n_features == 5
    with pytest.raises(psgd.DataError, match="more than the 2 expected"):
        data.with_n_features(2)


@pytest.mark.kernel
@pytest.mark.parametrize("seed", range(25))
def test_scan_csr_matches_a_numpy_reference(seed):
    from parallel_sgd.data._csr_kernels import CANONICAL, STORED_ZERO, UNSORTED, scan_csr
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 5, n))]).astype(np.int32)
    nnz = int(indptr[-1])
    indices = rng.integers(0, d, nnz).astype(np.int32)
    if seed % 2:  # sorted and unique rows, so that some scans are canonical
        rows = [np.unique(indices[indptr[i]:indptr[i + 1]]) for i in range(n)]
        indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int32)
        indices = np.concatenate(rows).astype(np.int32) if rows else indices
        nnz = int(indptr[-1])
    data = rng.choice([0.0, 1.0, -2.5] if seed % 3 == 0 else [1.0, -2.5], nnz)
    norms = np.full(n, np.nan)
    status, row = scan_csr(indptr, indices, data, d, norms)
    increasing = all(np.all(np.diff(indices[indptr[i]:indptr[i + 1]]) > 0) for i in range(n))
    expected = STORED_ZERO if np.any(data == 0) else CANONICAL if increasing else UNSORTED
    assert (status, row) == (expected, -1)
    squares = [np.sum(data[indptr[i]:indptr[i + 1]] ** 2) for i in range(n)]
    np.testing.assert_allclose(norms, squares, rtol=1e-15)


@pytest.mark.kernel
def test_scan_csr_in_bands_reports_the_first_invalid_row_and_the_worst_fixable_status():
    """Large enough that every thread scans a band of rows: the bands' findings combine
    as one sequential scan's would."""
    from parallel_sgd.data._csr_kernels import (BAD_INDPTR, CANONICAL, NOT_FINITE,
                                                OUT_OF_RANGE, STORED_ZERO, UNSORTED, scan_csr)
    n = 40_000
    indptr = np.arange(0, 2 * n + 1, 2, dtype=np.int32)
    indices = np.tile(np.array([1, 3], dtype=np.int32), n)
    data = np.ones(2 * n)

    def scan(data, indices):
        norms = np.full(n, np.nan)
        return scan_csr(indptr, indices, data, 4, norms), norms

    assert scan(data, indices)[0] == (CANONICAL, -1)
    np.testing.assert_array_equal(scan(data, indices)[1], 2.0)
    late_unsorted = indices.copy()
    late_unsorted[2 * (n - 5):2 * (n - 4)] = [3, 1]
    assert scan(data, late_unsorted)[0] == (UNSORTED, -1)
    early_zero = data.copy()
    early_zero[4] = 0.0
    assert scan(early_zero, late_unsorted)[0] == (STORED_ZERO, -1)
    bad = data.copy()
    bad[2 * (n - 3)] = np.nan  # a late row ...
    out_of_range = late_unsorted.copy()
    out_of_range[2 * 7 + 1] = 4  # ... and an early one, behind a fixable status
    assert scan(bad, out_of_range)[0] == (OUT_OF_RANGE, 7)
    assert scan(bad, late_unsorted)[0] == (NOT_FINITE, n - 3)
    # an indptr that falls far below 0 early: every band stays inside the arrays
    broken = indptr.copy()
    broken[2:n // 2] = -1_000_000_000
    norms = np.zeros(n)
    assert scan_csr(broken, indices, data, 4, norms) == (BAD_INDPTR, 1)
    beyond = indptr.copy()
    beyond[n - 2] = 10 * n
    assert scan_csr(beyond, indices, data, 4, norms) == (BAD_INDPTR, n - 3)


def test_row_norms_come_from_the_scan_and_match_a_pass():
    X = sp.random(40, 30, density=0.2, format="csr", random_state=4)
    data = psgd.Dataset(_unflagged(X), np.ones(40))
    assert data.scanned_row_norms is not None
    expected = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    np.testing.assert_allclose(psgd.Problem(data, "squared_error").row_norms_sq, expected)
    fixed = psgd.Dataset(X.tocoo(), np.ones(40))  # made canonical: norms from a pass
    np.testing.assert_allclose(psgd.Problem(fixed, "squared_error").row_norms_sq, expected)
