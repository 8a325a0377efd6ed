"""Layers without cycles: what each package imports, checked statically (ast) and in fresh interpreters.

Run ``python tests/test_layers.py`` to print the import cycles (and the edges that close them).
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "dtsdk"
# Below the exporter package: they must be usable (and importable) without loading it.
BELOW_IO = ("dtsdk.rigs", "dtsdk.renderer", "dtsdk.corpus")


# ---- the static import graph --------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The dtsdk module ``name`` stands for: itself, or the module that defines it (longest prefix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str) -> dict[str, int]:
    """Every dtsdk module that ``module`` imports, anywhere in the file (functions included) -> line."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: ".x" inside package p is p.x
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # `from a import b` imports the submodule a.b when there is one, else the module a.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name) if name.split(".")[0] == "dtsdk" else None
            if target and target != module:
                out.setdefault(target, node.lineno)
    return out


def module_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line}. Parent packages a module lives in are not edges (Python imports
    them first anyway; counting them would put every package in a cycle with its own modules)."""
    return {m: _imported(m) for m in MODULES}


def _unit(module: str) -> str:
    """The package-level node: ``dtsdk.rigs.gltf`` -> ``dtsdk.rigs``; ``dtsdk.animation`` stays."""
    return ".".join(module.split(".")[:2])


def package_graph() -> dict[str, dict[str, str]]:
    """dtsdk's subpackages and top-level modules -> {imported one: the first edge that makes it}."""
    out: dict[str, dict[str, str]] = {}
    for module, targets in module_graph().items():
        for target, line in targets.items():
            if _unit(module) != _unit(target):
                where = f"{MODULES[module].relative_to(REPO)}:{line}"
                out.setdefault(_unit(module), {}).setdefault(_unit(target), where)
    return out


def cycles(graph: dict[str, dict]) -> list[list[str]]:
    """Cycles ``[a, b, ..., a]``: in each strongly connected component, the shortest one through each node
    (without repeats), so every knot is reported with the edges that tie it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm; the graph has ~150 nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while component[-1:] != [v]:
                component.append(stack.pop())
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    found: dict[frozenset, list[str]] = {}
    for component in components:
        for node in sorted(component):
            cycle = _cycle_through(node, set(component), graph)
            found.setdefault(frozenset(zip(cycle, cycle[1:])), cycle)
    return list(found.values())


def _cycle_through(start: str, component: set[str], graph: dict[str, dict]) -> list[str]:
    """A shortest path start -> ... -> start inside one component (breadth-first)."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, {})):
                if w == start:
                    return paths[v] + [start]
                if w in component and w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is in a component but on no cycle")


def _where(module: str, edge: str | int) -> str:
    """``path:line`` of an edge (package edges carry it already, module edges carry the line)."""
    return edge if isinstance(edge, str) else f"{MODULES[module].relative_to(REPO)}:{edge}"


def describe(cycle: list[str], graph: dict[str, dict]) -> str:
    return " -> ".join(cycle) + "\n    " + "\n    ".join(
        f"{a} -> {b} ({_where(a, graph[a][b])})"
        for a, b in zip(cycle, cycle[1:]))


def test_no_import_cycles_between_packages():
    graph = package_graph()
    found = [describe(c, graph) for c in cycles(graph)]
    assert not found, "import cycles between dtsdk's packages (move the code to the layer it belongs to):\n" + \
        "\n".join(found)


def test_no_import_cycles_between_modules():
    graph = module_graph()
    found = [describe(c, graph) for c in cycles(graph)]
    assert not found, "import cycles between dtsdk's modules:\n" + "\n".join(found)


def test_the_cycle_finder_sees_lazy_imports():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert "dtsdk.errors" in _imported("dtsdk.rigs")  # imported inside get_rig, a function


def test_only_the_public_facade_imports_the_package_root():
    importers = sorted(m for m, targets in module_graph().items() if "dtsdk" in targets)
    assert not importers, f"{importers} import the package root `dtsdk`; import what they need from its module " \
        "(the version is dtsdk._version.__version__)"


# ---- fresh interpreters ---------------------------------------------------------------------------
def _fresh_import(module: str) -> subprocess.CompletedProcess:
    """Import ``module`` alone in a new interpreter; stdout: the dtsdk modules it loaded, as JSON."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(m for m in sys.modules if m.startswith('dtsdk'))))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)


def _top_level_units() -> list[str]:
    return sorted({_unit(m) for m in MODULES} - {"dtsdk", "dtsdk.__main__"})  # __main__ runs the CLI


def test_every_package_imports_alone_in_a_fresh_interpreter():
    # All at once (each pays for importing torch), so a cycle that only breaks in one import order shows.
    units = _top_level_units()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(units, pool.map(_fresh_import, units)))
    failed = {u: r.stderr.strip().splitlines()[-1:] for u, r in results.items() if r.returncode}
    assert not failed, f"these fail to import on their own: {failed}"


@pytest.mark.parametrize("module", BELOW_IO)
def test_lower_layers_do_not_load_the_exporter_package(module):
    result = _fresh_import(module)
    assert result.returncode == 0, result.stderr
    loaded = [m for m in json.loads(result.stdout) if m == "dtsdk.io" or m.startswith("dtsdk.io.")]
    assert not loaded, f"importing {module} loads the exporter package: {loaded}"


# ---- the version ----------------------------------------------------------------------------------
def test_version_is_one_value():
    import dtsdk
    from dtsdk._version import __version__

    project = (REPO / "pyproject.toml").read_text(encoding="utf-8").split("[project]", 1)[1].split("\n[", 1)[0]
    static = re.search(r'^version\s*=\s*"([^"]+)"', project, re.M).group(1)
    assert dtsdk.__version__ == __version__ == static, "keep pyproject.toml's version equal to dtsdk/_version.py"


if __name__ == "__main__":
    for name, graph in (("packages", package_graph()), ("modules", module_graph())):
        found = cycles(graph)
        print(f"{name}: {len(found)} cycle(s)")
        for cycle in found:
            print("  " + describe(cycle, graph))


def test_the_default_mesh_rig_is_named_in_one_place():
    """Outside dtsdk/rigs/, code says DEFAULT_MESH_RIG, never the literal "dtface" (docstrings aside)."""
    package = Path(__file__).resolve().parents[1] / "dtsdk"
    found = []
    for path in package.rglob("*.py"):
        if "rigs" in path.relative_to(package).parts:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        found += [f"{path.relative_to(package)}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value == "dtface" and id(node) not in docstrings]
    assert not found, f"write DEFAULT_MESH_RIG instead of 'dtface' at {', '.join(found)}"
