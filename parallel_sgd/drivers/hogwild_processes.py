"""Hogwild! workers as processes sharing the data and the model through shared memory.

The parent copies the shared model and the lock into shared memory once, and
rebinds the driver's model to the shared copy, so checkpoints read what the
workers write. The read-only data (rows, labels, penalty weights) is inherited
by forked workers (its pages are never written, so never copied) and copied
into shared memory only where processes are spawned. The workers' rows and step sizes live
in two more shared arrays (:class:`~.hogwild.Workers` lays them out); for each
stretch of steps between checkpoints the parent writes the step sizes and sends
every worker a small command (which of its own steps to run). A worker
reshuffles its own rows at each epoch start with its own random stream, runs
the same kernel as a thread worker would on its own private replica, and
answers with the number of steps it completed.

A worker that raises reports the error, which the parent re-raises naming the
worker; a worker that dies is noticed through its process sentinel and named
too -- the run never hangs. Every segment is unlinked by the parent in
:meth:`ProcessTeam.close`, which the driver calls after success, an exception
or Ctrl-C.
"""
import multiprocessing as mp
import os
import traceback
from multiprocessing.connection import wait

import numpy as np

from .shared_arrays import SharedArrays, attach

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


def _worker_main(worker, specs, inherited, settings, conn):
    """Body of a worker process: attach, then run slices until told to stop."""
    segments = []
    try:
        from ..kernels.hogwild import locked_epoch, new_replica, replica_epoch

        arrays, segments = attach(specs)
        arrays.update(inherited)
        data = (arrays["X"], arrays["indices"], arrays["indptr"], arrays["y"],
                arrays["sample_weight"])
        shared = (arrays["v"], arrays["scalars"], arrays["q"], arrays["rule_state"])
        config = (*settings["config"], arrays["penalty_weights"])
        replica, base = new_replica(shared)
        lock = arrays["lock"]
        lo, hi = settings["offsets"][worker], settings["offsets"][worker + 1]
        own_rows, own_etas = arrays["orders"][lo:hi], arrays["etas"][lo:hi]
        rng = np.random.default_rng(settings["streams"][worker])
        conn.send(("ready", None))
        while True:
            message = conn.recv()
            if message is None:
                break
            start, end, t_start, reshuffle = message
            _inject_fault(worker)
            if reshuffle:
                rng.shuffle(own_rows)
            rows, etas = own_rows[start:end], own_etas[start:end]
            if settings["locked"]:
                done = locked_epoch(data, shared, config, rows, etas, t_start, lock)
            else:
                done = replica_epoch(data, shared, replica, base, config, rows, etas, t_start,
                                     settings["merge_every"], lock, arrays["shares"],
                                     settings["intercept_share"], settings["state_share"],
                                     settings["l1"])
            conn.send(("done", int(done)))
    except KeyboardInterrupt:
        pass
    except BaseException:
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass
    finally:
        del segments  # detach; the parent unlinks


class ProcessTeam:
    """``n_workers`` processes running :class:`~.hogwild.Workers` slices."""

    def __init__(self, workers, state):
        self.workers = workers
        self.shm = SharedArrays()
        self.processes, self.conns = [], []
        # fork where there is one: workers inherit the compiled kernels (no JIT start-up)
        # and the read-only data, and need no `if __name__ == "__main__"` guard in the
        # user's script; they only run nogil serial kernels, so no thread pool state is
        # needed after the fork.
        self.context = mp.get_context(start_method())
        try:
            self._share(workers, state)
            self._start()
        except BaseException:
            self.close()
            raise

    def _share(self, workers, state):
        X, indices, indptr, y, sample_weight = workers.data
        read_only = {"X": X, "indices": indices, "indptr": indptr, "y": y,
                     "sample_weight": sample_weight, "penalty_weights": workers.config[6],
                     "shares": workers.shares}
        if self.context.get_start_method() == "fork":
            # forked workers inherit the read-only arrays: copy-on-write pages that are
            # never written are never copied. Copied into /dev/shm instead, dense
            # 200k x 100 data made a 2-worker epoch 28 ms against 23 ms inherited
            # (2-core machine, runs alternated; /dev/shm gets no transparent huge pages
            # there, which random row access feels in the TLB)
            self.inherited = read_only
        else:
            self.inherited = {}
            for key, array in read_only.items():
                self.shm.put(key, array)
        self.shm.put("lock", workers.lock)
        state.v = self.shm.put("v", state.v)
        state.scalars = self.shm.put("scalars", state.scalars)
        state.q = self.shm.put("q", state.q)
        state.rule_state = self.shm.put("rule_state", state.rule_state)
        workers.orders = self.shm.put("orders", workers.orders)
        workers.etas = self.shm.put("etas", workers.etas)

    def _start(self):
        context = self.context
        settings = {"config": self.workers.config[:6], "locked": self.workers.locked,
                    "merge_every": self.workers.merge_every, "l1": self.workers.l1,
                    "state_share": self.workers.state_share,
                    "intercept_share": 1.0 / self.workers.n_workers,
                    "offsets": [int(o) for o in self.workers.offsets],
                    "streams": self.workers.streams}
        for w in range(self.workers.n_workers):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_worker_main, name=f"psgd-hogwild-{w}",
                                      args=(w, self.shm.specs, self.inherited, settings,
                                            child_end),
                                      daemon=True)
            process.start()
            child_end.close()
            self.processes.append(process)
            self.conns.append(parent_end)
        self._gather()

    def _died(self, w):
        process = self.processes[w]
        process.join(timeout=1)
        return WorkerError(f"hogwild worker {w} (pid {process.pid}) died with exit code "
                           f"{process.exitcode}")

    def _gather(self):
        """One reply per worker, in worker order; a failure or death raises WorkerError."""
        replies = {}
        while len(replies) < len(self.conns):
            pending = [w for w in range(len(self.conns)) if w not in replies]
            conns = {self.conns[w]: w for w in pending}
            sentinels = {self.processes[w].sentinel: w for w in pending}
            for ready in wait(list(conns) + list(sentinels)):
                if ready in conns:
                    w = conns[ready]
                    try:
                        kind, value = ready.recv()
                    except EOFError:
                        raise self._died(w) from None
                    if kind == "error":
                        raise WorkerError(f"hogwild worker {w} failed:\n{value}")
                    replies[w] = value
                else:
                    w = sentinels[ready]
                    if w not in replies and not self.conns[w].poll():
                        raise self._died(w)
        return [replies[w] for w in range(len(self.conns))]

    def run_steps(self, rows, etas, first_step):
        plans = self.workers.plan(etas, first_step)
        for conn, (a, b, t_start, reshuffle) in zip(self.conns, plans):
            conn.send((int(a), int(b), int(t_start), bool(reshuffle)))
        return self.workers.first_failure(etas, first_step, plans, self._gather())

    def warm_up(self):
        """Workers compile (or load) their kernels while starting; nothing more to do."""

    def close(self):
        """Stop the workers and unlink every shared segment."""
        for conn in self.conns:
            try:
                conn.send(None)
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
