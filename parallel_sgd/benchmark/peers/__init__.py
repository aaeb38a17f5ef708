"""Other solvers, run on a psgd Problem so they can be compared with the drivers.

Each peer is an adapter: it trains an outside library on the Problem's data with
the penalty mapped to that library's convention (scikit-learn SGD's ``alpha`` is
ours; liblinear's and ``LogisticRegression``'s ``C`` is ``1 / (n alpha)``) and
records trace rows through :class:`parallel_sgd.trace.Trace`, so the objective
of every checkpoint is evaluated by our Problem with the solver clock stopped.

A peer whose package is missing is "not installed" (never an ImportError at
import time: every library is imported when the peer runs); one that cannot
solve the problem (a loss it lacks, L1, sample weights) says why.
"""
import importlib.util
from dataclasses import dataclass

from ...errors import check_choice
from ...trace import Trace


@dataclass(frozen=True)
class Peer:
    """An outside solver: what it needs installed and which problems it can solve."""

    name: str
    module: str              # the import name that must be present
    package: str             # what to ``pip install``
    losses: tuple
    description: str
    l1: bool = True          # supports l1_ratio > 0
    sample_weight: bool = True
    comparable: bool = True  # minimizes our objective (False: throughput only)

    @property
    def installed(self):
        return importlib.util.find_spec(self.module) is not None

    def unusable_reason(self, problem):
        """Why this peer cannot solve ``problem`` (None when it can)."""
        if not self.installed:
            return f"not installed (pip install {self.package})"
        if problem.loss.name not in self.losses:
            return f"has no loss {problem.loss.name!r} (it has: {', '.join(self.losses)})"
        if problem.l1_ratio > 0 and not self.l1:
            return "does not take an L1 penalty here (l1_ratio must be 0)"
        if problem.data.sample_weight is not None and not self.sample_weight:
            return "does not take sample weights"
        return None


PEERS = {peer.name: peer for peer in (
    Peer("sklearn-sgd", "sklearn", "scikit-learn",
         ("log_loss", "hinge", "squared_hinge", "modified_huber", "squared_error"),
         "scikit-learn SGDClassifier / SGDRegressor, one partial_fit per epoch"),
    Peer("sklearn-saga", "sklearn", "scikit-learn", ("log_loss",),
         "scikit-learn LogisticRegression(solver='saga'), max_iter 1, 2, 4, ... passes"),
    Peer("sklearn-liblinear", "sklearn", "scikit-learn", ("log_loss",),
         "scikit-learn LogisticRegression(solver='liblinear'), max_iter 1, 2, 4, ... "
         "(its intercept is penalized)", l1=False),
    Peer("liblinear", "liblinear", "liblinear-official",
         ("log_loss", "hinge", "squared_hinge", "squared_error"),
         "liblinear (primal Newton, dual CD for hinge), tolerance 1e-1 ... 1e-8",
         l1=False, sample_weight=False),
    Peer("vw", "vowpalwabbit", "vowpalwabbit", ("log_loss", "hinge", "squared_error"),
         "Vowpal Wabbit from its cache, 1, 2, 4, ... passes; its --l2 minimizes another "
         "objective, so it is compared on throughput only", sample_weight=False,
         comparable=False),
)}


def select_peers(problem, names=None):
    """Split peers into those that can run on ``problem`` and those that cannot.

    Parameters
    ----------
    problem : Problem
    names : list of str, optional
        Peers asked for by name (unknown names raise ``ValueError``); by default all.

    Returns
    -------
    runnable : list of str
    skipped : list of (str, str)
        ``(name, reason)`` for every peer that cannot run.
    """
    if names is None:
        names = list(PEERS)
    for name in names:
        check_choice("peer", name, PEERS)
    runnable, skipped = [], []
    for name in names:
        reason = PEERS[name].unusable_reason(problem)
        if reason is None:
            runnable.append(name)
        else:
            skipped.append((name, reason))
    return runnable, skipped


def run_peer(name, problem, *, n_epochs=10, random_state=0, learning_rate="optimal", eta0=None,
             optimum=None, test=None, callback=None):
    """Train peer ``name`` on ``problem``; returns its trace rows (flat dicts, like ``fit``'s).

    ``n_epochs`` bounds the passes of the epoch-based peers (and the passes VW
    makes); ``learning_rate``/``eta0`` are mapped onto scikit-learn SGD's own
    schedules. ``callback(row)`` sees every row; returning True stops the peer.
    Every row has ``n_workers = 1``: the peers run on one thread.
    """
    peer = PEERS[check_choice("peer", name, PEERS)]
    reason = peer.unusable_reason(problem)
    if reason is not None:
        raise ValueError(f"peer {name!r} {reason}")
    trace = Trace(problem, name, 1, optimum=optimum if peer.comparable else None, test=test,
                  callback=callback)
    if name == "sklearn-sgd":
        from .sklearn import run_sgd
        run_sgd(problem, trace, n_epochs, random_state, learning_rate, eta0)
    elif name == "sklearn-saga":
        from .sklearn import run_saga
        run_saga(problem, trace, n_epochs, random_state)
    elif name == "sklearn-liblinear":
        from .sklearn import run_liblinear
        run_liblinear(problem, trace)
    elif name == "liblinear":
        from .liblinear import run_liblinear
        run_liblinear(problem, trace)
    else:
        from .vw import run_vw
        run_vw(problem, trace, n_epochs)
    return trace.rows


__all__ = ["PEERS", "Peer", "run_peer", "select_peers"]
