"""The architecture as the import graph shows it: one direction, no cycles.

Every ``import`` in ``src/attackmap`` counts (module level, inside functions, and under
``TYPE_CHECKING``: a type is a dependency too). ``docs/architecture.md`` draws the layers
this test enforces: data before its views, the report before the exporters, and ``graph/``
as a pipeline a reader follows in one direction.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "attackmap"

# Top-level parts, lowest first: each may import only parts of a lower rank (or itself).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("attackmap.errors",),
    (
        "attackmap._resources",
        "attackmap._version",
        "attackmap._gc",
        "attackmap._malloc",
        "attackmap._fork",
        "attackmap._args",
        "attackmap._jsontext",
        "attackmap._views",
    ),
    ("attackmap.attack",),
    ("attackmap._severity", "attackmap.model", "attackmap.pss", "attackmap.seccomp"),
    ("attackmap.audit", "attackmap._config"),
    ("attackmap.graph",),
    ("attackmap.engines",),  # where analyses run (a process pool, Dask) and their exact join
    ("attackmap",),  # the public facade: lazy names from graph, model and attack
    ("attackmap.harden", "attackmap.exporters"),
    ("attackmap._docsgen",),
    ("attackmap.cli",),
)

# Inside graph/: the pod network index -> facts -> (relations, patch operations: vocabularies the catalogue checks)
# -> catalogue -> instances and reachability (engine) -> Pod Security join -> the report's
# data -> the analysis (paths, findings, controls) that fills it; docs read the catalogue.
GRAPH_ORDER: tuple[str, ...] = (
    "attackmap.graph._network",  # NetworkPolicy semantics: who may open which port
    "attackmap.graph._stores",  # shared storage: who writes what another reads
    "attackmap.graph._credentials",  # credential shapes and where they lead
    "attackmap.graph._placement",  # node classes from scheduling: who may share a node
    "attackmap.graph._facts_ai",  # AI-system facts (model servers, model sources)
    "attackmap.graph._facts",
    "attackmap.graph._relations",
    "attackmap.graph._patches",
    "attackmap.graph._catalogue",
    "attackmap.graph._engine",
    "attackmap.graph._pss_join",
    "attackmap.graph._report",
    "attackmap.graph._analysis",
    "attackmap.graph._compare",  # saved reports compared (baseline, accepted, diff)
    "attackmap.graph._docs",
    "attackmap.graph",
)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """attackmap module -> the attackmap modules it imports (``from pkg import sub`` counts
    as importing ``pkg.sub`` when that is a module, else ``pkg``)."""
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            else:
                continue
            edges[name].update(t for t in targets if t in modules and t != name)
    return edges


def _unit(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return import_graph()


def test_the_import_graph_is_read_from_the_sources(edges: dict[str, set[str]]) -> None:
    # the parser sees the imports this file relies on (a broken walk would pass vacuously)
    assert "attackmap.graph._report" in edges["attackmap.graph._analysis"]
    assert "attackmap.graph._catalogue" in edges["attackmap.graph._engine"]
    assert "attackmap.graph" in edges["attackmap.exporters._html"]  # a function-level import
    assert "attackmap.exporters._sarif" in edges["attackmap.exporters"]  # under TYPE_CHECKING
    assert len(edges) > 80


def test_no_import_cycles(edges: dict[str, set[str]]) -> None:
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_every_part_imports_only_lower_layers(edges: dict[str, set[str]]) -> None:
    rank = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
    assert {_unit(m) for m in edges} <= set(rank), "a new top-level part: place it in LAYERS"
    upward = sorted(
        (a, b)
        for a, targets in edges.items()
        for b in targets
        if _unit(a) != _unit(b) and rank[_unit(b)] >= rank[_unit(a)]
    )
    assert upward == []


def test_graph_never_imports_its_views(edges: dict[str, set[str]]) -> None:
    views = ("attackmap.exporters", "attackmap.cli", "attackmap.harden", "attackmap._docsgen")
    found = sorted(
        (a, b)
        for a, targets in edges.items()
        if _unit(a) == "attackmap.graph"
        for b in targets
        if b.startswith(views)
    )
    assert found == []


def test_graph_is_a_pipeline_in_one_direction(edges: dict[str, set[str]]) -> None:
    graph_modules = {m for m in edges if _unit(m) == "attackmap.graph"}
    assert graph_modules == set(GRAPH_ORDER), "a new graph module: place it in GRAPH_ORDER"
    position = {m: i for i, m in enumerate(GRAPH_ORDER)}
    backwards = sorted(
        (a, b)
        for a in GRAPH_ORDER
        for b in edges[a]
        if b in position and position[b] >= position[a]
    )
    assert backwards == []
