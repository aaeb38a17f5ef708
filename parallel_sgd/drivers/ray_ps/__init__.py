"""The Ray parameter-server driver (``fit(problem, driver="ray")``).

Plain classes hold the logic -- :mod:`.server` (a key range and its update-rule
state), :mod:`.worker` (a row shard and its rounds), :mod:`.rounds` (round
boundaries, the consistency bound) -- and :mod:`.actors` wraps them for Ray.
:mod:`.session` joins or starts Ray; :mod:`.settings` validates the options.
Importing this package does not import Ray.
"""
from .driver import run
from .settings import ClusterSettings, PSConfig

__all__ = ["run", "ClusterSettings", "PSConfig"]
