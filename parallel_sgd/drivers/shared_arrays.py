"""NumPy arrays in named shared-memory segments, for worker processes.

The parent creates the segments (:class:`SharedArrays`), copies arrays in, and
sends workers only their names, shapes and dtypes (:func:`attach`): data is
never pickled per step. The parent alone unlinks them (:meth:`SharedArrays.close`),
after success, an exception or Ctrl-C; workers only detach.
"""
import os
import uuid
from multiprocessing import shared_memory

import numpy as np

PREFIX = "psgd_"


class SharedArrays:
    """A set of shared-memory arrays owned by this process."""

    def __init__(self):
        self._segments = []
        self.specs = {}
        self.arrays = {}
        self._tag = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"

    def put(self, key, array):
        """A shared copy of ``array`` under ``key`` (None stays None)."""
        if array is None:
            self.specs[key] = None
            self.arrays[key] = None
            return None
        array = np.ascontiguousarray(array)
        name = f"{self._tag}_{len(self._segments)}"
        segment = shared_memory.SharedMemory(name=name, create=True, size=max(array.nbytes, 1))
        self._segments.append(segment)
        view = np.ndarray(array.shape, dtype=array.dtype, buffer=segment.buf)
        view[...] = array
        self.specs[key] = (name, array.shape, array.dtype.str)
        self.arrays[key] = view
        return view

    def close(self):
        """Release and unlink every segment (idempotent)."""
        self.arrays.clear()
        while self._segments:
            segment = self._segments.pop()
            segment.close()
            try:
                segment.unlink()
            except FileNotFoundError:
                pass


def attach(specs):
    """Map the segments described by ``specs`` into this process.

    Returns ``(arrays, segments)``; keep ``segments`` alive while using the arrays.
    Workers started by :mod:`multiprocessing` share the parent's resource tracker,
    where attaching registers the name a second time (a no-op); unregistering here
    would drop the parent's registration, so the tracker is left alone.
    """
    arrays, segments = {}, []
    for key, spec in specs.items():
        if spec is None:
            arrays[key] = None
            continue
        name, shape, dtype = spec
        segment = shared_memory.SharedMemory(name=name)
        segments.append(segment)
        arrays[key] = np.ndarray(shape, dtype=np.dtype(dtype), buffer=segment.buf)
    return arrays, segments


def leftover_segments():
    """Names of this package's segments still in /dev/shm (for tests and diagnostics)."""
    try:
        return sorted(name for name in os.listdir("/dev/shm") if name.startswith(PREFIX))
    except FileNotFoundError:
        return []
