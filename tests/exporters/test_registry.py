"""The registry covers every format the issue and the CLI name, and nothing else."""

from __future__ import annotations

import pytest

from attackmap import exporters
from attackmap.cli import build_parser
from attackmap.errors import ExportError
from attackmap.exporters import EXPORTERS, SUFFIXES, Exporter, exporter

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
    assert exp.suffix == SUFFIXES[name]  # what the CLI knows without importing the exporter
    assert callable(exp.export)


def test_the_registry_maps_exactly_its_formats() -> None:
    assert list(SUFFIXES) == list(EXPORTERS) and len(EXPORTERS) == len(SUFFIXES)
    with pytest.raises(KeyError):
        EXPORTERS["table"]  # the CLI's own view, not an exporter


def test_the_data_functions_are_the_modules_own() -> None:
    from attackmap.exporters import _sarif, _stix

    assert exporters.sarif_log is _sarif.sarif_log
    assert exporters.stix_bundle is _stix.stix_bundle
    with pytest.raises(AttributeError, match="no attribute 'pdf_document'"):
        exporters.pdf_document  # noqa: B018 - the attribute access is what is tested


def test_unknown_format_is_an_export_error() -> None:
    with pytest.raises(ExportError, match="unknown format 'pdf'") as info:
        exporter("pdf")
    assert "navigator" in (info.value.hint or "")
