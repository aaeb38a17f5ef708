"""`fit`: one entry point for every driver (sync, hogwild, svrg, ray)."""
import inspect
import warnings

from .._interrupts import deferred_interrupts
from ..errors import check_choice
from ..model.multinomial import MultinomialProblem
from ..model.optimizers import get_optimizer
from ..model.problem import Problem
from ..model.ranking import RankingProblem
from ..model.schedules import make_schedule
from ..trace import Trace
from . import hogwild, multinomial, multinomial_svrg, ranking, ray_ps, svrg, sync
from .common import Result, positive_int, positive_number
from .orders import check_shuffle, permuted_once

# ray_ps imports Ray only when a fit runs
DRIVERS = {"sync": sync.run, "hogwild": hogwild.run, "svrg": svrg.run, "ray": ray_ps.run}
MULTINOMIAL_DRIVERS = {**multinomial.DRIVERS, "svrg": multinomial_svrg.run_svrg}
RANKING_DRIVERS = {"sync": ranking.run}


def local_drivers():
    """Every registered driver but ``ray`` (which starts a cluster): the ones a benchmark
    compares by default."""
    return [name for name in DRIVERS if name != "ray"]


def fit(problem, driver="sync", n_workers=1, n_epochs=10, batch_size=1,
        learning_rate=None, eta0=None, optimizer="sgd", random_state=0, eval_every=1.0,
        optimum=None, test=None, callback=None, coef_init=None, intercept_init=None,
        shuffle=True, evaluate=True, **driver_options):
    """Minimize ``problem``'s objective with stochastic gradient steps.

    Parameters
    ----------
    problem : Problem, MultinomialProblem or RankingProblem
        Data, loss and penalty: P(w, b) = (1/n) sum_i s_i l(x_i.w + b, y_i) + penalty(w).
        A :class:`~parallel_sgd.model.multinomial.MultinomialProblem` (softmax, Crammer-Singer;
        drivers ``sync`` and ``hogwild``, and ``svrg`` for softmax with L2; optimizer
        ``sgd``, ``batch_size=1``) is trained on its d x K weights: ``coef`` is then
        (d, K), ``intercept`` (K,). A :class:`~parallel_sgd.model.ranking.RankingProblem`
        (SVM-Rank; driver ``sync`` on one thread, option ``average``) by steps on pairs
        of rows drawn within queries, ``n_samples`` pairs an epoch.
    driver : {"sync", "hogwild", "svrg", "ray"}
        ``"sync"``: serial SGD for ``batch_size=1``; otherwise mini-batches whose
        gradient is computed over ``n_workers`` threads, one update per batch.
        ``"hogwild"``: ``n_workers`` workers training one shared model at once
        (options ``backend``, ``locking``, ``merge_every``; see
        :func:`parallel_sgd.drivers.hogwild.run`).
        ``"svrg"``: variance-reduced SGD, converging linearly to the exact optimum
        on smooth losses (options ``inner_steps``, ``variant``, ``sampling``,
        ``warm_start``; see :func:`parallel_sgd.drivers.svrg.run`).
        ``"ray"``: a parameter server on Ray, ``n_workers`` worker actors and
        ``n_servers`` server actors (options ``mode``, ``staleness``,
        ``local_steps``, ``address``; see :func:`parallel_sgd.drivers.ray_ps.run`).
    n_workers : int
        Threads (or workers) the driver may use.
    n_epochs : float
        Passes over the data (SVRG: effective passes, gradient evaluations / n).
    batch_size : int
        Rows per update.
    learning_rate : {"optimal", "constant", "inverse", "inverse_sqrt", "exponential"}
        Step-size schedule (see :mod:`parallel_sgd.model.schedules`); default ``optimal``.
        SVRG takes a constant step only (None or ``"constant"``).
    eta0 : float, optional
        First step size; by default scikit-learn's choice for ``optimal`` and
        ``1 / L_max`` (the largest stable step) for the others; SVRG's step, by
        default ``1 / (2.75 L)`` (see :func:`parallel_sgd.drivers.svrg.default_steps`).
    optimizer : str or UpdateRule
        ``sgd``, ``momentum``, ``adagrad``, ``rmsprop`` or ``adam``.
    random_state : int
        Seed of the data order.
    shuffle : {True, "once", "blocks", False}
        The order rows are visited in (:mod:`parallel_sgd.drivers.orders`): a fresh
        permutation every epoch; one physical permutation at set-up, then that order;
        a random order of cache-sized blocks of consecutive rows, shuffled within each
        block; or the stored order. SVRG draws its rows at random (``True``) and takes
        the others with ``sampling="uniform"``, as passes without replacement; SVM-Rank
        draws pairs at random and takes ``True`` only.
    eval_every : float
        Epochs between checkpoints (the trace always gets a row at the end).
    optimum : Optimum or float, optional
        ``P*`` (e.g. from :func:`reference_optimum`); enables suboptimality in the trace.
    test : Dataset, optional
        Held-out data for the trace's ``test_metric`` (accuracy or RMSE).
    callback : callable, optional
        Called with each trace row; returning True stops training.
    coef_init, intercept_init : optional
        Starting weights (default zero).
    evaluate : bool
        False leaves the trace rows' ``objective`` unset (None) and skips the pass
        over the data each checkpoint costs, for callers that need only the weights
        (the estimators with ``tol=None``); ``optimum`` and ``test`` then go unused.

    Returns
    -------
    Result
        ``coef``, ``intercept`` and ``trace`` (a list of flat dict rows).
    """
    if not isinstance(problem, (Problem, RankingProblem)):
        raise TypeError(f"problem must be a psgd.Problem, MultinomialProblem or RankingProblem, "
                        f"got {type(problem).__name__}")
    drivers = (MULTINOMIAL_DRIVERS if isinstance(problem, MultinomialProblem) else
               RANKING_DRIVERS if isinstance(problem, RankingProblem) else DRIVERS)
    run = drivers[check_choice("driver", driver, drivers)]
    n_workers = positive_int("n_workers", n_workers)
    n_epochs = positive_number("n_epochs", n_epochs)
    batch_size = positive_int("batch_size", batch_size, problem.n_samples,
                              "the number of rows")
    eval_every = positive_number("eval_every", eval_every)
    check_driver_options(driver, run, driver_options)
    shuffle = check_shuffle(shuffle)
    rule = get_optimizer(optimizer)
    schedule = _schedule(driver, learning_rate, eta0, problem)
    if schedule is not None:
        warn_about_large_first_step(schedule, problem)
    if shuffle == "once" and not isinstance(problem, RankingProblem):
        # set-up, off the solver clock; the trace evaluates the permuted rows too (the
        # Hogwild! checkpoints hand it margins in their order)
        problem = permuted_once(problem, random_state)
    # serial SGD steps on one thread whatever n_workers says: traces and tables say so
    used_workers = 1 if driver == "sync" and batch_size == 1 else n_workers
    trace = Trace(problem, driver, used_workers, optimum=optimum, test=test, callback=callback,
                  evaluate=bool(evaluate))
    with deferred_interrupts():  # Ctrl-C stops the fit between kernel calls
        result = run(problem, n_workers=n_workers, n_epochs=n_epochs, batch_size=batch_size,
                     schedule=schedule, rule=rule, random_state=random_state,
                     eval_every=eval_every, trace=trace, coef_init=coef_init,
                     intercept_init=intercept_init, shuffle=shuffle, **driver_options)
    config = dict(driver=driver, n_workers=used_workers, n_epochs=n_epochs,
                  batch_size=batch_size, learning_rate=schedule.name if schedule else "constant",
                  eta0=schedule.eta0 if schedule else None, optimizer=rule.name,
                  random_state=random_state, shuffle=shuffle)
    config.update(result.config)  # what the driver chose itself (e.g. SVRG's step)
    result.config = config
    return result


def _schedule(driver, learning_rate, eta0, problem):
    """The step-size schedule; for SVRG, None (its own default step) or a constant one."""
    if driver == "svrg":
        if learning_rate not in (None, "constant"):
            raise ValueError(f"driver 'svrg' takes a constant step, not learning_rate="
                             f"{learning_rate!r}: leave it unset (or 'constant') and set eta0 "
                             f"to change the step")
        if eta0 is None:
            return None
        learning_rate = "constant"
    # a multiclass loss takes the step-size defaults of the binary loss it generalizes
    loss = getattr(problem.loss, "binary", problem.loss)
    return make_schedule(learning_rate or "optimal", eta0, problem.alpha, loss,
                         problem.max_smoothness)


COMMON = {"problem", "n_workers", "n_epochs", "batch_size", "schedule", "rule", "random_state",
          "eval_every", "trace", "coef_init", "intercept_init", "shuffle"}


def check_driver_options(driver, run, options):
    """Refuse options the driver does not take, listing the ones it does."""
    accepted = sorted(set(inspect.signature(run).parameters) - COMMON)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"driver {driver!r} takes no option {unknown[0]!r}; its options: "
                         f"{', '.join(accepted) or 'none'}")


def warn_about_large_first_step(schedule, problem):
    """Warn when the first step is far beyond the largest stable one (unscaled data).

    Hinge is not smooth, so it has no largest stable step and is never warned about.
    """
    if not problem.loss.is_smooth:
        return
    ratio = schedule.eta0 * problem.max_smoothness
    limit = 100.0 if problem.loss.bounded_derivative else 2.0
    if ratio > limit:
        warnings.warn(
            f"the first step {schedule.eta0:.3g} is {ratio:.0f} times the largest stable step "
            f"for this data ({1 / problem.max_smoothness:.3g}); expect "
            f"{'slow, noisy progress' if problem.loss.bounded_derivative else 'divergence'}. "
            f"Standardize the features or pass eta0={1 / problem.max_smoothness:.3g}",
            stacklevel=3)


__all__ = ["fit", "DRIVERS", "Result"]
