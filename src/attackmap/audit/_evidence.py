"""ATT&CK techniques an audit event is evidence of.

Each rule looks at one resource request (see :func:`techniques_of`). An event is evidence
whether the request succeeded or not; :class:`Hit.allowed` says which (an attempt refused
by RBAC or admission is still worth seeing).

| technique | fires on |
|---|---|
| T1609 Container Administration Command | ``pods/exec``, ``pods/attach`` |
| T1572 Protocol Tunneling | ``pods/portforward`` (outside the ATT&CK *Containers* platform; the closest technique) |
| T1552.007 Container API | ``get``/``list``/``watch`` of ``secrets`` by an unexpected principal (below) |
| T1610 Deploy Container | ``create`` of a pod or pod controller whose pod is privileged: a privileged container, a hostPath volume or a host namespace |
| T1053.007 Container Orchestration Job | ``create`` of a ``cronjobs`` (batch) |
| T1098.006 Additional Container Cluster Roles | ``create``/``update``/``patch`` of ``rolebindings`` or ``clusterrolebindings`` |
| T1070 Indicator Removal | ``delete``/``deletecollection`` of ``events`` (core or ``events.k8s.io``) |

"Unexpected" secret readers: every principal except the control plane, i.e. except
``system:kube-controller-manager``, ``system:kube-scheduler``, ``system:apiserver``,
nodes (``system:node:*``, which read the secrets of their pods) and ServiceAccounts in
``kube-system`` (the controllers). So any workload ServiceAccount reading a secret, in its
own namespace or another, and any human reading secrets through the API is evidence.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from attackmap.audit._events import AuditEvent
from attackmap.audit._extract import ApiRequest

__all__ = ["TECHNIQUE_NAMES", "Hit", "may_evidence", "techniques_of"]

TECHNIQUE_NAMES: dict[str, str] = {
    "T1053.007": "Container Orchestration Job",
    "T1070": "Indicator Removal",
    "T1098.006": "Additional Container Cluster Roles",
    "T1552.007": "Container API",
    "T1572": "Protocol Tunneling",
    "T1609": "Container Administration Command",
    "T1610": "Deploy Container",
}

_CONTROL_PLANE = frozenset(
    {"system:kube-controller-manager", "system:kube-scheduler", "system:apiserver"}
)
_READ = frozenset({"get", "list", "watch"})
_WRITE_BINDING = frozenset({"create", "update", "patch"})
_DELETE = frozenset({"delete", "deletecollection"})
_BINDINGS = frozenset({"rolebindings", "clusterrolebindings"})
_POD_SUBRESOURCES = frozenset({"exec", "attach", "portforward"})
_POD_RESOURCES = frozenset(
    {
        "pods",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "replicationcontrollers",
        "jobs",
        "cronjobs",
    }
)


class Hit(BaseModel):
    """One technique evidenced by one event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    technique: str
    what: str
    """The request, scoped to its namespace (object names are in ``name``)."""
    name: str = ""
    allowed: bool


def may_evidence(resource: str, subresource: str, verb: str) -> bool:
    """Whether :func:`techniques_of` can find anything in a request for ``verb`` on
    ``resource/subresource``: a cheap test that lets the analysis skip the others (its
    rules, below, are the same as those of :func:`techniques_of`)."""
    if subresource:
        return resource == "pods" and subresource in _POD_SUBRESOURCES
    if verb == "create" and resource in _POD_RESOURCES:
        return True
    return (
        (resource == "secrets" and verb in _READ)
        or (resource in _BINDINGS and verb in _WRITE_BINDING)
        or (resource == "events" and verb in _DELETE)
    )


def expected_secret_reader(principal: str) -> bool:
    """Whether ``principal`` is a control-plane identity that reads secrets routinely."""
    return (
        principal in _CONTROL_PLANE
        or principal.startswith("system:node:")
        or principal.startswith("system:serviceaccount:kube-system:")
    )


def _scope(req: ApiRequest) -> str:
    return f"in {req.namespace}" if req.namespace else "cluster-wide"


def techniques_of(event: AuditEvent, req: ApiRequest, allowed: bool) -> list[Hit]:
    """The techniques ``event`` (whose resource request is ``req``) is evidence of."""
    hits: list[Hit] = []
    res, sub, verb = req.resource, req.subresource, req.verb

    def hit(technique: str, what: str) -> None:
        hits.append(Hit(technique=technique, what=what, name=req.name, allowed=allowed))

    if res == "pods" and sub in ("exec", "attach"):
        hit("T1609", f"pods/{sub} {_scope(req)}")
    elif res == "pods" and sub == "portforward":
        hit("T1572", f"pods/portforward {_scope(req)}")
    elif res == "secrets" and not sub and verb in _READ:
        if not expected_secret_reader(event.principal):
            hit("T1552.007", f"{verb} secrets {_scope(req)}")
    elif (
        res in _BINDINGS
        and not sub
        and verb in _WRITE_BINDING
        and req.api_group == "rbac.authorization.k8s.io"
    ):
        role = ""
        if event.binding is not None:
            role = f" binding {event.binding.role_ref.kind} {event.binding.role_ref.name}"
        hit("T1098.006", f"{verb} {res} {_scope(req)}{role}")
    elif res == "events" and not sub and verb in _DELETE:
        hit("T1070", f"{verb} events {_scope(req)}")
    if verb == "create" and not sub and res in _POD_RESOURCES:
        if res == "cronjobs" and req.api_group == "batch":
            hit("T1053.007", f"create cronjobs {_scope(req)}")
        pod = event.pod
        if pod is not None and pod.is_privileged:
            parts = [f"privileged container {c}" for c in pod.privileged_containers]
            parts += [f"hostPath {p}" for p in pod.host_path_volumes]
            parts += list(pod.host_namespaces)
            hit("T1610", f"create {res} {_scope(req)}: {', '.join(parts)}")
    return hits
