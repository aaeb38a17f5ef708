"""Convergence figures drawn from saved trace rows (``trace.csv``), never from live solvers.

Figures are built with matplotlib's object-oriented API on the Agg canvas, so
no GUI backend is ever selected and the global pyplot state is left alone.
"""
import numpy as np

from .._files import atomic_write
from .runner import THRESHOLDS

FIGSIZE = (12.0, 4.5)   # inches
DPI = 100               # -> 1200 x 450 pixels
FLOOR = 1e-16           # suboptimality drawn at this height when it is 0 or below


def _runs_by_driver(rows):
    """``{driver: [rows of repeat 0, rows of repeat 1, ...]}`` in order of appearance."""
    grouped = {}
    for row in rows:
        repeat = row.get("repeat", 0)
        repeat = 0 if repeat != repeat else repeat
        grouped.setdefault(row["driver"], {}).setdefault(repeat, []).append(row)
    return {driver: [runs[r] for r in sorted(runs)] for driver, runs in grouped.items()}


def convergence_band(runs, x_key, y_key="relative_suboptimality"):
    """Median x, median y and the min-max band of y over repeats, checkpoint by checkpoint.

    Checkpoints are matched by position; rows whose ``x_key`` or ``y_key`` is NaN
    are left out. Returns four arrays (possibly empty).
    """
    series = []
    for rows in runs:
        pairs = [(r[x_key], r[y_key]) for r in rows
                 if r.get(x_key) == r.get(x_key) and r.get(y_key) == r.get(y_key)]
        if pairs:
            series.append(np.array(pairs, dtype=float))
    if not series:
        empty = np.zeros(0)
        return empty, empty, empty, empty
    length = min(len(s) for s in series)
    stack = np.stack([s[:length] for s in series])
    y = np.maximum(stack[:, :, 1], FLOOR)
    return (np.median(stack[:, :, 0], axis=0), np.median(y, axis=0), y.min(axis=0),
            y.max(axis=0))


def convergence_figure(runs, title=None):
    """A figure: relative suboptimality vs solver time and vs passes, log scale.

    Parameters
    ----------
    runs : list of (str, list of dict)
        ``(label prefix, trace rows)`` per saved run; one line per driver of each
        run (the median over repeats), with a band from the best to the worst repeat.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    by_time, by_pass = figure.subplots(1, 2)
    colors = iter(_palette())
    for prefix, rows in runs:
        for driver, repeats in _runs_by_driver(rows).items():
            color = next(colors)
            label = f"{prefix}: {driver}" if prefix else driver
            for axes, x_key in ((by_time, "time_s"), (by_pass, "epoch")):
                x, y, low, high = convergence_band(repeats, x_key)
                if x.size == 0:
                    continue
                axes.plot(x, y, marker=".", color=color, label=label)
                if len(repeats) > 1:
                    axes.fill_between(x, low, high, color=color, alpha=0.2, linewidth=0)
    for axes, xlabel in ((by_time, "solver time (s)"), (by_pass, "passes over the data")):
        axes.set_yscale("log")
        axes.set_xlabel(xlabel)
        axes.set_ylabel("relative suboptimality (P - P*) / |P*|")
        for threshold in THRESHOLDS:
            axes.axhline(threshold, color="0.6", linestyle=":", linewidth=0.8)
        axes.grid(True, which="major", alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
    by_time.set_title("vs time (median; band: min-max over repeats)")
    by_pass.set_title("vs passes")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def _palette():
    base = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]
    while True:
        yield from base


def save_figure(figure, path):
    """Write ``figure`` as a PNG at ``path``, atomically, at its own size."""
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=figure.dpi)
    return path


def plot_convergence(runs, path, title=None):
    """Draw :func:`convergence_figure` for ``runs`` and save it as ``path`` (PNG)."""
    return save_figure(convergence_figure(runs, title), path)


def describe(results):
    """A figure title from a ``results.json`` dict: data, loss, alpha, workers."""
    config = results.get("config", {})
    parts = [str(config.get("data", "")), str(config.get("loss", ""))]
    if config.get("alpha") is not None:
        parts.append(f"alpha={config['alpha']:g}")
    if config.get("workers") is not None:
        parts.append(f"{config['workers']} workers")
    return ", ".join(p for p in parts if p)
