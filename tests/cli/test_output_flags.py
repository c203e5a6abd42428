"""The same output flags on every subcommand, and the format from the file name.

Before: ``analyze -o report.sarif`` wrote a tab-separated table (exit 0) and a user
uploaded it to code scanning; ``docs`` without ``--out`` wrote into ``./docs/reference``
of whatever directory it ran in; ``harden --out`` and ``seccomp generate --out`` named a
directory and a file with one flag, and ``attack info`` could not write a file at all.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from attackmap.cli import COMMANDS, build_parser, main
from attackmap.cli._analyze import report_suffixes
from attackmap.exporters import EXPORTERS

NIM = Path(__file__).resolve().parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command that runs something, by its words (``attack info``)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _subparsers(sub)
                if nested:
                    found.update({f"{name} {k}": v for k, v in nested.items()})
                else:
                    found[name] = sub
    return found


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in parser._actions for o in a.option_strings if a.help != argparse.SUPPRESS}


#: commands whose only output is a line saying what they did elsewhere
_NO_OUTPUT = {"attack update"}  # installs a release into the user cache


def test_every_command_writes_a_file_with_o_and_a_directory_with_out_dir() -> None:
    commands = _subparsers(build_parser())
    assert {c.split()[0] for c in commands} == set(COMMANDS)
    assert set(commands) >= _NO_OUTPUT
    for name, parser in commands.items():
        options = _options(parser)
        if "--out-dir" in options:  # a command writing several files
            assert options["--out-dir"].metavar == "DIR", name
        elif name not in _NO_OUTPUT:
            assert options["-o"] is options["--output"], name
            assert options["-o"].metavar == "FILE", name
        assert "--out" not in options, f"{name}: --out is neither a file nor a directory"


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_every_report_format_has_an_extension(fmt: str) -> None:
    assert fmt in report_suffixes().values()


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("report.sarif", lambda t: json.loads(t)["version"] == "2.1.0"),
        ("report.sarif.json", lambda t: json.loads(t)["version"] == "2.1.0"),
        ("report.json", lambda t: json.loads(t)["schema"] == "attackmap.report/v1"),
        ("report.stix.json", lambda t: json.loads(t)["type"] == "bundle"),
        ("report.navigator.json", lambda t: "techniques" in json.loads(t)),
        ("report.html", lambda t: t.lstrip().lower().startswith("<!doctype html")),
        ("REPORT.MD", lambda t: t.startswith("#")),
        ("report.dot", lambda t: t.startswith("digraph")),
        ("report.graphml", lambda t: t.startswith("<graphml")),
        ("report.tsv", lambda t: t.startswith("workload\ttechnique")),
    ],
)
def test_the_extension_of_o_picks_the_format(name: str, check: object, tmp_path: Path) -> None:
    out = tmp_path / name
    assert main(["-q", "analyze", str(NIM), "-o", str(out)]) == 0
    assert callable(check) and check(out.read_text())


def test_a_format_contradicting_the_extension_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.sarif"
    assert main(["analyze", str(NIM), "--format", "json", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--format json contradicts the file name" in err and "which names sarif" in err
    assert not out.exists()
    # an explicit format agreeing with the name, or a name without an extension, is fine
    assert main(["-q", "analyze", str(NIM), "--format", "sarif", "-o", str(out)]) == 0
    assert main(["-q", "analyze", str(NIM), "--format", "sarif", "-o", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r").read_text() == out.read_text()


def test_an_extension_naming_no_format_writes_the_table_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(NIM), "-o", str(tmp_path / "report.out")]) == 0
    err = capsys.readouterr().err
    assert "names no format: writing table" in err and ".sarif (sarif)" in err
    assert (tmp_path / "report.out").read_text().startswith("workload\ttechnique")


@pytest.mark.parametrize(
    "argv",
    [
        ["inventory", str(NIM)],
        ["pss", str(NIM)],
        ["attack", "info"],
        ["seccomp", "RuntimeDefault"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_o_file_json_is_json_for_table_or_json_commands(argv: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    assert main([*argv, "-o", str(out)]) in (0, 1)  # pss exits 1 on violations
    json.loads(out.read_text())


def test_attack_info_writes_its_table_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "info.txt"
    assert main(["attack", "info", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("ATT&CK ") and "tactic\tid\ttechniques" in text


def test_harden_o_diff_writes_a_diff(tmp_path: Path) -> None:
    out = tmp_path / "nim.diff"
    assert main(["-q", "harden", str(NIM), "--goal", "T1528", "-o", str(out)]) in (0, 1)
    assert "\n--- a/StatefulSet/my-nim\n+++ b/StatefulSet/my-nim\n" in out.read_text()


def test_docs_without_a_destination_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["docs"]) == 2
    assert "--out-dir" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main(["-q", "docs", "--out-dir", "ref"]) == 0
    assert (tmp_path / "ref" / "controls.md").is_file()
    assert main(["-q", "docs", "--out", "old"]) == 0  # the old spelling, undocumented, still works
    assert (tmp_path / "old" / "controls.md").read_text() == (
        tmp_path / "ref" / "controls.md"
    ).read_text()


def test_audit_writes_its_tables_and_roles_by_the_file_name(tmp_path: Path) -> None:
    """``audit -o FILE`` refused tables ("--output needs --format json or rbac")."""
    log = Path(__file__).resolve().parents[1] / "audit" / "data" / "cluster.jsonl"
    assert main(["audit", str(log), "-o", str(tmp_path / "audit.txt")]) == 0
    text = (tmp_path / "audit.txt").read_text()
    assert text.startswith("# Workloads (Pod Security")
    assert "\n# ATT&CK techniques evidenced\ntechnique\tprincipal\t" in text and "T1609" in text
    assert main(["audit", str(log), "-o", str(tmp_path / "roles.yaml")]) == 0
    assert "kind: Role\n" in (tmp_path / "roles.yaml").read_text()
    assert main(["audit", str(log), "-o", str(tmp_path / "audit.json")]) == 0
    assert "summary" in json.loads((tmp_path / "audit.json").read_text())
