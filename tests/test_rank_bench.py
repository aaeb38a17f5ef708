"""`psgd bench --task rank`, run in-process on tiny query data, and once on MQ2008."""
import json

import numpy as np
import pytest

import parallel_sgd as psgd
from parallel_sgd.benchmark import rank_bench
from parallel_sgd.benchmark.report import read_trace
from parallel_sgd.cli import build_parser
from parallel_sgd.cli.bench import CLASSIFY_DEFAULTS, task_options
from parallel_sgd.model.ranking import PairSampler, ndcg_at_k, pairwise_accuracy

from .cli_helpers import run

pytest.importorskip("sklearn")

MODELS = ["svmrank", "svmrank-avg", "linearsvc"]


def make_queries(n_queries, seed, rows=15, n_features=8):
    """Relevance 0-2 from a noisy linear score, graded within each query."""
    rng = np.random.default_rng(seed)
    w = np.linspace(1.0, -0.5, n_features)
    X = rng.standard_normal((n_queries * rows, n_features))
    X[rng.random(X.shape) < 0.3] = 0.0
    score = X @ w + 0.3 * rng.standard_normal(X.shape[0])
    qid = np.repeat(np.arange(n_queries) * 7 + 100, rows)
    y = np.zeros(X.shape[0])
    for q in np.unique(qid):
        rows_q = np.flatnonzero(qid == q)
        y[rows_q] = np.digitize(score[rows_q], np.quantile(score[rows_q], [0.5, 0.8]))
    return psgd.Dataset(X, y, qid=qid)


@pytest.fixture(scope="module")
def rank_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rank")
    psgd.save_svmlight(make_queries(30, seed=0), folder / "train.svm")
    psgd.save_svmlight(make_queries(12, seed=1), folder / "test.svm")
    no_qid = psgd.make_sparse_classification(n_samples=50, n_features=8, nnz_per_row=3,
                                             random_state=0)
    psgd.save_svmlight(no_qid, folder / "no_qid.svm")
    return folder


def rank(files, out_dir, *extra):
    return ["bench", "--task", "rank", "--data", files / "train.svm", "--test",
            files / "test.svm", "--epochs", 5, "--out", out_dir, *extra]


def test_rank_bench_prints_the_table_and_writes_results(rank_files, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run(rank(rank_files, out_dir, "--repeats", 2), capsys)
    assert code == 0, err
    assert "NDCG@10" in out and "NDCG@5" in out and "pair acc." in out
    assert all(f"\n{model} " in out for model in MODELS)
    results = json.loads((out_dir / "results.json").read_text())
    assert results["task"] == "rank" and results["interrupted"] is False
    assert results["config"]["alpha"] == 1e-2 and results["config"]["epochs"] == 5
    assert results["machine"]["cpus"] >= 1 and results["machine"]["scikit-learn"]
    rows = results["rows"]
    assert [row["model"] for row in rows] == MODELS
    test = psgd.load_svmlight(rank_files / "test.svm")
    noise = np.random.default_rng(0).standard_normal(test.n_samples)
    random_ndcg = ndcg_at_k(test.y, noise, test.qid, k=10)
    random_accuracy = pairwise_accuracy(test.y, noise, test.qid)
    for row in rows:
        assert row["repeats"] == 2 and len(row["runs"]) == 2
        assert row["fit_s_min"] <= row["fit_s"] <= row["fit_s_max"]
        assert all(0.0 <= row[key] <= 1.0 for key in ("ndcg@10", "ndcg@5", "pairwise_accuracy"))
        assert row["ndcg@10"] > random_ndcg + 0.1
        assert row["pairwise_accuracy"] > max(0.8, random_accuracy + 0.2)
    n_train = results["config"]["n_samples"]
    assert rows[0]["pairs"] == rows[1]["pairs"] == 5 * n_train
    train = psgd.load_svmlight(rank_files / "train.svm")
    assert rows[2]["pairs"] == results["config"]["n_pairs"] == PairSampler(train.y,
                                                                           train.qid).n_pairs
    # the reference is the exact minimizer of the objective every row is measured by
    assert rows[2]["converged"] is True
    assert rows[2]["objective"] <= min(rows[0]["objective"], rows[1]["objective"]) + 1e-9
    assert not list(out_dir.glob(".*.part"))
    # SVM-Rank's convergence, checkpoint by checkpoint, against the reference's P*
    trace = read_trace(out_dir / "trace.csv")
    assert {(row["driver"], row["repeat"]) for row in trace} == {
        (model, repeat) for model in MODELS[:2] for repeat in (0, 1)}
    assert [row["epoch"] for row in trace if row["driver"] == "svmrank" and row["repeat"] == 0] \
        == [0, 1, 2, 3, 4, 5]
    p_star = min(run["objective"] for run in rows[2]["runs"])
    for row in trace:
        assert row["relative_suboptimality"] == pytest.approx(
            (row["objective"] - p_star) / abs(p_star), rel=1e-9, abs=1e-12)
        assert row["relative_suboptimality"] >= -1e-9 and 0.0 <= row["test_metric"] <= 1.0
    final = [row for row in trace if row["epoch"] == 5]
    assert sorted(row["objective"] for row in final) == pytest.approx(
        sorted(run["objective"] for r in rows[:2] for run in r["runs"]), rel=1e-12)
    assert (out_dir / "convergence.png").is_file() and "convergence.png" in out


def test_without_test_whole_queries_are_held_out(rank_files, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run(["bench", "--task", "rank", "--data", rank_files / "train.svm",
                          "--epochs", 3, "--repeats", 1, "--out", out_dir], capsys)
    assert code == 0, err
    assert "20% of the queries held out" in out
    config = json.loads((out_dir / "results.json").read_text())["config"]
    train, test = psgd.load_svmlight(rank_files / "train.svm").split(0.2, random_state=0)
    assert not set(train.qid) & set(test.qid)
    assert (config["n_samples"], config["n_test"]) == (train.n_samples, test.n_samples)


def test_pair_objective_is_the_mean_hinge_over_every_pair():
    data = make_queries(4, seed=2, rows=6)
    w = np.random.default_rng(3).standard_normal(data.n_features)
    scores = data.X @ w
    pairs = [(i, j) for i in range(data.n_samples) for j in range(data.n_samples)
             if data.qid[i] == data.qid[j] and data.y[i] > data.y[j]]
    expected = np.mean([max(0.0, 1.0 - scores[i] + scores[j]) for i, j in pairs]) \
        + 0.5 * 0.1 * w @ w
    assert rank_bench.pair_objective(data.X, data.y, data.qid, w, 0.1) == pytest.approx(
        expected, rel=1e-12)
    assert rank_bench.count_pairs(data) == len(pairs)


def test_classify_keeps_its_defaults():
    args = build_parser().parse_args(["bench"])
    assert args.task == "classify"
    task_options(args)
    assert {name: getattr(args, name) for name in CLASSIFY_DEFAULTS} == dict(
        alpha=1e-5, epochs=20.0, loss="log_loss", l1_ratio=0.0, no_intercept=False, workers=2,
        batch_size=1, optimizer="sgd", eval_every=1.0)
    assert args.drivers is None and args.peers is None and args.data is None


def test_a_suite_can_hold_a_rank_run(rank_files, tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text(f'[[run]]\nname = "rank"\ntask = "rank"\ndata = "{rank_files}/train.svm"\n'
                     f'test = "{rank_files}/test.svm"\nepochs = 2\nrepeats = 1\n')
    code, out, err = run(["bench", "--config", suite, "--out", tmp_path / "s", "--quiet"],
                         capsys)
    assert code == 0, err
    results = json.loads((tmp_path / "s" / "rank" / "results.json").read_text())
    assert [row["model"] for row in results["rows"]] == MODELS
    code, out, err = run(["plot", tmp_path / "s" / "rank"], capsys)
    assert code == 0, err
    assert "svmrank-avg" in out and (tmp_path / "s" / "rank" / "convergence.png").is_file()


def test_ctrl_c_keeps_the_finished_rows(rank_files, tmp_path, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(rank_bench, "reference_fit", interrupt)
    code, out, err = run(rank(rank_files, tmp_path / "run", "--repeats", 1), capsys)
    assert code == 130 and "partial results" in err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["interrupted"] is True
    assert [row["model"] for row in results["rows"]] == MODELS[:2]


@pytest.mark.parametrize("argv,message", [
    (["--data", "{files}/no_qid.svm"], "no_qid.svm has no qid: --task rank needs the query id"),
    (["--data", "{files}/train.svm", "--test", "{files}/no_qid.svm"], "no_qid.svm has no qid"),
    (["--data", "{files}/train.svm", "--workers", "2", "--loss", "hinge"],
     "--task rank does not take --loss, --workers"),
    (["--data", "{files}/train.svm", "--peers"], "--task rank does not take --peers"),
    (["--data", "{files}/train.svm", "--epochs", "2.5"], "takes whole --epochs"),
    (["--data", "{files}/train.svm", "--epochs", "0"], "needs --epochs >= 1 and --alpha > 0"),
    (["--data", "{files}/train.svm", "--alpha", "0"], "needs --epochs >= 1 and --alpha > 0"),
    (["--data", "{files}/train.svm", "--test", "no/such.svm"], "no such file: no/such.svm"),
    (["--data", "no/such.svm"], "is neither a file, a folder nor a known dataset"),
    (["--data", "a9a"], "a9a is a binary dataset without qid: --task rank needs query ids "
                        "(ranking datasets: mq2008.fold1)"),
])
def test_bad_rank_input_exits_2_with_one_line(argv, message, rank_files, capsys):
    code, out, err = run(["bench", "--task", "rank"]
                         + [a.format(files=rank_files) for a in argv], capsys)
    assert code == 2
    assert err.startswith("psgd: error: ") and err.count("\n") == 1
    assert message in err


def test_unknown_task_exits_2_with_one_line(capsys):
    code, out, err = run(["bench", "--task", "sort"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "argument --task: invalid choice: 'sort' (choose from 'classify', 'rank')" in err


def test_mq2008_ndcg_matches_the_linearsvc_reference(shared_data, tmp_path, capsys,
                                                     monkeypatch):
    """MQ2008 Fold1 train -> test from the catalog (the shared folder as its mirror),
    alpha=1e-2, 20 epochs; ~2 s. Over seeds 0-19 SVMRank's NDCG@10 is 0.711-0.722
    (averaged 0.713-0.722), the reference's 0.716."""
    monkeypatch.setenv("PSGD_DATA_MIRROR", str(shared_data))
    monkeypatch.setenv("PSGD_DATA_HOME", str(tmp_path / "home"))
    code, out, err = run(["bench", "--task", "rank", "--repeats", 1, "--out", tmp_path / "run"],
                         capsys)
    assert code == 0, err
    assert "mq2008.fold1 (train -> test)" in out and "52,325 pairs" in out
    rows = {row["model"]: row for row in
            json.loads((tmp_path / "run" / "results.json").read_text())["rows"]}
    reference = rows["linearsvc"]
    assert reference["objective"] == pytest.approx(0.51130, abs=5e-5)
    for model in ("svmrank", "svmrank-avg"):
        assert abs(rows[model]["ndcg@10"] - reference["ndcg@10"]) < 0.01
        assert rows[model]["objective"] <= reference["objective"] * 1.002
    assert rows["svmrank-avg"]["pairwise_accuracy"] > 0.81
