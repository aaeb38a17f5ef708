"""Reports and figures from saved traces: bands, tables, round trips, PNG output."""
import io
import math
import os

import numpy as np
import pytest
from matplotlib.image import imread

from parallel_sgd.benchmark.plots import DPI, FIGSIZE, FLOOR, convergence_band, plot_convergence
from parallel_sgd.benchmark.progress import ProgressBars
from parallel_sgd.benchmark.report import format_table, format_verdict, load_run, write_results
from parallel_sgd.benchmark.runner import THRESHOLDS, summarize_repeats


def trace(driver, times, subopts, repeat=0, epochs=None):
    epochs = epochs if epochs is not None else range(len(times))
    return [{"driver": driver, "n_workers": 2, "repeat": repeat, "epoch": float(e),
             "n_updates": 100 * e, "n_grad_evals": 100 * e, "time_s": t, "objective": 1 + s,
             "suboptimality": s, "relative_suboptimality": s, "test_metric": 0.9}
            for e, t, s in zip(epochs, times, subopts)]


def test_band_is_median_and_min_max_over_repeats():
    runs = [trace("a", [0, 1, 2], [1.0, 1e-2, 1e-4]),
            trace("a", [0, 2, 4], [1.0, 1e-3, 0.0]),
            trace("a", [0, 3, 6, 9], [1.0, 1e-1, 1e-5, 1e-6])]
    x, y, low, high = convergence_band(runs, "time_s")
    assert x.tolist() == [0, 2, 4]  # matched by position, cut to the shortest
    assert y.tolist() == [1.0, 1e-2, 1e-5]
    assert low.tolist() == [1.0, 1e-3, FLOOR] and high.tolist() == [1.0, 1e-1, 1e-4]


def test_band_leaves_out_nan_points():
    rows = trace("vw", [0, 1], [math.nan, math.nan])
    assert all(a.size == 0 for a in convergence_band([rows], "time_s"))
    rows = trace("liblinear", [0, 1, 2], [1.0, 1e-3, 1e-9], epochs=[0, math.nan, math.nan])
    assert convergence_band([rows], "epoch")[0].tolist() == [0.0]


def test_median_summary_over_repeats():
    runs = [trace("a", [0, 1, 2], [1.0, 1e-2, 1e-4]), trace("a", [0, 2, 4], [1.0, 0.5, 1e-3]),
            trace("a", [0, 3, 6], [1.0, 0.5, 0.2])]
    summary = summarize_repeats("a", runs)
    assert summary.repeats == 3 and summary.n_workers == 2
    assert summary.time_to[1e-2] == 4      # reached at 1, 4 and never: median 4
    assert math.isnan(summary.time_to[1e-4])  # reached once in three: never, in the median
    assert summary.time_s == 4 and summary.time_s_min == 2 and summary.time_s_max == 6
    assert summary.updates_per_s == pytest.approx(200 / 4)


def test_results_round_trip_and_table(tmp_path):
    runs = [trace("sync", [0, 1, 2], [1.0, 1e-2, 1e-4], repeat=r) for r in (0, 1)]
    summary = summarize_repeats("sync", runs)
    rows = [row for run in runs for row in run]
    rows[0]["test_metric"] = math.nan
    write_results(tmp_path, {"loss": "log_loss"}, {"objective": 1.0}, [summary], rows,
                  interrupted=False)
    results, back = load_run(tmp_path)
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "results.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert len(back) == 6 and back[1]["repeat"] == 0 and back[3]["repeat"] == 1
    assert math.isnan(back[0]["test_metric"]) and math.isnan(back[0]["staleness_max"])
    assert back[2]["relative_suboptimality"] == 1e-4 and back[2]["driver"] == "sync"
    table = format_table(results["summaries"])
    assert table.splitlines()[0].split()[:3] == ["driver", "workers", "t(<0.01)"]
    assert table.splitlines()[2].split()[:3] == ["sync", "2", "1s"]
    assert table == format_table([summary])  # the same from objects and from the JSON


def test_verdict_names_the_winner_and_the_ratio():
    a = summarize_repeats("sync", [trace("sync", [0, 2, 4], [1.0, 1e-2, 1e-4])])
    b = summarize_repeats("hogwild", [trace("hogwild", [0, 1, 2], [1.0, 1e-2, 1e-3])])
    lines = format_verdict([a, b]).splitlines()
    assert lines[0] == "to 0.01: hogwild first (1s), 2x faster than sync"
    assert lines[1] == "to 0.0001: sync first (4s); not reached by hogwild"
    assert lines[2] == "to 1e-06: nobody got there"
    assert len(lines) == len(THRESHOLDS)


def test_convergence_png_has_the_expected_size(tmp_path):
    rows = [row for r in range(3) for row in trace("sync", [0, 1, 2], [1.0, 1e-2, 1e-4],
                                                  repeat=r)]
    rows += trace("vw", [0, 1], [math.nan, math.nan])
    path = plot_convergence([("", rows), ("other", trace("svrg", [0, 1], [1.0, 1e-8]))],
                            tmp_path / "figure.png", title="test")
    image = imread(path)
    assert image.shape[:2] == (int(FIGSIZE[1] * DPI), int(FIGSIZE[0] * DPI))
    assert np.ptp(image[..., :3]) > 0


def test_progress_bars_stay_off_without_a_terminal():
    stream = io.StringIO()
    bars = ProgressBars(5, enabled=None, stream=stream)
    bars.start("sync", 0)
    assert bars.bar is None and bars.update({"epoch": 1.0}) is False
    bars.close()
    assert stream.getvalue() == ""


def test_progress_bars_follow_the_epochs():
    stream = io.StringIO()
    bars = ProgressBars(4, n_repeats=2, enabled=True, stream=stream)
    bars.start("sync", 1)
    for epoch in (1.0, 2.5, math.nan, 4.0):
        bars.update({"epoch": epoch})
    assert bars.bar.n == 4.0 and bars.bar.desc.startswith("sync [2/2]")
    bars.close()
    assert bars.bar is None
