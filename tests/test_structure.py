"""The package's layers, read from its source: imports point down, never in a cycle.

Every module belongs to a layer (:data:`LAYERS`, DESIGN.md section 2); a module may
import a module of a lower layer, or one of its own folder, but never one above
it, and the import graph has no cycle. Besides that:

* no driver imports another driver's module (they share helper modules instead);
* the benchmark machinery and the CLI never import the kernels;
* only ``_jit.py`` sets Numba's ``fastmath`` flags.

Imports inside functions count: a lazy import is still a dependency.
"""
import ast
from pathlib import Path

import pytest

import parallel_sgd

PACKAGE = Path(parallel_sgd.__file__).parent
ROOT = "parallel_sgd"

# lower layers first; a unit is a top-level module or folder of the package
LAYERS = [
    ("_jit", "errors", "_files", "_interrupts"),  # Numba flags, errors, atomic files, Ctrl-C
    ("maths", "data"),                 # losses and penalties; Dataset, svmlight, generators
    ("kernels",),                      # the Numba hot loops
    ("model",),                        # Problem, MultinomialProblem, ranking, schedules, rules
    ("reference", "trace"),            # exact optima; convergence rows and the solver clock
    ("drivers",),                      # fit and every driver
    ("estimators",),                   # the scikit-learn estimators
    ("",),                             # parallel_sgd/__init__.py: the public API
    ("benchmark",),                    # runs drivers and peers side by side; tables, figures
    ("cli",),                          # the psgd command
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
DRIVERS = {"sync", "hogwild", "svrg", "multinomial", "multinomial_svrg", "ranking", "ray_ps"}
NO_KERNELS = {"benchmark", "cli"}


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    """``{dotted name: path}`` of every module of the package."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name, path, known):
    """``(line, imported module)`` for every import of the package in module ``name``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names
                      if alias.name.split(".")[0] == ROOT]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != ROOT:
                continue
            for alias in node.names:  # `from pkg import module` depends on that module
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if sub in known else target))
    return found


def unit(name):
    """The top-level module or folder a module belongs to ('' for the package itself)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def driver_of(name):
    """The driver whose module ``name`` is, or None for the drivers' helper modules."""
    parts = name.split(".")
    if len(parts) > 2 and parts[1] == "drivers" and parts[2] in DRIVERS:
        return parts[2]
    return None


def violations(graph):
    """Every broken rule of an import graph ``{module: [(line, imported)]}``."""
    found = []
    for source, edges in graph.items():
        for line, target in edges:
            where = f"{source}:{line} imports {target}"
            a, b = unit(source), unit(target)
            if a != b and RANK[b] >= RANK[a]:
                found.append(f"{where}: layer {b!r} is not below {a!r}")
            if driver_of(source) and driver_of(target) and driver_of(source) != driver_of(target):
                found.append(f"{where}: one driver imports another driver's module")
            if a in NO_KERNELS and b == "kernels":
                found.append(f"{where}: {a} must not import the kernels")
    return found + [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]


def cycles(graph):
    """One cycle through each strongly connected part of the graph that has one."""
    edges = {source: sorted({t for _, t in targets if t in graph})
             for source, targets in graph.items()}
    state, stack, found = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def package_graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_unit_of_the_package_has_a_layer():
    units = {unit(name) for name in modules()}
    assert units <= set(RANK), f"modules without a layer: {sorted(units - set(RANK))}"


def test_imports_point_down_without_cycles():
    assert violations(package_graph()) == []


def test_the_rules_catch_an_upward_import_a_driver_pair_kernels_and_a_cycle():
    graph = {
        "parallel_sgd.kernels.sgd": [(3, "parallel_sgd.drivers.common")],
        "parallel_sgd.drivers.common": [],
        "parallel_sgd.drivers.svrg": [(5, "parallel_sgd.drivers.sync")],
        "parallel_sgd.drivers.sync": [(7, "parallel_sgd.drivers.svrg")],
        "parallel_sgd.cli.bench": [(9, "parallel_sgd.kernels.sgd")],
    }
    found = violations(graph)
    assert any("kernels.sgd:3" in v and "not below" in v for v in found)
    assert any("drivers.svrg:5" in v and "another driver" in v for v in found)
    assert any("cli.bench:9" in v and "must not import the kernels" in v for v in found)
    assert any(v.startswith("import cycle") and "drivers.sync" in v for v in found)
    assert violations({"parallel_sgd.drivers.sync": [(1, "parallel_sgd.kernels.sgd")],
                       "parallel_sgd.kernels.sgd": []}) == []


def fastmath_uses():
    """``path:line`` of every call that passes ``fastmath=`` outside ``_jit.py``."""
    found = []
    for name, path in modules().items():
        if name == f"{ROOT}._jit":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and any(k.arg == "fastmath" for k in node.keywords):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_only_jit_sets_fastmath():
    assert fastmath_uses() == []


@pytest.mark.parametrize("name", sorted(set(DRIVERS) - {"ray_ps"}))
def test_every_listed_driver_module_exists(name):
    assert (PACKAGE / "drivers" / f"{name}.py").is_file()
