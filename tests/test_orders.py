"""Row orders: ``shuffle=True | "once" | "blocks" | False`` on every driver."""
import numpy as np
import pytest
from sklearn.datasets import make_classification

import parallel_sgd as psgd
from parallel_sgd.drivers.orders import (
    RowStream,
    block_rows,
    check_shuffle,
    draw_order,
    permuted_once,
)
from parallel_sgd.kernels.orders import shuffle_blocks


def _blocks_of(order, block):
    """The block number of every aligned chunk of ``order``, checking each chunk holds
    exactly the rows of one block of consecutive rows."""
    found = []
    for start in range(0, len(order), block):
        chunk = np.sort(order[start:start + block])
        k = chunk[0] // block
        np.testing.assert_array_equal(chunk, np.arange(k * block, k * block + len(chunk)))
        found.append(k)
    return found


@pytest.mark.kernel
@pytest.mark.parametrize("n,block", [(100, 8), (96, 8), (7, 8), (50, 1)])
def test_shuffle_blocks_keeps_blocks_whole_and_the_short_one_last(n, block):
    rng = np.random.default_rng(0)
    rows = np.arange(n)
    orders = set()
    for _ in range(20):  # in place, call after call: the blocks stay whole
        shuffle_blocks(rng, rows, block)
        np.testing.assert_array_equal(np.sort(rows), np.arange(n))
        found = _blocks_of(rows, block)
        if n % block:
            assert found[-1] == n // block
        orders.add(tuple(rows))
    assert len(orders) > 1 or n <= 1


@pytest.mark.kernel
def test_shuffle_blocks_draws_every_block_order():
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(400):
        rows = np.arange(12)
        shuffle_blocks(rng, rows, 4)
        seen.add(tuple(_blocks_of(rows, 4)))
        assert sorted(rows[:4] // 4) == [rows[0] // 4] * 4
    assert len(seen) == 6  # all 3! orders of three blocks


def test_draw_order_kinds():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(draw_order(rng, 5, False), np.arange(5))
    np.testing.assert_array_equal(draw_order(rng, 5, "once"), np.arange(5))
    assert sorted(draw_order(rng, 50, True)) == list(range(50))
    _blocks_of(draw_order(rng, 50, "blocks", 10), 10)
    assert draw_order(rng, 5, None) is None


def test_row_stream_takes_passes_without_replacement():
    problem = psgd.Problem(_data(n=30), loss="log_loss")
    stream = RowStream(np.random.default_rng(0), problem, True)
    rows = stream.take(75)
    for start in (0, 30):
        assert sorted(rows[start:start + 30]) == list(range(30))
    np.testing.assert_array_equal(RowStream(None, problem, False).take(40) % 30,
                                  np.arange(40) % 30)


def test_block_rows_follow_the_bytes_per_row():
    wide = psgd.Problem(_data(n=200, nnz=40), loss="log_loss")
    narrow = psgd.Problem(_data(n=200, nnz=4), loss="log_loss")
    per_row = wide.data.nnz / 200 * 12 + 4  # float64 value + int32 index, indptr slot
    assert block_rows(wide) == int((1 << 20) // per_row)
    assert block_rows(narrow) > 5 * block_rows(wide)
    assert block_rows(wide, block_bytes=1) == 16


@pytest.mark.parametrize("value", ["yes", 2, None, "block"])
def test_bad_shuffle_values_are_named(value):
    with pytest.raises(ValueError, match=r"shuffle must be True, 'once', 'blocks' or False"):
        check_shuffle(value)
    with pytest.raises(ValueError, match="shuffle must be"):
        psgd.fit(psgd.Problem(_data(), loss="log_loss"), shuffle=value)


def _data(n=400, d=60, nnz=6, seed=0):
    return psgd.make_sparse_classification(n_samples=n, n_features=d, nnz_per_row=nnz,
                                           random_state=seed)


def test_once_is_the_stored_order_of_one_permutation():
    problem = psgd.Problem(_data(), loss="log_loss", alpha=1e-3)
    once = psgd.fit(problem, n_epochs=3, shuffle="once", random_state=4)
    permuted = permuted_once(problem, 4)
    assert not np.array_equal(permuted.y, problem.y)
    by_hand = psgd.fit(permuted, n_epochs=3, shuffle=False, random_state=4)
    np.testing.assert_array_equal(once.coef, by_hand.coef)
    assert once.config["shuffle"] == "once"
    assert psgd.fit(problem, n_epochs=1, shuffle=False).config["shuffle"] is False
    # the same objective on the permuted problem, and the caller's problem untouched
    w = once.coef
    assert permuted.objective(w, once.intercept) == pytest.approx(
        problem.objective(w, once.intercept), rel=1e-12)
    np.testing.assert_array_equal(problem.data.column_counts, permuted.data.column_counts)


DRIVER_CASES = [
    ("sync", 1, {}),
    ("sync", 2, {"batch_size": 8}),
    ("hogwild", 2, {}),
    ("hogwild", 2, {"backend": "processes"}),
    ("svrg", 1, {"sampling": "uniform"}),
    ("svrg", 2, {"sampling": "uniform"}),
]


@pytest.mark.parametrize("driver,n_workers,options", DRIVER_CASES)
@pytest.mark.parametrize("shuffle", [True, "once", "blocks", False])
def test_every_order_converges_on_every_driver(driver, n_workers, options, shuffle):
    problem = psgd.Problem(_data(n=600, seed=1), loss="log_loss", alpha=1e-2)
    optimum = psgd.reference_optimum(problem)
    extra = {} if driver == "svrg" else {"learning_rate": "optimal"}
    result = psgd.fit(problem, driver=driver, n_workers=n_workers, n_epochs=12,
                      shuffle=shuffle, optimum=optimum, random_state=0, **extra, **options)
    assert result.trace[-1]["relative_suboptimality"] < 0.05


@pytest.mark.parametrize("driver", ["sync", "hogwild", "svrg"])
def test_multinomial_drivers_take_every_order(driver):
    X, y = make_classification(300, 8, n_informative=5, n_classes=3, random_state=0)
    problem = psgd.MultinomialProblem(psgd.Dataset(X / np.abs(X).max(), y), alpha=1e-2)
    optimum = psgd.reference_optimum(problem)
    for shuffle in (True, "once", "blocks", False):
        result = psgd.fit(problem, driver=driver, n_workers=1 if driver == "sync" else 2,
                          n_epochs=10, shuffle=shuffle, random_state=0, optimum=optimum)
        assert result.trace[-1]["relative_suboptimality"] < 0.05, shuffle


def test_blocks_in_hogwild_visit_every_row_once_an_epoch():
    problem = psgd.Problem(_data(n=500), loss="log_loss", alpha=1e-3)
    result = psgd.fit(problem, driver="hogwild", n_workers=2, n_epochs=2, shuffle="blocks")
    assert result.trace[-1]["n_grad_evals"] == 1000


def test_orders_that_a_driver_cannot_take_are_refused():
    problem = psgd.Problem(_data(), loss="log_loss")
    with pytest.raises(ValueError, match="needs sampling='uniform'"):
        psgd.fit(problem, driver="svrg", shuffle="blocks")
    ranking = psgd.RankingProblem(psgd.Dataset(np.eye(4), [0, 1, 0, 1], qid=[1, 1, 2, 2]),
                                  alpha=0.1)
    with pytest.raises(ValueError, match="SVM-Rank draws pairs of rows at random"):
        psgd.fit(ranking, shuffle="once")


@pytest.mark.parametrize("shuffle", ["once", "blocks", False])
def test_estimators_take_every_order(shuffle):
    X, y = make_classification(600, 6, n_informative=4, n_classes=3, class_sep=2.0,
                               random_state=2)
    X = X / np.abs(X).max()
    options = dict(loss="log_loss", alpha=1e-3, max_iter=20, tol=None, random_state=0)
    ours = psgd.SGDClassifier(shuffle=shuffle, **options).fit(X, y)
    reference = psgd.SGDClassifier(**options).fit(X, y)
    assert ours.score(X, y) > reference.score(X, y) - 0.05
    with pytest.raises(ValueError, match="shuffle must be"):
        psgd.SGDClassifier(shuffle="sometimes").fit(X, y)


def test_cli_takes_every_order(tmp_path, capsys):
    from parallel_sgd.benchmark.suite import to_argv

    from .cli_helpers import run
    train = tmp_path / "train.svm"
    psgd.save_svmlight(_data(), train)
    for value in ("true", "once", "blocks", "false"):
        code, out, _ = run(["train", "--data", train, "--loss", "log_loss", "--epochs", 2,
                            "--shuffle", value, "--model-out", tmp_path / "m.json"], capsys)
        assert code == 0, value
    code, _, err = run(["train", "--data", train, "--shuffle", "sometimes",
                        "--model-out", tmp_path / "m.json"], capsys)
    assert code == 2 and "expected true, once, blocks or false" in err
    code, out, _ = run(["bench", "--data", train, "--epochs", 2, "--shuffle", "blocks",
                        "--quiet", "--out", tmp_path / "bench"], capsys)
    assert code == 0 and "svrg" in out
    assert to_argv({"shuffle": False}, "x") == ["--shuffle", "false"]
