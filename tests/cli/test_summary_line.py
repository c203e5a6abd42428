"""The table ends with one line a reader (or a CI log) takes in at once: how many workloads,
how many techniques, the highest severity (issue 20, item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

import attackmap
from attackmap.cli import main

NIM = Path(__file__).resolve().parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"
PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: ml}
spec:
  containers: [{name: c, image: cuda, securityContext: {privileged: true}}]
"""


def _last_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    main(argv)
    return capsys.readouterr().out.rstrip("\n").splitlines()[-1]


def test_the_table_ends_with_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = len(attackmap.analyze(NIM).workloads[0].techniques)
    # mappings/severity.yaml: credential-access (T1552.001, T1528) is high, nothing critical
    assert _last_line(capsys, ["analyze", str(NIM)]) == (
        f"1 workload, {found} technique(s) reachable, highest severity: high"
    )
    pod = tmp_path / "pod.yaml"
    pod.write_text(PRIVILEGED)
    # T1611 (escape to host) is critical; the two workloads reach some of the same
    # techniques, so the number of distinct ones is given too
    line = _last_line(capsys, ["analyze", str(NIM), str(pod)])
    assert line.startswith("2 workloads, ") and line.endswith("highest severity: critical")
    assert "distinct)" in line
    empty = tmp_path / "sa.yaml"
    empty.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n")
    assert _last_line(capsys, ["analyze", str(empty)]) == "0 workloads, no technique reachable"
