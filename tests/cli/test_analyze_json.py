"""``attackmap analyze --format json``: compact by default, ``--pretty`` indented, streamed to
stdout or ``-o FILE``, never a partial file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import pytest

import attackmap
from attackmap.cli import main
from attackmap.cli._output import write_stream
from attackmap.errors import AttackmapError

REPO = Path(__file__).resolve().parents[2]
NIM = str(REPO / "examples" / "nim" / "nim-deploy-default.yaml")


@pytest.fixture(scope="module")
def report() -> attackmap.Report:
    return attackmap.analyze(NIM)


def test_default_is_compact_json(
    capsys: pytest.CaptureFixture[str], report: attackmap.Report
) -> None:
    assert main(["analyze", NIM, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert out == report.to_json()
    assert out.count("\n") == 1 and out.endswith("}\n")
    doc = json.loads(out)
    assert out == json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def test_pretty_is_indented(capsys: pytest.CaptureFixture[str], report: attackmap.Report) -> None:
    assert main(["analyze", NIM, "--format", "json", "--pretty"]) == 0
    out = capsys.readouterr().out
    assert out == report.to_json(pretty=True)
    assert out.startswith('{\n  "atlas": {\n    "version": "5.6.0"\n  },\n  "attack": {\n')
    assert out == json.dumps(json.loads(out), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("pretty", [False, True])
@pytest.mark.parametrize("fmt", ["json", None])  # without --format, *.json is JSON
def test_output_file_has_the_same_bytes(
    tmp_path: Path, report: attackmap.Report, fmt: str | None, pretty: bool
) -> None:
    out = tmp_path / "report.json"
    chosen = ["--format", fmt] if fmt else []
    argv = ["analyze", NIM, *chosen, "-o", str(out), *(["--pretty"] if pretty else [])]
    assert main(argv) == 0
    assert out.read_text(encoding="utf-8") == report.to_json(pretty=pretty)


def test_help_documents_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--pretty" in help_text and "default: compact" in help_text


def test_write_stream_removes_an_incomplete_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"

    def fails_halfway(stream: TextIO) -> None:
        stream.write('{"workloads":[')
        raise OSError(28, "No space left on device")

    with pytest.raises(AttackmapError, match="No space left on device") as info:
        write_stream(fails_halfway, str(out))
    assert info.value.path == str(out)
    assert not out.exists()

    def interrupted(stream: TextIO) -> None:
        stream.write("{")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_stream(interrupted, str(out))
    assert not out.exists()


def test_write_stream_to_an_unwritable_place(tmp_path: Path) -> None:
    with pytest.raises(AttackmapError, match="cannot write output"):
        write_stream(lambda stream: None, str(tmp_path / "missing" / "report.json"))
