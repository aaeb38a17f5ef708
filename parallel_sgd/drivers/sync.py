"""The synchronous driver: serial SGD (``batch_size=1``) or mini-batch SGD whose
batch gradient is computed in parallel over ``n_workers`` threads, one update per
batch. The baseline the asynchronous drivers are measured against."""
from .common import average_start
from .serial import train_serial
from .state import ModelState


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
    return train_serial(problem, state, rule, trace, schedule, n_workers=n_workers,
                        n_epochs=n_epochs, batch_size=batch_size, random_state=random_state,
                        eval_every=eval_every, intercept_rate=intercept_rate, shuffle=shuffle,
                        epoch_end=epoch_end)


def resumed_state(resume, problem, rule, coef_init, intercept_init):
    """The ModelState to continue from (None: start afresh), after checking it fits."""
    if resume is None:
        return None
    if not isinstance(resume, ModelState):
        raise TypeError(f"resume must be a Result.state (a ModelState), got "
                        f"{type(resume).__name__}")
    if coef_init is not None or intercept_init is not None:
        raise ValueError("pass either resume or coef_init/intercept_init, not both")
    if resume.v.shape[0] != problem.n_features or resume.v.dtype != problem.data.dtype:
        raise ValueError(f"resume holds {resume.v.shape[0]} {resume.v.dtype} weights; the "
                         f"problem has {problem.n_features} {problem.data.dtype} features")
    if resume.rule_name != rule.name:
        raise ValueError(f"resume was trained with optimizer {resume.rule_name!r}, not "
                         f"{rule.name!r}")
    return resume
