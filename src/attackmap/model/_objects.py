"""Context objects (everything that is not a pod template), normalised.

Each ``parse_*`` takes the raw object (already checked to have kind/name/namespace) and
returns a frozen model. Secrets and ConfigMaps keep *metadata only*: names, types, key
names, labels — never values, never annotations that can embed them
(``kubectl.kubernetes.io/last-applied-configuration``).
"""

import base64
import binascii
import ipaddress
import json
from typing import Any, Literal

from pydantic import Field
from pydantic.alias_generators import to_snake

from attackmap.model._k8s import IntOrStr, K8s, Quantity, StrList, StrMap
from attackmap.model._rbac import Binding, Role, RoleRule, Subject
from attackmap.model._refs import Frozen, ObjectRef, SourceLocation, trusted
from attackmap.model._workload import NamespacePSS

__all__ = [
    "ConfigMapMeta",
    "IPBlock",
    "Ingress",
    "IngressBackend",
    "IstioGateway",
    "IstioServer",
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
    "VirtualService",
    "VirtualServiceDelegate",
    "VirtualServiceDestination",
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
    return _selector(_K8sSelector.model_validate(raw))


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
    external_i_ps: StrList = Field(default=None, validation_alias="externalIPs")


class _K8sService(K8s):
    spec: _K8sServiceSpec | None = None


def parse_service(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Service:
    spec = _K8sService.model_validate(raw).spec or _K8sServiceSpec()
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


class _K8sIngressPort(K8s):
    number: int | None = None
    name: str | None = None


class _K8sIngressService(K8s):
    name: str
    port: _K8sIngressPort | None = None


class _K8sIngressBackend(K8s):
    service: _K8sIngressService | None = None
    service_name: str | None = None  # extensions/v1beta1
    service_port: IntOrStr | None = None
    resource: dict[str, Any] | None = None


class _K8sIngressPath(K8s):
    path: str | None = None
    path_type: str | None = None
    backend: _K8sIngressBackend | None = None


class _K8sIngressHTTP(K8s):
    paths: list[_K8sIngressPath] | None = None


class _K8sIngressRule(K8s):
    host: str | None = None
    http: _K8sIngressHTTP | None = None


class _K8sIngressTLS(K8s):
    hosts: StrList = None
    secret_name: str | None = None


class _K8sIngressSpec(K8s):
    ingress_class_name: str | None = None
    default_backend: _K8sIngressBackend | None = None
    backend: _K8sIngressBackend | None = None  # extensions/v1beta1
    rules: list[_K8sIngressRule] | None = None
    tls: list[_K8sIngressTLS] | None = None


class _K8sIngress(K8s):
    spec: _K8sIngressSpec | None = None


def _ingress_backend(
    b: _K8sIngressBackend | None, host: str | None, path: str | None
) -> IngressBackend | None:
    if b is None:
        return None
    if b.service is not None:
        port = b.service.port
        number = port.number if port is not None else None
        name = port.name if port is not None else None
        return IngressBackend(
            service=b.service.name,
            port=number if number is not None else name,
            host=host,
            path=path,
        )
    if b.service_name is not None:
        return IngressBackend(service=b.service_name, port=b.service_port, host=host, path=path)
    return None


def parse_ingress(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Ingress:
    spec = _K8sIngress.model_validate(raw).spec or _K8sIngressSpec()
    backends: list[IngressBackend] = []
    default = _ingress_backend(spec.default_backend or spec.backend, None, None)
    if default:
        backends.append(default)
    for rule in spec.rules or ():
        for p in (rule.http.paths if rule.http else None) or ():
            b = _ingress_backend(p.backend, rule.host, p.path)
            if b:
                backends.append(b)
    return Ingress(
        ref=ref,
        class_name=spec.ingress_class_name,
        backends=tuple(backends),
        tls=bool(spec.tls),
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


class _K8sParentRef(K8s):
    name: str
    namespace: str | None = None


class _K8sBackendRef(K8s):
    group: str | None = None
    kind: str | None = None
    name: str
    namespace: str | None = None
    port: int | None = None


class _K8sRouteRule(K8s):
    backend_refs: list[_K8sBackendRef] | None = None


class _K8sRouteSpec(K8s):
    parent_refs: list[_K8sParentRef] | None = None
    hostnames: StrList = None
    rules: list[_K8sRouteRule] | None = None


class _K8sRoute(K8s):
    spec: _K8sRouteSpec | None = None


def parse_route(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Route:
    spec = _K8sRoute.model_validate(raw).spec or _K8sRouteSpec()
    backends = [
        RouteBackend(
            service=b.name,
            namespace=b.namespace or ref.namespace or "default",
            port=b.port,
        )
        for rule in spec.rules or ()
        for b in rule.backend_refs or ()
        if (b.kind or "Service") == "Service" and (b.group or "") in ("", "core")
    ]
    parents = tuple(f"{p.namespace or ref.namespace}/{p.name}" for p in spec.parent_refs or ())
    return Route(
        ref=ref,
        parents=parents,
        hostnames=tuple(spec.hostnames or ()),
        backends=tuple(backends),
        source=source,
    )


# --------------------------------------------------------------------------- NetworkPolicy


#: The link-local address of every major cloud's instance metadata service.
METADATA_ADDRESS = ipaddress.ip_address("169.254.169.254")


#: Where pod networks take their addresses from (see :attr:`IPBlock.may_hold_pod_ips`).
_POD_SPACE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


class IPBlock(Frozen):
    cidr: str
    except_: tuple[str, ...] = ()

    def contains(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        """Whether the block allows ``address``: in ``cidr`` and in none of ``except``
        (an unparsable range is read as allowing: a missed path is worse than a false one)."""
        try:
            if address not in ipaddress.ip_network(self.cidr, strict=False):
                return False
        except ValueError:
            return True
        for excluded in self.except_:
            try:
                if address in ipaddress.ip_network(excluded, strict=False):
                    return False
            except ValueError:
                continue
        return True

    @property
    def may_hold_pod_ips(self) -> bool:
        """Whether the block may hold a pod's address. Pod addresses are not in the input;
        pod networks use private (RFC 1918, RFC 6598 shared, IPv6 unique-local) space, so a
        block that overlaps it may hold any pod and one wholly outside it holds none (an
        unparsable range may hold any: a missed path is worse than a false one)."""
        try:
            net = ipaddress.ip_network(self.cidr, strict=False)
        except ValueError:
            return True
        return any(net.overlaps(space) for space in _POD_SPACE if space.version == net.version)

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


class PolicyPort(Frozen):
    """One entry of a rule's ``ports``: a protocol and a port number, a range
    (``port``..``end_port``) or a named port; ``port`` None means every port."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None


class NetworkPolicyRule(Frozen):
    """One ingress/egress rule; ``peers`` empty means *all* sources/destinations, and
    ``port_specs`` empty means every port (``ports`` is their display form)."""

    peers: tuple[NetworkPeer, ...] = ()
    ports: tuple[str, ...] = ()
    port_specs: tuple[PolicyPort, ...] = ()


class NetworkPolicy(Frozen):
    ref: ObjectRef
    pod_selector: LabelSelector = trusted(LabelSelector)
    policy_types: tuple[str, ...] = ("Ingress",)
    ingress: tuple[NetworkPolicyRule, ...] = ()
    egress: tuple[NetworkPolicyRule, ...] = ()
    source: SourceLocation | None = None


class _K8sIPBlock(K8s):
    cidr: str
    except_: StrList = Field(default=None, validation_alias="except")


class _K8sPeer(K8s):
    pod_selector: _K8sSelector | None = None
    namespace_selector: _K8sSelector | None = None
    ip_block: _K8sIPBlock | None = None


class _K8sPolicyPort(K8s):
    protocol: str | None = None
    port: IntOrStr | None = None
    end_port: int | None = None


class _K8sIngressPolicyRule(K8s):
    from_: list[_K8sPeer] | None = Field(default=None, validation_alias="from")
    ports: list[_K8sPolicyPort] | None = None


class _K8sEgressPolicyRule(K8s):
    to: list[_K8sPeer] | None = None
    ports: list[_K8sPolicyPort] | None = None


class _K8sNetworkPolicySpec(K8s):
    pod_selector: _K8sSelector | None = None
    policy_types: StrList = None
    ingress: list[_K8sIngressPolicyRule] | None = None
    egress: list[_K8sEgressPolicyRule] | None = None


class _K8sNetworkPolicy(K8s):
    spec: _K8sNetworkPolicySpec | None = None


def _selector(s: _K8sSelector | None) -> LabelSelector | None:
    if s is None:
        return None
    return LabelSelector(
        match_labels=dict(s.match_labels or {}),
        match_expressions=tuple(
            SelectorRequirement(key=r.key, operator=r.operator, values=tuple(r.values or ()))
            for r in s.match_expressions or ()
        ),
    )


def _rule(peers: list[_K8sPeer] | None, ports: list[_K8sPolicyPort] | None) -> NetworkPolicyRule:
    return NetworkPolicyRule(
        peers=tuple(
            NetworkPeer(
                pod_selector=_selector(p.pod_selector),
                namespace_selector=_selector(p.namespace_selector),
                ip_block=IPBlock(cidr=p.ip_block.cidr, except_=tuple(p.ip_block.except_ or ()))
                if p.ip_block is not None
                else None,
            )
            for p in peers or ()
        ),
        ports=tuple(
            f"{p.protocol or 'TCP'}/{p.port if p.port is not None else '*'}"
            + (f"-{p.end_port}" if p.end_port else "")
            for p in ports or ()
        ),
        port_specs=tuple(
            PolicyPort(protocol=p.protocol or "TCP", port=p.port, end_port=p.end_port)
            for p in ports or ()
        ),
    )


def parse_network_policy(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> NetworkPolicy:
    spec = _K8sNetworkPolicy.model_validate(raw).spec or _K8sNetworkPolicySpec()
    types = spec.policy_types
    if not types:
        types = ["Ingress", "Egress"] if spec.egress else ["Ingress"]
    return NetworkPolicy(
        ref=ref,
        pod_selector=_selector(spec.pod_selector) or LabelSelector(),
        policy_types=tuple(types),
        ingress=tuple(_rule(r.from_, r.ports) for r in spec.ingress or ()),
        egress=tuple(_rule(r.to, r.ports) for r in spec.egress or ()),
        source=source,
    )


# --------------------------------------------------------------------------- identity


class ServiceAccount(Frozen):
    ref: ObjectRef
    automount: bool | None = None
    secrets: tuple[str, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    source: SourceLocation | None = None


class _K8sNamed(K8s):
    name: str | None = None


class _K8sServiceAccount(K8s):
    automount_service_account_token: bool | None = None
    secrets: list[_K8sNamed] | None = None
    image_pull_secrets: list[_K8sNamed] | None = None


def parse_service_account(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> ServiceAccount:
    sa = _K8sServiceAccount.model_validate(raw)
    return ServiceAccount(
        ref=ref,
        automount=sa.automount_service_account_token,
        secrets=_names(sa.secrets),
        image_pull_secrets=_names(sa.image_pull_secrets),
        source=source,
    )


def _names(items: list[_K8sNamed] | None) -> tuple[str, ...]:
    return tuple(s.name for s in items or () if s.name is not None)


class _K8sRule(K8s):
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    verbs: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_ur_ls: list[str] | None = Field(default=None, validation_alias="nonResourceURLs")


class _K8sAggregationRule(K8s):
    cluster_role_selectors: list[_K8sSelector] | None = None


class _K8sRole(K8s):
    rules: list[_K8sRule] | None = None
    aggregation_rule: _K8sAggregationRule | None = None


def parse_role(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation, labels: dict[str, str]
) -> Role:
    r = _K8sRole.model_validate(raw)
    # validated above; kept as written (selector() reads them when aggregating)
    selectors: tuple[dict[str, object], ...] = ()
    if r.aggregation_rule is not None and r.aggregation_rule.cluster_role_selectors:
        selectors = tuple(raw["aggregationRule"]["clusterRoleSelectors"])
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
    #: the registry hosts a ``.dockerconfigjson``/``.dockercfg`` holds credentials for
    #: (host names only; empty when the data is absent or not readable)
    registries: tuple[str, ...] = ()
    source: SourceLocation | None = None


class _K8sSecret(K8s):
    type: str | None = None
    data: dict[str, Any] | None = None
    string_data: dict[str, Any] | None = None


def parse_secret(
    ref: ObjectRef,
    raw: dict[str, Any],
    source: SourceLocation,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> SecretMeta:
    secret = _K8sSecret.model_validate(raw)
    keys = {*(secret.data or {}), *(secret.string_data or {})}
    return SecretMeta(
        ref=ref,
        type=secret.type if secret.type is not None else "Opaque",
        keys=tuple(sorted(keys)),
        labels=labels,
        annotation_keys=tuple(sorted(annotations)),
        service_account=annotations.get("kubernetes.io/service-account.name"),
        registries=_registries(secret),
        source=source,
    )


def registry_host(name: str) -> str:
    """A registry as ``auths`` and image references name it, reduced to its host
    (``https://index.docker.io/v1/`` -> ``docker.io``)."""
    host = name.strip().lower().removeprefix("https://").removeprefix("http://").split("/")[0]
    return "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host


def _registries(secret: _K8sSecret) -> tuple[str, ...]:
    """The registry hosts of a docker config Secret. The hosts are not secret; the rest of
    the data is read and dropped. Data that does not decode gives none (the API server
    would refuse it; a placeholder in a rendered chart is common)."""
    found: set[str] = set()
    for key, nested in ((".dockerconfigjson", True), (".dockercfg", False)):
        raw: Any = (secret.string_data or {}).get(key)
        encoded = (secret.data or {}).get(key)
        if raw is None and encoded is not None:
            try:
                raw = base64.b64decode(str(encoded), validate=False).decode()
            except (binascii.Error, UnicodeDecodeError):
                continue
        if not isinstance(raw, str):
            continue
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        auths = doc.get("auths") if nested and isinstance(doc, dict) else doc
        if isinstance(auths, dict):
            found.update(registry_host(str(h)) for h in auths)
    return tuple(sorted(h for h in found if h))


class ConfigMapMeta(Frozen):
    """A ConfigMap's key names and labels (values are not kept)."""

    ref: ObjectRef
    keys: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    source: SourceLocation | None = None


class _K8sConfigMap(K8s):
    data: dict[str, Any] | None = None
    binary_data: dict[str, Any] | None = None


def parse_configmap(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation, labels: dict[str, str]
) -> ConfigMapMeta:
    cm = _K8sConfigMap.model_validate(raw)
    keys = {*(cm.data or {}), *(cm.binary_data or {})}
    return ConfigMapMeta(ref=ref, keys=tuple(sorted(keys)), labels=labels, source=source)


class PersistentVolumeClaim(Frozen):
    ref: ObjectRef
    access_modes: tuple[str, ...] = ()
    volume_name: str | None = None
    storage_class: str | None = None
    storage: str | None = None
    source: SourceLocation | None = None


class _K8sPVCResources(K8s):
    requests: dict[str, Quantity] | None = None


class _K8sPVCSpec(K8s):
    access_modes: StrList = None
    volume_name: str | None = None
    storage_class_name: str | None = None
    resources: _K8sPVCResources | None = None


class _K8sPVC(K8s):
    spec: _K8sPVCSpec | None = None


def parse_pvc(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> PersistentVolumeClaim:
    spec = _K8sPVC.model_validate(raw).spec or _K8sPVCSpec()
    requests = spec.resources.requests if spec.resources is not None else None
    storage = (requests or {}).get("storage")
    return PersistentVolumeClaim(
        ref=ref,
        access_modes=tuple(spec.access_modes or ()),
        volume_name=spec.volume_name or None,
        storage_class=spec.storage_class_name,
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


class _K8sPVSource(K8s):
    """The fields of a PV source attackmap reads (each where that source has them)."""

    path: str | None = None
    server: str | None = None
    driver: str | None = None


class _K8sClaimRef(K8s):
    name: str | None = None
    namespace: str | None = None


class _K8sPVSpec(K8s):
    access_modes: StrList = None
    claim_ref: _K8sClaimRef | None = None
    storage_class_name: str | None = None
    # the backings (_PV_BACKINGS); the first one present is the PV's source
    host_path: _K8sPVSource | None = None
    local: _K8sPVSource | None = None
    nfs: _K8sPVSource | None = None
    csi: _K8sPVSource | None = None
    aws_elastic_block_store: _K8sPVSource | None = None
    gce_persistent_disk: _K8sPVSource | None = None
    azure_disk: _K8sPVSource | None = None
    azure_file: _K8sPVSource | None = None
    cephfs: _K8sPVSource | None = None
    rbd: _K8sPVSource | None = None
    iscsi: _K8sPVSource | None = None
    fc: _K8sPVSource | None = None
    glusterfs: _K8sPVSource | None = None
    cinder: _K8sPVSource | None = None
    portworx_volume: _K8sPVSource | None = None
    vsphere_volume: _K8sPVSource | None = None


class _K8sPV(K8s):
    spec: _K8sPVSpec | None = None


def parse_pv(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> PersistentVolume:
    spec = _K8sPV.model_validate(raw).spec or _K8sPVSpec()
    backing = next((b for b in _PV_BACKINGS if getattr(spec, to_snake(b)) is not None), None)
    body: _K8sPVSource | None = getattr(spec, to_snake(backing)) if backing else None
    claim = spec.claim_ref
    claim_ref = None
    if claim is not None and claim.name is not None:
        claim_ref = ObjectRef(
            kind="PersistentVolumeClaim", namespace=claim.namespace or "default", name=claim.name
        )
    return PersistentVolume(
        ref=ref,
        access_modes=tuple(spec.access_modes or ()),
        backing=backing,
        path=body.path if body is not None else None,
        server=body.server if body is not None else None,
        driver=body.driver if body is not None else None,
        claim=claim_ref,
        storage_class=spec.storage_class_name,
        source=source,
    )


class RuntimeClass(Frozen):
    ref: ObjectRef
    handler: str | None = None
    source: SourceLocation | None = None


class _K8sRuntimeClass(K8s):
    handler: str | None = None


def parse_runtime_class(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> RuntimeClass:
    return RuntimeClass(
        ref=ref, handler=_K8sRuntimeClass.model_validate(raw).handler, source=source
    )


# --------------------------------------------------------------------------- Istio


class IstioServer(Frozen):
    """One ``servers`` entry of an Istio Gateway: its port and the hosts it serves
    (``ns/host`` restrictions kept as written)."""

    port: int | None = None
    protocol: str | None = None
    hosts: tuple[str, ...] = ()


class IstioGateway(Frozen):
    """An Istio ``Gateway`` (``networking.istio.io``; ref kind ``Gateway.networking.istio.io``,
    so it never meets a Gateway API ``Gateway`` of the same name). It configures the
    ingress gateway pods its ``selector`` picks; attackmap takes them to be reachable from
    outside the cluster (they normally sit behind a LoadBalancer), as it does for Ingress
    and Gateway API gateways."""

    ref: ObjectRef
    selector: dict[str, str] = Field(default_factory=dict)
    servers: tuple[IstioServer, ...] = ()
    source: SourceLocation | None = None


class VirtualServiceDestination(Frozen):
    """A route destination: ``host`` as written (a short Service name, ``name.ns``,
    ``name.ns.svc.cluster.local`` or an outside host) and its port, with the gateways the
    route is bound to (the match's ``gateways``, else the VirtualService's)."""

    host: str
    port: int | None = None
    gateways: tuple[str, ...] = ()


class VirtualServiceDelegate(Frozen):
    """An http route handed to another VirtualService (``delegate``), which serves it on
    the gateways this route is bound to."""

    ref: ObjectRef
    gateways: tuple[str, ...] = ()


class VirtualService(Frozen):
    """An Istio ``VirtualService``: the gateways it binds to (``ns/name``, ``name`` in its
    own namespace, or ``mesh``, the default), its hosts, every destination of its http,
    tcp and tls routes (mirrors included) and the VirtualServices it delegates to."""

    ref: ObjectRef
    hosts: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    destinations: tuple[VirtualServiceDestination, ...] = ()
    delegates: tuple[VirtualServiceDelegate, ...] = ()
    source: SourceLocation | None = None


class _K8sIstioPort(K8s):
    number: int | None = None
    protocol: str | None = None
    name: str | None = None


class _K8sIstioServer(K8s):
    port: _K8sIstioPort | None = None
    hosts: StrList = None


class _K8sIstioGatewaySpec(K8s):
    selector: StrMap | None = None
    servers: list[_K8sIstioServer] | None = None


class _K8sIstioGateway(K8s):
    spec: _K8sIstioGatewaySpec | None = None


def parse_istio_gateway(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> IstioGateway:
    spec = _K8sIstioGateway.model_validate(raw).spec or _K8sIstioGatewaySpec()
    return IstioGateway(
        ref=ref,
        selector=dict(spec.selector or {}),
        servers=tuple(
            IstioServer(
                port=s.port.number if s.port else None,
                protocol=s.port.protocol if s.port else None,
                hosts=tuple(s.hosts or ()),
            )
            for s in spec.servers or ()
        ),
        source=source,
    )


class _K8sPortSelector(K8s):
    number: int | None = None


class _K8sDestination(K8s):
    host: str
    port: _K8sPortSelector | None = None


class _K8sRouteDestination(K8s):
    destination: _K8sDestination | None = None


class _K8sIstioMatch(K8s):
    gateways: StrList = None


class _K8sDelegate(K8s):
    name: str | None = None
    namespace: str | None = None


class _K8sIstioRoute(K8s):
    """One http/tcp/tls route (the fields of the three kinds attackmap reads)."""

    match: list[_K8sIstioMatch] | None = None
    route: list[_K8sRouteDestination] | None = None
    mirror: _K8sDestination | None = None
    mirrors: list[_K8sRouteDestination] | None = None
    delegate: _K8sDelegate | None = None


class _K8sVirtualServiceSpec(K8s):
    hosts: StrList = None
    gateways: StrList = None
    http: list[_K8sIstioRoute] | None = None
    tcp: list[_K8sIstioRoute] | None = None
    tls: list[_K8sIstioRoute] | None = None


class _K8sVirtualService(K8s):
    spec: _K8sVirtualServiceSpec | None = None


def parse_virtual_service(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> VirtualService:
    spec = _K8sVirtualService.model_validate(raw).spec or _K8sVirtualServiceSpec()
    gateways = tuple(spec.gateways or ()) or ("mesh",)
    destinations: list[VirtualServiceDestination] = []
    delegates: list[VirtualServiceDelegate] = []
    for route in (*(spec.http or ()), *(spec.tcp or ()), *(spec.tls or ())):
        matches = route.match or []
        # a match's gateways replace the VirtualService's; a match without them keeps them
        bound: set[str] = set()
        for m in matches or [_K8sIstioMatch()]:
            bound.update(m.gateways if m.gateways else gateways)
        targets = [r.destination for r in route.route or () if r.destination is not None]
        targets += [r.destination for r in route.mirrors or () if r.destination is not None]
        if route.mirror is not None:
            targets.append(route.mirror)
        for d in targets:
            destinations.append(
                VirtualServiceDestination(
                    host=d.host,
                    port=d.port.number if d.port is not None else None,
                    gateways=tuple(sorted(bound)),
                )
            )
        if route.delegate is not None and route.delegate.name:
            delegates.append(
                VirtualServiceDelegate(
                    ref=ObjectRef(
                        kind="VirtualService",
                        namespace=route.delegate.namespace or ref.namespace,
                        name=route.delegate.name,
                    ),
                    gateways=tuple(sorted(bound)),
                )
            )
    return VirtualService(
        ref=ref,
        hosts=tuple(spec.hosts or ()),
        gateways=gateways,
        destinations=tuple(destinations),
        delegates=tuple(delegates),
        source=source,
    )
