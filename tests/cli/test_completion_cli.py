"""``attackmap completion``: scripts generated from the parser, and working in bash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from attackmap.cli import COMMANDS, main
from attackmap.exporters import EXPORTERS


def _script(capsys: pytest.CaptureFixture[str], shell: str) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def _complete(script: Path, *words: str) -> list[str]:
    """Run the bash completion function on ``words`` (the last one being completed)."""
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=(attackmap {line}); COMP_CWORD={len(words)}\n"
        "_attackmap; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run([bash, "-c", program], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_bash_completes_commands_options_and_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "attackmap.bash"
    script.write_text(_script(capsys, "bash"), encoding="utf-8")
    assert set(_complete(script, "")) >= set(COMMANDS)
    assert _complete(script, "exp") == ["explain"]
    assert "--fail-on" in _complete(script, "analyze", "--f")
    formats = _complete(script, "analyze", "--format", "")
    assert set(formats) == {"table", "png", *EXPORTERS}
    assert _complete(script, "completion", "f") == ["fish"]


def test_zsh_and_fish(capsys: pytest.CaptureFixture[str]) -> None:
    zsh = _script(capsys, "zsh")
    assert zsh.startswith("#compdef attackmap") and "bashcompinit" in zsh
    fish = _script(capsys, "fish")
    for name in COMMANDS:
        assert f"-a {name} " in fish
    assert "__fish_seen_subcommand_from analyze' -l fail-on" in fish
    if shutil.which("fish"):
        subprocess.run(["fish", "--no-execute", "-c", fish], check=True)


def test_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "tcsh"]) == 2
    assert "invalid choice" in capsys.readouterr().err
