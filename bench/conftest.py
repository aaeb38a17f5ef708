"""Problems shared by the pytest-benchmark suites in this folder.

These suites are never part of the default test run (``testpaths = ["tests"]``);
run them with ``pytest bench/`` (see BENCHMARKS.md for the exact commands).
"""
import warnings

import pytest

import parallel_sgd as psgd

SIZES = {"sparse": dict(n_samples=100_000, n_features=20_000, nnz_per_row=50),
         "dense": dict(n_samples=100_000, n_features=100)}


@pytest.fixture(scope="session")
def datasets():
    """``{"sparse": Dataset, "dense": Dataset}``, generated once per session."""
    return {"sparse": psgd.make_sparse_classification(**SIZES["sparse"], random_state=0),
            "dense": psgd.make_dense_classification(**SIZES["dense"], random_state=0)}


@pytest.fixture(autouse=True)
def quiet_first_step_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the first step")
        yield
