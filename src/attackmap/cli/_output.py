"""Shared output helpers for subcommands: write text and files, print tables.

A file is written to a temporary file beside it and renamed over it once complete
(:func:`write_files`): a full disk or an interrupt never leaves a truncated or empty file.

Tables have Rich's look and are drawn by :mod:`attackmap.cli._table`; on a terminal Rich
says what it can show (colour, width, box characters); ``--output FILE`` always gets plain
text. Off a terminal, tables take the width in ``COLUMNS`` (default :data:`PIPE_WIDTH`) so
piped output and CI logs stay readable instead of folding at 80.
Progress goes to stderr, and only when stderr is a terminal and ``--quiet`` is not given.

Every subcommand spells its destinations the same way (:func:`add_output`,
:func:`add_out_dir`): ``-o/--output FILE`` for one file, whose extension picks the format
when ``--format`` is not given (:func:`output_format`), and ``--out-dir DIR`` for a
directory of files.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import itertools
import logging
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias, TypeVar

from attackmap.errors import AttackmapError

if TYPE_CHECKING:  # Rich is imported where a table or spinner is drawn: ~35 ms of startup
    from rich.console import Console

T = TypeVar("T")

#: Table width when stdout is not a terminal and ``COLUMNS`` is unset.
PIPE_WIDTH = 160


def write_text(text: str, output: str | None = None) -> None:
    """Write ``text`` to ``output`` (a file path) or stdout; always ends with a newline.
    A file is replaced only once the whole text is written (see :func:`write_files`)."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None or output == "-":
        with stdout_errors():
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    write_files({output: text})


def write_stream(write: Callable[[TextIO], None], output: str | None = None) -> None:
    """Call ``write(stream)`` with stdout or ``output`` (a file path, UTF-8), for documents
    too big to hold as one string (``Report.write_json``). A file is replaced only once
    ``write`` returned and the text is on disk (see :func:`write_files`)."""
    if output is None or output == "-":
        with stdout_errors():
            write(sys.stdout)
            sys.stdout.flush()
        return
    write_files({output: write})


@contextlib.contextmanager
def stdout_errors() -> Iterator[None]:
    """A failed write to stdout (``> /dev/full``, a full disk) is an :class:`AttackmapError`
    (exit 2, no traceback); a closed pipe (``| head``) stays a ``BrokenPipeError``, which
    the CLI ends quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as e:
        raise AttackmapError(f"cannot write output: {e.strerror or e}", path="<stdout>") from e


#: What a written file holds: its text, or a function writing it to a stream.
Content: TypeAlias = str | Callable[[TextIO], None]


def write_files(files: Mapping[str | Path, Content]) -> None:
    """Write each file (UTF-8) so that a failure never leaves a broken one.

    Each file is first written to a temporary file next to it (``.NAME.attackmap-PID-N.tmp``)
    and synced; only when *every* file is written are they renamed over their targets, in
    order. On a failure while writing (a full disk, an interrupt) every temporary file is
    removed: no new file appears and an existing file is left byte for byte as it was. A
    target that is a directory is refused before any rename; a rename failing half-way
    nonetheless (rare: the target turned into a directory meanwhile) leaves the files
    before it replaced and those after it untouched, and says which file failed.

    A new file gets the mode ``open()`` would give it (``0o666`` less the umask); an
    existing file keeps its mode. A link is followed: its target is replaced. Special files
    cannot be replaced by a rename and are written directly, when their turn comes: a path
    that is not a regular file (``/dev/full``, a FIFO) or lies under ``/dev`` or ``/proc``
    (``/dev/stdout`` names whatever file descriptor 1 is).

    An ``OSError`` becomes an :class:`AttackmapError` naming the file (exit 2).
    """
    # (the path as given, the file to replace, its temporary file or None, the content)
    staged: list[tuple[Path, Path, Path | None, Content]] = []
    try:
        for output, content in files.items():
            given = Path(output)
            if _special(Path(os.path.abspath(given))):
                staged.append((given, given, None, content))
                continue
            target = Path(os.path.realpath(given))  # a link's target is what gets replaced
            staged.append((given, target, _write_temporary(target, given, content), content))
        for given, target, _, _ in staged:  # what would stop the renames half-way
            if target.is_dir():
                raise _cannot_write(IsADirectoryError(errno.EISDIR, "Is a directory"), given)
        for i, (given, target, temporary, content) in enumerate(staged):
            if temporary is None:
                _write_special(given, content)
                continue
            try:
                os.replace(temporary, target)
            except OSError as e:
                raise _cannot_write(e, given) from e
            staged[i] = (given, target, None, content)
    finally:
        for _, _, temporary, _ in staged:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    temporary.unlink()


def check_destination(output: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse at once, before a long analysis, a file :func:`write_files` could not write
    (a directory, a missing or non-directory parent) or one of ``inputs`` (the manifest
    it would replace). Special files pass (written in place); what only the write can
    tell (permissions, space) it says then."""
    given = Path(output)
    path = Path(os.path.abspath(given))
    if _special(path) and path.exists() and not path.is_dir():
        return
    if path.is_dir():
        raise _cannot_write(IsADirectoryError(errno.EISDIR, "Is a directory"), given)
    if not path.parent.is_dir():
        problem = (
            NotADirectoryError(errno.ENOTDIR, "Not a directory")
            if path.parent.exists()
            else FileNotFoundError(errno.ENOENT, "No such file or directory")
        )
        raise _cannot_write(problem, given)
    if path.exists():
        for source in inputs:
            with contextlib.suppress(OSError):
                if os.path.samefile(path, source):
                    raise AttackmapError(
                        "the output is one of the inputs: writing it would replace that manifest",
                        path=str(given),
                        field="--output",
                        hint="write the report to another file",
                    )


def _special(path: Path) -> bool:
    """Whether ``path`` (absolute) cannot be replaced by renaming a file over it."""
    if path.parts[1:2] in (("dev",), ("proc",)):
        return True
    try:
        mode = path.stat().st_mode
    except OSError:  # missing (a new file), or unreachable: the write says why
        return False
    return not stat.S_ISREG(mode)


def _cannot_write(e: OSError, path: Path) -> AttackmapError:
    return AttackmapError(f"cannot write output: {e.strerror or e}", path=path)


def _write_to(stream: TextIO, content: Content) -> None:
    if isinstance(content, str):
        stream.write(content)
    else:
        content(stream)


def _write_temporary(target: Path, output: Path, content: Content) -> Path:
    """Write ``content`` to a new temporary file beside ``target``, synced; its path.
    Errors name ``output``, the path as given."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None  # created with 0o666 less the umask, as open() does
    except OSError as e:
        raise _cannot_write(e, output) from e
    for n in itertools.count():
        temporary = target.with_name(f".{target.name[:200]}.attackmap-{os.getpid()}-{n}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as e:
            raise _cannot_write(e, output) from e
    try:
        with open(fd, "w", encoding="utf-8") as stream:
            if mode is not None:
                os.chmod(temporary, mode)
            _write_to(stream, content)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException as e:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(e, OSError):
            raise _cannot_write(e, output) from e
        raise
    return temporary


def _write_special(path: Path, content: Content) -> None:
    """Write to a device, FIFO or ``/dev/stdout`` in place (no rename is possible)."""
    try:
        with path.open("w", encoding="utf-8") as stream:
            _write_to(stream, content)
    except OSError as e:
        raise _cannot_write(e, path) from e


#: ``-o FILE`` extensions of the commands that write a table or JSON
TABLE_OR_JSON = {".json": "json", ".txt": "table", ".tsv": "table"}


def add_output(parser: argparse.ArgumentParser, what: str = "the output") -> None:
    """``-o/--output FILE`` (``-`` for stdout), as every subcommand spells it."""
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=f"write {what} to FILE instead of stdout; its extension picks the format when "
        "--format is not given",
    )


def add_out_dir(parser: argparse.ArgumentParser, help: str) -> None:
    """``--out-dir DIR`` for a command that writes several files (``--out`` is still read,
    undocumented, for scripts written before the flags were made the same everywhere)."""
    parser.add_argument("--out-dir", dest="out_dir", metavar="DIR", help=help)
    parser.add_argument("--out", dest="out_dir", metavar="DIR", help=argparse.SUPPRESS)


def output_format(
    chosen: str | None, output: str | None, suffixes: Mapping[str, str], default: str
) -> str:
    """The format to write: ``--format`` when given, else the one the extension of
    ``-o FILE`` names (the longest matching suffix in ``suffixes``, case-insensitive),
    else ``default`` (stdout, or a file name without an extension such as ``/dev/stdout``).

    A ``--format`` that contradicts the extension is an error: a report named
    ``report.sarif`` is never a table. An extension that names no format (``.out``) gets
    ``default``, with a warning.
    """
    if output is None or output == "-":
        return chosen or default
    name = Path(output).name.lower()
    matches = [s for s in suffixes if name.endswith(s) and len(name) > len(s)]
    named = suffixes[max(matches, key=len)] if matches else None
    known = ", ".join(f"{s} ({f})" for s, f in sorted(suffixes.items()))
    if chosen is not None:
        if named is not None and named != chosen:
            raise AttackmapError(
                f"--format {chosen} contradicts the file name {output!r}, which names {named}",
                field="--format",
                hint=f"name the file for its format or leave out --format; extensions: {known}",
            )
        return chosen
    if named is not None:
        return named
    if Path(output).suffix:
        logging.getLogger("attackmap.cli").warning(
            "the extension of %s names no format: writing %s (pass --format; extensions: %s)",
            output,
            default,
            known,
        )
    return default


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
) -> None:
    """Print a table to stdout in Rich's look (styled only on a terminal with colour;
    ``NO_COLOR`` keeps bold and italic, as Rich does). Cell text is printed as given.

    attackmap draws it (:mod:`attackmap.cli._table`), line by line; Rich is asked only
    what a terminal can show, and draws what :func:`~attackmap.cli._table.lines` declines.
    """
    from attackmap.cli import _table

    table_rows = [tuple(row) for row in rows]
    console = _stdout_console() if _rich_decides(os.environ) else None
    if console is None:
        encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
        look = _table.Look(console_width(False) or PIPE_WIDTH, unicode=encoding.startswith("utf"))
    elif console.legacy_windows or console.is_jupyter:
        look = None
    else:
        look = _table.Look(
            console.width,
            unicode=console.encoding.startswith("utf"),
            styled=console.color_system is not None,
        )
    lines = None if look is None else _table.lines(columns, table_rows, title=title, look=look)
    with stdout_errors():
        if lines is None:
            _rich_table(console or _stdout_console(), columns, table_rows, title)
        else:
            write = sys.stdout.write
            for line in lines:
                write(line)
        sys.stdout.flush()


def _rich_decides(environ: Mapping[str, str]) -> bool:
    """Whether stdout may be a terminal to Rich, which then says what it can show: a
    terminal, or one forced by ``FORCE_COLOR``/``TTY_COMPATIBLE`` (Rich's own switches)."""
    return sys.stdout.isatty() or "FORCE_COLOR" in environ or "TTY_COMPATIBLE" in environ


def _rich_table(
    console: Console, columns: Sequence[str], rows: list[tuple[str, ...]], title: str | None
) -> None:
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


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

    # text as given: no Rich markup (``[bold]``) or emoji codes (``:lock:``) in cells
    return Console(
        soft_wrap=False, markup=False, emoji=False, width=console_width(sys.stdout.isatty())
    )


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
    """A spinner with ``message`` on stderr while a long step runs (see :func:`show_progress`).
    It runs no thread (:mod:`attackmap.cli._ticker`), so the step may fork workers."""
    if not show_progress(quiet):
        return nullcontext()
    from attackmap.cli._ticker import ticking

    return ticking(message)


class ExamplesFormatter(argparse.HelpFormatter):
    """Wraps a one-paragraph description like argparse does, but keeps text that has its
    own line breaks (the ``examples:`` epilog) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)
