"""Benchmark suites: a TOML file of ``psgd bench`` runs, one sub-folder each.

The file holds an optional ``[defaults]`` table and one ``[[run]]`` table per
run; their keys are ``psgd bench`` option names (``l1-ratio`` or ``l1_ratio``),
and a run's ``name`` names its sub-folder::

    [defaults]
    epochs = 5
    repeats = 3

    [[run]]
    name = "synthetic-log"
    drivers = ["sync", "hogwild"]

    [[run]]
    name = "a9a-hinge"
    data = "a9a"
    loss = "hinge"
    peers = true

``true`` turns a flag on (``peers = true`` means every installed peer), a list
is joined with commas. Entries are turned into command-line arguments here and
parsed by the ``psgd bench`` parser itself, so they are checked exactly as
typed options are.
"""
import re

TOP_LEVEL = {"defaults", "run"}
NOT_IN_RUNS = {"out", "config"}
NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def _load_toml(path):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError("reading a --config file needs Python >= 3.11 "
                             "(or pip install tomli)") from None
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ValueError(f"no such config file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None


VALUED_BOOLEANS = {"shuffle"}  # true/false are values of the option, not a flag


def to_argv(options, where):
    """``{"l1-ratio": 0.5, "peers": True, "drivers": ["sync"]}`` as bench arguments."""
    argv = []
    for key, value in options.items():
        option = key.replace("_", "-")
        if option in NOT_IN_RUNS:
            raise ValueError(f"{where}: {key!r} cannot be set per run (each run writes to "
                             f"its own sub-folder of --out)")
        if isinstance(value, bool) and option in VALUED_BOOLEANS:
            argv += [f"--{option}", str(value).lower()]
        elif isinstance(value, bool):
            argv += [f"--{option}"] if value else []
        elif isinstance(value, list):
            argv += [f"--{option}", ",".join(str(v) for v in value)]
        elif isinstance(value, (dict,)):
            raise ValueError(f"{where}: {key!r} must be a value, not a table")
        else:
            argv += [f"--{option}", str(value)]
    return argv


def read_suite(path):
    """The runs of a suite file: a list of ``(name, argv)``.

    Raises ``ValueError`` naming the file (and the run) for anything it cannot use.
    """
    config = _load_toml(path)
    unknown = sorted(set(config) - TOP_LEVEL)
    if unknown:
        raise ValueError(f"{path}: unknown top-level key {unknown[0]!r} "
                         f"(expected [defaults] and [[run]] tables)")
    defaults = config.get("defaults", {})
    runs = config.get("run", [])
    if not isinstance(defaults, dict) or not isinstance(runs, list) or not runs:
        raise ValueError(f"{path}: needs at least one [[run]] table")
    entries, seen = [], set()
    for index, run in enumerate(runs, start=1):
        run = dict(run)
        name = str(run.pop("name", f"run-{index}"))
        where = f"{path}: run {name!r}"
        if not NAME.match(name) or name in seen:
            raise ValueError(f"{where}: names must be unique and use only letters, digits, "
                             f"'.', '_' and '-'")
        seen.add(name)
        merged = {key.replace("_", "-"): value for key, value in defaults.items()}
        merged.update({key.replace("_", "-"): value for key, value in run.items()})
        entries.append((name, to_argv(merged, where)))
    return entries
