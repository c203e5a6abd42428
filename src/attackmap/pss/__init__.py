"""Pod Security Standards, evaluated exactly as the Kubernetes API server does.

* :func:`evaluate` — one pod (or a workload's pod template) against a level and version,
  with the API server's reason/detail strings and message;
* :func:`lowest_level` — the strictest level a pod passes;
* :func:`parse_violations` / :func:`parse_policy` — API-server strings back into checks;
* :data:`CHECKS` / :func:`checks` — what each check inspects, per level and version.

Semantics, versions and the conformance suite: ``docs/pss.md``.
"""

from __future__ import annotations

from attackmap.pss._evaluate import checks, evaluate, lowest_level
from attackmap.pss._messages import parse_violations
from attackmap.pss._models import CheckDescriptor, PSSResult, Violation
from attackmap.pss._versions import LEVELS, NEWEST_MINOR, all_versions, parse_policy

NEWEST_VERSION = f"v1.{NEWEST_MINOR}"
"""The version ``latest`` evaluates as."""

CHECKS: tuple[CheckDescriptor, ...] = checks()
"""Every check (baseline, then restricted), as :class:`CheckDescriptor`."""

__all__ = [
    "CHECKS",
    "LEVELS",
    "NEWEST_VERSION",
    "CheckDescriptor",
    "PSSResult",
    "Violation",
    "all_versions",
    "checks",
    "evaluate",
    "lowest_level",
    "parse_policy",
    "parse_violations",
]
