"""JSON text, sorted and deterministic: the one encoder the report and the exporters share.

* **compact**: ``json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``
  — CPython's C encoder;
* **pretty**: the same with ``indent=2``. CPython encodes ``indent`` with its pure-Python
  encoder (a generator per nesting level), which took 13 s for a 1,000-workload report, so
  :func:`dumps` builds the indented text itself, byte for byte what ``json.dumps`` gives.

A leaf module (standard library only), so data modules (the report) and views (exporters)
can both use it without depending on each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, Protocol

_compact: Callable[[Any], str] = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":")
).encode
_INDENT = "  "
_CONTAINERS = (dict, list, tuple)
_SEQUENCES = (list, tuple)


class TextSink(Protocol):
    """Where a streamed document is written: anything with ``write(str)`` (a text file,
    ``sys.stdout``, ``io.StringIO``)."""

    def write(self, text: str, /) -> object: ...


def dumps(obj: Any, *, pretty: bool = False, level: int = 0) -> str:
    """``obj`` as JSON, keys sorted, non-ASCII kept: byte-identical to ``json.dumps(obj,
    sort_keys=True, ensure_ascii=False, indent=2 if pretty else None, separators=...)``
    (compact: ``(",", ":")``). ``level`` is the nesting depth the text will sit at (pretty
    only: the indentation of its inner lines); the first line is never indented."""
    if not pretty:
        return _compact(obj)
    out: list[str] = []
    _pretty(obj, out, "\n" + _INDENT * level)
    return "".join(out)


# -- the indented encoder ----------------------------------------------------------------
# One recursive function appending to a list: no generator per level, strings and numbers
# through the C encoder. Each container opens with its first separator ("{" + newline +
# indent), joins items with "," + newline + indent, and closes on its parent's indent, as
# json.encoder._make_iterencode does; empty containers are "{}" / "[]".


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    return _compact(value)  # floats (NaN/Infinity as json does), int subclasses, errors


def _key(key: Any) -> str:
    if isinstance(key, str):
        return encode_basestring(key)
    if isinstance(key, bool | int | float) or key is None:
        # json.dumps turns these keys into strings ("true", "1", "1.5", "null")
        return encode_basestring(_scalar(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _pretty(value: Any, out: list[str], newline: str) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + _INDENT
        separator = "{" + inner
        for key, item in sorted(value.items()):
            if isinstance(item, _CONTAINERS):
                out.append(separator + _key(key) + ": ")
                _pretty(item, out, inner)
            else:
                out.append(separator + _key(key) + ": " + _scalar(item))
            separator = "," + inner
        out.append(newline + "}")
    elif isinstance(value, _SEQUENCES):
        if not value:
            out.append("[]")
            return
        inner = newline + _INDENT
        separator = "[" + inner
        for item in value:
            if isinstance(item, _CONTAINERS):
                out.append(separator)
                _pretty(item, out, inner)
            else:
                out.append(separator + _scalar(item))
            separator = "," + inner
        out.append(newline + "]")
    else:
        out.append(_scalar(value))
