"""Issue 20 items 3 and 4: every format shows each technique's severity, and the controls
that break *every* path to it (never those that break only the shortest path).

On the NIM Helm default, T1552.001 (Credentials In Files, high) has two paths: from the
cluster through the inference service (``isolate-ingress`` breaks it) and from the image
(it does not). ``remove-credential-env`` breaks both.
"""

from __future__ import annotations

import json
import re

import pytest

from attackmap.exporters import EXPORTERS
from attackmap.exporters._common import control_name
from attackmap.graph import Report, TechniqueFinding

TECHNIQUE = "T1552.001"
SHORTEST_ONLY = "isolate-ingress"
EVERY_PATH = "remove-credential-env"


def _finding(report: Report, tid: str) -> TechniqueFinding:
    (w,) = report.workloads
    found = w.finding(tid)
    assert found is not None, tid
    return found


def test_the_premise(default_report: Report) -> None:
    t = _finding(default_report, TECHNIQUE)
    assert t.severity == "high"
    assert len(t.paths) > 1
    assert SHORTEST_ONLY in {control_name(c) for c in t.paths[0].broken_by}
    assert SHORTEST_ONLY not in {control_name(c) for c in t.broken_by}
    assert EVERY_PATH in {control_name(c) for c in t.broken_by}


def test_json(default_report: Report) -> None:
    doc = json.loads(EXPORTERS["json"].export(default_report))
    for tid, entry in doc["techniques"].items():
        assert entry["severity"] == _finding(default_report, tid).severity
    (w,) = doc["workloads"]
    (t,) = [t for t in w["techniques"] if t["id"] == TECHNIQUE]
    names = {control_name(doc["controls"][i]) for i in t["broken_by"]}
    assert EVERY_PATH in names and SHORTEST_ONLY not in names


def test_markdown(default_report: Report) -> None:
    text = EXPORTERS["markdown"].export(default_report)
    (row,) = [x for x in text.splitlines() if x.startswith(f"| {TECHNIQUE} ")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "high"
    assert EVERY_PATH in cells[-1] and SHORTEST_ONLY not in cells[-1]


def test_html(default_report: Report) -> None:
    text = EXPORTERS["html"].export(default_report)
    (row,) = re.findall(rf"<tr><td>{re.escape(TECHNIQUE)} .*?</tr>", text, re.S)
    assert '<td class="sev-high">high</td>' in row
    # the last cell: the technique's controls (the per-path details say what breaks each path)
    controls = row.rsplit("<td>", 1)[1]
    assert EVERY_PATH in controls and SHORTEST_ONLY not in controls
    assert f"this path alone broken by: <code>{SHORTEST_ONLY}@" in row


def _sarif(report: Report) -> dict[str, object]:
    doc: dict[str, object] = json.loads(EXPORTERS["sarif"].export(report))
    return doc


def test_sarif_message_names_controls_of_every_path(default_report: Report) -> None:
    (run,) = _sarif(default_report)["runs"]  # type: ignore[misc]
    (result,) = [r for r in run["results"] if r["properties"]["technique"] == TECHNIQUE]
    broken = result["message"]["text"].split("broken on every path by: ", 1)[1]
    assert EVERY_PATH in broken and SHORTEST_ONLY not in broken


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [
        ("critical", "error", "9.5"),
        ("high", "error", "8.0"),
        ("medium", "warning", "5.5"),
        ("low", "note", "3.0"),
        ("info", "note", None),
    ],
)
def test_sarif_security_severity_and_level(
    default_report: Report, severity: str, level: str, score: str | None
) -> None:
    w = default_report.workloads[0]
    t = next((t for t in w.techniques if t.severity == severity), None)
    if t is None:  # the NIM default reaches no critical technique: raise one
        t = w.techniques[0].model_copy(update={"severity": severity})
        w = w.model_copy(update={"techniques": (t,)})
        report = default_report.model_copy(update={"workloads": (w,)})
    else:
        report = default_report
    (run,) = _sarif(report)["runs"]  # type: ignore[misc]
    (result,) = [r for r in run["results"] if r["properties"]["technique"] == t.technique.id]
    assert result["level"] == level
    assert result["properties"]["severity"] == severity
    assert result["properties"].get("security-severity") == score
    (rule,) = [r for r in run["tool"]["driver"]["rules"] if r["id"] == result["ruleId"]]
    assert rule["properties"].get("security-severity") == score
