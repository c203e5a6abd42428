"""The JSON report: streamed, byte-identical to ``json.dumps`` of ``to_dict()``, compact or pretty.

The reference is always the standard library: compact is ``json.dumps(report.to_dict(),
sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\\n"``, pretty the same with
``indent=2``. Checked on every manifest under tests/graph/manifests, the NIM examples and a
generated multi-namespace cluster (benchmarks/synth.py).
"""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attackmap
from attackmap.exporters import EXPORTERS
from attackmap.exporters._json import JsonExporter, dumps
from attackmap.graph import Report

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
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from synth import generate  # type: ignore[import-not-found]  # a benchmarks script, not a package
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    out = tmp_path_factory.mktemp("synth")
    generate(out, 40, seed=3)
    return attackmap.analyze(out)


def test_a_generated_cluster_is_byte_identical(synthetic: Report) -> None:
    namespaces = {w.ref.namespace for w in synthetic.workloads}
    assert len(synthetic.workloads) >= 40 and len(namespaces) > 3
    assert sum(len(w.techniques) for w in synthetic.workloads) > 100
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
    # the head up to "workloads": [, one write per workload, the closing brackets
    assert len(sink.writes) == len(synthetic.workloads) + 2
    head, *items, tail = sink.writes
    assert head.rstrip().endswith('"workloads": [' if pretty else '"workloads":[')
    assert tail == ("\n  ]\n}\n" if pretty else "]}\n")
    for workload, item in zip(synthetic.workloads, items, strict=True):
        assert item.count('"ref":') == 1 and json.dumps(workload.ref.name) in item
    assert "".join(sink.writes) == reference(synthetic, pretty=pretty)


def test_a_report_without_workloads(tmp_path: Path) -> None:
    only_a_service = tmp_path / "svc.yaml"
    only_a_service.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
    report = attackmap.analyze(str(only_a_service))
    assert report.workloads == ()
    assert_byte_identical(report)
    assert json.loads(report.to_json())["workloads"] == []


def test_fact_dicts_are_the_models_dump(synthetic: Report) -> None:
    # to_dict builds fact dicts by hand (speed); they must stay the model's own dump
    doc = synthetic.to_dict()
    for w, wd in zip(synthetic.workloads, doc["workloads"], strict=True):
        for t, td in zip(w.techniques, wd["techniques"], strict=True):
            for p, pd in zip(t.paths, td["paths"], strict=True):
                for s, sd in zip(p.steps, pd["steps"], strict=True):
                    assert sd["facts"] == [f.model_dump(mode="json") for f in s.facts]


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


def test_to_dict_hands_out_no_shared_dicts(synthetic: Report) -> None:
    # write_json builds each step once per workload (shared=True); to_dict must not, or a
    # caller editing one step of its document would edit every path through that step
    from attackmap.graph._report import workload_document

    for w in synthetic.workloads:
        uses = [s for t in w.techniques for p in t.paths for s in p.steps]
        if len(uses) > len({id(s) for s in uses}):
            break
    else:
        pytest.fail("no workload with a step shared by two paths")
    for shared in (False, True):
        doc = workload_document(w, shared=shared)
        dicts = [s for t in doc["techniques"] for p in t["paths"] for s in p["steps"]]
        distinct = len({id(d) for d in dicts})
        if shared:
            assert distinct < len(dicts)
        else:
            assert distinct == len(dicts)
        assert doc == workload_document(w)
