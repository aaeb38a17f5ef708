"""Datasets: the `Dataset` container, svmlight files, synthetic generators, a catalog."""
from .catalog import CATALOG, dataset_info, fetch, fetch_file, get_data_home, list_datasets
from .dataset import Dataset
from .generators import make_dense_classification, make_regression, make_sparse_classification
from .svmlight import load_svmlight, save_svmlight

__all__ = [
    "CATALOG", "Dataset", "dataset_info", "fetch", "fetch_file", "get_data_home",
    "list_datasets", "load_svmlight", "make_dense_classification", "make_regression",
    "make_sparse_classification", "save_svmlight",
]
