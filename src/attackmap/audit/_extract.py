"""Facts read off one audit event: Pod Security annotations and denials, RBAC decisions,
the API request made, and which workload a pod event belongs to.

Pod Security annotation keys (``k8s.io/pod-security-admission``):

* built-in admission plugin: ``pod-security.kubernetes.io/enforce-policy``,
  ``pod-security.kubernetes.io/audit-violations``, ``pod-security.kubernetes.io/exempt``
  (the plugin prefixes the library's keys with ``pod-security.kubernetes.io/``);
* webhook build: the webhook returns the bare keys (``enforce-policy``, ...) and the API
  server prefixes every audit annotation of a webhook with the webhook's name, giving e.g.
  ``pod-security-webhook.kubernetes.io/enforce-policy``. Because any webhook could use such
  a bare key, a ``<name>/<key>`` annotation counts only when its value has the Pod Security
  shape (``<level>:<version>``, ``would violate PodSecurity "...``, ``user|namespace|
  runtimeClass``). ``<name>/pod-security.kubernetes.io/<key>`` is accepted as well.

A Pod Security *denial* is a 403 whose ``responseStatus.message`` contains
``violates PodSecurity "<level>:<version>": ...`` (the enforce mode).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from attackmap.audit._events import AuditEvent

__all__ = [
    "ApiRequest",
    "PodSecurityRecord",
    "api_request",
    "pod_security",
    "psa_annotated",
    "rbac_decision",
    "workload_of",
]

PSA_PREFIX = "pod-security.kubernetes.io/"
DECISION_KEY = "authorization.k8s.io/decision"
REASON_KEY = "authorization.k8s.io/reason"

_POLICY = re.compile(r"^(privileged|baseline|restricted):(latest|v1\.\d+)$")
_AUDIT_TEXT = re.compile(r'^would violate PodSecurity "([^"]+)": ')
_DENIAL_TEXT = re.compile(r'violates PodSecurity "([^"]+)": ')
_EXEMPT = frozenset({"user", "namespace", "runtimeClass"})

# objectRef.resource of workload objects -> kind (for events without a requestObject)
RESOURCE_KINDS: dict[str, str] = {
    "pods": "Pod",
    "deployments": "Deployment",
    "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet",
    "replicasets": "ReplicaSet",
    "replicationcontrollers": "ReplicationController",
    "jobs": "Job",
    "cronjobs": "CronJob",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApiRequest(_Frozen):
    """A resource request: what RBAC authorised (or refused)."""

    verb: str
    api_group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def rbac_resource(self) -> str:
        """``resource`` or ``resource/subresource``, as RBAC rules name it."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


class PodSecurityRecord(_Frozen):
    """The Pod Security outcome an event records.

    ``enforce_policy``: the enforce ``level:version`` in effect; ``audit_policy`` and
    ``audit_violations``: the audit-mode policy and the annotation's full value
    (``would violate PodSecurity "<policy>": ...``); ``denied_policy``/``denial``: the same
    for an enforce-mode rejection (403; the full ``responseStatus.message``); ``exempt``:
    why the request was exempt (``user``, ``namespace``, ``runtimeClass``). The texts are
    parsed into checks by :func:`attackmap.pss.parse_violations`.
    """

    enforce_policy: str = ""
    audit_policy: str = ""
    audit_violations: str = ""
    denied_policy: str = ""
    denial: str = ""
    exempt: str = ""


@functools.lru_cache(maxsize=4096)  # a log uses few distinct annotation keys
def _psa_key(key: str) -> str | None:
    """The bare Pod Security key (``enforce-policy``...) an annotation key stands for."""
    if key.startswith(PSA_PREFIX):
        return key[len(PSA_PREFIX) :]
    head, sep, tail = key.rpartition("/")
    if not sep or not head:
        return None
    if head.endswith("/pod-security.kubernetes.io"):
        return tail
    return tail if tail in ("enforce-policy", "audit-violations", "exempt") else None


def psa_annotated(annotations: Mapping[str, str]) -> bool:
    """Whether an annotation key may be a Pod Security one: without one (and without a
    403), :func:`pod_security` finds nothing -- a cheap test for the analysis."""
    return any(_psa_key(key) is not None for key in annotations)


def pod_security(event: AuditEvent) -> PodSecurityRecord | None:
    """The Pod Security annotations and denial of ``event``, or None if it has none."""
    fields: dict[str, str] = {}
    for key, value in event.annotations.items():
        bare = _psa_key(key)
        if bare is None:
            continue
        webhook = not key.startswith(PSA_PREFIX)
        if bare == "enforce-policy" and (not webhook or _POLICY.match(value)):
            fields["enforce_policy"] = value
        elif bare == "audit-violations":
            m = _AUDIT_TEXT.match(value)
            if m:
                fields["audit_policy"] = m[1]
                fields["audit_violations"] = value
            elif not webhook:
                fields["audit_violations"] = value
        elif bare == "exempt" and (not webhook or value in _EXEMPT):
            fields["exempt"] = value
    status = event.response_status
    if status is not None and status.code == 403 and "violates PodSecurity" in status.message:
        m = _DENIAL_TEXT.search(status.message)
        if m:
            fields["denied_policy"] = m[1]
            fields["denial"] = status.message
    return PodSecurityRecord(**fields) if fields else None


def rbac_decision(event: AuditEvent) -> tuple[str, str]:
    """``(decision, reason)`` from the authorization annotations (empty strings if absent)."""
    return event.annotations.get(DECISION_KEY, ""), event.annotations.get(REASON_KEY, "")


def api_request(event: AuditEvent) -> ApiRequest | None:
    """The resource request of ``event``; None for non-resource URLs and discovery
    (``/api``, ``/apis``, ``/version``, ``/openapi/...``, ``/healthz``...), which have no
    ``objectRef.resource``."""
    ref = event.object_ref
    if ref is None or not ref.resource or not event.verb:
        return None
    return ApiRequest(
        verb=event.verb,
        api_group=ref.api_group,
        resource=ref.resource,
        subresource=ref.subresource,
        namespace=ref.namespace,
        name=ref.name,
    )


def _strip_hash(rs_name: str, labels: dict[str, str]) -> str:
    """Deployment name of a ReplicaSet ``<deployment>-<pod-template-hash>``."""
    h = labels.get("pod-template-hash", "")
    if h and rs_name.endswith("-" + h):
        return rs_name[: -len(h) - 1]
    return rs_name


def workload_of(event: AuditEvent) -> tuple[str, str, str] | None:
    """``(kind, namespace, name)`` of the workload a pod or workload event is about.

    A pod is attributed to its controller (``ownerReferences``): a ReplicaSet with a
    ``pod-template-hash`` label to its Deployment, anything else to the owner itself; a pod
    without an owner is its own workload (``Pod``), named by ``name`` or ``generateName``.
    A workload object (Deployment, Job...) is itself. Without a ``requestObject`` the event's
    ``objectRef`` is used (a pod then stays a ``Pod``). Subresource requests (exec, log,
    status...) are not about a workload's definition and give None.
    """
    ref = event.object_ref
    if ref is not None and ref.subresource:
        return None
    pod = event.pod
    if pod is not None:
        namespace = pod.namespace or (ref.namespace if ref is not None else "")
        if pod.kind != "Pod":
            return pod.kind, namespace, pod.name or (ref.name if ref is not None else "")
        if pod.owner is not None:
            if pod.owner.kind == "ReplicaSet" and "pod-template-hash" in pod.labels:
                return "Deployment", namespace, _strip_hash(pod.owner.name, pod.labels)
            return pod.owner.kind, namespace, pod.owner.name
        name = (ref.name if ref is not None and ref.name else pod.name).rstrip("-")
        return "Pod", namespace, name
    if ref is None or ref.resource not in RESOURCE_KINDS or not ref.name:
        return None
    return RESOURCE_KINDS[ref.resource], ref.namespace, ref.name
