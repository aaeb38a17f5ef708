"""pytest-benchmark: the hot loops, one epoch each, called directly (no driver around them).

    pytest bench/test_kernels_speed.py --benchmark-columns=min,median,max,rounds

Each round runs one epoch over a fresh random permutation from zero weights;
compilation happens in the warm-up round, outside the measurement.
"""
import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd.drivers.state import ModelState, kernel_rows, sgd_config
from parallel_sgd.kernels.minibatch import make_scratch, minibatch_epoch
from parallel_sgd.kernels.sgd import sgd_epoch
from parallel_sgd.model.optimizers import get_optimizer

CASES = [("sparse", "log_loss", "sgd", np.float64), ("sparse", "hinge", "sgd", np.float64),
         ("sparse", "log_loss", "sgd", np.float32), ("sparse", "log_loss", "adam", np.float64),
         ("dense", "log_loss", "sgd", np.float64), ("dense", "log_loss", "sgd", np.float32)]


def epoch_setup(problem, rule_name, seed=[0]):
    """Arguments of one epoch: data, fresh model, config, a new permutation, step sizes."""
    rule = get_optimizer(rule_name)
    state = ModelState(problem.n_features, problem.data.dtype, rule)
    seed[0] += 1
    order = np.random.default_rng(seed[0]).permutation(problem.n_samples)
    etas = np.full(problem.n_samples, 0.1 if rule_name == "sgd" else 1e-3)
    return kernel_rows(problem), state.kernel_model, sgd_config(problem, rule), order, etas


@pytest.mark.parametrize("kind,loss,rule,dtype", CASES,
                         ids=[f"{k}-{loss}-{r}-{np.dtype(d).name}" for k, loss, r, d in CASES])
def test_sgd_epoch(benchmark, datasets, kind, loss, rule, dtype):
    problem = psgd.Problem(datasets[kind].astype(dtype), loss, alpha=1e-5)
    benchmark.extra_info.update(n_samples=problem.n_samples, nnz=int(problem.data.nnz))
    done = benchmark.pedantic(
        lambda data, model, config, order, etas: sgd_epoch(data, model, config, order, etas, 0),
        setup=lambda: (epoch_setup(problem, rule), {}), rounds=5, warmup_rounds=1)
    assert done == problem.n_samples


@pytest.mark.parametrize("batch_size", [16, 256])
def test_minibatch_epoch(benchmark, datasets, batch_size):
    problem = psgd.Problem(datasets["sparse"], "log_loss", alpha=1e-5)
    n_steps = -(-problem.n_samples // batch_size)
    scratch = make_scratch(problem.n_features, batch_size)

    def run(data, model, config, order, etas):
        return minibatch_epoch(data, model, config, order, etas[:n_steps], batch_size, 0,
                               scratch)

    done = benchmark.pedantic(run, setup=lambda: (epoch_setup(problem, "sgd"), {}), rounds=5,
                              warmup_rounds=1)
    assert done == n_steps


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_objective_pass(benchmark, datasets, kind):
    """One evaluation of P(w, b): what every checkpoint costs (outside the solver clock)."""
    problem = psgd.Problem(datasets[kind], "log_loss", alpha=1e-5)
    w = np.random.default_rng(0).normal(size=problem.n_features) * 1e-2
    value = benchmark.pedantic(problem.objective, args=(w, 0.1), rounds=10, warmup_rounds=1)
    assert np.isfinite(value)
