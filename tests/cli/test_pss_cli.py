"""``attackmap pss`` through ``main([...])``: verdicts, JSON shape and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.cli import main

PRIVILEGED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: nim-llm, namespace: nim}
spec:
  template:
    spec:
      containers:
      - name: nim
        image: nvcr.io/nim/meta/llama3-8b-instruct:1.0.0
        securityContext: {privileged: true}
"""

RESTRICTED = """\
apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: nim}
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: x
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_violation_exits_1_with_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "d.yaml", PRIVILEGED)
    assert main(["pss", path, "--level", "baseline", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    [workload] = doc["workloads"]
    assert workload["ref"] == {"kind": "Deployment", "namespace": "nim", "name": "nim-llm"}
    assert (workload["level"], workload["version"], workload["allowed"]) == (
        "baseline", "latest", False,
    )  # fmt: skip
    assert workload["violations"] == [
        {
            "check": "privileged",
            "reason": "privileged",
            "detail": 'container "nim" must not set securityContext.privileged=true',
            "containers": ["nim"],
        }
    ]


def test_clean_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "p.yaml", RESTRICTED)
    assert main(["pss", path, "--version", "v1.29"]) == 0
    out = capsys.readouterr().out
    assert "Pod/nim/ok" in out and "pass" in out


def test_json_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.yaml", PRIVILEGED)
    write(tmp_path, "b.yaml", RESTRICTED)
    main(["pss", str(tmp_path), "--format", "json"])
    first = capsys.readouterr().out
    main(["pss", str(tmp_path), "--format", "json"])
    assert capsys.readouterr().out == first
    kinds = [w["ref"]["kind"] for w in json.loads(first)["workloads"]]
    assert kinds == sorted(kinds)


@pytest.mark.parametrize("args", [["--version", "1.29"], ["--level", "strict"]])
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    assert main(["pss", write(tmp_path, "p.yaml", RESTRICTED), *args]) == 2


def test_bad_manifest_exits_2(tmp_path: Path) -> None:
    bad = PRIVILEGED.replace("privileged: true", "privileged: 'yes'")
    assert main(["pss", write(tmp_path, "bad.yaml", bad)]) == 2
