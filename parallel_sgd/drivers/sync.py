"""The synchronous driver: serial SGD (``batch_size=1``) or mini-batch SGD whose
batch gradient is computed in parallel over ``n_workers`` threads, one update per
batch. The baseline the asynchronous drivers are measured against."""
from contextlib import contextmanager

import numba
import numpy as np

from ..kernels.minibatch import make_scratch, minibatch_epoch
from ..kernels.sgd import sgd_epoch, sgd_epoch_extras
from .common import ModelState, kernel_config, kernel_data, train_epochs


@contextmanager
def numba_threads(n_workers):
    """Run the enclosed ``prange`` kernels on ``n_workers`` threads."""
    if n_workers > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"n_workers={n_workers} exceeds the {numba.config.NUMBA_NUM_THREADS} threads Numba "
            f"was started with (set NUMBA_NUM_THREADS before importing parallel_sgd)"
        )
    previous = numba.get_num_threads()
    numba.set_num_threads(n_workers)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


class EpochRunner:
    """Runs contiguous stretches of steps of the serial or mini-batch kernel."""

    def __init__(self, problem, rule, state, batch_size, intercept_rate=1.0):
        self.data = kernel_data(problem)
        self.config = kernel_config(problem, rule, intercept_rate)
        self.state = state
        self.batch_size = batch_size
        self.loss_sum = None  # np.zeros(1) sums the steps' losses
        if batch_size > 1:
            self.scratch = make_scratch(problem.n_features)
            self.derivs = np.zeros(batch_size)

    def run(self, order, etas, t_start):
        """Steps ``t_start ...`` over rows ``order`` (``len(etas)`` steps); returns steps done."""
        if self.batch_size == 1:
            if self.state.average is not None or self.loss_sum is not None:
                return sgd_epoch_extras(self.data, self.state.arrays,
                                        (self.state.average, self.loss_sum), self.config,
                                        order, etas, t_start)
            return sgd_epoch(self.data, self.state.arrays, self.config, order, etas, t_start)
        return minibatch_epoch(self.data, self.state.arrays, self.config, order, etas,
                               self.batch_size, t_start, self.scratch, self.derivs)

    def warm_up(self):
        """Compile (or load from cache) the kernel before any clock starts."""
        self.run(np.zeros(0, dtype=np.int64), np.zeros(0), 0)


def run(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state, eval_every,
        trace, coef_init=None, intercept_init=None, intercept_rate=1.0, shuffle=True,
        average=False, resume=None, epoch_end=None):
    """Train with the sync driver; see :func:`parallel_sgd.fit` for the arguments.

    Driver options: ``intercept_rate`` scales the intercept's step size
    (scikit-learn uses 0.01 on sparse data); ``shuffle=False`` visits the rows in
    their stored order every epoch instead of a fresh permutation.

    ``average=True`` returns the average of the iterates (averaged SGD,
    Polyak-Ruppert, at O(nnz) per step); an int ``k >= 1`` starts averaging at
    the k-th step (scikit-learn's meaning). Only for ``batch_size=1``.
    ``resume=result.state`` continues a previous run of this driver on data of
    the same width: its weights, update-rule state, average and step count (so the
    schedule goes on where it stopped); ``Result.state`` is always set.

    ``epoch_end(epoch, objective)`` is called after every epoch with scikit-learn's
    running training objective: the mean of ``s_i * l(p_i, y_i)`` over the epoch's
    steps, each at the prediction the step made, plus the penalty at the epoch's
    end weights. It costs no extra pass over the data (an exact objective does);
    returning True stops training (the trace still gets its final row). Only for
    ``batch_size=1``.
    """
    start = average_start(average)
    if start is not None and batch_size != 1:
        raise ValueError(f"average needs batch_size=1 (got batch_size={batch_size})")
    if epoch_end is not None and batch_size != 1:
        raise ValueError(f"epoch_end needs batch_size=1 (got batch_size={batch_size})")
    state = resumed_state(resume, problem, rule, coef_init, intercept_init)
    if state is None:
        state = ModelState(problem.n_features, problem.data.dtype, rule, coef_init,
                           intercept_init)
    if start is not None and state.average is None:
        state.start_averaging(max(start, state.steps))
    runner = EpochRunner(problem, rule, state, batch_size, intercept_rate)
    with numba_threads(n_workers if batch_size > 1 else numba.get_num_threads()):
        runner.warm_up()
        result = train_epochs(problem, trace, state, schedule, runner.run, n_epochs=n_epochs,
                              eval_every=eval_every, random_state=random_state,
                              shuffle=shuffle, batch_size=batch_size, first_step=state.steps,
                              epoch_end=running_objective(epoch_end, runner, problem))
    state.steps += result.n_updates
    result.state = state
    return result


def running_objective(epoch_end, runner, problem):
    """``epoch_end`` fed the epoch's running objective (None if ``epoch_end`` is None)."""
    if epoch_end is None:
        return None
    runner.loss_sum = np.zeros(1)

    def at_epoch_end(epoch):
        mean_loss = runner.loss_sum[0] / problem.n_samples
        runner.loss_sum[0] = 0.0
        return epoch_end(epoch, mean_loss + problem.penalty.value(runner.state.iterate()[0]))
    return at_epoch_end


def average_start(average):
    """The 0-based step averaging starts at (None: no averaging), from the ``average`` option."""
    if average is False or average is None:
        return None
    if average is True:
        return 0
    if isinstance(average, (int, np.integer)) and average >= 0:
        return None if average == 0 else int(average) - 1
    raise ValueError(f"average must be True, False or an int >= 0 (the step averaging "
                     f"starts at), got {average!r}")


def resumed_state(resume, problem, rule, coef_init, intercept_init):
    """The ModelState to continue from (None: start afresh), after checking it fits."""
    if resume is None:
        return None
    if not isinstance(resume, ModelState):
        raise TypeError(f"resume must be a Result.state (a ModelState), got {type(resume).__name__}")
    if coef_init is not None or intercept_init is not None:
        raise ValueError("pass either resume or coef_init/intercept_init, not both")
    if resume.v.shape[0] != problem.n_features or resume.v.dtype != problem.data.dtype:
        raise ValueError(f"resume holds {resume.v.shape[0]} {resume.v.dtype} weights; the "
                         f"problem has {problem.n_features} {problem.data.dtype} features")
    if resume.rule_name != rule.name:
        raise ValueError(f"resume was trained with optimizer {resume.rule_name!r}, not {rule.name!r}")
    return resume
