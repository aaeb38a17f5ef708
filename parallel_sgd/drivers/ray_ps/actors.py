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


class WorkerActor(Worker):
    """A :class:`~.worker.Worker` talking to server actors (the class Ray runs).

    ``spec`` and ``data`` come as one-element lists holding object references (or
    values), resolved here: the constructor's own arguments stay small, so a
    restart re-runs it from the references the driver holds.
    """

    def __init__(self, spec, data, n_features, server_handles):
        import ray
        spec, data = (ray.get(box[0]) if isinstance(box[0], ray.ObjectRef) else box[0]
                      for box in (spec, data))
        super().__init__(spec, data, n_features, RemoteServers(server_handles))
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


def start_server(settings, name, *args, **kwargs):
    """A server actor: restarted up to ``max_restarts`` times, calls retried across restarts
    (a restarted server restores its checkpoint; pushes are deduplicated by round)."""
    retries = -1 if settings.max_restarts else 0
    return _remote(ParameterServer).options(
        name=name, num_cpus=settings.server_cpus, max_restarts=settings.max_restarts,
        max_task_retries=retries).remote(*args, **kwargs)


def start_worker(settings, name, *args):
    """A worker actor spread over the nodes: restarted by Ray, its rounds retried by the
    driver (which counts the fault)."""
    return _remote(WorkerActor).options(
        name=name, num_cpus=settings.worker_cpus, max_restarts=settings.max_restarts,
        max_task_retries=0, scheduling_strategy="SPREAD").remote(*args)
