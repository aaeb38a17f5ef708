"""What the scikit-learn estimators share: parameters, input checks, one linear model's
training (with scikit-learn's stopping rule) and training several of them at once."""
import inspect
import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..data.dataset import Dataset, as_design_matrix, design_matrix
from ..drivers import DRIVERS, fit
from ..drivers.orders import check_shuffle, once_order
from ..errors import check_choice
from ..maths.losses import get_loss
from ..maths.penalties import Penalty
from ..model.optimizers import OPTIMIZERS
from ..model.problem import Problem
from ..model.schedules import SCHEDULES

PENALTIES = ("l2", "l1", "elasticnet")
VALIDATION = dict(accept_sparse=True, accept_large_sparse=True, dtype=[np.float64, np.float32],
                  order="C")
MAX_SEED = np.iinfo(np.int32).max


class SignedProblem(Problem):
    """A :class:`Problem` whose +-1 labels the caller encoded: a one-vs-rest sub-problem,
    or a ``partial_fit`` batch, may hold rows of one class only.

    The K problems of a one-vs-rest fit differ in their labels only, so they share the
    constants computed from ``X`` (``sibling``'s row norms, column counts, penalty
    weights, ``L_max``) instead of recomputing them, which costs a sizeable share of a
    short fit on wide data (BENCHMARKS.md, Estimators).
    """

    SHARED = ("row_norms_sq", "column_counts", "penalty_weights", "max_smoothness")

    def __init__(self, data, signs, loss, alpha, l1_ratio, fit_intercept, sibling=None):
        self.data = data
        self.loss = get_loss(loss)
        self.penalty = Penalty(alpha, l1_ratio)
        self.fit_intercept = bool(fit_intercept)
        self.classes = np.array([-1.0, 1.0])
        self.y = np.ascontiguousarray(signs, dtype=np.float64)
        if sibling is not None:
            for name in self.SHARED:  # cached properties live in the instance dict
                self.__dict__[name] = getattr(sibling, name)


class StopWhenFlat:
    """scikit-learn's stopping rule on the training objective.

    After each epoch: an objective above ``best - tol`` counts as no improvement;
    ``n_iter_no_change`` of them in a row stop training. With the serial kernel
    the objective is scikit-learn's running one (the epoch's losses summed as the
    steps make their predictions, plus the penalty: :meth:`epoch_end`, a sync
    driver option); otherwise the exact P(w, b) of each epoch's trace row
    (``__call__``, a ``fit`` callback), which costs a pass over the data.

    Exact objectives also give the starting one, P_0 (the epoch-0 row). While the
    best objective is still above ``2 P_0 + tol`` the run has diverged rather than
    converged, and its epochs do not count as flat: a diverged run bounces between
    huge objectives that seldom beat an early best, and would otherwise stop at a
    model far worse than the one it started from (seen with 2 Hogwild! workers,
    step 10 and class weights of 1000 on unscaled data).
    """

    def __init__(self, tol, n_iter_no_change):
        self.tol = tol
        self.patience = n_iter_no_change
        self.start = math.inf
        self.best = math.inf
        self.flat = 0
        self.stopped = False

    @property
    def diverged(self):
        """The best objective so far is more than twice the starting one."""
        return self.best > 2.0 * self.start + self.tol

    def update(self, objective):
        self.flat = self.flat + 1 if objective > self.best - self.tol else 0
        self.best = min(self.best, objective)
        if self.diverged:
            self.flat = 0
        self.stopped = self.flat >= self.patience
        return self.stopped

    def __call__(self, row):
        if row["epoch"] == 0:
            self.start = row["objective"]
            return False
        return self.update(row["objective"])

    def epoch_end(self, epoch, objective):
        return self.update(objective)


def shared_params(arguments):
    """The parameters :class:`BaseSGD` takes, picked from a subclass's ``locals()``."""
    return {name: arguments[name] for name in inspect.signature(BaseSGD).parameters}


class BaseSGD(BaseEstimator):
    """Parameters, checks and training shared by :class:`SGDClassifier` and :class:`SGDRegressor`."""

    _losses = ()

    def __init__(self, loss, *, penalty, alpha, l1_ratio, fit_intercept, max_iter, tol, shuffle,
                 learning_rate, eta0, optimizer, driver, n_workers, batch_size,
                 n_iter_no_change, warm_start, average, random_state):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.optimizer = optimizer
        self.driver = driver
        self.n_workers = n_workers
        self.batch_size = batch_size
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # Hogwild! threads interleave differently on every run
        tags.non_deterministic = self.driver == "hogwild" and self.n_workers > 1
        return tags

    # -- parameters -----------------------------------------------------------------
    def _check_params(self, partial=False):
        """Check every parameter; returns ``(alpha, l1_ratio)`` of the objective."""
        loss = self.loss
        if loss not in self._losses:
            raise ValueError(f"loss {loss!r} is not supported by {type(self).__name__}; "
                             f"valid losses: {', '.join(self._losses)}")
        if self.penalty is not None and self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {', '.join(PENALTIES)} or None, "
                             f"got {self.penalty!r}")
        check_choice("learning_rate", self.learning_rate, SCHEDULES)
        if not isinstance(self.optimizer, str):
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, "
                             f"got {self.optimizer!r}")
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("driver", self.driver, DRIVERS)
        _int_at_least("max_iter", self.max_iter, 1)
        _int_at_least("n_iter_no_change", self.n_iter_no_change, 1)
        _int_at_least("n_workers", self.n_workers, 1)
        _int_at_least("batch_size", self.batch_size, 1)
        check_shuffle(self.shuffle)
        if self.tol is not None and not (np.isfinite(self.tol) and self.tol >= 0):
            raise ValueError(f"tol must be None or a number >= 0, got {self.tol!r}")
        if self.eta0 is not None and not (np.isfinite(self.eta0) and self.eta0 > 0):
            raise ValueError(f"eta0 must be None (automatic) or a number > 0, got {self.eta0!r}")
        average = self.average
        if not (isinstance(average, (bool, np.bool_))
                or (isinstance(average, (int, np.integer)) and average >= 0)):
            raise ValueError(f"average must be True, False or an int >= 0 (the step "
                             f"averaging starts at), got {average!r}")
        if average and (self.driver != "sync" or self.batch_size != 1):
            raise ValueError("average is implemented for driver='sync' with batch_size=1; "
                             f"got driver={self.driver!r}, batch_size={self.batch_size}")
        alpha = float(self.alpha)
        if not (np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a number >= 0, got {self.alpha!r}")
        if self.penalty is None:
            if self.learning_rate in ("optimal", "inverse"):
                raise ValueError(f"learning_rate={self.learning_rate!r} is defined through "
                                 f"alpha and needs a penalty; with penalty=None use "
                                 f"'constant', 'inverse_sqrt' or 'exponential'")
            return 0.0, 0.0
        l1_ratio = {"l2": 0.0, "l1": 1.0}.get(self.penalty, self.l1_ratio)
        if not (0.0 <= float(l1_ratio) <= 1.0):
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        if alpha == 0 and self.learning_rate in ("optimal", "inverse"):
            raise ValueError(f"learning_rate={self.learning_rate!r} needs alpha > 0")
        return alpha, float(l1_ratio)

    # -- data -----------------------------------------------------------------------
    def _validate(self, X, y, reset=True, **y_options):
        """``X`` (a C-contiguous float array or canonical int32 CSR) and ``y``, checked and
        converted the scikit-learn way (lists, pandas, any sparse format, int64 indices)."""
        X, y = validate_data(self, X, y, reset=reset, **VALIDATION, **y_options)
        X, norms = design_matrix(X)
        X = _writeable(X)
        self._design = (X, norms)  # for _dataset, which drops it: one check of X per fit
        return X, y

    def _dataset(self, X, y, sample_weight):
        """A :class:`Dataset` over the ``X`` that :meth:`_validate` returned."""
        checked, norms = self.__dict__.pop("_design", (None, None))
        if checked is X:
            return Dataset.of_design_matrix(X, norms, y, sample_weight=sample_weight)
        return Dataset(X, y, sample_weight=sample_weight)

    def _validate_X(self, X):
        return _writeable(as_design_matrix(validate_data(self, X, reset=False, **VALIDATION)))

    def _sample_weight(self, sample_weight, n_samples):
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim == 0:
            return np.full(n_samples, float(weights))
        if weights.shape != (n_samples,):
            raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n_samples},)")
        if n_samples and not np.any(weights):
            raise ValueError("sample weights are all zero: nothing to learn from")
        return weights

    # -- training -------------------------------------------------------------------
    def _fit_options(self, X, partial):
        """Keyword arguments of :func:`parallel_sgd.fit` for one binary or regression model."""
        options = dict(learning_rate=self.learning_rate, eta0=self.eta0,
                       optimizer=self.optimizer, shuffle=self.shuffle,
                       intercept_rate=0.01 if sp.issparse(X) else 1.0)
        if partial:
            # one pass, continuing the schedule; always the serial kernel
            options.update(driver="sync", n_epochs=1, eval_every=1.0, evaluate=False)
            if getattr(self, "_eta0", None) is not None:
                options["eta0"] = self._eta0
        else:
            # checkpoints every epoch only where the stopping rule needs exact objectives
            exact = self.tol is not None and (self.driver != "sync" or self.batch_size > 1)
            options.update(driver=self.driver, n_epochs=self.max_iter,
                           batch_size=self.batch_size,
                           eval_every=1.0 if exact else self.max_iter,
                           evaluate=exact)  # else no trace objective is read: no passes
        if options["driver"] == "sync" and self.average:
            options["average"] = self.average
        return options

    def _train(self, problems, seeds, starts, options):
        """Train one model per problem; ``starts[k]`` is None, ``(coef, intercept)`` or a
        state to resume. With the sync driver, several problems are trained side by side
        on ``n_workers`` threads, one thread each (the kernels release the GIL); with
        another driver, one after the other, each on ``n_workers`` workers. Returns the
        list of :class:`Result`."""
        if options.get("shuffle") == "once" and len(problems) > 1:
            # one physical permutation for every one-vs-rest problem, not one each
            order = once_order(problems[0].n_samples, seeds[0])
            data = problems[0].data.permuted(order)
            problems = [p.with_rows_permuted(order, data=data) for p in problems]
            options = dict(options, shuffle=False)
        jobs = list(zip(problems, seeds, starts))
        if options["driver"] != "sync" or len(jobs) == 1 or self.n_workers == 1:
            return [self._train_one(*job, options, self.n_workers) for job in jobs]
        with ThreadPoolExecutor(max_workers=min(self.n_workers, len(jobs))) as pool:
            futures = [pool.submit(self._train_one, *job, options, 1, True) for job in jobs]
            return [future.result() for future in futures]

    def _train_one(self, problem, seed, start, options, n_workers, own_thread=False):
        if own_thread:
            numba.set_num_threads(1)  # thread-local: this thread's objective passes
        stopper = None
        if self.tol is not None and options["n_epochs"] > 1:
            stopper = StopWhenFlat(self.tol, self.n_iter_no_change)
            if options["eval_every"] < options["n_epochs"]:
                options = dict(options, callback=stopper)
            else:
                options = dict(options, epoch_end=stopper.epoch_end)
        init = {}
        if isinstance(start, tuple):
            init = dict(coef_init=start[0], intercept_init=start[1])
        elif start is not None:
            init = dict(resume=start)
        # Hogwild! gives every worker rows; a batch is at most the data
        n_workers = min(n_workers, problem.n_samples)
        if "batch_size" in options:
            options = dict(options, batch_size=min(options["batch_size"], problem.n_samples))
        result = fit(problem, n_workers=n_workers, random_state=seed, **options, **init)
        result.stopped = stopper is None or stopper.stopped
        result.diverged = stopper is not None and stopper.diverged
        return result

    def _seeds(self, count):
        return check_random_state(self.random_state).randint(MAX_SEED, size=count)

    def _finish(self, results, partial):
        """Set ``n_iter_``, ``t_`` and the resumable states; warn if ``fit`` did not converge.

        The first step size is kept, so that later ``partial_fit`` calls continue the
        same schedule (an automatic ``eta0`` would otherwise depend on each batch).
        """
        if getattr(self, "_eta0", None) is None:
            self._eta0 = results[0].config["eta0"]
        if partial:
            self.n_iter_ = 1
        else:
            self.n_iter_ = max(int(round(r.trace[-1]["epoch"])) for r in results)
            if any(r.diverged for r in results):
                warnings.warn("The training objective never came back below twice its "
                              "starting value: the steps diverged. Standardize the features "
                              "or pass a smaller eta0.", ConvergenceWarning)
            elif not all(r.stopped for r in results):
                warnings.warn("Maximum number of iteration reached before convergence. "
                              "Consider increasing max_iter to improve the fit.",
                              ConvergenceWarning)
        states = [r.state for r in results]
        complete = all(s is not None for s in states)
        steps = [s.steps for s in states] if complete else [r.n_updates for r in results]
        self.t_ = float(max(steps) + 1)
        self._states = states if complete else None

    def _decision(self, X):
        check_is_fitted(self, "coef_")
        X = self._validate_X(X)
        scores = X @ self.coef_.T
        return np.asarray(scores, dtype=np.float64) + self.intercept_


def _int_at_least(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def _writeable(X):
    """``X`` itself, or a copy when its arrays are read-only (a memory map): the kernels
    are compiled for writeable arrays, and a read-only variant would compile them anew."""
    arrays = (X.data, X.indices, X.indptr) if sp.issparse(X) else (X,)
    if all(a.flags.writeable for a in arrays):
        return X
    return X.copy()


