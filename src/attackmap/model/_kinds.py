"""Per-kind pod-template extraction: which field of which kind holds the pod.

Each extractor returns the pod templates an object produces (:class:`TemplateSpec`) and,
for custom resources an operator renders, the Kubernetes objects it would create
(ServiceAccount, Role, Service, Ingress...) so links work. Core kinds are here; custom
resources (NIMService, NIMCache, LeaderWorkerSet, MPIJob, KServe) in ``_crds.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from attackmap.model._refs import ObjectRef, trusted

__all__ = [
    "CLUSTER_SCOPED",
    "CONTEXT_KINDS",
    "QUALIFIED_KINDS",
    "WORKLOAD_KINDS",
    "Extracted",
    "KindError",
    "Lookup",
    "TemplateSpec",
    "group_of",
    "name_problem",
    "object_ref",
]


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """One pod template of an object: its identity, where it sits in the document."""

    ref: ObjectRef
    template: dict[str, Any]
    field_path: tuple[str | int, ...]  # of the template inside the document (for errors)
    owner_chain: tuple[ObjectRef, ...] = ()
    replicas: int | None = None
    rendered: tuple[ObjectRef, ...] = ()
    claim_templates: tuple[tuple[str, tuple[str, ...]], ...] = ()  # StatefulSet VCTs


@dataclass(slots=True)
class Extracted:
    templates: list[TemplateSpec] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)  # rendered context objects


class KindError(Exception):
    """A required field is missing or has the wrong type (becomes an InputError)."""

    def __init__(self, parts: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.parts = parts
        self.message = message


def group_of(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → ``""``."""
    return api_version.rpartition("/")[0]


def dig(obj: Any, *parts: str | int) -> Any:
    """Follow ``parts`` into ``obj``; ``None`` when any step is missing."""
    for p in parts:
        if isinstance(p, int):
            obj = obj[p] if isinstance(obj, list) and 0 <= p < len(obj) else None
        else:
            obj = obj.get(p) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def require_mapping(obj: dict[str, Any], *parts: str) -> dict[str, Any]:
    value = dig(obj, *parts)
    if value is None:
        raise KindError(parts, "required field missing")
    if not isinstance(value, dict):
        raise KindError(parts, f"expected a mapping, got {type(value).__name__}")
    return value


def replicas_of(obj: dict[str, Any], *parts: str, default: int | None = 1) -> int | None:
    value = dig(obj, *parts)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise KindError(parts, f"expected an integer, got {type(value).__name__}")
    return value


def object_ref(kind: str, ns: str | None, name: str, component: str | None = None) -> ObjectRef:
    """An ObjectRef; built without re-validation when every value is exactly a ``str`` (or
    ``None`` where allowed), validated otherwise (a str subclass becomes a ``str``)."""
    if (
        type(kind) is str
        and type(name) is str
        and (ns is None or type(ns) is str)
        and (component is None or type(component) is str)
    ):  # the common case, checked here: built without re-validation
        return trusted(ObjectRef, kind=kind, namespace=ns, name=name, component=component)
    return ObjectRef(kind=kind, namespace=ns, name=name, component=component)


#: objects by (kind, namespace, name) that extractors may consult (NIMCache, runtimes)
Lookup = Mapping[tuple[str, str | None, str], dict[str, Any]]
Extractor = Callable[[dict[str, Any], str, str | None, Lookup], Extracted]


def _pod(obj: dict[str, Any], kind: str, ns: str | None, lookup: Lookup) -> Extracted:
    name = obj["metadata"]["name"]
    require_mapping(obj, "spec")
    template = {"metadata": obj.get("metadata") or {}, "spec": obj["spec"]}
    return Extracted([TemplateSpec(object_ref(kind, ns, name), template, (), replicas=1)])


_CHAIN = {"Deployment": "ReplicaSet", "CronJob": "Job"}


def _templated(
    *parts: str, replicas: tuple[str, ...] | None = ("spec", "replicas"), default: int | None = 1
) -> Extractor:
    def extract(obj: dict[str, Any], kind: str, ns: str | None, lookup: Lookup) -> Extracted:
        name = obj["metadata"]["name"]
        template = require_mapping(obj, *parts)
        ref = object_ref(kind, ns, name)
        chain: tuple[ObjectRef, ...] = (ref,)
        if kind in _CHAIN:
            chain = (ref, object_ref(_CHAIN[kind], ns, name))
        count = replicas_of(obj, *replicas, default=default) if replicas else default
        claims: list[tuple[str, tuple[str, ...]]] = []
        if kind == "StatefulSet":
            for vct in dig(obj, "spec", "volumeClaimTemplates") or ():
                vname = dig(vct, "metadata", "name")
                if isinstance(vname, str):
                    modes = dig(vct, "spec", "accessModes") or ()
                    claims.append((vname, tuple(str(m) for m in modes)))
        return Extracted(
            [TemplateSpec(ref, template, parts, chain, count, claim_templates=tuple(claims))]
        )

    return extract


#: kind → (accepted API groups, extractor)
WORKLOAD_KINDS: dict[str, tuple[frozenset[str], Extractor]] = {
    "Pod": (frozenset({""}), _pod),
    "PodTemplate": (frozenset({""}), _templated("template", replicas=None, default=None)),
    "ReplicationController": (frozenset({""}), _templated("spec", "template")),
    "Deployment": (frozenset({"apps", "extensions"}), _templated("spec", "template")),
    "StatefulSet": (frozenset({"apps"}), _templated("spec", "template")),
    "DaemonSet": (
        frozenset({"apps", "extensions"}),
        _templated("spec", "template", replicas=None, default=None),
    ),
    "ReplicaSet": (frozenset({"apps", "extensions"}), _templated("spec", "template")),
    "Job": (frozenset({"batch"}), _templated("spec", "template", replicas=("spec", "parallelism"))),
    "CronJob": (
        frozenset({"batch"}),
        _templated(
            "spec",
            "jobTemplate",
            "spec",
            "template",
            replicas=("spec", "jobTemplate", "spec", "parallelism"),
        ),
    ),
}

#: Calico's resources: the CRDs, and the same resources served by its API server
_CALICO_GROUPS = frozenset({"crd.projectcalico.org", "projectcalico.org"})

#: kind → accepted API groups, for the context kinds
CONTEXT_KINDS: dict[str, frozenset[str]] = {
    "Service": frozenset({""}),
    "Ingress": frozenset({"networking.k8s.io", "extensions"}),
    "HTTPRoute": frozenset({"gateway.networking.k8s.io"}),
    "GRPCRoute": frozenset({"gateway.networking.k8s.io"}),
    "NetworkPolicy": frozenset({"networking.k8s.io", "extensions"}),
    "ServiceAccount": frozenset({""}),
    "Role": frozenset({"rbac.authorization.k8s.io"}),
    "ClusterRole": frozenset({"rbac.authorization.k8s.io"}),
    "RoleBinding": frozenset({"rbac.authorization.k8s.io"}),
    "ClusterRoleBinding": frozenset({"rbac.authorization.k8s.io"}),
    "Namespace": frozenset({""}),
    "Secret": frozenset({""}),
    "ConfigMap": frozenset({""}),
    "PersistentVolumeClaim": frozenset({""}),
    "PersistentVolume": frozenset({""}),
    "RuntimeClass": frozenset({"node.k8s.io"}),
    # exposure through Istio (Gateway is qualified: see QUALIFIED_KINDS)
    "VirtualService": frozenset({"networking.istio.io"}),
    "Gateway.networking.istio.io": frozenset({"networking.istio.io"}),
    # CNI network policies (model/_cilium.py, model/_calico.py)
    "CiliumNetworkPolicy": frozenset({"cilium.io"}),
    "CiliumClusterwideNetworkPolicy": frozenset({"cilium.io"}),
    "NetworkPolicy.projectcalico.org": _CALICO_GROUPS,
    "GlobalNetworkPolicy": _CALICO_GROUPS,
    "NetworkSet": _CALICO_GROUPS,
    "GlobalNetworkSet": _CALICO_GROUPS,
}

#: (API group, kind) → the kind attackmap files the object under, for kinds whose name
#: another API group also uses: a Calico NetworkPolicy and a Kubernetes one of the same
#: name are two objects (``kubectl get networkpolicy.projectcalico.org``); an Istio
#: Gateway is not a Gateway API Gateway (which stays skipped as not analysed).
QUALIFIED_KINDS: dict[tuple[str, str], str] = {
    ("networking.istio.io", "Gateway"): "Gateway.networking.istio.io",
    ("crd.projectcalico.org", "NetworkPolicy"): "NetworkPolicy.projectcalico.org",
    ("projectcalico.org", "NetworkPolicy"): "NetworkPolicy.projectcalico.org",
}

#: kinds without a namespace
CLUSTER_SCOPED = frozenset(
    {
        "Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "RuntimeClass",
        "ClusterServingRuntime", "StorageClass", "CustomResourceDefinition", "Node",
        "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
        "ClusterContext", "AdmissionConfiguration", "PodSecurityConfiguration",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "IngressClass",
        "GatewayClass", "APIService", "CSIDriver", "ClusterIssuer", "ResourceClass",
        "DeviceClass", "CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy",
        "GlobalNetworkSet",
    }
)  # fmt: skip


# --------------------------------------------------------------------------- names

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_LABEL)
_DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
#: Kinds whose names the API server checks as DNS-1123 labels, or DNS-1035 labels.
_LABEL_NAMED = frozenset({"Namespace"})
_DNS1035_NAMED = frozenset({"Service"})


def name_problem(kind: str | None, name: str) -> str | None:
    """Why the API server would refuse ``name`` for an object of ``kind`` (``None`` for a
    namespace name), or ``None`` when it is valid: namespaces and Namespace objects take
    DNS-1123 labels, Services DNS-1035 labels, RBAC objects any path segment, every other
    kind a DNS-1123 subdomain (as ``k8s.io/apimachinery``'s validation names them)."""
    if kind in _RBAC_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return "not a valid path segment name (no '/', '%', '.' or '..')"
        return None
    if kind is None or kind in _LABEL_NAMED:
        if len(name) > 63 or not _DNS1123_LABEL.fullmatch(name):
            return (
                "not a DNS-1123 label (lowercase letters, digits and '-', starting and "
                "ending with a letter or digit, at most 63 characters)"
            )
        return None
    if kind in _DNS1035_NAMED:
        if len(name) > 63 or not _DNS1035_LABEL.fullmatch(name):
            return (
                "not a DNS-1035 label (lowercase letters, digits and '-', starting with a "
                "letter, ending with a letter or digit, at most 63 characters)"
            )
        return None
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name):
        return (
            "not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and "
            "ending with a letter or digit, at most 253 characters)"
        )
    return None
