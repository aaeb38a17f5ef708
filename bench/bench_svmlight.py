"""Loader speed: ``psgd.load_svmlight`` against scikit-learn's ``load_svmlight_file``.

Generates a text-like sparse problem (default 200,000 x 47,236, ~75 non-zeros
per row, the size of a large rcv1-style file), writes it plain and gzip'd, and
times both loaders on each file: median of ``--repeat`` runs, after one warm-up
load (JIT compilation, page cache). Prints a table with the ratio sklearn / ours.

    python bench/bench_svmlight.py                       # everything, temp folder
    python bench/bench_svmlight.py --dir /tmp/svm --formats plain --repeat 3

``--dir`` keeps the generated files for the next run, so the two formats (or
the two loaders) can be timed in separate, shorter runs.
"""
import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file

from parallel_sgd.data.generators import make_sparse_classification
from parallel_sgd.data.svmlight import load_svmlight, save_svmlight

SUFFIX = {"plain": ".svm", "gz": ".svm.gz", "bz2": ".svm.bz2"}


def median_time(load, path, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        load(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ensure_files(folder, n_samples, formats):
    """Write the benchmark files that are not in ``folder`` yet; returns their paths."""
    paths = {fmt: folder / f"sparse_{n_samples}{SUFFIX[fmt]}" for fmt in formats}
    missing = [fmt for fmt, path in paths.items() if not path.exists()]
    if missing:
        start = time.perf_counter()
        data = make_sparse_classification(n_samples=n_samples, random_state=0)
        print(f"generated {data} in {time.perf_counter() - start:.1f} s")
        for fmt in missing:
            start = time.perf_counter()
            save_svmlight(data, paths[fmt])
            size = os.path.getsize(paths[fmt]) / 1e6
            print(f"wrote {paths[fmt].name} ({size:.0f} MB) in {time.perf_counter() - start:.1f} s")
    return paths


def run(folder, n_samples, formats, repeat, loaders):
    paths = ensure_files(folder, n_samples, formats)
    ours = lambda path: load_svmlight(path, zero_based=False)  # noqa: E731
    theirs = lambda path: load_svmlight_file(str(path), zero_based=False)  # noqa: E731
    chosen = {"ours": ours, "sklearn": theirs}
    first = paths[formats[0]]
    for name in loaders:  # warm-up: JIT compilation and page cache
        chosen[name](first)
    if "ours" in loaders and "sklearn" in loaders:
        a, b = ours(first), theirs(first)
        same = (np.array_equal(a.X.data, b[0].data) and np.array_equal(a.X.indices, b[0].indices)
                and np.array_equal(a.y, b[1]))
        print(f"identical parse: {same}")
    print(f"\n{'file':<24}{'size MB':>9}" + "".join(f"{name + ' s':>12}" for name in loaders)
          + (f"{'sklearn/ours':>14}" if len(loaders) == 2 else ""))
    for fmt in formats:
        path = paths[fmt]
        times = {name: median_time(chosen[name], path, repeat) for name in loaders}
        line = f"{path.name:<24}{os.path.getsize(path) / 1e6:>9.0f}"
        line += "".join(f"{times[name]:>12.2f}" for name in loaders)
        if len(loaders) == 2:
            line += f"{times['sklearn'] / times['ours']:>14.2f}"
        print(line)
    print(f"(median of {repeat}; {os.cpu_count()} CPUs)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--formats", default="plain,gz", help="comma list of plain, gz, bz2")
    parser.add_argument("--loaders", default="ours,sklearn", help="comma list of ours, sklearn")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="keep generated files here")
    args = parser.parse_args()
    formats = args.formats.split(",")
    loaders = args.loaders.split(",")
    if args.dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), args.rows, formats, args.repeat, loaders)
    else:
        args.dir.mkdir(parents=True, exist_ok=True)
        run(args.dir, args.rows, formats, args.repeat, loaders)


if __name__ == "__main__":
    main()
