"""``attackmap analyze`` through ``main([...])``: formats, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.cli import main

REPO = Path(__file__).resolve().parents[2]
NIM = str(REPO / "examples" / "nim" / "nim-deploy-default.yaml")


def test_json_names_the_workload_and_techniques(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (workload,) = report["workloads"]
    assert workload["ref"]["kind"] == "StatefulSet"
    ids = {t["id"] for t in workload["techniques"]}
    assert {"T1190", "T1528", "T1552.001", "T1496.001", "T1499"} <= ids
    assert "T1611" not in ids


def test_table_lists_the_shortest_path_and_controls(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line
    assert main(["analyze", NIM, "--entry", "cluster"]) == 0
    out = capsys.readouterr().out
    assert "T1552.001" in out and "env-credentials" in out and "remove-credential-env" in out


def test_goal_prints_the_minimal_controls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--goal", "T1528", "--entry", "image"]) == 0
    assert "minimal controls for T1528: disable-token-automount@" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [
        ("T1552.001", 1),  # reachable
        ("T1552", 1),  # a parent matches its sub-techniques
        ("t1611", 0),  # not reachable; case does not matter
        ("credential-access", 1),  # a tactic
        ("privilege-escalation", 0),
        ("high", 1),  # a severity and above
    ],
)
def test_fail_on(fail_on: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--fail-on", fail_on, "-o", "/dev/null"]) == code


@pytest.mark.parametrize("typo", ["T1161", "privilege-escalaton", "bogus"])
def test_fail_on_typos_are_refused_before_analysis(
    typo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", NIM, "--fail-on", typo]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing analysed, nothing printed
    assert "error:" in captured.err and "Traceback" not in captured.err


def test_quiet_may_follow_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == "attackmap.report/v2"


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert main(["analyze", NIM, "--format", "json", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["attack"]["version"]


@pytest.mark.parametrize("content", ["", "# only a comment\n", "---\n---\n"])
def test_empty_input_is_an_error(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text(content)
    assert main(["analyze", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "empty.yaml" in err and "no Kubernetes documents" in err


def test_empty_directory_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("not a manifest")
    assert main(["analyze", str(tmp_path)]) == 2
    assert "no Kubernetes documents" in capsys.readouterr().err


def test_missing_seccomp_root_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", NIM, "--seccomp-root", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_bad_yaml_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: nope\n")
    assert main(["analyze", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5: spec.containers:" in err and "Traceback" not in err


def test_unknown_entry_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--entry", "satellite"]) == 2
    assert "unknown entry point" in capsys.readouterr().err


def test_no_paths_from_the_chosen_entry_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--entry", "external", "-o", "/dev/null"]) == 0
    assert "no paths from the entry points external" in capsys.readouterr().err


RBAC_ONLY = str(REPO / "tests" / "exporters" / "data" / "rbac-only.yaml")


@pytest.mark.parametrize(
    "fmt", ["table", "json", "sarif", "html", "markdown", "navigator", "stix", "dot", "graphml"]
)
def test_rbac_only_input_warns_in_the_report(
    fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Roles and bindings without a workload: documents were found, so this is not the
    empty-input error (exit 2); the analysis runs, finds nothing, exits 0 and says why in
    the report itself, not only on stderr (issue 17)."""
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["analyze", RBAC_ONLY, "--format", fmt]) == 0
    captured = capsys.readouterr()
    assert "no workloads in the input: nothing to analyse" in captured.out
    assert "nothing to analyse" in captured.err  # and still said on stderr


def test_rbac_only_table_file_carries_the_warning(tmp_path: Path) -> None:
    out = tmp_path / "report.tsv"
    assert main(["analyze", RBAC_ONLY, "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("workload\t")
    assert lines[1].startswith("# warning: no workloads in the input: nothing to analyse")


def test_the_no_workloads_warning_names_the_network_policy_kinds_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the list of kinds was written by hand and missed the CNI and Istio kinds added with it
    f = tmp_path / "cilium.yaml"
    f.write_text(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c, namespace: nim}\n"
        "spec: {endpointSelector: {}, ingress: [{fromEntities: [cluster]}]}\n"
    )
    assert main(["analyze", str(f), "--format", "json"]) == 0
    assert "read as context only: 1 CiliumNetworkPolicy" in capsys.readouterr().out
