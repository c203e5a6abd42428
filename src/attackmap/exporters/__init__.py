"""Report exporters: one module per format, one explicit registry.

``EXPORTERS[name].export(report) -> str``; no exporter does I/O. A test checks that the
registry covers every format the CLI offers (``table`` is the CLI's own terminal view;
``png`` is the ``dot`` exporter's text drawn by Graphviz, when installed, in the CLI).
``svg`` and ``mermaid`` draw each workload's attack paths, without Graphviz.
Formats that are also useful as data offer a function returning a ``dict``:
:func:`navigator_layer`, :func:`navigator_layers_per_workload`, :func:`atlas_layer`
(``navigator-atlas``: the ATLAS techniques for the ATLAS Navigator), :func:`sarif_log`,
:func:`stix_bundle` (and ``Report.to_dict()`` for ``json``).

``json`` is compact (one line, keys sorted) unless made with ``pretty=True``
(``Report.to_json(pretty=True)``, ``attackmap analyze --format json --pretty``). A report
of thousands of workloads is hundreds of MB of JSON: ``Report.write_json(stream)`` writes
it one workload at a time to a stream the caller opened, without holding it whole; the
CLI uses it for ``--format json``. ``sarif``, ``navigator`` and ``stix`` are indented.
"""

from __future__ import annotations

from collections.abc import Mapping

from attackmap.errors import ExportError
from attackmap.exporters._dot import DotExporter
from attackmap.exporters._graphml import GraphmlExporter
from attackmap.exporters._html import HtmlExporter
from attackmap.exporters._json import JsonExporter
from attackmap.exporters._markdown import MarkdownExporter
from attackmap.exporters._mermaid import MermaidExporter
from attackmap.exporters._navigator import (
    NavigatorExporter,
    navigator_layer,
    navigator_layers_per_workload,
)
from attackmap.exporters._navigator_atlas import NavigatorAtlasExporter, atlas_layer
from attackmap.exporters._sarif import SarifExporter, sarif_log
from attackmap.exporters._stix import StixExporter, stix_bundle
from attackmap.exporters._svg import SvgExporter
from attackmap.exporters.interface import Exporter

EXPORTERS: Mapping[str, Exporter] = {
    "dot": DotExporter(),
    "graphml": GraphmlExporter(),
    "html": HtmlExporter(),
    "json": JsonExporter(),
    "markdown": MarkdownExporter(),
    "mermaid": MermaidExporter(),
    "navigator": NavigatorExporter(),
    "navigator-atlas": NavigatorAtlasExporter(),
    "sarif": SarifExporter(),
    "stix": StixExporter(),
    "svg": SvgExporter(),
}


def exporter(name: str) -> Exporter:
    """The exporter for format ``name``; unknown names raise :class:`ExportError`."""
    try:
        return EXPORTERS[name]
    except KeyError as e:
        raise ExportError(
            f"unknown format {name!r}",
            field="--format",
            hint=f"one of {', '.join(sorted(EXPORTERS))}",
        ) from e


__all__ = [
    "EXPORTERS",
    "Exporter",
    "atlas_layer",
    "exporter",
    "navigator_layer",
    "navigator_layers_per_workload",
    "sarif_log",
    "stix_bundle",
]
