"""``psgd bench --task rank``: SVM-Rank by sampled pairs against a pairwise-transform LinearSVC.

Three models minimize the same objective (:mod:`parallel_sgd.model.ranking`)

    P(w) = (1/|Pairs|) sum_{(i, j) in Pairs} max(0, 1 - (x_i - x_j).w) + alpha/2 ||w||^2

``svmrank`` and ``svmrank-avg`` are ``psgd.fit`` on a
:class:`~parallel_sgd.model.ranking.RankingProblem` (the last iterate, and the
average of the iterates from the first quarter of the epochs on, as
:class:`psgd.SVMRank` trains them); they draw ``epochs x n_samples`` pairs and never
build them, and their traces hold the exact objective after every epoch (test
NDCG@10 too). ``linearsvc`` builds every pair difference and solves the problem
exactly with liblinear's dual coordinate descent at ``C = 1/(|Pairs| alpha)``, as
the ranking tests do: its objective is the ``P*`` of the traces' suboptimality and
of the convergence figure. Every model's final objective is evaluated over every
pair from its weights alone; its test scores give NDCG@10, NDCG@5 and the pairwise
accuracy. Fit times include the pair sampler (or building the pairs) but not the
traces' checkpoints (``wall_s`` includes them), and are medians over repeats with
seeds ``seed, seed + 1, ...``, after a warm-up fit.
"""
import json
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .. import RankingProblem, fit
from .._files import atomic_write
from ..model.ranking import PairSampler, ndcg_at_k, pair_objective, pairwise_accuracy
from .report import columns, json_safe, write_trace
from .runner import finite_median

MODELS = ("svmrank", "svmrank-avg", "linearsvc")
# the reference holds every pair difference in memory: above this many pairs it is skipped
MAX_REFERENCE_PAIRS = 5_000_000
METRICS = ("objective", "ndcg@10", "ndcg@5", "pairwise_accuracy")


def count_pairs(data):
    """The number of pairs ``(i, j)`` of one query with ``y_i > y_j`` in a Dataset with qid."""
    return PairSampler(data.y, data.qid).n_pairs


def reference_fit(train, alpha, random_state=0):
    """The exact SVM-Rank optimum by a pairwise-transform ``LinearSVC``.

    Every pair ``(i, j)`` becomes one row ``x_i - x_j`` (sparse), with alternating
    signs so that both classes are present; ``LinearSVC(loss="hinge",
    fit_intercept=False, C=1/(|Pairs| alpha))`` then minimizes ``P(w) / alpha``.

    Returns
    -------
    coef : ndarray, shape (n_features,)
    n_pairs : int
        The pairs built.
    converged : bool
        False when liblinear stopped at its iteration limit.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    sampler = PairSampler(train.y, train.qid)
    X = sp.csr_matrix(train.X)
    first, second = sampler.pairs(np.arange(sampler.n_pairs))
    signs = np.where(np.arange(sampler.n_pairs) % 2 == 0, 1.0, -1.0)
    diffs = sp.diags(signs) @ (X[first] - X[second])
    svc = LinearSVC(C=1.0 / (sampler.n_pairs * alpha), loss="hinge", fit_intercept=False,
                    tol=1e-6, max_iter=100_000, random_state=random_state)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        svc.fit(diffs, signs)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return svc.coef_.ravel().astype(np.float64), sampler.n_pairs, converged


def fit_svmrank(train, test, alpha, epochs, average, learning_rate, eta0, seed):
    """SVM-Rank through ``psgd.fit``, a checkpoint after every epoch; returns the Result
    and the seconds spent building the problem (the pair sampler). The fit is the one
    ``psgd.SVMRank(random_state=seed)`` makes (it draws its stream's seed alike)."""
    started = time.perf_counter()
    problem = RankingProblem(train, alpha)
    setup = time.perf_counter() - started
    result = fit(problem, driver="sync", n_epochs=epochs, eval_every=1.0,
                 learning_rate=learning_rate or "optimal", eta0=eta0,
                 random_state=np.random.RandomState(seed).randint(2**31 - 1),
                 average=average, test=test)
    return result, setup


def average_from(n_samples, epochs):
    """The step ``svmrank-avg`` starts averaging at: after the first quarter of the epochs."""
    return max(1, n_samples * (epochs // 4))


def _few_queries(data, sampler, n_queries=20):
    """The rows of the first ``n_queries`` queries that hold a pair."""
    with_pairs = np.unique(sampler.qid[sampler.below > 0])[:n_queries]
    return data.take(np.flatnonzero(np.isin(data.qid, with_pairs)))


def _metrics(test, scores):
    return {"ndcg@10": ndcg_at_k(test.y, scores, test.qid, k=10),
            "ndcg@5": ndcg_at_k(test.y, scores, test.qid, k=5),
            "pairwise_accuracy": pairwise_accuracy(test.y, scores, test.qid)}


def _median_row(model, runs):
    times = [run["fit_s"] for run in runs]
    row = {"model": model, "repeats": len(runs), "fit_s": float(np.median(times)),
           "fit_s_min": min(times), "fit_s_max": max(times), "pairs": runs[0]["pairs"]}
    for key in METRICS:
        row[key] = finite_median([run[key] for run in runs])
    if "converged" in runs[0]:
        row["converged"] = all(run["converged"] for run in runs)
    row["runs"] = runs
    return row


def run_rank_bench(train, test, *, alpha=1e-2, epochs=20, repeats=3, seed=0,
                   learning_rate=None, eta0=None, reference=None, on_note=None, rows=None,
                   trace=None):
    """Fit every model ``repeats`` times; one summary row per model.

    Parameters
    ----------
    train, test : Dataset
        With ``qid``.
    alpha : float
    epochs : int
        SVMRank's ``max_iter``: ``epochs x n_samples`` pair steps.
    repeats : int
    seed : int
        Repeat ``r`` uses ``seed + r``.
    learning_rate, eta0 :
        SVMRank's schedule (None: ``optimal``).
    reference : bool, optional
        Run the LinearSVC reference (None: when the training set has at most
        :data:`MAX_REFERENCE_PAIRS` pairs).
    on_note : callable, optional
        Called with a one-line note (why the reference did not run, or did not converge).
    rows : list, optional
        Rows are appended here as they finish, so a caller keeps them on Ctrl-C.
    trace : list, optional
        The SVM-Rank fits' trace rows are appended here (``driver`` is the model,
        ``repeat`` the repeat), with their suboptimality against the reference's
        objective once the reference has converged.

    Returns
    -------
    list of dict
        ``model, repeats, fit_s (median), fit_s_min, fit_s_max, pairs, objective,
        ndcg@10, ndcg@5, pairwise_accuracy`` (medians over repeats), ``runs`` (each
        repeat's values, ``wall_s`` included) and, for the reference, ``converged``.
    """
    note = on_note or (lambda text: None)
    rows = [] if rows is None else rows
    trace = [] if trace is None else trace
    sampler = PairSampler(train.y, train.qid)
    start_avg = average_from(train.n_samples, epochs)
    variants = [("svmrank", False), ("svmrank-avg", start_avg)]
    # the first fit in a process loads (or compiles) the kernels and imports liblinear:
    # not part of a fit's time; warm up on a few queries
    warm = _few_queries(train, sampler)
    for _, average in variants:
        fit_svmrank(warm, warm, alpha, 1, average, learning_rate, eta0, seed)
    for name, average in variants:
        runs = []
        for repeat in range(repeats):
            started = time.perf_counter()
            result, setup = fit_svmrank(train, test, alpha, epochs, average, learning_rate,
                                        eta0, seed + repeat)
            wall = time.perf_counter() - started
            for row in result.trace:
                trace.append({**row, "driver": name, "repeat": repeat})
            runs.append({"seed": seed + repeat, "fit_s": setup + result.time_s, "wall_s": wall,
                         "pairs": epochs * train.n_samples,
                         "objective": pair_objective(train.X, train.y, train.qid, result.coef,
                                                     alpha, sampler),
                         **_metrics(test, np.asarray(test.X @ result.coef).ravel())})
        rows.append(_median_row(name, runs))
    if reference is None:
        if sampler.n_pairs > MAX_REFERENCE_PAIRS:
            note(f"linearsvc skipped: {sampler.n_pairs:,} pairs to build (more than "
                 f"{MAX_REFERENCE_PAIRS:,})")
            reference = False
        else:
            reference = True
    if reference:
        reference_fit(warm, alpha, seed)
        runs = []
        for repeat in range(repeats):
            started = time.perf_counter()  # building the pairs is part of the fit
            coef, n_pairs, converged = reference_fit(train, alpha, seed + repeat)
            elapsed = time.perf_counter() - started
            runs.append({"seed": seed + repeat, "fit_s": elapsed, "wall_s": elapsed,
                         "pairs": n_pairs, "converged": converged,
                         "objective": pair_objective(train.X, train.y, train.qid, coef,
                                                     alpha, sampler),
                         **_metrics(test, np.asarray(test.X @ coef).ravel())})
        row = _median_row("linearsvc", runs)
        if not row["converged"]:
            note("linearsvc stopped at its iteration limit (100,000): its objective is not "
                 "the optimum")
        else:
            add_suboptimality(trace, min(run["objective"] for run in runs))
        rows.append(row)
    return rows


def add_suboptimality(trace, p_star):
    """Fill in the trace rows' suboptimality against the reference objective ``p_star``."""
    for row in trace:
        row["suboptimality"] = row["objective"] - p_star
        row["relative_suboptimality"] = (row["objective"] - p_star) / abs(p_star)


def _cell(value, spec):
    return "-" if value is None or value != value else format(value, spec)


def format_rank_table(rows, n_pairs=None):
    """The ``--task rank`` table: one line per model (the medians of :func:`run_rank_bench`)."""
    header = ["model", "fit s", "pairs", "objective", "NDCG@10", "NDCG@5", "pair acc."]
    lines = [[row["model"], f"{row['fit_s']:.3f}", f"{row['pairs']:,}",
              _cell(row["objective"], ".6f"), _cell(row["ndcg@10"], ".4f"),
              _cell(row["ndcg@5"], ".4f"), _cell(row["pairwise_accuracy"], ".4f")]
             for row in rows]
    text = [columns(header, lines).rstrip("\n")]
    repeats = rows[0]["repeats"] if rows else 0
    text.append("pairs: drawn by svmrank (epochs x rows)"
                + (f" from the training set's {n_pairs:,}" if n_pairs is not None else "")
                + ", built by linearsvc")
    text.append(f"medians over {repeats} seed{'s' if repeats != 1 else ''}; fit s: building "
                "the pairs or their sampler, and training (svmrank's trace checkpoints not "
                "counted); objective: SVM-Rank's on the training pairs; NDCG and pairwise "
                "accuracy on the test queries")
    return "\n".join(text) + "\n"


def write_rank_results(out_dir, config, rows, machine, trace=(), **extra):
    """Write ``results.json`` (config, machine, rows, ``extra`` keys) and ``trace.csv``
    (the SVM-Rank fits' trace rows) into ``out_dir``, atomically."""
    out_dir = Path(out_dir)
    results = {"task": "rank", "config": config, "machine": machine, "rows": rows, **extra}
    with atomic_write(out_dir / "results.json") as handle:
        json.dump(json_safe(results), handle, indent=2)
        handle.write("\n")
    write_trace(out_dir, trace)
    return out_dir / "results.json"
