"""The Hogwild! driver: ``n_workers`` workers train one shared model at once.

The workers are the team of :mod:`.team`: each owns a shard of the rows and its
own random stream, steps on a private replica of the model and adds its changes
into the shared weights every ``merge_every`` steps. Nothing takes a lock; the
replicas are there because plain Hogwild -- all workers writing one weight vector
on every step -- makes the cores fight over its cache lines and can run slower
than one thread (BENCHMARKS.md, Hogwild!). ``locking="global"`` is
the opposite baseline, every step on the shared model under one lock.

``backend="threads"`` runs the workers as threads of this process;
``backend="processes"`` as processes attached to the data and the model through
shared memory (:mod:`.processes`); either way the caller itself is worker 0. One
worker has nobody to race with: it runs the serial kernel, so its result equals
``driver="sync"`` exactly.

Every update rule is supported: their state is per coordinate and is merged like
the weights. Mini-batches are not (``batch_size`` must be 1).
"""
from .serial import train_serial
from .state import ModelState
from .team import ThreadTeam, Workers, check_team_options, train_team


def run(problem, *, n_workers, n_epochs, batch_size, schedule, rule, random_state, eval_every,
        trace, coef_init=None, intercept_init=None, intercept_rate=1.0, shuffle=True,
        backend="threads", locking="none", merge_every=None, merge_weights="frequency",
        replica_features=None):
    """Train with Hogwild!; see :func:`parallel_sgd.fit` for the common arguments.

    Driver options: ``backend`` ("threads" or "processes"); ``locking="global"``
    runs every step on the shared model under one lock (the serialized baseline
    the benchmark compares with); ``merge_every`` steps between a worker's merges
    of its replica (default: :func:`.team.default_merge_every`); ``merge_weights``
    "frequency" (default) or "sum" (see :func:`.team.merge_shares`);
    ``replica_features``: how many of the most frequent features each worker keeps
    in its replica, writing the others in place into the shared model (default:
    :func:`.split_layout.default_replica_features`: all of them unless the model
    is wide, then none; 0 is plain Hogwild!, every write in place); ``intercept_rate`` and ``shuffle``
    as for the sync driver.
    """
    check_team_options(problem, n_workers, batch_size, rule, backend, locking, merge_every,
                       merge_weights, replica_features)
    state = ModelState(problem.n_features, problem.data.dtype, rule, coef_init, intercept_init)
    if n_workers == 1:
        return train_serial(problem, state, rule, trace, schedule, n_workers=1, n_epochs=n_epochs,
                            batch_size=1, random_state=random_state, eval_every=eval_every,
                            intercept_rate=intercept_rate, shuffle=shuffle)
    workers = Workers(problem, rule, state, n_workers, merge_every, locking, intercept_rate,
                      merge_weights, random_state, shuffle, replica_features)
    if backend == "processes":
        from .processes import ProcessTeam
        team = ProcessTeam(workers, state)
    else:
        team = ThreadTeam(workers)
    return train_team(problem, trace, state, schedule, team, n_epochs, eval_every,
                      random_state)
