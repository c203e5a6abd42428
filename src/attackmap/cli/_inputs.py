"""Input options shared by the commands that read manifests (``analyze``, ``inventory``,
``pss``): charts rendered with ``--values``/``--set``, and ``--keep-going``; and, for
those and ``harden``, the allocator's setting before a large input (:func:`own_allocator`)."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Iterable
from typing import Any

#: From this size an input file counts as large (:func:`own_allocator`).
LARGE_INPUT = 1 << 20


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


def own_allocator(paths: Iterable[str]) -> bool:
    """In the console script's process, before a large input is read (a directory, or a
    file of :data:`LARGE_INPUT` bytes or more), freed large blocks are set to go back to
    the system (:func:`attackmap._malloc.return_large_blocks`: a lower peak memory);
    whether they were. One manifest's analysis is spared ``ctypes``' import (~5 ms of a
    cold start), a program that calls :func:`attackmap.cli.main` its allocator's
    settings."""
    from attackmap import cli

    if not cli._owns_process:
        return False
    for path in paths:
        try:
            found = os.stat(path)
        except (OSError, ValueError):
            continue  # ("-": stdin; a missing path: the loader says what is wrong)
        if stat.S_ISDIR(found.st_mode) or found.st_size >= LARGE_INPUT:
            from attackmap._malloc import return_large_blocks

            return return_large_blocks()
    return False
