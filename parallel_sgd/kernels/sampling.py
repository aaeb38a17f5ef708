"""Drawing rows with given probabilities in O(1) per draw: Walker's alias method.

SVRG draws its inner loop's rows in proportion to their smoothness. NumPy's
``Generator.choice(n, m, p=p)`` builds the cumulative sum and binary-searches it on
every call: on 2M rows that was 1.1 s per outer loop, a quarter of it
(BENCHMARKS.md, SVRG). The alias table is built once per fit (O(n)); a draw is
one uniform double, split into a column and a coin flip.
"""
import numpy as np

from .._jit import jit


@jit
def _fill_alias(scaled, accept, alias, small, large):
    """Vose's construction on ``scaled = n p`` (consumed): column ``i`` keeps itself with
    probability ``accept[i]`` and is ``alias[i]`` otherwise."""
    n = scaled.shape[0]
    n_small = n_large = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        lo = small[n_small]
        hi = large[n_large - 1]
        accept[lo] = scaled[lo]
        alias[lo] = hi
        scaled[hi] = (scaled[hi] + scaled[lo]) - 1.0
        if scaled[hi] < 1.0:  # hi moves to the small ones
            n_large -= 1
            small[n_small] = hi
            n_small += 1
    for t in range(n_large):  # what rounding left: columns that keep themselves
        accept[large[t]] = 1.0
        alias[large[t]] = large[t]
    for t in range(n_small):
        accept[small[t]] = 1.0
        alias[small[t]] = small[t]


def alias_table(probabilities):
    """``(accept, alias)`` of the distribution ``probabilities`` (non-negative, summing
    to 1) for :func:`alias_draws`."""
    n = probabilities.shape[0]
    accept, alias = np.ones(n), np.arange(n, dtype=np.int64)
    _fill_alias(np.asarray(probabilities, dtype=np.float64) * n, accept, alias,
                np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))
    return accept, alias


@jit
def alias_draws(rng, accept, alias, out):
    """Fill ``out`` with rows drawn from the alias table's distribution, using the NumPy
    Generator ``rng`` (one double per draw)."""
    n = accept.shape[0]
    for s in range(out.shape[0]):
        u = rng.random() * n
        i = min(int(u), n - 1)
        out[s] = i if u - i < accept[i] else alias[i]
    return out
