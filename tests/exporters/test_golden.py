"""Golden files: every format for the NIM Helm default (examples/nim/nim-deploy-default.yaml).

A change to an exporter, the catalogue or the analysis shows up here as a diff to review.
Regenerate after an intended change with::

    ATTACKMAP_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/exporters/test_golden.py

then read ``git diff tests/exporters/golden/`` before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from attackmap.exporters import EXPORTERS
from attackmap.exporters._json import JsonExporter
from attackmap.graph import Report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ATTACKMAP_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_golden(fmt: str, default_report: Report) -> None:
    # the json golden is the --pretty layout, so that its diffs can be read; the default
    # (compact) layout is checked against it below
    exp = JsonExporter(pretty=True) if fmt == "json" else EXPORTERS[fmt]
    text = exp.export(default_report)
    if not text.endswith("\n"):
        text += "\n"  # as the CLI writes it
    # named by format: the navigator layers and stix are JSON too, so the suffix alone is
    # ambiguous
    suffix = exp.suffix if fmt not in ("navigator", "navigator-atlas", "stix") else f".{fmt}.json"
    golden = GOLDEN / f"nim-deploy-default{suffix}"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"{golden} missing: run with ATTACKMAP_UPDATE_GOLDEN=1"
    expected = golden.read_text(encoding="utf-8")
    assert text == expected, f"{fmt} differs from {golden.name}; see this module's docstring"


def test_golden_json_compact_is_the_golden_document_compacted(default_report: Report) -> None:
    golden = (GOLDEN / "nim-deploy-default.json").read_text(encoding="utf-8")
    compact = json.dumps(
        json.loads(golden), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert EXPORTERS["json"].export(default_report) == compact + "\n"
