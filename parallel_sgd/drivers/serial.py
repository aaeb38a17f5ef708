"""Serial and mini-batch SGD epochs on one model: the sync driver's steps, and what a
team of one worker runs (so ``driver="hogwild", n_workers=1`` equals ``driver="sync"``)."""
import contextlib

import numba
import numpy as np

from ..data.readahead import Readahead

from ..kernels.args import Extras
from ..kernels.minibatch import make_scratch, minibatch_epoch
from ..kernels.sgd import sgd_epoch, sgd_epoch_extras
from .common import numba_threads, train_epochs
from .state import kernel_rows, sgd_config


class EpochRunner:
    """Runs contiguous stretches of steps of the serial or mini-batch kernel."""

    def __init__(self, problem, rule, state, batch_size, intercept_rate=1.0):
        self.data = kernel_rows(problem)
        self.config = sgd_config(problem, rule, intercept_rate, batch_size)
        self.state = state
        self.batch_size = batch_size
        self.loss_sum = None  # np.zeros(1) sums the steps' losses
        self.readahead = Readahead.of(problem.data)  # None unless mapped read-only
        self.n_rows = problem.n_samples
        if batch_size > 1:
            self.scratch = make_scratch(problem.n_features, batch_size)

    def run(self, order, etas, t_start):
        """Steps ``t_start ...`` over rows ``order`` (``len(etas)`` steps); returns steps done.

        On a cache mapped read-only (out of core) the steps run a stretch at a time, the
        next stretch's pages asked for while the kernel works (:mod:`..data.readahead`).
        """
        if self.readahead is None or self.readahead.pool is None or order.size == 0:
            return self._run(order, etas, t_start)
        batch = self.batch_size  # a stretch is whole steps: mini-batches are not cut
        stretch = -(-self.readahead.stretch_rows(self.n_rows) // batch) * batch
        done = 0
        with self.readahead.streaming():
            pending = self.readahead.ask(order[:stretch])
            for start in range(0, order.size, stretch):
                pending.result()
                end = min(start + stretch, order.size)
                if end < order.size:
                    pending = self.readahead.ask(order[end:end + stretch])
                first, last = start // batch, -(-end // batch)  # its steps
                steps = self._run(order[start:end], etas[first:last], t_start + first)
                done += steps
                if steps < last - first:  # stopped early (a prediction not finite)
                    break
            pending.result()
        return done

    def _run(self, order, etas, t_start):
        model = self.state.kernel_model
        if self.batch_size == 1:
            if self.state.average is not None or self.loss_sum is not None:
                return sgd_epoch_extras(self.data, model, Extras(self.state.average, self.loss_sum),
                                        self.config, order, etas, t_start)
            return sgd_epoch(self.data, model, self.config, order, etas, t_start)
        return minibatch_epoch(self.data, model, self.config, order, etas, self.batch_size,
                               t_start, self.scratch)

    def warm_up(self):
        """Compile (or load from cache) the kernel before any clock starts."""
        self.run(np.zeros(0, dtype=np.int64), np.zeros(0), 0)


def train_serial(problem, state, rule, trace, schedule, *, n_workers, n_epochs, batch_size,
                 random_state, eval_every, intercept_rate=1.0, shuffle=True, epoch_end=None):
    """Train ``state`` with the serial kernel (``batch_size=1``) or mini-batches whose
    gradient is computed over ``n_workers`` threads; returns the :class:`.common.Result`
    with ``state`` attached and its step count advanced. ``epoch_end`` as for
    :func:`running_objective`."""
    runner = EpochRunner(problem, rule, state, batch_size, intercept_rate)
    streaming = runner.readahead if runner.readahead is not None else contextlib.nullcontext()
    with numba_threads(n_workers if batch_size > 1 else numba.get_num_threads()), streaming:
        runner.warm_up()
        result = train_epochs(problem, trace, state, schedule, runner.run, n_epochs=n_epochs,
                              eval_every=eval_every, random_state=random_state,
                              shuffle=shuffle, batch_size=batch_size, first_step=state.steps,
                              epoch_end=running_objective(epoch_end, runner, problem))
    state.steps += result.n_updates
    result.state = state
    return result


def running_objective(epoch_end, runner, problem):
    """``epoch_end(epoch, objective)`` fed the epoch's running objective -- the mean of
    ``s_i * l(p_i, y_i)`` over the epoch's steps, each at the prediction the step made,
    plus the penalty at the epoch's end weights -- as a per-epoch hook for
    :func:`.common.train_epochs` (None if ``epoch_end`` is None). ``runner`` is any
    runner with a ``loss_sum`` its kernel fills and a ``state``."""
    if epoch_end is None:
        return None
    runner.loss_sum = np.zeros(1)

    def at_epoch_end(epoch):
        mean_loss = runner.loss_sum[0] / problem.n_samples
        runner.loss_sum[0] = 0.0
        return epoch_end(epoch, mean_loss + problem.penalty.value(runner.state.iterate()[0]))
    return at_epoch_end
