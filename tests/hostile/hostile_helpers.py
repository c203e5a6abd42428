"""A tiny YAML emitter that records the line of every field path (for hostile tests).

The expected line of an error comes from here, not from attackmap's own locator, so a
test fails when attackmap reports the wrong line. Scalars are written as JSON (valid YAML
flow scalars: strings are always quoted, so ``"yes"`` stays a string); :class:`Flow`
values (the wrong-typed ones) are written in flow style on their key's line; a mapping in
a list starts on the ``-`` line.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Flow:
    """A value written in flow style on its key's line."""

    value: Any


def _inline(value: Any) -> str | None:
    if isinstance(value, Flow):
        return json.dumps(value.value)
    if isinstance(value, dict | list) and value:
        return None
    return json.dumps(value)


def emit(data: dict[str, Any]) -> tuple[str, dict[FieldPath, int]]:
    """Block-style YAML for ``data`` and the 1-based line of each field path."""
    lines: list[str] = []
    where: dict[FieldPath, int] = {}

    def block(value: Any, indent: int, path: FieldPath, first_prefix: str | None) -> None:
        prefix = first_prefix
        if isinstance(value, dict):
            for key, item in value.items():
                pad = prefix if prefix is not None else " " * indent
                prefix = None
                where[(*path, key)] = len(lines) + 1
                scalar = _inline(item)
                if scalar is not None:
                    lines.append(f"{pad}{json.dumps(key)}: {scalar}")
                else:
                    lines.append(f"{pad}{json.dumps(key)}:")
                    block(item, indent + 2, (*path, key), None)
        else:
            for i, item in enumerate(value):
                where[(*path, i)] = len(lines) + 1
                scalar = _inline(item)
                if scalar is not None:
                    lines.append(f"{' ' * indent}- {scalar}")
                elif isinstance(item, dict):
                    block(item, indent + 2, (*path, i), " " * indent + "- ")
                else:
                    lines.append(f"{' ' * indent}-")
                    block(item, indent + 2, (*path, i), None)

    block(data, 0, (), None)
    return "\n".join(lines) + "\n", where


def replaced(data: dict[str, Any], path: FieldPath, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the field at ``path`` set to ``Flow(value)``."""
    out = copy.deepcopy(data)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = Flow(value)
    return out


def field_text(path: FieldPath) -> str:
    """``("spec", "containers", 0, "name")`` → ``spec.containers[0].name`` (attackmap's form)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
