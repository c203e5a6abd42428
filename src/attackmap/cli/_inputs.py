"""Input options shared by the commands that read manifests (``analyze``, ``inventory``,
``pss``): charts rendered with ``--values``/``--set``, and ``--keep-going``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any


def add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--values",
        action="append",
        default=[],
        metavar="FILE",
        help="a values file for each Helm chart directory among the inputs (helm template "
        "--values; repeat for several)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a value for each Helm chart directory (helm template --set; repeat for several)",
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="report a malformed file or object (on stderr and in the report's skipped "
        "list), analyse the rest, and exit 2 at the end",
    )


def input_errors(skipped: Iterable[Any]) -> list[str]:
    """What ``--keep-going`` skipped because it is an input error, as ``path:line: ...``."""
    from attackmap.model._loader import INPUT_ERROR

    return [
        f"{s.source}: {s.reason.removeprefix(INPUT_ERROR)}"
        if not s.reason.removeprefix(INPUT_ERROR).startswith(str(s.source.path))
        else s.reason.removeprefix(INPUT_ERROR)
        for s in skipped
        if s.reason.startswith(INPUT_ERROR)
    ]


def report_input_errors(skipped: Iterable[Any]) -> bool:
    """Print each input error ``--keep-going`` skipped on stderr; whether there was one."""
    errors = input_errors(skipped)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        print(
            f"{len(errors)} input error(s) skipped by --keep-going; the rest was analysed",
            file=sys.stderr,
        )
    return bool(errors)
