"""``markdown``: per workload a table of technique, severity, tactics, shortest path and the
controls that break every path to it; a summary matrix by tactic; the minimal control sets when asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from attackmap.attack._models import tactic_label
from attackmap.exporters._common import (
    catalogue,
    control_info,
    control_name,
    findings_by_tactic,
    route,
)

if TYPE_CHECKING:
    from attackmap.graph import Report, WorkloadAnalysis


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or "—"


class MarkdownExporter:
    name = "markdown"
    suffix = ".md"
    description = "a Markdown summary: per-workload technique tables and a matrix by tactic"

    def export(self, report: Report) -> str:
        lines = [
            "# attackmap report",
            "",
            f"ATT&CK Enterprise {report.attack_version}"
            + (f", ATLAS {report.atlas_version}" if report.atlas_version else "")
            + "; entry points: "
            f"{', '.join(report.entries)}; {len(report.workloads)} workload(s).",
            "",
        ]
        lines += _matrix(report)
        for w in report.workloads:
            lines += _workload(report, w)
        if report.skipped:
            lines += ["## Not analysed", ""]
            lines += [
                f"- `{s.source.path}` document {s.source.document}: {s.kind or '?'} "
                f"{s.name or ''} — {s.reason}"
                for s in report.skipped
            ]
            lines.append("")
        if report.warnings:
            lines += ["## Warnings", "", *(f"- {_cell(x)}" for x in report.warnings), ""]
        return "\n".join(lines).rstrip("\n") + "\n"


def _matrix(report: Report) -> list[str]:
    by_tactic = findings_by_tactic(report)
    lines = ["## Summary by tactic", ""]
    if not by_tactic:
        return [*lines, "No technique is reachable.", ""]
    lines += ["| tactic | technique | workloads |", "|---|---|---|"]
    for tactic, rows in by_tactic.items():
        techniques = sorted({t.technique.id: t.technique.name for _, t in rows}.items())
        for i, (tid, name) in enumerate(techniques):
            workloads = sorted({w for w, t in rows if t.technique.id == tid})
            label = tactic if i == 0 else ""
            lines.append(f"| {label} | {tid} {_cell(name)} | {len(workloads)} |")
    return [*lines, ""]


def _workload(report: Report, w: WorkloadAnalysis) -> list[str]:
    cat = catalogue(report)
    lines = [f"## {w.ref}", "", f"Source: `{w.source}`", ""]
    if not w.techniques:
        lines += ["No technique is reachable.", ""]
    else:
        lines += [
            "| technique | severity | tactics | shortest path | controls that break every path |",
            "|---|---|---|---|---|",
        ]
        for t in w.techniques:
            controls = ", ".join(f"`{control_name(c)}`" for c in t.broken_by)
            more = f" (+{len(t.paths) - 1} more)" if len(t.paths) > 1 else ""
            tactics = ", ".join(tactic_label(t.technique, x) for x in t.technique.tactics)
            lines.append(
                f"| {t.technique.id} {_cell(t.technique.name)} | {t.severity} | {tactics} "
                f"| {_cell(route(t.paths[0]))}{more} | {controls or '— (see minimal controls)'} |"
            )
        lines.append("")
    for m in w.minimal_controls:
        lines.append(f"Minimal controls for {', '.join(m.goals)}:")
        lines.append("")
        for c in m.controls:
            lines.append(f"- `{control_name(c)}` — {control_info(cat, control_name(c)).title}")
        if not m.controls:
            lines.append("- (nothing to do)")
        lines.append("")
    lines += [f"- warning: {_cell(x)}" for x in w.warnings]
    return lines + ([""] if w.warnings else [])
