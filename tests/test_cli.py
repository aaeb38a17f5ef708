"""The `psgd` command, run in-process on tiny problems."""
import csv
import json

import numpy as np
import pytest

import parallel_sgd as psgd

from .cli_helpers import run


@pytest.fixture(autouse=True)
def private_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PSGD_DATA_HOME", str(tmp_path / "home"))


def test_bench_writes_table_results_and_trace(tiny_files, tmp_path, capsys):
    train, test = tiny_files
    out_dir = tmp_path / "run"
    code, out, err = run(["bench", "--data", train, "--test", test, "--epochs", 3,
                          "--alpha", 1e-3, "--drivers", "sync", "--repeats", 1,
                          "--out", out_dir], capsys)
    assert code == 0, err
    assert "t(<0.01)" in out and "accuracy" in out and "sync" in out
    results = json.loads((out_dir / "results.json").read_text())
    assert results["config"]["drivers"] == ["sync"]
    assert results["optimum"]["objective"] > 0
    summary = results["summaries"][0]
    assert summary["driver"] == "sync" and summary["epochs"] == 3.0
    assert 0.5 < summary["test_metric"] <= 1.0
    with open(out_dir / "trace.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["epoch"]) for r in rows] == [0.0, 1.0, 2.0, 3.0]
    assert all(float(r["suboptimality"]) >= -1e-9 for r in rows)
    assert not list(out_dir.glob(".*.part"))


def test_train_then_predict(tiny_files, tmp_path, capsys):
    train, test = tiny_files
    model = tmp_path / "model.npz"
    code, out, err = run(["train", "--data", train, "--loss", "hinge", "--alpha", 1e-3,
                          "--epochs", 5, "--model-out", model], capsys)
    assert code == 0, err
    assert "model saved" in out
    code, out, err = run(["predict", "--model", model, "--data", test], capsys)
    assert code == 0, err
    predictions = np.array(out.split(), dtype=float)
    truth = psgd.load_svmlight(test, n_features=200).y
    assert set(np.unique(predictions)) <= {-1.0, 1.0}
    assert np.mean(predictions == truth) > 0.6
    assert "accuracy:" in err


def test_data_commands(tmp_path, capsys, shared_data, monkeypatch):
    monkeypatch.setenv("PSGD_DATA_MIRROR", str(shared_data))
    code, out, _ = run(["data", "fetch", "a9a"], capsys)
    assert code == 0 and "32561" in out
    code, out, _ = run(["data", "list"], capsys)
    assert code == 0 and "a9a" in out and "rcv1.binary" in out
    code, out, _ = run(["data", "info", shared_data / "a1a.gz"], capsys)
    assert code == 0 and "1605" in out


@pytest.mark.parametrize("argv,message", [
    (["bench", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["bench", "--data", "no/such/file.svm"], "neither a file, a folder nor a known dataset"),
    (["bench", "--drivers", "sync,spark"], "unknown driver 'spark'"),
    (["bench", "--workers", "0"], "must be >= 1"),
    (["bench", "--data", "{train}", "--loss", "absolute"], "unknown loss 'absolute'"),
    (["bench", "--data", "{train}", "--alpha", "-1"], "alpha must be"),
    (["predict", "--model", "missing.npz", "--data", "{train}"], "no such model file"),
    (["data", "info", "missing.svm"], "no such file"),
    (["data", "fetch", "imagenet"], "neither a file, a folder nor a known dataset"),
    (["train", "--data", "{train}"], "the following arguments are required: --model-out"),
    ([], "the following arguments are required: command"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, tiny_files, capsys):
    argv = [a.format(train=tiny_files[0]) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("psgd: error: ")
    assert message in lines[0]
    assert "Traceback" not in err


def test_malformed_file_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.svm"
    bad.write_text("1 1:0.5 2:1\n-1 3:x\n")
    code, _, err = run(["train", "--data", bad, "--model-out", tmp_path / "m.npz"], capsys)
    assert code == 2
    assert "bad.svm" in err and "line 2" in err
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.slow
def test_default_bench_runs_on_the_builtin_problem(tmp_path, capsys):
    code, out, err = run(["bench", "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    assert "synthetic sparse" in out
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["summaries"][0]["final_suboptimality"] < 1e-2
