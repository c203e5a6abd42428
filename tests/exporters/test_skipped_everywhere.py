"""What was not analysed is in every format (issue 20, item 2).

Before, a chart's ``values.yaml`` given beside a manifest was listed in ``skipped`` of
the JSON, SARIF, HTML, markdown and the table, but not in STIX, the Navigator layers
(ATT&CK and ATLAS), DOT, GraphML, Mermaid or SVG: a user of those formats could not tell
that part of the input was never read. Each now carries it where the format can.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from exporter_helpers import DEFAULT_MANIFEST, REPO_ROOT

import attackmap
from attackmap.exporters import EXPORTERS
from attackmap.graph import Report

REASON = "Helm chart values, not a Kubernetes object"


@pytest.fixture(scope="module")
def skipped_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    chart = tmp_path_factory.mktemp("repo") / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: nginx\n")
    report = attackmap.analyze([REPO_ROOT / DEFAULT_MANIFEST, chart / "values.yaml"])
    (skipped,) = report.skipped
    assert skipped.reason.startswith(REASON)
    return report


def _line(report: Report) -> str:
    (s,) = report.skipped
    return f"{s.source}: {s.reason}"


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_every_format_names_the_skipped_file(fmt: str, skipped_report: Report) -> None:
    (s,) = skipped_report.skipped
    text = EXPORTERS[fmt].export(skipped_report)
    assert s.source.path in text.replace("\\/", "/"), fmt


def test_stix_report_object_carries_it(skipped_report: Report) -> None:
    from stix2validator import ValidationOptions, validate_string

    text = EXPORTERS["stix"].export(skipped_report)
    objects = json.loads(text)["objects"]
    (report,) = (o for o in objects if o["type"] == "report")
    assert f"skipped: {_line(skipped_report)}" in report["description"].split("\n")
    (note,) = (o for o in objects if o["type"] == "note")
    assert note["abstract"] == "skipped 1 object(s) or file(s), not analysed"
    assert note["content"] == _line(skipped_report)
    assert note["object_refs"] == [report["id"]]
    strict = ValidationOptions(strict=True, disabled=["103", "302"])
    assert validate_string(text, strict).is_valid


@pytest.mark.parametrize("fmt", ["navigator", "navigator-atlas"])
def test_navigator_layers_carry_it_in_metadata_and_description(
    fmt: str, skipped_report: Report
) -> None:
    from mitreattack.navlayers import Layer

    text = EXPORTERS[fmt].export(skipped_report)
    layer = json.loads(text)
    assert {"name": "skipped", "value": _line(skipped_report)} in layer["metadata"]
    assert layer["description"].endswith(
        "Skipped 1 object(s) or file(s), not analysed (metadata: skipped)."
    )
    if fmt == "navigator":
        Layer().from_str(text)  # still a layer the Navigator's own loader reads


def test_dot_counts_it_in_the_label_and_lists_it_in_comments(skipped_report: Report) -> None:
    text = EXPORTERS["dot"].export(skipped_report)
    assert 'label="skipped 1 object(s) or file(s), not analysed";' in text
    assert f"  // skipped: {_line(skipped_report)}\n" in text


def test_graphml_graph_attribute(skipped_report: Report) -> None:
    graph = nx.parse_graphml(EXPORTERS["graphml"].export(skipped_report))
    assert graph.graph["skipped"] == _line(skipped_report)


def test_mermaid_and_svg_note_it(skipped_report: Report) -> None:
    mermaid = EXPORTERS["mermaid"].export(skipped_report)
    assert f"  %% skipped: {_line(skipped_report)}\n" in mermaid
    assert '["skipped 1 object(s) or file(s), not analysed"]' in mermaid
    assert "skipped: " in EXPORTERS["svg"].export(skipped_report)


def test_nothing_skipped_adds_nothing() -> None:
    report = attackmap.analyze(Path(REPO_ROOT / DEFAULT_MANIFEST))
    assert not report.skipped
    for fmt in ("stix", "navigator", "navigator-atlas", "dot", "graphml", "mermaid"):
        assert "skipped" not in EXPORTERS[fmt].export(report), fmt
