"""pytest-benchmark: ``psgd.fit`` per driver, 2 workers, 2 epochs on the built-in sparse problem.

    pytest bench/test_drivers_speed.py --benchmark-columns=min,median,max,rounds

Every driver in ``DRIVERS`` but ``ray`` is measured (new drivers appear by
themselves). The benchmark times the whole ``fit`` call, evaluations included;
``extra_info`` holds the solver-only time and the final relative suboptimality
from the trace, which is what ``psgd bench`` reports.
"""
import pytest

import parallel_sgd as psgd
from parallel_sgd.drivers import DRIVERS, local_drivers

VARIANTS = [(name, {}) for name in local_drivers()]
if "hogwild" in DRIVERS:
    VARIANTS += [("hogwild", {"backend": "processes"}), ("hogwild", {"locking": "global"})]


@pytest.fixture(scope="module")
def problem(datasets):
    return psgd.Problem(datasets["sparse"], "log_loss", alpha=1e-5)


@pytest.fixture(scope="module")
def optimum(problem):
    return psgd.reference_optimum(problem)


@pytest.mark.parametrize("driver,options", VARIANTS,
                         ids=["-".join([d, *map(str, o.values())]) for d, o in VARIANTS])
def test_fit(benchmark, problem, optimum, driver, options):
    psgd.fit(problem, driver=driver, n_workers=2, n_epochs=0.01, **options)  # JIT warm-up
    seeds = iter(range(100))

    def run():
        return psgd.fit(problem, driver=driver, n_workers=2, n_epochs=2, eval_every=2,
                        optimum=optimum, random_state=next(seeds), **options)

    result = benchmark.pedantic(run, rounds=5, warmup_rounds=0)
    benchmark.extra_info.update(solver_s=result.time_s,
                                relative_suboptimality=result.trace[-1]["relative_suboptimality"])
    assert result.trace[-1]["relative_suboptimality"] < 0.1
