"""What every driver hands the kernels, built here once: a problem's rows, the
configs of its steps, and the model state the kernels mutate."""
import numpy as np

from ..errors import DivergenceError
from ..kernels import averaging
from ..kernels.args import (
    L1_TOTAL,
    SCALE,
    Average,
    LinearModel,
    MulticlassConfig,
    MulticlassModel,
    Rows,
    SGDConfig,
)
from ..kernels.linalg import data_arrays
from ..kernels.rules import SGD
from ..maths.penalties import flush_cumulative_l1


def kernel_rows(problem):
    """The problem's data as the kernels read it (:class:`~parallel_sgd.kernels.args.Rows`),
    with its targets in the problem's internal form (+-1 labels, floats or class indices)."""
    return Rows(*data_arrays(problem.data.X), problem.y, problem.data.sample_weight)


def _intercept_rate(problem, intercept_rate):
    return float(intercept_rate) if problem.fit_intercept else 0.0


def sgd_config(problem, rule, intercept_rate=1.0, batch_size=None):
    """The binary kernels' :class:`~parallel_sgd.kernels.args.SGDConfig`.

    ``intercept_rate`` scales the intercept's steps; it is 0 without an intercept.
    With ``batch_size=1`` and the plain sgd rule, whose steps never read the
    penalty weights (the L2 part is a scale, the L1 part lazy), they are left
    empty: an O(d) pass that took 0.34 s of a fit at 20M features. Any other
    ``batch_size`` (or None: not known) gets them.
    """
    kernel_rule = rule.kernel_rule()
    if batch_size == 1 and kernel_rule.code == SGD:
        weights = np.zeros(0)
    else:
        weights = np.asarray(problem.penalty_weights, dtype=np.float64)
    return SGDConfig(problem.loss.code, kernel_rule, problem.penalty.l2,
                     problem.penalty.l1, _intercept_rate(problem, intercept_rate), weights)


def multiclass_config(problem, intercept_rate=1.0):
    """The multiclass kernels' :class:`~parallel_sgd.kernels.args.MulticlassConfig`."""
    return MulticlassConfig(problem.loss.code, problem.penalty.l2, problem.penalty.l1,
                            _intercept_rate(problem, intercept_rate))


def _check_finite(w, b, where):
    if not (np.isfinite(w).all() and np.isfinite(b).all()):
        raise DivergenceError(f"training diverged ({where}): the weights are no longer finite")


class ModelState:
    """A binary model as the kernels hold it: ``w = scale * v``, lazily L1-penalized.

    ``v`` and ``q`` (the L1 penalty each coordinate has received) have the data's
    dtype; ``b`` holds the intercept and ``scalars`` the weight scale and the L1
    penalty per weight applied so far (float64); ``rule_state`` is the update
    rule's. ``average`` is None, or the ASGD state (:class:`~parallel_sgd.kernels.args.Average`)
    once :meth:`start_averaging` was called; ``steps`` counts the steps taken so far
    (a resumed fit continues its schedule from there).
    """

    def __init__(self, n_features, dtype, rule, coef_init=None, intercept_init=0.0):
        self.v = np.zeros(n_features, dtype=dtype)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64)
            if coef_init.shape != (n_features,):
                raise ValueError(f"coef_init must have shape ({n_features},), got "
                                 f"{coef_init.shape}")
            self.v[:] = coef_init
        self.b = np.array([float(intercept_init or 0.0)])
        self.scalars = np.zeros(2)
        self.scalars[SCALE] = 1.0
        self.q = np.zeros(n_features, dtype=dtype)
        self.rule_state = rule.init_state(n_features, dtype)
        self.rule_name = rule.name
        self.average = None
        self.steps = 0

    @property
    def kernel_model(self):
        """The kernels' view of these arrays (:class:`~parallel_sgd.kernels.args.LinearModel`)."""
        return LinearModel(self.v, self.b, self.scalars, self.q, self.rule_state)

    def start_averaging(self, start=0):
        """Average the iterates of global steps ``t >= start`` (0-based) from now on."""
        avg = np.zeros(averaging.N_SCALARS)
        avg[averaging.BSUM] = 1.0
        avg[averaging.START] = float(start)
        self.average = Average(np.zeros(self.v.shape[0]), avg)

    @property
    def averaged(self):
        """Whether :meth:`weights` returns an average (averaging on and started)."""
        return self.average is not None and self.average.avg[averaging.COUNT] > 0

    def weights(self):
        """The model ``(w, b)``: the average of the iterates once ASGD has started,
        else :meth:`iterate`."""
        if not self.averaged:
            return self.iterate()
        aw, avg = self.average
        w = (aw + avg[averaging.A] * self.v.astype(np.float64)) / avg[averaging.BSUM]
        return w, float(avg[averaging.INTERCEPT])

    def iterate(self):
        """``(w, b)`` as float64 copies: scale folded in, pending L1 penalty applied.

        The kernel state itself is not changed, so evaluating does not perturb training.
        """
        w = self.v.astype(np.float64) * self.scalars[SCALE]
        if self.scalars[L1_TOTAL] > 0.0:
            flush_cumulative_l1(w, self.q.astype(np.float64), 1.0, self.scalars[L1_TOTAL])
        return w, float(self.b[0])

    def check_finite(self, where):
        _check_finite(*self.iterate(), where)


class MultinomialState:
    """A d x K model as the multiclass kernels hold it: ``W = scale * v`` (flat,
    row-major), lazily L1-penalized; ``b`` the K intercepts; ``steps`` the steps
    taken so far."""

    def __init__(self, n_features, n_classes, dtype, coef_init=None, intercept_init=None):
        self.shape = (n_features, n_classes)
        self.v = np.zeros(n_features * n_classes, dtype=dtype)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64)
            if coef_init.shape != self.shape:
                raise ValueError(f"coef_init must have shape {self.shape} (features x "
                                 f"classes), got {coef_init.shape}")
            self.v[:] = coef_init.ravel()
        self.scalars = np.zeros(2)
        self.scalars[SCALE] = 1.0
        self.q = np.zeros_like(self.v)
        self.b = np.zeros(n_classes)
        if intercept_init is not None:
            self.b[:] = np.broadcast_to(np.asarray(intercept_init, dtype=np.float64),
                                        (n_classes,))
        self.steps = 0

    @property
    def kernel_model(self):
        """The kernels' view (:class:`~parallel_sgd.kernels.args.MulticlassModel`)."""
        return MulticlassModel(self.v, self.b, self.scalars, self.q)

    def iterate(self):
        """``(W, b)`` as float64 copies: scale folded in, pending L1 penalty applied."""
        w = self.v.astype(np.float64) * self.scalars[SCALE]
        if self.scalars[L1_TOTAL] > 0.0:
            flush_cumulative_l1(w, self.q.astype(np.float64), 1.0, self.scalars[L1_TOTAL])
        return w.reshape(self.shape), self.b.copy()

    weights = iterate

    def check_finite(self, where):
        _check_finite(*self.iterate(), where)
