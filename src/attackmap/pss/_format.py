"""String helpers that reproduce the API server's formatting (Go ``fmt`` and PSA helpers)."""

from __future__ import annotations

from collections.abc import Sequence

_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
               "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}  # fmt: skip


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def join_quote(items: Sequence[str]) -> str:
    """``"a", "b"`` (no escaping, like PSA's joinQuote); empty for no items."""
    if not items:
        return ""
    return '"' + '", "'.join(items) + '"'


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string: double-quoted with Go escapes."""
    out = []
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def sorted_unique(items: Sequence[str] | set[str]) -> list[str]:
    """Like Go's ``sets.NewString(...).List()``: unique, sorted by bytes."""
    return sorted(set(items))  # code-point order == UTF-8 byte order
