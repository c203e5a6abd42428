"""Cross-document links: exposure, NetworkPolicy isolation, ServiceAccount + RBAC,
PVC → PV, namespace labels and Pod Security labels. Dangling references become warnings.

Exposure rule (docs/model.md): each Service in the workload's namespace whose non-empty
selector matches the pod labels gives one route per port whose target resolves to a
container port (by number or name): ClusterIP/headless → ``cluster``, NodePort → ``node``,
LoadBalancer (or ``externalIPs``) → ``external``. An Ingress or HTTPRoute/GRPCRoute whose
backend is such a Service → ``external``, and so is an Istio VirtualService route to it
bound to a gateway other than ``mesh`` (a Gateway in the input must serve one of its
hosts; one outside the input is assumed to). ``hostNetwork`` (each container port) and
``hostPort`` → ``node``. The level is the highest route's; without routes it is
``cluster`` when any container declares a port (reachable by pod IP), else ``none``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from attackmap.model._calico import CalicoIndex, CalicoPolicy, calico_verdict
from attackmap.model._cilium import CiliumIndex, CiliumPolicy, cilium_labels, cilium_verdict
from attackmap.model._cni import Verdict
from attackmap.model._inventory import Inventory
from attackmap.model._objects import (
    METADATA_ADDRESS,
    Ingress,
    IstioGateway,
    NetworkPeer,
    NetworkPolicy,
    Route,
    RouteBackend,
    Service,
    VirtualService,
    parse_namespace,
)
from attackmap.model._rbac import (
    BUILTIN_CLUSTER_ROLES,
    Binding,
    PolicyRule,
    Role,
    ServiceAccountLink,
)
from attackmap.model._refs import LoadWarning, ObjectRef, replace, trusted
from attackmap.model._workload import (
    Exposure,
    ExposureRoute,
    NetworkIsolation,
    PodSpec,
    Workload,
)

__all__ = ["link"]

_LEVELS = {"none": 0, "cluster": 1, "node": 2, "external": 3}
_Level = Literal["cluster", "node", "external"]
_SERVICE_LEVEL: dict[str, _Level] = {
    "ClusterIP": "cluster",
    "NodePort": "node",
    "LoadBalancer": "external",
}


def _target_matches(pod: PodSpec, target: int | str) -> bool:
    for c in pod.containers:
        for p in c.ports:
            if (isinstance(target, int) and p.container_port == target) or (
                isinstance(target, str) and p.name == target
            ):
                return True
    # a numeric target works even if the port is not declared
    return isinstance(target, int)


class _ServiceIndex:
    """Services of each namespace indexed by one of their selector labels, so matching a
    workload costs a few dictionary lookups instead of a scan of every Service."""

    def __init__(self, services: tuple[Service, ...]) -> None:
        self.by_label: dict[tuple[str, str, str], list[Service]] = defaultdict(list)
        for s in services:
            if s.selector:
                k, v = min(s.selector.items())
                self.by_label[(s.ref.namespace or "default", k, v)].append(s)

    def matching(self, namespace: str, labels: dict[str, str]) -> list[Service]:
        found: list[Service] = []
        for k, v in labels.items():
            for s in self.by_label.get((namespace, k, v), ()):
                if all(labels.get(sk) == sv for sk, sv in s.selector.items()):
                    found.append(s)
        return sorted(found, key=lambda s: s.ref.sort_key())


class _GatewayIndex:
    """Ingress backends and Gateway API route backends by the namespace of the Services
    they name, in input order (a workload looks only at its own namespace's)."""

    def __init__(self, inv: Inventory) -> None:
        self.ingresses: dict[str | None, list[Ingress]] = defaultdict(list)
        for ing in inv.ingresses:
            self.ingresses[ing.ref.namespace].append(ing)
        self.route_backends: dict[str, list[tuple[Route, RouteBackend]]] = defaultdict(list)
        for r in inv.routes:
            for b in r.backends:
                self.route_backends[b.namespace].append((r, b))
        self.vs_backends: dict[str, list[_VSBackend]] = _virtual_service_backends(inv)


#: a VirtualService destination bound to an outside gateway: (the VirtualService naming
#: it, the Service's name, the destination port, the gateways that expose it)
_VSBackend = tuple[VirtualService, str, int | None, tuple[str, ...]]


def istio_service(host: str, namespace: str) -> tuple[str, str] | None:
    """The Service ``(name, namespace)`` an Istio destination host names: a short name in
    the VirtualService's namespace, ``name.ns``, or ``name.ns.svc[.<cluster domain>]``;
    ``None`` for a wildcard or another host (a ServiceEntry, an outside name)."""
    labels = host.lower().split(".")
    if "*" in host or not all(labels):
        return None
    if len(labels) == 1:
        return labels[0], namespace
    if len(labels) == 2 or labels[2] == "svc":
        return labels[0], labels[1]
    return None


def _hosts_overlap(a: str, b: str) -> bool:
    """Whether two host patterns (``*``, ``*.example.com``, names) share a host."""
    a, b = a.lower(), b.lower()
    if a == b or "*" in (a, b):
        return True
    return (a.startswith("*.") and b.endswith(a[1:])) or (b.startswith("*.") and a.endswith(b[1:]))


def gateway_serves(gateway: IstioGateway, vs: VirtualService) -> bool:
    """Whether an Istio Gateway serves one of the VirtualService's hosts: a server host
    ``[namespace/]host`` overlaps it and admits the VirtualService's namespace (``*``,
    ``.`` = the Gateway's own, or that name). Without hosts on either side: served."""
    if not vs.hosts or not gateway.servers:
        return True
    for server in gateway.servers:
        for entry in server.hosts or ("*",):
            ns, _, host = entry.rpartition("/")
            if ns not in ("", "*") and (gateway.ref.namespace if ns == "." else ns) != (
                vs.ref.namespace
            ):
                continue
            if any(_hosts_overlap(host, h) for h in vs.hosts):
                return True
    return False


def _gateway_ref(name: str, namespace: str | None) -> tuple[str | None, str]:
    """A VirtualService's gateway reference ``ns/name``, ``name`` (its own namespace) or
    the deprecated ``name.ns.svc.cluster.local`` as (namespace, name)."""
    if "/" in name:
        ns, _, short = name.partition("/")
        return ns, short
    if "." in name:
        short, ns = name.split(".")[:2]
        return ns, short
    return namespace, name


def _virtual_service_backends(inv: Inventory) -> dict[str, list[_VSBackend]]:
    """VirtualService destinations bound to a gateway that serves outside traffic, by the
    namespace of the Service they name. A route handed to another VirtualService
    (``delegate``) exposes that one's destinations on the delegating route's gateways."""
    out: dict[str, list[_VSBackend]] = defaultdict(list)
    if not inv.virtual_services:
        return out
    istio = {(g.ref.namespace, g.ref.name): g for g in inv.istio_gateways}
    by_ref = {vs.ref: vs for vs in inv.virtual_services}
    for vs in inv.virtual_services:
        entries = [(vs, d.host, d.port, d.gateways) for d in vs.destinations]
        for delegate in vs.delegates:
            target = by_ref.get(delegate.ref)
            if target is not None:
                entries += [
                    (target, d.host, d.port, delegate.gateways) for d in target.destinations
                ]
        for owner, host, port, bound in entries:
            outside: list[str] = []
            for g in bound:
                if g == "mesh":  # the sidecars: traffic from inside the mesh only
                    continue
                ns, name = _gateway_ref(g, vs.ref.namespace)
                gateway = istio.get((ns, name))
                if gateway is None or gateway_serves(gateway, vs):
                    outside.append(f"{ns}/{name}")
            target_service = istio_service(host, owner.ref.namespace or "default")
            if outside and target_service is not None:
                svc_name, svc_ns = target_service
                out[svc_ns].append((owner, svc_name, port, tuple(outside)))
    return out


def _exposure(
    w: Workload, services: _ServiceIndex, gateways: _GatewayIndex
) -> tuple[Exposure, list[Service]]:
    routes: list[ExposureRoute] = []
    matched = services.matching(w.namespace, w.labels)
    matched_names = {s.ref.name: s for s in matched}
    for s in matched:
        level: _Level = _SERVICE_LEVEL.get(s.type, "cluster")
        if s.external_ips:
            level = "external"
        for p in s.ports:
            if _target_matches(w.pod, p.target_port):
                routes.append(
                    trusted(
                        ExposureRoute,
                        kind="Service",
                        ref=s.ref,
                        service_type=s.type,
                        port=p.port,
                        target=p.target_port,
                        level=level,
                        source=s.source,
                    )
                )
    namespace = w.namespace
    for ing in gateways.ingresses.get(namespace, ()):
        for ib in ing.backends:
            svc = matched_names.get(ib.service)
            if svc is None:
                continue
            port = next((p for p in svc.ports if p.port == ib.port or p.name == ib.port), None)
            routes.append(
                ExposureRoute(
                    kind="Ingress",
                    ref=ing.ref,
                    service_type=svc.type,
                    port=port.port if port else (ib.port if isinstance(ib.port, int) else None),
                    target=port.target_port if port else None,
                    level="external",
                    source=ing.source,
                )
            )
    for r, b in gateways.route_backends.get(namespace, ()):
        route_kind: Literal["HTTPRoute", "GRPCRoute"] = (
            "GRPCRoute" if r.ref.kind == "GRPCRoute" else "HTTPRoute"
        )
        svc = matched_names.get(b.service)
        if svc is not None:
            port = next((p for p in svc.ports if p.port == b.port), None)
            routes.append(
                ExposureRoute(
                    kind=route_kind,
                    ref=r.ref,
                    service_type=svc.type,
                    port=b.port,
                    target=port.target_port if port else None,
                    level="external",
                    source=r.source,
                )
            )
    seen_vs: set[tuple[ObjectRef, int | None, int | str | None]] = set()
    for vs, svc_name, vs_port, _outside in gateways.vs_backends.get(namespace, ()):
        svc = matched_names.get(svc_name)
        if svc is None:
            continue
        pairs: list[tuple[int | None, int | str | None]] = [
            (p.port, p.target_port) for p in svc.ports if vs_port is None or p.port == vs_port
        ]
        for number, target in pairs or [(vs_port, None)]:
            if (vs.ref, number, target) in seen_vs:
                continue
            seen_vs.add((vs.ref, number, target))
            routes.append(
                ExposureRoute(
                    kind="VirtualService",
                    ref=vs.ref,
                    service_type=svc.type,
                    port=number,
                    target=target,
                    level="external",
                    source=vs.source,
                )
            )
    for c in w.pod.containers:
        for cp in c.ports:
            if w.pod.host_network:
                routes.append(
                    ExposureRoute(
                        kind="hostNetwork",
                        port=cp.container_port,
                        target=cp.container_port,
                        level="node",
                    )
                )
            elif cp.host_port:
                routes.append(
                    ExposureRoute(
                        kind="hostPort", port=cp.host_port, target=cp.container_port, level="node"
                    )
                )
    if w.pod.host_network and not any(r.kind == "hostNetwork" for r in routes):
        routes.append(ExposureRoute(kind="hostNetwork", level="node"))
    overall: Literal["none", "cluster", "node", "external"] = "none"
    for er in routes:
        if _LEVELS[er.level] > _LEVELS[overall]:
            overall = er.level
    if overall == "none" and any(c.ports for c in w.pod.containers):
        overall = "cluster"
    routes.sort(key=lambda r: (r.kind, str(r.ref or ""), r.port or 0, str(r.target)))
    return trusted(Exposure, level=overall, routes=tuple(routes)), matched


def _peer_any_pod(peer: NetworkPeer) -> bool:
    return (
        peer.ip_block is None
        and peer.namespace_selector is not None
        and peer.namespace_selector.empty
        and (peer.pod_selector is None or peer.pod_selector.empty)
    )


#: The isolation of a pod no NetworkPolicy selects (frozen, so one instance serves all).
_NOT_SELECTED = trusted(NetworkIsolation)  # the defaults; no validator built at import


def _network(w: Workload, policies: list[NetworkPolicy]) -> NetworkIsolation:
    selecting = [p for p in policies if p.pod_selector.matches(w.labels)]
    if not selecting:
        return _NOT_SELECTED
    ingress = [p for p in selecting if "Ingress" in p.policy_types]
    egress = [p for p in selecting if "Egress" in p.policy_types]
    any_pod = not ingress
    external = not ingress
    peers: set[str] = set()
    for p in ingress:
        for rule in p.ingress:
            if not rule.peers:
                any_pod = external = True
                peers.add("any source" + (f" on {', '.join(rule.ports)}" if rule.ports else ""))
            for peer in rule.peers:
                peers.add(str(peer))
                if _peer_any_pod(peer):
                    any_pod = True
                if peer.ip_block is not None and peer.ip_block.external:
                    external = True
    egress_any = egress_metadata = not egress
    for p in egress:
        for rule in p.egress:
            if not rule.peers:  # to anywhere
                egress_any = egress_metadata = True
            for block in (peer.ip_block for peer in rule.peers if peer.ip_block is not None):
                egress_any |= block.external
                egress_metadata |= block.contains(METADATA_ADDRESS)
    return trusted(
        NetworkIsolation,
        ingress_isolated=bool(ingress),
        policies=tuple(sorted(p.ref for p in selecting)),
        allows_from_any_pod=any_pod,
        allows_from_external=external,
        allowed_peers=tuple(sorted(peers)),
        egress_isolated=bool(egress),
        egress_allows_any=egress_any,
        egress_allows_metadata=egress_metadata,
    )


def _has_say(v: Verdict) -> bool:
    """Whether a CNI verdict says anything about the pod."""
    return bool(
        v.isolated or v.policies or v.any_pod or v.external or v.peers
        or v.denies_pods or v.denies_external
    )  # fmt: skip


def _restricts(v: Verdict) -> bool:
    """Whether a CNI verdict isolates or allows or denies anything in its direction (a
    policy that only selects the pod changes nothing there)."""
    return bool(
        v.isolated or v.any_pod or v.external or v.peers or v.denies_pods or v.denies_external
    )


def _with_cni(
    k8s: NetworkIsolation,
    w: Workload,
    namespace_labels: dict[str, str],
    cni: tuple[CiliumIndex, CalicoIndex],
) -> NetworkIsolation:
    """``k8s`` (the Kubernetes NetworkPolicies' isolation) with the Cilium and Calico
    policies folded in (``_cni.py``). A pod is isolated when any of them isolates it;
    what reaches it is the union of what each allows (over-approximated where the CNIs
    order or combine them), less what Cilium's deny rules certainly refuse (they take
    precedence over every allow Cilium enforces, the Kubernetes policies' included)."""
    sa = w.pod.service_account_name
    ns = w.namespace
    cil_in, cil_out = cilium_verdict(cni[0], ns, cilium_labels(w.labels, ns, namespace_labels, sa))
    cal_in, cal_out = calico_verdict(cni[1], ns, w.labels, namespace_labels, sa)
    in_isolated = k8s.ingress_isolated or cil_in.isolated or cal_in.isolated
    out_isolated = k8s.egress_isolated or cil_out.isolated or cal_out.isolated
    policies = {*k8s.policies, *cil_in.policies, *cil_out.policies}
    policies |= cal_in.policies | cal_out.policies
    if not any(_has_say(v) for v in (cil_in, cal_in, cil_out, cal_out)):
        return k8s  # no CNI policy has a say about this pod
    peers = set(k8s.allowed_peers) | cil_in.peers
    if cil_in.denies_pods and cil_in.denies_external:
        peers.clear()
    peers |= cal_in.peers
    k8s_in = k8s.ingress_isolated
    k8s_out = k8s.egress_isolated
    cni_in = _restricts(cil_in) or _restricts(cal_in)
    cni_out = _restricts(cil_out) or _restricts(cal_out)
    return trusted(
        NetworkIsolation,
        cni_ingress=cni_in,
        cni_egress=cni_out,
        ingress_isolated=in_isolated,
        policies=tuple(sorted(policies)),
        allows_from_any_pod=not in_isolated
        or (((k8s_in and k8s.allows_from_any_pod) or cil_in.any_pod) and not cil_in.denies_pods)
        or cal_in.any_pod,
        allows_from_external=not in_isolated
        or (
            ((k8s_in and k8s.allows_from_external) or cil_in.external)
            and not cil_in.denies_external
        )
        or cal_in.external,
        allowed_peers=tuple(sorted(peers)) if in_isolated else (),
        egress_isolated=out_isolated,
        egress_allows_any=not out_isolated
        or (
            ((k8s_out and k8s.egress_allows_any) or cil_out.external)
            and not cil_out.denies_external
        )
        or cal_out.external,
        # as egress_allows_any: any outside address a CNI policy allows may be the metadata one
        egress_allows_metadata=not out_isolated
        or (
            ((k8s_out and k8s.egress_allows_metadata) or cil_out.external)
            and not cil_out.denies_external
        )
        or cal_out.external,
    )


def _cni_warnings(inv: Inventory) -> list[LoadWarning]:
    """One warning per part of a CNI policy that is not modelled (``_cni.py``)."""
    policies: list[CiliumPolicy | CalicoPolicy] = [*inv.cilium_policies, *inv.calico_policies]
    return [
        trusted(LoadWarning, message=note, ref=p.ref, source=p.source)
        for p in policies
        for note in p.notes
    ]


def _resolve_roles(roles: tuple[Role, ...]) -> dict[ObjectRef, Role]:
    """Roles by ref, with ClusterRole aggregation resolved to a fixpoint."""
    from attackmap.model._objects import selector

    by_ref = {r.ref: r for r in BUILTIN_CLUSTER_ROLES.values()}
    by_ref.update({r.ref: r for r in roles})
    cluster = [r for r in roles if r.ref.kind == "ClusterRole"]
    changed = True
    rounds = 0
    while changed and rounds < 10:
        changed = False
        rounds += 1
        for agg in cluster:
            current = by_ref[agg.ref]
            if not current.aggregation_selectors:
                continue
            rules = list(current.rules)
            for raw in current.aggregation_selectors:
                sel = selector(raw)
                if sel is None or sel.empty:
                    continue
                for other in cluster:
                    if other.ref != agg.ref and sel.matches(other.labels):
                        for rule in by_ref[other.ref].rules:
                            if rule not in rules:
                                rules.append(rule)
            if len(rules) != len(current.rules):
                by_ref[agg.ref] = current.model_copy(update={"rules": tuple(rules)})
                changed = True
    return by_ref


class _BindingIndex:
    """The bindings each ServiceAccount is a subject of, found by key instead of asking
    every binding (:meth:`Binding.binds`) for every ServiceAccount: a subject
    ``ServiceAccount ns/name`` (its namespace defaults to the binding's), a ``Group`` or a
    ``User`` by name. Positions keep the bindings' input order."""

    def __init__(self, bindings: tuple[Binding, ...]) -> None:
        self.bindings = bindings
        self.by_subject: dict[tuple[str, str | None, str], list[int]] = defaultdict(list)
        for i, b in enumerate(bindings):
            for s in b.subjects:
                if s.kind == "ServiceAccount":
                    key = ("ServiceAccount", s.namespace or b.ref.namespace, s.name)
                elif s.kind in ("Group", "User"):
                    key = (s.kind, None, s.name)
                else:
                    continue
                self.by_subject[key].append(i)

    def of(self, namespace: str, service_account: str) -> list[Binding]:
        """The bindings of ServiceAccount ``namespace/service_account``, as
        ``[b for b in bindings if b.binds(namespace, service_account)]``."""
        keys = (
            ("ServiceAccount", namespace, service_account),
            ("Group", None, "system:serviceaccounts"),
            ("Group", None, f"system:serviceaccounts:{namespace}"),
            ("Group", None, "system:authenticated"),
            ("User", None, f"system:serviceaccount:{namespace}:{service_account}"),
        )
        found: set[int] = set()
        for key in keys:
            found.update(self.by_subject.get(key, ()))
        return [self.bindings[i] for i in sorted(found)]


def _permissions(
    ns: str,
    sa: str,
    bindings: _BindingIndex | tuple[Binding, ...],
    roles: dict[ObjectRef, Role],
) -> tuple[PolicyRule, ...]:
    """The rules bound to ServiceAccount ``ns/sa``. ``bindings``: an index (one lookup) or
    the inventory's bindings (a scan of all of them; graph._facts passes those)."""
    out: list[PolicyRule] = []
    found = (
        bindings.of(ns, sa)
        if isinstance(bindings, _BindingIndex)
        else [b for b in bindings if b.binds(ns, sa)]
    )
    for b in found:
        role = roles.get(b.role_ref)
        if role is None:
            continue
        scope = b.ref.namespace if b.ref.kind == "RoleBinding" else None
        for rule in role.rules:
            out.append(
                PolicyRule(
                    api_groups=rule.api_groups, resources=rule.resources, verbs=rule.verbs,
                    resource_names=rule.resource_names, non_resource_urls=rule.non_resource_urls,
                    namespace=scope, via=b.ref, role=role.ref,
                )
            )  # fmt: skip
    return tuple(out)


def link(inv: Inventory, workloads: tuple[Workload, ...]) -> Inventory:
    """Fill the link fields of ``workloads`` from ``inv``'s context objects; collect warnings."""
    warnings: list[LoadWarning] = []
    services = _ServiceIndex(inv.services)
    gateways = _GatewayIndex(inv)
    cni = (
        CiliumIndex(inv.cilium_policies),
        CalicoIndex(inv.calico_policies, inv.calico_network_sets),
    )
    policies_by_ns: dict[str, list[NetworkPolicy]] = defaultdict(list)
    for p in inv.network_policies:
        policies_by_ns[p.ref.namespace or "default"].append(p)
    namespaces = {n.ref.name: n for n in inv.namespaces}
    sas = {(a.ref.namespace, a.ref.name): a for a in inv.service_accounts}
    roles = _resolve_roles(inv.roles)
    bindings = _BindingIndex(inv.bindings)
    pvcs = {(p.ref.namespace, p.ref.name): p for p in inv.pvcs}
    pvs = {p.ref.name: p for p in inv.pvs}
    pv_by_claim = {(p.claim.namespace, p.claim.name): p for p in inv.pvs if p.claim}
    secrets = {(s.ref.namespace, s.ref.name) for s in inv.secrets}
    sa_links: dict[tuple[str, str, bool], ServiceAccountLink] = {}
    used_services: set[ObjectRef] = set()
    linked: list[Workload] = []
    for w in workloads:
        ns = w.namespace
        exposure, matched = _exposure(w, services, gateways)
        used_services.update(s.ref for s in matched)
        sa_name = w.pod.service_account_name
        sa = sas.get((ns, sa_name))
        if sa is None and sa_name != "default":
            warnings.append(
                trusted(
                    LoadWarning,
                    message=f"uses ServiceAccount {sa_name!r}, which no manifest defines",
                    ref=w.ref,
                    source=w.source,
                )
            )
        automount = w.pod.automount_service_account_token
        if automount is None:
            automount = sa.automount if sa is not None and sa.automount is not None else True
        # one (frozen) link per ServiceAccount and token decision, shared by its workloads
        sa_key = (ns, sa_name, automount)
        sa_link = sa_links.get(sa_key)
        if sa_link is None:
            sa_link = sa_links[sa_key] = trusted(
                ServiceAccountLink,
                ref=trusted(ObjectRef, kind="ServiceAccount", namespace=ns, name=sa_name),
                exists=sa is not None or sa_name == "default",
                automount=automount,
                permissions=_permissions(ns, sa_name, bindings, roles),
                source=sa.source if sa else None,
            )
        volumes = []
        volumes_changed = False
        for v in w.pod.volumes:
            if v.type == "persistentVolumeClaim" and v.claim_name:
                pvc = pvcs.get((ns, v.claim_name))
                update: dict[str, Any] = {}
                if pvc is not None:
                    update["access_modes"] = pvc.access_modes or v.access_modes
                    pv = (
                        pvs.get(pvc.volume_name)
                        if pvc.volume_name
                        else pv_by_claim.get((ns, v.claim_name))
                    )
                else:
                    pv = pv_by_claim.get((ns, v.claim_name))
                if pv is not None:
                    update.update(
                        pv=pv.ref,
                        pv_backing=pv.backing,
                        pv_path=pv.path or pv.server,
                        pv_server=pv.server,
                    )
                    if not update.get("access_modes"):
                        update["access_modes"] = pv.access_modes
                if update:
                    v = replace(v, **update)
                    volumes_changed = True
            elif (
                v.type == "secret"
                and v.secret_name
                and secrets
                and (ns, v.secret_name) not in secrets
            ):
                warnings.append(
                    trusted(
                        LoadWarning,
                        message=f"mounts Secret {v.secret_name!r}, which no manifest defines",
                        ref=w.ref,
                        source=w.source,
                    )
                )
            volumes.append(v)
        if secrets:
            for c in w.pod.containers:
                for e in c.env:
                    if e.source == "secret" and e.ref_name and (ns, e.ref_name) not in secrets:
                        warnings.append(
                            trusted(
                                LoadWarning,
                                message=f"container {c.name!r} reads Secret {e.ref_name!r}, which no manifest defines",
                                ref=w.ref,
                                source=w.source,
                            )
                        )
        namespace = namespaces.get(ns)
        if namespace is None:  # not in the input: only its automatic name label
            namespace = namespaces[ns] = parse_namespace(ns, {}, None)
        network = _network(w, policies_by_ns.get(ns, []))
        if any(cni):
            network = _with_cni(network, w, namespace.labels, cni)
        linked.append(
            replace(
                w,
                exposure=exposure,
                network=network,
                service_account=sa_link,
                namespace_labels=dict(namespace.labels),
                pss=namespace.pss,
                pod=replace(w.pod, volumes=tuple(volumes)) if volumes_changed else w.pod,
            )
        )
    for s in inv.services:
        if s.selector and s.ref not in used_services:
            warnings.append(
                trusted(
                    LoadWarning,
                    message="Service selects no workload in the input",
                    ref=s.ref,
                    source=s.source,
                )
            )
    warnings += _cni_warnings(inv)
    cni_selected = sum(1 for w in linked if w.network.cni_ingress or w.network.cni_egress)
    if cni_selected:
        warnings.append(
            trusted(
                LoadWarning,
                message=f"Cilium/Calico policies select {cni_selected} workload(s): their "
                "rules are not evaluated pod to pod, so reach from and to those workloads is "
                "taken as allowed on every port in the directions they select (conservative)",
            )
        )
    for b in inv.bindings:
        if b.role_ref not in roles:
            warnings.append(
                trusted(
                    LoadWarning,
                    message=f"binds {b.role_ref}, which no manifest defines",
                    ref=b.ref,
                    source=b.source,
                )
            )
    warnings.sort(key=lambda x: (str(x.ref or ""), x.message))
    return inv.model_copy(
        update={"workloads": tuple(linked), "warnings": inv.warnings + tuple(warnings)}
    )
