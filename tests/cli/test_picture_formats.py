"""``analyze`` writes pictures: ``-o x.svg`` / ``-o x.mmd`` from the file name without any
program, and ``png`` through Graphviz's ``dot`` only when it is on PATH (exit 2 with how to
get it otherwise)."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.cli._analyze import report_suffixes

NIM = Path(__file__).resolve().parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".svg", "svg"), (".mmd", "mermaid"), (".mermaid", "mermaid"), (".png", "png")],
)
def test_picture_extensions_pick_the_format(suffix: str, fmt: str) -> None:
    assert report_suffixes()[suffix] == fmt


def test_o_svg_and_o_mmd_need_no_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    svg, mmd = tmp_path / "paths.svg", tmp_path / "paths.mmd"
    assert main(["analyze", str(NIM), "-o", str(svg)]) == 0
    assert main(["analyze", str(NIM), "-o", str(mmd)]) == 0
    assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert mmd.read_text(encoding="utf-8").startswith("flowchart LR\n")


def test_png_without_graphviz_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    out = tmp_path / "paths.png"
    assert main(["analyze", str(NIM), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "needs Graphviz" in err and "install Graphviz" in err and "--format svg" in err
    assert not out.exists()


def _fake_dot(tmp_path: Path, body: str) -> None:
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\n" + body)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)


def test_png_through_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a stand-in for Graphviz: checks its arguments and that DOT arrives on stdin
    _fake_dot(
        tmp_path,
        '[ "$1" = "-Tpng" ] || exit 3\n'
        'read -r first; case "$first" in digraph*) ;; *) exit 4;; esac\n'
        "cat >/dev/null\nprintf '\\211PNG\\r\\n\\032\\nrest'\n",
    )
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    out = tmp_path / "paths.png"
    assert main(["analyze", str(NIM), "-o", str(out)]) == 0
    assert out.read_bytes() == PNG + b"rest"
    other = tmp_path / "graph.bin"
    assert main(["analyze", str(NIM), "--format", "png", "-o", str(other)]) == 0
    assert other.read_bytes().startswith(PNG)


def test_failing_graphviz_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_dot(tmp_path, "echo 'Error: syntax' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    out = tmp_path / "paths.png"
    assert main(["analyze", str(NIM), "-o", str(out)]) == 2
    assert "dot failed (exit 1): Error: syntax" in capsys.readouterr().err
    assert not out.exists()
