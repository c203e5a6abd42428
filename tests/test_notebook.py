"""The example notebook (docs/examples/nim-threat-model.ipynb) runs top to bottom and its
outputs agree with the library: executed with nbclient on a local ipykernel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import attackmap
from attackmap import pss
from attackmap.exporters import EXPORTERS

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO_ROOT / "docs" / "examples" / "nim-threat-model.ipynb"
MANIFEST = REPO_ROOT / "examples" / "nim" / "nim-deploy-default.yaml"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    nbformat = pytest.importorskip("nbformat", reason="dev extra: pip install -e '.[dev]'")
    nbclient = pytest.importorskip("nbclient", reason="dev extra: pip install -e '.[dev]'")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        # run outside the source tree: the notebook finds its input through the package
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("elsewhere"))}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    return nb


def _streams(nb: Any) -> list[str]:
    return [
        o["text"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.get("name") == "stdout"
    ]


def _html(nb: Any) -> list[str]:
    return [
        o["data"]["text/html"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "data" in o and "text/html" in o["data"]
    ]


def _last_printed(nb: Any) -> str:
    """The standard output of the last code cell that printed: the kernel may send one
    print in several stream messages (it did under load), so they are joined."""
    for c in reversed(nb.cells):
        if c.cell_type != "code":
            continue
        text = "".join(
            o["text"] for o in c.outputs if o.output_type == "stream" and o.get("name") == "stdout"
        )
        if text:
            return text
    raise AssertionError("no cell printed")


def test_notebook_summary_agrees_with_the_library(executed: Any) -> None:
    summary = json.loads(_last_printed(executed))
    goals = set(summary["goals"])
    report = attackmap.analyze(str(MANIFEST), goals=summary["goals"])
    w = report.workloads[0]
    assert summary["workload"] == str(w.ref)
    assert summary["lowest_level"] == pss.lowest_level(attackmap.load(str(MANIFEST)).workloads[0])
    techniques = {k: set(v) for k, v in summary["techniques"].items()}
    assert techniques["as deployed"] == set(w.technique_ids())
    # ATT&CK and ATLAS side by side: the default's writable store and open API reach both
    atlas = {t.technique.id for t in w.techniques if t.technique.framework == "atlas"}
    assert summary["atlas"] == sorted(atlas)
    assert {"AML.T0040", "AML.T0018.000"} <= atlas < set(w.technique_ids())
    assert w.pss is not None
    assert summary["restricted_controls"] == list(w.pss.controls)
    restricted = report.apply(summary["restricted_controls"]).workloads[0]
    assert techniques["restricted"] == set(restricted.technique_ids())
    assert summary["minimal_controls"] == list(w.minimal_controls[0].controls)
    # hardening reaches its goal and never adds a technique
    assert techniques["hardened"] & goals == set()
    assert techniques["hardened"] <= techniques["restricted"] <= techniques["as deployed"]
    assert techniques["as deployed"] & goals  # the default does expose some goal


def test_notebook_renders_the_report_as_html(executed: Any) -> None:
    html = _html(executed)
    assert len(html) == 2  # the report, the hardened workload
    assert "Reachable techniques by tactic" in html[0] and "<details>" in html[0]
    assert "<script" not in "".join(html)


def test_notebook_lists_every_export_format(executed: Any) -> None:
    text = "".join(_streams(executed))
    for name in EXPORTERS:
        assert f"\n{name} " in text or text.startswith(f"{name} ")
