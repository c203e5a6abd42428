"""``json``: the ``attackmap.report/v2`` document (docs/schema/report-v2.json).

The document is the report's own (:meth:`~attackmap.graph.Report.to_json`, streamed by
:meth:`~attackmap.graph.Report.write_json`, which the CLI uses for ``--format json``); this
exporter only puts it behind the common :class:`~attackmap.exporters.Exporter` interface.
Compact (one line, keys sorted) unless made with ``pretty=True``; see
:mod:`attackmap._jsontext` for the encoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attackmap.graph import Report


class JsonExporter:
    name = "json"
    suffix = ".json"
    description = "the attackmap.report/v2 JSON document"

    def __init__(self, *, pretty: bool = False) -> None:
        self.pretty = pretty

    def export(self, report: Report) -> str:
        return report.to_json(pretty=self.pretty)
