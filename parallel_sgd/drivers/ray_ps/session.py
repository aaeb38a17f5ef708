"""Joining or starting Ray, once per process, and shutting it down at exit.

``connect(address)``: a Ray already initialized in this process is used as it is.
Otherwise, with no address, a local Ray is started (``ray.init(address="local")``:
a bare ``ray.init()`` may try to join a dead cluster recorded in Ray's temporary
folder and hang) and left up for later fits; with ``"auto"``, ``"host:port"`` or
``"ray://host:port"`` the cluster is first checked to be reachable, so a wrong
address fails in seconds with a ConnectionError instead of hanging. Whatever
this module started or joined is shut down when the process exits, also after
an error or Ctrl-C (``atexit`` runs on both).
"""
import atexit
import logging
import os
import socket

_REGISTERED = False
CONNECT_TIMEOUT_S = 3.0


def import_ray():
    """The ``ray`` module, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError("driver 'ray' needs Ray: pip install 'parallel-sgd[ray]'") from None
    return ray


def connect(address=None, num_cpus=None):
    """Make sure this process is connected to Ray; returns the ``ray`` module."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address is None:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                 logging_level=logging.WARNING, log_to_driver=False)
    else:
        target = resolve_address(address)
        try:
            ray.init(address=target, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            raise ConnectionError(f"could not join the Ray cluster at {address!r}: {exc}") from None
    _shutdown_at_exit(ray)
    return ray


def _shutdown_at_exit(ray):
    global _REGISTERED
    if not _REGISTERED:
        atexit.register(ray.shutdown)
        _REGISTERED = True


def resolve_address(address):
    """The address to pass to ``ray.init``, after checking something listens there.

    ``"auto"`` means ``RAY_ADDRESS`` or the cluster ``ray start`` recorded on this
    machine. Raises ConnectionError naming the address when nothing answers.
    """
    if address == "auto":
        found = os.environ.get("RAY_ADDRESS") or _recorded_address()
        if not found:
            raise ConnectionError("address='auto' but no Ray cluster runs on this machine; "
                                  "start one with `ray start --head`, give its address, or "
                                  "leave address unset for a local Ray")
        target = found
    else:
        target = address
    host, port = split_host_port(target)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConnectionError(f"no Ray cluster reachable at {address!r} ({host}:{port}: "
                              f"{exc.strerror or exc}); start one with `ray start --head` "
                              f"or leave address unset for a local Ray") from None
    return target


def split_host_port(address):
    """``(host, port)`` of ``"host:port"`` or ``"ray://host:port"``; ValueError otherwise."""
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"address must be 'auto', 'host:port' or 'ray://host:port', "
                         f"got {address!r}")
    return host, int(port)


def _recorded_address():
    """The cluster address ``ray start`` wrote on this machine, if any."""
    try:
        from ray._private.utils import read_ray_address
        return read_ray_address()
    except Exception:  # private API: fall back to its default location
        path = "/tmp/ray/ray_current_cluster"
        if os.path.exists(path):
            with open(path) as handle:
                return handle.read().strip() or None
        return None
