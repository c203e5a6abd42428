"""``mappings/parsed.json``: the packaged mapping files parsed at build time (start-up,
docs/performance.md) are exactly what parsing their YAML gives, and current."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import orjson
import yaml

from attackmap import _resources
from attackmap._resources import mapping_data, render_parsed_mappings

REPO = Path(__file__).resolve().parents[1]
MAPPINGS = REPO / "mappings"


def _yaml(text: str) -> object:
    # the pure-Python SafeLoader: present with or without libyaml, and an oracle independent
    # of the loader the package uses (CSafeLoader where libyaml is there); never constructs objects
    return yaml.load(text, Loader=yaml.SafeLoader)


def test_the_committed_table_is_current() -> None:
    committed = (MAPPINGS / _resources.PARSED_MAPPINGS).read_text(encoding="utf-8")
    assert committed == render_parsed_mappings(), "run scripts/parse_mappings.py"
    assert render_parsed_mappings() == render_parsed_mappings()  # deterministic


def test_every_mapping_file_is_in_the_table_as_its_yaml_parses() -> None:
    table = json.loads((MAPPINGS / _resources.PARSED_MAPPINGS).read_text(encoding="utf-8"))
    paths = sorted(str(p.relative_to(MAPPINGS)) for p in MAPPINGS.rglob("*.yaml"))
    assert sorted(table["files"]) == paths
    for path in paths:
        text = (MAPPINGS / path).read_text(encoding="utf-8")
        # the same data, types and key order
        assert repr(mapping_data(text)) == repr(_yaml(text)), path
        assert orjson.loads(table["files"][path]["json"]) == _yaml(text), path


def test_other_text_is_parsed() -> None:
    text = "a: 1\nb: [x, 2026-12-06]\n"
    assert mapping_data(text) == _yaml(text)
    edited = (MAPPINGS / "states.yaml").read_text(encoding="utf-8") + "\n# edited\n"
    assert mapping_data(edited) == _yaml(edited)


def test_each_call_returns_new_objects() -> None:
    text = (MAPPINGS / "severity.yaml").read_text(encoding="utf-8")
    first = mapping_data(text)
    first.clear()
    assert mapping_data(text) == _yaml(text)


def test_the_script_checks_the_table() -> None:
    spec = importlib.util.spec_from_file_location(
        "parse_mappings", REPO / "scripts" / "parse_mappings.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--check"]) == 0
