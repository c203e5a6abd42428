"""``analyze --fail-on SEVERITY``, and the pre-commit hook's command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from attackmap.cli import main

REPO = Path(__file__).resolve().parents[2]
NIM = str(REPO / "examples" / "nim" / "nim-deploy-default.yaml")


def _privileged(tmp_path: Path) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": True}}]
        },
    }
    path = tmp_path / "privileged.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("high", 1), ("HIGH", 1), ("medium", 1), ("critical", 0), ("T1611", 0), ("T1190", 1)],
)
def test_nim_default(fail_on: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    # The NIM Helm default reaches T1190 (initial-access: high) but no critical technique.
    assert main(["analyze", NIM, "--format", "json", "--fail-on", fail_on]) == code


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [
        ("AML.T0018.000", 1),  # poisoning: the chart's model store is writable
        ("aml.t0018", 1),  # a parent matches its sub-techniques, in any case
        ("AML.T0040", 1),  # any pod reaches the inference API
        ("ai-model-access", 1),  # an ATLAS-only tactic
        ("AML.T0011.000", 0),  # NIM runs no code from the model store
    ],
)
def test_nim_default_atlas(fail_on: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json", "--fail-on", fail_on]) == code


def test_unknown_atlas_id_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json", "--fail-on", "AML.T0999"]) == 2
    assert "unknown ATLAS technique AML.T0999" in capsys.readouterr().err


def test_critical_when_the_kernel_is_assumed_exploitable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["analyze", NIM, "--format", "json", "--fail-on", "critical"]
    assert main([*args, "--assume-kernel-exploit"]) == 1  # T1068


def test_unknown_word_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json", "--fail-on", "severe"]) == 2
    assert "nor a severity" in capsys.readouterr().err


def test_pre_commit_hook_runs_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "attackmap-analyze" and hook["types"] == ["yaml"]
    argv = shlex.split(hook["entry"])
    assert argv[0] == "attackmap"
    assert main([*argv[1:], NIM]) == 0
    assert main([*argv[1:], NIM, _privileged(tmp_path)]) == 1


# -- issue 20 items 3 and 4: what tripped --fail-on, severity and broken-by in the table ---


def test_fail_on_names_what_tripped_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json", "--fail-on", "high"]) == 1
    err = capsys.readouterr().err
    assert (
        "fail-on: StatefulSet/default/my-nim: T1552.001 Credentials In Files "
        "(severity high; matched by severity high or above)" in err
    )
    assert "T1530 " not in err  # medium: below the threshold
    assert re.search(r"^fail-on: \d+ finding\(s\) match --fail-on high$", err, re.M)


def test_fail_on_technique_and_tactic_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json", "--fail-on", "T1552,impact"]) == 1
    err = capsys.readouterr().err
    assert "T1552.001 Credentials In Files (severity high; matched by T1552)" in err
    assert "T1485 Data Destruction (severity medium; matched by tactic impact)" in err


def test_nothing_tripped_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", NIM, "--format", "json", "--fail-on", "critical"]) == 0
    assert "fail-on" not in capsys.readouterr().err


def _row(lines: list[str], technique: str) -> list[str]:
    (row,) = [x for x in lines if f"\t{technique} " in x]
    return row.split("\t")


def test_table_severity_and_controls_of_every_path(tmp_path: Path) -> None:
    out = tmp_path / "report.tsv"
    assert main(["analyze", NIM, "--format", "table", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert header[2] == "severity" and header[-1] == "broken on every path by"
    row = _row(lines, "T1552.001")
    assert row[2] == "high"
    # isolate-ingress breaks the shortest path only: the image path stays open
    assert row[-1] == "remove-credential-env"
    assert _row(lines, "T1069")[2] == "info"


def test_terminal_table_controls_of_every_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["analyze", NIM]) == 0
    (row,) = [x for x in capsys.readouterr().out.splitlines() if " T1552.001 " in x]
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[2] == "high"
    assert cells[-1] == "remove-credential-env"


def test_ci_page_shows_what_fail_on_prints(capsys: pytest.CaptureFixture[str]) -> None:
    page = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    assert main(["analyze", NIM, "--format", "json", "--fail-on", "high"]) == 1
    err = capsys.readouterr().err.splitlines()
    shown = [x for x in page.splitlines() if x.startswith("fail-on: ")]
    assert shown and all(x in err for x in shown), shown
