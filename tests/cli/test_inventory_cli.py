"""``attackmap inventory`` through ``main([...])``: table, JSON shape, determinism, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.cli import main

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: nim-llm}
spec:
  template:
    metadata: {labels: {app: nim}}
    spec:
      hostNetwork: true
      containers:
      - name: nim
        image: nvcr.io/nim/meta/llama3-8b-instruct:1.0.0
        ports: [{containerPort: 8000}]
        env: [{name: NGC_API_KEY, value: nvapi-do-not-print}]
        securityContext: {capabilities: {add: [SYS_ADMIN]}}
        resources: {limits: {nvidia.com/gpu: 1}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
"""
CONTEXT = (
    "apiVersion: attackmap/v1\nkind: ClusterContext\nmetadata: {name: c}\nspec: {appArmor: true}\n"
)


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "d.yaml"
    f.write_text(DEPLOY)
    ctx = tmp_path / "ctx.yaml"
    ctx.write_text(CONTEXT)
    assert (
        main(["inventory", str(f), "--namespace", "nim", "--context", str(ctx), "--format", "json"])
        == 0
    )
    out = capsys.readouterr().out
    data = json.loads(out)
    assert sorted(data) == ["skipped", "warnings", "workloads"]
    (w,) = data["workloads"]
    assert w["ref"] == {
        "kind": "Deployment",
        "namespace": "nim",
        "name": "nim-llm",
        "component": None,
        "origin": None,  # set when two manifests define the workload differently
    }
    assert w["source"]["line"] == 1 and w["exposure"]["level"] == "node"
    assert "SYS_ADMIN" in w["pod"]["containers"][0]["effective_capabilities"]
    assert [s["kind"] for s in data["skipped"]] == ["Widget"]
    assert "nvapi-do-not-print" not in out
    assert main(["inventory", str(f), "--namespace", "nim", "--format", "json"]) == 0
    assert capsys.readouterr().out == out  # deterministic


def test_table_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    f = tmp_path / "d.yaml"
    f.write_text(DEPLOY)
    assert main(["inventory", str(f)]) == 0
    captured = capsys.readouterr()
    assert "Deployment/default/nim-llm" in captured.out and "SYS_ADMIN" in captured.out
    assert "Widget" in captured.err


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(DEPLOY.replace("add: [SYS_ADMIN]", "add: SYS_ADMIN"))
    assert main(["inventory", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:14: spec.template.spec.containers[0].securityContext.capabilities.add" in err


def test_json_is_streamed_with_the_bytes_of_one_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # written one workload at a time, yet byte for byte json.dumps(payload, indent=2,
    # sort_keys=True); with skipped objects, warnings, and an empty section
    from attackmap.cli._inventory import _workload_json, render_json
    from attackmap.model import load

    examples = Path(__file__).resolve().parents[2] / "examples" / "nim"
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: lonely, namespace: nim}\n"
        "spec: {selector: {app: none}, ports: [{port: 80}]}\n"
    )
    for sources in ([examples], [examples, extra], [extra]):
        inv = load(*sources)
        payload = {
            "workloads": [_workload_json(w) for w in inv.workloads],
            "skipped": [s.model_dump(mode="json") for s in inv.skipped],
            "warnings": [x.model_dump(mode="json") for x in inv.warnings],
        }
        expected = json.dumps(payload, indent=2, sort_keys=True, default=sorted) + "\n"
        assert render_json(inv) == expected
        out = tmp_path / "inventory.json"
        assert main(["inventory", "--format", "json", "-o", str(out), *map(str, sources)]) == 0
        assert out.read_text() == expected
    assert '"workloads": []' in expected  # the empty section of the last case
