"""Median time of one Hogwild! merge: a full replica's (O(d)) at d = 47k, 2M and 20M, and
one that writes in place with a head of H = 0, 4096, 40960 private features (O(H)).

Usage::

    python bench/bench_merge_cost.py

Timed from Python, so each figure includes the call itself (a few microseconds).
"""
import time

import numpy as np

from parallel_sgd.kernels.args import Head, LinearModel, Merge
from parallel_sgd.kernels.hogwild import merge_replica, new_replica
from parallel_sgd.kernels.split_replica import merge_head


def shared_model(d):
    return LinearModel(np.zeros(d), np.zeros(1), np.array([1.0, 0.0]), np.zeros(d),
                       np.zeros((0, d + 1)))


def median_time(call, repeats):
    call()  # compile or load
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return float(np.median(samples))


def main():
    for d in (47_236, 2_000_000, 20_000_000):
        shared = shared_model(d)
        replica = new_replica(shared)
        merge = Merge(4096, np.ones(d), 0.5, 0.5, 0.0, None)
        seconds = median_time(lambda: merge_replica(shared, replica, merge, 0.0),
                              21 if d < 10**7 else 7)
        print(f"full replica merge, d = {d}: {seconds * 1e3:.3f} ms")
    shared = shared_model(20_000_000)
    for size in (0, 4096, 40960):
        head = Head(size, np.zeros(1, np.int64))
        replica = new_replica(shared, head)
        merge = Merge(4096, np.ones(size), 0.5, 0.5, 0.0, None)
        seconds = median_time(lambda: merge_head(shared, replica, merge, head, 0.0), 101)
        print(f"merge writing in place, head of H = {size} (any d): {seconds * 1e6:.1f} us")


if __name__ == "__main__":
    main()
