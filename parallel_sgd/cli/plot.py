"""``psgd plot``: redraw (and overlay) the convergence figures of saved bench runs."""
from pathlib import Path

from ..benchmark.plots import describe, plot_convergence
from ..benchmark.rank_bench import format_rank_table
from ..benchmark.report import format_table, load_run


def add_parser(sub):
    plot = sub.add_parser("plot", help="redraw (and overlay) the figures of saved bench runs")
    plot.add_argument("dirs", nargs="+", metavar="DIR", help="folders written by psgd bench")
    plot.add_argument("--out", default=None,
                      help="PNG to write (default: DIR/convergence.png for one folder, "
                           "convergence.png here for several)")


def run(args, out):
    runs = [(Path(folder), *load_run(folder)) for folder in args.dirs]
    several = len(runs) > 1
    target = Path(args.out) if args.out else (
        Path("convergence.png") if several else runs[0][0] / "convergence.png")
    for folder, results, _ in runs:
        metric = "rmse" if results.get("config", {}).get("loss") == "squared_error" \
            else "accuracy"
        print(f"{folder}: {describe(results)}" + (" (interrupted)"
                                                   if results.get("interrupted") else ""),
              file=out)
        if results.get("summaries"):
            print(format_table(results["summaries"], metric), file=out, end="")
        elif results.get("task") == "rank" and results.get("rows"):
            print(format_rank_table(results["rows"]), file=out, end="")
    title = None if several else describe(runs[0][1])
    plot_convergence([(folder.name if several else "", rows) for folder, _, rows in runs],
                     target, title)
    print(f"figure: {target}", file=out)
    return 0
