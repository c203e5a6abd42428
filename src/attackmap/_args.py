"""Arguments of the public API that take "one or several" names.

``analyze(..., goals="T1611")`` iterated the string and complained that ``'T'`` is not an
ATT&CK technique id. Here a string is one item, a list or tuple (any iterable but a
mapping or bytes) is several, and anything else is a ``TypeError`` saying what is expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def as_strings(value: object, name: str) -> tuple[str, ...]:
    """``value`` (a string, or an iterable of strings) as a tuple of strings."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, Mapping | bytes | bytearray):
        items = tuple(value)
        for item in items:
            if not isinstance(item, str):
                raise TypeError(
                    f"{name} must be a string or a list of strings; it holds "
                    f"{type(item).__name__} {item!r}"
                )
        return items
    raise TypeError(f"{name} must be a string or a list of strings, got {type(value).__name__}")
