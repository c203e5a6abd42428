"""``dot``: the attack graph in Graphviz DOT (text we write; no Graphviz needed to produce it).

Entry points are ``house`` shapes, attacker states ellipses, attack steps boxes and ATT&CK
techniques double octagons. Nodes and edges on a reported path are drawn red and bold.
The report's warnings (an input without workloads...) are the graph's label, with the
number of files or objects skipped; each skipped one is a ``// skipped: path:line: reason``
comment line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attackmap.exporters._common import GraphData, graph_data

if TYPE_CHECKING:
    from attackmap.graph import Report

SHAPES = {"entry": "house", "state": "ellipse", "step": "box", "technique": "doubleoctagon"}
FILLS = {"entry": "#e8f1ff", "state": "#f4f4f4", "step": "#fff7e0", "technique": "#ffe4e1"}


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class DotExporter:
    name = "dot"
    suffix = ".dot"
    description = "the attack graph in Graphviz DOT, reported paths highlighted"

    def export(self, report: Report) -> str:
        return graph_dot(graph_data(report))


def graph_dot(data: GraphData, name: str = "attackmap") -> str:
    """DOT text for ``data`` (nodes and edges sorted)."""
    lines = [
        f"digraph {_quote(name)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10, style=filled];',
        '  edge [color="#999999"];',
    ]
    notes = [f"warning: {w}" for w in data.warnings]
    if data.skipped:
        notes.append(f"skipped {len(data.skipped)} object(s) or file(s), not analysed")
    if notes:
        lines += [f"  label={_quote(chr(10).join(notes))};", "  labelloc=t;"]
    lines += [f"  // skipped: {s}" for s in data.skipped]
    for node, attrs in data.nodes.items():
        kind = attrs["kind"]
        extra = ', color="#cc0000", penwidth=2' if node in data.on_path else ""
        lines.append(
            f"  {_quote(node)} [label={_quote(attrs['label'])}, shape={SHAPES[kind]}, "
            f'fillcolor="{FILLS[kind]}"{extra}];'
        )
    for a, b in sorted(data.edges):
        extra = ' [color="#cc0000", penwidth=2]' if (a, b) in data.path_edges else ""
        lines.append(f"  {_quote(a)} -> {_quote(b)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"
