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

An exporter's module is imported when its format is first asked for: ``attackmap analyze
--format json`` does not import the ten others (start-up time). :data:`SUFFIXES` answers the
CLI's questions about names and file extensions without importing any of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from attackmap.errors import ExportError
from attackmap.exporters.interface import Exporter

if TYPE_CHECKING:
    from attackmap.exporters._navigator import navigator_layer, navigator_layers_per_workload
    from attackmap.exporters._navigator_atlas import atlas_layer
    from attackmap.exporters._sarif import sarif_log
    from attackmap.exporters._stix import stix_bundle

# format name -> (module in this package, exporter class, file suffix); a test checks each
# entry against its class (its ``name`` and ``suffix``)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "dot": ("_dot", "DotExporter", ".dot"),
    "graphml": ("_graphml", "GraphmlExporter", ".graphml"),
    "html": ("_html", "HtmlExporter", ".html"),
    "json": ("_json", "JsonExporter", ".json"),
    "markdown": ("_markdown", "MarkdownExporter", ".md"),
    "mermaid": ("_mermaid", "MermaidExporter", ".mmd"),
    "navigator": ("_navigator", "NavigatorExporter", ".json"),
    "navigator-atlas": ("_navigator_atlas", "NavigatorAtlasExporter", ".json"),
    "sarif": ("_sarif", "SarifExporter", ".sarif"),
    "stix": ("_stix", "StixExporter", ".json"),
    "svg": ("_svg", "SvgExporter", ".svg"),
}

#: Format name -> the file suffix of its documents (``exporter(name).suffix``).
SUFFIXES: Mapping[str, str] = {name: suffix for name, (_, _, suffix) in _REGISTRY.items()}


class _Registry(Mapping[str, Exporter]):
    """The exporters by format name; an exporter's module is imported when it is asked for."""

    def __getitem__(self, name: str) -> Exporter:
        module, cls, _ = _REGISTRY[name]
        made: Exporter = getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


EXPORTERS: Mapping[str, Exporter] = _Registry()


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


# the functions returning a format as data: name -> the module defining it
_LAZY: dict[str, str] = {
    "atlas_layer": "_navigator_atlas",
    "navigator_layer": "_navigator",
    "navigator_layers_per_workload": "_navigator",
    "sarif_log": "_sarif",
    "stix_bundle": "_stix",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EXPORTERS",
    "SUFFIXES",
    "Exporter",
    "atlas_layer",
    "exporter",
    "navigator_layer",
    "navigator_layers_per_workload",
    "sarif_log",
    "stix_bundle",
]
