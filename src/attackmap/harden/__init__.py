"""Least-privilege hardening, proven by re-analysis.

:func:`harden` takes the graph engine's minimal control set for the goal techniques,
applies it to the manifests (comments and key order kept), optionally adds the controls a
Pod Security level asks for, keeps every privilege an API-server audit log shows a workload
needs (and says which need blocks which goal or level), then re-analyses the written text:
:class:`HardenResult` carries the documents, added objects, per-control changes and the
:class:`Verification`. With ``admission=``, it also emits the policies that keep the cluster
that way (a ValidatingAdmissionPolicy or Kyverno ClusterPolicy per workload, namespace Pod
Security labels, seccomp profiles for the security-profiles-operator) and the cases that
verify them (:class:`AdmissionResult`). See ``docs/harden.md``.
"""

from __future__ import annotations

from attackmap.harden._admission import (
    AdmissionCase,
    AdmissionResult,
    AdmissionRule,
    Comparison,
    PathKept,
    WorkloadPolicy,
)
from attackmap.harden._needs import Need
from attackmap.harden._outcome import HardenResult
from attackmap.harden._plan import LEVELS, harden
from attackmap.harden._profiles import InjectedProfile
from attackmap.harden._result import (
    AppliedControl,
    Conflict,
    OutputFile,
    Verification,
    WorkloadVerification,
)

__all__ = [
    "LEVELS",
    "AdmissionCase",
    "AdmissionResult",
    "AdmissionRule",
    "AppliedControl",
    "Comparison",
    "Conflict",
    "HardenResult",
    "InjectedProfile",
    "Need",
    "OutputFile",
    "PathKept",
    "Verification",
    "WorkloadPolicy",
    "WorkloadVerification",
    "harden",
]
