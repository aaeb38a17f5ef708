"""Server checkpoints: one ``.npz`` per server, written atomically."""
import os

import numpy as np

from ..._files import atomic_write


def save_checkpoint(path, arrays):
    """Write ``arrays`` (a dict of arrays and scalars) to ``path``, replacing it atomically."""
    with atomic_write(path, mode="wb") as handle:
        np.savez(handle, **arrays)


def load_checkpoint(path):
    """The dict saved at ``path`` (scalars as 0-d arrays), or None if there is none."""
    if not os.path.exists(path):
        return None
    with np.load(path) as saved:
        return {key: saved[key].copy() for key in saved.files}
