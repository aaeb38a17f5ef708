"""The SVM-Rank driver: plain SGD on pairs of rows drawn within queries.

A :class:`~parallel_sgd.model.ranking.RankingProblem` trains through
:func:`.common.train_epochs` like every other problem (epochs, checkpoints,
divergence checks, the trace); an epoch is ``n_samples`` pair steps, its pairs
drawn uniformly at the epoch's start from the problem's
:class:`~parallel_sgd.model.ranking.PairSampler` with the run's own random
stream, and stepped by :func:`parallel_sgd.kernels.pairwise.pairwise_epoch`.
"""
import numpy as np

from ..kernels.args import Rows
from ..kernels.linalg import data_arrays
from ..kernels.pairwise import pairwise_epoch
from .common import average_start, check_plain_steps, train_epochs
from .state import ModelState


class PairSteps:
    """Runs stretches of pair steps; draws an epoch's pairs when the epoch starts."""

    def __init__(self, problem, state, random_state):
        self.data = Rows(*data_arrays(problem.data.X), problem.y, None)
        self.sampler = problem.sampler
        self.l2 = problem.penalty.l2
        self.state = state
        self.n = problem.n_samples
        self.first_step = state.steps
        self.rng = np.random.default_rng(random_state)
        self.pairs = None

    def run(self, rows, etas, t_start):
        """Steps ``t_start ...`` (``len(etas)`` of them, within one epoch); ``rows`` is
        None (the pairs are this runner's own)."""
        position = (t_start - self.first_step) % self.n
        if position == 0 or self.pairs is None:
            self.pairs = self.sampler.draw(self.rng, self.n)
        first, second = (side[position:position + len(etas)] for side in self.pairs)
        return pairwise_epoch(self.data, self.state.kernel_model, self.state.average, self.l2,
                              first, second, etas, t_start)

    def warm_up(self):
        """Compile (or load) the kernel before any clock starts."""
        none = np.zeros(0, dtype=np.int64)
        pairwise_epoch(self.data, self.state.kernel_model, self.state.average, self.l2, none,
                       none, np.zeros(0), 0)


def check_options(problem, n_workers, batch_size, rule, intercept_init):
    """Refuse what the pairwise driver cannot do, naming the alternatives."""
    if n_workers != 1:
        raise ValueError(f"ranking problems are trained on one thread: n_workers must be 1, "
                         f"got {n_workers}")
    check_plain_steps("ranking problems", "pair", batch_size, rule)
    if intercept_init not in (None, 0, 0.0):
        raise ValueError("a ranking model has no intercept: leave intercept_init unset")


def run(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state, eval_every,
        trace, coef_init=None, intercept_init=None, average=False, shuffle=True):
    """Train SVM-Rank; see :func:`parallel_sgd.fit` for the common arguments.

    Its steps are on pairs of rows drawn at random within queries, so there is no
    row order to choose: ``shuffle`` must be True.

    Driver option: ``average`` as for the sync driver (True, or the 1-based step the
    average of the iterates starts at). ``Result.state`` holds the model state and
    its step count.
    """
    check_options(problem, n_workers, batch_size, rule, intercept_init)
    if shuffle is not True:
        raise ValueError(f"SVM-Rank draws pairs of rows at random within queries: shuffle "
                         f"must be True, got {shuffle!r}")
    start = average_start(average)
    state = ModelState(problem.n_features, problem.data.dtype, rule, coef_init, 0.0)
    if start is not None:
        state.start_averaging(start)
    steps = PairSteps(problem, state, random_state)
    steps.warm_up()
    result = train_epochs(problem, trace, state, schedule, steps.run, n_epochs=n_epochs,
                          eval_every=eval_every, random_state=random_state, shuffle=None)
    state.steps += result.n_updates
    result.state = state
    return result
