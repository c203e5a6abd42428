"""The public surface: what ``attackmap`` exports, and that the CLI registry is complete."""

from __future__ import annotations

import importlib

import pytest

import attackmap
from attackmap import cli


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert set(attackmap.__all__) == {"AttackmapError", "__version__", *attackmap._LAZY}


def test_every_export_resolves() -> None:
    for name in attackmap.__all__:
        assert getattr(attackmap, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        attackmap.no_such_name  # noqa: B018
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:  # pragma: no cover - a failure path
        raise AssertionError("expected AttributeError")


def test_every_registered_command_has_a_parser_and_runner() -> None:
    parser = cli.build_parser()
    for module in cli.COMMANDS.values():
        assert hasattr(importlib.import_module(module), "add_parser"), module
    # Each subcommand appears in the top-level help.
    text = parser.format_help()
    for name in cli.COMMANDS:
        assert name in text


def test_cli_builds_only_the_named_subcommand() -> None:
    assert cli._command_of(["analyze", "x.yaml"]) == "analyze"
    assert cli._command_of(["-q", "pss", "x.yaml"]) == "pss"
    assert cli._command_of(["--help"]) is None
    assert cli._command_of(["nonsense"]) is None


def test_version_and_bad_usage_exit_codes(capsys: object) -> None:
    assert cli.main(["--version"]) == 0
    assert cli.main(["no-such-command"]) == 2


def test_the_example_manifest_ships_with_the_package() -> None:
    """The notebook's input, found from any directory (a copy of examples/nim/)."""
    from pathlib import Path

    shipped = attackmap.example_manifest()
    source = Path(__file__).resolve().parents[1] / "examples" / "nim" / "nim-deploy-default.yaml"
    assert shipped.read_bytes() == source.read_bytes(), "copy examples/nim/ to data/examples/"
    assert "src/attackmap/data/examples" in shipped.as_posix() or "site-packages" in str(shipped)
    with pytest.raises(attackmap.AttackmapError) as info:
        attackmap.example_manifest("nope.yaml")
    assert "one of nim-deploy-default.yaml" in info.value.diagnostics()
