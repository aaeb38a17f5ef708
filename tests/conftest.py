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
