"""Vowpal Wabbit as a peer, through its Python package (the pip wheel has no ``vw`` binary).

The data is written once per Problem as a VW text file and turned into VW's
binary cache outside any clock; each checkpoint is then a fresh run of 1, 2, 4,
... passes over the cache, timed from start-up to the end of the last pass.
VW's ``--l2`` does not minimize our objective (its updates are normalized and
adaptive), so its rows carry no suboptimality: it is compared on throughput
(updates/s) and test metric only.
"""
import atexit
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ...data import Dataset, save_svmlight
from .sklearn import doubling

LOSSES = {"log_loss": "logistic", "hinge": "hinge", "squared_error": "squared"}
CONSTANT_HASH = 11650396  # VW's index of the constant (intercept) feature

_caches = {}


def _cleanup():
    for folder in _caches.values():
        shutil.rmtree(folder, ignore_errors=True)
    _caches.clear()


atexit.register(_cleanup)


def _bits(n_features):
    return max(18, math.ceil(math.log2(n_features + 1)) + 2)


def cache_file(problem):
    """VW's binary cache of the Problem's data, built once per Problem (not timed)."""
    from vowpalwabbit import Workspace
    key = problem.fingerprint
    if key not in _caches:
        folder = Path(tempfile.mkdtemp(prefix="psgd-vw-"))
        _caches[key] = folder
        svm, text = folder / "data.svm", folder / "data.vw"
        save_svmlight(Dataset(problem.data.X, problem.y), svm)
        with open(svm) as source, open(text, "w") as target:
            for line in source:
                label, _, features = line.rstrip("\n").partition(" ")
                target.write(f"{label} | {features}\n")
        workspace = Workspace(f"--data {text} --cache_file {folder / 'data.cache'} -k "
                              f"--passes 1 --holdout_off --quiet -b {_bits(problem.n_features)}")
        workspace.run_parser()
        workspace.finish()
    return _caches[key] / "data.cache"


def options(problem, passes, cache):
    """VW's command line for ``passes`` passes over ``cache``."""
    text = (f"--cache_file {cache} --passes {passes} --holdout_off --quiet "
            f"-b {_bits(problem.n_features)} --loss_function {LOSSES[problem.loss.name]}")
    l2 = problem.alpha * (1.0 - problem.l1_ratio)
    l1 = problem.alpha * problem.l1_ratio
    if l2 > 0:
        text += f" --l2 {l2!r}"
    if l1 > 0:
        text += f" --l1 {l1!r}"
    if not problem.fit_intercept:
        text += " --noconstant"
    return text


def _weights(workspace, problem):
    mask = (1 << _bits(problem.n_features)) - 1
    w = np.array([workspace.get_weight_from_name(str(j + 1), " ")
                  for j in range(problem.n_features)])
    b = workspace.get_weight(CONSTANT_HASH & mask) if problem.fit_intercept else 0.0
    return w, float(b)


def run_vw(problem, trace, n_epochs):
    """A fresh VW run per pass count; a row per run, timed by that run alone."""
    from vowpalwabbit import Workspace
    cache = cache_file(problem)
    n = problem.n_samples
    trace.record(np.zeros(problem.n_features), 0.0, epoch=0, n_updates=0, n_grad_evals=0)
    for passes in doubling(n_epochs):
        started = time.perf_counter()
        workspace = Workspace(options(problem, passes, cache))
        workspace.run_parser()
        trace.clock.elapsed = time.perf_counter() - started
        try:
            w, b = _weights(workspace, problem)
        finally:
            workspace.finish()
        if trace.record(w, b, epoch=passes, n_updates=passes * n, n_grad_evals=passes * n):
            break
