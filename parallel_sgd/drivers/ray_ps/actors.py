"""The thin Ray layer: the plain server and worker classes as actors, and the worker's
view of the server actors. Ray is imported when these functions run, never at import."""
import functools

from .server import ParameterServer
from .worker import Worker, assemble


class RemoteServers:
    """:class:`~.worker.LocalServers` over server actors: pulls and pushes in parallel."""

    def __init__(self, handles):
        self.handles = list(handles)

    def pull(self, worker, round_):
        import ray
        return assemble(ray.get([h.pull.remote(worker, round_) for h in self.handles]))

    def push(self, pushes):
        import ray
        ray.get([h.push.remote(p) for h, p in zip(self.handles, pushes)])


class WorkerInputs:
    """Holds the references to each worker's spec and to the data (an actor that is never
    restarted). Workers find it, and the servers, by name: a restartable actor whose
    constructor took references or actor handles would make Ray warn that a restart
    may fail, and a restarted worker re-reads its inputs here."""

    def __init__(self, specs, data):
        self.specs, self.data = specs, data

    def get(self, worker):
        """``[spec_ref, data_ref_or_value]``: references stay references (no copy here)."""
        return [self.specs[worker][0], self.data[0]]


def actor_name(run_id, role, index=None):
    """The name of a fit's actor: ``psgd-<run>-server-0``, ``psgd-<run>-inputs``, ..."""
    return f"psgd-{run_id}-{role}" + ("" if index is None else f"-{index}")


class WorkerActor(Worker):
    """A :class:`~.worker.Worker` talking to server actors (the class Ray runs)."""

    def __init__(self, run_id, index, n_servers, n_features):
        import ray
        inputs = ray.get_actor(actor_name(run_id, "inputs"))
        spec, data = (ray.get(x) if isinstance(x, ray.ObjectRef) else x
                      for x in ray.get(inputs.get.remote(index)))
        servers = [ray.get_actor(actor_name(run_id, "server", s)) for s in range(n_servers)]
        super().__init__(spec, data, n_features, RemoteServers(servers))
        self.restarted = ray.get_runtime_context().was_current_actor_reconstructed

    def run_round(self, round_, epoch, start, stop):
        """:meth:`Worker.run_round`, the first report after a restart saying so."""
        report = super().run_round(round_, epoch, start, stop)
        report.restarted, self.restarted = self.restarted, False
        return report

    def node_id(self):
        import ray
        return ray.get_runtime_context().get_node_id()


@functools.lru_cache(maxsize=None)
def _remote(cls):
    import ray
    return ray.remote(cls)


def start_server(settings, run_id, index, *args, **kwargs):
    """A server actor: restarted up to ``max_restarts`` times, calls retried across restarts
    (a restarted server restores its checkpoint; pushes are deduplicated by round)."""
    retries = -1 if settings.max_restarts else 0
    return _remote(ParameterServer).options(
        name=actor_name(run_id, "server", index), num_cpus=settings.server_cpus, max_restarts=settings.max_restarts,
        max_task_retries=retries).remote(*args, **kwargs)


def start_inputs(run_id, specs, data):
    """The :class:`WorkerInputs` actor (no CPU, never restarted)."""
    return _remote(WorkerInputs).options(name=actor_name(run_id, "inputs"), num_cpus=0,
                                         max_restarts=0).remote(specs, data)


def start_worker(settings, run_id, index, n_servers, n_features):
    """A worker actor spread over the nodes: restarted by Ray, its rounds retried by the
    driver (a restarted worker's first report counts the fault)."""
    return _remote(WorkerActor).options(
        name=actor_name(run_id, "worker", index), num_cpus=settings.worker_cpus, max_restarts=settings.max_restarts,
        max_task_retries=0, scheduling_strategy="SPREAD").remote(
            run_id, index, n_servers, n_features)
