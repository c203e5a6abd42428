"""``navigator``: an ATT&CK Navigator layer (format 4.5, plain UTF-8 JSON).

One entry per reached technique *and tactic* (a technique that serves two tactics gets two
entries), so the layer colours exactly the cells the paths reach. Sub-techniques are listed
by their own id and their parent is expanded. The report's warnings (an input without
workloads...) are layer metadata entries named ``warning``.

The ATT&CK layer holds the ATT&CK techniques only; the ATLAS techniques (``AML.T…``) go to a
second layer for the ATLAS Navigator (``navigator-atlas``, :mod:`._navigator_atlas`).

Scoring: a technique's score is the number of attack paths attackmap reports to it, summed
over the workloads in the layer (each workload keeps at most
``attackmap.graph.MAX_PATHS_PER_TECHNIQUE`` paths per technique: one per entry point and
final step, shortest first). More paths means more independent ways in, and more controls
to apply before the technique is out of reach. The gradient runs from 1 to the layer's
highest score; the comment of each cell lists the paths and the controls breaking them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attackmap import __version__
from attackmap._jsontext import dumps
from attackmap.attack._models import Framework, tactic_rank
from attackmap.exporters._common import (
    attack_url,
    control_name,
    framework_label,
    route,
    skipped_lines,
    skipped_summary,
)

if TYPE_CHECKING:
    from attackmap.graph import Report, TechniqueFinding, WorkloadAnalysis

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
GRADIENT = ("#ffe766", "#ff6666")  # few paths → many paths
SELECT_COLOR = "#66b1ff"


class NavigatorExporter:
    name = "navigator"
    suffix = ".json"
    description = "an ATT&CK Navigator layer (4.5) scored by the number of paths"

    def export(self, report: Report) -> str:
        return dumps(navigator_layer(report), pretty=True)  # = json.dumps(indent=2), 2-3x faster


def navigator_layer(report: Report) -> dict[str, Any]:
    """One layer for the whole report (its ATT&CK techniques)."""
    return _layer(report, report.workloads, "attackmap: reachable techniques")


def navigator_layers_per_workload(report: Report) -> dict[str, dict[str, Any]]:
    """One layer per workload, keyed by ``Kind/namespace/name``."""
    return {
        str(w.ref): _layer(report, (w,), f"attackmap: {w.ref}")
        for w in sorted(report.workloads, key=lambda w: w.ref.sort_key())
    }


def _layer(
    report: Report,
    workloads: tuple[WorkloadAnalysis, ...],
    name: str,
    framework: Framework = "attack",
) -> dict[str, Any]:
    found: dict[str, list[tuple[str, TechniqueFinding]]] = {}
    for w in workloads:
        for t in w.techniques:
            if t.technique.framework == framework:
                found.setdefault(t.technique.id, []).append((str(w.ref), t))
    techniques: list[dict[str, Any]] = []
    for tid in sorted(found):
        rows = found[tid]
        technique = rows[0][1].technique
        score = sum(len(t.paths) for _, t in rows)
        for tactic in sorted(technique.tactics, key=tactic_rank):
            techniques.append(_entry(tid, tactic, score, rows))
        if technique.is_subtechnique:
            parent = tid.rpartition(".")[0]
            if parent not in found:
                techniques += [
                    {"techniqueID": parent, "tactic": tactic, "showSubtechniques": True}
                    for tactic in sorted(technique.tactics, key=tactic_rank)
                ]
    parents = {
        t["techniqueID"].rpartition(".")[0]
        for t in techniques
        if t["techniqueID"].count(".") == (2 if framework == "atlas" else 1)
    }
    for entry in techniques:
        if entry["techniqueID"] in parents:
            entry["showSubtechniques"] = True
    techniques.sort(key=lambda e: (e["techniqueID"], tactic_rank(e["tactic"])))
    top = max((e.get("score", 0) for e in techniques), default=1)
    major = report.attack_version.split(".")[0]
    return {
        "name": name,
        "versions": {"layer": LAYER_VERSION, "attack": major, "navigator": NAVIGATOR_VERSION},
        "domain": "enterprise-attack",
        "description": (
            f"Techniques reachable from {', '.join(report.entries)} in "
            f"{len(workloads)} workload(s); score = number of attack paths."
            + (
                f" {skipped_summary(report).capitalize()} (metadata: skipped)."
                if report.skipped
                else ""
            )
        ),
        "filters": {"platforms": ["Containers"]},
        "sorting": 3,  # by score, descending
        "layout": {"layout": "side", "showID": True, "showName": True, "aggregateFunction": "max"},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": list(GRADIENT), "minValue": 1, "maxValue": max(top, 1)},
        "legendItems": [
            {"label": "reachable by 1 path", "color": GRADIENT[0]},
            {"label": f"reachable by {max(top, 1)} paths", "color": GRADIENT[1]},
        ],
        "metadata": [
            {"name": "generator", "value": f"attackmap {__version__}"},
            {"name": "attack_version", "value": report.attack_version},
            {"name": "entries", "value": ", ".join(report.entries)},
            {"name": "workloads", "value": ", ".join(sorted(str(w.ref) for w in workloads))},
            *({"name": "warning", "value": w} for w in report.warnings),
            *({"name": "skipped", "value": s} for s in skipped_lines(report)),
        ],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": False,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }


def _entry(
    tid: str, tactic: str, score: int, rows: list[tuple[str, TechniqueFinding]]
) -> dict[str, Any]:
    comment: list[str] = []
    metadata: list[dict[str, Any]] = []
    for workload, t in sorted(rows, key=lambda r: r[0]):
        metadata.append({"name": "workload", "value": workload})
        for p in t.paths:
            controls = ", ".join(control_name(c) for c in p.broken_by) or "none alone"
            comment.append(f"{workload}: {route(p)} (broken by: {controls})")
            metadata.append({"name": "path", "value": route(p)})
        if t.truncated:
            comment.append(f"{workload}: more paths not shown")
    return {
        "techniqueID": tid,
        "tactic": tactic,
        "score": score,
        "enabled": True,
        "comment": "\n".join(comment),
        "metadata": metadata,
        "links": [{"label": f"{framework_label(tid)} {tid}", "url": attack_url(tid)}],
    }
