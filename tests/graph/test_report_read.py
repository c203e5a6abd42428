"""Reading an ``attackmap.report/v2`` document back: ``Report.from_dict``/``from_json`` and
``load_report`` (issue 16).

The document states each step instance, fact and piece of evidence once; read back, paths
through one instance share one ``PathStep`` again, and writing the result gives the
document byte for byte. A document the schema refuses, or whose references do not hold, is
an ``InputError`` naming the file and the JSON path of the value.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests.conftest import synthetic_cluster
from tests.graph.test_node_root_exec import cluster as node_cluster
from tests.graph.test_placement import ON_GPU, pod, secret_reader

import attackmap
from attackmap.errors import InputError
from attackmap.exporters import EXPORTERS
from attackmap.graph import Report, analyze, load_report

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "nim" / "nim-deploy-default.yaml"
SCHEMA = json.loads((REPO / "docs" / "schema" / "report-v2.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

Doc = dict[str, Any]

SKIPPED = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"


@pytest.fixture(scope="module")
def example() -> Report:
    return analyze(EXAMPLE, goals=["T1552.001", "T1611"])


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return analyze(synthetic_cluster(tmp_path_factory.mktemp("synth"), 40, seed=5))


def cross_workload() -> Report:
    """Paths across workloads, node classes, a port scope, a skipped document."""
    server = pod("server", "app")
    server["spec"]["containers"][0]["ports"] = [{"containerPort": 8000}]
    embed = pod("embed", "nim", sa="embed", **ON_GPU)
    docs = [*node_cluster(), server, embed, *secret_reader("embed", "nim"), SKIPPED]
    return analyze(docs, entries=["cluster"])


def reports(example: Report, synthetic: Report) -> list[Report]:
    return [example, synthetic, cross_workload(), analyze(EXAMPLE, entries=["image"])]


def test_round_trip_is_byte_identical(example: Report, synthetic: Report) -> None:
    for report in reports(example, synthetic):
        for pretty in (False, True):
            text = report.to_json(pretty=pretty)
            again = Report.from_json(text)
            assert again.to_json(pretty=pretty) == text
            assert Report.from_dict(json.loads(text)).to_dict() == report.to_dict()


def test_the_objects_read_back_are_the_reported_ones(example: Report) -> None:
    report = cross_workload()
    assert report.skipped  # the Widget
    for original in (example, report):
        again = Report.from_json(original.to_json())
        assert again.attack_version == original.attack_version
        assert again.atlas_version == original.atlas_version
        assert again.entries == original.entries
        assert again.skipped == original.skipped
        assert again.warnings == original.warnings
        for w, v in zip(original.workloads, again.workloads, strict=True):
            # the document does not keep a workload source's Helm template
            assert v.source.helm_source is None
            assert (v.ref, v.source, v.pss, v.minimal_controls, v.warnings) == (
                w.ref,
                w.source.model_copy(update={"helm_source": None}),
                w.pss,
                w.minimal_controls,
                w.warnings,
            )
            for t, u in zip(w.techniques, v.techniques, strict=True):
                # the same technique as the knowledge base gives (URL, STIX id, platforms)
                assert u.technique == t.technique
                assert (u.severity, u.truncated, u.broken_by) == (
                    t.severity,
                    t.truncated,
                    t.broken_by,
                )
                for p, q in zip(t.paths, u.paths, strict=True):
                    assert (q.entry, q.broken_by, q.key) == (p.entry, p.broken_by, p.key)
                    for s, r in zip(p.steps, q.steps, strict=True):
                        # a port scope names its container only when several may answer
                        port = ":" in s.scope.partition("[")[0].rpartition("/")[2]
                        named = not port or s.scope.endswith("]")
                        assert r == (s if named else s.model_copy(update={"container": None}))
    # paths through one step instance share one object again
    again = Report.from_json(report.to_json())
    assert len(again.step_instances()) == len(report.step_instances())
    ids = {id(s) for w in again.workloads for t in w.techniques for p in t.paths for s in p.steps}
    assert len(ids) == len(again.step_instances())


def test_a_port_scope_is_in_the_cross_workload_report() -> None:
    """The object test above covers a port step (its container is not in the document)."""
    scopes = {s.scope for s in cross_workload().step_instances()}
    assert any(":" in s.partition("[")[0].rpartition("/")[2] for s in scopes), scopes


def test_exporters_render_a_read_report_as_the_analysed_one(example: Report) -> None:
    again = Report.from_json(example.to_json())
    # dot and graphml draw the whole attack graph when the report has one (not saved)
    for name in sorted(set(EXPORTERS) - {"dot", "graphml"}):
        assert EXPORTERS[name].export(again) == EXPORTERS[name].export(example), name
    assert again.attack_graph is None
    with pytest.raises(attackmap.AttackmapError, match=r"not produced by attackmap\.analyze"):
        again.apply("disable-token-automount")


def test_load_report_reads_a_saved_file(example: Report, tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    saved.write_text(example.to_json(pretty=True), encoding="utf-8")
    assert load_report(saved).to_json() == example.to_json()
    assert attackmap.load_report(str(saved)).to_json() == example.to_json()


def test_a_technique_the_knowledge_base_does_not_know_is_read_from_the_document(
    example: Report,
) -> None:
    document = example.to_dict()
    at, tid = next(
        (i, t["id"])
        for i, t in enumerate(document["workloads"][0]["techniques"])
        if document["techniques"][t["id"]]["framework"] == "attack"
    )
    document["techniques"][tid]["name"] = "Renamed by a newer ATT&CK"
    again = Report.from_dict(document)
    assert again.workloads[0].techniques[at].technique.name == "Renamed by a newer ATT&CK"
    assert again.to_dict() == document
    # with no knowledge base entry at all (an id of a newer release)
    new = "T1999"
    document = json.loads(json.dumps(example.to_dict()).replace(f'"{tid}"', f'"{new}"'))
    technique = Report.from_dict(document).workloads[0].techniques[at].technique
    assert (technique.id, technique.url) == (new, "https://attack.mitre.org/techniques/T1999/")
    assert (technique.stix_id, technique.platforms) == ("", ())
    assert Report.from_dict(document).to_dict() == document


# -- bad documents: file, JSON path, message -------------------------------------------------


def _first_path(d: Doc) -> Doc:
    path: Doc = d["workloads"][0]["techniques"][0]["paths"][0]
    return path


def _set(
    where: Callable[[Doc], Doc], key: str, value: Any
) -> Callable[[Doc], None]:  # a mutation of the document
    def change(d: Doc) -> None:
        where(d)[key] = value

    return change


def _drop(where: Callable[[Doc], Doc], key: str) -> Callable[[Doc], None]:
    def change(d: Doc) -> None:
        del where(d)[key]

    return change


MUTATIONS: list[tuple[str, Callable[[Doc], None], str, str, bool]] = [
    # (name, change, field, message fragment, the schema refuses it too)
    ("schema", _set(lambda d: d, "schema", "attackmap.report/v1"), "schema", "not an", True),
    ("missing", _drop(lambda d: d, "files"), "files", "missing", True),
    ("unknown key", _set(lambda d: d, "extra", 1), "extra", "unknown key", True),
    (
        "entry",
        _set(_first_path, "entry", "internet"),
        "workloads[0].techniques[0].paths[0].entry",
        "'internet' is not one of",
        True,
    ),
    (
        "step ref type",
        _set(lambda d: _first_path(d)["steps"][0], "ref", "0"),
        "workloads[0].techniques[0].paths[0].steps[0].ref",
        "expected an integer, got a string",
        True,
    ),
    (
        "step ref range",
        _set(lambda d: _first_path(d)["steps"][0], "ref", 10**6),
        "workloads[0].techniques[0].paths[0].steps[0].ref",
        "refers to steps[1000000]",
        False,
    ),
    (
        "step id",
        _set(lambda d: _first_path(d)["steps"][0], "id", "no-such-step"),
        "workloads[0].techniques[0].paths[0].steps[0].id",
        "names step 'no-such-step'",
        False,
    ),
    (
        "step item",
        lambda d: _first_path(d)["steps"].__setitem__(0, 3),
        "workloads[0].techniques[0].paths[0].steps[0]",
        "expected an object, got an integer",
        True,
    ),
    (
        "step facts",
        _set(lambda d: d["steps"][0], "facts", [0, 10**6]),
        "steps[0].facts[1]",
        "refers to facts[1000000]",
        False,
    ),
    (
        "no paths",
        _set(lambda d: d["workloads"][0]["techniques"][0], "paths", []),
        "workloads[0].techniques[0].paths",
        "at least 1",
        True,
    ),
    (
        "technique id",
        _set(lambda d: d["workloads"][0]["techniques"][0], "id", "X1"),
        "workloads[0].techniques[0].id",
        "does not match",
        True,
    ),
    (
        "fact evidence",
        _set(lambda d: d["facts"][0], "evidence", -1),
        "facts[0].evidence",
        "at least 0",
        True,
    ),
    (
        "line",
        _set(lambda d: d["evidence"][0], "line", 0),
        "evidence[0].line",
        "at least 1",
        True,
    ),
    (
        "catalogue",
        _set(lambda d: d["catalogue"], "exploit-cluster-service", {"technique": "T1190"}),
        'catalogue["exploit-cluster-service"].title',
        "missing",
        True,
    ),
    (
        "broken_by",
        _set(lambda d: d["workloads"][0]["techniques"][0], "broken_by", []),
        "workloads[0].techniques[0].broken_by",
        "the controls breaking every listed path are",
        False,
    ),
    (
        "truncated",
        _set(lambda d: d["workloads"][0]["techniques"][0], "truncated", False),
        "workloads[0].techniques[0].truncated",
        "expected true",
        True,
    ),
    ("warnings", _set(lambda d: d, "warnings", "x"), "warnings", "expected a list", True),
    (
        "pss level",
        _set(lambda d: d["workloads"][0]["pss"], "lowest_level", "strict"),
        "workloads[0].pss.lowest_level",
        "'strict' is not one of",
        True,
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "message", "schema_refuses"),
    [m[1:] for m in MUTATIONS],
    ids=[m[0] for m in MUTATIONS],
)
def test_a_bad_document_names_the_file_and_the_json_path(
    example: Report,
    change: Callable[[Doc], None],
    field: str,
    message: str,
    schema_refuses: bool,
) -> None:
    document = copy.deepcopy(example.to_dict())
    assert not list(VALIDATOR.iter_errors(document))
    assert document["workloads"][0]["techniques"][0]["broken_by"]  # "broken_by" changes it
    change(document)
    # the schema agrees where it can say (references and consistency are beyond it)
    assert bool(list(VALIDATOR.iter_errors(document))) is schema_refuses
    with pytest.raises(InputError) as bad:
        Report.from_dict(document, path="saved.json")
    assert bad.value.path == "saved.json"
    assert bad.value.field == field
    assert message in bad.value.message
    assert bad.value.diagnostics().startswith("error: saved.json: ")


def test_text_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    saved.write_text('{\n  "schema": "attackmap.report/v2",\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON report") as bad:
        load_report(saved)
    assert (bad.value.path, bad.value.line) == (str(saved), 3)
    with pytest.raises(InputError, match="cannot read the report"):
        load_report(tmp_path / "missing.json")
    with pytest.raises(InputError, match="expected an object, got a list"):
        Report.from_json("[]")
    with pytest.raises(InputError, match="no schema"):
        Report.from_json('{"workloads": []}')
