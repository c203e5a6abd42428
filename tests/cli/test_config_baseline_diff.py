"""``.attackmap.yaml``, accepted findings, ``--baseline`` and ``attackmap diff``.

Before: no config file (every CI job repeated its flags), no way to accept a finding
with a reason, no baseline (a gate on an existing deployment fails on everything known),
no diff of two reports for a pull-request comment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.cli import main

NIM = str(Path(__file__).resolve().parents[2] / "examples" / "nim" / "nim-deploy-default.yaml")
WORKLOAD = "StatefulSet/default/my-nim"
PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: ml}
spec:
  containers:
    - name: c
      image: nvcr.io/nvidia/cuda:12.4.0-base-ubuntu22.04
      securityContext: {privileged: true}
"""


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> dict:
    assert main(["-q", *argv, "--format", "json"]) == code, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _techniques(report: dict, workload: str = WORKLOAD) -> set[str]:
    for w in report["workloads"]:
        ref = w["ref"]
        if f"{ref['kind']}/{ref['namespace']}/{ref['name']}" == workload:
            return {t["id"] for t in w["techniques"]}
    raise AssertionError(workload)


def test_the_config_file_is_found_upward_and_flags_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".attackmap.yaml").write_text("entries: [image]\nfail_on: [T1204]\n")
    sub = tmp_path / "deploy" / "nim"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    report = _json(capsys, ["analyze", NIM], code=1)  # T1204.003 is reachable from an image
    assert report["entries"] == ["image"]
    assert report == _json(capsys, ["analyze", NIM, "--entry", "image"], code=1)
    report = _json(capsys, ["analyze", NIM, "--entry", "cluster", "--fail-on", "T1611"])
    assert report["entries"] == ["cluster"] and "T1204.003" not in _techniques(report)


def test_a_bad_config_names_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "am.yaml"
    config.write_text("accept:\n  - finding: T1611@Pod/ml/debug\n    reasn: typo\n")
    assert main(["analyze", NIM, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"error: {config}:3: accept[0].reasn:" in err and "Traceback" not in err
    config.write_text("accept:\n  - finding: T1611 on debug\n    reason: r\n")
    assert main(["analyze", NIM, "--config", str(config)]) == 2
    assert "expected TECHNIQUE@Kind/namespace/name" in capsys.readouterr().err


def test_an_accepted_finding_is_left_out_with_its_reason_and_an_expired_one_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "debug.yaml"
    manifest.write_text(PRIVILEGED)
    config = tmp_path / "am.yaml"
    config.write_text(
        "fail_on: [T1611]\naccept:\n"
        "  - {finding: T1611@Pod/ml/debug, reason: a lab node, expires: 2999-12-31}\n"
    )
    plain = _json(capsys, ["analyze", str(manifest), "--fail-on", "T1611"], code=1)
    assert "T1611" in _techniques(plain, "Pod/ml/debug")
    report = _json(capsys, ["analyze", str(manifest), "--config", str(config)])  # exit 0
    assert "T1611" not in _techniques(report, "Pod/ml/debug")
    assert (
        "accepted, not shown: T1611@Pod/ml/debug until 2999-12-31: a lab node" in report["warnings"]
    )
    config.write_text(config.read_text().replace("2999-12-31", "2020-01-31"))
    report = _json(capsys, ["analyze", str(manifest), "--config", str(config)], code=1)
    assert "T1611" in _techniques(report, "Pod/ml/debug")  # no longer accepted
    assert main(["-q", "analyze", str(manifest), "--config", str(config), "-o", "/dev/null"]) == 1
    assert "the acceptance of T1611@Pod/ml/debug until 2020-01-31: a lab node has expired" in (
        capsys.readouterr().err
    )


def test_baseline_reports_and_fails_on_only_what_is_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.json"
    assert main(["-q", "analyze", NIM, "--entry", "cluster", "-o", str(old)]) == 0
    known = _techniques(json.loads(old.read_text()))
    argv = ["analyze", NIM, "--baseline", str(old), "--fail-on", "info"]
    report = _json(capsys, argv, code=1)  # the image entry adds T1204.003
    assert _techniques(report) == _techniques(_json(capsys, ["analyze", NIM])) - known
    # and ATLAS's Container Registry (AML.T0010.004): the chart names its image by a tag
    assert _techniques(report) == {"T1204.003", "AML.T0010.004"}
    assert (
        f"baseline {old}: {len(known)} finding(s) it already has are not shown"
        in (report["warnings"])
    )
    same = _json(capsys, ["analyze", NIM, "--entry", "cluster", "--baseline", str(old)])
    assert _techniques(same) == set()


def test_a_baseline_is_read_by_the_keys_every_report_version_keeps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.json"
    minimal = {"workloads": [{"ref": {"kind": "StatefulSet", "namespace": "default",
                                      "name": "my-nim"}, "techniques": [{"id": "T1204.003"}]}]}  # fmt: skip
    old.write_text(json.dumps(minimal))
    assert "T1204.003" not in _techniques(_json(capsys, ["analyze", NIM, "--baseline", str(old)]))
    old.write_text('{"workloads": [{"ref": "x"}]}')
    assert main(["analyze", NIM, "--baseline", str(old)]) == 2
    assert f"error: {old}: workloads[0]: expected ref" in capsys.readouterr().err


def test_diff_lists_techniques_gained_and_lost_per_workload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "debug.yaml"
    manifest.write_text(PRIVILEGED)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    assert main(["-q", "analyze", NIM, "--entry", "cluster", "-o", str(old)]) == 0
    assert main(["-q", "analyze", NIM, str(manifest), "-o", str(new)]) == 0
    gained_pod = _techniques(json.loads(new.read_text()), "Pod/ml/debug")
    assert main(["diff", str(old), str(new), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    by = {w["workload"]: w for w in result["workloads"]}
    assert by[WORKLOAD]["status"] == "changed"
    # the image entry: ATT&CK's malicious image, and ATLAS's Container Registry (image by
    # tag); and the debug pod's foothold opens the NIM's port over the pod network: an
    # exploit of the NIM's service, which happens in the NIM (T1210)
    assert [t["id"] for t in by[WORKLOAD]["gained"]] == ["AML.T0010.004", "T1204.003", "T1210"]
    assert by[WORKLOAD]["lost"] == []
    assert by["Pod/ml/debug"]["status"] == "added"
    assert {t["id"] for t in by["Pod/ml/debug"]["gained"]} == gained_pod
    assert {"id": "T1611", "name": "Escape to Host"} in by["Pod/ml/debug"]["gained"]
    # the other way round, as markdown for a pull-request comment, and as text
    comment = tmp_path / "comment.md"
    assert main(["diff", str(new), str(old), "-o", str(comment), "--fail-on-gained"]) == 0
    text = comment.read_text()
    assert text.startswith(
        f"### attackmap: 0 ATT&CK or ATLAS technique(s) gained, {len(gained_pod) + 3} lost"
    )
    assert "| `Pod/ml/debug` | removed | - | " in text and "T1611 Escape to Host" in text
    assert main(["diff", str(old), str(new), "--fail-on-gained"]) == 1
    out = capsys.readouterr().out
    assert f"{WORKLOAD} (changed)\n  + AML.T0010.004 Container Registry\n" in out
    assert "  + T1204.003 Malicious Image\n" in out
    assert main(["diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out.endswith("no change in reachable techniques\n")
