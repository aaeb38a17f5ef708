"""An epoch on a cache larger than the memory the process may use, against the same in RAM.

Usage (as root: the limit is a memory cgroup, which also holds the page cache, so the
pages of the cache really come from the disk)::

    python bench/bench_out_of_core.py [--cache DIR] [--rows 6000000] [--limit-gb GB]
        [--epochs 2] [--repeats 3]

Builds ``DIR`` (a cache of ``make_sparse_classification(rows, 2,000,000 features, 40
non-zeros per row)``, ~2.9 GB at 6M rows) if it does not exist. Then, ``repeats``
times in alternation: the sync driver with ``shuffle="blocks"`` for ``epochs`` epochs
on the cache read into memory (``mmap=False``), and the same fit in a child process
placed in a memory cgroup limited to ``limit-gb`` (default: half the cache; v2 ``memory.max`` or v1
``memory.limit_in_bytes``), on the cache mapped read-only (``mmap="r"``) after its
pages were dropped from the page cache (``posix_fadvise(DONTNEED)``). Reported: the
median solver time per epoch of each, their ratio, the objective each reached and the
child's peak memory (the cgroup's own count).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

import parallel_sgd as psgd

CGROUP_NAME = "psgd_out_of_core"
OPTIONS = dict(shuffle="blocks", learning_rate="optimal", random_state=3)

CHILD = textwrap.dedent("""
    import json, sys, time
    import parallel_sgd as psgd
    cache, small, epochs, options = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    # compile the kernels' read-only variants outside the timing, on a small cache
    psgd.fit(psgd.Problem(psgd.load(small, mmap="r"), "log_loss", alpha=1e-6), n_epochs=1, **options)
    start = time.perf_counter()
    data = psgd.load(cache, mmap="r")
    result = psgd.fit(psgd.Problem(data, "log_loss", alpha=1e-6), n_epochs=epochs,
                      eval_every=epochs, **options)
    rows = result.trace
    print(json.dumps({"epoch_s": rows[-1]["time_s"] / epochs, "objective": rows[-1]["objective"],
                      "wall_s": time.perf_counter() - start}))
""")


def build(cache, rows):
    """The cache and, beside it, one of its first 2,000 rows (to compile on)."""
    small = cache + ".small"
    if Path(cache, "header.json").exists() and Path(small, "header.json").exists():
        return small
    start = time.perf_counter()
    data = psgd.make_sparse_classification(n_samples=rows, n_features=2_000_000,
                                           nnz_per_row=40, random_state=0)
    psgd.save_cache(data, cache)
    psgd.save_cache(data.take(np.arange(2000)), small)
    print(f"built {cache} in {time.perf_counter() - start:.0f} s", flush=True)
    return small


def cache_bytes(cache):
    return sum(p.stat().st_size for p in Path(cache).iterdir())


def drop_page_cache(cache):
    for path in Path(cache).iterdir():
        with open(path, "rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


class MemoryCgroup:
    """A memory cgroup (v2 or v1) with a limit, for the child process to join."""

    def __init__(self, limit):
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        if v2.exists():
            self.path, files = Path("/sys/fs/cgroup", CGROUP_NAME), ("memory.max", "memory.peak")
        else:
            self.path = Path("/sys/fs/cgroup/memory", CGROUP_NAME)
            files = ("memory.limit_in_bytes", "memory.max_usage_in_bytes")
        self.limit_file, self.peak_file = files
        try:
            self.path.mkdir(exist_ok=True)
            (self.path / self.limit_file).write_text(str(limit))
        except OSError as exc:
            raise SystemExit(f"cannot set up a memory cgroup at {self.path} ({exc}): run as "
                             f"root on a machine with the memory controller") from None

    def join(self):
        (self.path / ("cgroup.procs" if self.limit_file == "memory.max" else "tasks")) \
            .write_text(str(os.getpid()))

    def remove(self):
        try:
            self.path.rmdir()  # empty once the child has exited
        except OSError:
            pass

    def reset_peak(self):
        if self.peak_file.endswith("max_usage_in_bytes"):
            (self.path / self.peak_file).write_text("0")

    def peak(self):
        try:
            return int((self.path / self.peak_file).read_text())
        except OSError:
            return float("nan")


def out_of_core(cache, small, epochs, cgroup):
    drop_page_cache(cache)
    cgroup.reset_peak()
    child = subprocess.run([sys.executable, "-c", CHILD, cache, small, str(epochs),
                            json.dumps(OPTIONS)],
                           capture_output=True, text=True, preexec_fn=cgroup.join)
    if child.returncode != 0:
        raise SystemExit(f"the limited run failed:\n{child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1]), cgroup.peak()


def in_memory(problem, epochs):
    start = time.perf_counter()
    result = psgd.fit(problem, n_epochs=epochs, eval_every=epochs, **OPTIONS)
    return {"epoch_s": result.trace[-1]["time_s"] / epochs,
            "objective": result.trace[-1]["objective"], "wall_s": time.perf_counter() - start}


def report(ram, disk, peak):
    print(f"  in RAM {ram['epoch_s']:.2f} s/epoch ({ram['wall_s']:.1f} s whole fit), "
          f"limited {disk['epoch_s']:.2f} s/epoch ({disk['wall_s']:.1f} s whole fit, "
          f"peak {peak / 2**30:.2f} GiB)", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/psgd_out_of_core.cache")
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--limit-gb", type=float, default=None,
                        help="default: half the cache's size")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    small = build(args.cache, args.rows)
    size = cache_bytes(args.cache)
    limit = size // 2 if args.limit_gb is None else int(args.limit_gb * (1 << 30))
    cgroup = MemoryCgroup(limit)
    print(f"cache {size / 2**30:.2f} GiB, limit {limit / 2**30:.2f} GiB "
          f"({size / limit:.1f}x); sync, shuffle='blocks', {args.epochs} epochs", flush=True)
    problem = psgd.Problem(psgd.load(args.cache, mmap=False), "log_loss", alpha=1e-6)
    in_memory(problem, 1)  # compile
    ram, disk, peaks = [], [], []
    try:
        for _ in range(args.repeats):
            ram.append(in_memory(problem, args.epochs))
            result, peak = out_of_core(args.cache, small, args.epochs, cgroup)
            disk.append(result)
            peaks.append(peak)
            report(ram[-1], disk[-1], peak)
    finally:
        cgroup.remove()
    ram_s = statistics.median(r["epoch_s"] for r in ram)
    disk_s = statistics.median(r["epoch_s"] for r in disk)
    print(f"median epoch: in RAM {ram_s:.2f} s, out of core {disk_s:.2f} s: "
          f"{ram_s / disk_s:.2f}x the in-RAM speed; objectives {ram[0]['objective']:.12g} "
          f"and {disk[0]['objective']:.12g}; peak {max(peaks) / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
