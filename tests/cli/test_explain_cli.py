"""``attackmap explain``: techniques, steps and controls from the catalogue."""

from __future__ import annotations

import pytest

from attackmap._docsgen import step_breakers
from attackmap.attack import load_attack
from attackmap.cli import main
from attackmap.graph import load_catalogue


def _explain(capsys: pytest.CaptureFixture[str], ident: str) -> str:
    assert main(["explain", ident]) == 0
    return capsys.readouterr().out


def test_technique_lists_its_steps_controls_and_mitigations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    kb = load_attack()
    cat = load_catalogue(kb)
    table = step_breakers(cat)
    out = _explain(capsys, "t1611")
    assert out.startswith("T1611 Escape to Host")
    assert "severity: critical" in out
    for step in cat.steps_for_technique("T1611"):
        assert f"- {step.id}: {step.title}" in out
        assert f"broken by: {', '.join(table[step.id])}" in out or not table[step.id]
    for m in kb.mitigations_for("T1611"):
        assert f"- {m.id} {m.name}" in out
    assert "https://attack.mitre.org/techniques/T1611/" in out


def test_parent_technique_includes_sub_technique_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _explain(capsys, "T1552")
    assert "env-credentials" in out and "[T1552.001]" in out


def test_step_and_control(capsys: pytest.CaptureFixture[str]) -> None:
    out = _explain(capsys, "escape-sys-admin-mount")
    assert "fact:cap_usable:SYS_ADMIN" in out
    assert (
        "- drop-capability:" in out and "- seccomp-runtime-default:" not in out.split("Controls")[0]
    )
    out = _explain(capsys, "drop-capability:SYS_ADMIN")
    assert out.startswith("drop-capability:")
    assert "- escape-sys-admin-mount (T1611 Escape to Host)" in out
    assert "M1038" in out


def test_unknown_ids_exit_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "drop-capabilty"]) == 2
    err = capsys.readouterr().err
    assert "neither a technique id" in err and "did you mean drop-capability" in err
    assert main(["explain", "T9999"]) == 2
    assert "T9999" in capsys.readouterr().err


def test_explain_an_atlas_technique(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "aml.t0018"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("AML.T0018 Manipulate AI Model\n  ATLAS tactics: persistence")
    assert "- poison-served-model:" in out and "[AML.T0018.000]" in out
    assert "ATLAS mitigations:\n- AML.M0005" in out
    assert "https://atlas.mitre.org/techniques/AML.T0018" in out
