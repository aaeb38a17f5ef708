"""Numba kernels of the svmlight reader and writer: exact decimal parsing, line parsing,
and assembling output lines. `svmlight.py` holds the Python API around them.

Numbers are converted exactly (the nearest double, as Python's ``float``):

* Clinger's fast path: a decimal mantissa below 2**53 and a power of ten up to
  1e22 are both exact doubles, so one IEEE multiply or divide rounds correctly;
* otherwise, for mantissas of up to 19 digits, the Eisel-Lemire method:
  multiply the mantissa by a 128-bit approximation of 5**q and take the top 54
  bits; the error bound of the approximation says when these bits decide the
  rounding, and the rare undecided case is handed back;
* tokens outside both (more digits, subnormal or huge results, "nan", "inf",
  malformed text) are handed back to Python's ``float`` and written in after
  the kernel returns, so every value equals what ``float(token)`` gives.
"""
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import jit

# ----------------------------------------------------------------------------
# 64 x 64 -> 128-bit products and bit manipulation, lowered to LLVM directly.


@intrinsic
def _mul_64x64(typingctx, a, b):
    """(high, low) 64-bit halves of the 128-bit product of two uint64."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i64, i128 = ir.IntType(64), ir.IntType(128)
        product = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        high = builder.trunc(builder.lshr(product, ir.Constant(i128, 64)), i64)
        low = builder.trunc(product, i64)
        return context.make_tuple(builder, signature.return_type, [high, low])

    return sig, codegen


@intrinsic
def _leading_zeros(typingctx, x):
    """Number of leading zero bits of a non-zero uint64."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(i64, [i64, ir.IntType(1)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.ctlz.i64")
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 1)])

    return sig, codegen


@intrinsic
def _double_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is ``bits``."""
    sig = types.float64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


# ----------------------------------------------------------------------------
# Tables: exact powers of ten for Clinger's path, 128-bit powers of five.

_Q_MIN, _Q_MAX = -342, 308          # beyond these, w * 10**q is 0 or inf for w < 2**64
_MAX_DIGITS = 19                    # every 19-digit mantissa fits a uint64
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U9 = np.uint64(9)
_U10 = np.uint64(10)
_U52 = np.uint64(52)
_U63 = np.uint64(63)
_U64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)
_TWO52 = np.uint64(1 << 52)
_TWO53 = np.uint64(1 << 53)
_MANTISSA_MASK = np.uint64((1 << 52) - 1)


def _power_of_five_table():
    """For q in [_Q_MIN, _Q_MAX]: 5**q ~= t * 2**e2 with 2**127 <= t < 2**128.

    ``t`` is 5**q truncated when q >= 0 (exact up to q = 55) and rounded up when
    q < 0; the Eisel-Lemire error analysis in `_eisel_lemire` relies on these
    directions. Returns the high and low 64-bit words of ``t`` and ``e2``.
    """
    n = _Q_MAX - _Q_MIN + 1
    high = np.empty(n, np.uint64)
    low = np.empty(n, np.uint64)
    e2 = np.empty(n, np.int64)
    for k, q in enumerate(range(_Q_MIN, _Q_MAX + 1)):
        if q >= 0:
            v = 5 ** q
            bits = v.bit_length()
            t = v << (128 - bits) if bits <= 128 else v >> (bits - 128)
            e2[k] = bits - 128
        else:
            v = 5 ** -q
            shift = v.bit_length() + 127
            t = (1 << shift) // v + 1
            e2[k] = -shift
        assert 1 << 127 <= t < 1 << 128
        high[k] = t >> 64
        low[k] = t & ((1 << 64) - 1)
    return high, low, e2


# module-level arrays are frozen into the compiled code as constants
_POW10 = np.array([10.0 ** k for k in range(23)])
_POW5_HIGH, _POW5_LOW, _POW5_E2 = _power_of_five_table()


# ----------------------------------------------------------------------------
# Number and token scanning (all positions are byte offsets into the buffer).

_NL, _HASH, _COLON, _DOT, _MINUS, _PLUS = 10, 35, 58, 46, 45, 43
_INDEX_MAX = np.iinfo(np.int32).max


@jit
def _is_blank(c):
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@jit
def _is_digit(c):
    return 48 <= c <= 57


@jit
def _eisel_lemire(w, q):
    """(True, w * 10**q correctly rounded) for 0 < w < 2**64, or (False, 0) if undecided.

    With ``t ~= 5**q * 2**-e2`` (128 bits) and ``wn = w << lz`` (top bit set),
    ``z = floor(wn * t / 2**64)`` is within 2 units of the exact scaled value.
    The result depends only on the top 54 bits of ``z`` unless ``z`` sits on,
    or one below, a point halfway between two doubles: those two cases (but
    for 0 <= q <= 27, where ``z`` is exact and a tie rounds to even), and
    results outside the normal range, are left to the caller.
    """
    k = q - _Q_MIN
    lz = _leading_zeros(w)
    wn = w << lz
    z_high, z_low = _mul_64x64(wn, _POW5_HIGH[k])
    drop = _U9 + (z_high >> _U63)
    mask = (_U1 << drop) - _U1
    if z_high & mask == mask:
        # the bits kept could still change: add the product with t's low word
        carry_in, _ = _mul_64x64(wn, _POW5_LOW[k])
        new_low = z_low + carry_in
        if new_low < z_low:
            z_high += _U1
        z_low = new_low
        drop = _U9 + (z_high >> _U63)
        mask = (_U1 << drop) - _U1
    m54 = z_high >> drop
    below = z_high & mask
    odd = (m54 & _U1) == _U1
    if 0 <= q <= 27:
        # t is 5**q exactly with a zero low word: z is the exact product, ties are real
        round_up = odd and (below != 0 or z_low != 0 or (m54 & _U2) != 0)
    elif odd and below == 0 and z_low == 0:
        return False, 0.0
    elif not odd and below == mask and z_low == _U64_MAX:
        return False, 0.0
    else:
        round_up = odd
    m53 = (m54 >> _U1) + (_U1 if round_up else np.uint64(0))
    e2 = np.int64(drop) + 129 + _POW5_E2[k] + q - np.int64(lz)
    if m53 == _TWO53:
        m53 = _TWO52
        e2 += 1
    biased = e2 + 52 + 1023
    if biased < 1 or biased > 2046:
        return False, 0.0
    return True, _double_from_bits((np.uint64(biased) << _U52) | (m53 & _MANTISSA_MASK))


@jit
def _is_delimiter(buf, i, n):
    """Whether a token ends at ``i``: end of buffer, blank, newline or comment."""
    return i >= n or buf[i] == _NL or buf[i] == _HASH or _is_blank(buf[i])


@jit
def _token_end(buf, i, n):
    while not _is_delimiter(buf, i, n):
        i += 1
    return i


@jit
def _skip_blanks(buf, i, n):
    while i < n and _is_blank(buf[i]):
        i += 1
    return i


@jit
def _scan_decimal(buf, i, n):
    """Parse the number token starting at ``i``: (ok, value, token end).

    Reads ``[+-]digits[.digits][(e|E)[+-]digits]`` (either digit run may be
    empty, not both) in one pass. ``ok`` False means "ask Python's float":
    other syntax (the token end is then found by scanning on), more than 19
    significant digits whose rounding the first 19 do not decide, a result
    that is not a normal double, or an ambiguous Eisel-Lemire rounding.
    """
    negative = False
    if i < n and (buf[i] == _MINUS or buf[i] == _PLUS):
        negative = buf[i] == _MINUS
        i += 1
    w = np.uint64(0)
    n_digits = 0
    q = 0
    truncated = False  # digits beyond the 19th were dropped: the value is in (w, w + 1) * 10**q
    start = i
    while i < n and buf[i] == 48:  # leading zeros
        i += 1
    while i < n and _is_digit(buf[i]):
        if n_digits < _MAX_DIGITS:
            w = w * _U10 + np.uint64(buf[i] - 48)
            n_digits += 1
        else:
            truncated = truncated or buf[i] != 48
            q += 1
        i += 1
    seen_digit = i > start
    if i < n and buf[i] == _DOT:
        i += 1
        fraction = i
        if w == 0:
            while i < n and buf[i] == 48:  # zeros before the first significant digit
                q -= 1
                i += 1
        while i < n and _is_digit(buf[i]):
            if n_digits < _MAX_DIGITS:
                w = w * _U10 + np.uint64(buf[i] - 48)
                n_digits += 1
                q -= 1
            else:
                truncated = truncated or buf[i] != 48
            i += 1
        seen_digit = seen_digit or i > fraction
    if seen_digit and i < n and (buf[i] == 101 or buf[i] == 69):
        i += 1
        exp_negative = False
        if i < n and (buf[i] == _MINUS or buf[i] == _PLUS):
            exp_negative = buf[i] == _MINUS
            i += 1
        if not (i < n and _is_digit(buf[i])):
            return False, 0.0, _token_end(buf, i, n)
        e = 0
        while i < n and _is_digit(buf[i]):
            if e < 100_000:
                e = e * 10 + (buf[i] - 48)
            i += 1
        q += -e if exp_negative else e
    if not seen_digit or not _is_delimiter(buf, i, n):
        return False, 0.0, _token_end(buf, i, n)
    ok, value = _decimal_value(w, q, truncated)
    return ok, -value if negative else value, i


@jit
def _decimal_value(w, q, truncated):
    """(ok, w * 10**q correctly rounded); ``truncated``: the exact mantissa is in (w, w + 1)."""
    if w == 0:
        return True, 0.0
    if q < _Q_MIN or q > _Q_MAX:
        return False, 0.0
    if truncated:
        ok, value = _eisel_lemire(w, q)
        ok_above, above = _eisel_lemire(w + _U1, q)
        return ok and ok_above and value == above, value
    if w <= _TWO53 and -22 <= q <= 22:
        value = np.float64(w)
        return True, value * _POW10[q] if q >= 0 else value / _POW10[-q]
    return _eisel_lemire(w, q)


@jit
def _scan_int(buf, i, n, limit):
    """(value, end) of the digit run at ``i``; value -1 if empty, -2 if above ``limit``."""
    start = i
    value = 0
    while i < n and _is_digit(buf[i]):
        if value <= limit:
            value = value * 10 + (buf[i] - 48)
        i += 1
    if i == start:
        return -1, i
    return (value if value <= limit else -2), i


# ----------------------------------------------------------------------------
# The parsing kernel.

# kernel return codes
_DONE, _FLUSH, _GROW, _ERROR = 0, 1, 2, 3
# state[]: where the kernel resumes and what it has seen so far
(_POS, _LINE, _ROW, _NNZ, _NFB, _MIN_INDEX, _MAX_INDEX, _QID_ROWS, _LINE_NO_QID,
 _LINE_QID, _LINE_AT_LIMIT, _N_STATE) = range(12)
# err[] = (kind, line, token start, token end, a, b)
(_BAD_TOKEN, _MISSING_LABEL, _DUPLICATE, _DECREASING, _ZERO_INDEX, _TOO_LARGE, _NON_FINITE,
 _BAD_QID) = range(1, 9)


@jit
def _count_lines_and_colons(buf):
    """(newlines, colons): bounds on the rows and stored values the file can hold."""
    lines = 0
    colons = 0
    for i in range(buf.shape[0]):
        c = buf[i]
        lines += c == _NL
        colons += c == _COLON
    return lines, colons


@jit
def _defer(fallback, nfb, start, end, slot, line):
    """Record a token for Python's ``float``; False when the buffer is full."""
    if nfb == fallback.shape[0]:
        return False
    fallback[nfb, 0], fallback[nfb, 1], fallback[nfb, 2], fallback[nfb, 3] = start, end, slot, line
    return True


class Cursor(NamedTuple):
    """Where the parser is: byte ``pos`` of line ``line`` (1-based), filling row ``row``,
    with ``nnz`` values stored and ``nfb`` fallback records taken."""

    pos: int
    line: int
    row: int
    nnz: int
    nfb: int


class Parsed(NamedTuple):
    """The arrays the parser fills (their capacity bounds the file's rows and values)."""

    labels: np.ndarray
    qids: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


class IndexOptions(NamedTuple):
    """``offset`` subtracted from every index (1: one-based), the largest index
    allowed, and the index a one-based file's largest feature would have."""

    offset: int
    limit: int
    auto_limit: int


@jit
def _parse_line(buf, at, out, fallback, options, state, err):
    """Parse one non-blank line at cursor ``at`` into row ``at.row``; returns
    ``(code, pos, nnz, nfb)``.

    A value the kernel cannot convert gets a placeholder and a ``fallback``
    record (token start, token end, slot, line); slot ``-(row + 1)`` is a label.
    """
    pos, line, row, nnz, nfb = at
    labels, qids, indices, data = out.labels, out.qids, out.indices, out.data
    offset, limit, auto_limit = options.offset, options.limit, options.auto_limit
    n = buf.shape[0]
    start = pos
    ok, labels[row], pos = _scan_decimal(buf, pos, n)
    kind, a, b = 0, 0, 0
    if not ok:
        for k in range(start, pos):
            if buf[k] == _COLON:
                kind = _MISSING_LABEL
        if kind == 0:
            if not _defer(fallback, nfb, start, pos, -(row + 1), line):
                return _FLUSH, start, nnz, nfb
            nfb += 1
    first_index, previous = -1, -1
    has_qid = False
    while kind == 0:
        pos = _skip_blanks(buf, pos, n)
        if pos >= n or buf[pos] == _NL or buf[pos] == _HASH:
            break
        start = pos
        if (previous < 0 and not has_qid and pos + 4 < n and buf[pos] == 113
                and buf[pos + 1] == 105 and buf[pos + 2] == 100 and buf[pos + 3] == _COLON):
            pos += 4  # "qid:"
            negative = buf[pos] == _MINUS
            if negative or buf[pos] == _PLUS:
                pos += 1
            qid, pos = _scan_int(buf, pos, n, 999_999_999_999_999_999)
            if qid < 0 or not _is_delimiter(buf, pos, n):
                kind = _BAD_QID
                pos = _token_end(buf, pos, n)
                break
            qids[row] = -qid if negative else qid
            has_qid = True
            continue
        index, pos = _scan_int(buf, pos, n, _INDEX_MAX)
        if index == -1 or pos >= n or buf[pos] != _COLON or _is_delimiter(buf, pos + 1, n):
            kind = _BAD_TOKEN
        elif index == -2 or index > limit:
            kind = _TOO_LARGE
        elif index <= previous:
            kind, a, b = (_DUPLICATE if index == previous else _DECREASING), index, previous
        elif index < offset:
            kind = _ZERO_INDEX
        if kind != 0:
            pos = _token_end(buf, pos, n)
            break
        if index == auto_limit and state[_LINE_AT_LIMIT] == 0:
            state[_LINE_AT_LIMIT] = line
        if first_index < 0:
            first_index = index
        previous = index
        value_start = pos + 1
        ok, data[nnz], pos = _scan_decimal(buf, value_start, n)
        indices[nnz] = index - offset
        if not ok:  # keep a placeholder slot
            if not _defer(fallback, nfb, value_start, pos, nnz, line):
                return _FLUSH, pos, nnz, nfb
            nfb += 1
            nnz += 1
        elif data[nnz] != 0:  # zeros are not stored (nor values that underflow float32)
            if not np.isfinite(data[nnz]):  # a double beyond float32's range
                kind, start = _NON_FINITE, value_start
                break
            nnz += 1
    if kind != 0:
        err[0], err[1], err[2], err[3], err[4], err[5] = kind, line, start, pos, a, b
        return _ERROR, pos, nnz, nfb
    if first_index >= 0:
        state[_MIN_INDEX] = min(state[_MIN_INDEX], first_index)
        state[_MAX_INDEX] = max(state[_MAX_INDEX], previous)
    if has_qid:
        state[_QID_ROWS] += 1
        if state[_LINE_QID] == 0:
            state[_LINE_QID] = line
    elif state[_LINE_NO_QID] == 0:
        state[_LINE_NO_QID] = line
    return _DONE, pos, nnz, nfb


@jit
def _parse_lines(buf, out, fallback, options, state, err):
    """Parse from ``state[_POS]`` until the end, an error, or a full ``fallback`` buffer.

    Returns ``_DONE``, ``_ERROR`` (details in ``err``), ``_FLUSH`` (convert the
    fallback records, reset ``state[_NFB]`` and call again: the kernel resumes
    at the start of the line it could not finish) or ``_GROW`` (one line holds
    more fallback tokens than the buffer).
    """
    indptr = out.indptr
    n = buf.shape[0]
    pos, line, row = state[_POS], state[_LINE], state[_ROW]
    nnz, nfb = state[_NNZ], state[_NFB]
    code = _DONE
    while pos < n:
        line_start, nfb_start = pos, nfb
        line += 1
        pos = _skip_blanks(buf, pos, n)
        if pos < n and buf[pos] != _NL and buf[pos] != _HASH:
            code, pos, new_nnz, nfb = _parse_line(buf, Cursor(pos, line, row, nnz, nfb), out,
                                                  fallback, options, state, err)
            if code == _FLUSH:
                code = _GROW if nfb_start == 0 else _FLUSH
                pos, line, nfb = line_start, line - 1, nfb_start
                break
            if code == _ERROR:
                break
            nnz = new_nnz
            row += 1
            indptr[row] = nnz
        while pos < n and buf[pos] != _NL:  # the rest is a comment
            pos += 1
        pos += 1
    state[_POS], state[_LINE], state[_ROW] = pos, line, row
    state[_NNZ], state[_NFB] = nnz, nfb
    return code



# ----------------------------------------------------------------------------
# Writing.

@jit
def _write_int(out, o, value):
    """Write the decimal digits of ``value >= 0`` at ``out[o:]``; returns the new end."""
    digits = 1
    rest = value // 10
    while rest:
        digits += 1
        rest //= 10
    for k in range(o + digits - 1, o - 1, -1):
        out[k] = 48 + value % 10
        value //= 10
    return o + digits


@jit
def _write_rows(heads, head_ends, indptr, indices, offset, values, out):
    """Assemble svmlight lines into ``out``; returns the number of bytes written.

    ``heads`` holds each row's "label [qid:q]" text back to back (row ``i`` ends
    at ``head_ends[i]``); ``values`` holds the value texts of all entries in
    order, each followed by one space.
    """
    o = 0
    h = 0
    v = 0
    for i in range(indptr.shape[0] - 1):
        while h < head_ends[i]:
            out[o] = heads[h]
            o += 1
            h += 1
        for k in range(indptr[i], indptr[i + 1]):
            out[o] = 32
            o = _write_int(out, o + 1, indices[k] + offset)
            out[o] = _COLON
            o += 1
            while values[v] != 32:
                out[o] = values[v]
                o += 1
                v += 1
            v += 1
        out[o] = _NL
        o += 1
    return o
