"""The Ray driver on a local Ray (num_cpus=2, one per module): exactness, modes, bounds."""
import numpy as np
import pytest

import parallel_sgd as psgd

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def problem():
    data = psgd.make_sparse_classification(n_samples=6000, n_features=2000, nnz_per_row=20,
                                           random_state=1)
    # alpha large enough that 4 passes end near the optimum (relative suboptimality ~1%),
    # where the modes' different paths no longer show in the objective
    return psgd.Problem(data, "log_loss", alpha=1e-3)


def test_sync_with_one_worker_and_one_server_is_the_sync_driver(local_ray, problem):
    ref = psgd.fit(problem, driver="sync", n_epochs=3, random_state=5, eval_every=0.5)
    got = psgd.fit(problem, driver="ray", mode="sync", n_workers=1, n_servers=1, n_epochs=3,
                   random_state=5, eval_every=0.5, local_steps=1000)
    np.testing.assert_allclose(got.coef, ref.coef, rtol=0, atol=1e-10)
    assert abs(got.intercept - ref.intercept) < 1e-10
    np.testing.assert_allclose([r["objective"] for r in got.trace],
                               [r["objective"] for r in ref.trace], rtol=1e-12)
    assert [r["n_updates"] for r in got.trace] == [r["n_updates"] for r in ref.trace]
    assert got.trace[-1]["driver"] == "ray" and got.trace[-1]["staleness_max"] == 0
    assert got.config["faults"] == {"workers": 0, "servers": 0}
    assert ray.is_initialized()  # the fit joined this Ray and left it up


def test_async_and_ssp_reach_sync_within_one_percent_and_ssp_keeps_its_bound(local_ray,
                                                                             problem):
    common = dict(driver="ray", n_workers=2, n_epochs=4, random_state=0, local_steps=500,
                  eval_every=0.5)
    sync = psgd.fit(problem, mode="sync", **common)
    assert all(r["staleness_max"] == 0 for r in sync.trace)
    for options in (dict(mode="async", n_servers=2), dict(mode="ssp", staleness=1)):
        result = psgd.fit(problem, **options, **common)
        assert abs(result.objective / sync.objective - 1) < 0.01, options
        assert result.trace[-1]["epoch"] == pytest.approx(4.0)
        assert result.trace[-1]["n_updates"] == problem.n_samples * 4
        if options["mode"] == "ssp":
            assert max(r["staleness_max"] for r in result.trace) <= 1
        # sparse pushes: a 500-step round touches far fewer keys than d
        assert result.config["keys_per_push"] < problem.n_features


def test_adaptive_rule_state_lives_on_the_servers(local_ray, problem):
    ref = psgd.fit(problem, driver="sync", n_epochs=2, optimizer="adagrad",
                   learning_rate="constant", eta0=0.1)
    got = psgd.fit(problem, driver="ray", n_epochs=2, optimizer="adagrad", n_servers=2,
                   learning_rate="constant", eta0=0.1, local_steps=700)
    np.testing.assert_allclose(got.coef, ref.coef, rtol=0, atol=1e-10)
