"""Synthetic datasets with known structure, deterministic for a given ``random_state``.

`make_sparse_classification` imitates a tf-idf text corpus such as rcv1 (the
default shape is rcv1's 47,236 features and ~75 non-zeros per row) at any
size; the dense generators give well-conditioned problems for unit tests.
"""
import numpy as np
import scipy.sparse as sp

from .._jit import jit
from .dataset import Dataset

HEAD_FREQUENCY = 0.85   # share of the rows that hold the most popular feature
TF_CONTINUE = 0.35      # a term's count in a row is 1 + Geometric: P(count > k) = 0.35**k

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31, _S11 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(11)


@jit
def _next_uniform(state):
    """SplitMix64 step on ``state[0]``; a uniform float in (0, 1]."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return (np.float64(z >> _S11) + 1.0) * (1.0 / 9007199254740992.0)


@jit
def _bernoulli_columns(n_rows, probability, idf, seed, rows, values, count_only):
    """Rows of each column drawn independently with ``probability[j]``, column by column.

    Jumps between selected rows with geometric gaps, so the work is O(nnz + d).
    Column ``j`` uses its own SplitMix64 stream seeded from ``(seed, j)``, so a
    counting call and a filling call see the same draws. Fills ``rows`` (sorted
    within each column) and tf-idf ``values`` unless ``count_only``; returns the
    number of entries of each column.
    """
    counts = np.zeros(probability.shape[0], np.int64)
    state = np.zeros(1, np.uint64)
    log_tf = np.log(TF_CONTINUE)
    k = 0
    for j in range(probability.shape[0]):
        p = probability[j]
        if p <= 0.0:
            continue
        state[0] = seed ^ (np.uint64(j) * _MIX2)
        log_miss = np.log1p(-p)
        i = -1
        while True:
            gap = np.log(_next_uniform(state)) / log_miss  # rows skipped: Geometric(p)
            if gap >= n_rows - 1 - i:
                break
            i += 1 + np.int64(gap)
            counts[j] += 1
            tf = 1.0 + np.floor(np.log(_next_uniform(state)) / log_tf)  # drawn in both modes
            if not count_only:
                rows[k] = i
                values[k] = (1.0 + np.log(tf)) * idf[j]
            k += 1
    return counts


def _inclusion_probabilities(n_features, nnz_per_row, exponent):
    """P(feature of popularity rank r is in a row) = a * (r + r0) ** -exponent.

    Zipf-Mandelbrot: the head feature is in ``HEAD_FREQUENCY`` of the rows and
    the offset ``r0`` (found by bisection) makes the expected row length
    ``nnz_per_row``; the tail decays as a Zipf law with the given exponent.
    If even ``r0 = 0`` gives too many non-zeros, the head is made rarer instead.
    """
    ranks = np.arange(1, n_features + 1, dtype=np.float64)

    def probabilities(r0):
        return HEAD_FREQUENCY * ((1.0 + r0) / (ranks + r0)) ** exponent

    if probabilities(0.0).sum() >= nnz_per_row:
        p = ranks ** -exponent
        return p * (nnz_per_row / p.sum())
    lo, hi = 0.0, 1.0
    while probabilities(hi).sum() < nnz_per_row:
        hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if probabilities(mid).sum() < nnz_per_row else (lo, mid)
    return probabilities(hi)


def _check_positive(**values):
    for name, value in values.items():
        if value < 1 or int(value) != value:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_probability(name, value):
    if not 0.0 <= value <= 0.5:
        raise ValueError(f"{name} must be in [0, 0.5], got {value!r}")


def _flip(rng, y, label_noise):
    """Flip each ±1 label with probability ``label_noise``."""
    flips = rng.random(y.shape[0]) < label_noise
    return np.where(flips, -y, y)


def make_sparse_classification(n_samples=200_000, n_features=47_236, nnz_per_row=75,
                               zipf_exponent=1.1, label_noise=0.05, random_state=0,
                               dtype=np.float64, n_classes=2):
    """A text-like sparse classification problem (tf-idf rows; labels ±1, or classes
    ``0 .. n_classes-1``).

    Each feature ``j`` enters each row independently with a probability that
    falls with its popularity rank as a Zipf(-Mandelbrot) law: the most popular
    feature is in about 85% of the rows (in fewer only when ``nnz_per_row`` is
    too small for that), the tail decays as ``rank ** -zipf_exponent``, and a
    row holds ``nnz_per_row`` distinct features on average. Ranks are assigned
    to feature indices by a random permutation. A value is
    ``(1 + log tf) * idf`` with a geometric term count ``tf`` and
    ``idf = 1 + log(1 / P(feature))``; every non-empty row is then scaled to
    unit L2 norm. Labels are the sign of a sparse linear model (10% of the
    features carry Gaussian weights; the threshold is the median score, so the
    classes are balanced), each flipped with probability ``label_noise``. With
    ``n_classes > 2`` the label is the argmax of ``n_classes`` such models (on the
    same support), replaced by a uniformly drawn class with probability
    ``label_noise``.

    Generation is O(nnz) (BENCHMARKS.md, Data) and fully determined by
    ``random_state``.

    Returns
    -------
    Dataset
        CSR ``X`` of ``dtype``, ``y`` in {-1.0, +1.0} (or {0.0, ..., n_classes - 1}).
    """
    _check_positive(n_samples=n_samples, n_features=n_features, nnz_per_row=nnz_per_row)
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    _check_probability("label_noise", label_noise)
    if nnz_per_row >= HEAD_FREQUENCY * n_features:
        raise ValueError(f"nnz_per_row={nnz_per_row} is too large for {n_features} features: "
                         f"it must be below {HEAD_FREQUENCY} * n_features")
    if zipf_exponent <= 0:
        raise ValueError(f"zipf_exponent must be positive, got {zipf_exponent!r}")
    rng = np.random.default_rng(random_state)
    by_rank = _inclusion_probabilities(n_features, nnz_per_row, zipf_exponent)
    probability = np.empty(n_features)
    probability[rng.permutation(n_features)] = by_rank
    idf = 1.0 - np.log(probability)
    seed = np.uint64(rng.integers(0, 2**63))
    empty = np.empty(0, np.int64)
    counts = _bernoulli_columns(n_samples, probability, idf, seed, empty, empty.astype(float), True)
    nnz = int(counts.sum())
    rows = np.empty(nnz, np.int32 if nnz < 2**31 else np.int64)
    values = np.empty(nnz, np.float64)
    _bernoulli_columns(n_samples, probability, idf, seed, rows, values, False)
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_samples))
    values /= norms[rows]
    indptr = np.concatenate([[0], np.cumsum(counts)])
    X = sp.csc_matrix((values.astype(dtype), rows, indptr), shape=(n_samples, n_features)).tocsr()
    support = rng.choice(n_features, size=max(1, n_features // 10), replace=False)
    if n_classes > 2:
        weights = np.zeros((n_features, n_classes))
        weights[support] = rng.standard_normal((support.size, n_classes))
        scores = np.asarray(X @ weights)
        # standardized per class, so that no class wins by having its weight on the
        # popular features: the classes come out of about equal size
        scores = (scores - scores.mean(axis=0)) / np.maximum(scores.std(axis=0), 1e-300)
        y = scores.argmax(axis=1)
        noisy = rng.random(n_samples) < label_noise
        y[noisy] = rng.integers(0, n_classes, int(noisy.sum()))
        return Dataset(X, y.astype(np.float64), dtype=dtype)
    weights = np.zeros(n_features)
    weights[support] = rng.standard_normal(support.size)
    score = X @ weights
    y = np.where(score > np.median(score), 1.0, -1.0)
    return Dataset(X, _flip(rng, y, label_noise), dtype=dtype)


def make_dense_classification(n_samples, n_features=100, label_noise=0.05, random_state=0,
                              dtype=np.float64):
    """Gaussian features with ±1 labels from a random linear model.

    ``X`` has independent standard normal entries; ``y = sign(X w + b)`` for a
    random direction ``w`` (unit norm) and intercept ``b ~ N(0, 0.25)``, each
    label then flipped with probability ``label_noise``.
    """
    _check_positive(n_samples=n_samples, n_features=n_features)
    _check_probability("label_noise", label_noise)
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features)
    w /= np.linalg.norm(w)
    b = 0.5 * rng.standard_normal()
    y = np.where(X @ w + b > 0, 1.0, -1.0)
    return Dataset(X.astype(dtype), _flip(rng, y, label_noise), dtype=dtype)


def make_regression(n_samples, n_features=100, noise=0.1, sparse=False, random_state=0,
                    dtype=np.float64):
    """Linear regression data: ``y = X w* + b* + noise * N(0, 1)``.

    ``w*`` and ``b*`` are standard normal. ``X`` is standard normal, dense, or
    with ``sparse=True`` a CSR matrix where each entry is non-zero with
    probability 0.1 (normal values).
    """
    _check_positive(n_samples=n_samples, n_features=n_features)
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise!r}")
    rng = np.random.default_rng(random_state)
    w = rng.standard_normal(n_features)
    b = rng.standard_normal()
    if sparse:
        chunk = max(1, 4_000_000 // n_features)
        blocks = []
        for start in range(0, n_samples, chunk):
            rows = min(chunk, n_samples - start)
            values = rng.standard_normal((rows, n_features))
            values[rng.random((rows, n_features)) >= 0.1] = 0.0
            blocks.append(sp.csr_matrix(values))
        X = sp.vstack(blocks, format="csr")
    else:
        X = rng.standard_normal((n_samples, n_features))
    y = X @ w + b + noise * rng.standard_normal(n_samples)
    return Dataset(X.astype(dtype), y, dtype=dtype)
