"""What a picture of one workload's attack paths shows, and where (``svg``, ``mermaid``).

A workload's paths are chains ``entry → step instance → … → technique``; their union is a
small graph. This module picks the paths to draw (sorted, bounded by :data:`MAX_NODES`),
names each node once (an entry by its name, a step instance by ``<step>@<scope>``, a
technique by its id) and places it in a column: entries first, each step instance one
column after every node before it on a drawn path, techniques last. Rows within a column
follow the rows of a node's predecessors, ties broken by the node's key, so the picture
depends only on the paths, never on the order they were found or listed in.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from attackmap.exporters._common import control_name

if TYPE_CHECKING:
    from attackmap.graph import Path, WorkloadAnalysis

#: Nodes drawn per workload at most; paths that would add more are counted, not drawn.
MAX_NODES = 60


@dataclass(frozen=True)
class Node:
    """One box: ``kind`` is ``entry``, ``step`` or ``technique``; ``label`` its first
    line, ``detail`` its second (a step's scope, a technique's name); ``notes`` extra lines
    (a technique's controls); ``tooltip`` the full text; ``framework`` ``attack`` or
    ``atlas`` for a technique."""

    key: str
    kind: str
    label: str
    detail: str = ""
    notes: tuple[str, ...] = ()
    tooltip: str = ""
    framework: str = ""
    column: int = 0
    row: int = 0


@dataclass(frozen=True)
class Picture:
    """The drawn nodes (by column, then row), edges (sorted key pairs) and what was left out."""

    title: str
    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
    paths_drawn: int
    paths_not_drawn: int
    truncated: bool = False
    """Whether the report itself lists only some paths of a technique."""
    columns: int = field(default=0)

    @property
    def note(self) -> str:
        """``N more paths not drawn`` (and why), or ``""``."""
        parts = []
        if self.paths_not_drawn:
            parts.append(
                f"{self.paths_not_drawn} more path(s) not drawn (limit {MAX_NODES} boxes): "
                "see the report's path lists"
            )
        if self.truncated:
            parts.append("the report lists the shortest paths of some techniques only")
        return "; ".join(parts)


def scope_label(scope: str, workload: str) -> str:
    """A step's scope as short as the picture allows: ``container nim-llm`` for a container
    of the drawn workload, ``pod`` for the workload itself, else the scope as written."""
    if scope == workload:
        return "pod"
    if scope.startswith(workload + "[") and scope.endswith("]"):
        return f"container {scope[len(workload) + 1 : -1]}"
    return scope


def _sorted_paths(wa: WorkloadAnalysis) -> list[tuple[str, Path]]:
    """(technique id, path), shortest first, then by technique and the path's key."""
    pairs = [(t.technique.id, p) for t in wa.techniques for p in t.paths if p.steps]
    return sorted(pairs, key=lambda tp: (len(tp[1].steps), tp[0], tp[1].key))


def _chain(technique: str, path: Path) -> list[str]:
    return [f"entry:{path.start}", *(f"step:{s.key}" for s in path.steps), f"technique:{technique}"]


def picture(wa: WorkloadAnalysis, max_nodes: int = MAX_NODES) -> Picture:
    """The picture of ``wa``'s paths (nothing drawn when no technique is reachable)."""
    ref = str(wa.ref)
    findings = {t.technique.id: t for t in wa.techniques}
    steps = {f"step:{s.key}": s for t in wa.techniques for p in t.paths for s in p.steps}
    chosen: list[list[str]] = []
    keys: set[str] = set()
    left_out = 0
    for technique, path in _sorted_paths(wa):
        chain = _chain(technique, path)
        new = {k for k in chain if k not in keys}
        if len(keys) + len(new) > max_nodes:
            left_out += 1
            continue
        keys |= new
        chosen.append(chain)
    edges = sorted({e for chain in chosen for e in itertools.pairwise(chain)})
    columns = _columns(keys, edges)
    rows = _rows(columns, edges)
    nodes = []
    for key in sorted(keys, key=lambda k: (columns[k], rows[k])):
        kind, _, name = key.partition(":")
        if kind == "entry":
            node = Node(key, kind, f"entry: {name}", tooltip=f"entry point: {name}")
        elif kind == "step":
            s = steps[key]
            where = scope_label(s.scope, ref)
            broken = ", ".join(control_name(c) for c in s.broken_by) or "no single control"
            node = Node(
                key,
                kind,
                s.id,
                where,
                tooltip=f"{s.technique} {s.title}\n{s.id} @ {s.scope}\nbroken by: {broken}",
            )
        else:
            t = findings[name]
            controls = tuple(control_name(c) for c in t.broken_by)
            notes = (
                (f"cut by: {controls[0]}", *controls[1:]) if controls else ("no single control",)
            )
            node = Node(
                key,
                kind,
                name,
                t.technique.name,
                notes=notes,
                tooltip=f"{name} {t.technique.name}\ncontrols that break every path: "
                f"{', '.join(controls) or 'none alone'}",
                framework=t.technique.framework,
            )
        nodes.append(dataclasses.replace(node, column=columns[key], row=rows[key]))
    return Picture(
        title=ref,
        nodes=tuple(nodes),
        edges=tuple(edges),
        paths_drawn=len(chosen),
        paths_not_drawn=left_out,
        truncated=any(t.truncated for t in wa.techniques),
        columns=max(columns.values(), default=-1) + 1,
    )


def _columns(keys: set[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Entries in column 0, a step one column after each predecessor (longest path; a
    cycle between paths stops after ``len(keys)`` rounds), techniques after every step."""
    column = dict.fromkeys(keys, 0)
    for _ in range(len(keys)):
        changed = False
        for a, b in edges:
            if not b.startswith("technique:") and column[b] < column[a] + 1:
                column[b] = column[a] + 1
                changed = True
        if not changed:
            break
    last = max((c for k, c in column.items() if k.startswith("step:")), default=0) + 1
    for k in keys:
        if k.startswith("technique:"):
            column[k] = last
    return column


def _rows(columns: dict[str, int], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Rows per column: by the mean row of a node's drawn predecessors, then by key."""
    preds: dict[str, list[str]] = {}
    for a, b in edges:
        preds.setdefault(b, []).append(a)
    row: dict[str, int] = {}
    for c in range(max(columns.values(), default=-1) + 1):
        here = [k for k, col in columns.items() if col == c]

        def weight(k: str) -> float:
            placed = [row[p] for p in preds.get(k, ()) if p in row]
            return sum(placed) / len(placed) if placed else -1.0

        for i, k in enumerate(sorted(here, key=lambda k: (weight(k), k))):
            row[k] = i
    return row
