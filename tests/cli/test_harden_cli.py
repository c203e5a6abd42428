"""``attackmap harden`` through ``main([...])``."""

from __future__ import annotations

from pathlib import Path

import pytest

import attackmap
from attackmap.cli import main
from attackmap.model import _yaml
from attackmap.model._yaml import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parents[2]
NIM_DEFAULT = REPO / "examples" / "nim" / "nim-deploy-default.yaml"
DATA = REPO / "tests" / "harden" / "data"
GOALS = "T1611,T1552.001,T1528"


def test_out_dir_verified(tmp_path: Path) -> None:
    code = main(
        [
            "harden",
            *(str(NIM_DEFAULT), "--goal", GOALS, "--allow", "remove-credential-env"),
            *("--out-dir", str(tmp_path)),
        ]
    )
    assert code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["HARDENING.md", "nim-deploy-default.yaml"]
    report = attackmap.analyze(str(tmp_path / "nim-deploy-default.yaml"))
    assert not any(set(w.technique_ids()) & set(GOALS.split(",")) for w in report.workloads)
    summary = (tmp_path / "HARDENING.md").read_text()
    assert "**Verified: yes**" in summary and "| baseline | baseline |" in summary


def test_stdout_diff_and_exit_1_when_need_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "harden",
            str(NIM_DEFAULT),
            "--goal",
            GOALS,
            "--allow",
            "remove-credential-env",
            "--format",
            "diff",
            "--audit",
            str(DATA / "audit-api-access.jsonl"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "# control remove-credential-env@" in out
    assert "kept by need api-access" in err


def test_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harden", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_oversize_file_is_refused_before_reading_like_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    assert main(["inventory", str(big)]) == 2
    expected = capsys.readouterr().err

    def no_read(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the oversize file was read")

    monkeypatch.setattr(Path, "read_text", no_read)
    monkeypatch.setattr(Path, "read_bytes", no_read)
    monkeypatch.setattr(_yaml, "read_stream", no_read)
    assert main(["harden", str(big)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == expected
    assert f"{big}: file is {MAX_FILE_BYTES + 1} bytes, more than the limit" in err
    assert "Traceback" not in err


def test_level_with_a_host_path_volume_names_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--level baseline` on a hostPath volume read `vol.host_path`, which Volume does not
    # have: a traceback (AttributeError) on 8 of the GPU Operator's manifests
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: nim}\nspec:\n"
        "  containers:\n  - name: c\n    image: nginx:1.27\n"
        "    volumeMounts: [{name: logs, mountPath: /host/logs}]\n"
        "  volumes:\n  - name: logs\n    hostPath: {path: /var/log}\n"
    )
    assert main(["harden", str(pod), "--level", "baseline"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "hostPath" not in out
