"""The README's ``attackmap --help`` block is the real output; Quick start stays two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attackmap.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- attackmap-help:"


def test_help_block_matches_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["--help"]) == 0
    actual = capsys.readouterr().out.rstrip("\n")
    text = README.read_text(encoding="utf-8")
    assert MARKER in text
    block = re.search(r"```text\n(.*?)\n```", text[text.index(MARKER) :], re.S)
    assert block is not None
    assert block.group(1) == actual, "update the README block: COLUMNS=80 attackmap --help"


def test_quick_start_is_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```sh\n(.*?)```", section, re.S)
    assert commands is not None
    assert commands.group(1).split("\n")[:-1] == ["make demo", "make test"]


def test_documented_exit_codes_match_the_cli() -> None:
    text = README.read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in text
