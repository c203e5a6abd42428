"""Report exporters: one module per format, one explicit registry.

``EXPORTERS[name].export(report) -> str``; no exporter does I/O. A test checks that the
registry covers every format the CLI offers.
"""

from __future__ import annotations

from collections.abc import Mapping

from attackmap.errors import ExportError
from attackmap.exporters._json import JsonExporter
from attackmap.exporters.interface import Exporter

EXPORTERS: Mapping[str, Exporter] = {
    "json": JsonExporter(),
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


__all__ = ["EXPORTERS", "Exporter", "exporter"]
