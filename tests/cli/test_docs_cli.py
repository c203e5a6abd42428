"""``attackmap docs``: the committed docs/reference/ is exactly what the data generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from attackmap.cli import main

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def test_committed_reference_pages_do_not_drift(tmp_path: Path) -> None:
    assert main(["docs", "--out-dir", str(tmp_path)]) == 0
    generated = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in REFERENCE.iterdir() if p.is_file()}
    assert sorted(generated) == sorted(committed), "pages added or removed"
    stale = [name for name in generated if generated[name] != committed[name]]
    assert not stale, f"regenerate with: attackmap docs --out-dir docs/reference/ ({stale})"


def test_check_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--out-dir", str(tmp_path)]) == 0
    assert main(["docs", "--out-dir", str(tmp_path), "--check"]) == 0
    (tmp_path / "controls.md").write_text("edited by hand\n", encoding="utf-8")
    assert main(["docs", "--out-dir", str(tmp_path), "--check"]) == 1
    assert "controls.md: out of date" in capsys.readouterr().err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--list"]) == 0
    assert "capabilities.md" in capsys.readouterr().out.split()


def test_unwritable_output_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["docs", "--out-dir", str(blocker / "sub")]) == 2
    assert "cannot write the reference pages" in capsys.readouterr().err
