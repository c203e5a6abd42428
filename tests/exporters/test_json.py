"""The JSON report: streamed, byte-identical to ``json.dumps`` of ``to_dict()``, compact or pretty;
every step instance, fact, piece of evidence and control stated once, and nothing v1 gave lost.

The reference is always the standard library: compact is ``json.dumps(report.to_dict(),
sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\\n"``, pretty the same with
``indent=2``. Checked on every manifest under tests/graph/manifests, the NIM examples and a
generated multi-namespace cluster (benchmarks/synth.py).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import synthetic_cluster

import attackmap
from attackmap._jsontext import dumps
from attackmap.exporters import EXPORTERS
from attackmap.exporters._json import JsonExporter
from attackmap.graph import Report
from attackmap.graph._report import DocumentTables, FactUse, PathStep, StepRow, UseRow

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "tests" / "graph" / "manifests").rglob("*.yaml"))


def reference(report: Report, *, pretty: bool) -> str:
    doc = report.to_dict()
    if pretty:
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def assert_byte_identical(report: Report) -> None:
    for pretty in (False, True):
        expected = reference(report, pretty=pretty)
        stream = io.StringIO()
        report.write_json(stream, pretty=pretty)
        assert stream.getvalue() == expected, f"write_json(pretty={pretty})"
        assert report.to_json(pretty=pretty) == expected, f"to_json(pretty={pretty})"
        assert JsonExporter(pretty=pretty).export(report) == expected
    assert report.to_json() == EXPORTERS["json"].export(report)  # compact by default


def test_every_graph_manifest_is_byte_identical() -> None:
    assert len(MANIFESTS) > 50
    for path in MANIFESTS:
        assert_byte_identical(attackmap.analyze(str(path)))


@pytest.mark.parametrize("path", ["examples/nim", "examples/nim/nim-deploy-default.yaml"])
def test_examples_are_byte_identical(path: str) -> None:
    report = attackmap.analyze(str(REPO / path), goals=["T1611", "T1552.001"])
    assert report.workloads
    assert_byte_identical(report)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return attackmap.analyze(synthetic_cluster(tmp_path_factory.mktemp("synth"), 40, seed=3))


def test_every_document_validates_against_the_schema(synthetic: Report) -> None:
    schema = json.loads((REPO / "docs" / "schema" / "report-v2.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(json.loads(synthetic.to_json()))
    for path in MANIFESTS:
        validator.validate(json.loads(attackmap.analyze(str(path)).to_json()))


def test_a_generated_cluster_is_byte_identical(synthetic: Report) -> None:
    namespaces = {w.ref.namespace for w in synthetic.workloads}
    assert len(synthetic.workloads) >= 40 and len(namespaces) > 3
    assert sum(len(w.techniques) for w in synthetic.workloads) > 100
    # the optional keys and empty lists of the text the compact writer makes itself
    # (DocumentTables.workload_text and table_texts)
    techniques = [t for w in synthetic.workloads for t in w.techniques]
    assert any(t.truncated for t in techniques) and not all(t.truncated for t in techniques)
    assert any(t.broken_by for t in techniques) and not all(t.broken_by for t in techniques)
    assert any(p.origin for t in techniques for p in t.paths)
    assert any(not p.origin for t in techniques for p in t.paths)
    steps = synthetic.step_instances()
    assert any(s.broken_by for s in steps) and not all(s.broken_by for s in steps)
    assert any(s.facts for s in steps) and not all(s.facts for s in steps)
    assert_byte_identical(synthetic)


class Recorder:
    """A sink that keeps each write separately."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


@pytest.mark.parametrize("pretty", [False, True])
def test_written_one_workload_at_a_time(synthetic: Report, pretty: bool) -> None:
    sink = Recorder()
    synthetic.write_json(sink, pretty=pretty)
    # one write per workload and per row of the steps table: the document is never whole
    items = [text for text in sink.writes if '"minimal_controls":' in text]
    assert len(items) == len(synthetic.workloads)
    for workload, item in zip(synthetic.workloads, items, strict=True):
        assert item.count('"minimal_controls":') == 1 and json.dumps(workload.ref.name) in item
    rows = [text for text in sink.writes if '"step":' in text]
    assert len(rows) == len(synthetic.step_instances()) > 1
    assert all(text.count('"step":') == 1 for text in rows)
    assert sink.writes[-1] == ("\n}\n" if pretty else "}\n")
    assert "".join(sink.writes) == reference(synthetic, pretty=pretty)


def test_write_json_takes_a_text_stream(synthetic: Report, tmp_path: Path) -> None:
    # a path where a stream goes: said, not an AttributeError on str.write
    with pytest.raises(TypeError, match=r"write_json writes to a text stream .*, not str"):
        synthetic.write_json(str(tmp_path / "out.json"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not PosixPath"):
        synthetic.write_json(tmp_path / "out.json")  # type: ignore[arg-type]


def test_a_report_without_workloads(tmp_path: Path) -> None:
    only_a_service = tmp_path / "svc.yaml"
    only_a_service.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
    report = attackmap.analyze(str(only_a_service))
    assert report.workloads == ()
    assert_byte_identical(report)
    assert json.loads(report.to_json())["workloads"] == []


def v1_paths(doc: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """What attackmap.report/v1 said of every path, resolved from a v2 document: workload ->
    technique -> [{entry, steps: [{id, technique, scope, facts: [fact use]}], broken_by}]."""
    files = doc["files"]
    evidence = [
        {"path": files[e["file"]], "line": e["line"], "field": e["field"], "detail": e["detail"]}
        for e in doc["evidence"]
    ]
    no_evidence = {"path": "", "line": None, "field": "", "detail": ""}
    facts = [
        {
            "fact": f["fact"],
            **(evidence[f["evidence"]] if f["evidence"] is not None else no_evidence),
        }
        for f in doc["facts"]
    ]
    controls = doc["controls"]
    steps = [
        {
            "id": s["step"],
            "technique": doc["catalogue"][s["step"]]["technique"],
            "scope": s["scope"],
            "facts": [facts[i] for i in s["facts"]],
            "broken_by": {controls[i] for i in s["broken_by"]},
        }
        for s in doc["steps"]
    ]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for w in doc["workloads"]:
        ref = w["ref"]
        key = f"{ref['kind']}/{ref['namespace']}/{ref['name']}"
        for t in w["techniques"]:
            paths = []
            for p in t["paths"]:
                chain = [steps[s["ref"]] for s in p["steps"]]
                assert [s["id"] for s in chain] == [s["id"] for s in p["steps"]]
                paths.append(
                    {
                        "entry": p["entry"],
                        "steps": [{k: v for k, v in s.items() if k != "broken_by"} for s in chain],
                        "broken_by": sorted(set().union(*(s["broken_by"] for s in chain))),
                    }
                )
            out.setdefault(key, {})[t["id"]] = paths
    return out


def test_the_document_keeps_everything_v1_said(synthetic: Report) -> None:
    # each path's steps (id, technique, scope), their facts with file/line/field/detail,
    # and the path's broken_by, as v1 wrote them from the same report
    resolved = v1_paths(json.loads(synthetic.to_json()))
    for w in synthetic.workloads:
        key = f"{w.ref.kind}/{w.ref.namespace}/{w.ref.name}"
        for t in w.techniques:
            expected = [
                {
                    "entry": p.entry,
                    "steps": [
                        {
                            "id": s.id,
                            "technique": s.technique,
                            "scope": s.scope,
                            "facts": [f.model_dump(mode="json") for f in s.facts],
                        }
                        for s in p.steps
                    ],
                    "broken_by": list(p.broken_by),
                }
                for p in t.paths
            ]
            assert resolved[key][t.technique.id] == expected


def test_techniques_truncation_and_every_path_controls(synthetic: Report) -> None:
    doc = synthetic.to_dict()
    assert set(doc["techniques"]) == {
        t.technique.id for w in synthetic.workloads for t in w.techniques
    }
    for w, wd in zip(synthetic.workloads, doc["workloads"], strict=True):
        for t, td in zip(w.techniques, wd["techniques"], strict=True):
            assert doc["techniques"][t.technique.id] == {
                "name": t.technique.name,
                "tactics": list(t.technique.tactics),
                "framework": t.technique.framework,
                "severity": t.severity,
            }
            assert td.get("truncated", False) is t.truncated
            every = [doc["controls"][i] for i in td["broken_by"]]
            assert every == list(t.broken_by)
            assert all(set(every) <= set(p.broken_by) for p in t.paths)


def test_each_entry_is_stated_once_and_used(synthetic: Report) -> None:
    doc = synthetic.to_dict()
    instances = [(s["step"], s["scope"]) for s in doc["steps"]]
    assert len(instances) == len(set(instances))
    facts = [(f["fact"], f["evidence"]) for f in doc["facts"]]
    assert len(facts) == len(set(facts))
    places = [tuple(sorted(e.items())) for e in doc["evidence"]]
    assert len(places) == len(set(places))
    assert len(doc["files"]) == len(set(doc["files"]))
    assert doc["controls"] == sorted(set(doc["controls"]))
    # every table entry is referred to: nothing stated that no path uses
    used_steps = {
        s["ref"]
        for w in doc["workloads"]
        for t in w["techniques"]
        for p in t["paths"]
        for s in p["steps"]
    }
    assert used_steps == set(range(len(doc["steps"])))
    used_facts = {i for s in doc["steps"] for i in s["facts"]}
    assert used_facts == set(range(len(doc["facts"])))
    used_evidence = {f["evidence"] for f in doc["facts"]} - {None}
    assert used_evidence == set(range(len(doc["evidence"])))
    assert {e["file"] for e in doc["evidence"]} == set(range(len(doc["files"])))
    assert {i for s in doc["steps"] for i in s["broken_by"]} == set(range(len(doc["controls"])))
    # paths share their steps: fewer instances than step uses
    uses = sum(
        len(p["steps"]) for w in doc["workloads"] for t in w["techniques"] for p in t["paths"]
    )
    assert len(doc["steps"]) < uses
    assert [(s.id, s.scope) for s in synthetic.step_instances()] == instances
    # each catalogue step once, with what every instance of it says
    for s in synthetic.step_instances():
        assert doc["catalogue"][s.id] == {"technique": s.technique, "title": s.title}
    assert set(doc["catalogue"]) == {s["step"] for s in doc["steps"]}


def test_path_steps_name_the_instance_they_refer_to(synthetic: Report) -> None:
    # every path step: `id` is the catalogue step id, `ref` its instance in `steps`
    doc = json.loads(synthetic.to_json())
    path_steps = [
        s for w in doc["workloads"] for t in w["techniques"] for p in t["paths"] for s in p["steps"]
    ]
    assert len(path_steps) > 100
    for s in path_steps:
        assert set(s) == {"id", "ref"}
        assert isinstance(s["id"], str) and type(s["ref"]) is int
        assert doc["steps"][s["ref"]]["step"] == s["id"]
        assert s["id"] in doc["catalogue"]


def test_v1_script_fields_stay_where_they_were(default_report: Report) -> None:
    # workloads[].ref{kind,namespace,name}, techniques[].id, paths[].entry, paths[].steps[].id
    doc = json.loads(default_report.to_json())
    (w,) = doc["workloads"]
    assert {k: w["ref"][k] for k in ("kind", "namespace", "name")} == {
        "kind": "StatefulSet",
        "namespace": "default",
        "name": "my-nim",
    }
    ids = [t["id"] for t in w["techniques"]]
    assert ids == list(default_report.workloads[0].technique_ids())
    for t, finding in zip(w["techniques"], default_report.workloads[0].techniques, strict=True):
        for p, path in zip(t["paths"], finding.paths, strict=True):
            assert p["entry"] == path.entry
            # a v1 script reads catalogue step ids where v1 wrote them
            v1_ids = [s["id"] for s in p["steps"]]
            assert v1_ids == [s.id for s in path.steps]
            assert all(s in doc["catalogue"] for s in v1_ids)
            # `ref` is the step instance: its scope, facts and broken_by, stated once
            instances = [doc["steps"][s["ref"]] for s in p["steps"]]
            assert [(i["step"], i["scope"]) for i in instances] == [
                (s.id, s.scope) for s in path.steps
            ]


# -- dumps(pretty=True) is json.dumps(indent=2) for any JSON value --------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


def stdlib(obj: Any, *, pretty: bool) -> str:
    if pretty:
        return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False)
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(values)
def test_dumps_is_json_dumps(obj: Any) -> None:
    assert dumps(obj, pretty=True) == stdlib(obj, pretty=True)
    assert dumps(obj) == stdlib(obj, pretty=False)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=5), values, max_size=3))
def test_dumps_at_a_level_is_the_nested_text(obj: dict[str, Any]) -> None:
    # what write_report relies on: a value encoded at level 2 is its text inside [[...]]
    nested = stdlib([[obj]], pretty=True)
    assert nested == "[\n  [\n    " + dumps(obj, pretty=True, level=2) + "\n  ]\n]"


def test_dumps_converts_keys_like_json() -> None:
    for keys in ({1: "a", 10: "b", -3: "c"}, {2.5: 1, math.inf: 2}, {None: 1}, {False: 2}):
        assert dumps(keys, pretty=True) == stdlib(keys, pretty=True)
    mixed = {1: "a", "b": 2}  # keys that do not sort: json.dumps refuses them as well
    with pytest.raises(TypeError):
        stdlib(mixed, pretty=True)
    with pytest.raises(TypeError):
        dumps(mixed, pretty=True)
    with pytest.raises(TypeError):
        dumps({(1, 2): 1}, pretty=True)
    with pytest.raises(TypeError):
        dumps({"x": object()}, pretty=True)


def test_table_rows_written_as_text_are_json_dumps() -> None:
    # The compact steps, facts and evidence rows are written without dicts: each is what
    # json.dumps makes of the row, a fact without evidence and evidence without a line too.
    uses = (
        FactUse(fact="privileged", path="pod.yaml", line=7, field="spec", detail="é"),
        FactUse(fact="ctx:kernel", path="", line=None, field="", detail=""),
        FactUse(fact="runs_on:any", path="pod.yaml", line=None, field="spec", detail='"x"'),
    )
    steps = [
        PathStep(
            id="escape-privileged-mount",
            technique="T1611",
            title="Escape",
            scope="Pod/ml/a[shell]",
            workload="Pod/ml/a",
            container="shell",
            facts=uses,
            broken_by=("unprivileged@Pod/ml/a",),
        ),
        PathStep(
            id="host-read-credentials",
            technique="T1552",
            title="Read",
            scope="node",
            workload=None,
            container=None,
            facts=(),
        ),
    ]
    tables = DocumentTables(steps, {})
    rows = {"steps": tables.step_rows, "facts": tables.fact_rows, "evidence": tables.evidence_rows}
    assert [r["evidence"] for r in tables.fact_rows()] == [0, None, 1]
    assert [r["line"] for r in tables.evidence_rows()] == [7, None]
    for table, made in rows.items():
        for pretty in (False, True):
            texts = list(tables.table_texts(table, pretty=pretty))
            assert texts == [dumps(row, pretty=pretty, level=2) for row in made()], table
        assert list(tables.table_texts(table, pretty=False)) == [
            json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            for row in made()
        ]
    with pytest.raises(KeyError, match="workloads"):
        tables.table_texts("workloads", pretty=False)
    # the writer's records (StepRow, UseRow) make the same tables as the report's models
    records = [
        StepRow(*(getattr(s, f) for f in StepRow._fields))._replace(
            facts=tuple(UseRow(*(getattr(u, f) for f in UseRow._fields)) for u in s.facts)
        )
        for s in steps
    ]
    recorded = DocumentTables(records, {})
    for table in rows:
        for pretty in (False, True):
            assert list(recorded.table_texts(table, pretty=pretty)) == list(
                tables.table_texts(table, pretty=pretty)
            ), table


def test_writer_records_have_the_models_fields_in_order() -> None:
    # A field added to PathStep or FactUse reaches the document of Report.write_json; the
    # writer's records must carry it too, in the same order (their tuples are the fields).
    assert StepRow._fields == tuple(PathStep.model_fields)
    assert UseRow._fields == tuple(FactUse.model_fields)


def test_to_dict_keeps_its_key_order(synthetic: Report) -> None:
    # a caller may dump to_dict() without sorting (yaml.safe_dump(sort_keys=False)): the
    # tables of what steps cite stand where the head always put them, before the files
    assert list(synthetic.to_dict()) == [
        "schema",
        "attack",
        "atlas",
        "entries",
        "techniques",
        "catalogue",
        "facts",
        "evidence",
        "files",
        "controls",
        "skipped",
        "warnings",
        "steps",
        "workloads",
    ]
