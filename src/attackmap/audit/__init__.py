"""Kubernetes API-server audit logs: what workloads and principals actually did.

* :func:`read` / :class:`AuditReader` -- stream :class:`AuditEvent` s from files, ``.gz``,
  rotated directories, stdin or streams; bad lines are counted in :class:`ReadStats`, never
  fatal; one event per request (stage de-duplication);
* :func:`analyze_audit` -> :class:`AuditSummary` -- per principal: API permissions used,
  denials, a minimal Role/RoleBinding proposal; per workload: Pod Security checks violated
  and the level it needs; ATT&CK techniques evidenced, each citing ``file:line`` and
  ``auditID``;
* :func:`propose_rbac` -- the proposal on its own; :func:`pod_security` -- the Pod
  Security annotations and denial of one event.

Only metadata and two small summaries of ``requestObject`` are kept (pod privileges and
owner, binding roleRef/subjects): Secret data never leaves the reader. Formats, rules and
tables: ``docs/audit.md``.
"""

from __future__ import annotations

from attackmap.audit._events import (
    AuditEvent,
    AuditUser,
    BindingSubject,
    BindingSummary,
    ObjectRef,
    OwnerRef,
    PodSummary,
    ResponseStatus,
    RoleRef,
    Source,
)
from attackmap.audit._evidence import TECHNIQUE_NAMES
from attackmap.audit._extract import ApiRequest, PodSecurityRecord, pod_security, workload_of
from attackmap.audit._rbac import VERB_EXPANSION, propose_rbac
from attackmap.audit._reader import AuditReader, BadLine, ReadStats, read, rotation_order
from attackmap.audit._summary import (
    AuditSummary,
    Denial,
    Evidence,
    PodSecurityViolation,
    PrincipalSummary,
    RequestUse,
    TechniqueEvidence,
    WorkloadSummary,
    analyze_audit,
)

__all__ = [
    "TECHNIQUE_NAMES",
    "VERB_EXPANSION",
    "ApiRequest",
    "AuditEvent",
    "AuditReader",
    "AuditSummary",
    "AuditUser",
    "BadLine",
    "BindingSubject",
    "BindingSummary",
    "Denial",
    "Evidence",
    "ObjectRef",
    "OwnerRef",
    "PodSecurityRecord",
    "PodSecurityViolation",
    "PodSummary",
    "PrincipalSummary",
    "ReadStats",
    "RequestUse",
    "ResponseStatus",
    "RoleRef",
    "Source",
    "TechniqueEvidence",
    "WorkloadSummary",
    "analyze_audit",
    "pod_security",
    "propose_rbac",
    "read",
    "rotation_order",
    "workload_of",
]
