"""Lists as the API and kubectl write them: every ``*List`` kind is read, nested ones too.

Each file under ``lists/`` states the workloads it holds, with the line of each::

    # expect-workloads: Pod/nim/debug:10 Pod/nim/web:25

(sorted as ``Inventory.workloads`` is). Files of Lists that are truly malformed (an item
of another kind in a typed list, ``items`` that is not a list, a nested item that is not
a mapping or has a wrong type) are in ``corpus/``, refused with their line and field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from attackmap.cli import main
from attackmap.model import load, read_documents
from attackmap.model._yaml import RawDocument

LISTS = Path(__file__).parent / "lists"
FILES = sorted(LISTS.glob("*.yaml"))


def _expected(path: Path) -> list[str]:
    m = re.search(r"^# expect-workloads: (.*)$", path.read_text(), re.MULTILINE)
    assert m, f"{path.name} states no expect-workloads"
    return m[1].split()


def test_the_lists_are_there() -> None:
    assert {p.name for p in FILES} >= {
        "podlist-privileged.yaml",
        "deploymentlist.yaml",
        "nested-lists.yaml",
    }


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_list_kind_is_read_with_item_lines(path: Path) -> None:
    expected = _expected(path)
    for inventory in (load(path), load(*read_documents(path))):
        assert [f"{w.ref}:{w.source.line}" for w in inventory.workloads] == expected
        assert inventory.skipped == ()


def test_a_privileged_pod_in_a_raw_api_podlist_is_analysed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = LISTS / "podlist-privileged.yaml"
    assert main(["analyze", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    techniques = {w["ref"]["name"]: {t["id"] for t in w["techniques"]} for w in report["workloads"]}
    assert "T1611" in techniques["debug"]  # escape to host: privileged, hostPID, hostPath /
    assert "T1611" not in techniques["web"]
    assert report["skipped"] == []


def test_items_inherit_the_typed_lists_api_version() -> None:
    inventory = load(LISTS / "deploymentlist.yaml")
    assert {w.ref.kind for w in inventory.workloads} == {"Deployment"}
    # a typed list of an unknown group is read, and its items are skipped as that group's
    widgets = {
        "apiVersion": "example.com/v1",
        "kind": "WidgetList",
        "items": [{"metadata": {"name": "w"}}],
    }
    (skipped,) = load(widgets).skipped
    assert (skipped.kind, skipped.api_version, skipped.name) == ("Widget", "example.com/v1", "w")


def test_a_kind_ending_in_list_without_items_is_an_object_of_its_own() -> None:
    crd = {"apiVersion": "example.com/v1", "kind": "AllowList", "metadata": {"name": "a"}}
    (skipped,) = load(crd).skipped
    assert skipped.reason == "kind AllowList is not analysed by attackmap"


def test_deeply_nested_lists_are_read_without_recursion() -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bottom", "namespace": "nim"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    doc = pod
    for _ in range(5000):  # deeper than the interpreter's recursion limit
        doc = {"apiVersion": "v1", "kind": "List", "items": [doc]}
    inventory = load(RawDocument(doc, "<object>", 0, None, None, None))
    assert [str(w.ref) for w in inventory.workloads] == ["Pod/nim/bottom"]


def test_harden_patches_the_items_of_a_typed_list(capsys: pytest.CaptureFixture[str]) -> None:
    # the patcher opened only `kind: List`: a PodList's items (without kind) were not found,
    # "the manifest has no pod template to patch", exit 2
    podlist = Path(__file__).parent / "lists" / "podlist-privileged.yaml"
    code = main(["harden", str(podlist), "--goal", "T1611"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err  # 1: a goal is blocked, not an input error
    assert "no pod template" not in err and "Traceback" not in err
    assert "kind: PodList" in out
    # the privileged item was hardened in place
    assert "privileged: true" not in out and "hostPath" not in out
