"""Custom resources that produce pods (filled in below)."""

from __future__ import annotations

from attackmap.model._kinds import Extractor

__all__ = ["CRD_KINDS"]

CRD_KINDS: dict[str, tuple[frozenset[str], Extractor]] = {}
