"""``psgd.load``: one entry point for an svmlight file, a folder of part files, or a cache."""
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cache import is_cache, load_cache, save_cache, sources_sha256
from .svmlight import load_svmlight_parts

PART_SUFFIXES = (".svm", ".svm.gz", ".svm.bz2")


def part_files(folder):
    """The svmlight part files of ``folder`` (``*.svm``, ``*.svm.gz``, ``*.svm.bz2``),
    in name order."""
    folder = Path(folder)
    parts = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.name.lower().endswith(PART_SUFFIXES))
    if not parts:
        raise DataError(f"{folder}: a folder with no part files "
                        f"({', '.join('*' + s for s in PART_SUFFIXES)}) and no cache header")
    return parts


def svmlight_sources(path):
    """The text files ``path`` stands for: itself, or a folder's part files."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    return part_files(path) if path.is_dir() else [path]


def load(path, n_features=None, zero_based="auto", dtype=None, query_id=None, mmap=True):
    """Load a :class:`Dataset` from ``path``: an svmlight file (plain, ``.gz``,
    ``.bz2``), a folder of svmlight part files (read in parallel, rows concatenated
    in name order), or a cache folder written by :func:`build_cache`,
    :func:`save_cache` or ``psgd data cache``.

    A cache is memory-mapped unless ``mmap=False``, and keeps its stored dtype
    unless ``dtype`` asks for another (a copy). ``n_features`` widens the data to
    that many columns (an error if it holds more). ``zero_based`` and ``query_id``
    apply to text, as in :func:`load_svmlight`.
    """
    if is_cache(path):
        data = load_cache(path, mmap=mmap)
        if dtype is not None:
            data = data.astype(dtype)
        return data if n_features is None else data.with_n_features(int(n_features))
    return load_svmlight_parts(svmlight_sources(path), n_features=n_features,
                               zero_based=zero_based,
                               dtype=np.float64 if dtype is None else dtype,
                               query_id=query_id)


def build_cache(source, dest, n_features=None, zero_based="auto", dtype=np.float64, query_id=None):
    """Parse ``source`` (an svmlight file or a folder of part files) once and write it
    as a cache folder ``dest``, with the sha256 of the text in its header.

    Returns the cached :class:`Dataset` (in memory, as parsed).
    """
    if is_cache(source):
        raise DataError(f"{source} is already a cache")
    sources = svmlight_sources(source)
    data = load_svmlight_parts(sources, n_features=n_features, zero_based=zero_based,
                               dtype=dtype, query_id=query_id)
    save_cache(data, dest, source=source, sha256=sources_sha256(sources))
    return data
