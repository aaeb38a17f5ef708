"""Shared fixtures."""
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data():
    """Folder of real svmlight files: ``PSGD_SHARED_DATA``, else ../shared/data (skip if absent)."""
    default = Path(__file__).parents[2] / "shared" / "data"
    folder = Path(os.environ.get("PSGD_SHARED_DATA") or default)
    if not folder.is_dir() or not any(folder.glob("*.gz")):
        pytest.skip(f"no shared data folder at {folder}")
    return folder


@pytest.fixture(autouse=True, scope="session")
def private_data_home(tmp_path_factory):
    """Datasets and cached optima go to a temporary folder, never the user's cache."""
    folder = tmp_path_factory.mktemp("psgd-home")
    previous = os.environ.get("PSGD_DATA_HOME")
    os.environ["PSGD_DATA_HOME"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("PSGD_DATA_HOME", None)
    else:
        os.environ["PSGD_DATA_HOME"] = previous


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory):
    """A small sparse train/test pair in svmlight format (the test file gzipped)."""
    import parallel_sgd as psgd

    folder = tmp_path_factory.mktemp("tiny")
    data = psgd.make_sparse_classification(n_samples=600, n_features=200, nnz_per_row=10,
                                           random_state=1)
    train, test = data.split(0.25, random_state=0)
    psgd.save_svmlight(train, folder / "train.svm")
    psgd.save_svmlight(test, folder / "test.svm.gz")
    return folder / "train.svm", folder / "test.svm.gz"


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module; ``fit`` joins it (Ray already initialized)."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
