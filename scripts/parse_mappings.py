#!/usr/bin/env python3
"""Write ``mappings/parsed.json``: every YAML file under ``mappings/`` parsed once, at build
time, so that an analysis does not parse the packaged mappings on every start.

Each file's data is stored as JSON text (mapping keys in the file's order) under its path,
with the SHA-256 of its text; :func:`attackmap._resources.mapping_data` answers a text with
that digest from the table and parses any other text, so a mapping edited without running
this script is still read as written. The output is deterministic, and
``tests/test_parsed_mappings.py`` fails when the committed table is not what this script
writes. Run it after editing a mapping file:

usage: scripts/parse_mappings.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from attackmap._resources import PARSED_MAPPINGS, render_parsed_mappings  # noqa: E402

OUT = ROOT / "mappings" / PARSED_MAPPINGS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is stale")
    args = parser.parse_args(argv)
    text = render_parsed_mappings()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            sys.stderr.write(f"{OUT} is stale: run scripts/parse_mappings.py\n")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
