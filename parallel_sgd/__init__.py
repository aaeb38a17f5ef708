"""parallel_sgd: parallel and asynchronous SGD for L1/L2-regularized linear models."""
from .data import Dataset
from .errors import DataError, DivergenceError
from .problem import Problem

__version__ = "0.1.0"
from .drivers import fit, Result
