"""``psgd data``: list the named datasets, fetch one, or describe a file."""
from ..data import dataset_info, list_datasets
from .common import Parser, existing_file, load_data


def add_parser(sub):
    data = sub.add_parser("data", help="list, fetch or describe datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    data_sub.add_parser("list", help="the named datasets and whether they are cached")
    fetch_p = data_sub.add_parser("fetch", help="download a named dataset into the cache")
    fetch_p.add_argument("name")
    info = data_sub.add_parser("info", help="rows, features, density and labels of a file")
    info.add_argument("path")


def run(args, out):
    if args.data_command == "list":
        for row in list_datasets():
            out.write("  ".join(str(v) for v in row.values()) + "\n")
    elif args.data_command == "fetch":
        data = load_data(args.name)
        print(f"{args.name}: {data!r}", file=out)
    else:
        for key, value in dataset_info(existing_file(args.path)).items():
            print(f"{key}: {value}", file=out)
    return 0
