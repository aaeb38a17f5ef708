"""Walker's alias tables: draws follow the given probabilities, never a row of zero."""
import numpy as np
import pytest
from scipy import stats

from parallel_sgd.kernels.sampling import alias_draws, alias_table


def _draws(p, m, seed=0):
    table = alias_table(np.asarray(p, dtype=np.float64))
    return alias_draws(np.random.default_rng(seed), *table, np.empty(m, dtype=np.int64))


@pytest.mark.kernel
@pytest.mark.parametrize("seed", range(3))
def test_draws_follow_the_probabilities(seed):
    rng = np.random.default_rng(seed)
    p = rng.pareto(1.5, 500) + 1e-3  # heavy-tailed, like rows' smoothness
    p /= p.sum()
    counts = np.bincount(_draws(p, 400_000, seed), minlength=500)
    assert stats.chisquare(counts, 400_000 * p).pvalue > 1e-4


@pytest.mark.kernel
def test_the_table_is_the_distribution():
    """Column i keeps itself with probability accept[i], else gives alias[i]: summed over
    the columns, that is p exactly (up to rounding)."""
    p = np.array([0.5, 0.0, 0.25, 0.125, 0.125, 0.0])
    accept, alias = alias_table(p)
    n = len(p)
    implied = np.zeros(n)
    np.add.at(implied, np.arange(n), accept / n)
    np.add.at(implied, alias, (1.0 - accept) / n)
    np.testing.assert_allclose(implied, p, atol=1e-15)


@pytest.mark.kernel
def test_rows_of_probability_zero_are_never_drawn():
    p = np.zeros(1000)
    p[::7] = 1.0
    p /= p.sum()
    draws = _draws(p, 100_000)
    assert np.all(draws % 7 == 0)
    assert len(np.unique(draws)) == len(p[::7])


@pytest.mark.kernel
def test_one_row_and_uniform_rows():
    assert np.all(_draws([1.0], 100) == 0)
    counts = np.bincount(_draws(np.full(4, 0.25), 40_000), minlength=4)
    assert stats.chisquare(counts).pvalue > 1e-4
