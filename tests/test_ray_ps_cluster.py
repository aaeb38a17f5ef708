"""The Ray driver on real clusters (slow): two nodes, killed actors, the CLI's clean exit."""
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import parallel_sgd as psgd

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def ray_processes():
    """Ray's daemons running on this machine (their pids)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines()
            if "raylet" in line or "gcs_server" in line}


def synthetic(n=20000, d=3000):
    data = psgd.make_sparse_classification(n_samples=n, n_features=d, nnz_per_row=20,
                                           random_state=2)
    return psgd.Problem(data, "log_loss", alpha=1e-4)


def actor_named(part):
    """The running fit's actor whose name contains ``part`` (e.g. ``-worker-0``)."""
    names = [n for n in ray.util.list_named_actors() if part in n]
    assert len(names) == 1, names
    return ray.get_actor(names[0])


@pytest.fixture
def two_nodes():
    """A head and a worker node, one CPU each, on this machine.

    Not pinned to 127.0.0.1: ``ray.init`` rewrites a loopback address to the
    machine's own IP, where a pinned head does not listen (it then hangs)."""
    from ray.cluster_utils import Cluster
    cluster = Cluster(initialize_head=True, head_node_args=dict(
        num_cpus=1, include_dashboard=False))
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_workers_run_on_both_nodes_of_a_cluster(two_nodes):
    problem = synthetic(n=8000)
    nodes = set()

    def at_row(row):
        if row["epoch"] == 1.0:
            workers = [actor_named(f"-worker-{w}") for w in range(2)]
            nodes.update(ray.get([w.node_id.remote() for w in workers]))

    result = psgd.fit(problem, driver="ray", n_workers=2, mode="ssp", staleness=2, n_epochs=2,
                      callback=at_row, local_steps=500)
    assert len(nodes) == 2
    assert len({n["NodeID"] for n in ray.nodes() if n["Alive"]}) == 2
    assert result.trace[-1]["epoch"] == 2.0 and np.isfinite(result.objective)


@pytest.mark.parametrize("victim", ["-worker-1", "-server-1"])
def test_a_killed_actor_is_restarted_and_the_run_completes(local_ray, victim, tmp_path):
    problem = synthetic()
    common = dict(driver="ray", n_workers=2, n_servers=2, mode="async", n_epochs=5,
                  local_steps=1000, random_state=0, checkpoint_dir=str(tmp_path),
                  checkpoint_every=1)
    clean = psgd.fit(problem, **common)
    killed = []

    def kill_during_epoch_2(row):
        if row["epoch"] == 2.0:  # rounds are dispatched again right after this row
            handle = actor_named(victim)
            timer = threading.Timer(0.01, lambda: ray.kill(handle, no_restart=False))
            timer.start()
            killed.append(timer)

    result = psgd.fit(problem, callback=kill_during_epoch_2, **common)
    killed[0].join()
    kind = "workers" if "worker" in victim else "servers"
    assert result.config["faults"][kind] == 1
    assert result.config["faults"][{"workers": "servers", "servers": "workers"}[kind]] == 0
    assert result.trace[-1]["n_updates"] == 5 * problem.n_samples
    assert abs(result.objective / clean.objective - 1) < 0.01
    assert not list(Path(tmp_path).glob("run-*/*.part"))


def test_the_cli_leaves_no_ray_process_behind(tmp_path):
    before = ray_processes()
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]),
                                           os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "parallel_sgd.cli", "bench", "--drivers",
                           "sync,ray", "--epochs", "2", "--repeats", "1", "--quiet",
                           "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ray" in done.stdout
    assert ray_processes() <= before
