"""Pod Security Standards, evaluated exactly as the Kubernetes API server does.

* :func:`evaluate` — one pod (or a workload's pod template) against a level and version,
  with the API server's reason/detail strings and message;
* :func:`lowest_level` — the strictest level a pod passes;
* :func:`parse_violations` / :func:`parse_policy` — API-server strings back into checks;
* :data:`CHECKS` / :func:`checks` — what each check inspects, per level and version;
* :class:`NamespacePolicy` (namespace labels), :class:`AdmissionPolicy` (the API server's
  ``PodSecurityConfiguration``), :func:`admits` (would this pod be admitted here?) and
  :func:`most_permissive_admitted` (the strongest pod an actor can get admitted).

Semantics, versions and the conformance suite: ``docs/pss.md``.
"""

from __future__ import annotations

from attackmap.pss._admission import (
    CONTROLLER_USERNAMES,
    Admission,
    PodEnvelope,
    admits,
    most_permissive_admitted,
)
from attackmap.pss._evaluate import checks, evaluate, lowest_level
from attackmap.pss._messages import parse_violations
from attackmap.pss._models import CheckDescriptor, PSSResult, Violation
from attackmap.pss._namespace import AdmissionPolicy, LevelVersion, NamespacePolicy
from attackmap.pss._versions import LEVELS, NEWEST_MINOR, all_versions, parse_policy

NEWEST_VERSION = f"v1.{NEWEST_MINOR}"
"""The version ``latest`` evaluates as."""

CHECKS: tuple[CheckDescriptor, ...] = checks()
"""Every check (baseline, then restricted), as :class:`CheckDescriptor`."""

__all__ = [
    "CHECKS",
    "CONTROLLER_USERNAMES",
    "LEVELS",
    "NEWEST_VERSION",
    "Admission",
    "AdmissionPolicy",
    "CheckDescriptor",
    "LevelVersion",
    "NamespacePolicy",
    "PSSResult",
    "PodEnvelope",
    "Violation",
    "admits",
    "all_versions",
    "checks",
    "evaluate",
    "lowest_level",
    "most_permissive_admitted",
    "parse_policy",
    "parse_violations",
]
