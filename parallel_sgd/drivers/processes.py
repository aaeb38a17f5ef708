"""Team workers as processes sharing the data and the model through shared memory.

The calling process is worker 0, the leader (as the calling thread is on
threads); workers 1.. are processes. The parent copies the shared model, the
lock and the hand-off array (:mod:`..kernels.handoff`) into shared memory once,
and rebinds the driver's model to the shared copy, so checkpoints read what the
workers write. The read-only data (rows, labels, penalty weights) is inherited
by forked workers (its pages are never written, so never copied, and keep the
transparent huge pages /dev/shm lacks) and copied into shared memory only where
processes are spawned. The workers' rows and step sizes live in two more shared
arrays (:class:`~.team.Workers` lays them out). For each stretch of steps
between checkpoints the leader writes the step sizes and every worker's plan,
publishes the call, and wakes the workers that sleep with one byte down their
pipe; a worker reshuffles its own rows at each
epoch start with its own random stream and runs the same serve kernel as a
thread worker, on its own private replica.

A worker that raises reports the error, which the parent re-raises naming the
worker; a worker that dies is noticed through its exit code while the leader
waits, and named too -- the run never hangs. Every segment is unlinked by the
parent in :meth:`ProcessTeam.close`, which the driver calls after success, an
exception or Ctrl-C.
"""
import multiprocessing as mp
import os
import traceback
from multiprocessing.connection import wait

import numpy as np

from ..kernels.args import Channel, Head, LinearModel, Probe, Rows, Shard
from ..kernels.handoff import FAILED, GO, STOP, finish, new_sync, publish
from ..kernels.hogwild import new_replica, replica_serve
from .shared_arrays import SharedArrays, attach
from .team import Team

FAULT_HOOK = "PSGD_HOGWILD_FAIL_WORKER"  # "<worker>:raise" or "<worker>:exit", for tests


def start_method():
    """"fork" where the platform has it, else "spawn"."""
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


class WorkerError(RuntimeError):
    """A Hogwild! worker process failed or died."""


def _inject_fault(worker):
    spec = os.environ.get(FAULT_HOOK, "")
    if spec and int(spec.split(":")[0]) == worker:
        if spec.endswith(":exit"):
            os._exit(3)
        raise RuntimeError(f"fault injected into worker {worker} ({FAULT_HOOK})")


def _worker_main(worker, specs, inherited, settings, conn, leader_ends):
    """Body of a worker process: attach, then serve calls until told to stop.

    ``leader_ends`` are the leader's ends of the pipes, which a forked worker inherits:
    closed here, so that the worker's pipe reaches end-of-file, and the worker leaves,
    when the leader dies without telling it to."""
    for end in leader_ends:
        end.close()
    segments, sync = [], None
    try:
        arrays, segments = attach(specs)
        arrays.update(inherited)
        data = Rows(**{field: arrays[field] for field in Rows._fields})
        shared = LinearModel(**{field: arrays[field] for field in LinearModel._fields})
        config = settings["config"]._replace(penalty_weights=arrays["penalty_weights"])
        merge = settings["merge"]._replace(shares=arrays["shares"], lock=arrays["lock"])
        sync = arrays["sync"]
        lo, hi = settings["offsets"][worker], settings["offsets"][worker + 1]
        shard = Shard(arrays["orders"][lo:hi], arrays["etas"][lo:hi],
                      np.random.default_rng(settings["streams"][worker]))
        probe = Probe(arrays["point"], arrays["margins"])
        head = None if settings["head"] is None else Head(settings["head"], arrays["head_lock"])
        replica = None if settings["locked"] else new_replica(shared, head)

        def serve(spins):
            replica_serve(Channel(sync, worker, spins), shard, probe, data, shared, replica,
                          config, merge, head)

        serve(0)  # compile or load now, not in the first timed call (no call is pending)
        conn.send(("ready", None))
        while True:
            message = conn.recv_bytes()
            while message == WAKE and conn.poll():
                message = conn.recv_bytes()  # wake-ups queued while this worker spun
            if message != WAKE:
                break
            _inject_fault(worker)
            serve(settings["spins"])
    except KeyboardInterrupt:
        pass
    except BaseException:
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass
        if sync is not None:  # answer the call in progress, if any, so the leader stops waiting
            finish(sync, worker, sync[GO], FAILED)
    finally:
        del segments  # detach; the parent unlinks


WAKE, QUIT = b"w", b"q"  # down a worker's pipe: wake up; leave


class ProcessTeam(Team):
    """A :class:`~.team.Team` whose workers 1.. are processes."""

    def __init__(self, workers, state):
        self.shm = SharedArrays()
        self.processes, self.conns = [], []
        # fork where there is one: workers inherit the compiled kernels (no JIT start-up)
        # and the read-only data, and need no `if __name__ == "__main__"` guard in the
        # user's script; they only run nogil serial kernels, so no thread pool state is
        # needed after the fork.
        self.context = mp.get_context(start_method())
        try:
            super().__init__(workers, self._share(workers, state))
            workers.make_replicas(count=1)  # the leader's; each process makes its own
            self.warm_up()  # before the fork, so forked workers inherit the loaded kernel
            self._start()
        except BaseException:
            self.close()
            raise

    def _share(self, workers, state):
        """Move the model, the lock, the rows, the step sizes and the hand-off array into
        shared memory (and the read-only data where workers are spawned); returns the
        hand-off array."""
        read_only = {**workers.data._asdict(), "penalty_weights": workers.config.penalty_weights,
                     "shares": workers.merge.shares}
        if self.context.get_start_method() == "fork":
            # forked workers inherit the read-only arrays (copy-on-write pages that are
            # never written are never copied)
            self.inherited = read_only
        else:
            self.inherited = {}
            for key, array in read_only.items():
                self.shm.put(key, array)
        workers.merge = workers.merge._replace(lock=self.shm.put("lock", workers.merge.lock))
        for key in ("v", "b", "scalars", "q", "rule_state"):
            setattr(state, key, self.shm.put(key, getattr(state, key)))
        workers.shared = state.kernel_model
        if workers.head is not None:
            workers.head = workers.head._replace(lock=self.shm.put("head_lock",
                                                                   workers.head.lock))
        workers.orders = self.shm.put("orders", workers.orders)
        workers.etas = self.shm.put("etas", workers.etas)
        workers.probe = Probe(self.shm.put("point", workers.probe.point),
                              self.shm.put("margins", workers.probe.out))
        return self.shm.put("sync", new_sync(workers.n_workers))

    def _start(self):
        context = self.context
        # the configs without their arrays, which the workers find in shared memory
        settings = {"config": self.workers.config._replace(penalty_weights=None),
                    "merge": self.workers.merge._replace(shares=None, lock=None),
                    "locked": self.workers.locked, "head": None if self.workers.head is None else self.workers.head.size,
                    "offsets": [int(o) for o in self.workers.offsets],
                    "streams": self.workers.streams, "spins": self.spins}
        for w in range(1, self.workers.n_workers):
            parent_end, child_end = context.Pipe()
            forked = context.get_start_method() == "fork"
            process = context.Process(target=_worker_main, name=f"psgd-hogwild-{w}",
                                      args=(w, self.shm.specs, self.inherited, settings,
                                            child_end,
                                            [*self.conns, parent_end] if forked else []),
                                      daemon=True)
            process.start()
            child_end.close()
            self.processes.append(process)
            self.conns.append(parent_end)
        for w in range(1, self.workers.n_workers):
            self._receive(w, "ready")

    def _receive(self, w, expected):
        """Worker ``w``'s next message, which must be ``expected``; a report of an error
        or a death raises WorkerError naming the worker."""
        conn, process = self.conns[w - 1], self.processes[w - 1]
        wait([conn, process.sentinel])
        if not conn.poll():
            raise self._died(w)
        try:
            kind, value = conn.recv()
        except (EOFError, OSError):  # closed, or reset: it exited with our wake-ups unread
            raise self._died(w) from None
        if kind == "error":
            raise WorkerError(f"hogwild worker {w} failed:\n{value}")
        assert kind == expected, (kind, expected)
        return value

    def _died(self, w):
        process = self.processes[w - 1]
        process.join(timeout=1)
        return WorkerError(f"hogwild worker {w} (pid {process.pid}) died with exit code "
                           f"{process.exitcode}")

    def _wake_workers(self):
        for w, conn in enumerate(self.conns, start=1):
            try:
                conn.send_bytes(WAKE)
            except OSError:  # its end is closed: it died, or reported an error and left
                self._receive(w, "error")

    def _check_workers(self):
        """A worker that reported an error or died fails the run (its answer never comes)."""
        for w, (conn, process) in enumerate(zip(self.conns, self.processes), start=1):
            if conn.poll() or process.exitcode is not None:
                self._receive(w, "error")

    def _error(self, w):
        try:
            self._receive(w, "error")
        except WorkerError as error:
            return error

    def close(self):
        """Stop the workers and unlink every shared segment."""
        if self.conns:
            publish(self.sync, STOP)
        for conn in self.conns:
            try:
                conn.send_bytes(QUIT)
            except (OSError, BrokenPipeError):
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for conn in self.conns:
            conn.close()
        self.processes, self.conns = [], []
        self.shm.close()
