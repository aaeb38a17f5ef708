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
