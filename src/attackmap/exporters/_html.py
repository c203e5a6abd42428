"""``html``: one self-contained page (inline CSS, no scripts, no external assets), and the
``_repr_html_`` of :class:`~attackmap.graph.Report`, ``WorkloadAnalysis`` and ``Path`` in
Jupyter (:func:`notebook_html`, which the data reaches through :mod:`attackmap._views`).

Paths are collapsible (``<details>``); a matrix shows reached techniques by tactic. Each
workload gets a picture of its paths, inline SVG drawn in pure Python
(:mod:`._pictures_html`), in the page and in Jupyter alike: no Graphviz, no scripts.
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from attackmap.attack._models import tactic_label, tactic_rank
from attackmap.exporters._common import control_name, findings_by_tactic
from attackmap.exporters._pictures_html import paths_figure

if TYPE_CHECKING:
    from attackmap.graph import Path, Report, TechniqueFinding, WorkloadAnalysis

logger = logging.getLogger(__name__)

CSS = """\
.attackmap{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1b1b1b;max-width:1200px}
.attackmap table{border-collapse:collapse;margin:.5em 0}
.attackmap th,.attackmap td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left}
.attackmap th{background:#f0f0f0}
.attackmap code{background:#f6f6f6;padding:0 .2em}
.attackmap details{margin:.2em 0 .2em 1em}
.attackmap summary{cursor:pointer}
.attackmap .muted{color:#666}
.attackmap .sev-critical,.attackmap .sev-high{color:#b00020;font-weight:bold}
.attackmap .tech{background:#ffe4e1}
.attackmap ol.steps li{margin:.2em 0}
"""


class HtmlExporter:
    name = "html"
    suffix = ".html"
    description = "a self-contained HTML page (collapsible paths, matrix by tactic)"

    def export(self, report: Report) -> str:
        title = f"attackmap report (ATT&CK {report.attack_version}" + (
            f", ATLAS {report.atlas_version})" if report.atlas_version else ")"
        )
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n"
            f"{report_html(report, svg=False)}\n</body>\n</html>\n"
        )


def notebook_html(obj: Report | WorkloadAnalysis | Path) -> str:
    """The Jupyter view (``_repr_html_``, reached through :mod:`attackmap._views`) of a
    report, a workload's analysis or a path, with SVG drawings when Graphviz is present."""
    from attackmap import graph

    if isinstance(obj, graph.Report):
        return report_html(obj)
    if isinstance(obj, graph.WorkloadAnalysis):
        return workload_html(obj)
    if isinstance(obj, graph.Path):
        return path_html(obj)
    raise TypeError(f"no notebook view of {type(obj).__name__}")


def report_html(report: Report, *, svg: bool = True) -> str:
    """The whole report as an HTML fragment (``<div class="attackmap">``)."""
    parts = [
        f'<div class="attackmap"><style>{CSS}</style>' if svg else '<div class="attackmap">',
        f"<h2>attackmap: {len(report.workloads)} workload(s)</h2>",
        f'<p class="muted">ATT&amp;CK Enterprise {escape(report.attack_version)}; '
        f"entry points: {escape(', '.join(report.entries))}</p>",
        _matrix(report),
    ]
    parts += [_workload_section(w, svg=svg, level=3) for w in report.workloads]
    if report.skipped:
        items = "".join(
            f"<li><code>{escape(str(s.source))}</code> {escape(s.kind or '?')} "
            f"{escape(s.name or '')}: {escape(s.reason)}</li>"
            for s in report.skipped
        )
        parts.append(
            f"<details><summary>{len(report.skipped)} object(s) not analysed</summary>"
            f"<ul>{items}</ul></details>"
        )
    parts += [f'<p class="muted">warning: {escape(x)}</p>' for x in report.warnings]
    parts.append("</div>")
    return "\n".join(parts)


def workload_html(wa: WorkloadAnalysis, *, svg: bool = True) -> str:
    """One workload's analysis as an HTML fragment."""
    return f'<div class="attackmap"><style>{CSS}</style>{_workload_section(wa, svg=svg, level=3)}</div>'


def path_html(path: Path, *, svg: bool = True) -> str:
    """One path as an HTML fragment: its steps, the facts enabling them, what breaks it."""
    return f'<div class="attackmap"><style>{CSS}</style>{_path_body(path)}</div>'


# -- pieces ------------------------------------------------------------------------------


def _matrix(report: Report) -> str:
    by_tactic = findings_by_tactic(report)
    if not by_tactic:
        return "<p>No technique is reachable.</p>"
    head = "".join(f"<th>{escape(t)}</th>" for t in by_tactic)
    cells = []
    for rows in by_tactic.values():
        techniques: dict[str, tuple[str, set[str]]] = {}
        for workload, t in rows:
            techniques.setdefault(t.technique.id, (t.technique.name, set()))[1].add(workload)
        items = "".join(
            f'<div class="tech" title="{escape(", ".join(sorted(ws)))}">{escape(tid)} '
            f'{escape(name)} <span class="muted">({len(ws)})</span></div>'
            for tid, (name, ws) in sorted(techniques.items())
        )
        cells.append(f"<td>{items}</td>")
    return (
        "<table><caption>Reachable techniques by tactic (workloads)</caption>"
        f"<tr>{head}</tr><tr>{''.join(cells)}</tr></table>"
    )


def _workload_section(wa: WorkloadAnalysis, *, svg: bool, level: int) -> str:
    h = f"h{level}"
    parts = [
        f"<{h}>{escape(str(wa.ref))}</{h}>",
        f'<p class="muted">source: <code>{escape(str(wa.source))}</code>; '
        f"{len(wa.techniques)} technique(s) reachable</p>",
    ]
    if wa.techniques:
        rows = "".join(_technique_row(t) for t in wa.techniques)
        parts.append(
            "<table><tr><th>technique</th><th>severity</th><th>tactics</th><th>paths</th>"
            f"<th>controls that break every path</th></tr>{rows}</table>"
        )
    for m in wa.minimal_controls:
        controls = ", ".join(f"<code>{escape(control_name(c))}</code>" for c in m.controls)
        parts.append(
            f"<p>Minimal controls for {escape(', '.join(m.goals))}: "
            f"{controls or '(nothing to do)'}{'' if m.exact else ' (greedy)'}</p>"
        )
    parts += [f'<p class="muted">warning: {escape(x)}</p>' for x in wa.warnings]
    if wa.techniques:
        parts.append(paths_figure(wa))
    return "\n".join(parts)


def _technique_row(t: TechniqueFinding) -> str:
    tech = t.technique
    paths = "".join(
        f"<details><summary>{escape(p.start)}: {len(p.steps)} step(s)</summary>{_path_body(p)}</details>"
        for p in t.paths
    )
    more = '<p class="muted">more paths not shown</p>' if t.truncated else ""
    controls = ", ".join(f"<code>{escape(control_name(c))}</code>" for c in t.broken_by)
    tactics = ", ".join(tactic_label(tech, x) for x in sorted(tech.tactics, key=tactic_rank))
    return (
        f"<tr><td>{escape(tech.id)} {escape(tech.name)}</td>"
        f'<td class="sev-{escape(t.severity)}">{escape(t.severity)}</td><td>{escape(tactics)}</td>'
        f"<td>{paths}{more}</td><td>{controls or '— (no single control)'}</td></tr>"
    )


def _path_body(path: Path) -> str:
    steps = []
    for s in path.steps:
        facts = "".join(
            f"<li><code>{escape(f.fact)}</code> {escape(f.field)}"
            f"{' (' + escape(f.detail) + ')' if f.detail else ''}"
            f"{' — ' + escape(f.path) + (':' + str(f.line) if f.line else '') if f.path else ''}</li>"
            for f in s.facts
        )
        steps.append(
            f"<li><b>{escape(s.technique)}</b> {escape(s.title)} <code>{escape(s.id)}</code> "
            f'<span class="muted">@ {escape(s.scope)}</span><ul>{facts}</ul></li>'
        )
    broken = ", ".join(f"<code>{escape(c)}</code>" for c in path.broken_by) or "no single control"
    return (
        f'<p>entry: <b>{escape(path.start)}</b></p><ol class="steps">{"".join(steps)}</ol>'
        f"<p>this path alone broken by: {broken}</p>"
    )
