"""svmlight reading and writing: exact numbers, errors naming file and line, round trips."""
import bz2
import gzip
import io
import random
import re
import struct
from decimal import Decimal, getcontext

import numpy as np
import pytest
import scipy.sparse as sp

from parallel_sgd.data import svmlight
from parallel_sgd.data.dataset import Dataset
from parallel_sgd.data.svmlight import load_svmlight, save_svmlight
from parallel_sgd.errors import DataError


def write(tmp_path, text, name="data.svm"):
    path = tmp_path / name
    raw = text.encode() if isinstance(text, str) else text
    if name.endswith(".gz"):
        raw = gzip.compress(raw)
    elif name.endswith(".bz2"):
        raw = bz2.compress(raw)
    path.write_bytes(raw)
    return path


def bits(values):
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def assert_same_dataset(a, b):
    assert a.X.shape == b.X.shape
    assert a.X.dtype == b.X.dtype
    np.testing.assert_array_equal(a.X.indptr, b.X.indptr)
    np.testing.assert_array_equal(a.X.indices, b.X.indices)
    np.testing.assert_array_equal(a.X.data.view(np.uint8), b.X.data.view(np.uint8))
    np.testing.assert_array_equal(bits(a.y), bits(b.y))
    if a.qid is None:
        assert b.qid is None
    else:
        np.testing.assert_array_equal(a.qid, b.qid)


def assert_matches_sklearn(data, path, query_id=False, dtype=np.float64, **kwargs):
    """``data`` equals scikit-learn's parse of ``path`` bit for bit (zeros dropped)."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    parsed = sklearn_datasets.load_svmlight_file(str(path), query_id=query_id, dtype=dtype,
                                                 **kwargs)
    X = parsed[0].copy()
    X.eliminate_zeros()
    X.sort_indices()
    assert data.X.shape == X.shape
    np.testing.assert_array_equal(data.X.indptr, X.indptr)
    np.testing.assert_array_equal(data.X.indices, X.indices)
    np.testing.assert_array_equal(data.X.data.view(np.uint8), X.data.view(np.uint8))
    np.testing.assert_array_equal(bits(data.y), bits(parsed[1]))
    if query_id:
        np.testing.assert_array_equal(data.qid, parsed[2])


# --- real files -------------------------------------------------------------------------------


def test_every_shared_file_parses_exactly_like_sklearn(shared_data):
    files = sorted(shared_data.glob("*.gz"))
    assert files
    for path in files:
        data = load_svmlight(path)
        has_qid = data.qid is not None
        assert has_qid == path.name.startswith("MQ2008"), path.name
        assert_matches_sklearn(data, path, query_id=has_qid)


@pytest.mark.parametrize("name", ["a9a.t.gz", "news20.gz", "MQ2008.Fold1.vali.gz", "cadata.gz"])
def test_shared_files_in_float32_match_sklearn(shared_data, name):
    data = load_svmlight(shared_data / name, dtype=np.float32)
    assert data.dtype == np.float32
    assert_matches_sklearn(data, shared_data / name, query_id=data.qid is not None,
                           dtype=np.float32)


def test_n_features_widens_a_test_file(shared_data):
    test = load_svmlight(shared_data / "a9a.t.gz", n_features=123)
    assert test.n_features == 123
    assert load_svmlight(shared_data / "a9a.t.gz").n_features == 122


# --- numbers ----------------------------------------------------------------------------------


def number_tokens(seed=0, n=4000):
    """Decimal texts across the hard cases: long mantissas, ties, subnormals, huge exponents."""
    rng = np.random.default_rng(seed)
    doubles = rng.integers(1, 2**62, n).view(np.float64)  # every exponent
    doubles = doubles[np.isfinite(doubles) & (doubles != 0)]
    uniform = rng.random(n)
    tokens = [repr(v) for v in doubles.tolist()] + [repr(v) for v in uniform.tolist()]
    tokens += ["%.17g" % v for v in uniform.tolist()]
    tokens += ["%.25e" % v for v in uniform[:500].tolist()]
    tokens += ["%.15g" % v for v in (uniform * 1e5).tolist()]
    tokens += ["%.6f" % v for v in uniform.tolist()]
    r = random.Random(seed)
    for _ in range(n):
        digits = "".join(r.choice("0123456789") for _ in range(r.randint(1, 22)))
        cut = r.randint(0, len(digits))
        text = digits[:cut] + "." + digits[cut:] if r.random() < 0.7 else digits
        tokens.append(text + ("e%d" % r.randint(-330, 310) if r.random() < 0.5 else ""))
    getcontext().prec = 800
    for v in (uniform[:300] * 10.0 ** rng.integers(-30, 30, 300)).tolist():
        half = (Decimal(v) + Decimal(float(np.nextafter(v, np.inf)))) / 2  # exact ties
        tokens += [format(half, "e"), format(half, ".18e"), format(half.next_plus(), ".40e")]
    tokens += [str(2**53 + k) for k in range(-20, 20)] + [str(2**64 - 1), str(2**64 + 1)]
    tokens += ["0", "-0", "0.0", "-0.000", "1e22", "1e23", "1e-22", "1e-23", "4.9e-324", "5e-324",
               "2.2250738585072011e-308", "2.2250738585072014e-308", "1.7976931348623157e308",
               "1.", ".5", "-.5e1", "+3.25", "1E5", "1e+5", "007", "1_000.5", "9007199254740993.0",
               "0." + "0" * 30 + "1", "1" + "0" * 30, "123456789012345678901234567890e-40"]
    return tokens


def parsed_exactly(tokens):
    """Each token as a label and as a value; both must equal Python's float bit for bit."""
    expected = [float(t) for t in tokens]
    keep = [t for t, v in zip(tokens, expected) if np.isfinite(v)]
    text = "".join(f"{t} 1:{t}\n" for t in keep)
    data = load_svmlight(io.BytesIO(text.encode()), n_features=1)
    want = np.array([float(t) for t in keep])
    np.testing.assert_array_equal(bits(data.y), bits(want))
    stored = want != 0
    np.testing.assert_array_equal(bits(data.X.toarray()[stored, 0]), bits(want[stored]))
    assert data.X.nnz == np.count_nonzero(stored)


def test_numbers_equal_python_float_bit_for_bit():
    parsed_exactly(number_tokens())


def test_fallback_buffer_flushes_and_grows(monkeypatch):
    monkeypatch.setattr(svmlight, "_FALLBACK_CAPACITY", 2)
    ties = ["9007199254740993.0", "1e-310", "5e-324", "1_5", "2.2250738585072011e-308"]
    many = " ".join(f"{j + 1}:{t}" for j, t in enumerate(ties))  # more per line than capacity
    text = f"1 1:1e-310 2:3\n1e-320 {many}\n-1 2:1_0\n"
    data = load_svmlight(io.BytesIO(text.encode()))
    assert data.y[1] == float("1e-320")
    np.testing.assert_array_equal(bits(data.X.toarray()[1]), bits([float(t) for t in ties]))
    assert data.X[0, 0] == 1e-310 and data.X[2, 1] == 10.0


def test_float32_casts_the_parsed_double():
    tokens = number_tokens(seed=1, n=500)
    keep = [t for t in tokens if abs(float(t)) < 3.4e38]
    text = "".join(f"1 1:{t}\n" for t in keep)
    data = load_svmlight(io.BytesIO(text.encode()), dtype=np.float32)
    want = np.array([float(t) for t in keep]).astype(np.float32)
    got = data.X.toarray()[:, 0]
    np.testing.assert_array_equal(got[want != 0].view(np.uint32), want[want != 0].view(np.uint32))


# --- format -----------------------------------------------------------------------------------


def test_comments_blank_lines_crlf_tabs_and_signs(tmp_path):
    text = ("# header\n\n+1 1:0.5\t3:-2 # trailing\r\n"
            "   \n-1.5 qid:7 2:1e3#glued\n0 qid:7\n2 qid:-3 1:0 4:1")  # last line: no newline
    path = write(tmp_path, text)
    data = load_svmlight(path, query_id=False)
    np.testing.assert_array_equal(data.y, [1.0, -1.5, 0.0, 2.0])
    np.testing.assert_array_equal(data.X.toarray(),
                                  [[0.5, 0, -2, 0], [0, 1000, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])
    for query_id in (None, True):  # qid on some lines only
        with pytest.raises(DataError, match=r"line 3: no qid, but line 5 has one"):
            load_svmlight(path, query_id=query_id)


def test_qid_kept_dropped_or_required(tmp_path):
    path = write(tmp_path, "1 qid:3 1:1\n0 qid:3 2:1\n1 qid:9 1:2\n")
    np.testing.assert_array_equal(load_svmlight(path).qid, [3, 3, 9])
    assert load_svmlight(path, query_id=False).qid is None
    plain = write(tmp_path, "1 1:1\n", "plain.svm")
    with pytest.raises(DataError, match="no qid"):
        load_svmlight(plain, query_id=True)
    assert_matches_sklearn(load_svmlight(path), path, query_id=True)


def test_zero_based_auto_true_false(tmp_path):
    one = write(tmp_path, "1 1:1 3:2\n-1 2:5\n", "one.svm")
    zero = write(tmp_path, "1 0:1 3:2\n-1 2:5\n", "zero.svm")
    assert load_svmlight(one).X.toarray().tolist() == [[1, 0, 2], [0, 5, 0]]
    assert load_svmlight(zero).X.toarray().tolist() == [[1, 0, 0, 2], [0, 0, 5, 0]]
    assert load_svmlight(one, zero_based=True).n_features == 4
    with pytest.raises(DataError, match=r"zero\.svm: line 1: feature index 0"):
        load_svmlight(zero, zero_based=False)
    for path in (one, zero):
        for zero_based in (True, False, "auto"):
            if path is zero and zero_based is False:
                continue
            assert_matches_sklearn(load_svmlight(path, zero_based=zero_based), path,
                                   zero_based=zero_based)


def test_n_features_too_small_names_file_and_line(tmp_path):
    path = write(tmp_path, "1 1:1\n-1 2:1 7:1\n")
    assert load_svmlight(path, n_features=7).n_features == 7
    with pytest.raises(DataError, match=r"data\.svm: line 2: feature index in '7:1' exceeds "
                                        r"n_features=6"):
        load_svmlight(path, n_features=6)
    zero = write(tmp_path, "1 0:1\n-1 2:1\n1 3:1\n", "zero.svm")  # zero-based: index 3 needs 4
    with pytest.raises(DataError, match=r"zero\.svm: line 3: .*n_features=3"):
        load_svmlight(zero, n_features=3)
    with pytest.raises(DataError, match=r"line 3: .*n_features=3"):
        load_svmlight(zero, n_features=3, zero_based=True)


def test_empty_file_and_label_only_rows(tmp_path):
    empty = load_svmlight(write(tmp_path, "", "empty.svm"))
    assert empty.X.shape == (0, 0)
    data = load_svmlight(write(tmp_path, "1\n-1\n"), n_features=5)
    assert data.X.shape == (2, 5) and data.X.nnz == 0


def test_file_object_and_compressed_inputs(tmp_path):
    text = "1 1:0.25 2:4\n-1 3:1e-5\n"
    expected = load_svmlight(io.BytesIO(text.encode()))
    for name in ("d.svm.gz", "d.svm.bz2", "d.svm"):
        assert_same_dataset(load_svmlight(write(tmp_path, text, name)), expected)
    multi = tmp_path / "multi.gz"
    multi.write_bytes(gzip.compress(b"1 1:0.25 2:4\n") + gzip.compress(b"-1 3:1e-5\n"))
    assert_same_dataset(load_svmlight(multi), expected)


def test_corrupt_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"1 1:1\n" * 1000)[:-20])
    with pytest.raises(DataError, match=r"bad\.gz: cannot decompress"):
        load_svmlight(path)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("line, message", [
    ("-1 x:1", r"bad token 'x:1'"),
    ("-1 1:0.5 :3", r"bad token ':3'"),
    ("-1 1:", r"bad token '1:'"),
    ("-1 1:0.5x", r"bad token '0.5x'"),
    ("-1 1 2:3", r"bad token '1'"),
    ("abc 1:1", r"bad token 'abc'"),
    ("1:0.5 2:1", r"missing label"),
    ("qid:3 1:1", r"missing label"),
    ("-1 2:1 2:3", r"duplicate feature index 2"),
    ("-1 5:1 3:1", r"feature index 3 after 5: indices must increase"),
    ("-1 1:nan", r"non-finite value 'nan'"),
    ("-1 1:-inf", r"non-finite value '-inf'"),
    ("-1 1:1e999", r"non-finite value '1e999'"),
    ("nan 1:1", r"non-finite label 'nan'"),
    ("inf 1:1", r"non-finite label 'inf'"),
    ("-1 qid:x 1:1", r"bad qid 'qid:x'"),
    ("-1 99999999999:1", r"feature index in '99999999999:1' exceeds the int32 range"),
])
def test_malformed_line_names_file_line_and_problem(tmp_path, line, message):
    path = write(tmp_path, f"# comment\n1 1:1\n\n{line}\n1 2:1\n", "a9a")
    with pytest.raises(DataError, match=rf"^{re.escape(str(tmp_path / 'a9a'))}: line 4: {message}"):
        load_svmlight(path)


def test_error_on_a_later_chunk_still_names_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(svmlight, "_FALLBACK_CAPACITY", 1)
    rows = [f"1 1:1e-310 2:{k}" for k in range(1, 40)] + ["1 1:1e-310 2:zz"]
    path = write(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"line 40: bad token 'zz'"):
        load_svmlight(path)


def test_float32_overflow_is_rejected(tmp_path):
    for value in ("1e39", "1_000e36"):  # the kernel's path and Python's
        path = write(tmp_path, f"1 1:3e38\n1 1:{value}\n")
        assert load_svmlight(path).X[1, 0] == 1e39
        with pytest.raises(DataError, match=rf"line 2: value '{value}' is beyond float32 range"):
            load_svmlight(path, dtype=np.float32)


def test_bad_arguments():
    with pytest.raises(ValueError, match="zero_based"):
        load_svmlight(io.BytesIO(b"1 1:1\n"), zero_based="yes")
    with pytest.raises(ValueError, match="dtype"):
        load_svmlight(io.BytesIO(b"1 1:1\n"), dtype=np.int32)


# --- writing ----------------------------------------------------------------------------------


def random_dataset(seed=0, n=60, d=25, qid=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((n, d)) * 10.0 ** rng.integers(-12, 12, (n, d))
    values[:, ::7] = rng.random((n, len(range(0, d, 7))))  # full-precision values
    X = sp.csr_matrix(np.where(rng.random((n, d)) < 0.3, values, 0.0))
    y = rng.choice([-1.0, 1.0], n) if not qid else rng.integers(0, 3, n).astype(float)
    return Dataset(X, y, qid=np.repeat(np.arange(n // 5), 5) if qid else None, dtype=dtype)


@pytest.mark.parametrize("name", ["rt.svm", "rt.svm.gz", "rt.svm.bz2"])
@pytest.mark.parametrize("qid", [False, True])
@pytest.mark.parametrize("zero_based", [False, True])
def test_save_load_round_trip_is_exact(tmp_path, name, qid, zero_based):
    data = random_dataset(qid=qid)
    path = tmp_path / name
    save_svmlight(data, path, zero_based=zero_based, comment="generated\nby a test")
    back = load_svmlight(path, n_features=data.n_features, zero_based=zero_based)
    assert_same_dataset(back, data)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_round_trip_of_float32_and_non_integral_labels(tmp_path):
    data = random_dataset(dtype=np.float32)
    data = Dataset(data.X, data.y * 0.1 + 1e-17, dtype=np.float32)
    save_svmlight(data, tmp_path / "f.svm")
    back = load_svmlight(tmp_path / "f.svm", n_features=data.n_features, dtype=np.float32)
    assert_same_dataset(back, data)


def test_save_matrix_with_labels_and_reference_reader(tmp_path):
    X = np.array([[0.0, 1.5, 0.0], [2.0**-40, 0.0, -3.0]])
    save_svmlight(X, tmp_path / "m.svm", y=[1, -1])
    lines = (tmp_path / "m.svm").read_text().splitlines()
    assert lines == ["1 2:1.5", "-1 1:9.094947017729282e-13 3:-3.0"]
    assert_matches_sklearn(load_svmlight(tmp_path / "m.svm"), tmp_path / "m.svm")
    with pytest.raises(ValueError, match="y is required"):
        save_svmlight(X, tmp_path / "n.svm")


def test_failed_save_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "keep.svm.gz"
    save_svmlight(random_dataset(), path)
    before = path.read_bytes()

    def explode(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(svmlight, "_format_rows", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        save_svmlight(random_dataset(seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.svm.gz"]


def test_gzip_output_is_reproducible(tmp_path):
    data = random_dataset()
    save_svmlight(data, tmp_path / "a.gz")
    save_svmlight(data, tmp_path / "b.gz")
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert struct.unpack("<I", (tmp_path / "a.gz").read_bytes()[4:8]) == (0,)  # no timestamp
