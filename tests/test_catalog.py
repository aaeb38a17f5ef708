"""Dataset catalog: mirrors, checksums, cache folder, listing. No test touches the network."""
import gzip
import hashlib
import socket

import numpy as np
import pytest

from parallel_sgd.data import catalog
from parallel_sgd.data.catalog import (
    CATALOG,
    CatalogEntry,
    RemoteFile,
    dataset_info,
    fetch,
    fetch_file,
    list_datasets,
)
from parallel_sgd.errors import DataError

TOY_TRAIN = b"1 1:0.5 3:1\n-1 2:2\n1 1:1.5\n"
TOY_TEST = b"-1 3:0.25\n"


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network, no user cache: every test gets its own PSGD_DATA_HOME and no mirror."""
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("PSGD_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PSGD_DATA_MIRROR", raising=False)


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A catalog entry "toy" whose files sit in a mirror folder; returns that folder."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = {}
    for split, name, text, url in [("train", "toy.gz", TOY_TRAIN, "https://example.invalid/toy"),
                                   ("test", "toy.t.gz", TOY_TEST, None)]:
        raw = gzip.compress(text, mtime=0)
        (mirror / name).write_bytes(raw)
        files[split] = RemoteFile(url, name, hashlib.sha256(raw).hexdigest(), text.count(b"\n"))
    monkeypatch.setitem(CATALOG, "toy", CatalogEntry("toy", "binary", 3, files))
    return mirror


def test_fetch_from_a_mirror_folder_into_data_home(toy, tmp_path):
    data = fetch("toy", data_home=tmp_path / "cache", mirror=str(toy))
    assert data.X.shape == (3, 3)
    np.testing.assert_array_equal(data.y, [1, -1, 1])
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["toy.gz"]
    test = fetch("toy", data_home=tmp_path / "cache", mirror=str(toy), split="test")
    assert test.X.shape == (1, 3)  # the catalog's n_features, although the file names fewer


def test_fetch_from_a_file_url_mirror_set_in_the_environment(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("PSGD_DATA_MIRROR", toy.as_uri())
    data = fetch("toy")
    assert data.n_samples == 3
    assert (tmp_path / "home" / "toy.gz").is_file()  # PSGD_DATA_HOME respected


def test_data_home_argument_overrides_the_environment(toy, tmp_path):
    fetch("toy", data_home=tmp_path / "elsewhere", mirror=str(toy))
    assert (tmp_path / "elsewhere" / "toy.gz").is_file()
    assert not (tmp_path / "home").exists()


def test_cached_file_is_used_without_the_mirror(toy, tmp_path):
    fetch("toy", mirror=str(toy))
    (toy / "toy.gz").unlink()
    assert fetch("toy").n_samples == 3


@pytest.mark.parametrize("as_url", [False, True])
def test_bad_checksum_is_an_error_and_leaves_no_file(toy, tmp_path, as_url):
    (toy / "toy.gz").write_bytes(gzip.compress(b"1 1:9\n"))
    expected = CATALOG["toy"].files["train"].sha256
    actual = hashlib.sha256((toy / "toy.gz").read_bytes()).hexdigest()
    mirror = toy.as_uri() if as_url else str(toy)
    with pytest.raises(DataError, match=rf"toy\.gz .*sha256 mismatch: expected {expected}, "
                                        rf"got {actual}"):
        fetch("toy", mirror=mirror)
    assert list((tmp_path / "home").iterdir()) == []


def test_missing_file_in_mirror_and_mirror_only_entries(toy, tmp_path):
    with pytest.raises(DataError, match="served only by a mirror"):
        fetch("toy", split="test")
    (toy / "toy.t.gz").unlink()
    with pytest.raises(DataError, match=r"cannot fetch toy\.t\.gz"):
        fetch("toy", split="test", mirror=str(toy))
    assert list((tmp_path / "home").iterdir()) == []


def test_unknown_names_list_the_known_ones(toy):
    with pytest.raises(ValueError, match=r"unknown dataset 'a10a'; known datasets: .*a9a.*toy"):
        fetch("a10a")
    with pytest.raises(ValueError, match=r"unknown split 'validation'; known splits: test, train"):
        fetch("toy", split="validation")


def test_list_datasets_marks_cached_entries(toy):
    rows = {row["name"]: row for row in list_datasets()}
    assert rows["toy"] == {"name": "toy", "task": "binary", "rows": 3, "features": 3,
                           "cached": False}
    assert rows["rcv1.binary"]["features"] == 47_236
    fetch("toy", mirror=str(toy))
    assert {row["name"]: row for row in list_datasets()}["toy"]["cached"]


def test_dataset_info(tmp_path):
    path = tmp_path / "rank.svm"
    path.write_text("2 qid:1 1:1 2:1\n0 qid:1 3:1\n1 qid:4 1:0.5\n")
    info = dataset_info(path)
    assert info == {"rows": 3, "features": 3, "nnz": 4, "density": 4 / 9, "n_labels": 3,
                    "labels": {0.0: 1, 1.0: 1, 2.0: 1}, "label_min": 0.0, "label_max": 2.0,
                    "n_queries": 2}
    assert dataset_info(path, max_labels=2)["labels"] is None


def test_catalog_entries_are_well_formed():
    for name, entry in CATALOG.items():
        assert entry.name == name and entry.task in ("binary", "multiclass", "regression",
                                                     "ranking")
        assert "train" in entry.files
        for remote in entry.files.values():
            assert remote.url is None or remote.url.startswith(catalog.LIBSVM + "/")
            assert remote.sha256 is None or len(remote.sha256) == 64
    for name in ("a9a", "w8a", "ijcnn1", "rcv1.binary", "real-sim", "news20.binary",
                 "covtype.binary", "mushrooms", "a1a", "a8a", "svmguide1", "breast-cancer",
                 "abalone_scale", "housing_scale", "cadata", "letter.scale", "news20", "usps"):
        assert name in CATALOG


def test_checksums_match_the_shared_copies(shared_data):
    checked = 0
    for entry in CATALOG.values():
        for remote in entry.files.values():
            path = shared_data / remote.filename
            if remote.sha256 is not None and path.exists():
                assert hashlib.sha256(path.read_bytes()).hexdigest() == remote.sha256, path.name
                checked += 1
    assert checked >= 20


def test_fetch_through_the_shared_mirror(shared_data, tmp_path):
    train = fetch("a1a", mirror=str(shared_data))
    test = fetch("a1a", mirror=shared_data.as_uri(), split="test")
    assert train.X.shape == (1_605, 123) and test.X.shape == (30_956, 123)
    ranking = fetch("mq2008.fold1", mirror=str(shared_data), split="validation")
    assert ranking.qid is not None and ranking.n_features == 46
    assert fetch_file("a1a").parent == tmp_path / "home"
