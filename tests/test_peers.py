"""Peer adapters: availability, the penalty mapping (C = 1/(n alpha)) and their traces."""
import math

import pytest

import parallel_sgd as psgd
from parallel_sgd.benchmark.peers import PEERS, run_peer, select_peers


@pytest.fixture(scope="module")
def problems():
    data = psgd.make_sparse_classification(n_samples=800, n_features=100, nnz_per_row=10,
                                           random_state=3)
    regression = psgd.make_regression(n_samples=400, n_features=20, random_state=3)
    out = {}
    for loss, source in (("log_loss", data), ("hinge", data), ("squared_hinge", data),
                         ("squared_error", regression)):
        problem = psgd.Problem(source, loss, alpha=1e-3)
        out[loss] = problem, psgd.reference_optimum(problem)
    return out


def test_select_peers_says_why_a_peer_cannot_run(problems):
    problem, _ = problems["squared_hinge"]
    runnable, skipped = select_peers(problem)
    reasons = dict(skipped)
    assert "sklearn-saga" in reasons and "has no loss 'squared_hinge'" in reasons["sklearn-saga"]
    assert set(runnable) | set(reasons) == set(PEERS)
    with pytest.raises(ValueError, match="unknown peer 'matlab'"):
        select_peers(problem, ["matlab"])


def test_unusable_peer_raises(problems):
    problem, _ = problems["hinge"]
    with pytest.raises(ValueError, match="peer 'sklearn-saga' has no loss 'hinge'"):
        run_peer("sklearn-saga", problem)


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "squared_error"])
def test_sklearn_sgd_trace(problems, loss):
    pytest.importorskip("sklearn")
    problem, optimum = problems[loss]
    rows = run_peer("sklearn-sgd", problem, n_epochs=4, optimum=optimum, test=problem.data,
                    learning_rate="inverse_sqrt")
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["n_updates"] for r in rows] == [k * problem.n_samples for k in range(5)]
    times = [r["time_s"] for r in rows]
    assert times == sorted(times) and times[-1] > 0
    assert rows[-1]["relative_suboptimality"] < rows[0]["relative_suboptimality"]
    assert all(r["n_workers"] == 1 and r["driver"] == "sklearn-sgd" for r in rows)


def test_saga_converges_to_our_optimum(problems):
    """C = 1 / (n alpha) makes LogisticRegression's minimizer ours."""
    pytest.importorskip("sklearn")
    problem, optimum = problems["log_loss"]
    rows = run_peer("sklearn-saga", problem, n_epochs=512, optimum=optimum)
    assert [r["epoch"] for r in rows][:4] == [0, 1, 2, 4]
    assert rows[-1]["relative_suboptimality"] < 1e-5  # slow but sure: 3e-4 after 64 passes


@pytest.mark.parametrize("loss,tolerance", [("log_loss", 1e-8), ("squared_hinge", 1e-8),
                                            ("squared_error", 1e-8), ("hinge", 1e-2)])
def test_liblinear_reaches_our_optimum(problems, loss, tolerance):
    """liblinear's C mapping (1/(n alpha); 1/(2 n alpha) for squared error); its hinge
    solver penalizes the bias, so there it lands near, not on, our optimum."""
    pytest.importorskip("liblinear")
    problem, optimum = problems[loss]
    rows = run_peer("liblinear", problem, optimum=optimum)
    assert math.isnan(rows[-1]["epoch"])
    assert abs(rows[-1]["relative_suboptimality"]) < tolerance


def test_vw_is_timed_but_not_compared(problems):
    pytest.importorskip("vowpalwabbit")
    problem, optimum = problems["log_loss"]
    rows = run_peer("vw", problem, n_epochs=3, optimum=optimum, test=problem.data)
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]
    assert all(math.isnan(r["relative_suboptimality"]) for r in rows)
    assert rows[-1]["n_updates"] == 3 * problem.n_samples and rows[-1]["time_s"] > 0
    assert rows[-1]["test_metric"] > 0.6
