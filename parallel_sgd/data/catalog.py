"""Named public datasets: download once, verify, cache, load.

Each :class:`RemoteFile` names the file's canonical address on the LIBSVM site
(``url``), the name it has in the cache and in a mirror folder (``filename``)
and the SHA-256 of that file (``sha256``).

Checksums are known only for the copies staged with the project (gzip files,
see ``shared/data/MANIFEST.md``), so only a copy of *those* bytes can be
verified: one taken from a mirror (``PSGD_DATA_MIRROR``), or a download whose
name equals ``filename``. The LIBSVM site serves other bytes (plain text or
``.bz2``); such a download keeps the URL's own file name in the cache and is
not verified. ``sha256=None`` means "unknown", never "anything goes": nothing
here invents a checksum.

Where files go: ``data_home`` argument, else ``PSGD_DATA_HOME``, else
``~/.cache/parallel_sgd``. Downloads are written to a temporary name, checked,
then renamed, so the cache never holds a partial or unverified file.
"""
import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import atomic_write
from ..errors import DataError, check_choice
from .dataset import Dataset
from .svmlight import load_svmlight

LIBSVM = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets"
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset.

    Attributes
    ----------
    url : str or None
        Canonical download address; None when only a mirror serves the file.
    filename : str
        Name in the cache folder and in a mirror.
    sha256 : str or None
        Hex SHA-256 of ``filename``'s bytes; None when unknown (not verified).
    n_samples : int
        Published number of rows.
    """

    url: str | None
    filename: str
    sha256: str | None
    n_samples: int

    @property
    def url_name(self):
        """Name a download from ``url`` gets in the cache (the URL's last segment)."""
        if self.url is None:
            return None
        return Path(urllib.parse.urlparse(self.url).path).name


@dataclass(frozen=True)
class CatalogEntry:
    """A named dataset: its task, dimension and files by split ("train", "test", ...)."""

    name: str
    task: str
    n_features: int
    files: dict = field(default_factory=dict)
    zero_based: bool = False


# SHA-256 of the gzip copies staged in shared/data (from its MANIFEST.md); a mirror
# folder holding these files serves them under the same names.
_STAGED_SHA256 = {
    "a1a.gz": "10dc33785b02fa46e927f10b5913c538069b6a9420967811a7d8686682599550",
    "a1a.t.gz": "97fa770884853082c5ee317877b293cc5a0a19248558e9ef69ca05edcba07df3",
    "a8a.gz": "842eabccac378da2d8fb26ae90cb740e24337dc39aff2dfbd86431fa81f3afd3",
    "a8a.t.gz": "c186947ee6e028abdac979e2df2d1752bea5c88dde416f23192e0f80ad77f92a",
    "a9a.gz": "82d347cf414924a79e7972829fdeb99ff23346742c49a3bc76b89ff8736a485e",
    "a9a.t.gz": "d52d0c91c3f108f1bf34e4af73003a01ce19c3fcf099f319f084ebb349b8d16c",
    "ijcnn1.gz": "d992376ea85806fcb2eba1804aa492e3364f8d809bfa88c39bddefd639e40369",
    "ijcnn1.t.gz": "726174d9822a4213d21ad0af90e58b48f6df44edaeaf0fb7a63caf114cfb31d3",
    "mushrooms.gz": "3858c3db4473745af77765fe8ca48a4f29428838229ff7cb1a2ed7d5285f3403",
    "svmguide1.gz": "a004de308033b2af9fe98e1bca737842908744e30d7a87a86d6cef659ffb487b",
    "breast-cancer.gz": "f71b8a8a87c42ccf308cae22bfc2db6057e539c5093de58f6afa335500ab1f95",
    "abalone_scale.gz": "b29b4f23dd150ab2cb52a7b903466d5196cd9bf7100b75982dd7bb2a86ec92dd",
    "housing_scale.gz": "eef85019f524b63ef03636fd23026079b4b969280ed81d9f52056f465befe777",
    "cadata.gz": "39aa569b9c66a232527e2ea7d647e9163494a8aee2c1deabb7f24ea2dcca9ab5",
    "letter.scale.gz": "c45b8dbb39389edef78741a7e5c515656cf5629c98abd5ad0340c20118c7d9e4",
    "letter.scale.t.gz": "d3a6f607ed75921228952c244c901a203b0efcc41c81ee08d26e9caba83cc729",
    "news20.gz": "83731177c41d7fb90cb949259eca2f92ad3a40d0af05e442ca29c3bea9d044b0",
    "usps01.train.gz": "609d9de94f6b08d87dab8b67fa36f06c5d335cb003d7ddb2b35e239b3acbdece",
    "usps01.test.gz": "fb8a53f05ce3d0c7f8a4028d85a85beea4136efafed8955f34f6457caaa1d4ba",
    "reuters-moneyfx.trn.gz": "e4bcad9289fcaa61afbf27d2f7ea381645055e75c202e5003815b3ff8294e584",
    "reuters-moneyfx.tst.gz": "d59e27f4c9dd5f9fbc798f187dbdb28e3bee7745a6d122f6158eb6c25e92b9eb",
    "MQ2008.Fold1.train.gz": "d62eea450e27457eee33d878d6fdda10b642c70902c3d45da8e3e07131466c7b",
    "MQ2008.Fold1.vali.gz": "b09ac1c3ef166e82dc36c3953e8da09346e90c2c9987c92fe6d00edf68490de5",
    "MQ2008.Fold1.test.gz": "0e74a713a0b01e57d74a341fa7643c01f3df89c3e6f11da772334fdc7156dc05",
}


def _file(path, filename, n_samples):
    """A file at ``LIBSVM/path`` (None: mirror only), cached as ``filename``."""
    url = None if path is None else f"{LIBSVM}/{path}"
    return RemoteFile(url, filename, _STAGED_SHA256.get(filename), n_samples)


def _entry(name, task, n_features, **files):
    return CatalogEntry(name, task, n_features, dict(files))


CATALOG = {entry.name: entry for entry in [
    # binary classification (labels as published: ±1, or 1/2, 0/1, 2/4)
    _entry("a1a", "binary", 123, train=_file("binary/a1a", "a1a.gz", 1_605),
           test=_file("binary/a1a.t", "a1a.t.gz", 30_956)),
    _entry("a8a", "binary", 123, train=_file("binary/a8a", "a8a.gz", 22_696),
           test=_file("binary/a8a.t", "a8a.t.gz", 9_865)),
    _entry("a9a", "binary", 123, train=_file("binary/a9a", "a9a.gz", 32_561),
           test=_file("binary/a9a.t", "a9a.t.gz", 16_281)),
    _entry("w8a", "binary", 300, train=_file("binary/w8a", "w8a", 49_749),
           test=_file("binary/w8a.t", "w8a.t", 14_951)),
    _entry("ijcnn1", "binary", 22, train=_file("binary/ijcnn1.bz2", "ijcnn1.gz", 49_990),
           test=_file("binary/ijcnn1.t.bz2", "ijcnn1.t.gz", 91_701)),
    _entry("rcv1.binary", "binary", 47_236,
           train=_file("binary/rcv1_train.binary.bz2", "rcv1_train.binary.bz2", 20_242),
           test=_file("binary/rcv1_test.binary.bz2", "rcv1_test.binary.bz2", 677_399)),
    _entry("real-sim", "binary", 20_958,
           train=_file("binary/real-sim.bz2", "real-sim.bz2", 72_309)),
    _entry("news20.binary", "binary", 1_355_191,
           train=_file("binary/news20.binary.bz2", "news20.binary.bz2", 19_996)),
    _entry("covtype.binary", "binary", 54,
           train=_file("binary/covtype.libsvm.binary.bz2", "covtype.libsvm.binary.bz2", 581_012)),
    _entry("mushrooms", "binary", 112, train=_file("binary/mushrooms", "mushrooms.gz", 8_124)),
    _entry("svmguide1", "binary", 4, train=_file("binary/svmguide1", "svmguide1.gz", 3_089),
           test=_file("binary/svmguide1.t", "svmguide1.t", 4_000)),
    _entry("breast-cancer", "binary", 10,
           train=_file("binary/breast-cancer", "breast-cancer.gz", 683)),
    # regression
    _entry("abalone_scale", "regression", 8,
           train=_file("regression/abalone_scale", "abalone_scale.gz", 4_177)),
    _entry("housing_scale", "regression", 13,
           train=_file("regression/housing_scale", "housing_scale.gz", 506)),
    _entry("cadata", "regression", 8, train=_file("regression/cadata", "cadata.gz", 20_640)),
    # multiclass
    _entry("letter.scale", "multiclass", 16,
           train=_file("multiclass/letter.scale", "letter.scale.gz", 15_000),
           test=_file("multiclass/letter.scale.t", "letter.scale.t.gz", 5_000)),
    _entry("news20", "multiclass", 62_061,
           train=_file("multiclass/news20.bz2", "news20.gz", 15_935),
           test=_file("multiclass/news20.t.bz2", "news20.t.bz2", 3_993)),
    # LIBSVM's usps: features scaled to [-1, 1], labels 1..10 (the staged usps01 is not this)
    _entry("usps", "multiclass", 256, train=_file("multiclass/usps.bz2", "usps.bz2", 7_291),
           test=_file("multiclass/usps.t.bz2", "usps.t.bz2", 2_007)),
    # staged copies that no LIBSVM file reproduces: served by a mirror only
    _entry("usps01", "multiclass", 256, train=_file(None, "usps01.train.gz", 7_291),
           test=_file(None, "usps01.test.gz", 2_007)),
    _entry("reuters-moneyfx", "binary", 8_315,
           train=_file(None, "reuters-moneyfx.trn.gz", 7_770),
           test=_file(None, "reuters-moneyfx.tst.gz", 3_299)),
    _entry("mq2008.fold1", "ranking", 46, train=_file(None, "MQ2008.Fold1.train.gz", 9_630),
           validation=_file(None, "MQ2008.Fold1.vali.gz", 2_707),
           test=_file(None, "MQ2008.Fold1.test.gz", 2_874)),
]}


def get_data_home(data_home=None):
    """The cache folder: ``data_home``, else ``PSGD_DATA_HOME``, else ~/.cache/parallel_sgd."""
    folder = data_home or os.environ.get("PSGD_DATA_HOME") or "~/.cache/parallel_sgd"
    return Path(folder).expanduser()


class _ChecksumError(DataError):
    """A fetched file does not have the catalog's SHA-256."""


def _mirror(mirror):
    return mirror or os.environ.get("PSGD_DATA_MIRROR") or None


def _open_source(source):
    """A binary stream of ``source``: a URL (any scheme urllib knows) or a local path."""
    if "://" in str(source):
        return urllib.request.urlopen(str(source), timeout=DOWNLOAD_TIMEOUT_S)
    return open(source, "rb")


def _mirror_source(mirror, filename):
    if "://" in mirror:
        return mirror.rstrip("/") + "/" + urllib.parse.quote(filename)
    return Path(mirror).expanduser() / filename


def _copy_verified(source, dest, sha256):
    """Copy ``source`` to ``dest`` through a temporary file, checking the SHA-256 if known."""
    digest = hashlib.sha256()
    with atomic_write(dest, "wb") as out:
        try:
            with _open_source(source) as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, urllib.error.URLError) as exc:
            raise DataError(f"cannot fetch {dest.name} from {source}: {exc}") from None
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256.lower():
            raise _ChecksumError(f"{dest.name} from {source}: sha256 mismatch: expected {sha256}, "
                            f"got {actual}; the file was discarded")
    return dest


def _cached(remote, folder):
    for name in (remote.filename, remote.url_name):
        if name and (folder / name).is_file():
            return folder / name
    return None


def fetch_file(name, split="train", data_home=None, mirror=None):
    """Path of a catalog file in the cache, fetching it first if it is not there.

    A mirror (``mirror`` argument, else ``PSGD_DATA_MIRROR``: a folder or a URL
    such as ``file:///data/libsvm``) is tried first and must hold the file under
    ``filename``; otherwise the file comes from its canonical ``url``.

    Raises
    ------
    ValueError
        Unknown dataset or split (the message lists the known ones).
    DataError
        The file cannot be fetched, or its checksum does not match.
    """
    entry = CATALOG[check_choice("dataset", name, CATALOG)]
    remote = entry.files[check_choice("split", split, entry.files)]
    folder = get_data_home(data_home)
    cached = _cached(remote, folder)
    if cached is not None:
        return cached
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    mirror = _mirror(mirror)
    if mirror:
        try:
            return _copy_verified(_mirror_source(mirror, remote.filename),
                                  folder / remote.filename, remote.sha256)
        except _ChecksumError:
            raise
        except DataError as exc:
            if remote.url is None:
                raise
            problems.append(str(exc))
    if remote.url is None:
        raise DataError(f"{name} ({remote.filename}) is served only by a mirror: set "
                        f"PSGD_DATA_MIRROR to a folder or URL that holds it")
    verify = remote.sha256 if remote.url_name == remote.filename else None
    try:
        return _copy_verified(remote.url, folder / remote.url_name, verify)
    except DataError as exc:
        raise DataError("; ".join(problems + [str(exc)])) from None


def fetch(name, data_home=None, mirror=None, split="train"):
    """Load a named public dataset, downloading it into the cache on first use.

    Parameters
    ----------
    name : str
        A key of :data:`CATALOG` (e.g. "a9a", "rcv1.binary", "news20").
    data_home : str or path-like, optional
        Cache folder; overrides ``PSGD_DATA_HOME`` (default ``~/.cache/parallel_sgd``).
    mirror : str, optional
        Folder or URL serving the catalog's file names; overrides ``PSGD_DATA_MIRROR``.
    split : str
        "train" (default), "test" where a test file is published, or another
        split the entry lists.

    Returns
    -------
    Dataset
        With the entry's ``n_features`` (so train and test files line up) and
        labels exactly as published (e.g. ±1, 1/2 or 0..9): map them where needed.
    """
    path = fetch_file(name, split=split, data_home=data_home, mirror=mirror)
    entry = CATALOG[name]
    return load_svmlight(path, n_features=entry.n_features, zero_based=entry.zero_based)


def list_datasets(data_home=None):
    """The catalog for ``psgd data list``, sorted by name.

    Returns
    -------
    list of dict
        One per dataset: ``name``, ``task``, ``rows`` (published training
        rows), ``features``, ``cached`` (whether the training file is in the cache).
    """
    folder = get_data_home(data_home)
    return [{"name": entry.name, "task": entry.task, "rows": entry.files["train"].n_samples,
             "features": entry.n_features,
             "cached": _cached(entry.files["train"], folder) is not None}
            for entry in sorted(CATALOG.values(), key=lambda e: e.name)]


def dataset_info(path, n_features=None, zero_based="auto", max_labels=50):
    """Summary of an svmlight file (or a Dataset) for ``psgd data info``.

    Returns
    -------
    dict
        ``rows``, ``features``, ``nnz``, ``density``; ``labels`` as
        {value: count} when there are at most ``max_labels`` distinct values
        (else None), with ``n_labels``, ``label_min`` and ``label_max``;
        ``n_queries`` (distinct qids, None without qid).
    """
    data = path if isinstance(path, Dataset) else load_svmlight(
        path, n_features=n_features, zero_based=zero_based)
    values, counts = np.unique(data.y, return_counts=True)
    cells = data.n_samples * data.n_features
    return {
        "rows": data.n_samples,
        "features": data.n_features,
        "nnz": int(data.nnz),
        "density": data.nnz / cells if cells else 0.0,
        "n_labels": int(values.size),
        "labels": (dict(zip(values.tolist(), counts.tolist()))
                   if values.size <= max_labels else None),
        "label_min": float(values[0]) if values.size else None,
        "label_max": float(values[-1]) if values.size else None,
        "n_queries": None if data.qid is None else int(np.unique(data.qid).size),
    }
