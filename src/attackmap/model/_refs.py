"""Identity and provenance: :class:`ObjectRef`, :class:`SourceLocation`, warnings, skips."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Frozen", "LoadWarning", "ObjectRef", "SkippedObject", "SourceLocation"]


class Frozen(BaseModel):
    """Base of attackmap's own models: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectRef(Frozen):
    """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped).

    ``component`` distinguishes the pod templates of one object that has several
    (LeaderWorkerSet ``leader``/``worker``, MPIJob ``launcher``/``worker``); it prints
    as ``Kind/ns/name#component``.
    """

    kind: str
    namespace: str | None
    name: str
    component: str | None = None

    def __str__(self) -> str:
        base = (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind}/{self.name}"
        )
        return f"{base}#{self.component}" if self.component else base

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.namespace or "", self.name, self.component or "")

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, ObjectRef):
            return NotImplemented
        return self.sort_key() < other.sort_key()


class SourceLocation(Frozen):
    """Where an object was read: file (or ``<stdin>``/``<text>``/``<object>``), 0-based
    document index in that file, 1-based line of the document (None when unknown), and the
    Helm template (``# Source:`` comment) when the input was ``helm template`` output."""

    path: str
    document: int
    line: int | None = None
    helm_source: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


class SkippedObject(Frozen):
    """A document attackmap does not analyse, and why (never dropped silently)."""

    kind: str | None
    api_version: str | None
    name: str | None
    namespace: str | None
    source: SourceLocation
    reason: str


class LoadWarning(Frozen):
    """A dangling or suspicious reference (a Service selecting nothing, a missing SA...)."""

    message: str
    ref: ObjectRef | None = None
    source: SourceLocation | None = None

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        what = f"{self.ref}: " if self.ref else ""
        return f"{where}{what}{self.message}"
