"""Context objects (everything that is not a pod template), normalised.

Each ``parse_*`` takes the raw object (already checked to have kind/name/namespace) and
returns a frozen model. Secrets and ConfigMaps keep *metadata only*: names, types, key
names, labels — never values, never annotations that can embed them
(``kubectl.kubernetes.io/last-applied-configuration``).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field

from attackmap.model._k8s import K8s, StrMap
from attackmap.model._rbac import Binding, Role, RoleRule, Subject
from attackmap.model._refs import Frozen, ObjectRef, SourceLocation, trusted
from attackmap.model._workload import NamespacePSS

__all__ = [
    "ConfigMapMeta",
    "IPBlock",
    "Ingress",
    "IngressBackend",
    "LabelSelector",
    "Namespace",
    "NetworkPeer",
    "NetworkPolicy",
    "NetworkPolicyRule",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Route",
    "RouteBackend",
    "RuntimeClass",
    "SecretMeta",
    "Service",
    "ServiceAccount",
    "ServicePort",
]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PSS_PREFIX = "pod-security.kubernetes.io/"


# --------------------------------------------------------------------------- selectors


class _K8sRequirement(K8s):
    key: str
    operator: str
    values: list[str] | None = None


class _K8sSelector(K8s):
    match_labels: StrMap | None = None
    match_expressions: list[_K8sRequirement] | None = None


class SelectorRequirement(Frozen):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] | str
    values: tuple[str, ...] = ()


class LabelSelector(Frozen):
    """A Kubernetes label selector; the empty selector matches everything."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: tuple[SelectorRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: dict[str, str]) -> bool:
        for k, v in self.match_labels.items():
            if labels.get(k) != v:
                return False
        for r in self.match_expressions:
            present = r.key in labels
            if r.operator == "In" and not (present and labels[r.key] in r.values):
                return False
            if r.operator == "NotIn" and present and labels[r.key] in r.values:
                return False
            if r.operator == "Exists" and not present:
                return False
            if r.operator == "DoesNotExist" and present:
                return False
            if r.operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
                return False  # unknown operator: the API server rejects it; match nothing
        return True

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        parts += [f"{r.key} {r.operator} ({','.join(r.values)})" for r in self.match_expressions]
        return "{" + ", ".join(parts) + "}" if parts else "{all}"


def selector(raw: Any) -> LabelSelector | None:
    if raw is None:
        return None
    s = _K8sSelector.model_validate(raw)
    return LabelSelector(
        match_labels=dict(s.match_labels or {}),
        match_expressions=tuple(
            SelectorRequirement(key=r.key, operator=r.operator, values=tuple(r.values or ()))
            for r in s.match_expressions or ()
        ),
    )


# --------------------------------------------------------------------------- Service


class ServicePort(Frozen):
    port: int
    target_port: int | str
    name: str | None = None
    protocol: str = "TCP"
    node_port: int | None = None


class Service(Frozen):
    ref: ObjectRef
    type: str = "ClusterIP"  # ClusterIP | NodePort | LoadBalancer | ExternalName
    selector: dict[str, str] = Field(default_factory=dict)
    ports: tuple[ServicePort, ...] = ()
    headless: bool = False
    external_name: str | None = None
    external_ips: tuple[str, ...] = ()
    source: SourceLocation | None = None


class _K8sServicePort(K8s):
    port: int
    target_port: int | str | None = None
    name: str | None = None
    protocol: str | None = None
    node_port: int | None = None


class _K8sServiceSpec(K8s):
    type: str | None = None
    selector: StrMap | None = None
    ports: list[_K8sServicePort] | None = None
    cluster_ip: str | None = Field(default=None, validation_alias="clusterIP")
    external_name: str | None = None
    external_i_ps: list[str] | None = Field(default=None, validation_alias="externalIPs")


def parse_service(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Service:
    spec = _K8sServiceSpec.model_validate(raw.get("spec") or {})
    return Service(
        ref=ref,
        type=spec.type or "ClusterIP",
        selector=dict(spec.selector or {}),
        ports=tuple(
            ServicePort(
                port=p.port,
                target_port=p.target_port if p.target_port is not None else p.port,
                name=p.name,
                protocol=p.protocol or "TCP",
                node_port=p.node_port,
            )
            for p in spec.ports or ()
        ),
        headless=spec.cluster_ip == "None",
        external_name=spec.external_name,
        external_ips=tuple(spec.external_i_ps or ()),
        source=source,
    )


# --------------------------------------------------------------------------- Ingress / routes


class IngressBackend(Frozen):
    service: str
    port: int | str | None = None
    host: str | None = None
    path: str | None = None


class Ingress(Frozen):
    ref: ObjectRef
    class_name: str | None = None
    backends: tuple[IngressBackend, ...] = ()
    tls: bool = False
    source: SourceLocation | None = None


def _ingress_backend(raw: Any, host: str | None, path: str | None) -> IngressBackend | None:
    if not isinstance(raw, dict):
        return None
    svc = raw.get("service")
    if isinstance(svc, dict) and isinstance(svc.get("name"), str):
        port = svc.get("port") or {}
        number = port.get("number") if isinstance(port, dict) else None
        name = port.get("name") if isinstance(port, dict) else None
        return IngressBackend(
            service=svc["name"],
            port=number if isinstance(number, int) else name,
            host=host,
            path=path,
        )
    if isinstance(raw.get("serviceName"), str):  # extensions/v1beta1
        return IngressBackend(
            service=raw["serviceName"], port=raw.get("servicePort"), host=host, path=path
        )
    return None


def parse_ingress(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Ingress:
    spec = raw.get("spec") or {}
    backends: list[IngressBackend] = []
    default = _ingress_backend(spec.get("defaultBackend") or spec.get("backend"), None, None)
    if default:
        backends.append(default)
    for rule in spec.get("rules") or ():
        if not isinstance(rule, dict):
            continue
        host = rule.get("host")
        for p in (rule.get("http") or {}).get("paths") or ():
            if isinstance(p, dict):
                b = _ingress_backend(p.get("backend"), host, p.get("path"))
                if b:
                    backends.append(b)
    return Ingress(
        ref=ref,
        class_name=spec.get("ingressClassName"),
        backends=tuple(backends),
        tls=bool(spec.get("tls")),
        source=source,
    )


class RouteBackend(Frozen):
    service: str
    namespace: str
    port: int | None = None


class Route(Frozen):
    """A Gateway API HTTPRoute or GRPCRoute (``ref.kind``)."""

    ref: ObjectRef
    parents: tuple[str, ...] = ()
    hostnames: tuple[str, ...] = ()
    backends: tuple[RouteBackend, ...] = ()
    source: SourceLocation | None = None


def parse_route(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Route:
    spec = raw.get("spec") or {}
    backends = []
    for rule in spec.get("rules") or ():
        for b in (rule or {}).get("backendRefs") or ():
            if (
                isinstance(b, dict)
                and b.get("kind", "Service") == "Service"
                and b.get("group", "") in ("", "core")
                and isinstance(b.get("name"), str)
            ):
                port = b.get("port")
                backends.append(
                    RouteBackend(
                        service=b["name"],
                        namespace=b.get("namespace") or ref.namespace or "default",
                        port=port if isinstance(port, int) else None,
                    )
                )
    parents = tuple(
        f"{p.get('namespace') or ref.namespace}/{p.get('name')}"
        for p in spec.get("parentRefs") or ()
        if isinstance(p, dict)
    )
    hostnames = tuple(str(h) for h in spec.get("hostnames") or ())
    return Route(
        ref=ref, parents=parents, hostnames=hostnames, backends=tuple(backends), source=source
    )


# --------------------------------------------------------------------------- NetworkPolicy


class IPBlock(Frozen):
    cidr: str
    except_: tuple[str, ...] = ()

    @property
    def external(self) -> bool:
        """Whether the block includes addresses outside private/cluster ranges."""
        try:
            net = ipaddress.ip_network(self.cidr, strict=False)
        except ValueError:
            return False
        return net.prefixlen == 0 or not net.is_private


class NetworkPeer(Frozen):
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    def __str__(self) -> str:
        if self.ip_block:
            ex = f" except {','.join(self.ip_block.except_)}" if self.ip_block.except_ else ""
            return f"ipBlock {self.ip_block.cidr}{ex}"
        pods = f"pods{self.pod_selector}" if self.pod_selector else "pods{all}"
        ns = (
            f" in namespaces{self.namespace_selector}"
            if self.namespace_selector
            else " in the policy's namespace"
        )
        return pods + ns


class NetworkPolicyRule(Frozen):
    """One ingress/egress rule; ``peers`` empty means *all* sources/destinations."""

    peers: tuple[NetworkPeer, ...] = ()
    ports: tuple[str, ...] = ()


class NetworkPolicy(Frozen):
    ref: ObjectRef
    pod_selector: LabelSelector = trusted(LabelSelector)
    policy_types: tuple[str, ...] = ("Ingress",)
    ingress: tuple[NetworkPolicyRule, ...] = ()
    egress: tuple[NetworkPolicyRule, ...] = ()
    source: SourceLocation | None = None


def _rules(raw: Any, key: str) -> tuple[NetworkPolicyRule, ...]:
    out = []
    for rule in raw or ():
        if not isinstance(rule, dict):
            continue
        peers = []
        for p in rule.get(key) or ():
            if not isinstance(p, dict):
                continue
            block = p.get("ipBlock")
            peers.append(
                NetworkPeer(
                    pod_selector=selector(p.get("podSelector")),
                    namespace_selector=selector(p.get("namespaceSelector")),
                    ip_block=IPBlock(
                        cidr=str(block.get("cidr")),
                        except_=tuple(str(x) for x in block.get("except") or ()),
                    )
                    if isinstance(block, dict)
                    else None,
                )
            )
        ports = tuple(
            f"{p.get('protocol', 'TCP')}/{p.get('port', '*')}"
            + (f"-{p['endPort']}" if p.get("endPort") else "")
            for p in rule.get("ports") or ()
            if isinstance(p, dict)
        )
        out.append(NetworkPolicyRule(peers=tuple(peers), ports=ports))
    return tuple(out)


def parse_network_policy(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> NetworkPolicy:
    spec = raw.get("spec") or {}
    egress = spec.get("egress")
    types = spec.get("policyTypes")
    if not types:
        types = ["Ingress", "Egress"] if egress else ["Ingress"]
    return NetworkPolicy(
        ref=ref,
        pod_selector=selector(spec.get("podSelector")) or LabelSelector(),
        policy_types=tuple(str(t) for t in types),
        ingress=_rules(spec.get("ingress"), "from"),
        egress=_rules(egress, "to"),
        source=source,
    )


# --------------------------------------------------------------------------- identity


class ServiceAccount(Frozen):
    ref: ObjectRef
    automount: bool | None = None
    secrets: tuple[str, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    source: SourceLocation | None = None


def parse_service_account(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> ServiceAccount:
    auto = raw.get("automountServiceAccountToken")
    return ServiceAccount(
        ref=ref,
        automount=auto if isinstance(auto, bool) else None,
        secrets=_names(raw.get("secrets")),
        image_pull_secrets=_names(raw.get("imagePullSecrets")),
        source=source,
    )


def _names(items: Any) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(s["name"] for s in items if isinstance(s, dict) and isinstance(s.get("name"), str))


class _K8sRule(K8s):
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    verbs: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_ur_ls: list[str] | None = Field(default=None, validation_alias="nonResourceURLs")


class _K8sRole(K8s):
    rules: list[_K8sRule] | None = None


def parse_role(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation, labels: dict[str, str]
) -> Role:
    r = _K8sRole.model_validate(raw)
    aggregation = raw.get("aggregationRule") or {}
    selectors = tuple(
        s for s in aggregation.get("clusterRoleSelectors") or () if isinstance(s, dict)
    )
    return Role(
        ref=ref,
        rules=tuple(
            RoleRule(
                api_groups=tuple(x.api_groups or ()),
                resources=tuple(x.resources or ()),
                verbs=tuple(x.verbs or ()),
                resource_names=tuple(x.resource_names or ()),
                non_resource_urls=tuple(x.non_resource_ur_ls or ()),
            )
            for x in r.rules or ()
        ),
        labels=labels,
        aggregation_selectors=selectors,
        source=source,
    )


class _K8sSubject(K8s):
    kind: str
    name: str
    namespace: str | None = None


class _K8sRoleRef(K8s):
    kind: str
    name: str


class _K8sBinding(K8s):
    role_ref: _K8sRoleRef
    subjects: list[_K8sSubject] | None = None


def parse_binding(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Binding:
    b = _K8sBinding.model_validate(raw)
    role_ns = ref.namespace if b.role_ref.kind == "Role" else None
    return Binding(
        ref=ref,
        role_ref=ObjectRef(kind=b.role_ref.kind, namespace=role_ns, name=b.role_ref.name),
        subjects=tuple(
            Subject(kind=s.kind, name=s.name, namespace=s.namespace) for s in b.subjects or ()
        ),
        source=source,
    )


# --------------------------------------------------------------------------- namespaces, data


class Namespace(Frozen):
    """A namespace with its labels (incl. the automatic ``kubernetes.io/metadata.name``)."""

    ref: ObjectRef
    labels: dict[str, str] = Field(default_factory=dict)
    pss: NamespacePSS = trusted(NamespacePSS)
    source: SourceLocation | None = None


def namespace_pss(labels: dict[str, str]) -> NamespacePSS:
    def g(mode: str) -> str | None:
        return labels.get(PSS_PREFIX + mode)

    return NamespacePSS(
        enforce=g("enforce"), enforce_version=g("enforce-version"), audit=g("audit"),
        audit_version=g("audit-version"), warn=g("warn"), warn_version=g("warn-version"),
    )  # fmt: skip


def parse_namespace(name: str, labels: dict[str, str], source: SourceLocation | None) -> Namespace:
    full = {**labels, "kubernetes.io/metadata.name": name}
    return Namespace(
        ref=ObjectRef(kind="Namespace", namespace=None, name=name),
        labels=full,
        pss=namespace_pss(full),
        source=source,
    )


class SecretMeta(Frozen):
    """A Secret without its values: type, key names, labels, annotation *keys*."""

    ref: ObjectRef
    type: str = "Opaque"
    keys: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    annotation_keys: tuple[str, ...] = ()
    service_account: str | None = None  # kubernetes.io/service-account-token target
    source: SourceLocation | None = None


def parse_secret(
    ref: ObjectRef,
    raw: dict[str, Any],
    source: SourceLocation,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> SecretMeta:
    keys: set[str] = set()
    for field in ("data", "stringData"):
        value = raw.get(field)
        if isinstance(value, dict):
            keys.update(str(k) for k in value)
    t = raw.get("type")
    return SecretMeta(
        ref=ref,
        type=t if isinstance(t, str) else "Opaque",
        keys=tuple(sorted(keys)),
        labels=labels,
        annotation_keys=tuple(sorted(annotations)),
        service_account=annotations.get("kubernetes.io/service-account.name"),
        source=source,
    )


class ConfigMapMeta(Frozen):
    """A ConfigMap's key names and labels (values are not kept)."""

    ref: ObjectRef
    keys: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    source: SourceLocation | None = None


def parse_configmap(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation, labels: dict[str, str]
) -> ConfigMapMeta:
    keys: set[str] = set()
    for field in ("data", "binaryData"):
        value = raw.get(field)
        if isinstance(value, dict):
            keys.update(str(k) for k in value)
    return ConfigMapMeta(ref=ref, keys=tuple(sorted(keys)), labels=labels, source=source)


class PersistentVolumeClaim(Frozen):
    ref: ObjectRef
    access_modes: tuple[str, ...] = ()
    volume_name: str | None = None
    storage_class: str | None = None
    storage: str | None = None
    source: SourceLocation | None = None


def parse_pvc(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> PersistentVolumeClaim:
    spec = raw.get("spec") or {}
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    return PersistentVolumeClaim(
        ref=ref,
        access_modes=tuple(str(m) for m in spec.get("accessModes") or ()),
        volume_name=spec.get("volumeName") or None,
        storage_class=spec.get("storageClassName"),
        storage=str(storage) if storage is not None else None,
        source=source,
    )


_PV_BACKINGS = (
    "hostPath",
    "local",
    "nfs",
    "csi",
    "awsElasticBlockStore",
    "gcePersistentDisk",
    "azureDisk",
    "azureFile",
    "cephfs",
    "rbd",
    "iscsi",
    "fc",
    "glusterfs",
    "cinder",
    "portworxVolume",
    "vsphereVolume",
)


class PersistentVolume(Frozen):
    """A PV: ``backing`` is its source field (``hostPath``, ``nfs``, ``csi``, ...)."""

    ref: ObjectRef
    access_modes: tuple[str, ...] = ()
    backing: str | None = None
    path: str | None = None
    server: str | None = None
    driver: str | None = None
    claim: ObjectRef | None = None
    storage_class: str | None = None
    source: SourceLocation | None = None


def parse_pv(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> PersistentVolume:
    spec = raw.get("spec") or {}
    backing = next((b for b in _PV_BACKINGS if isinstance(spec.get(b), dict)), None)
    body = spec.get(backing) if backing else {}
    claim = spec.get("claimRef")
    claim_ref = None
    if isinstance(claim, dict) and isinstance(claim.get("name"), str):
        claim_ref = ObjectRef(
            kind="PersistentVolumeClaim",
            namespace=claim.get("namespace") or "default",
            name=claim["name"],
        )
    return PersistentVolume(
        ref=ref,
        access_modes=tuple(str(m) for m in spec.get("accessModes") or ()),
        backing=backing,
        path=body.get("path") if isinstance(body, dict) else None,
        server=body.get("server") if isinstance(body, dict) else None,
        driver=body.get("driver") if isinstance(body, dict) else None,
        claim=claim_ref,
        storage_class=spec.get("storageClassName"),
        source=source,
    )


class RuntimeClass(Frozen):
    ref: ObjectRef
    handler: str | None = None
    source: SourceLocation | None = None
