"""Single-thread SGD epoch: parallel_sgd vs scikit-learn, and against the memory-traffic bound.

Usage::

    python bench/bench_epoch.py [--repeats 5] [--quick]

For each problem and each of ``repeats`` seeds, both solvers run one warm-up
epoch and two timed ones, in alternation, in one process: ours through ``psgd.fit`` (per-epoch solver time
from the trace, which includes drawing the permutation and the step sizes),
scikit-learn through ``SGDClassifier.partial_fit`` (which shuffles too). The
table gives medians, their ratio, and the epoch's memory-traffic bound: bytes
of indices, values, labels, order and the weights each non-zero touches, over
a STREAM-like read bandwidth measured in the same run.
"""
import argparse
import platform
import time
import warnings

warnings.filterwarnings("ignore", message="the first step")

import numba
import numpy as np

import parallel_sgd as psgd

try:
    from sklearn.linear_model import SGDClassifier
except ImportError:  # pragma: no cover - the dev extra installs it
    SGDClassifier = None


@numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
def _read_sum(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


def read_bandwidth(n_bytes=512 << 20, repeats=5):
    """Single-thread read bandwidth in bytes/s (a vectorized sum over a large array)."""
    a = np.ones(n_bytes // 8)
    _read_sum(a[:16])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _read_sum(a)
        times.append(time.perf_counter() - start)
    return a.nbytes / np.median(times)


def epoch_bytes(data):
    """Bytes one epoch must move: entries, row pointers, labels, order, step sizes, weights."""
    X = data.X
    n = data.n_samples
    fixed = n * (8 + 8 + 8)  # labels, order, step sizes
    if data.is_sparse:
        return X.nnz * (X.indices.itemsize + X.data.itemsize + X.data.itemsize) + \
            X.indptr.nbytes + fixed
    return X.nbytes + fixed


def time_ours(problem, repeats, seed):
    """Per-epoch solver times of epochs 2 .. repeats + 1 (the first is a warm-up)."""
    result = psgd.fit(problem, n_epochs=repeats + 1, eval_every=1, learning_rate="optimal",
                      random_state=seed)
    return np.diff([row["time_s"] for row in result.trace])[1:]


def time_sklearn(data, loss, alpha, repeats, seed):
    if SGDClassifier is None:
        return np.full(repeats, np.nan)
    clf = SGDClassifier(loss=loss, alpha=alpha, learning_rate="optimal", random_state=seed)
    classes = np.unique(data.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(data.X, data.y, classes=classes)  # warm-up epoch
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            clf.partial_fit(data.X, data.y)
            times.append(time.perf_counter() - start)
    return np.array(times)


def problems(quick):
    scale = 10 if quick else 1
    sparse = psgd.make_sparse_classification(n_samples=200_000 // scale, n_features=47_236,
                                             nnz_per_row=75, random_state=0)
    dense = psgd.make_dense_classification(n_samples=200_000 // scale, n_features=100,
                                           random_state=0)
    yield "sparse 200k x 47k, log_loss", sparse, "log_loss", 1e-5
    yield "sparse 200k x 47k, hinge", sparse, "hinge", 1e-5
    yield "sparse 200k x 47k float32, log_loss", sparse.astype(np.float32), "log_loss", 1e-5
    try:
        yield "a9a, log_loss", psgd.fetch("a9a"), "log_loss", 1e-4
    except Exception as exc:  # no network and no mirror: skip the row
        print(f"(a9a skipped: {exc})")
    yield "dense 200k x 100, log_loss", dense, "log_loss", 1e-5
    yield "dense 200k x 100 float32, log_loss", dense.astype(np.float32), "log_loss", 1e-5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10x smaller problems")
    args = parser.parse_args(argv)
    bandwidth = read_bandwidth()
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"read bandwidth {bandwidth / 1e9:.1f} GB/s (one thread)")
    header = f"{'problem':38s} {'ours ms':>8s} {'sklearn ms':>10s} {'ratio':>6s} " \
             f"{'bound ms':>8s} {'ours/bound':>10s} {'GB/s':>6s}"
    print(header)
    print("-" * len(header))
    for name, data, loss, alpha in problems(args.quick):
        problem = psgd.Problem(data, loss, alpha=alpha)
        ours, theirs = [], []
        for seed in range(args.repeats):  # alternate so both see the same machine state
            ours.extend(time_ours(problem, 2, seed))
            theirs.extend(time_sklearn(data, loss, alpha, 2, seed))
        ours, theirs = np.median(ours), np.median(theirs)
        moved = epoch_bytes(data)
        bound = moved / bandwidth
        print(f"{name:38s} {ours * 1e3:8.1f} {theirs * 1e3:10.1f} {theirs / ours:6.2f} "
              f"{bound * 1e3:8.1f} {ours / bound:10.2f} {moved / ours / 1e9:6.2f}")


if __name__ == "__main__":
    main()
