"""``psgd data``: list the named datasets, fetch one, describe a file, or cache one."""
import time

from ..data import CATALOG, build_cache, dataset_info, fetch_file, list_datasets
from .common import Parser, existing_file, load_data


def add_parser(sub):
    data = sub.add_parser("data", help="list, fetch, describe or cache datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    data_sub.add_parser("list", help="the named datasets and whether they are cached")
    fetch_p = data_sub.add_parser("fetch", help="download a named dataset into the cache")
    fetch_p.add_argument("name")
    info = data_sub.add_parser("info", help="rows, features, density and labels of a file")
    info.add_argument("path")
    cache = data_sub.add_parser(
        "cache", help="parse svmlight text once into a memory-mapped binary cache",
        description="Parse SRC (an svmlight file, a folder of *.svm / *.svm.gz part files, "
                    "or a named dataset) and write the cache folder DEST, which --data and "
                    "psgd.load then map in milliseconds.")
    cache.add_argument("src")
    cache.add_argument("dest")
    cache.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    cache.add_argument("--n-features", type=int, default=None,
                       help="number of columns (default: the largest index)")


def run(args, out):
    if args.data_command == "list":
        for row in list_datasets():
            out.write("  ".join(str(v) for v in row.values()) + "\n")
    elif args.data_command == "fetch":
        data = load_data(args.name)
        print(f"{args.name}: {data!r}", file=out)
    elif args.data_command == "cache":
        options = dict(n_features=args.n_features)
        if args.src in CATALOG:
            entry = CATALOG[args.src]
            src = fetch_file(args.src)
            options = dict(n_features=args.n_features or entry.n_features,
                           zero_based=entry.zero_based)
        else:
            src = existing_file(args.src)
        start = time.perf_counter()
        data = build_cache(src, args.dest, dtype=args.dtype, **options)
        print(f"{args.dest}: {data!r}, cached in {time.perf_counter() - start:.2f} s",
              file=out)
    else:
        for key, value in dataset_info(existing_file(args.path)).items():
            print(f"{key}: {value}", file=out)
    return 0
