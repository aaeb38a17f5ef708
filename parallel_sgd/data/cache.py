"""A binary cache of a :class:`Dataset`: one ``.npy`` file per array and a JSON header.

Parsing svmlight text is paid on every run; a cache is parsed once and then mapped
(``np.load(mmap_mode="c")``) in milliseconds, whatever its size: pages are read from
disk when a pass first touches them, and the operating system may drop them again,
so a cache larger than memory can still be trained on (:mod:`.streaming`).

Layout of a cache folder::

    header.json     format, version, shape, dtype, nnz, arrays, source (path, sha256)
    data.npy indices.npy indptr.npy   the canonical int32 CSR arrays (dense: X.npy)
    y.npy [qid.npy] [sample_weight.npy] column_counts.npy [row_norms.npy]

The folder is written under a temporary name beside ``dest`` and renamed at the end,
so ``dest`` is either absent or complete.
"""
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import DataError
from .dataset import Dataset

FORMAT = "parallel_sgd.cache"
VERSION = 1
HEADER = "header.json"
_HASH_CHUNK = 1 << 24


def is_cache(path):
    """Whether ``path`` is a folder holding a cache header."""
    return Path(path, HEADER).is_file()


def file_sha256(path):
    """Hex sha256 of a file's bytes, read in 16 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sources_sha256(paths):
    """sha256 of one file, or of the list ``name sha256`` of several (a part folder)."""
    paths = [Path(p) for p in paths]
    if len(paths) == 1:
        return file_sha256(paths[0])
    listing = "".join(f"{p.name} {file_sha256(p)}\n" for p in paths)
    return hashlib.sha256(listing.encode()).hexdigest()


def _arrays(data):
    """The named arrays of a Dataset, as the cache stores them."""
    if data.is_sparse:
        arrays = {"data": data.X.data, "indices": data.X.indices, "indptr": data.X.indptr}
    else:
        arrays = {"X": data.X}
    arrays["y"] = data.y
    if data.qid is not None:
        arrays["qid"] = data.qid
    if data.sample_weight is not None:
        arrays["sample_weight"] = data.sample_weight
    arrays["column_counts"] = data.column_counts
    if data.scanned_row_norms is not None:
        arrays["row_norms"] = data.scanned_row_norms
    return arrays


def save_cache(data, dest, source=None, sha256=None):
    """Write ``data`` (a :class:`Dataset`) as a cache folder ``dest``; returns its path.

    ``source`` (the path it was read from) and ``sha256`` (of that source) go into the
    header, so a stale cache can be told from a fresh one. An existing ``dest`` is
    replaced only if it is a cache itself; any other existing path is an error.
    """
    dest = Path(dest)
    if dest.exists() and not is_cache(dest):
        raise DataError(f"{dest} exists and is not a parallel_sgd cache; not overwriting it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "format": FORMAT, "version": VERSION,
        "n_samples": data.n_samples, "n_features": data.n_features,
        "layout": "csr" if data.is_sparse else "dense", "dtype": data.dtype.name,
        "nnz": int(data.nnz), "arrays": {},
        "source": None if source is None else {"path": os.path.abspath(source),
                                               "sha256": sha256},
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
    try:
        for name, array in _arrays(data).items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
            header["arrays"][name] = {"dtype": np.dtype(array.dtype).name,
                                      "shape": list(array.shape)}
        (tmp / HEADER).write_text(json.dumps(header, indent=1) + "\n")
        os.chmod(tmp, 0o755)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def read_header(path):
    """The checked header of the cache folder ``path``."""
    file = Path(path, HEADER)
    try:
        header = json.loads(file.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: not a parallel_sgd cache (no {HEADER})") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{file}: unreadable cache header: {error}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DataError(f"{file}: not a parallel_sgd cache header")
    if header.get("version") != VERSION:
        raise DataError(f"{file}: cache format version {header.get('version')!r}; this "
                        f"parallel_sgd reads version {VERSION} (rebuild it with psgd data cache)")
    for field in ("n_samples", "n_features", "nnz", "layout", "dtype", "arrays"):
        if field not in header:
            raise DataError(f"{file}: the header has no field {field!r}")
    return header


MAP_MODES = ("c", "r")


def available_memory():
    """Bytes of physical memory free for new pages now (``os.sysconf``)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on every platform
        return 1 << 62


def map_mode(path, header, mmap):
    """How to map the cache's arrays: ``"c"`` (copy-on-write: writeable, what the kernels
    are compiled for), ``"r"`` (read-only and shared: never counted as the process's
    own memory, so a cache larger than memory can be mapped and paged in and out as
    a pass needs it; the kernels compile read-only variants once) or None (read in).
    ``mmap=True`` picks "c" for a cache smaller than half the free memory, else "r"."""
    if mmap is False or mmap is None:
        return None
    if mmap in MAP_MODES:
        return mmap
    if mmap is not True:
        raise ValueError(f"mmap must be True, False, 'c' or 'r', got {mmap!r}")
    size = sum(Path(path, f"{name}.npy").stat().st_size for name in header["arrays"]
               if Path(path, f"{name}.npy").exists())
    return "c" if size < available_memory() / 2 else "r"


def open_array(path, name, header, mode="c"):
    """The cache's array ``name``, memory-mapped with ``mode`` (:func:`map_mode`) or read
    into memory (None); checked against the header."""
    file = Path(path, f"{name}.npy")
    expected = header["arrays"].get(name)
    if expected is None:
        raise DataError(f"{path}: the header lists no array {name!r}")
    try:
        array = np.load(file, mmap_mode=mode, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{file}: missing from the cache") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{file}: unreadable: {error}") from None
    if list(array.shape) != expected["shape"] or array.dtype.name != expected["dtype"]:
        raise DataError(f"{file}: holds {array.dtype.name}{list(array.shape)}, the header "
                        f"says {expected['dtype']}{expected['shape']}")
    return array


def _check_csr(path, indptr, header):
    n, nnz = header["n_samples"], header["nnz"]
    if indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != nnz:
        raise DataError(f"{path}: indptr does not match {n} rows and {nnz} values")


def load_cache(path, mmap=True, verify=False):
    """The :class:`Dataset` in the cache folder ``path``.

    With ``mmap`` (the default) the arrays are mapped, not read: loading takes
    milliseconds and a pass reads the pages it needs; a cache larger than half the
    free memory is mapped read-only (:func:`map_mode`), so that it can be trained on
    out of core (best with ``shuffle="blocks"``: near-sequential reads). The arrays
    were checked when the cache was written, so only their shapes and dtypes are
    checked against the header here; ``verify=True`` runs the full check of a user's matrix as well.
    """
    header = read_header(path)
    mode = map_mode(path, header, mmap)
    arrays = {name: open_array(path, name, header, mode) for name in header["arrays"]}
    n, d = header["n_samples"], header["n_features"]
    if header["layout"] == "csr":
        _check_csr(path, arrays["indptr"], header)
        X = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, d))
    else:
        X = arrays["X"]
    if verify:
        return Dataset(X, arrays["y"], qid=arrays.get("qid"),
                       sample_weight=arrays.get("sample_weight"))
    return Dataset.from_checked(X, arrays["y"], qid=arrays.get("qid"),
                                sample_weight=arrays.get("sample_weight"),
                                column_counts=arrays.get("column_counts"),
                                row_norms=arrays.get("row_norms"))
