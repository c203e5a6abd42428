"""Pictures of the attack paths: the pure-Python SVG (structure, escaping, determinism,
bound), its place in the HTML report and the notebook, and the Mermaid flowchart."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from attackmap.exporters import EXPORTERS
from attackmap.exporters._mermaid import MAX_EDGES, label
from attackmap.exporters._picture import picture, scope_label
from attackmap.exporters._svg import workload_svg, xml
from attackmap.graph import Report, WorkloadAnalysis

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(\"x\" & 'y')</script> #1 `b` \\ \x01"


def _drawn(wa: WorkloadAnalysis) -> tuple[set[str], set[tuple[str, str]]]:
    """Every node key and edge of the workload's paths."""
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for t in wa.techniques:
        for p in t.paths:
            chain = [
                f"entry:{p.entry}",
                *(f"step:{s.key}" for s in p.steps),
                f"technique:{t.technique.id}",
            ]
            nodes.update(chain)
            edges.update(itertools.pairwise(chain))
    return nodes, edges


def _reversed(wa: WorkloadAnalysis) -> WorkloadAnalysis:
    techniques = tuple(
        t.model_copy(update={"paths": tuple(reversed(t.paths))}) for t in reversed(wa.techniques)
    )
    return wa.model_copy(update={"techniques": techniques})


def _hostile(wa: WorkloadAnalysis) -> WorkloadAnalysis:
    """``wa`` with a hostile title, step ids, scopes, technique names and controls."""
    techniques = []
    for t in wa.techniques:
        paths = []
        for p in t.paths:
            steps = tuple(
                s.model_copy(
                    update={
                        "id": s.id + HOSTILE,
                        "scope": s.scope + HOSTILE,
                        "title": HOSTILE,
                        "broken_by": (f"{HOSTILE}@x",),
                    }
                )
                for s in p.steps
            )
            paths.append(p.model_copy(update={"steps": steps, "broken_by": (f"{HOSTILE}@x",)}))
        tech = t.technique.model_copy(update={"name": HOSTILE})
        techniques.append(t.model_copy(update={"paths": tuple(paths), "technique": tech}))
    ref = wa.ref.model_copy(update={"name": HOSTILE})
    return wa.model_copy(update={"techniques": tuple(techniques), "ref": ref})


def test_svg_has_one_box_per_node_and_one_arrow_per_consecutive_pair(
    default_report: Report,
) -> None:
    wa = default_report.workloads[0]
    nodes, edges = _drawn(wa)
    pic = picture(wa, max_nodes=10_000)
    assert {n.key for n in pic.nodes} == nodes
    assert set(pic.edges) == edges
    root = ET.fromstring(workload_svg(wa))  # valid XML
    assert root.tag == f"{SVG}svg"
    if len(nodes) <= 60:
        assert len(root.findall(f".//{SVG}rect")) == len(nodes)
        assert len(root.findall(f".//{SVG}path")) == len(edges)


def test_columns_follow_the_paths(default_report: Report) -> None:
    pic = picture(default_report.workloads[0], max_nodes=10_000)
    where = {n.key: n for n in pic.nodes}
    last = max(n.column for n in pic.nodes)
    for n in pic.nodes:
        assert (n.column == 0) == (n.kind == "entry")
        assert (n.column == last) == (n.kind == "technique")
    for a, b in pic.edges:
        assert where[a].column < where[b].column
    places = [(n.column, n.row) for n in pic.nodes]
    assert len(set(places)) == len(places)


def test_technique_boxes_carry_the_controls_that_break_every_path(
    default_report: Report,
) -> None:
    wa = default_report.workloads[0]
    pic = picture(wa, max_nodes=10_000)
    for t in wa.techniques:
        node = next(n for n in pic.nodes if n.key == f"technique:{t.technique.id}")
        assert node.framework == t.technique.framework
        names = [c.rpartition("@")[0] for c in t.broken_by]
        shown = " ".join(node.notes)
        assert all(c in shown for c in names)
        if not names:
            assert node.notes == ("no single control",)
    svg = workload_svg(wa)
    assert "cut by: " in svg and 'stroke-dasharray="5,3"' in svg  # ATLAS drawn dashed


def test_hostile_labels_are_escaped(default_report: Report) -> None:
    wa = _hostile(default_report.workloads[0])
    for text in (
        workload_svg(wa),
        EXPORTERS["svg"].export(
            Report.model_validate(default_report.model_copy(update={"workloads": (wa,)}))
        ),
    ):
        root = ET.fromstring(text.encode())
        assert "<script" not in text and "\x01" not in text
        texts = [e.text or "" for e in root.iter() if e.tag in (f"{SVG}text", f"{SVG}title")]
        assert any("<script>" in t for t in texts)  # shown as text, not markup
    assert xml("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;"


def test_hostile_labels_in_mermaid_are_entity_codes(default_report: Report) -> None:
    wa = _hostile(default_report.workloads[0])
    report = default_report.model_copy(update={"workloads": (wa,)})
    text = EXPORTERS["mermaid"].export(report)
    _check_mermaid(text)
    for bad in ("<script", "`", "\\", "\x01"):
        assert bad not in text
    assert label('a"b#c') == '"a#quot;b#35;c"'


def test_pictures_are_deterministic(default_report: Report) -> None:
    wa = default_report.workloads[0]
    again = _reversed(wa)
    assert workload_svg(wa) == workload_svg(again)
    for fmt in ("svg", "mermaid"):
        shuffled = default_report.model_copy(update={"workloads": (again,)})
        assert EXPORTERS[fmt].export(default_report) == EXPORTERS[fmt].export(shuffled)


def test_picture_is_bounded_with_a_note(default_report: Report) -> None:
    wa = default_report.workloads[0]
    pic = picture(wa, max_nodes=8)
    assert len(pic.nodes) <= 8 and pic.paths_drawn >= 1
    total = sum(len(t.paths) for t in wa.techniques)
    assert pic.paths_drawn + pic.paths_not_drawn == total
    assert f"{pic.paths_not_drawn} more path(s) not drawn" in pic.note


def test_scope_label() -> None:
    assert scope_label("Deployment/a/b", "Deployment/a/b") == "pod"
    assert scope_label("Deployment/a/b[c]", "Deployment/a/b") == "container c"
    assert scope_label("node:gpu", "Deployment/a/b") == "node:gpu"


def test_html_report_embeds_one_picture_per_workload(default_report: Report) -> None:
    html = EXPORTERS["html"].export(default_report)
    drawn = [w for w in default_report.workloads if w.techniques]
    assert html.count("<svg") == len(drawn) >= 1
    assert "<script" not in html and "http://www.w3.org/2000/svg" in html


def test_notebook_shows_the_picture_without_graphviz(
    default_report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    wa = default_report.workloads[0]
    assert wa._repr_html_().count("<svg") == 1
    assert default_report._repr_html_().count("<svg") == len(default_report.workloads)


_ID = r"[A-Za-z][A-Za-z0-9_]*"
_NODE = re.compile(rf'^\s*({_ID})\["[^"]*"\]$')
_EDGE = re.compile(rf"^\s*({_ID}) --> ({_ID})$")


def _check_mermaid(text: str) -> None:
    """Every line is a known statement; every edge joins declared nodes."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared: set[str] = set()
    edges = []
    depth = 0
    for line in lines[1:]:
        if m := re.match(rf'^\s*subgraph ({_ID})\["[^"]*"\]$', line):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
        elif line.strip() == "direction LR" or re.match(r"^\s*%%(?!\{)", line):
            pass  # a comment (%%{ would open a directive)
        elif m := _NODE.match(line):
            assert m.group(1) not in declared
            declared.add(m.group(1))
        elif m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        elif m := re.match(rf"^\s*classDef ({_ID}) \S.*$", line):
            pass
        elif m := re.match(rf"^\s*class ({_ID}(,{_ID})*) ({_ID})$", line):
            assert set(m.group(1).split(",")) <= declared
        else:
            raise AssertionError(f"not a statement: {line!r}")
    assert depth == 0
    assert all(a in declared and b in declared for a, b in edges)


def test_mermaid_on_a_real_report(report: Report) -> None:
    text = EXPORTERS["mermaid"].export(report)
    _check_mermaid(text)
    drawn = [w for w in report.workloads if w.techniques]
    assert text.count("  subgraph ") == len(drawn)
    assert text.count(" --> ") <= MAX_EDGES


def test_nothing_reachable(default_report: Report) -> None:
    empty = default_report.model_copy(update={"workloads": ()})
    assert "No technique is reachable." in EXPORTERS["svg"].export(empty)
    ET.fromstring(EXPORTERS["svg"].export(empty).encode())
    text = EXPORTERS["mermaid"].export(empty)
    _check_mermaid(text)
    assert "No technique is reachable." in text
