"""Read and write svmlight / LIBSVM text files (plain, ``.gz``, ``.bz2``).

One line per sample: ``label [qid:Q] index:value index:value ... [# comment]``
with strictly increasing indices. The reader decompresses the whole file in one
go and parses the bytes with a Numba kernel (:mod:`._svmlight_kernels`) straight
into CSR arrays, so it does not pay a Python call per token the way a
line-by-line parser does. Every value equals what Python's ``float`` gives for
its token: the rare token the kernel cannot convert exactly is handed back and
converted here.
"""
import bz2
import gzip
import math
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .._files import atomic_write
from ..errors import DataError
from ._svmlight_kernels import (
    _BAD_TOKEN,
    _DECREASING,
    _DONE,
    _DUPLICATE,
    _ERROR,
    _GROW,
    _INDEX_MAX,
    _LINE_AT_LIMIT,
    _LINE_NO_QID,
    _LINE_QID,
    _MAX_INDEX,
    _MIN_INDEX,
    _MISSING_LABEL,
    _N_STATE,
    _NFB,
    _NNZ,
    _NON_FINITE,
    _QID_ROWS,
    _ROW,
    _TOO_LARGE,
    _ZERO_INDEX,
    IndexOptions,
    Parsed,
    _count_lines_and_colons,
    _parse_lines,
    _write_rows,
)
from .dataset import Dataset

# ----------------------------------------------------------------------------
# Reading.

_FALLBACK_CAPACITY = 4096   # tokens handed to Python per kernel call (grows for long lines)
_INFLATE_CHUNK = 1 << 20


def _read_bytes(source):
    """(name for messages, decompressed bytes as a uint8 array) of a path or a binary file."""
    if hasattr(source, "read"):
        raw = source.read()
        if isinstance(raw, str):
            raw = raw.encode()
        return str(getattr(source, "name", "<stream>")), np.frombuffer(raw, np.uint8)
    name = os.fspath(source)
    with open(name, "rb") as f:
        raw = f.read()
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".gz":
            return name, _gunzip(raw)
        if suffix == ".bz2":
            raw = bz2.decompress(raw)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise DataError(f"{name}: cannot decompress: {exc}") from None
    return name, np.frombuffer(raw, np.uint8)


def _gunzip(raw):
    """Every member of a gzip stream, inflated into one preallocated uint8 array.

    Sized from the trailer's length field, then fed 1 MiB at a time: as fast
    as a one-shot ``zlib.decompress`` with the right buffer size, and exact
    for multi-member files (where the trailer only gives the last member's size).
    """
    size_hint = int.from_bytes(raw[-4:], "little") if len(raw) >= 4 else 0
    out = np.empty(max(size_hint, 1 << 16), np.uint8)
    used = 0
    view = memoryview(raw)
    start = 0
    while start < len(raw):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pos = start
        while not inflater.eof:
            if pos >= len(raw):
                raise EOFError("the compressed stream ends early")
            chunk = inflater.decompress(view[pos: pos + _INFLATE_CHUNK])
            pos = min(pos + _INFLATE_CHUNK, len(raw))
            if used + len(chunk) > out.shape[0]:
                grown = np.empty(max(2 * out.shape[0], used + len(chunk)), np.uint8)
                grown[:used] = out[:used]
                out = grown
            out[used: used + len(chunk)] = np.frombuffer(chunk, np.uint8)
            used += len(chunk)
        start = pos - len(inflater.unused_data)
        while start < len(raw) and raw[start] == 0:  # padding between members
            start += 1
    return out[:used]


def _token(buf, start, end):
    return buf[start:end].tobytes().decode("utf-8", "replace")


def _resolve_fallbacks(buf, records, labels, data, name):
    """Convert the tokens the kernel handed back with Python's ``float``."""
    with np.errstate(over="ignore"):
        for record in records.tolist():
            _resolve_fallback(buf, *record, labels, data, name)


def _resolve_fallback(buf, start, end, slot, line, labels, data, name):
    token = buf[start:end].tobytes()
    try:
        value = float(token)
    except ValueError:
        raise DataError(f"{name}: line {line}: bad token {_token(buf, start, end)!r}") from None
    if slot < 0:
        labels[-slot - 1] = value
    else:
        data[slot] = value
        value = data[slot]  # as stored: float32 may overflow
    if not math.isfinite(value):
        text = _token(buf, start, end)
        if math.isfinite(float(token)):
            raise DataError(f"{name}: line {line}: value {text!r} is beyond float32 range")
        what = "label" if slot < 0 else "value"
        raise DataError(f"{name}: line {line}: non-finite {what} {text!r}")


def _kernel_error(buf, err, name, n_features):
    kind, line, start, end, a, b = err.tolist()
    token = _token(buf, start, end)
    if kind == _BAD_TOKEN:
        problem = f"bad token {token!r}"
    elif kind == _MISSING_LABEL:
        problem = f"missing label (the line starts with {token!r})"
    elif kind == _DUPLICATE:
        problem = f"duplicate feature index {a} in {token!r}"
    elif kind == _DECREASING:
        problem = f"feature index {a} after {b}: indices must increase ({token!r})"
    elif kind == _ZERO_INDEX:
        problem = (f"feature index 0 in {token!r}, but the file is read as one-based "
                   f"(pass zero_based=True or 'auto')")
    elif kind == _TOO_LARGE:
        limit = f"n_features={n_features}" if n_features is not None else "the int32 range"
        problem = f"feature index in {token!r} exceeds {limit}"
    elif kind == _NON_FINITE:
        problem = f"value {token!r} is beyond float32 range"
    else:
        problem = f"bad qid {token!r}"
    return DataError(f"{name}: line {line}: {problem}")


def _index_options(zero_based, n_features):
    """(offset, largest raw index allowed, raw index to watch) for the kernel."""
    if zero_based == "auto":
        offset = 0
    elif zero_based is True or zero_based is False:
        offset = 0 if zero_based else 1
    else:
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    if n_features is None:
        return offset, _INDEX_MAX - 1, -1
    if int(n_features) != n_features or n_features < 0:
        raise ValueError(f"n_features must be a non-negative integer, got {n_features!r}")
    n_features = int(n_features)
    if zero_based == "auto":
        # raw index n_features is too large only if the file turns out zero-based
        return 0, n_features, n_features
    return offset, n_features - 1 + offset, -1


def _parse_buffer(buf, name, n_features, zero_based, dtype):
    """CSR arrays, labels, qids and kernel state for the svmlight text in ``buf``."""
    n_lines, n_colons = _count_lines_and_colons(buf)
    if n_colons > _INDEX_MAX:
        raise DataError(f"{name}: more than {_INDEX_MAX} values: too many for int32 CSR indices")
    rows = n_lines + 1
    labels = np.empty(rows, np.float64)
    qids = np.zeros(rows, np.int64)
    indptr = np.zeros(rows + 1, np.int32)
    indices = np.empty(n_colons, np.int32)
    data = np.empty(n_colons, dtype)
    out = Parsed(labels, qids, indptr, indices, data)
    options = IndexOptions(*_index_options(zero_based, n_features))
    fallback = np.empty((_FALLBACK_CAPACITY, 4), np.int64)
    state = np.zeros(_N_STATE, np.int64)
    state[_MIN_INDEX] = np.iinfo(np.int64).max
    state[_MAX_INDEX] = -1
    err = np.zeros(6, np.int64)
    while True:
        code = _parse_lines(buf, out, fallback, options, state, err)
        _resolve_fallbacks(buf, fallback[: state[_NFB]], labels, data, name)
        state[_NFB] = 0
        if code == _DONE:
            return out, state
        if code == _ERROR:
            raise _kernel_error(buf, err, name, n_features)
        if code == _GROW:
            fallback = np.empty((2 * fallback.shape[0], 4), np.int64)


def _trim(array, size):
    """``array[:size]``, copied when that frees much of the allocation."""
    return array[:size].copy() if size < 0.75 * array.shape[0] else array[:size]


class _Part:
    """One parsed svmlight text: its CSR arrays with the raw (unshifted) indices."""

    def __init__(self, source, n_features, zero_based, dtype):
        self.name, buf = _read_bytes(source)
        (labels, qids, indptr, indices, data), state = _parse_buffer(buf, self.name, n_features,
                                                                     zero_based, dtype)
        self.n_rows, self.nnz = int(state[_ROW]), int(state[_NNZ])
        self.state = state
        self.labels = _trim(labels, self.n_rows)
        self.qids = qids[: self.n_rows]
        self.indptr = indptr[: self.n_rows + 1]
        self.indices, self.data = _trim(indices, self.nnz), _trim(data, self.nnz)
        self.min_index, self.max_index = int(state[_MIN_INDEX]), int(state[_MAX_INDEX])


def _parse_parts(sources, n_features, zero_based, dtype):
    """The :class:`_Part` of every source, parsed on ``os.cpu_count()`` threads (the
    kernels release the GIL), in the order given."""
    if len(sources) == 1:
        return [_Part(sources[0], n_features, zero_based, dtype)]
    workers = min(len(sources), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda s: _Part(s, n_features, zero_based, dtype), sources))


def _index_offset(parts, n_features, zero_based):
    """What to subtract from the raw indices of all parts: 1 for one-based text, else 0.
    With "auto" the parts are one-based unless one of them holds an index 0."""
    if zero_based != "auto":  # True or False: checked by _index_options
        return 0 if zero_based else 1  # the kernel already checked the bounds
    indexed = [part for part in parts if part.max_index >= 0]
    if indexed and min(part.min_index for part in indexed) > 0:
        return 1
    for part in parts:
        if part.state[_LINE_AT_LIMIT]:
            raise DataError(f"{part.name}: line {part.state[_LINE_AT_LIMIT]}: feature index "
                            f"{n_features} exceeds n_features={n_features} (the data is "
                            f"zero-based)")
    return 0


def _assemble(parts, n_features, zero_based, dtype, query_id):
    """One :class:`Dataset` of the parts' rows, in order."""
    offset = _index_offset(parts, n_features, zero_based)
    shift = offset if zero_based == "auto" else 0  # explicit one-based: the kernel shifted
    if n_features is None:
        max_index = max(part.max_index for part in parts)  # raw, as written
        n_features = max_index - offset + 1 if max_index >= 0 else 0
    qid = _merged_qids(parts, query_id)
    y = np.concatenate([part.labels for part in parts]) if len(parts) > 1 else parts[0].labels
    if len(parts) == 1:
        indices, data, indptr = parts[0].indices, parts[0].data, parts[0].indptr
        if shift:
            indices -= 1
    else:
        total = sum(part.nnz for part in parts)
        if total > _INDEX_MAX:
            raise DataError(f"the parts hold {total} values: too many for int32 CSR indices")
        indices = np.concatenate([part.indices for part in parts])
        if shift:
            indices -= 1
        data = np.concatenate([part.data for part in parts])
        starts = np.cumsum([0] + [part.nnz for part in parts[:-1]])
        indptr = np.concatenate([parts[0].indptr[:1]] + [part.indptr[1:] + start for part, start
                                                         in zip(parts, starts)]).astype(np.int32)
    X = sp.csr_matrix((data, indices, indptr), shape=(y.shape[0], int(n_features)))
    return Dataset(X, y, qid=qid, dtype=dtype)


def _merged_qids(parts, query_id):
    """The qid column of all parts, None, or an error when only some lines have one."""
    kept = [_qids(part.qids, part.state, part.n_rows, part.name, query_id) for part in parts]
    with_qid = [part for part, q in zip(parts, kept) if q is not None]
    if not with_qid:
        return None
    without = [part for part, q in zip(parts, kept) if q is None and part.n_rows]
    if without:
        raise DataError(f"{without[0].name}: no qid, but {with_qid[0].name} has them")
    return np.concatenate([q if q is not None else np.zeros(0, np.int64) for q in kept])


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def load_svmlight(path, n_features=None, zero_based="auto", dtype=np.float64, query_id=None):
    """Load an svmlight / LIBSVM file into a :class:`Dataset`.

    Parameters
    ----------
    path : str, path-like or binary file object
        The file; ``.gz`` and ``.bz2`` names are decompressed (by extension).
    n_features : int, optional
        Number of columns. Defaults to the largest index in the file (plus one
        when zero-based); pass it so a test file with a lower maximum index
        lines up with its training file. An index beyond it is an error.
    zero_based : bool or "auto"
        Whether indices start at 0. "auto" reads the file as one-based unless
        some index 0 appears. Pass True/False explicitly when loading several
        files that must agree.
    dtype : float32 or float64
        dtype of ``X``; values are parsed as doubles, then cast. Labels are float64.
    query_id : bool, optional
        None keeps ``qid:`` values when the file has them; True requires them;
        False drops them.

    Returns
    -------
    Dataset
        ``X`` in canonical CSR (int32 sorted indices, no stored zeros), ``y`` as
        written in the file, ``qid`` when present.

    Raises
    ------
    DataError
        Naming the file and the 1-based line: a bad token, a missing label, a
        duplicate or decreasing index, a NaN or infinite value or label, an
        index beyond ``n_features``, qid on some lines only.
    """
    return load_svmlight_parts([path], n_features, zero_based, dtype, query_id)


def load_svmlight_parts(paths, n_features=None, zero_based="auto", dtype=np.float64,
                        query_id=None):
    """Load several svmlight files as one :class:`Dataset`, their rows in the order given.

    The files are parsed in parallel, one thread each (up to the number of cores),
    and must agree: "auto" reads all of them as one-based unless one holds an
    index 0, and qid must be on every line of every file or on none. Options and
    errors as in :func:`load_svmlight`.
    """
    dtype = _check_dtype(dtype)
    if not paths:
        raise DataError("no svmlight files to load")
    _index_options(zero_based, n_features)  # checks the options before any parsing
    parts = _parse_parts(list(paths), n_features, zero_based, dtype)
    return _assemble(parts, n_features, zero_based, dtype, query_id)


def _qids(qids, state, n_rows, name, query_id):
    """The qid column to keep, None, or an error when only some lines have one."""
    with_qid = int(state[_QID_ROWS])
    if 0 < with_qid < n_rows and query_id is not False:
        raise DataError(f"{name}: line {state[_LINE_NO_QID]}: no qid, "
                        f"but line {state[_LINE_QID]} has one")
    if query_id is True and with_qid == 0 and n_rows:
        raise DataError(f"{name}: query_id=True but the file has no qid")
    if query_id is False or with_qid == 0:
        return None
    return qids


# ----------------------------------------------------------------------------
# Writing.


@contextmanager
def _compressed_writer(f, name):
    """A binary stream writing into ``f``, compressed according to ``name``'s extension."""
    suffix = Path(name).suffix.lower()
    if suffix == ".gz":
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=6, mtime=0) as out:
            yield out
    elif suffix == ".bz2":
        with bz2.BZ2File(f, "wb") as out:
            yield out
    else:
        yield f


def _label_strings(y):
    """Labels as text: integers when all are integral, else the shortest exact repr."""
    y = np.asarray(y, dtype=np.float64)
    integral = np.all(np.trunc(y) == y) and np.all(np.abs(y) < 2.0 ** 53)
    if integral and not np.any((y == 0) & np.signbit(y)):
        return [str(v) for v in y.astype(np.int64).tolist()]
    return [repr(v) for v in y.tolist()]


def _format_rows(X, heads, start, stop, offset):
    """svmlight text of rows ``start:stop`` as a uint8 array."""
    lo, hi = X.indptr[start], X.indptr[stop]
    head_text = "".join(heads[start:stop]).encode()
    head_ends = np.cumsum([len(h) for h in heads[start:stop]])
    values = " ".join(map(repr, X.data[lo:hi].astype(np.float64).tolist())).encode() + b" "
    out = np.empty(len(head_text) + len(values) + 12 * (hi - lo) + (stop - start), np.uint8)
    used = _write_rows(np.frombuffer(head_text, np.uint8), head_ends, X.indptr[start: stop + 1],
                       X.indices, offset, np.frombuffer(values, np.uint8), out)
    return out[:used]


def save_svmlight(data_or_X, path, y=None, zero_based=False, comment=None):
    """Write a dataset as an svmlight / LIBSVM file (plain, ``.gz`` or ``.bz2``).

    Values are written with Python's shortest exact ``repr`` (integral labels
    as integers), so :func:`load_svmlight` reads back exactly the same numbers.
    The file is written under a temporary name in the same folder and renamed
    at the end: ``path`` is either the old file or the complete new one.

    Parameters
    ----------
    data_or_X : Dataset, or array-like / scipy.sparse matrix
        A Dataset (its ``qid`` is written when present; the format has no
        place for sample weights), or ``X`` with ``y``.
    path : str or path-like
        Destination; the extension picks the compression.
    y : array-like, optional
        Targets when ``data_or_X`` is a matrix.
    zero_based : bool
        Write indices from 0 instead of the LIBSVM convention (from 1).
    comment : str, optional
        Written at the top, each line prefixed with ``# ``.
    """
    if isinstance(data_or_X, Dataset):
        if y is not None:
            raise ValueError("pass y only with a matrix, not with a Dataset")
        data = data_or_X
    else:
        if y is None:
            raise ValueError("y is required when saving a matrix")
        data = Dataset(data_or_X, y)
    X = data.X if data.is_sparse else sp.csr_matrix(data.X)
    heads = _label_strings(data.y)
    if data.qid is not None:
        heads = [f"{h} qid:{q}" for h, q in zip(heads, data.qid.tolist())]
    offset = 0 if zero_based else 1
    rows_per_chunk = max(1, 1_000_000 // max(1, X.nnz // max(1, X.shape[0])))
    with atomic_write(path, "wb") as f, _compressed_writer(f, os.fspath(path)) as out:
        if comment:
            out.write("".join(f"# {line}\n" for line in str(comment).splitlines()).encode())
        for start in range(0, X.shape[0], rows_per_chunk):
            stop = min(start + rows_per_chunk, X.shape[0])
            out.write(_format_rows(X, heads, start, stop, offset))
