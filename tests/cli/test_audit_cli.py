"""``attackmap audit`` through ``attackmap.cli.main``: formats, exit codes, bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from attackmap.cli import main

DATA = Path(__file__).resolve().parents[1] / "audit" / "data"
CLUSTER = DATA / "cluster.jsonl"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["audit", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]  # JSON object


def test_sample_json_parses_every_violation_to_its_check(
    shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from attackmap.pss import CHECKS

    reasons = {c.id: set(c.reasons) for c in CHECKS}
    out = run_json(capsys, str(shared_dir / "reference" / "audit-sample.jsonl"))
    workloads = out["summary"]["workloads"]  # type: ignore[index]  # JSON data
    violations = [v for w in workloads for v in w["violations"]]
    # Deployment: 4 distinct audit violations (lines 1 and 2 share two); debug pod: 7 audit
    # violations and the 3 checks its enforce-mode denial names
    assert len(violations) == 4 + 7 + 3
    assert all(v["reason"] in reasons[v["check"]] for v in violations)
    by_ref = {w["ref"]: w for w in workloads}
    denied = [
        v["check"] for v in by_ref["Pod/nim/nim-debug"]["violations"] if v["mode"] == "enforce"
    ]
    assert denied == ["hostNamespaces", "hostPathVolumes", "privileged"]
    assert out["read"]["events"] == 3 and out["read"]["bad_lines"] == 0  # type: ignore[index]


def test_own_fixture_json(capsys: pytest.CaptureFixture[str]) -> None:
    from attackmap.pss import CHECKS

    reasons = {c.id: set(c.reasons) for c in CHECKS}
    out = run_json(capsys, str(CLUSTER))
    summary = out["summary"]
    violations = [v for w in summary["workloads"] for v in w["violations"]]  # type: ignore[index]
    assert violations and all(v["reason"] in reasons[v["check"]] for v in violations)
    assert "unparsed" not in {v["check"] for v in violations}
    techniques = {t["technique"] for t in summary["techniques"]}  # type: ignore[index]
    assert techniques == {"T1053.007", "T1070", "T1098.006", "T1552.007", "T1572", "T1609", "T1610"}
    assert out["read"]["skipped_stages"] == {"RequestReceived": 1, "ResponseStarted": 1}  # type: ignore[index]


def test_json_is_byte_identical(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(CLUSTER), "--format", "json"]) == 0
    first = capsys.readouterr().out
    assert main(["audit", str(CLUSTER), "--format", "json"]) == 0
    assert capsys.readouterr().out == first


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(CLUSTER)]) == 0
    out = capsys.readouterr().out
    for text in ("Workloads", "Principals", "ATT&CK techniques evidenced", "T1609", "mallory"):
        assert text in out


def test_rbac_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "roles.yaml"
    assert main(["audit", str(CLUSTER), "--format", "rbac", "-o", str(target)]) == 0
    docs = list(yaml.safe_load_all(target.read_text()))
    kinds = {d["kind"] for d in docs}
    assert kinds == {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Role", "attackmap:nim:nim-llm") in names


def test_bad_lines_are_reported_on_stderr_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "audit.log.gz"
    log.write_bytes(gzip.compress(CLUSTER.read_bytes() + b"{truncated\n\x00\xff garbage\n"))
    assert main(["audit", str(log), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["read"]["bad_lines"] == 2
    assert "2 of 25 line(s) were not audit events" in captured.err
    assert f"{log}:24" in captured.err


def test_unopenable_log_exits_2_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.log"
    assert main(["audit", str(CLUSTER), str(missing)]) == 2
    captured = capsys.readouterr()
    assert str(missing) in captured.err and captured.out == ""


def test_only_garbage_exits_2_empty_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "junk.log").write_bytes(b"hello\nworld\n")
    assert main(["audit", str(tmp_path / "junk.log")]) == 2
    assert "no audit events could be read" in capsys.readouterr().err
    (tmp_path / "empty.log").write_bytes(b"")
    assert main(["audit", str(tmp_path / "empty.log"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["events"] == 0


def test_workload_maps_service_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, str(CLUSTER), "--workload", str(DATA / "workloads.yaml"))
    principals = {p["principal"]: p for p in out["summary"]["principals"]}  # type: ignore[index]
    assert principals["system:serviceaccount:monitoring:prometheus"]["workloads"] == [
        "Deployment/monitoring/prometheus"
    ]
    assert principals["system:serviceaccount:nim:nim-llm"]["workloads"] == [
        "Deployment/nim/llama3-8b-instruct",
        "Deployment/nim/nim-privileged",
    ]
