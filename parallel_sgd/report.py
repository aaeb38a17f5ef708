"""Tables and result files from saved traces (never from live solver state).

Files are written to a temporary name in the destination folder and renamed, so
an interrupted run never leaves a half-written file behind.
"""
import csv
import io
import json
import math
from pathlib import Path

from ._files import atomic_write
from .runner import THRESHOLDS
from .trace import TRACE_FIELDS


def _clean(value):
    """JSON cannot hold NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_results(out_dir, config, optimum, summaries, rows, machine=None):
    """Write ``results.json`` (config, P*, summaries) and ``trace.csv`` (all rows)."""
    out_dir = Path(out_dir)
    results = {"config": config, "optimum": optimum, "machine": machine or {},
               "summaries": [s.as_row() for s in summaries]}
    with atomic_write(out_dir / "results.json") as handle:
        json.dump(_clean(results), handle, indent=2)
        handle.write("\n")
    with atomic_write(out_dir / "trace.csv", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRACE_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in TRACE_FIELDS})
    return out_dir


def _seconds(value):
    return "-" if value != value else f"{value:.3g}s"


def format_table(summaries, metric_name="accuracy"):
    """The results table: one line per driver, times to each suboptimality threshold."""
    header = ["driver", "workers"] + [f"t(<{t:g})" for t in THRESHOLDS] + [
        "objective", "rel. subopt", metric_name, "epochs", "updates/s"]
    lines = []
    for s in summaries:
        lines.append([
            s.driver, str(s.n_workers), *(_seconds(s.time_to[t]) for t in THRESHOLDS),
            f"{s.final_objective:.8g}",
            "-" if s.final_suboptimality != s.final_suboptimality else f"{s.final_suboptimality:.2e}",
            "-" if s.test_metric != s.test_metric else f"{s.test_metric:.4f}",
            f"{s.epochs:g}", f"{s.updates_per_s:.3g}",
        ])
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]
    out = io.StringIO()
    out.write("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for line in lines:
        out.write("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() + "\n")
    return out.getvalue()
