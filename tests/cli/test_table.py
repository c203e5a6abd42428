"""attackmap.cli._table draws the tables Rich drew, character for character, and
print_table leaves to Rich only what the table module declines."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from attackmap.cli import _output, _table

# words as the CLI's cells have them, and what wraps and folds differently: a word longer
# than any column, spaces at either end, wide and combining characters, an em dash
WORDS = [
    "a",
    "exploit-cluster-service",
    ">",
    "T1611",
    "Escape to Host",
    "(+1 more)",
    "x" * 41,
    "",
    "  ",
    "é",
    "中文字",
    "e\u0301",
    "—",
    "→",
    "“naïve”",
    "[bold]not markup[/bold]",
    ":lock:",
]
text = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)


class _File(io.StringIO):
    """A stdout with an encoding of our choice (Rich draws ASCII boxes for non-UTF-8)."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]  # a property on the real streams
        return self._encoding


def _rich(columns: list[str], rows: list[list[str]], title: str | None, look: _table.Look) -> str:
    out = _File("utf-8" if look.unicode else "ascii")
    console = Console(
        file=out,
        width=look.width,
        soft_wrap=False,
        markup=False,
        emoji=False,
        force_terminal=look.styled or None,
        color_system="standard" if look.styled else None,
    )
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return out.getvalue()


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], str | None, _table.Look]:
    n = draw(st.integers(1, 8))
    columns = [draw(text) or "h" for _ in range(n)]
    rows = [[draw(text) for _ in range(n)] for _ in range(draw(st.integers(0, 5)))]
    title = draw(st.none() | text.filter(bool))
    look = _table.Look(draw(st.integers(10, 200)), draw(st.booleans()), draw(st.booleans()))
    return columns, rows, title, look


@settings(max_examples=300, deadline=None)
@given(tables())
def test_the_table_is_richs_to_the_character(
    table: tuple[list[str], list[list[str]], str | None, _table.Look],
) -> None:
    columns, rows, title, look = table
    lines = _table.lines(columns, rows, title=title, look=look)
    if lines is None:  # columns narrower than three cells: Rich draws those
        assert look.width - len(columns) - 1 < 3 * len(columns)
        return
    assert "".join(lines) == _rich(columns, rows, title, look)


def test_a_report_row_wraps_at_words_and_folds_long_words() -> None:
    columns = ["workload", "technique", "shortest path", "broken on every path by"]
    row = [
        "CronJob/app-00004/cronjob-003",
        "AML.T0018.000 Poison AI Model",
        "exploit-cluster-service > reach-pod-network > exploit-pod-service",
        "isolate-ingress, read-only-shared-volumes, restrict-egress",
    ]
    look = _table.Look(80)
    text = "".join(_table.lines(columns, [row, row[:2]], title="attackmap", look=look) or [])
    assert text == _rich(columns, [row, row[:2]], "attackmap", look)
    assert text.splitlines()[2:] == [
        "┃                   ┃                   ┃                   ┃ broken on every  ┃",
        "┃ workload          ┃ technique         ┃ shortest path     ┃ path by          ┃",
        "┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━┩",
        "│ CronJob/app-00004 │ AML.T0018.000     │ exploit-cluster-s │ isolate-ingress, │",
        "│ /cronjob-003      │ Poison AI Model   │ ervice >          │ read-only-shared │",
        "│                   │                   │ reach-pod-network │ -volumes,        │",
        "│                   │                   │ >                 │ restrict-egress  │",
        "│                   │                   │ exploit-pod-servi │                  │",
        "│                   │                   │ ce                │                  │",
        "│ CronJob/app-00004 │ AML.T0018.000     │                   │                  │",
        "│ /cronjob-003      │ Poison AI Model   │                   │                  │",
        "└───────────────────┴───────────────────┴───────────────────┴──────────────────┘",
    ]


@pytest.mark.parametrize("cell", ["a\tb", "two\nlines", "bell\x07"])
def test_cells_it_cannot_draw_are_declined(cell: str) -> None:
    assert _table.lines(["a"], [[cell]], title=None, look=_table.Look(80)) is None


def test_narrow_text_is_one_cell_a_character_for_rich() -> None:
    # the characters measured without Rich (``_table.NARROW``) are each one cell wide in
    # Rich's tables, as ``len`` and slicing take them
    from rich.cells import cell_len

    narrow = [chr(c) for c in range(0x30000) if _table.NARROW(chr(c))]
    assert len(narrow) > 700
    assert [c for c in narrow if cell_len(c) != 1] == []
    assert not _table.NARROW("\u00ad") and not _table.NARROW("中") and not _table.NARROW("e\u0301")


def test_a_row_longer_than_the_columns_is_an_error() -> None:
    with pytest.raises(ValueError, match="more cells than the 1 columns"):
        _table.lines(["a"], [["x", "y"]], title=None, look=_table.Look(80))


def test_a_short_row_gets_empty_cells() -> None:
    look = _table.Look(40)
    text = "".join(_table.lines(["a", "b"], [["x"]], title=None, look=look) or [])
    assert text == _rich(["a", "b"], [["x", ""]], None, look)


def test_print_table_off_a_terminal_draws_without_rich(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Rich drew a table attackmap draws itself")

    monkeypatch.setattr(_output, "_rich_table", refuse)
    rows = [["CronJob/app/job", "[bold]x[/bold] :lock:"]] * 3
    _output.print_table(["a", "b"], rows, title="t")
    out = capsys.readouterr().out
    assert out == _rich(["a", "b"], rows, "t", _table.Look(_output.PIPE_WIDTH))
    assert "[bold]x[/bold] :lock:" in out  # as given: neither markup nor an emoji code


def test_print_table_leaves_what_it_declines_to_rich(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "40")
    rows = [["tab\there", "[red]x"]]
    assert _table.lines(["a", "b"], rows, title=None, look=_table.Look(40)) is None
    _output.print_table(["a", "b"], rows, title=None)
    out = capsys.readouterr().out
    assert out == _rich(["a", "b"], rows, None, _table.Look(40))
    assert "[red]x" in out  # no markup there either


def test_a_forced_terminal_is_styled_as_rich_styles_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    rows = [["Deployment/a/b", "T1611 Escape to Host (+3 more) via a long route"]]
    _output.print_table(["workload", "technique"], rows, title="title")
    out = capsys.readouterr().out
    assert "\x1b[1mworkload" in out and "\x1b[3m" in out
    assert out == _rich(["workload", "technique"], rows, "title", _table.Look(50, styled=True))
