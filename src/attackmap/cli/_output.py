"""Shared output helpers for subcommands: write text, render Rich tables.

Rich respects ``NO_COLOR`` and plain (non-TTY) output by itself; ``--output FILE``
always gets plain text. Off a terminal, tables take the width in ``COLUMNS`` (default
:data:`PIPE_WIDTH`) so piped output and CI logs stay readable instead of folding at 80.
Progress goes to stderr, and only when stderr is a terminal and ``--quiet`` is not given.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from attackmap.errors import AttackmapError

if TYPE_CHECKING:  # Rich is imported where a table or spinner is drawn: ~35 ms of startup
    from rich.console import Console

T = TypeVar("T")

#: Table width when stdout is not a terminal and ``COLUMNS`` is unset.
PIPE_WIDTH = 160


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


def write_stream(write: Callable[[TextIO], None], output: str | None = None) -> None:
    """Call ``write(stream)`` with stdout or ``output`` (a file path, UTF-8), for documents
    too big to hold as one string (``Report.write_json``). A file left incomplete by an
    error is removed, never presented as a result."""
    if output is None or output == "-":
        write(sys.stdout)
        return
    path = Path(output)
    try:
        stream = path.open("w", encoding="utf-8")
    except OSError as e:
        raise AttackmapError(f"cannot write output: {e.strerror}", path=output) from e
    try:
        with stream:
            write(stream)
    except BaseException as e:
        if path.is_file():  # not /dev/stdout or a pipe
            path.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise AttackmapError(f"cannot write output: {e.strerror}", path=output) from e
        raise


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
) -> None:
    """Print a table to stdout with Rich (colour only on a terminal, never with NO_COLOR)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    _stdout_console().print(table)


def console_width(is_tty: bool, environ: dict[str, str] | None = None) -> int | None:
    """The table width: ``COLUMNS`` when set to a number, else the terminal's own width on a
    terminal (``None``: Rich asks it) or :data:`PIPE_WIDTH` off one."""
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if is_tty else PIPE_WIDTH


def _stdout_console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=False, width=console_width(sys.stdout.isatty()))


def show_progress(quiet: bool) -> bool:
    """Whether to draw progress: stderr is a terminal and ``--quiet`` is not given."""
    return not quiet and sys.stderr.isatty()


def progress(
    items: Iterable[T], description: str, *, quiet: bool, total: int | None = None
) -> Iterator[T]:
    """Yield ``items`` while a Rich progress bar (on stderr) counts them, when
    :func:`show_progress`; otherwise just yield them."""
    if not show_progress(quiet):
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


def status(message: str, *, quiet: bool) -> AbstractContextManager[object]:
    """A spinner with ``message`` on stderr while a long step runs (see :func:`show_progress`)."""
    if not show_progress(quiet):
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


class ExamplesFormatter(argparse.HelpFormatter):
    """Wraps a one-paragraph description like argparse does, but keeps text that has its
    own line breaks (the ``examples:`` epilog) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)
