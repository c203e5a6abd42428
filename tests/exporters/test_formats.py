"""Each format, produced for real NIM manifests and validated against its own standard:
JSON Schema (report v1), the Navigator layer loader, the SARIF 2.1.0 schema, the STIX 2.1
validator, GraphML and DOT structure, well-formed self-contained HTML."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import networkx as nx
import pytest
from exporter_helpers import DEFAULT_MANIFEST, GOALS, REPO_ROOT, analyze_in_repo

from attackmap.attack import load_atlas
from attackmap.exporters import (
    EXPORTERS,
    atlas_layer,
    navigator_layer,
    navigator_layers_per_workload,
    sarif_log,
    stix_bundle,
)
from attackmap.exporters._common import graph_data
from attackmap.graph import Report

SCHEMAS = Path(__file__).parent / "schemas"


def _techniques(report: Report) -> set[str]:
    return {t.technique.id for w in report.workloads for t in w.techniques}


# -- json ------------------------------------------------------------------------------


def test_json_validates_against_published_schema(report: Report) -> None:
    schema = json.loads((REPO_ROOT / "docs/schema/report-v2.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(EXPORTERS["json"].export(report))
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document == report.to_dict()


def test_json_schema_rejects_drift(default_report: Report) -> None:
    schema = json.loads((REPO_ROOT / "docs/schema/report-v2.json").read_text())
    document = default_report.to_dict()
    document["workloads"][0]["techniques"][0]["paths"][0]["steps"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    document = default_report.to_dict()
    step = document["workloads"][0]["techniques"][0]["paths"][0]["steps"][0]
    step["id"] = step["ref"]  # v2 before the fix: the position where v1 had the step id
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    document = default_report.to_dict()
    del document["workloads"][0]["techniques"][0]["paths"][0]["steps"][0]["ref"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    document = default_report.to_dict()
    document["steps"][0]["facts"].append("egress:open")  # a fact inline, not a reference
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


# -- navigator ---------------------------------------------------------------------------


def test_navigator_layer_loads_in_mitreattack(report: Report) -> None:
    from mitreattack.navlayers import Layer

    text = EXPORTERS["navigator"].export(report)
    layer = Layer()
    layer.from_str(text)  # raises on an invalid layer
    loaded = layer.to_dict()
    assert loaded["versions"]["layer"] == "4.5"
    assert len(loaded["techniques"]) == len(json.loads(text)["techniques"])


def test_navigator_layer_shape_and_scores(report: Report) -> None:
    layer = navigator_layer(report)
    assert layer["domain"] == "enterprise-attack"
    assert layer["versions"] == {
        "layer": "4.5",
        "attack": report.attack_version.split(".")[0],
        "navigator": "5.1.0",
    }
    assert layer["filters"] == {"platforms": ["Containers"]}
    meta = {m["name"]: m["value"] for m in layer["metadata"]}
    assert meta["attack_version"] == report.attack_version
    assert meta["generator"].startswith("attackmap ")
    assert layer["legendItems"] and layer["gradient"]["maxValue"] >= 1
    scored = [e for e in layer["techniques"] if "score" in e]
    # one entry per ATT&CK technique and tactic, scored by the number of paths (the ATLAS
    # techniques are in the navigator-atlas layer)
    expected = {
        (t.technique.id, tactic)
        for w in report.workloads
        for t in w.techniques
        if t.technique.framework == "attack"
        for tactic in t.technique.tactics
    }
    assert {(e["techniqueID"], e["tactic"]) for e in scored} == expected
    paths: dict[str, int] = {}
    for w in report.workloads:
        for t in w.techniques:
            paths[t.technique.id] = paths.get(t.technique.id, 0) + len(t.paths)
    for e in scored:
        assert e["score"] == paths[e["techniqueID"]]
        assert e["comment"] and e["links"][0]["url"].startswith("https://attack.mitre.org/")
    # the text is plain UTF-8 JSON (no BOM)
    assert not EXPORTERS["navigator"].export(report).startswith("\ufeff")


def test_navigator_one_layer_per_workload(report: Report) -> None:
    layers = navigator_layers_per_workload(report)
    assert sorted(layers) == sorted(str(w.ref) for w in report.workloads)
    for w in report.workloads:
        ids = {e["techniqueID"] for e in layers[str(w.ref)]["techniques"] if "score" in e}
        assert ids == {t for t in w.technique_ids() if not t.startswith("AML.")}


def test_navigator_atlas_layer(report: Report) -> None:
    """The ATLAS techniques, in the layer shape MITRE's atlas-navigator-data uses (domain
    atlas-atlas, layer 4.3, navigator 4.6.4, ATLAS tactic shortnames), scored like ATT&CK's."""
    layer = atlas_layer(report)
    assert layer["domain"] == "atlas-atlas"
    assert layer["versions"] == {"layer": "4.3", "navigator": "4.6.4"}
    assert "filters" not in layer
    meta = {m["name"]: m["value"] for m in layer["metadata"]}
    assert meta["atlas_data_version"] == report.atlas_version == "5.6.0"
    atlas = {
        (t.technique.id, tactic): len(t.paths)
        for w in report.workloads
        for t in w.techniques
        if t.technique.framework == "atlas"
        for tactic in t.technique.tactics
    }
    assert atlas, "the NIM manifests reach ATLAS techniques"
    scored = {(e["techniqueID"], e["tactic"]): e for e in layer["techniques"] if "score" in e}
    assert set(scored) == set(atlas)
    for key, entry in scored.items():
        assert entry["links"][0]["url"] == f"https://atlas.mitre.org/techniques/{key[0]}"
    tactics = {t.shortname for t in load_atlas().tactics()}
    assert {e["tactic"] for e in layer["techniques"]} <= tactics
    # sub-techniques expand their parent, which is listed under the same tactic
    for tid, tactic in scored:
        if tid.count(".") == 2:
            parent = tid.rpartition(".")[0]
            assert any(
                e["techniqueID"] == parent and e["tactic"] == tactic and e["showSubtechniques"]
                for e in layer["techniques"]
            )
    # mitreattack-python's layer loader accepts ATT&CK domains and ids only, so the entries
    # are held to the keys of the layer format (those MITRE's ATLAS layers use, and ours)
    allowed = {"techniqueID", "tactic", "score", "color", "comment", "enabled", "metadata"}
    allowed |= {"links", "showSubtechniques"}
    assert all(set(e) <= allowed for e in layer["techniques"])
    assert json.loads(EXPORTERS["navigator-atlas"].export(report)) == layer


# -- sarif -------------------------------------------------------------------------------


def test_sarif_validates_against_sarif_2_1_0_schema(report: Report) -> None:
    schema = json.loads((SCHEMAS / "sarif-2.1.0-rtm.5.json").read_text())
    log = json.loads(EXPORTERS["sarif"].export(report))
    jsonschema.Draft4Validator(schema).validate(log)
    assert log["version"] == "2.1.0"


def test_sarif_results_rules_and_locations(report: Report) -> None:
    log = sarif_log(report)
    run = log["runs"][0]
    results = run["results"]
    assert len(results) == sum(len(w.techniques) for w in report.workloads)
    assert {r["properties"]["technique"] for r in results} == _techniques(report)
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    steps = {s.id for w in report.workloads for t in w.techniques for p in t.paths for s in p.steps}
    assert rule_ids == steps
    for rule in run["tool"]["driver"]["rules"]:
        technique = rule["properties"]["tags"][2]
        if technique.startswith("AML."):  # ATLAS: the atlas.mitre.org page, tagged as such
            assert rule["helpUri"] == f"https://atlas.mitre.org/techniques/{technique}"
            assert rule["properties"]["tags"][1] == "mitre-atlas"
            assert f"ATLAS [{technique}]" in rule["help"]["markdown"]
        else:
            assert "attack.mitre.org/techniques/" in rule["helpUri"]
            assert rule["properties"]["tags"][1] == "mitre-attack"
    for r in results:
        assert r["ruleId"] in rule_ids
        expected = "atlas" if r["properties"]["technique"].startswith("AML.") else "attack"
        assert r["properties"]["framework"] == expected
        loc = r["locations"][0]["physicalLocation"]
        uri = loc["artifactLocation"]["uri"]
        path = Path(uri.removeprefix("file://")) if uri.startswith("file://") else REPO_ROOT / uri
        lines = path.read_text().splitlines()
        assert 1 <= loc["region"]["startLine"] <= len(lines)
    # the location is the first fact of the first step of the shortest path
    w = report.workloads[0]
    t = w.techniques[0]
    first = next(f for f in t.paths[0].steps[0].facts if f.path)
    located = next(r for r in results if r["properties"]["technique"] == t.technique.id)
    assert located["locations"][0]["physicalLocation"]["region"]["startLine"] == first.line


# -- stix --------------------------------------------------------------------------------


def test_stix_bundle_is_valid_stix_2_1(report: Report) -> None:
    from stix2validator import ValidationOptions, validate_string

    text = EXPORTERS["stix"].export(report)
    assert validate_string(text, ValidationOptions()).is_valid
    # strict mode too, except the two best practices our design departs from on purpose:
    # deterministic UUIDv5 ids (103: "should be UUIDv4") and ATT&CK links without hashes (302)
    strict = ValidationOptions(strict=True, disabled=["103", "302"])
    assert validate_string(text, strict).is_valid


def test_stix_objects_and_real_attack_ids(report: Report) -> None:
    bundle = stix_bundle(report)
    by_type: dict[str, list[dict[str, object]]] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(str(obj["type"]), []).append(obj)
    assert {o["name"] for o in by_type["infrastructure"]} == {str(w.ref) for w in report.workloads}
    stix_ids = {t.technique.stix_id for w in report.workloads for t in w.techniques}
    assert {o["id"] for o in by_type["attack-pattern"]} == stix_ids
    assert by_type["course-of-action"]
    rels = {(o["relationship_type"]) for o in by_type["relationship"]}
    assert rels == {"related-to", "mitigates"}
    for pattern in by_type["attack-pattern"]:
        (ref,) = pattern["external_references"]
        source = "mitre-atlas" if ref["external_id"].startswith("AML.") else "mitre-attack"
        assert ref["source_name"] == source
        assert {p["kill_chain_name"] for p in pattern["kill_chain_phases"]} == {source}
        host = "atlas.mitre.org" if source == "mitre-atlas" else "attack.mitre.org"
        assert ref["url"].startswith(f"https://{host}/techniques/")
    atlas_refs = {
        r["external_id"]
        for o in by_type["course-of-action"]
        for r in o["external_references"]
        if r["source_name"] == "mitre-atlas"
    }
    assert atlas_refs, "controls carry their ATLAS mitigations"
    assert all(load_atlas().status(m).state == "live" for m in atlas_refs)
    stamps = {o.get("created") for o in bundle["objects"] if "created" in o}
    assert len(stamps) == 1  # one fixed timestamp, never "now"
    ids = [o["id"] for o in bundle["objects"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))


# -- dot / graphml -----------------------------------------------------------------------


def test_graph_paths_lie_on_the_attack_graph(report: Report) -> None:
    data = graph_data(report)
    assert data.on_path <= set(data.nodes)
    assert data.path_edges <= data.edges
    kinds = {a["kind"] for a in data.nodes.values()}
    assert kinds == {"entry", "state", "step", "technique"}
    assert {n[10:] for n in data.nodes if n.startswith("technique:")} >= _techniques(report)


def test_dot_structure(report: Report) -> None:
    text = EXPORTERS["dot"].export(report)
    data = graph_data(report)
    assert text.startswith('digraph "attackmap" {') and text.rstrip().endswith("}")
    node_lines = [ln for ln in text.splitlines() if "[label=" in ln]
    edge_lines = [ln for ln in text.splitlines() if " -> " in ln]
    assert len(node_lines) == len(data.nodes)
    assert len(edge_lines) == len(data.edges)
    assert sum("#cc0000" in ln for ln in edge_lines) == len(data.path_edges)
    # every quoted string is closed (escaped quotes inside labels included)
    for line in node_lines + edge_lines:
        assert len(re.findall(r'(?<!\\)"', line)) % 2 == 0, line


def test_graphml_round_trips_through_networkx(report: Report) -> None:
    text = EXPORTERS["graphml"].export(report)
    graph = nx.read_graphml(io.StringIO(text))
    data = graph_data(report)
    assert set(graph.nodes) == set(data.nodes)
    assert graph.number_of_edges() == len(data.edges)
    marked = {n for n, attrs in graph.nodes(data=True) if attrs["on_path"]}
    assert marked == data.on_path
    frameworks = {
        attrs["label"].split()[0]: attrs["framework"]
        for _, attrs in graph.nodes(data=True)
        if attrs["kind"] == "technique"
    }
    assert frameworks and all(
        fw == ("atlas" if tid.startswith("AML.") else "attack") for tid, fw in frameworks.items()
    )
    assert graph.graph["atlas_version"] == report.atlas_version


# -- html / markdown ---------------------------------------------------------------------


class _Checker(HTMLParser):
    VOID = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and "://" in value:
                self.external.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()


def test_html_is_self_contained_and_well_formed(report: Report) -> None:
    text = EXPORTERS["html"].export(report)
    checker = _Checker()
    checker.feed(text)
    assert checker.stack == []
    assert "script" not in checker.tags and "link" not in checker.tags
    assert checker.external == []
    assert {"style", "details", "summary", "table"} <= checker.tags
    for tid in _techniques(report):
        assert tid in text


def test_markdown_tables(report: Report) -> None:
    text = EXPORTERS["markdown"].export(report)
    for w in report.workloads:
        assert f"## {w.ref}" in text
        for t in w.techniques:
            assert re.search(rf"^\| {re.escape(t.technique.id)} .*\|$", text, re.M)
            if t.technique.framework == "atlas":  # ATLAS tactics say so (names overlap ATT&CK's)
                row = re.search(
                    rf"^\| {re.escape(t.technique.id)} [^|]*\| ([^|]*) \| ([^|]*) \|", text, re.M
                )
                assert row is not None and row.group(2).startswith("ATLAS "), t.technique.id
                assert row.group(1) == t.severity, t.technique.id
    assert f"ATLAS {report.atlas_version}" in text.splitlines()[2]
    assert "## Summary by tactic" in text
    for line in text.splitlines():
        if line.startswith("|"):
            # every table row has the same number of (unescaped) cells as its header
            assert len(re.split(r"(?<!\\)\|", line)) in (5, 7), line


# -- determinism -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_byte_identical_for_identical_input(fmt: str, default_report: Report) -> None:
    again = analyze_in_repo(DEFAULT_MANIFEST, goals=GOALS)
    assert EXPORTERS[fmt].export(default_report) == EXPORTERS[fmt].export(again)


# -- an input without workloads (issue 17) ------------------------------------------------

RBAC_ONLY = "tests/exporters/data/rbac-only.yaml"
NOTHING = "no workloads in the input: nothing to analyse"


@pytest.fixture(scope="module")
def rbac_only_report() -> Report:
    return analyze_in_repo(RBAC_ONLY)


def test_rbac_only_input_is_analysed_with_a_warning(rbac_only_report: Report) -> None:
    assert rbac_only_report.workloads == ()
    (warning,) = rbac_only_report.warnings
    assert warning.startswith(NOTHING)
    assert "1 Role, 1 RoleBinding, 1 ServiceAccount" in warning


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_rbac_only_warning_is_in_every_format(fmt: str, rbac_only_report: Report) -> None:
    assert NOTHING in EXPORTERS[fmt].export(rbac_only_report)


def test_rbac_only_formats_stay_valid(rbac_only_report: Report) -> None:
    from mitreattack.navlayers import Layer
    from stix2validator import ValidationOptions, validate_string

    schema = json.loads((REPO_ROOT / "docs/schema/report-v2.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(rbac_only_report.to_dict())
    sarif = json.loads(EXPORTERS["sarif"].export(rbac_only_report))
    sarif_schema = json.loads((SCHEMAS / "sarif-2.1.0-rtm.5.json").read_text())
    jsonschema.Draft4Validator(sarif_schema).validate(sarif)
    (note,) = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and note["message"]["text"].startswith(NOTHING)
    stix = EXPORTERS["stix"].export(rbac_only_report)
    strict = ValidationOptions(strict=True, disabled=["103", "302"])
    assert validate_string(stix, strict).is_valid
    Layer().from_str(EXPORTERS["navigator"].export(rbac_only_report))
    graph = nx.parse_graphml(EXPORTERS["graphml"].export(rbac_only_report))
    assert graph.graph["warnings"].startswith(NOTHING)
