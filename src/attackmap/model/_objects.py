"""Context objects (everything that is not a pod template), normalised.

The records of the context kinds are here (RBAC's in ``_rbac.py``, Calico's and Cilium's
in ``_calico.py`` and ``_cilium.py``), and the readers of the kinds most manifest sets have
(Service, Namespace, Secret, ConfigMap); the other readers are in a ``_read_*.py`` module per
family of kinds, imported by the loader with the first object of such a kind (start-up:
their parse models are ~60 classes). Each ``parse_*`` takes the raw object (already checked
to have kind/name/namespace) and returns a frozen model. Secrets and ConfigMaps keep
*metadata only*: names, types, key names, labels — never values, never annotations that can
embed them (``kubectl.kubernetes.io/last-applied-configuration``).
"""

import base64
import binascii
import ipaddress
import json
from typing import Any, Literal

from pydantic import Field

from attackmap.model._k8s import K8s, StrList, StrMap
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
    return trusted(  # the validated parse model's values, as the record's fields want them
        Service,
        ref=ref,
        type=spec.type or "ClusterIP",
        selector=dict(spec.selector or {}),
        ports=tuple(
            trusted(
                ServicePort,
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


# --------------------------------------------------------------------------- identity


class ServiceAccount(Frozen):
    ref: ObjectRef
    automount: bool | None = None
    secrets: tuple[str, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    source: SourceLocation | None = None


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

    return trusted(
        NamespacePSS,
        enforce=g("enforce"), enforce_version=g("enforce-version"), audit=g("audit"),
        audit_version=g("audit-version"), warn=g("warn"), warn_version=g("warn-version"),
    )  # fmt: skip


def parse_namespace(name: str, labels: dict[str, str], source: SourceLocation | None) -> Namespace:
    full = {**labels, "kubernetes.io/metadata.name": name}
    return trusted(
        Namespace,
        ref=trusted(ObjectRef, kind="Namespace", namespace=None, name=name),
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
    return trusted(
        SecretMeta,
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
    return trusted(ConfigMapMeta, ref=ref, keys=tuple(sorted(keys)), labels=labels, source=source)


class PersistentVolumeClaim(Frozen):
    ref: ObjectRef
    access_modes: tuple[str, ...] = ()
    volume_name: str | None = None
    storage_class: str | None = None
    storage: str | None = None
    source: SourceLocation | None = None


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


class RuntimeClass(Frozen):
    ref: ObjectRef
    handler: str | None = None
    source: SourceLocation | None = None


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
