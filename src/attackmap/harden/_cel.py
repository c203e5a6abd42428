"""Building CEL text for admission policies: literals and field reads that never error.

Kubernetes evaluates a ``ValidatingAdmissionPolicy`` expression against the typed object;
reading an absent field is an *error* (``no such key``), which with ``failurePolicy: Fail``
denies the request with a message nobody can act on. Every read here is therefore guarded
by ``has()`` on each step, and a ternary only ever joins values of one type (a string with
a string, a bool with a bool) so that the API server's type checker accepts it.

Only the CEL the Kubernetes docs use for pods is emitted: ``has``, ``in``, ``all``,
``exists``, ``size``, ternaries and ``==`` on strings, booleans and ints — nothing from the
optional-types or Kubernetes extension libraries. Tests evaluate every expression with a
real CEL implementation (``cel-python``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

__all__ = ["all_of", "any_of", "field", "has_path", "lit", "str_list"]


def lit(value: str | bool | int) -> str:
    """A CEL literal: a double-quoted string (JSON escapes are CEL escapes), a bool, an int."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=True)


def str_list(values: Iterable[str]) -> str:
    """A CEL list of string literals, sorted (deterministic text)."""
    return "[" + ", ".join(lit(v) for v in sorted(set(values))) + "]"


def has_path(base: str, *keys: str) -> str:
    """``(has(base.k1) && has(base.k1.k2) && ...)``: every step of the path is present
    (parenthesised, so that ``!`` before it negates all of it)."""
    out: list[str] = []
    path = base
    for key in keys:
        path = f"{path}.{key}"
        out.append(f"has({path})")
    return out[0] if len(out) == 1 else "(" + " && ".join(out) + ")"


def field(base: str, *keys: str, default: str) -> str:
    """``base.k1.k2...`` when every step is present, else ``default`` (a CEL literal of
    the same type)."""
    return f"({has_path(base, *keys)} ? {base}.{'.'.join(keys)} : {default})"


def all_of(parts: Iterable[str]) -> str:
    """``(a) && (b) ...``; ``true`` for none."""
    items = [f"({p})" for p in parts]
    return " && ".join(items) if items else "true"


def any_of(parts: Iterable[str]) -> str:
    """``(a) || (b) ...``; ``false`` for none."""
    items = [f"({p})" for p in parts]
    return " || ".join(items) if items else "false"
