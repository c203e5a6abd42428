"""``graphml``: the attack graph as GraphML (networkx's writer), reported paths marked.

Node attributes: ``kind`` (entry, state, step, technique), ``label``, ``on_path`` and, on
technique nodes, ``framework`` (``attack`` or ``atlas``); edge attribute ``on_path``; graph
attributes ``name``, ``attack_version``, ``atlas_version`` and, when the report has any,
``warnings`` and ``skipped`` (what was not analysed: ``path:line: reason``), one per line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attackmap.exporters._common import graph_data

if TYPE_CHECKING:
    from attackmap.graph import Report


class GraphmlExporter:
    name = "graphml"
    suffix = ".graphml"
    description = "the attack graph as GraphML (yEd, Gephi, networkx), paths marked"

    def export(self, report: Report) -> str:
        import networkx as nx

        data = graph_data(report)
        graph = nx.DiGraph(name="attackmap", attack_version=report.attack_version)
        if report.atlas_version:
            graph.graph["atlas_version"] = report.atlas_version
        if data.warnings:
            graph.graph["warnings"] = "\n".join(data.warnings)
        if data.skipped:
            graph.graph["skipped"] = "\n".join(data.skipped)
        for node, attrs in data.nodes.items():
            graph.add_node(node, **attrs, on_path=node in data.on_path)
        for a, b in sorted(data.edges):
            graph.add_edge(a, b, on_path=(a, b) in data.path_edges)
        return "\n".join(nx.generate_graphml(graph)) + "\n"
