"""Shared output helpers for subcommands: write text, render Rich tables.

Rich respects ``NO_COLOR`` and plain (non-TTY) output by itself; ``--output FILE``
always gets plain text.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from attackmap.errors import AttackmapError


def write_text(text: str, output: str | None = None) -> None:
    """Write ``text`` to ``output`` (a file path) or stdout; always ends with a newline."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        raise AttackmapError(f"cannot write output: {e.strerror}", path=output) from e


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
) -> None:
    """Print a table to stdout with Rich (colour only on a terminal, never with NO_COLOR)."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(soft_wrap=False).print(table)
