"""The CLI's tables as text: the look of a Rich table, drawn by attackmap in one pass.

Every table the CLI prints is a ``rich.table.Table`` with a heavy-head box, a bold header,
an italic title and cells that wrap at word boundaries and fold words too long for their
column. Rich measures and wraps each cell through its renderable protocol, about 0.3 ms a
cell here: the 270,000 cells of a 1,000-workload report took 22 s of layout, 4.5 times the
whole JSON run (issue 21). :func:`lines` draws the same characters with string operations and yields them
line by line, so a big table streams to its stream as it is drawn.

The layout follows Rich's rules for this kind of table (``Table._calculate_column_widths``,
``rich._wrap.divide_line``): a column is as wide as its longest cell plus one space either
side; while the table is wider than the console, the widest columns shrink together to the
next widest (``ratio_reduce``); cells wrap at words and fold longer words; the title is
centred over the table. ``tests/cli/test_table.py`` checks the output against Rich's own,
plain and styled, on generated tables. Text is printed as given: no Rich markup or emoji
codes. Widths of other text than ASCII, Latin letters and common punctuation come from Rich's
cell tables (imported only for such text).
What this module does not draw (cells with tabs, line breaks or control characters, columns
narrower than three cells) it declines with ``None``, and the caller lets Rich draw it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

#: One row of a box: the left edge, the horizontal line, the column divider, the right edge.
Edges = tuple[str, str, str, str]


def _box(*rows: str) -> tuple[Edges, ...]:
    return tuple((r[0], r[1], r[2], r[3]) for r in rows)


#: Rich's ``box.HEAVY_HEAD`` and, for consoles that cannot print it, ``box.ASCII``: the rows
#: are top, header, below header, body, between rows, above footer, footer, bottom.
HEAVY_HEAD = _box("┏━┳┓", "┃ ┃┃", "┡━╇┩", "│ ││", "├─┼┤", "├─┼┤", "│ ││", "└─┴┘")
ASCII = _box("+--+", "| ||", "|-+|", "| ||", "|-+|", "|-+|", "| ||", "+--+")

#: What Rich writes around the title (``table.title``: italic) and the header (bold) on a
#: console with colour.
ITALIC, BOLD, RESET = "\x1b[3m", "\x1b[1m", "\x1b[0m"

_WORD = re.compile(r"\s*\S+\s*")  # a word with the spaces around it, as Rich splits lines


@dataclass(frozen=True)
class Look:
    """Where the table goes: the console width in cells, whether it can print the
    heavy-head box (else ASCII), and whether to style the title and header."""

    width: int
    unicode: bool = True
    styled: bool = False


# Text whose every character is one cell wide for Rich (``tests/cli/test_table.py`` checks
# each against ``rich.cells.cell_len``): printable ASCII, the Latin-1 and Latin Extended
# letters and signs (not the soft hyphen), the dashes, quotes, bullets and ellipsis of
# General Punctuation, and the arrows. Rich is not imported for such a table (start-up).
NARROW = re.compile("[\x20-\x7e\xa0-\xac\xae-\u02ff\u2010-\u2027\u2190-\u21ff]*").fullmatch


class _Cells:
    """Cell arithmetic: ``len`` and slices for text of one-cell characters (``NARROW``),
    Rich's cell tables for the rest (wide East Asian characters, combining marks, emoji)."""

    def __init__(self, narrow: bool) -> None:
        self.len: Callable[[str], int]
        self.chop: Callable[[str, int], list[str]]
        self.fit: Callable[[str, int], str]
        if narrow:
            self.len = len
            self.chop = _chop_narrow
            self.fit = _fit_narrow
        else:
            from rich.cells import cell_len, chop_cells, set_cell_size

            self.len = cell_len
            self.chop = chop_cells
            self.fit = set_cell_size


def _chop_narrow(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def _fit_narrow(text: str, width: int) -> str:
    return text[:width] if len(text) >= width else text + " " * (width - len(text))


def lines(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None,
    look: Look,
) -> Iterator[str] | None:
    """The table's lines (each ending in ``\\n``), or ``None`` when a cell holds a tab, a
    line break or another control character, or the console is too narrow for the
    columns: Rich draws those."""
    texts = [*columns, *(cell for row in rows for cell in row)]
    if title:
        texts.append(title)
    if not all(text.isprintable() for text in texts):
        return None
    if any(len(row) > len(columns) for row in rows):
        raise ValueError(f"a row has more cells than the {len(columns)} columns")
    cells = _Cells(all(NARROW(text) for text in texts))
    widths = _widths(columns, rows, look.width, cells)
    if widths is None:
        return None
    return _draw(columns, rows, title, widths, look, cells)


def _widths(
    columns: Sequence[str], rows: Sequence[Sequence[str]], width: int, cells: _Cells
) -> list[int] | None:
    """Each column's width including its two spaces of padding, borders excluded."""
    available = width - (len(columns) + 1)  # the edges and the dividers
    if available < 3:
        return None
    measure = cells.len
    widths = []
    for i, header in enumerate(columns):
        longest = max(
            (measure(row[i]) for row in rows if i < len(row)), default=0
        )  # a short row's missing cells are empty
        widths.append(min(max(longest, measure(header)) + 2, available))
    if sum(widths) > available:
        widths = _collapse(widths, available)
        if sum(widths) > available:  # Rich's last resort: every column gives up evenly
            widths = _reduce(sum(widths) - available, [1] * len(widths), widths, widths)
    return widths if min(widths) >= 3 else None


def _collapse(widths: list[int], available: int) -> list[int]:
    """Shrink the widest columns together to the next widest until the table fits
    (``Table._collapse_widths``)."""
    excess = sum(widths) - available
    while excess > 0:
        widest = max(widths)
        difference = widest - max((w for w in widths if w != widest), default=0)
        if not difference:
            break
        ratios = [1 if w == widest else 0 for w in widths]
        widths = _reduce(excess, ratios, [min(excess, difference)] * len(widths), widths)
        excess = sum(widths) - available
    return widths


def _reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """Take ``total`` from ``values`` in proportion to ``ratios``, at most ``maximums``
    from each (``rich._ratio.ratio_reduce``, including its rounding)."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums, strict=True)]
    remaining_ratio = sum(ratios)
    result = []
    for ratio, maximum, value in zip(ratios, maximums, values, strict=True):
        if ratio and remaining_ratio > 0:
            taken = min(maximum, round(ratio * total / remaining_ratio))
            result.append(value - taken)
            total -= taken
            remaining_ratio -= ratio
        else:
            result.append(value)
    return result


def _wrap(text: str, width: int, cells: _Cells) -> list[str]:
    """``text`` in lines of exactly ``width`` cells, left-justified."""
    if cells.len(text) <= width:
        return [cells.fit(text, width)]
    return [cells.fit(piece, width) for piece in _pieces(text, width, cells)]


def _pieces(text: str, width: int, cells: _Cells) -> list[str]:
    """``text`` broken into lines at words, words longer than a line folded over as many
    lines as they need (``rich._wrap.divide_line``); a line may end in spaces past
    ``width``."""
    breaks: list[int] = []
    offset = 0  # cells used on the current line
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = cells.len(word.rstrip())
        if width - offset >= length:
            offset += cells.len(word)
        elif length > width:
            pieces = cells.chop(word, width)
            for piece in pieces[:-1]:
                if start:
                    breaks.append(start)
                start += len(piece)
            if start:
                breaks.append(start)
            offset = cells.len(pieces[-1])
        elif offset and start:
            breaks.append(start)
            offset = cells.len(word)
    bounds = [0, *breaks, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _centred(text: str, width: int, cells: _Cells) -> list[str]:
    """The title's lines, each centred in ``width`` cells."""
    out = []
    for piece in _pieces(text, width, cells):
        line = piece.rstrip()
        if cells.len(line) > width:
            line = cells.fit(line, width)
        left = (width - cells.len(line)) // 2
        out.append(" " * left + line + " " * (width - left - cells.len(line)))
    return out


def _draw(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    title: str | None,
    widths: list[int],
    look: Look,
    cells: _Cells,
) -> Iterator[str]:
    box = HEAVY_HEAD if look.unicode else ASCII
    table_width = sum(widths) + len(widths) + 1
    if title:
        for line in _centred(title, table_width, cells):
            yield f"{ITALIC}{line}{RESET}\n" if look.styled else line + "\n"

    def rule(row: int) -> str:
        left, line, divider, right = box[row]
        return left + divider.join(line * w for w in widths) + right + "\n"

    yield rule(0)
    yield from _header(columns, widths, box[1], cells, look.styled)
    yield rule(2)
    # Cells repeat (a workload's name on each of its rows, the same routes and tactics in
    # every namespace): each column wraps a text once.
    wrapped: list[dict[str, list[str]]] = [{} for _ in widths]
    blanks = [" " * w for w in widths]
    last = len(rows) - 1
    for i, row in enumerate(rows):
        left, _, divider, right = box[6 if i == last else 3]
        if len(row) < len(widths):
            row = (*row, *[""] * (len(widths) - len(row)))
        cells_lines = []
        for text, w, memo in zip(row, widths, wrapped, strict=True):
            text_lines = memo.get(text)
            if text_lines is None:
                text_lines = memo[text] = [f" {t} " for t in _wrap(text, w - 2, cells)]
            cells_lines.append(text_lines)
        height = max(len(c) for c in cells_lines)
        if height == 1:
            yield left + divider.join(c[0] for c in cells_lines) + right + "\n"
            continue
        for n in range(height):  # a shorter cell gets blank lines below its text
            parts = (c[n] if n < len(c) else b for c, b in zip(cells_lines, blanks, strict=True))
            yield left + divider.join(parts) + right + "\n"
    yield rule(7)


def _header(
    columns: Sequence[str], widths: list[int], edges: Edges, cells: _Cells, styled: bool
) -> Iterator[str]:
    """The header row: a shorter cell gets blank lines above its text."""
    left, _, divider, right = edges
    wrapped = [_wrap(text, w - 2, cells) for text, w in zip(columns, widths, strict=True)]
    height = max(len(c) for c in wrapped)
    lines = []
    for w, text_lines in zip(widths, wrapped, strict=True):
        if styled:  # Rich styles the padding and the text as separate segments
            padded = [f"{BOLD} {RESET}{BOLD}{t}{RESET}{BOLD} {RESET}" for t in text_lines]
            blank = f"{BOLD}{' ' * w}{RESET}"
        else:
            padded = [f" {t} " for t in text_lines]
            blank = " " * w
        lines.append([blank] * (height - len(padded)) + padded)
    for n in range(height):
        yield left + divider.join(c[n] for c in lines) + right + "\n"
