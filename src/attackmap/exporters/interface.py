"""The one interface every output format implements.

An exporter turns a :class:`~attackmap.graph.Report` into text (``str``) and does no I/O;
the CLI writes the text where the user asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from attackmap.graph import Report


class Exporter(Protocol):
    """A report format: ``name`` (the ``--format`` value), ``suffix`` (file extension,
    with the dot), ``description`` (one line for ``--help``) and :meth:`export`."""

    name: str
    suffix: str
    description: str

    def export(self, report: Report) -> str:
        """The whole document for ``report``, deterministic for identical input."""
        ...
