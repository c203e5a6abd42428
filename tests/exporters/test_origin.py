"""A path listed under one workload that starts at another's entry point says so in every
text form (``external via Deployment/frontend/chat-ui``), and the JSON document carries
its ``origin`` only then."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import attackmap
from attackmap.exporters import EXPORTERS
from attackmap.exporters._common import first_location, route
from attackmap.graph import Report

REPO = Path(__file__).resolve().parents[2]
CHAT = REPO / "tests" / "graph" / "manifests" / "network" / "chat-ui.yaml"
UI = "Deployment/frontend/chat-ui"
NIM = "Deployment/inference/nim"


@pytest.fixture(scope="module")
def report() -> Report:
    return attackmap.analyze(str(CHAT), entries=["external"])


def _escape(report: Report) -> attackmap.graph.Path:
    (nim,) = [w for w in report.workloads if str(w.ref) == NIM]
    return nim.finding("T1611").paths[0]


def test_the_path_names_where_it_starts(report: Report) -> None:
    path = _escape(report)
    assert path.origin == UI
    assert path.start == f"external via {UI}"
    assert route(path).startswith(f"external via {UI} > exploit-external-service > ")
    assert repr(path).startswith(f"<Path external via {UI} > ")
    (ui,) = [w for w in report.workloads if str(w.ref) == UI]
    own = ui.finding("T1190").paths[0]
    assert own.origin is None and own.start == "external" and route(own).startswith("external >")


def test_every_text_form_says_it(report: Report) -> None:
    for fmt in ("markdown", "html", "sarif"):
        assert f"external via {UI}" in EXPORTERS[fmt].export(report), fmt


def test_sarif_points_at_the_listed_workload(report: Report) -> None:
    path = _escape(report)
    # the first step is the UI's; the result is the NIM's: its first step there
    assert path.steps[0].workload == UI
    nim_step = next(s for s in path.steps if s.workload == NIM)
    expected = next((f.path, f.line) for f in nim_step.facts if f.path)
    assert first_location(path, NIM) == expected
    assert first_location(path) != expected
    log = json.loads(EXPORTERS["sarif"].export(report))
    (result,) = [
        r for r in log["runs"][0]["results"] if r["message"]["text"].startswith(f"{NIM}: T1611 ")
    ]
    region = result["locations"][0]["physicalLocation"].get("region", {})
    assert region.get("startLine") == expected[1]


def test_the_document_carries_origin_only_when_elsewhere(report: Report) -> None:
    document = report.to_dict()
    schema = json.loads((REPO / "docs" / "schema" / "report-v2.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    origins = {
        (w["ref"]["name"], p.get("origin"))
        for w in document["workloads"]
        for t in w["techniques"]
        for p in t["paths"]
    }
    assert ("nim", UI) in origins and ("chat-ui", None) in origins
    assert all(o in (None, UI) for _, o in origins)
    # stated only for a path that starts elsewhere
    assert all(
        p["origin"]
        for w in document["workloads"]
        for t in w["techniques"]
        for p in t["paths"]
        if "origin" in p
    )


def test_the_document_reads_back_with_origin(report: Report) -> None:
    from attackmap.errors import InputError

    back = Report.from_json(report.to_json())
    assert back.to_json() == report.to_json()
    (nim,) = [w for w in back.workloads if str(w.ref) == NIM]
    assert nim.finding("T1611").paths[0].origin == UI
    # an origin that is not where the path's first step is: refused, saying where
    document = report.to_dict()
    (doc_nim,) = [w for w in document["workloads"] if w["ref"]["name"] == "nim"]
    path = next(p for t in doc_nim["techniques"] for p in t["paths"] if "origin" in p)
    path["origin"] = NIM
    with pytest.raises(InputError, match=r"\.origin.*first step is in Deployment/frontend/chat-ui"):
        Report.from_dict(document)
