"""attackmap.cli._output: widths off a terminal, NO_COLOR, progress only on a TTY."""

from __future__ import annotations

import pytest

from attackmap.cli import _output


def test_console_width() -> None:
    assert _output.console_width(False, {}) == _output.PIPE_WIDTH
    assert _output.console_width(True, {}) is None
    assert _output.console_width(False, {"COLUMNS": "100"}) == 100
    assert _output.console_width(True, {"COLUMNS": "72"}) == 72
    assert _output.console_width(False, {"COLUMNS": "wide"}) == _output.PIPE_WIDTH


def test_table_is_plain_and_wide_when_piped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    long = "T1611 Escape to Host via escape-sys-admin-mount > node-runtime-cli > node-tokens"
    _output.print_table(["a", "b"], [["x", long]])
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert long in out  # not folded at 80 columns


def test_progress_is_silent_off_a_terminal_or_when_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert list(_output.progress(range(5), "x", quiet=False)) == [0, 1, 2, 3, 4]
    assert list(_output.progress(iter("ab"), "x", quiet=True)) == ["a", "b"]
    with _output.status("working", quiet=False):
        pass
    assert capsys.readouterr().err == ""
    assert not _output.show_progress(quiet=True)
