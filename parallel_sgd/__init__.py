"""parallel_sgd: parallel and asynchronous SGD for L1/L2-regularized linear models.

The public API (DESIGN.md section 3): data (`Dataset`, `load` of a file, a part
folder or a cache, `load_svmlight`, `save_svmlight`, `build_cache`, `save_cache`,
generators, `fetch`), `Problem`, `MultinomialProblem`,
`RankingProblem`, `reference_optimum`, `fit`, and the scikit-learn estimators
`SGDClassifier`, `SGDRegressor` and `SVMRank`.
"""
from .data import (
    Dataset,
    build_cache,
    fetch,
    load,
    load_svmlight,
    make_dense_classification,
    make_regression,
    make_sparse_classification,
    save_cache,
    save_svmlight,
)
from .drivers import Result, fit
from .errors import DataError, DivergenceError
from .model.multinomial import MultinomialProblem
from .model.problem import Problem
from .model.ranking import RankingProblem
from .reference import Optimum, reference_optimum

__version__ = "0.1.0"

ESTIMATORS = ("SGDClassifier", "SGDRegressor", "SVMRank")


def __getattr__(name):
    """The estimators load scikit-learn, so they are imported on first use only."""
    if name in ESTIMATORS:
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'parallel_sgd' has no attribute {name!r}")

__all__ = [
    "DataError", "Dataset", "DivergenceError", "MultinomialProblem", "Optimum", "Problem",
    "RankingProblem", "Result", "build_cache", "fetch", "fit", "load", "load_svmlight",
    "make_dense_classification", "make_regression", "make_sparse_classification",
    "reference_optimum", "save_cache", "save_svmlight", "SGDClassifier",
    "SGDRegressor", "SVMRank",
]
