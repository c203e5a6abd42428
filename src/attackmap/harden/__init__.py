"""Least-privilege hardening, proven by re-analysis.

:func:`harden` takes the graph engine's minimal control set for the goal techniques,
applies it to the manifests (comments and key order kept), optionally adds the controls a
Pod Security level asks for, keeps every privilege an API-server audit log shows a workload
needs (and says which need blocks which goal or level), then re-analyses the written text:
:class:`HardenResult` carries the documents, added objects, per-control changes and the
:class:`Verification`. See ``docs/harden.md``.
"""

from __future__ import annotations

from attackmap.harden._needs import Need
from attackmap.harden._plan import LEVELS, harden
from attackmap.harden._result import (
    AppliedControl,
    Conflict,
    HardenResult,
    OutputFile,
    Verification,
    WorkloadVerification,
)

__all__ = [
    "LEVELS",
    "AppliedControl",
    "Conflict",
    "HardenResult",
    "Need",
    "OutputFile",
    "Verification",
    "WorkloadVerification",
    "harden",
]
