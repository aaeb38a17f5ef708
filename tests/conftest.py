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
