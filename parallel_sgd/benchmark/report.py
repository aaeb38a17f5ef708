"""Result files and tables from saved traces (never from live solver state).

A run folder holds ``results.json`` (config, P*, machine, one summary per
entry) and ``trace.csv`` (every trace row, with its ``repeat``). Files are
written to a temporary name in the destination folder and renamed, so an
interrupted run never leaves a half-written file behind.
"""
import csv
import io
import json
import math
from pathlib import Path

from .._files import atomic_write
from ..trace import TRACE_FIELDS
from .runner import THRESHOLDS

CSV_FIELDS = ("repeat",) + TRACE_FIELDS
TEXT_FIELDS = ("driver",)


def json_safe(value):
    """JSON cannot hold NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_results(out_dir, config, optimum, summaries, rows, machine=None, **extra):
    """Write ``results.json`` and ``trace.csv`` into ``out_dir`` (created if needed).

    Parameters
    ----------
    out_dir : path
    config : dict
        The run's settings (JSON-serializable).
    optimum : dict
        ``P*`` and how it was found.
    summaries : list of DriverSummary
    rows : list of dict
        Trace rows (fields :data:`CSV_FIELDS`; missing ones are left empty).
    machine : dict, optional
    **extra
        More top-level keys for ``results.json`` (``interrupted``, ``skipped``).
    """
    out_dir = Path(out_dir)
    results = {"config": config, "optimum": optimum, "machine": machine or {},
               "summaries": [s.as_row() for s in summaries], **extra}
    with atomic_write(out_dir / "results.json") as handle:
        json.dump(json_safe(results), handle, indent=2)
        handle.write("\n")
    write_trace(out_dir, rows)
    return out_dir


def write_trace(out_dir, rows):
    """Write ``trace.csv`` (fields :data:`CSV_FIELDS`; missing ones left empty) into
    ``out_dir``, atomically."""
    with atomic_write(Path(out_dir) / "trace.csv", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in CSV_FIELDS})


def _number(text):
    if text in ("", None):
        return math.nan
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def read_trace(path):
    """The rows of a ``trace.csv`` as dicts of numbers (empty cells become NaN)."""
    with open(path, newline="") as handle:
        return [{k: (v if k in TEXT_FIELDS else _number(v)) for k, v in row.items()}
                for row in csv.DictReader(handle)]


def load_run(folder):
    """``(results, rows)`` of a run folder written by :func:`write_results`.

    Raises ``ValueError`` naming the folder when it is not a complete run folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"no such run folder: {folder}")
    missing = [name for name in ("results.json", "trace.csv") if not (folder / name).is_file()]
    if missing == ["trace.csv"] and '"task": "rank"' in (folder / "results.json").read_text():
        raise ValueError(f"{folder} is a psgd bench --task rank run of an older version: its "
                         f"results.json holds a table, no trace to plot")
    if missing:
        raise ValueError(f"{folder} is not a psgd run folder (no {missing[0]})")
    try:
        results = json.loads((folder / "results.json").read_text())
        rows = read_trace(folder / "trace.csv")
    except (json.JSONDecodeError, ValueError, KeyError) as exc:
        raise ValueError(f"{folder}: unreadable results ({exc})") from None
    return results, rows


def _value(row, key):
    value = row.get(key)
    return math.nan if value is None else value


def _seconds(value):
    return "-" if value != value else f"{value:.3g}s"


def columns(header, lines):
    """``header`` and the rows of cells ``lines`` as left-aligned text columns, a rule
    under the header; each line ends in a newline."""
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]
    text = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
            "  ".join("-" * w for w in widths)]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    return "\n".join(text) + "\n"


def format_table(summaries, metric_name="accuracy"):
    """The results table: one line per entry, times to each suboptimality threshold.

    ``summaries`` are :class:`DriverSummary` objects or their ``as_row()`` dicts
    (as stored in ``results.json``).
    """
    rows = [s.as_row() if hasattr(s, "as_row") else s for s in summaries]
    header = ["driver", "workers"] + [f"t(<{t:g})" for t in THRESHOLDS] + [
        "objective", "rel. subopt", metric_name, "passes", "updates/s"]
    lines, footnote = [], False
    for row in rows:
        marked = "throughput only" in row.get("kind", "")
        footnote = footnote or marked
        subopt, metric = _value(row, "final_suboptimality"), _value(row, "test_metric")
        epochs, speed = _value(row, "epochs"), _value(row, "updates_per_s")
        lines.append([
            row["driver"] + ("*" if marked else ""), str(row["n_workers"]),
            *(_seconds(_value(row, f"time_to_{t:g}")) for t in THRESHOLDS),
            "-" if marked else f"{_value(row, 'final_objective'):.8g}",
            "-" if subopt != subopt else f"{subopt:.2e}",
            "-" if metric != metric else f"{metric:.4f}",
            "-" if epochs != epochs else f"{epochs:g}",
            "-" if speed != speed else f"{speed:.3g}",
        ])
    out = io.StringIO()
    out.write(columns(header, lines))
    if any(row["driver"] == "svrg" for row in rows):
        out.write("passes: SVRG's are effective passes, gradient evaluations / n (a snapshot "
                  "is n, an inner step 1: each row's snapshot derivative is cached)\n")
    if footnote:
        out.write("* minimizes another objective (its own regularization): compare its "
                  "updates/s and test metric only\n")
    return out.getvalue()


def format_verdict(summaries):
    """One line per threshold: who got there first, and how much faster than the runner-up."""
    rows = [s.as_row() if hasattr(s, "as_row") else s for s in summaries]
    lines = []
    for t in THRESHOLDS:
        key = f"time_to_{t:g}"
        reached = sorted((_value(r, key), r["driver"]) for r in rows if _value(r, key) == _value(r, key))
        if not reached:
            lines.append(f"to {t:g}: nobody got there")
            continue
        best_time, best = reached[0]
        line = f"to {t:g}: {best} first ({best_time:.3g}s)"
        if len(reached) > 1 and best_time > 0:
            line += f", {reached[1][0] / best_time:.3g}x faster than {reached[1][1]}"
        missing = [r["driver"] for r in rows if _value(r, key) != _value(r, key)]
        if missing:
            line += f"; not reached by {', '.join(missing)}"
        lines.append(line)
    return "\n".join(lines) + "\n"
