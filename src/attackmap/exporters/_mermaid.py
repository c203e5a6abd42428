"""``mermaid``: each workload's attack paths as a Mermaid flowchart (renders in GitHub
markdown and mkdocs): ``flowchart LR``, one ``subgraph`` per workload, the nodes and edges
of :mod:`._picture` (the same paths, the same bound), techniques labelled with the controls
that break every path to them, ATLAS techniques in their own class.

Node ids are generated (``w<i>n<j>``), never taken from the input; labels are quoted and
every character Mermaid gives a meaning inside quotes is written as an entity code
(``#quot;``, ``#lt;``, ``#35;``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attackmap.exporters._common import skipped_lines, skipped_summary
from attackmap.exporters._picture import picture

if TYPE_CHECKING:
    from attackmap.graph import Report

#: Edges in one document at most (Mermaid refuses more than 500 by default).
MAX_EDGES = 450

_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    "\\": "#92;",
} | {chr(c): " " for c in range(32)}

CLASSES = (
    "classDef entry fill:#e8f1ff,stroke:#4a78c2",
    "classDef step fill:#fff7e0,stroke:#b08a2e",
    "classDef attack fill:#ffe4e1,stroke:#cc0000,stroke-width:2px",
    "classDef atlas fill:#efe6ff,stroke:#6a3fb5,stroke-width:2px,stroke-dasharray:5 3",
    "classDef note fill:#ffffff,stroke:#999999,stroke-dasharray:2 2",
)


def label(*lines: str) -> str:
    """A quoted Mermaid label of ``lines`` (joined by ``<br/>``), every special character
    written as an entity code."""
    return '"' + "<br/>".join("".join(_ENTITIES.get(c, c) for c in x) for x in lines) + '"'


class MermaidExporter:
    name = "mermaid"
    suffix = ".mmd"
    description = "each workload's attack paths as a Mermaid flowchart (GitHub, mkdocs)"

    def export(self, report: Report) -> str:
        lines = ["flowchart LR"]
        classes: dict[str, list[str]] = {}
        edges = 0
        drawn = [w for w in report.workloads if w.techniques]
        left = 0
        for i, wa in enumerate(drawn):
            pic = picture(wa)
            if edges + len(pic.edges) > MAX_EDGES and edges:
                left = len(drawn) - i
                break
            edges += len(pic.edges)
            ids = {n.key: f"w{i}n{j}" for j, n in enumerate(pic.nodes)}
            lines.append(f"  subgraph w{i}[{label(pic.title)}]")
            lines.append("    direction LR")
            for n in pic.nodes:
                text = [n.label, *([n.detail] if n.detail else []), *n.notes]
                lines.append(f"    {ids[n.key]}[{label(*text)}]")
                classes.setdefault(n.framework or n.kind, []).append(ids[n.key])
            lines += [f"    {ids[a]} --> {ids[b]}" for a, b in pic.edges]
            if pic.note:
                lines.append(f"    w{i}note[{label(pic.note)}]")
                classes.setdefault("note", []).append(f"w{i}note")
            lines.append("  end")
        notes = []
        if not drawn:
            notes.append("No technique is reachable.")
        if left:
            notes.append(f"{left} more workload(s) not drawn: see the HTML or markdown report")
        notes += [f"warning: {w}" for w in report.warnings]
        if report.skipped:
            notes.append(skipped_summary(report))
        lines += [f"  %% skipped: {s}" for s in skipped_lines(report)]
        for k, note in enumerate(notes):
            lines.append(f"  note{k}[{label(note)}]")
            classes.setdefault("note", []).append(f"note{k}")
        lines += [f"  {c}" for c in CLASSES]
        lines += [f"  class {','.join(ids)} {name}" for name, ids in sorted(classes.items())]
        return "\n".join(lines) + "\n"
