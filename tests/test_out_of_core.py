"""Training on a cache larger than the memory the process may use."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd.data.cache import map_mode, read_header

CHILD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import parallel_sgd as psgd

    big, small, headroom = sys.argv[1], sys.argv[2], int(sys.argv[3])
    options = dict(n_epochs=2, shuffle="blocks", random_state=3, learning_rate="optimal")
    # compile the read-only variants of the kernels first, on a small cache
    psgd.fit(psgd.Problem(psgd.load(small, mmap="r"), "log_loss", alpha=1e-4), **options)
    with open("/proc/self/status") as f:
        used = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmData:"))
    resource.setrlimit(resource.RLIMIT_DATA, (used + headroom, used + headroom))
    try:
        np.empty(2 * headroom, dtype=np.uint8)[:] = 1  # the limit holds
        print(json.dumps({"limit": "not enforced"}))
        sys.exit(0)
    except MemoryError:
        pass
    data = psgd.load(big, mmap="r")
    result = psgd.fit(psgd.Problem(data, "log_loss", alpha=1e-4), **options)
    print(json.dumps({"coef": result.coef.tolist(), "intercept": result.intercept,
                      "objective": result.trace[-1]["objective"]}))
""")


@pytest.mark.slow
def test_a_cache_twice_the_memory_limit_trains_as_in_memory(tmp_path):
    data = psgd.make_sparse_classification(n_samples=500_000, n_features=5_000,
                                           nnz_per_row=40, random_state=0)
    psgd.save_cache(data, tmp_path / "big")
    psgd.save_cache(data.take(np.arange(2000)), tmp_path / "small")
    size = sum(p.stat().st_size for p in (tmp_path / "big").iterdir())
    headroom = 64 << 20
    assert size > 2 * headroom
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "big"),
                            str(tmp_path / "small"), str(headroom)],
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-2000:]
    out = json.loads(child.stdout.strip().splitlines()[-1])
    if out.get("limit") == "not enforced":
        pytest.skip("RLIMIT_DATA is not enforced on this kernel")
    in_memory = psgd.fit(psgd.Problem(data, "log_loss", alpha=1e-4), n_epochs=2,
                         shuffle="blocks", random_state=3, learning_rate="optimal")
    np.testing.assert_array_equal(out["coef"], in_memory.coef)
    assert out["objective"] == in_memory.trace[-1]["objective"]


def test_large_caches_are_mapped_read_only(tmp_path, monkeypatch):
    psgd.save_cache(psgd.make_sparse_classification(n_samples=100, n_features=10,
                                                    nnz_per_row=3, random_state=0),
                    tmp_path / "c")
    header = read_header(tmp_path / "c")
    assert map_mode(tmp_path / "c", header, True) == "c"
    assert map_mode(tmp_path / "c", header, "r") == "r"
    assert map_mode(tmp_path / "c", header, False) is None
    monkeypatch.setattr("parallel_sgd.data.cache.available_memory", lambda: 1000)
    assert map_mode(tmp_path / "c", header, True) == "r"
    data = psgd.load(tmp_path / "c")
    assert not data.X.data.flags.writeable  # shared, read-only: out of core
    result = psgd.fit(psgd.Problem(data, "log_loss"), n_epochs=2, shuffle="blocks")
    expected = psgd.fit(psgd.Problem(psgd.load(tmp_path / "c", mmap=False), "log_loss"),
                        n_epochs=2, shuffle="blocks")
    np.testing.assert_array_equal(result.coef, expected.coef)
    with pytest.raises(ValueError, match="mmap must be"):
        psgd.load(tmp_path / "c", mmap="w")


@pytest.mark.parametrize("shuffle", ["blocks", True, False])
@pytest.mark.parametrize("batch_size", [1, 8])
def test_training_out_of_core_asks_for_each_stretch_and_steps_as_in_memory(
        tmp_path, monkeypatch, shuffle, batch_size):
    """On a read-only map the steps run a stretch at a time, each stretch's pages asked
    for ahead of it; the result is the in-memory fit's, bit for bit."""
    from parallel_sgd.data import readahead

    data = psgd.make_sparse_classification(n_samples=3000, n_features=400, nnz_per_row=12,
                                           random_state=1)
    psgd.save_cache(data, tmp_path / "c")
    monkeypatch.setattr(readahead, "STRETCH_BYTES", 4096)  # ~28 rows a stretch
    asked = []
    willneed = readahead.Readahead.willneed
    monkeypatch.setattr(readahead.Readahead, "willneed",
                        lambda self, rows: (asked.append(np.array(rows)), willneed(self, rows)))
    options = dict(n_epochs=2, shuffle=shuffle, batch_size=batch_size, random_state=5,
                   learning_rate="optimal")
    mapped = psgd.load(tmp_path / "c", mmap="r")
    assert readahead.Readahead.of(mapped) is not None
    assert readahead.Readahead.of(psgd.load(tmp_path / "c", mmap="c")) is None
    assert readahead.Readahead.of(data) is None
    result = psgd.fit(psgd.Problem(mapped, "log_loss", alpha=1e-4), **options)
    expected = psgd.fit(psgd.Problem(data, "log_loss", alpha=1e-4), **options)
    np.testing.assert_array_equal(result.coef, expected.coef)
    assert result.intercept == expected.intercept
    # every row of every epoch was asked for, in stretches of the rows the steps took
    assert len(asked) >= 2 * 3000 // 40  # stretches of ~28 rows (32 for batches of 8)
    counts = np.bincount(np.concatenate(asked), minlength=3000)
    np.testing.assert_array_equal(counts, 2)  # once an epoch


def test_readahead_needs_the_entries_mapped_and_never_stops_training(tmp_path, monkeypatch):
    """Only the matrix mapped (labels in memory): still streamed; only the labels mapped,
    or madvise refused by the system: no readahead or no advice, training unchanged."""
    import mmap

    from parallel_sgd.data import readahead

    data = psgd.make_sparse_classification(n_samples=500, n_features=50, nnz_per_row=5,
                                           random_state=2)
    psgd.save_cache(data, tmp_path / "c")
    mapped = psgd.load(tmp_path / "c", mmap="r")
    mixed = psgd.Dataset(mapped.X, np.array(mapped.y))
    ahead = readahead.Readahead.of(mixed)
    assert ahead is not None and len(ahead.row_arrays) == 1  # indptr only
    assert readahead.Readahead.of(psgd.Dataset(data.X, mapped.y)) is None
    expected = psgd.fit(psgd.Problem(data, "log_loss"), n_epochs=2, random_state=1).coef

    monkeypatch.setattr(readahead, "STRETCH_BYTES", 1024)
    for dataset in (mixed, mapped):
        np.testing.assert_array_equal(
            psgd.fit(psgd.Problem(dataset, "log_loss"), n_epochs=2, random_state=1).coef,
            expected)

    class Refusing:  # a map whose system refuses the advice
        def madvise(self, *args):
            raise OSError(22, "Invalid argument")

    class Array:
        _mmap, offset, itemsize, shape = Refusing(), 128, 8, (1000,)

    readahead._advise(Array(), 10, 900, mmap.MADV_WILLNEED)  # no error: advice is a hint


def test_runs_of_consecutive_rows():
    from parallel_sgd.data.readahead import _runs

    assert _runs(np.array([], dtype=np.int64)) == []
    assert _runs(np.array([3])) == [(3, 4)]
    assert _runs(np.array([0, 1, 2, 5, 6, 9])) == [(0, 3), (5, 7), (9, 10)]
