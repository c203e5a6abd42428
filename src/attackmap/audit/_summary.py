"""What an audit log says about each principal and workload: :func:`analyze_audit`.

One pass over the events (a generator is fine; memory grows with the number of distinct
principals, resources and findings, not with the number of events -- each aggregate keeps
a count and its first :data:`MAX_EVIDENCE` citations).

* **Principals** (usernames; the impersonated user when a request was impersonated): the
  resource requests RBAC allowed (the basis of the minimal Role proposal, see
  :mod:`attackmap.audit._rbac`), the requests refused (RBAC ``forbid``, Pod Security, other
  admission 403s), the authorization reasons that let it in, the ATT&CK techniques its
  requests evidence (:mod:`attackmap.audit._evidence`), and the workloads running as it.
  Non-resource and discovery requests (``/api``, ``/apis``, ``/version``, ``/openapi``...)
  are counted in ``AuditSummary.skipped_requests`` and otherwise ignored.
* **Workloads**: pod and controller events are attributed to their workload
  (:func:`attackmap.audit._extract.workload_of`): the Pod Security checks its pods violated
  (audit annotations and enforce denials, parsed by :func:`attackmap.pss.parse_violations`),
  the enforce policies and exemptions in effect, its ServiceAccount (``spec.serviceAccountName``,
  ``default`` when unset) and the least-privileged level its pods were seen to need.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from attackmap.audit._events import AuditEvent
from attackmap.audit._evidence import TECHNIQUE_NAMES, may_evidence, techniques_of
from attackmap.audit._extract import (
    DECISION_KEY,
    REASON_KEY,
    ApiRequest,
    pod_security,
    psa_annotated,
    workload_of,
)
from attackmap.audit._rbac import SA_PREFIX, propose_rbac
from attackmap.errors import PSSError

__all__ = [
    "MAX_EVIDENCE",
    "AuditSummary",
    "Denial",
    "Evidence",
    "PodSecurityViolation",
    "PrincipalSummary",
    "RequestUse",
    "TechniqueEvidence",
    "WorkloadSummary",
    "analyze_audit",
]

log = logging.getLogger(__name__)

MAX_EVIDENCE = 10
MAX_NAMES = 5
LEVEL_NEEDED = {"baseline": "privileged", "restricted": "baseline"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Evidence(_Frozen):
    """An audit line: ``file:line`` and the request's ``auditID`` and timestamp."""

    file: str
    line: int
    audit_id: str = ""
    timestamp: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f" ({self.audit_id})" if self.audit_id else "")


class RequestUse(_Frozen):
    """Allowed requests of one verb on one resource in one namespace (``""``: cluster-wide)."""

    verb: str
    api_group: str
    resource: str
    """As RBAC names it: ``pods``, ``pods/exec``."""
    namespace: str
    count: int
    names: tuple[str, ...] = ()
    """Up to five object names seen (sorted); names are collapsed in the proposal."""
    first: Evidence


class Denial(_Frozen):
    """Refused requests of one kind, verb and object."""

    kind: Literal["rbac", "pod-security", "admission"]
    verb: str
    api_group: str
    resource: str
    namespace: str
    names: tuple[str, ...] = ()
    """Up to five object names refused (sorted)."""
    reason: str
    """RBAC: the authorizer's reason; Pod Security: the enforce policy; else the HTTP reason."""
    message: str = ""
    count: int
    first: Evidence


class PodSecurityViolation(_Frozen):
    """A Pod Security check a workload's pods failed, as the API server reported it."""

    check: str
    """Check id (``privileged``, ``capabilities_restricted``...); ``unknown`` for a reason
    attackmap does not know, ``unparsed`` when the text could not be parsed."""
    level: str
    """The level that introduces the check (``baseline``/``restricted``; empty if unknown)."""
    policy: str
    """The ``level:version`` evaluated."""
    mode: Literal["audit", "enforce"]
    reason: str
    detail: str
    containers: tuple[str, ...] = ()
    count: int
    first: Evidence


class TechniqueEvidence(_Frozen):
    """Events evidencing one ATT&CK technique by one principal doing one thing."""

    technique: str
    name: str
    principal: str
    what: str
    names: tuple[str, ...] = ()
    """Up to five object names concerned (sorted)."""
    allowed: bool
    """Whether the requests went through (else they were attempts refused with a 4xx)."""
    count: int
    evidence: tuple[Evidence, ...]
    """The first :data:`MAX_EVIDENCE` events, in read order."""


class PrincipalSummary(_Frozen):
    """One user or ServiceAccount: what it did, what it was refused, what to grant it."""

    principal: str
    kind: Literal["ServiceAccount", "User", "Node", "System"]
    requests: tuple[RequestUse, ...] = ()
    denials: tuple[Denial, ...] = ()
    techniques: tuple[TechniqueEvidence, ...] = ()
    authorized_by: tuple[str, ...] = ()
    """Distinct ``authorization.k8s.io/reason`` values of its allowed requests."""
    workloads: tuple[str, ...] = ()
    """Workloads (``Kind/namespace/name``) running as this ServiceAccount."""
    impersonated_by: tuple[str, ...] = ()
    proposal: tuple[dict[str, Any], ...] = ()
    """Minimal Role/ClusterRole + bindings for its allowed requests (Kubernetes objects)."""


class WorkloadSummary(_Frozen):
    """One workload: Pod Security outcome of its pods, and its ServiceAccount."""

    ref: str
    """``Kind/namespace/name``."""
    kind: str
    namespace: str
    name: str
    service_account: str = ""
    """The ServiceAccount principal its pods run as (empty if no pod spec was logged)."""
    enforce_policies: tuple[str, ...] = ()
    exemptions: tuple[str, ...] = ()
    violations: tuple[PodSecurityViolation, ...] = ()
    required_level: str = ""
    """The most restrictive Pod Security level its pods were seen to satisfy: ``privileged``
    (a baseline check failed), ``baseline`` (only restricted checks failed), ``restricted``
    (enforced without a denial and no violation reported); empty when unknown."""
    denials: tuple[Denial, ...] = ()
    techniques: tuple[TechniqueEvidence, ...] = ()


class AuditSummary(_Frozen):
    """Everything :func:`analyze_audit` found, sorted."""

    events: int
    resource_requests: int
    skipped_requests: int
    """Non-resource and discovery requests (no ``objectRef.resource``)."""
    principals: tuple[PrincipalSummary, ...] = ()
    workloads: tuple[WorkloadSummary, ...] = ()
    techniques: tuple[TechniqueEvidence, ...] = ()

    def principal(self, name: str) -> PrincipalSummary | None:
        """The summary of one principal, if it appears."""
        return next((p for p in self.principals if p.principal == name), None)

    def workload(self, ref: str) -> WorkloadSummary | None:
        """The summary of one workload (``Kind/namespace/name``), if it appears."""
        return next((w for w in self.workloads if w.ref == ref), None)


# --------------------------------------------------------------------------- aggregation


_Cite = tuple[str, int, str, str]  # file, line, auditID, timestamp


@dataclass(slots=True)
class _Agg:
    count: int = 0
    cites: list[_Cite] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def add(self, cite: _Cite, name: str = "") -> None:
        self.count += 1
        if len(self.cites) < MAX_EVIDENCE:
            self.cites.append(cite)
        if name and len(self.names) < MAX_NAMES:
            self.names.add(name)

    @property
    def evidence(self) -> list[Evidence]:
        return [Evidence(file=f, line=n, audit_id=a, timestamp=t) for f, n, a, t in self.cites]


@dataclass
class _Principal:
    requests: dict[tuple[str, str, str, str], _Agg] = field(default_factory=dict)
    denials: dict[tuple[str, ...], _Agg] = field(default_factory=dict)
    techniques: dict[tuple[str, str, bool], _Agg] = field(default_factory=dict)
    authorized_by: set[str] = field(default_factory=set)
    workloads: set[str] = field(default_factory=set)
    impersonated_by: set[str] = field(default_factory=set)


@dataclass
class _Workload:
    service_account: str = ""
    enforce: set[str] = field(default_factory=set)
    exempt: set[str] = field(default_factory=set)
    violations: dict[tuple[Any, ...], _Agg] = field(default_factory=dict)
    denials: dict[tuple[str, ...], _Agg] = field(default_factory=dict)
    techniques: dict[tuple[str, str, str, bool], _Agg] = field(default_factory=dict)


def _agg(table: dict[Any, _Agg], key: Any) -> _Agg:
    found = table.get(key)
    if found is None:
        found = table[key] = _Agg()
    return found


def _kind(principal: str) -> Literal["ServiceAccount", "User", "Node", "System"]:
    if principal.startswith(SA_PREFIX):
        return "ServiceAccount"
    if principal.startswith("system:node:"):
        return "Node"
    if principal.startswith("system:"):
        return "System"
    return "User"


def _check_levels() -> dict[str, str]:
    from attackmap.pss import CHECKS

    return {c.id: c.level for c in CHECKS}


def _violations(text: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    from attackmap.pss import parse_violations

    try:
        return [(v.check, v.reason, v.detail, v.containers) for v in parse_violations(text)]
    except PSSError as e:
        log.warning("cannot parse Pod Security violations %r: %s", text[:120], e.message)
        return [("unparsed", text, "", ())]


class _Analysis:
    def __init__(self) -> None:
        self.events = 0
        self.resource_requests = 0
        self.skipped = 0
        self.principals: dict[str, _Principal] = {}
        self.workloads: dict[tuple[str, str, str], _Workload] = {}
        self.parsed: dict[str, list[tuple[str, str, str, tuple[str, ...]]]] = {}

    def principal(self, name: str) -> _Principal:
        found = self.principals.get(name)
        if found is None:
            found = self.principals[name] = _Principal()
        return found

    def workload(self, key: tuple[str, str, str]) -> _Workload:
        found = self.workloads.get(key)
        if found is None:
            found = self.workloads[key] = _Workload()
        return found

    def violations(self, text: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
        found = self.parsed.get(text)
        if found is None:
            if len(self.parsed) > 10_000:  # bounded memo
                self.parsed.clear()
            found = self.parsed[text] = _violations(text)
        return found

    def add(self, event: AuditEvent) -> None:
        # runs once per event: attributes are read once, models are built only for the
        # few events that can say something about Pod Security, techniques or workloads
        self.events += 1
        ref = event.object_ref
        verb = event.verb
        if ref is None or not ref.resource or not verb:  # as api_request(): no request
            self.skipped += 1
            return
        self.resource_requests += 1
        res, sub, namespace, group, name = (
            ref.resource,
            ref.subresource,
            ref.namespace,
            ref.api_group,
            ref.name,
        )
        ev = (
            event.source.file,
            event.source.line,
            event.audit_id,
            event.request_received_timestamp,
        )
        user = event.user.username
        impersonated = event.impersonated_user
        who = impersonated.username if impersonated is not None and impersonated.username else user
        p = self.principals.get(who)
        if p is None:
            p = self.principals[who] = _Principal()
        if impersonated is not None and user != who:
            p.impersonated_by.add(user)
        annotations = event.annotations
        decision = annotations.get(DECISION_KEY, "")
        reason = annotations.get(REASON_KEY, "")
        status = event.response_status
        code = status.code if status is not None else 0
        authorized = decision == "allow" or (not decision and code not in (401, 403))
        resource = f"{res}/{sub}" if sub else res

        if authorized:
            used = (namespace, group, resource, verb)
            agg = p.requests.get(used)
            if agg is None:
                agg = p.requests[used] = _Agg()
            agg.add(ev, name)
            if reason:
                p.authorized_by.add(reason)

        pod = event.pod
        psa = pod_security(event) if code == 403 or psa_annotated(annotations) else None
        hits = (
            techniques_of(
                event,
                ApiRequest(
                    verb=verb,
                    api_group=group,
                    resource=res,
                    subresource=sub,
                    namespace=namespace,
                    name=name,
                ),
                authorized and not 400 <= code < 500,
            )
            if may_evidence(res, sub, verb)
            else ()
        )
        if decision != "forbid" and psa is None and code != 403 and not hits and pod is None:
            return  # the common case: nothing else to record

        # only pod specs, Pod Security outcomes and deployed containers say something about a
        # workload (a plain "get pods/x" does not)
        wl_key = (
            workload_of(event)
            if psa is not None or pod is not None or any(h.technique == "T1610" for h in hits)
            else None
        )
        wl = self.workload(wl_key) if wl_key is not None else None

        denial: tuple[str, ...] | None = None
        if decision == "forbid":
            denial = ("rbac", reason, "")
        elif psa is not None and psa.denial:
            denial = ("pod-security", psa.denied_policy, psa.denial)
        elif code == 403:
            denial = (
                "admission",
                status.reason if status else "",
                status.message if status else "",
            )
        if denial is not None:
            key = (denial[0], verb, group, resource, namespace)
            _agg(p.denials, (*key, *denial[1:])).add(ev, name)
            if wl is not None and denial[0] == "pod-security":
                _agg(wl.denials, (*key, *denial[1:])).add(ev, name)

        for hit in hits:
            _agg(p.techniques, (hit.technique, hit.what, hit.allowed)).add(ev, hit.name)
            if wl is not None and hit.technique == "T1610":
                _agg(wl.techniques, (hit.technique, who, hit.what, hit.allowed)).add(ev, hit.name)

        if wl is None or wl_key is None:
            return
        if pod is not None and wl_key[1]:
            sa = f"{SA_PREFIX}{wl_key[1]}:{pod.service_account or 'default'}"
            wl.service_account = sa
            self.principal(sa).workloads.add("/".join(wl_key))
        if psa is None:
            return
        if psa.enforce_policy:
            wl.enforce.add(psa.enforce_policy)
        if psa.exempt:
            wl.exempt.add(psa.exempt)
        for mode, policy, text in (
            ("audit", psa.audit_policy, psa.audit_violations),
            ("enforce", psa.denied_policy, psa.denial),
        ):
            if text:
                for check, why, detail, containers in self.violations(text):
                    _agg(wl.violations, (check, policy, mode, why, detail, containers)).add(ev)

    # ------------------------------------------------------------------ freeze

    def summary(self, extra_workloads: Mapping[str, Iterable[str]]) -> AuditSummary:
        levels = _check_levels()
        for sa, refs in extra_workloads.items():
            self.principal(sa).workloads.update(refs)
        principals = [
            self._principal(name, self.principals[name]) for name in sorted(self.principals)
        ]
        workloads = [
            self._workload(key, self.workloads[key], levels) for key in sorted(self.workloads)
        ]
        techniques = sorted(
            (t for p in principals for t in p.techniques),
            key=lambda t: (t.technique, t.principal, t.what, not t.allowed),
        )
        return AuditSummary(
            events=self.events,
            resource_requests=self.resource_requests,
            skipped_requests=self.skipped,
            principals=tuple(principals),
            workloads=tuple(workloads),
            techniques=tuple(techniques),
        )

    @staticmethod
    def _denials(table: dict[tuple[str, ...], _Agg]) -> tuple[Denial, ...]:
        return tuple(
            Denial(
                kind=key[0],  # type: ignore[arg-type]  # keys are built from the Literal's values
                verb=key[1],
                api_group=key[2],
                resource=key[3],
                namespace=key[4],
                names=tuple(sorted(agg.names)),
                reason=key[5],
                message=key[6],
                count=agg.count,
                first=agg.evidence[0],
            )
            for key, agg in sorted(table.items())
        )

    def _principal(self, name: str, p: _Principal) -> PrincipalSummary:
        requests = tuple(
            RequestUse(
                namespace=ns,
                api_group=group,
                resource=resource,
                verb=verb,
                count=agg.count,
                names=tuple(sorted(agg.names)),
                first=agg.evidence[0],
            )
            for (ns, group, resource, verb), agg in sorted(p.requests.items())
        )
        techniques = tuple(
            TechniqueEvidence(
                technique=technique,
                name=TECHNIQUE_NAMES[technique],
                principal=name,
                what=what,
                names=tuple(sorted(agg.names)),
                allowed=allowed,
                count=agg.count,
                evidence=tuple(agg.evidence),
            )
            for (technique, what, allowed), agg in sorted(p.techniques.items())
        )
        return PrincipalSummary(
            principal=name,
            kind=_kind(name),
            requests=requests,
            denials=self._denials(p.denials),
            techniques=techniques,
            authorized_by=tuple(sorted(p.authorized_by)),
            workloads=tuple(sorted(p.workloads)),
            impersonated_by=tuple(sorted(p.impersonated_by)),
            proposal=tuple(propose_rbac(name, p.requests)),
        )

    def _workload(
        self, key: tuple[str, str, str], w: _Workload, levels: Mapping[str, str]
    ) -> WorkloadSummary:
        violations = tuple(
            PodSecurityViolation(
                check=check,
                level=levels.get(check, ""),
                policy=policy,
                mode=mode,
                reason=why,
                detail=detail,
                containers=containers,
                count=agg.count,
                first=agg.evidence[0],
            )
            for (check, policy, mode, why, detail, containers), agg in sorted(w.violations.items())
        )
        failed = {v.level for v in violations}
        if "baseline" in failed:
            required = "privileged"
        elif "restricted" in failed:
            required = "baseline"
        elif any(p.startswith("restricted:") for p in w.enforce) and not w.denials:
            required = "restricted"
        else:
            required = ""
        techniques = tuple(
            TechniqueEvidence(
                technique=technique,
                name=TECHNIQUE_NAMES[technique],
                principal=who,
                what=what,
                names=tuple(sorted(agg.names)),
                allowed=allowed,
                count=agg.count,
                evidence=tuple(agg.evidence),
            )
            for (technique, who, what, allowed), agg in sorted(w.techniques.items())
        )
        return WorkloadSummary(
            ref="/".join(key),
            kind=key[0],
            namespace=key[1],
            name=key[2],
            service_account=w.service_account,
            enforce_policies=tuple(sorted(w.enforce)),
            exemptions=tuple(sorted(w.exempt)),
            violations=violations,
            required_level=required,
            denials=self._denials(w.denials),
            techniques=techniques,
        )


def analyze_audit(
    events: Iterable[AuditEvent],
    *,
    workloads: Mapping[str, Iterable[str]] | None = None,
) -> AuditSummary:
    """Summarise ``events`` per principal and per workload (see the module docstring).

    ``workloads`` maps ServiceAccount principals (``system:serviceaccount:<ns>:<name>``) to
    workload refs known from elsewhere (e.g. the manifests), added to
    ``PrincipalSummary.workloads``.
    """
    analysis = _Analysis()
    for event in events:
        analysis.add(event)
    return analysis.summary(workloads or {})
