"""`psgd bench` and `psgd plot`, run in-process on tiny problems."""
import csv
import json

import pytest
from matplotlib.image import imread

from parallel_sgd import cli
from parallel_sgd.benchmark.peers import Peer
from parallel_sgd.benchmark.plots import DPI, FIGSIZE
from parallel_sgd.benchmark.progress import ProgressBars
from parallel_sgd.drivers import DRIVERS, local_drivers

from .cli_helpers import run

PNG_SHAPE = (int(FIGSIZE[1] * DPI), int(FIGSIZE[0] * DPI))


def bench(files, out_dir, *extra):
    return ["bench", "--data", files[0], "--test", files[1], "--alpha", 1e-3, "--epochs", 3,
            "--quiet", "--out", out_dir, *extra]


def read_rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def check_png(path):
    image = imread(path)
    assert image.shape[:2] == PNG_SHAPE
    assert image.std() > 0  # not a blank canvas


def test_bench_repeats_writes_every_file(tiny_files, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run(bench(tiny_files, out_dir, "--drivers", "sync,hogwild", "--repeats", 2),
                         capsys)
    assert code == 0, err
    assert "t(<0.0001)" in out and "updates/s" in out and "to 0.01:" in out
    results = json.loads((out_dir / "results.json").read_text())
    assert set(results) >= {"config", "optimum", "machine", "summaries", "interrupted"}
    assert results["interrupted"] is False
    assert results["machine"]["cpus"] >= 1 and results["machine"]["processor"]
    assert [s["driver"] for s in results["summaries"]] == ["sync", "hogwild"]
    assert all(s["repeats"] == 2 for s in results["summaries"])
    # --workers 2 (the default) is what Hogwild! used; serial SGD steps on one thread
    assert [s["n_workers"] for s in results["summaries"]] == [1, 2]
    table = {line.split()[0]: line.split()[1] for line in out.splitlines()
             if line.split()[:1] in (["sync"], ["hogwild"])}
    assert table == {"sync": "1", "hogwild": "2"}
    assert all(s["time_s_min"] <= s["time_s"] <= s["time_s_max"] for s in results["summaries"])
    rows = read_rows(out_dir / "trace.csv")
    assert {(r["driver"], r["repeat"]) for r in rows} == {
        (d, str(k)) for d in ("sync", "hogwild") for k in (0, 1)}
    assert len(rows) == 2 * 2 * 4
    check_png(out_dir / "convergence.png")
    assert not list(out_dir.glob(".*.part"))


def test_bench_defaults_to_every_local_driver(tiny_files, tmp_path, capsys):
    code, _, err = run(bench(tiny_files, tmp_path / "run", "--repeats", 1), capsys)
    assert code == 0, err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    ran = [s["driver"] for s in results["summaries"]]
    skipped = [s["name"] for s in results["skipped"]]
    assert sorted(ran + skipped) == sorted(d for d in DRIVERS if d != "ray")


def test_bench_with_a_peer(tiny_files, tmp_path, capsys):
    pytest.importorskip("sklearn")
    out_dir = tmp_path / "run"
    code, out, err = run(bench(tiny_files, out_dir, "--drivers", "sync", "--peers", "sklearn-sgd",
                               "--repeats", 1), capsys)
    assert code == 0, err
    results = json.loads((out_dir / "results.json").read_text())
    peer = results["summaries"][1]
    assert peer["driver"] == "sklearn-sgd" and peer["kind"] == "peer"
    assert peer["n_workers"] == 1 and peer["epochs"] == 3
    assert peer["final_suboptimality"] < 0.5 and peer["test_metric"] > 0.5


@pytest.fixture()
def only_sklearn_installed(monkeypatch):
    monkeypatch.setattr(Peer, "installed", property(lambda self: self.module == "sklearn"))


def test_all_peers_notes_the_missing_ones(tiny_files, tmp_path, capsys, only_sklearn_installed):
    code, out, err = run(bench(tiny_files, tmp_path / "run", "--drivers", "sync", "--peers",
                               "--repeats", 1, "--epochs", 2), capsys)
    assert code == 0, err
    assert "peer vw not installed (pip install vowpalwabbit)" in err
    assert "peer liblinear not installed (pip install liblinear-official)" in err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [s["driver"] for s in results["summaries"]] == [
        "sync", "sklearn-sgd", "sklearn-saga", "sklearn-liblinear"]


def test_ctrl_c_keeps_partial_results(tiny_files, tmp_path, capsys, monkeypatch):
    seen = []

    def interrupt_on_third_row(self, row):
        seen.append(row)
        if len(seen) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(ProgressBars, "update", interrupt_on_third_row)
    out_dir = tmp_path / "run"
    code, out, err = run(bench(tiny_files, out_dir, "--drivers", "sync,hogwild", "--repeats", 1),
                         capsys)
    assert code == 130
    lines = err.strip().splitlines()
    assert lines == [f"psgd: interrupted; partial results in {out_dir}"]
    results = json.loads((out_dir / "results.json").read_text())
    assert results["interrupted"] is True
    assert [s["driver"] for s in results["summaries"]] == ["sync"]
    assert len(read_rows(out_dir / "trace.csv")) == 3
    check_png(out_dir / "convergence.png")
    assert not list(out_dir.glob(".*.part"))


def test_sigterm_keeps_partial_results_and_exits_143(tiny_files, tmp_path, capsys,
                                                     monkeypatch):
    """A real SIGTERM in the middle of a fit (what timeout, SLURM, Kubernetes and Docker
    send) stops the run at the fit's next safe point, as Ctrl-C does."""
    import os
    import signal

    seen = []

    def terminate_on_third_row(self, row):
        seen.append(row)
        if len(seen) == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(ProgressBars, "update", terminate_on_third_row)
    out_dir = tmp_path / "run"
    code, out, err = run(bench(tiny_files, out_dir, "--drivers", "sync,hogwild", "--repeats", 1),
                         capsys)
    assert code == 143
    assert err.strip().splitlines() == [f"psgd: terminated; partial results in {out_dir}"]
    results = json.loads((out_dir / "results.json").read_text())
    assert results["interrupted"] is True and results["summaries"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back after the command
    assert not list(out_dir.glob(".*.part"))


DIVERGING = ("--loss", "squared_hinge", "--learning-rate", "constant", "--eta0", 1e4)


@pytest.mark.filterwarnings("ignore:the first step")
def test_a_diverging_driver_is_reported_not_fatal(tiny_files, tmp_path, capsys, monkeypatch):
    from parallel_sgd.errors import DivergenceError

    def diverges(problem, **kwargs):
        raise DivergenceError("training diverged at epoch 0, step 3 (a prediction became NaN)")

    monkeypatch.setitem(DRIVERS, "hogwild", diverges)
    code, out, err = run(bench(tiny_files, tmp_path / "run", "--drivers", "sync,hogwild",
                               "--repeats", 1), capsys)
    assert code == 0, err
    assert "psgd: note: hogwild skipped: " in err and "diverged" in err
    assert "Traceback" not in err


@pytest.mark.filterwarnings("ignore:the first step")
def test_a_run_whose_every_driver_diverged_exits_2_and_says_why(tiny_files, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run(bench(tiny_files, out_dir, "--drivers", "sync", "--repeats", 1,
                               *DIVERGING), capsys)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("psgd: diverged: every driver diverged (sync: stopped after 1 rows: "
                           "training diverged") and last.endswith(f"files in {out_dir}")
    assert json.loads((out_dir / "results.json").read_text())["skipped"][0]["name"] == "sync"


def test_a_run_that_measured_nothing_exits_2(tiny_files, tmp_path, capsys):
    code, out, err = run(bench(tiny_files, tmp_path / "run", "--repeats", 1,
                               "--learning-rate", "foo"), capsys)  # every default driver skips
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("psgd: error: no driver measured anything (sync: ")
    for name in local_drivers():
        assert f"{name}: " in last


@pytest.mark.filterwarnings("ignore:the first step")
def test_a_non_empty_out_is_refused_before_the_run_unless_overwrite(tiny_files, tmp_path,
                                                                   capsys):
    out_dir = tmp_path / "run"
    assert run(bench(tiny_files, out_dir, "--drivers", "sync", "--repeats", 1), capsys)[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    assert set(before) == {"results.json", "trace.csv", "convergence.png"}
    code, out, err = run(bench(tiny_files, out_dir, "--drivers", "sync", "--repeats", 1), capsys)
    assert code == 2 and out == ""  # refused before anything was measured
    assert err.strip() == (f"psgd: error: --out {out_dir}: not empty (convergence.png, "
                           f"results.json, trace.csv); pass --overwrite to replace an earlier "
                           f"run's files, or name another folder")
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()} == before
    # with --overwrite a run that draws no figure leaves no figure of the earlier run behind
    code, out, err = run(bench(tiny_files, out_dir, "--repeats", 1, "--overwrite",
                               "--learning-rate", "foo"), capsys)  # measures nothing
    assert code == 2
    assert sorted(p.name for p in out_dir.iterdir()) == ["results.json", "trace.csv"]
    results = json.loads((out_dir / "results.json").read_text())
    assert results["config"]["learning_rate"] == "foo" and not results["summaries"]


def test_plot_redraws_and_overlays(tiny_files, tmp_path, capsys):
    for name, driver in (("a", "sync"), ("b", "hogwild")):
        code, _, err = run(bench(tiny_files, tmp_path / name, "--drivers", driver, "--repeats", 1),
                           capsys)
        assert code == 0, err
    (tmp_path / "a" / "convergence.png").unlink()
    code, out, err = run(["plot", tmp_path / "a"], capsys)
    assert code == 0, err
    check_png(tmp_path / "a" / "convergence.png")
    assert "sync" in out
    overlay = tmp_path / "both.png"
    code, out, err = run(["plot", tmp_path / "a", tmp_path / "b", "--out", overlay], capsys)
    assert code == 0, err
    check_png(overlay)
    assert "figure: " in out and "hogwild" in out


SUITE = """
[defaults]
data = "{train}"
test = "{test}"
epochs = 2
repeats = 1
alpha = 1e-3

[[run]]
name = "log"
drivers = ["sync"]

[[run]]
name = "hinge"
loss = "hinge"
drivers = "sync,hogwild"
"""


def test_config_suite_writes_one_folder_per_run(tiny_files, tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(train=tiny_files[0], test=tiny_files[1]))
    code, out, err = run(["bench", "--config", suite, "--out", tmp_path / "suite", "--quiet"],
                         capsys)
    assert code == 0, err
    assert "== log (1/2) ==" in out and "== hinge (2/2) ==" in out
    log = json.loads((tmp_path / "suite" / "log" / "results.json").read_text())
    hinge = json.loads((tmp_path / "suite" / "hinge" / "results.json").read_text())
    assert log["config"]["loss"] == "log_loss" and log["config"]["epochs"] == 2.0
    assert hinge["config"]["loss"] == "hinge" and hinge["config"]["drivers"] == ["sync", "hogwild"]
    check_png(tmp_path / "suite" / "hinge" / "convergence.png")


@pytest.mark.parametrize("argv,message", [
    (["bench", "--drivers", "sync,spark"], "unknown driver 'spark'"),
    (["bench", "--peers", "sklearn-sgd,matlab"], "unknown peer 'matlab'"),
    (["bench", "--workers", "0"], "must be >= 1"),
    (["bench", "--repeats", "0"], "must be >= 1"),
    (["bench", "--data", "{train}", "--test", "no/such.svm"], "no such file: no/such.svm"),
    (["bench", "--config", "no/such.toml"], "no such config file"),
    (["bench", "--config", "{bad_toml}"], "not valid TOML"),
    (["bench", "--config", "{bad_key}"], "run 'x': unrecognized arguments: --frobnicate"),
    (["bench", "--config", "{bad_driver}"], "unknown driver 'spark'"),
    (["bench", "--config", "{no_runs}"], "needs at least one [[run]] table"),
    (["plot", "no/such/dir"], "no such run folder"),
    (["plot", "{folder}"], "is not a psgd run folder (no results.json)"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, tiny_files, tmp_path, capsys):
    files = {"bad_toml": "[[run]\n", "bad_key": '[[run]]\nname = "x"\nfrobnicate = 1\n',
             "bad_driver": '[[run]]\ndrivers = "spark"\n', "no_runs": "[defaults]\nepochs = 1\n"}
    paths = {}
    for key, text in files.items():
        paths[key] = tmp_path / f"{key}.toml"
        paths[key].write_text(text)
    argv = [a.format(train=tiny_files[0], folder=tmp_path, **paths) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("psgd: error: "), err
    assert message in lines[0]


@pytest.mark.parametrize("task", ["classify", "rank"])
@pytest.mark.parametrize("out", ["{file}", "{file}/run", "/proc/psgd-run"])
def test_an_unusable_out_fails_before_the_run(task, out, tiny_files, tmp_path, capsys):
    """An --out that is a file, under a file or where nothing can be written fails at
    once, before any data is read or measured, and makes no folder."""
    file = tmp_path / "results.json"
    file.write_text("{}")
    out = out.format(file=file)
    argv = (["bench", "--task", "rank", "--data", "no/such/data.svm", "--out", out] if
            task == "rank" else bench(tiny_files, out))
    code, stdout, err = run(argv, capsys)
    assert code == 2 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"psgd: error: --out {out}: "), err
    assert file.read_text() == "{}" and sorted(tmp_path.iterdir()) == [file]


def test_an_unusable_suite_out_fails_before_the_first_run(tiny_files, tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(train=tiny_files[0], test=tiny_files[1]))
    code, out, err = run(["bench", "--config", suite, "--out", suite / "runs", "--quiet"],
                         capsys)
    assert code == 2 and "==" not in out
    assert err.strip() == f"psgd: error: --out {suite / 'runs'}: {suite} is a file, not a folder"


def test_named_peer_not_installed_is_an_error(tiny_files, tmp_path, capsys, only_sklearn_installed):
    code, _, err = run(bench(tiny_files, tmp_path / "run", "--peers", "vw"), capsys)
    assert code == 2
    assert err.strip() == "psgd: error: peer 'vw' not installed (pip install vowpalwabbit)"


def test_default_drivers_leave_out_ray(monkeypatch):
    monkeypatch.setitem(DRIVERS, "ray", object())
    assert "ray" not in local_drivers() and "sync" in local_drivers()


def test_the_shipped_suite_parses():
    from pathlib import Path

    from parallel_sgd.benchmark.suite import read_suite
    entries = read_suite(Path(__file__).parents[1] / "bench" / "suite.toml")
    assert [name for name, _ in entries] == ["synthetic-log", "synthetic-hinge", "a9a-log-peers"]
    args = cli.build_parser().parse_args(["bench", *entries[2][1]])
    assert args.peers == "all" and args.learning_rate == "inverse_sqrt" and args.repeats == 3


def test_ctrl_c_while_drawing_keeps_the_results(tiny_files, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    from parallel_sgd.benchmark import session
    monkeypatch.setattr(session, "plot_convergence", interrupted)
    out_dir = tmp_path / "run"
    code, _, err = run(bench(tiny_files, out_dir, "--drivers", "sync", "--repeats", 1), capsys)
    assert code == 130
    assert err.strip() == f"psgd: interrupted; partial results in {out_dir}"
    assert json.loads((out_dir / "results.json").read_text())["summaries"]
    assert not (out_dir / "convergence.png").exists()


def test_the_table_says_svrg_counts_effective_passes():
    from parallel_sgd.benchmark.report import format_table
    row = {"driver": "svrg", "n_workers": 1, "time_to_0.01": 0.1, "time_to_0.0001": 0.2,
           "time_to_1e-06": float("nan"), "final_objective": 0.5, "final_suboptimality": 1e-5,
           "test_metric": 0.9, "epochs": 12.0, "updates_per_s": 1e6}
    table = format_table([row])
    assert "passes" in table.splitlines()[0] and "effective passes" in table
    assert "effective passes" not in format_table([dict(row, driver="sync")])
