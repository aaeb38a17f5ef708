"""Synthetic generators: deterministic, and with the statistics they promise."""
import time

import numpy as np
import pytest
import scipy.sparse as sp

import parallel_sgd as psgd
from parallel_sgd.data.generators import (
    make_dense_classification,
    make_regression,
    make_sparse_classification,
)


@pytest.fixture(scope="module")
def text_like():
    return make_sparse_classification(n_samples=20_000, random_state=3)


def same(a, b):
    if sp.issparse(a.X):
        return (np.array_equal(a.X.indptr, b.X.indptr) and np.array_equal(a.X.indices, b.X.indices)
                and np.array_equal(a.X.data, b.X.data) and np.array_equal(a.y, b.y))
    return np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)


@pytest.mark.parametrize("make, kwargs", [
    (make_sparse_classification, dict(n_samples=500, n_features=2_000, nnz_per_row=20)),
    (make_dense_classification, dict(n_samples=300, n_features=7)),
    (make_regression, dict(n_samples=300, n_features=7)),
    (make_regression, dict(n_samples=300, n_features=7, sparse=True)),
])
def test_deterministic_for_a_seed(make, kwargs):
    assert same(make(**kwargs, random_state=5), make(**kwargs, random_state=5))
    assert not same(make(**kwargs, random_state=5), make(**kwargs, random_state=6))


def test_sparse_rows_are_canonical_unit_norm_and_positive(text_like):
    X = text_like.X
    assert X.shape == (20_000, 47_236)
    assert X.indices.dtype == np.int32 and X.has_canonical_format
    assert np.all(X.data > 0)
    lengths = np.diff(X.indptr)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms[lengths > 0], 1.0, rtol=1e-12)


def test_sparse_row_length_and_zipf_popularity(text_like):
    X = text_like.X
    assert abs(np.diff(X.indptr).mean() - 75) < 1.0
    frequency = np.sort(np.bincount(X.indices, minlength=X.shape[1]))[::-1] / X.shape[0]
    assert 0.83 <= frequency[0] <= 0.87           # the head feature is in most rows
    assert frequency[1] < frequency[0] and frequency[20] < 0.5
    # the tail decays like rank ** -1.1 (fit over ranks 100..3000, well populated)
    ranks = np.arange(100, 3000)
    slope = np.polyfit(np.log(ranks + 1.0), np.log(frequency[ranks]), 1)[0]
    assert -1.25 < slope < -0.95


def test_sparse_labels_balanced_and_flipped_at_the_noise_rate():
    clean = make_sparse_classification(n_samples=20_000, n_features=5_000, nnz_per_row=30,
                                       label_noise=0.0, random_state=1)
    noisy = make_sparse_classification(n_samples=20_000, n_features=5_000, nnz_per_row=30,
                                       label_noise=0.2, random_state=1)
    assert set(np.unique(clean.y)) == {-1.0, 1.0}
    assert abs(np.mean(clean.y == 1.0) - 0.5) < 0.01
    np.testing.assert_array_equal(clean.X.data, noisy.X.data)  # same X, only labels differ
    assert abs(np.mean(clean.y != noisy.y) - 0.2) < 0.015


def test_sparse_multiclass_labels_are_learnable_and_noisy_at_the_rate():
    clean = make_sparse_classification(n_samples=20_000, n_features=5_000, nnz_per_row=30,
                                       label_noise=0.0, random_state=1, n_classes=20)
    noisy = make_sparse_classification(n_samples=20_000, n_features=5_000, nnz_per_row=30,
                                       label_noise=0.2, random_state=1, n_classes=20)
    np.testing.assert_array_equal(clean.X.data, noisy.X.data)
    assert set(np.unique(clean.y)) == set(range(20))
    shares = np.bincount(clean.y.astype(int)) / clean.n_samples
    assert shares.min() > 0.2 / 20 and shares.max() < 3.0 / 20
    # a uniform draw keeps the clean label 1 time in 20
    assert abs(np.mean(clean.y != noisy.y) - 0.2 * 19 / 20) < 0.015
    # the labels are a linear function of the rows: a multinomial model learns them
    train, test = clean.split(test_size=0.25, random_state=0)
    problem = psgd.MultinomialProblem(train, "softmax", alpha=1e-6)
    result = psgd.fit(problem, n_epochs=5, random_state=0)
    predicted = (test.X @ result.coef + result.intercept).argmax(axis=1)
    assert np.mean(problem.classes[predicted] == test.y) > 0.3  # chance: 0.05
    with pytest.raises(ValueError, match="n_classes"):
        make_sparse_classification(n_samples=10, n_features=10, nnz_per_row=2, n_classes=1)


def test_sparse_float32_and_small_shapes():
    data = make_sparse_classification(n_samples=400, n_features=50, nnz_per_row=5,
                                      dtype=np.float32, random_state=0)
    assert data.dtype == np.float32 and data.X.shape == (400, 50)
    assert abs(np.diff(data.X.indptr).mean() - 5) < 0.5
    with pytest.raises(ValueError, match="nnz_per_row"):
        make_sparse_classification(n_samples=10, n_features=10, nnz_per_row=9)
    with pytest.raises(ValueError, match="label_noise"):
        make_sparse_classification(n_samples=10, label_noise=0.7)


@pytest.mark.slow
def test_default_size_in_a_few_seconds():
    start = time.perf_counter()
    data = make_sparse_classification()
    assert time.perf_counter() - start < 10.0
    assert data.X.shape == (200_000, 47_236)
    assert abs(data.nnz / 200_000 - 75) < 0.5


def test_dense_classification_noise_and_balance():
    clean = make_dense_classification(20_000, n_features=10, label_noise=0.0, random_state=2)
    noisy = make_dense_classification(20_000, n_features=10, label_noise=0.1, random_state=2)
    assert clean.X.shape == (20_000, 10) and clean.X.flags.c_contiguous
    np.testing.assert_array_equal(clean.X, noisy.X)
    assert abs(np.mean(clean.y != noisy.y) - 0.1) < 0.01
    assert 0.2 < np.mean(clean.y == 1.0) < 0.8
    assert make_dense_classification(10, dtype=np.float32).dtype == np.float32


def test_regression_is_linear_plus_noise():
    exact = make_regression(2_000, n_features=6, noise=0.0, random_state=4)
    design = np.column_stack([exact.X, np.ones(exact.n_samples)])
    coef, residual, *_ = np.linalg.lstsq(design, exact.y, rcond=None)
    assert residual[0] < 1e-18 * exact.n_samples
    noisy = make_regression(20_000, n_features=6, noise=0.5, random_state=4)
    design = np.column_stack([noisy.X, np.ones(noisy.n_samples)])
    coef, residual, *_ = np.linalg.lstsq(design, noisy.y, rcond=None)
    assert abs(np.sqrt(residual[0] / noisy.n_samples) - 0.5) < 0.02


def test_sparse_regression_density():
    data = make_regression(5_000, n_features=40, sparse=True, random_state=0)
    assert data.is_sparse and data.X.has_canonical_format
    assert abs(data.nnz / (5_000 * 40) - 0.1) < 0.01
