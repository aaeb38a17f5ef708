"""The binary cache, ``psgd.load`` and folders of svmlight part files."""
import hashlib
import json
import mmap

import numpy as np
import pytest
import scipy.sparse as sp

import parallel_sgd as psgd
from parallel_sgd.data.cache import HEADER, load_cache

from .cli_helpers import run


def _data(qid=False, weights=False, dense=False):
    data = psgd.make_sparse_classification(n_samples=300, n_features=80, nnz_per_row=6,
                                           random_state=3)
    X = data.X.toarray() if dense else data.X
    rng = np.random.default_rng(0)
    return psgd.Dataset(X, data.y, qid=np.repeat(np.arange(30), 10) if qid else None,
                        sample_weight=rng.uniform(0.5, 2, 300) if weights else None)


def _is_mapped(array):
    """Whether ``array`` is a view of a memory map (following its chain of bases)."""
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def _same(a, b):
    Xa = a.X.toarray() if a.is_sparse else a.X
    Xb = b.X.toarray() if b.is_sparse else b.X
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(a.y, b.y)
    for name in ("qid", "sample_weight"):
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None)
        if left is not None:
            np.testing.assert_array_equal(left, right)
    np.testing.assert_array_equal(a.column_counts, b.column_counts)


@pytest.mark.parametrize("kind", ["sparse", "qid+weights", "dense"])
def test_cache_round_trip(tmp_path, kind):
    data = _data(qid=kind != "sparse", weights=kind != "sparse", dense=kind == "dense")
    psgd.save_cache(data, tmp_path / "c")
    loaded = psgd.load(tmp_path / "c")
    _same(loaded, data)
    assert loaded.is_sparse == data.is_sparse and loaded.dtype == data.dtype


def test_cache_is_mapped_copy_on_write(tmp_path):
    data = _data()
    psgd.save_cache(data, tmp_path / "c")
    loaded = load_cache(tmp_path / "c")
    assert _is_mapped(loaded.X.data) and _is_mapped(loaded.X.indices)
    assert loaded.X.data.flags.writeable  # the kernels are compiled for writeable arrays
    loaded.X.data[:] = 0.0
    _same(psgd.load(tmp_path / "c"), data)  # nothing went back to the file
    in_memory = load_cache(tmp_path / "c", mmap=False)
    assert not _is_mapped(in_memory.X.data)
    _same(in_memory, data)


def test_fit_on_a_cache_equals_fit_in_memory(tmp_path):
    data = _data()
    psgd.save_cache(data, tmp_path / "c")
    results = [psgd.fit(psgd.Problem(d, loss="log_loss", alpha=1e-3), n_epochs=3,
                        random_state=0) for d in (data, psgd.load(tmp_path / "c"))]
    np.testing.assert_array_equal(results[0].coef, results[1].coef)


def test_load_options_on_a_cache(tmp_path):
    psgd.save_cache(_data(), tmp_path / "c")
    assert psgd.load(tmp_path / "c", dtype=np.float32).dtype == np.float32
    assert psgd.load(tmp_path / "c", n_features=100).n_features == 100
    with pytest.raises(psgd.DataError, match="more than the 50 expected"):
        psgd.load(tmp_path / "c", n_features=50)


def test_build_cache_records_the_source_checksum(tmp_path):
    data = _data(qid=True)
    text = tmp_path / "train.svm"
    psgd.save_svmlight(data, text)
    psgd.build_cache(text, tmp_path / "c")
    header = json.loads((tmp_path / "c" / HEADER).read_text())
    assert header["source"]["sha256"] == hashlib.sha256(text.read_bytes()).hexdigest()
    assert header["n_samples"] == 300 and header["layout"] == "csr"
    _same(psgd.load(tmp_path / "c", n_features=80), psgd.load(text, n_features=80))


def test_save_cache_replaces_a_cache_but_nothing_else(tmp_path):
    psgd.save_cache(_data(), tmp_path / "c")
    small = _data().take(np.arange(10))
    psgd.save_cache(small, tmp_path / "c")
    assert psgd.load(tmp_path / "c").n_samples == 10
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(psgd.DataError, match="not a parallel_sgd cache; not overwriting"):
        psgd.save_cache(small, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _edit_header(folder, **changes):
    header = json.loads((folder / HEADER).read_text())
    header.update(changes)
    (folder / HEADER).write_text(json.dumps(header))


def test_damaged_caches_are_refused_by_name(tmp_path):
    folder = tmp_path / "c"
    psgd.save_cache(_data(), folder)
    _edit_header(folder, version=99)
    with pytest.raises(psgd.DataError, match="version 99; this parallel_sgd reads version 1"):
        psgd.load(folder)
    _edit_header(folder, version=1, n_samples=299)
    with pytest.raises(psgd.DataError, match="indptr does not match 299 rows"):
        psgd.load(folder)
    _edit_header(folder, n_samples=300)
    np.save(folder / "y.npy", np.zeros(5))
    with pytest.raises(psgd.DataError, match=r"y.npy: holds float64\[5\], the header says"):
        psgd.load(folder)
    (folder / "y.npy").unlink()
    with pytest.raises(psgd.DataError, match="y.npy: missing from the cache"):
        psgd.load(folder)
    (folder / HEADER).write_text("{not json")
    with pytest.raises(psgd.DataError, match="unreadable cache header"):
        psgd.load(folder)


def _write(path, text):
    path.write_bytes(text.encode())
    return path


def test_part_folder_equals_the_concatenated_file(tmp_path):
    data = _data()
    folder = tmp_path / "parts"
    folder.mkdir()
    bounds = [0, 70, 71, 200, 300]  # one part of a single row
    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        suffix = ".svm.gz" if k % 2 else ".svm"
        psgd.save_svmlight(data.take(np.arange(lo, hi)), folder / f"part-{k:02d}{suffix}")
    (folder / "README").write_text("not a part")
    loaded = psgd.load(folder, n_features=80)
    _same(loaded, data)


def test_parts_agree_on_zero_based_indices(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    _write(folder / "a.svm", "1 1:1 2:2\n")
    _write(folder / "b.svm", "-1 0:3\n")  # an index 0: all parts are zero-based
    X = psgd.load(folder).X.toarray()
    np.testing.assert_array_equal(X, [[0, 1, 2], [3, 0, 0]])
    (folder / "b.svm").unlink()
    _write(folder / "b.svm", "-1 3:3\n")
    np.testing.assert_array_equal(psgd.load(folder).X.toarray(), [[1, 2, 0], [0, 0, 3]])


def test_part_folder_errors_name_the_file(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    with pytest.raises(psgd.DataError, match="no part files"):
        psgd.load(folder)
    _write(folder / "a.svm", "1 qid:1 1:1\n")
    _write(folder / "b.svm", "1 2:1\n")
    with pytest.raises(psgd.DataError, match=r"b.svm: no qid, but .*a.svm has them"):
        psgd.load(folder)
    _write(folder / "b.svm", "1 qid:2 2:x\n")
    with pytest.raises(psgd.DataError, match=r"b.svm: line 1: bad token"):
        psgd.load(folder)
    with pytest.raises(psgd.DataError, match="no such file or folder"):
        psgd.load(tmp_path / "missing")


def test_cli_caches_and_trains_from_the_cache(tmp_path, capsys):
    text = tmp_path / "train.svm"
    psgd.save_svmlight(_data(), text)
    code, out, _ = run(["data", "cache", text, tmp_path / "c", "--dtype", "float32"], capsys)
    assert code == 0 and "Dataset(300 x 80, CSR" in out and "float32" in out
    assert psgd.load(tmp_path / "c").dtype == np.float32
    code, out, _ = run(["train", "--data", tmp_path / "c", "--loss", "hinge", "--epochs", 2,
                        "--model-out", tmp_path / "m.json"], capsys)
    assert code == 0 and "model saved" in out
    code, _, err = run(["data", "cache", tmp_path / "c", tmp_path / "d"], capsys)
    assert code == 2 and "is already a cache" in err and err.count("\n") == 1
    code, _, err = run(["data", "cache", tmp_path / "none.svm", tmp_path / "d"], capsys)
    assert code == 2 and "no such file" in err


def test_from_checked_shares_arrays():
    X = sp.random(20, 10, density=0.3, format="csr", random_state=1)
    data = psgd.Dataset.from_checked(X, np.ones(20), column_counts=np.zeros(10, np.int32))
    assert data.X is X and X.has_canonical_format
