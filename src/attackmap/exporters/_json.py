"""``json``: the ``attackmap.report/v1`` document (docs/schema/report-v1.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attackmap.graph import Report


class JsonExporter:
    name = "json"
    suffix = ".json"
    description = "the attackmap.report/v1 JSON document"

    def export(self, report: Report) -> str:
        return report.to_json()
