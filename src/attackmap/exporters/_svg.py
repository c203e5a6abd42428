"""``svg``: each workload's attack paths drawn as SVG, in pure Python (no Graphviz, no
scripts, no external assets): entries left, step instances by depth, techniques right with
the controls that break every path to them. ATT&CK techniques are red boxes, ATLAS
techniques violet with a dashed border.

:func:`workload_svg` is one workload's ``<svg>`` element (the HTML report and the notebook
embed it inline); :class:`SvgExporter` stacks the workloads into one document. Every text is
XML-escaped; the output depends only on the paths (see :mod:`._picture`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from attackmap.exporters._common import skipped_lines
from attackmap.exporters._picture import Node, Picture, picture

if TYPE_CHECKING:
    from attackmap.graph import Report, WorkloadAnalysis

#: Workloads drawn in one ``--format svg`` document at most.
MAX_WORKLOADS = 100

COLUMN = 230
BOX_W = 196
BOX_H = 40
LINE = 13
NOTES = 3  # note lines shown under a technique (the rest: "+N more")
MARGIN = 12
HEAD = 26
CHARS = 30  # characters of a line that fit a box at FONT px
FONT = 11

FILL = {"entry": "#e8f1ff", "step": "#fff7e0", "attack": "#ffe4e1", "atlas": "#efe6ff"}
STROKE = {"entry": "#4a78c2", "step": "#b08a2e", "attack": "#cc0000", "atlas": "#6a3fb5"}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml(text: str) -> str:
    """``text`` safe in XML content and in double- or single-quoted attributes (characters
    XML 1.0 does not allow become ``?``)."""
    text = _NOT_XML.sub("?", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _fit(text: str, chars: int = CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


class SvgExporter:
    name = "svg"
    suffix = ".svg"
    description = "a picture of each workload's attack paths (SVG, no Graphviz needed)"

    def export(self, report: Report) -> str:
        return report_svg(report)


def report_svg(report: Report) -> str:
    """One SVG document: the workloads with a reachable technique, one picture each, stacked."""
    drawn = [w for w in report.workloads if w.techniques]
    parts: list[str] = []
    y = MARGIN
    width = 320
    for wa in drawn[:MAX_WORKLOADS]:
        pic = picture(wa)
        w, h = _size(pic)
        parts.append(f'<g transform="translate(0,{y})">{_body(pic)}</g>')
        y += h + MARGIN
        width = max(width, w)
    notes = []
    if not drawn:
        notes.append("No technique is reachable.")
    if len(drawn) > MAX_WORKLOADS:
        notes.append(f"{len(drawn) - MAX_WORKLOADS} more workload(s) not drawn")
    notes += [f"warning: {w}" for w in report.warnings]
    notes += [f"skipped: {s}" for s in skipped_lines(report)]
    for text in notes:
        y += LINE
        parts.append(_text(MARGIN, y, text, size=12))
    height = y + MARGIN
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"{_open(width, height, 'attackmap: attack paths')}\n" + "\n".join(parts) + "\n</svg>\n"
    )


def workload_svg(wa: WorkloadAnalysis) -> str:
    """One workload's paths as an ``<svg>`` element (no XML declaration: for inline HTML)."""
    pic = picture(wa)
    w, h = _size(pic)
    return f"{_open(w, h, f'attack paths of {pic.title}')}{_body(pic)}</svg>"


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{xml(label)}" '
        'font-family="Helvetica,Arial,sans-serif">'
    )


def _pitch(pic: Picture) -> int:
    notes = max((min(len(n.notes), NOTES + 1) for n in pic.nodes), default=0)
    return BOX_H + notes * LINE + MARGIN + 6


def _size(pic: Picture) -> tuple[int, int]:
    rows = max((n.row + 1 for n in pic.nodes), default=0)
    width = max(MARGIN * 2 + pic.columns * COLUMN, 480)
    height = HEAD + rows * _pitch(pic) + (2 if pic.note else 1) * LINE + MARGIN
    return width, height


def _xy(pic: Picture, node: Node) -> tuple[int, int]:
    return MARGIN + node.column * COLUMN, HEAD + node.row * _pitch(pic)


def _text(x: int, y: int, text: str, *, size: int = FONT, extra: str = "") -> str:
    return f'<text x="{x}" y="{y}" font-size="{size}"{extra}>{xml(text)}</text>'


def _body(pic: Picture) -> str:
    out = [_text(MARGIN, 16, pic.title, size=13, extra=' font-weight="bold"')]
    where = {n.key: n for n in pic.nodes}
    for a, b in pic.edges:
        out.append(_edge(pic, where[a], where[b]))
    out += [_node(pic, n) for n in pic.nodes]
    _, height = _size(pic)
    legend = "ATT&CK technique: red; ATLAS technique: violet, dashed; hover a box for details"
    y = height - MARGIN
    if pic.note:
        out.append(_text(MARGIN, y - LINE, pic.note, extra=' fill="#a00"'))
    out.append(_text(MARGIN, y, legend, size=10, extra=' fill="#666"'))
    return "".join(out)


def _edge(pic: Picture, a: Node, b: Node) -> str:
    ax, ay = _xy(pic, a)
    bx, by = _xy(pic, b)
    x1, y1 = ax + BOX_W, ay + BOX_H // 2
    x2, y2 = bx - 2, by + BOX_H // 2
    mid = (x1 + x2) // 2
    head = f"{x2},{y2} {x2 - 7},{y2 - 4} {x2 - 7},{y2 + 4}"
    return (
        f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 7},{y2}" fill="none" '
        f'stroke="#888" stroke-width="1.2"/><polygon points="{head}" fill="#888"/>'
    )


def _node(pic: Picture, n: Node) -> str:
    x, y = _xy(pic, n)
    style = n.framework or n.kind
    notes = list(n.notes[:NOTES])
    if len(n.notes) > NOTES:
        notes.append(f"+{len(n.notes) - NOTES} more")
    height = BOX_H + len(notes) * LINE
    dash = ' stroke-dasharray="5,3"' if n.framework == "atlas" else ""
    rx = 14 if n.kind == "entry" else 4
    parts = [
        f"<g><title>{xml(n.tooltip or n.label)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{height}" rx="{rx}" '
        f'fill="{FILL[style]}" stroke="{STROKE[style]}" stroke-width="1.5"{dash}/>',
        _text(x + 8, y + 16, _fit(n.label), extra=' font-weight="bold"'),
    ]
    if n.detail:
        parts.append(_text(x + 8, y + 31, _fit(n.detail), extra=' fill="#444"'))
    for i, line in enumerate(notes):
        parts.append(_text(x + 8, y + BOX_H + 9 + i * LINE, _fit(line), extra=' fill="#05713a"'))
    if n.framework:
        tag = "ATLAS" if n.framework == "atlas" else "ATT&CK"
        parts.append(
            _text(
                x + BOX_W - 6,
                y + 16,
                tag,
                size=9,
                extra=f' text-anchor="end" fill="{STROKE[style]}"',
            )
        )
    parts.append("</g>")
    return "".join(parts)
