"""Datasets: the `Dataset` container, svmlight files, synthetic generators, a catalog."""
from .dataset import Dataset

__all__ = ["Dataset"]
