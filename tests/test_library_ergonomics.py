"""The library as a notebook user calls it (issue 20, item 8).

Before: ``analyze(..., goals="T1611")`` iterated the string ("'T' is not an ATT&CK
technique id"); ``repr(report)`` was 26 KB of pydantic dump; ``report.apply(["control"])``
failed with "has no target"; ``report.json()`` (pydantic's deprecated method) returned
another document than ``to_json()``; the networkx graph was two attributes deep.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

import attackmap

NIM = Path(__file__).resolve().parents[1] / "examples" / "nim" / "nim-deploy-default.yaml"
WORKLOAD = "StatefulSet/default/my-nim"


@pytest.fixture(scope="module")
def report() -> attackmap.Report:
    return attackmap.analyze(NIM)


def test_a_string_is_one_goal_or_entry() -> None:
    one = attackmap.analyze(NIM, goals="T1528", entries="cluster")
    listed = attackmap.analyze(NIM, goals=["T1528"], entries=["cluster"])
    assert one.to_json() == listed.to_json()
    assert [m.goals for m in one.workloads[0].minimal_controls] == [("T1528",)]
    assert one.entries == ("cluster",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"goals": 1611}, "goals must be a string or a list of strings, got int"),
        ({"goals": ["T1611", None]}, "goals must be a string or a list of strings; it holds"),
        ({"entries": {"cluster": 1}}, "entries must be a string or a list of strings, got dict"),
        ({"helm_set": [b"a=b"]}, "helm_set must be a string or a list of strings; it holds"),
    ],
)
def test_other_types_are_refused_with_what_is_expected(kwargs: dict, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        attackmap.analyze(NIM, **kwargs)


def test_reprs_are_short(report: attackmap.Report) -> None:
    techniques = len(report.workloads[0].techniques)
    assert repr(report) == str(report) == f"<Report 1 workload, {techniques} techniques>"
    workload = report.workloads[0]
    assert repr(workload) == f"<WorkloadAnalysis {WORKLOAD}: {techniques} techniques>"
    finding = workload.finding("T1528")
    assert finding is not None
    n = len(finding.paths)  # (from the cluster and from the outside)
    assert (
        n > 1 and repr(finding) == f"<TechniqueFinding T1528 {finding.technique.name}: {n} paths>"
    )
    steps = " > ".join(s.id for s in finding.paths[0].steps)
    assert repr(finding.paths[0]) == f"<Path {finding.paths[0].entry} > {steps}>"
    assert "<table" in report._repr_html_()  # the notebook's rich display stays


def test_json_and_dict_are_the_report_document(report: attackmap.Report) -> None:
    assert report.json() == report.to_json()
    assert report.json(pretty=True) == report.to_json(pretty=True)
    assert report.dict() == report.to_dict()


def test_a_bare_control_applies_to_every_workload_whose_paths_it_breaks(
    report: attackmap.Report,
) -> None:
    assert report.workload(WORKLOAD).finding("T1528") is not None
    bare = report.apply(["disable-token-automount"])
    assert bare.to_json() == report.apply([f"disable-token-automount@{WORKLOAD}"]).to_json()
    assert report.apply("disable-token-automount").to_json() == bare.to_json()
    assert bare.workload(WORKLOAD).finding("T1528") is None


def test_a_misspelt_or_idle_control_says_what_is_expected(report: attackmap.Report) -> None:
    with pytest.raises(attackmap.AttackmapError) as info:
        report.apply(["disable-token-automout"])
    assert "did you mean disable-token-automount?" in info.value.diagnostics()
    hardened = report.apply(["disable-token-automount"])
    with pytest.raises(attackmap.AttackmapError) as info:
        hardened.apply(["disable-token-automount"])
    assert "breaks no path in this report" in info.value.message
    assert "control@Kind/namespace/name" in info.value.diagnostics()


def test_the_attack_graph_is_a_networkx_digraph(report: attackmap.Report) -> None:
    graph = report.graph
    assert isinstance(graph, nx.DiGraph)
    kinds = {kind for _, kind in graph.nodes(data="kind")}
    assert kinds == {"entry", "state", "step", "sink"}
    entry = next(n for n, k in graph.nodes(data="kind") if k == "entry")
    # every technique of the report is a step reachable from an entry point
    reachable = nx.descendants(graph, entry)
    assert any(n.startswith("step:steal-sa-token@") for n in reachable)
    assert attackmap.Report.model_validate(report.model_dump()).graph is None
