"""Datasets: the `Dataset` container, svmlight files, synthetic generators, a catalog."""
from .cache import load_cache, save_cache
from .catalog import (
    CATALOG,
    dataset_info,
    fetch,
    fetch_file,
    get_data_home,
    list_datasets,
)
from .dataset import Dataset
from .generators import (
    make_dense_classification,
    make_regression,
    make_sparse_classification,
)
from .loading import build_cache, load
from .svmlight import load_svmlight, load_svmlight_parts, save_svmlight

__all__ = [
    "CATALOG", "Dataset", "build_cache", "dataset_info", "fetch", "fetch_file",
    "get_data_home", "list_datasets", "load", "load_cache", "load_svmlight",
    "load_svmlight_parts", "make_dense_classification", "make_regression",
    "make_sparse_classification", "save_cache", "save_svmlight",
]
