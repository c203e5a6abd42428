"""``analyze --fail-on SEVERITY``, and the pre-commit hook's command."""

from __future__ import annotations

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
