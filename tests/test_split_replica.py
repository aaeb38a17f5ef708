"""Head replicas on wide data: only what was touched is written, and two workers
converge like one."""
import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd.drivers.split_layout import SplitLayout, default_replica_features, head_mask
from parallel_sgd.drivers.state import ModelState
from parallel_sgd.drivers.team import Workers, default_merge_every
from parallel_sgd.kernels.hogwild import replica_steps
from parallel_sgd.kernels.split_replica import head_map, head_slot
from parallel_sgd.model.optimizers import get_optimizer

from .test_hogwild import _assert_two_workers_converge_like_serial

BACKENDS = ["threads", "processes"]


def wide(alpha=1e-3, **kwargs):
    """4,000 rows of 10 non-zeros over 800,000 features: d is 20x the non-zeros of an
    epoch, so a merge that swept the model would write 20 coordinates for each one a
    step touched."""
    data = psgd.make_sparse_classification(n_samples=4000, n_features=800_000, nnz_per_row=10,
                                           random_state=0)
    return psgd.Problem(data, "log_loss", alpha=alpha, **kwargs)


@pytest.fixture(scope="module")
def wide_problem():
    return wide()


def test_wide_problems_write_in_place_and_narrow_ones_keep_full_replicas(wide_problem):
    every = default_merge_every(wide_problem, 2)
    assert default_replica_features(wide_problem, every) == 0
    narrow = psgd.Problem(psgd.make_sparse_classification(n_samples=20_000, n_features=5_000,
                                                          nnz_per_row=20), "log_loss")
    assert default_replica_features(narrow, default_merge_every(narrow, 2)) == 5_000
    dense = psgd.Problem(psgd.make_dense_classification(1000, 50), "log_loss")
    assert default_replica_features(dense, 256) == 50


def test_head_mask_takes_the_most_frequent_features_and_never_an_unused_one():
    counts = np.array([5, 0, 9, 5, 1, 0, 7, 5])
    assert np.flatnonzero(head_mask(counts, 2)).tolist() == [2, 6]
    assert np.flatnonzero(head_mask(counts, 4)).tolist() == [2, 6]  # the 5s tie: none fits
    assert np.flatnonzero(head_mask(counts, 5)).tolist() == [0, 2, 3, 6, 7]
    assert np.flatnonzero(head_mask(counts, 100)).tolist() == [0, 2, 3, 4, 6, 7]
    assert not head_mask(counts, 0).any()


@pytest.mark.kernel
def test_head_slot_is_the_rank_among_head_features():
    rng = np.random.default_rng(0)
    mask = rng.random(1000) < 0.3
    mask[[63, 64, 127, 999]] = True
    table = head_map(mask)
    ranks = np.cumsum(mask) - 1
    for j in range(1000):
        assert head_slot(table, j) == (ranks[j] if mask[j] else -1)


def test_relabeling_puts_the_head_first_and_keeps_every_dot_product(wide_problem):
    layout = SplitLayout(wide_problem, 4096)
    X = wide_problem.data.X
    head = np.flatnonzero(head_mask(wide_problem.column_counts, 4096))
    assert layout.size == head.size > 0 and layout.low.size == layout.high.size > 0
    assert np.array_equal(np.sort(layout.feature_at), head)  # the head is labeled 0 .. H-1
    relabeled = X.copy()
    relabeled.indices = layout.indices
    w = np.random.default_rng(1).standard_normal(X.shape[1])
    np.testing.assert_allclose(relabeled @ layout.relabeled(w), X @ w, rtol=1e-12)
    twice = layout.relabeled(layout.relabeled(w))
    np.testing.assert_array_equal(twice, w)  # the swap is its own inverse
    assert np.array_equal(X.indices, wide_problem.data.X.indices)  # the user's data untouched


@pytest.mark.parametrize("replica_features", [256, 0])
def test_a_stretch_writes_only_the_head_and_the_coordinates_its_rows_touch(wide_problem,
                                                                           replica_features):
    """Every weight starts at -0.0, which any arithmetic write turns into +0.0
    (-0 + 0 = +0): a coordinate whose sign bit is gone was written. 40 stretches of
    5 steps, each ending in a merge, write the head, the rows' coordinates and no
    other; a full replica's merge (below) writes all 800,000."""
    rule = get_optimizer("sgd")
    problem = wide(alpha=0.0)
    state = ModelState(problem.n_features, np.float64, rule)
    state.v[:] = -0.0
    workers = Workers(problem, rule, state, 2, 5, "none", 1.0,
                      replica_features=replica_features)
    workers.make_replicas()
    assert workers.head is not None and workers.head.size <= replica_features
    workers.before_call()
    rows = workers.own_rows(0)[:200]
    done = replica_steps(workers.data, workers.shared, workers.replicas[0], workers.config,
                         workers.merge, workers.head, rows, np.full(200, 0.5), 0)
    assert done == 200
    written = np.flatnonzero(~np.signbit(workers.shared.v))
    X = workers.data
    touched = np.unique(np.concatenate([X.indices[X.indptr[i]:X.indptr[i + 1]] for i in rows]))
    allowed = np.union1d(touched, np.arange(workers.head.size))
    assert np.isin(written, allowed).all()
    assert 0 < written.size <= allowed.size < problem.n_features / 100
    workers.after_call()


def test_a_full_replica_merge_writes_every_coordinate(wide_problem):
    """The check above can fail: a full replica's merge writes all d weights."""
    rule = get_optimizer("sgd")
    problem = wide(alpha=0.0)
    state = ModelState(problem.n_features, np.float64, rule)
    state.v[:] = -0.0
    workers = Workers(problem, rule, state, 2, 5, "none", 1.0,
                      replica_features=problem.n_features)
    workers.make_replicas()
    assert workers.head is None
    rows = workers.own_rows(0)[:10]
    replica_steps(workers.data, workers.shared, workers.replicas[0], workers.config,
                  workers.merge, None, rows, np.full(10, 0.5), 0)
    assert (~np.signbit(workers.shared.v)).sum() > 0.99 * problem.n_features  # less the
    # touched coordinates that went negative


@pytest.mark.parametrize("replica_features", [None, 4096])
def test_two_workers_on_wide_data_converge_like_serial(wide_problem, replica_features):
    _assert_two_workers_converge_like_serial(
        wide_problem, 8, learning_rate="inverse_sqrt",
        hogwild_options={"replica_features": replica_features})


@pytest.mark.parametrize("replica_features", [0, 4096])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer,options", [
    ("sgd", dict(l1_ratio=0.0)), ("sgd", dict(l1_ratio=0.5)), ("adagrad", dict(l1_ratio=0.5)),
    ("adam", dict(l1_ratio=0.0)),
])
def test_wide_data_trains_every_rule_and_penalty(backend, optimizer, options, replica_features):
    """As the full replicas' test in test_hogwild: two workers end within 3x (plus 1e-3)
    of the serial driver's suboptimality (medians of 3 seeds), here on wide data. The
    serial runs only need to have trained (below 0.1): Adagrad with L1 levels off at
    5.4-6.9e-2 here for every constant step from 0.01 to 0.1."""
    problem = wide(**options)
    optimum = psgd.reference_optimum(problem)
    schedule, eta0 = {"sgd": ("inverse_sqrt", None), "adagrad": ("constant", 0.1),
                      "adam": ("inverse", 0.01)}[optimizer]
    runs = {driver: np.median([
        psgd.fit(problem, driver=driver, n_workers=2, n_epochs=6, optimizer=optimizer,
                 learning_rate=schedule, eta0=eta0, optimum=optimum, random_state=seed,
                 **driver_options).trace[-1]["relative_suboptimality"] for seed in range(3)])
        for driver, driver_options in (("sync", {}), ("hogwild", {
            "backend": backend, "replica_features": replica_features}))}
    assert runs["sync"] < 1e-1
    assert runs["hogwild"] < 3 * runs["sync"] + 1e-3, runs


def test_l1_leaves_the_head_and_the_tail_sparse_where_the_optimum_is(wide_problem):
    problem = wide(alpha=3e-3, l1_ratio=1.0)
    optimum = psgd.reference_optimum(problem)
    for replica_features in (0, 4096):
        result = psgd.fit(problem, driver="hogwild", n_workers=2, n_epochs=10,
                          learning_rate="inverse_sqrt", optimum=optimum, random_state=0,
                          replica_features=replica_features)
        assert result.trace[-1]["relative_suboptimality"] < 5e-2
        zero = optimum.coef == 0.0
        assert (result.coef[zero] == 0.0).mean() > 0.99


def test_a_strong_l2_shrink_is_split_into_calls_and_folded():
    """eta * l2 = 0.6 per step shrinks the shared scale by 1e-12 within ~30 steps: the
    leader splits the calls and folds the scale between them, and the run stays as
    good as the serial one."""
    problem = wide(alpha=0.6, fit_intercept=False)
    workers = Workers(problem, get_optimizer("sgd"), ModelState(problem.n_features, np.float64,
                                                              get_optimizer("sgd")),
                      2, None, "none", 1.0, replica_features=4096)
    calls = workers.calls(np.full(4000, 1.0))
    assert len(calls) > 100 and calls[0][0] == 0 and calls[-1][1] == 4000
    sync = psgd.fit(problem, driver="sync", n_epochs=2, learning_rate="constant", eta0=1.0,
                    random_state=0)
    for replica_features in (0, 4096):
        run = psgd.fit(problem, driver="hogwild", n_workers=2, n_epochs=2,
                       learning_rate="constant", eta0=1.0, random_state=0,
                       replica_features=replica_features)
        assert np.isfinite(run.coef).all()
        assert run.objective <= 1.01 * sync.objective


@pytest.mark.parametrize("value", [-1, 2.5, True, "all"])
def test_bad_replica_features(value, wide_problem):
    with pytest.raises(ValueError, match="replica_features must be an integer >= 0"):
        psgd.fit(wide_problem, driver="hogwild", n_workers=2, replica_features=value)
