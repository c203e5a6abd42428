"""The registry covers every format the issue and the CLI name, and nothing else."""

from __future__ import annotations

import pytest

from attackmap.cli import build_parser
from attackmap.errors import ExportError
from attackmap.exporters import EXPORTERS, Exporter, exporter

# The formats `attackmap analyze --format` must offer; `table` is the CLI's terminal view.
FORMATS = {"table", "json", "markdown", "navigator", "sarif", "stix", "dot", "graphml", "html"}
FORMATS |= {"navigator-atlas"}  # the ATLAS techniques, for the ATLAS Navigator (issue 18)
FORMATS |= {"mermaid", "svg"}  # pictures of the paths (issue 20 item 7)
CLI_ONLY = {"table", "png"}  # png: the dot exporter drawn by Graphviz, in the CLI


def test_registry_covers_every_format() -> None:
    assert set(EXPORTERS) | {"table"} == FORMATS


def test_cli_offers_exactly_the_registered_formats() -> None:
    parser = build_parser("analyze")
    sub = next(a for a in parser._actions if a.dest == "command")
    analyze = sub.choices["analyze"]  # type: ignore[index]  # argparse types choices as Iterable
    fmt = next(a for a in analyze._actions if a.dest == "format")
    assert set(fmt.choices) == FORMATS | CLI_ONLY


@pytest.mark.parametrize("name", sorted(EXPORTERS))
def test_each_exporter_implements_the_interface(name: str) -> None:
    exp: Exporter = EXPORTERS[name]
    assert exp.name == name
    assert exp.suffix.startswith(".") and exp.description
    assert callable(exp.export)


def test_unknown_format_is_an_export_error() -> None:
    with pytest.raises(ExportError, match="unknown format 'pdf'") as info:
        exporter("pdf")
    assert "navigator" in (info.value.hint or "")
