"""Pod-to-pod reach: which served ports of which workloads a foothold in a workload can open.

**Semantics** (Kubernetes NetworkPolicy, both sides). A pod of workload A may open port
``p`` of workload B when A's egress allows it *and* B's ingress admits it:

* a side no Kubernetes NetworkPolicy selects for that direction (``policyTypes``; when
  omitted, ``Ingress`` always and ``Egress`` when the policy has egress rules) is open;
  once one selects it, only what some rule of some selecting policy allows passes
  (policies add up; a policy without rules denies everything);
* a rule without peers allows every peer; a peer is ``podSelector`` (pods of the policy's
  namespace), ``namespaceSelector`` (every pod of the namespaces it selects, against their
  labels including ``kubernetes.io/metadata.name``), both (those pods of those
  namespaces; ``matchLabels`` and ``matchExpressions``), or an ``ipBlock``;
* an ``ipBlock``: pod addresses are not in the input. A block that overlaps the private
  ranges pod networks use may hold any pod and admits every pod; one wholly outside them
  admits none (:attr:`~attackmap.model._objects.IPBlock.may_hold_pod_ips`);
* a rule without ``ports`` allows every port; an entry matches B's served port by protocol
  (default TCP) and number, a range (``port``..``endPort``) or a name resolved against B's
  ``containerPorts`` (on both sides: the port named is the destination's);
* a ``hostNetwork`` pod is not isolated by NetworkPolicy (its sides are open) and its
  traffic carries the node's address, which no selector can tell apart: taken to match
  every peer (conservative);
* a workload a Cilium or Calico policy selects (for a direction): that side is taken as
  open; those policies are not evaluated rule by rule here (a load warning says so).

The ports that matter are the ones B serves: its containers' ``containerPorts`` (regular
and sidecar containers) and the numeric ``targetPort`` of a Service selecting it that no
container declares (served by whichever container listens: each is a candidate).

**Linear size.** :func:`can_reach` is the pairwise reference; the graph never asks it for
every pair. Each side's policies are cut into *units* (a rule's peer with the rule's ports;
an open side is the unit "any peer, any port"). A hub is a pair (egress unit ``e``,
ingress peer ``q``): A links to the hub ``(e, q)`` for each of its egress units ``e`` and
each ingress peer ``q`` that matches A (and the "any" peer); the hub links to B's served
port ``p`` when B matches ``e``'s peer, ``e``'s ports admit ``p`` and one of B's ingress
units with peer ``q`` admits ``p``. A reaches B:p exactly when some hub links both
(the disjunction over A's egress rules and B's ingress rules distributes over the pair),
and edges are the sum over workloads of (units x peers matched), not a product of
workloads. Selector matches go through label indexes, so a workload is compared with the
peers that could match it, not with every peer of the cluster. The engine keeps each hub
as one shared target group (``("hub", id)`` in graph/_relations.py), the source excluded.

``extract`` builds the index once; its summaries (:meth:`NetworkIndex.reaches`,
:meth:`NetworkIndex.reached`) become the facts ``netpol:egress_allows_pods`` and
``netpol:ingress_allows_pods`` of workloads whose isolated side still lets another one
through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from attackmap.model._objects import LabelSelector, NetworkPeer, NetworkPolicy, PolicyPort

if TYPE_CHECKING:
    from attackmap.graph._facts import FactBase, WorkloadFacts
    from attackmap.model import Workload

SelectorKey = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, tuple[str, ...]], ...]]
# A rule's ports: () every port, else (protocol, port, endPort) entries.
PortsKey = tuple[tuple[str, int | str | None, int | None], ...]


@dataclass(frozen=True)
class Peer:
    """A rule's peer, normalised so equal peers of any policy are one (a hub serves them
    all): ``any`` every pod; ``host`` hostNetwork pods only (an ipBlock that holds no pod
    address may hold a node's); ``pods`` the pods ``pods`` selects (None: all) in
    ``namespace`` or in the namespaces ``namespaces`` selects."""

    kind: str
    namespace: str | None = None
    namespaces: SelectorKey | None = None
    pods: SelectorKey | None = None


Unit = tuple[Peer, PortsKey]
HubKey = tuple[Unit, Peer]

ANY = Peer("any")
HOST = Peer("host")
_OPEN: tuple[Unit, ...] = ((ANY, ()),)


@dataclass(frozen=True)
class ServedPort:
    """A port a workload serves, as the container that would answer on it."""

    number: int
    protocol: str
    name: str | None
    container: str
    #: the port as the scope label shows it: ``8000``, ``53/UDP``; ``8000[web]`` when
    #: several containers may answer (an undeclared Service targetPort)
    text: str


def served_ports(w: Workload) -> tuple[ServedPort, ...]:
    """The ports ``w`` serves, in container then port order."""
    serving = [c for c in w.pod.containers if c.kind in ("regular", "sidecar")]
    found: dict[tuple[int, str, str], tuple[str | None, bool]] = {}
    declared: set[int] = set()
    for c in serving:
        for p in c.ports:
            proto = (p.protocol or "TCP").upper()
            found.setdefault((p.container_port, proto, c.name), (p.name, True))
            declared.add(p.container_port)
    for r in w.exposure.routes:
        if r.kind == "Service" and isinstance(r.target, int) and r.target not in declared:
            declared.add(r.target)
            for c in serving:
                found.setdefault((r.target, "TCP", c.name), (None, False))
    claimed: dict[tuple[int, str], int] = {}
    for number, proto, _c in found:
        claimed[(number, proto)] = claimed.get((number, proto), 0) + 1
    out = []
    for (number, proto, container), (name, _declared) in found.items():
        text = str(number) if proto == "TCP" else f"{number}/{proto}"
        if claimed[(number, proto)] > 1:
            text += f"[{container}]"
        out.append(ServedPort(number, proto, name, container, text))
    return tuple(out)


def ports_admit(ports: PortsKey, port: ServedPort) -> bool:
    """Whether a rule's ports admit ``port`` (no ports: every one)."""
    if not ports:
        return True
    for proto, number, end in ports:
        if proto.upper() != port.protocol:
            continue
        if number is None:
            return True
        if isinstance(number, int):
            if number == port.number or (end is not None and number <= port.number <= end):
                return True
        elif port.name is not None and number == port.name:
            return True
    return False


def _ports_key(specs: Iterable[PolicyPort]) -> PortsKey:
    return tuple(
        sorted(
            {((s.protocol or "TCP").upper(), s.port, s.end_port) for s in specs},
            key=lambda t: (t[0], str(t[1]), t[2] or 0),
        )
    )


def _selector_key(sel: LabelSelector) -> SelectorKey:
    return (
        tuple(sorted(sel.match_labels.items())),
        tuple(sorted((r.key, r.operator, tuple(sorted(r.values))) for r in sel.match_expressions)),
    )


def _selects(key: SelectorKey | None, labels: Mapping[str, str]) -> bool:
    """:meth:`LabelSelector.matches` on a selector key (None: everything)."""
    if key is None:
        return True
    match_labels, expressions = key
    if any(labels.get(k) != v for k, v in match_labels):
        return False
    for k, op, values in expressions:
        present = k in labels
        if op == "In":
            ok = present and labels[k] in values
        elif op == "NotIn":
            ok = not (present and labels[k] in values)
        elif op == "Exists":
            ok = present
        elif op == "DoesNotExist":
            ok = not present
        else:  # the API server rejects other operators: match nothing
            ok = False
        if not ok:
            return False
    return True


def peer_key(peer: NetworkPeer, namespace: str) -> Peer:
    """``peer`` of a policy in ``namespace``, normalised."""
    if peer.ip_block is not None:
        return ANY if peer.ip_block.may_hold_pod_ips else HOST
    pods = None if peer.pod_selector is None or peer.pod_selector.empty else peer.pod_selector
    pods_key = _selector_key(pods) if pods is not None else None
    if peer.namespace_selector is None:
        return Peer("pods", namespace=namespace, pods=pods_key)
    if peer.namespace_selector.empty and pods is None:
        return ANY
    return Peer("pods", namespaces=_selector_key(peer.namespace_selector), pods=pods_key)


@dataclass(frozen=True)
class Endpoint:
    """What the policies see of one workload: where it is, its labels, its units."""

    key: str
    namespace: str
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str]
    host_network: bool
    egress: tuple[Unit, ...]  # as a source
    ingress: tuple[Unit, ...]  # as a destination
    ports: tuple[ServedPort, ...]


def _units(policies: Iterable[NetworkPolicy], direction: str) -> tuple[Unit, ...]:
    out: dict[Unit, None] = {}
    for p in policies:
        ns = p.ref.namespace or "default"
        for rule in p.ingress if direction == "Ingress" else p.egress:
            ports = _ports_key(rule.port_specs)
            if not rule.peers:
                out[(ANY, ports)] = None
            for peer in rule.peers:
                out[(peer_key(peer, ns), ports)] = None
    return tuple(out)


def endpoint(w: Workload, policies: Iterable[NetworkPolicy]) -> Endpoint:
    """``w`` as the policies of its namespace (``policies``) see it."""
    selecting = [p for p in policies if p.pod_selector.matches(w.labels)]
    host = w.pod.host_network
    net = w.network
    ingress = [p for p in selecting if "Ingress" in p.policy_types]
    egress = [p for p in selecting if "Egress" in p.policy_types]
    return Endpoint(
        key=str(w.ref),
        namespace=w.namespace,
        labels=w.labels,
        namespace_labels=w.namespace_labels,
        host_network=host,
        egress=_OPEN if host or net.cni_egress or not egress else _units(egress, "Egress"),
        ingress=_OPEN if host or net.cni_ingress or not ingress else _units(ingress, "Ingress"),
        ports=served_ports(w),
    )


def peer_matches(peer: Peer, ep: Endpoint) -> bool:
    """Whether ``peer`` selects the pods of ``ep`` (hostNetwork pods: every peer)."""
    if peer == ANY or ep.host_network:
        return True
    if peer == HOST:
        return False
    if peer.namespace is not None and peer.namespace != ep.namespace:
        return False
    return _selects(peer.namespaces, ep.namespace_labels) and _selects(peer.pods, ep.labels)


def can_reach(a: Endpoint, b: Endpoint, port: ServedPort) -> bool:
    """The reference: may a pod of ``a`` open ``port`` of ``b``? (``a``'s egress and
    ``b``'s ingress; the hubs of :class:`NetworkIndex` give the same answer in linear size)."""
    out = any(peer_matches(q, b) and ports_admit(ports, port) for q, ports in a.egress)
    return out and any(peer_matches(q, a) and ports_admit(ports, port) for q, ports in b.ingress)


class _PeerIndex:
    """Peers by where they can match, so a workload is compared with the peers of its own
    namespace, those whose namespace selector's first matchLabels pair its namespace has,
    and the rest (selectors of expressions only), not with every peer of the cluster."""

    def __init__(self, peers: Iterable[Peer]) -> None:
        self.all = sorted(set(peers), key=repr)
        self.everywhere: list[Peer] = []
        self.by_namespace: dict[str, list[Peer]] = {}
        self.by_ns_label: dict[tuple[str, str], list[Peer]] = {}
        self.scan: list[Peer] = []
        for peer in self.all:
            if peer.namespace is not None:
                self.by_namespace.setdefault(peer.namespace, []).append(peer)
            elif peer.namespaces is not None and peer.namespaces[0]:
                self.by_ns_label.setdefault(peer.namespaces[0][0], []).append(peer)
            elif peer.kind == "pods":
                self.scan.append(peer)
            else:
                self.everywhere.append(peer)

    def matching(self, ep: Endpoint) -> list[Peer]:
        """The peers that select ``ep``."""
        if ep.host_network:
            return list(self.all)
        candidates = [*self.everywhere, *self.by_namespace.get(ep.namespace, ()), *self.scan]
        for pair in ep.namespace_labels.items():
            candidates += self.by_ns_label.get(pair, ())
        return [p for p in candidates if peer_matches(p, ep)]


def hub_id(hub: HubKey) -> str:
    """A hub's stable id (the same in every graph of the same policies)."""
    return hashlib.sha1(repr(hub).encode(), usedforsecurity=False).hexdigest()[:16]


@dataclass
class NetworkIndex:
    """The hubs of one fact base: each workload's source hubs and each hub's ports."""

    endpoints: dict[str, Endpoint]
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # workload -> hub ids
    members: dict[str, tuple[tuple[str, ServedPort], ...]] = field(default_factory=dict)
    keys: dict[str, HubKey] = field(default_factory=dict)  # hub id -> key (for tests/docs)

    @cached_property
    def _first_sources(self) -> dict[str, tuple[str, ...]]:
        """Each hub's first two sources (enough to find one other than a target)."""
        first: dict[str, list[str]] = {}
        for key, hubs in self.sources.items():
            for hub in hubs:
                found = first.setdefault(hub, [])
                if len(found) < 2:
                    found.append(key)
        return {hub: tuple(found) for hub, found in first.items()}

    @cached_property
    def targets(self) -> dict[tuple[str, str], str]:
        """Every (workload, port text) another workload may open, with that source (the
        first in fact-base order of the first hub)."""
        first = self._first_sources
        out: dict[tuple[str, str], str] = {}
        for hub, members in self.members.items():
            for target, port in members:
                if (target, port.text) not in out:
                    other = next((k for k in first.get(hub, ()) if k != target), None)
                    if other is not None:
                        out[(target, port.text)] = other
        return out

    def reaches(self) -> dict[str, tuple[str, str]]:
        """Each workload that may open a served port of another: (that workload, the
        port's text), the first in hub then fact-base order."""
        out: dict[str, tuple[str, str]] = {}
        for key, hubs in self.sources.items():
            for hub in hubs:
                found = next((m for m in self.members.get(hub, ()) if m[0] != key), None)
                if found is not None:
                    out[key] = (found[0], found[1].text)
                    break
        return out

    def reached(self) -> dict[str, str]:
        """Each workload some other workload may open a served port of: that source."""
        out: dict[str, str] = {}
        for (target, _port), source in sorted(self.targets.items()):
            out.setdefault(target, source)
        return out


def build_index(workloads: Iterable[Workload], policies: Iterable[NetworkPolicy]) -> NetworkIndex:
    """The hubs of ``workloads`` under ``policies``. Every policy's peers count (not only
    those selecting a workload of the input), so a workload's source hubs are the same
    whatever else is in ``workloads``."""
    by_ns: dict[str, list[NetworkPolicy]] = {}
    in_peers: list[Peer] = []
    out_units: dict[Peer, set[PortsKey]] = {ANY: {()}}
    for p in policies:
        ns = p.ref.namespace or "default"
        by_ns.setdefault(ns, []).append(p)
        if "Ingress" in p.policy_types:
            for q, _ports in _units((p,), "Ingress"):
                in_peers.append(q)
        if "Egress" in p.policy_types:
            for q, ports in _units((p,), "Egress"):
                out_units.setdefault(q, set()).add(ports)
    endpoints = {str(w.ref): endpoint(w, by_ns.get(w.namespace, ())) for w in workloads}
    index = NetworkIndex(endpoints)
    ingress_peers = _PeerIndex(in_peers)
    egress_peers = _PeerIndex(out_units)
    hubs: dict[HubKey, str] = {}
    for key, ep in endpoints.items():
        matched = [ANY, *(q for q in ingress_peers.matching(ep) if q != ANY)]
        found: dict[str, None] = {}
        for unit in ep.egress:
            for q in matched:
                hub = (unit, q)
                ident = hubs.get(hub)
                if ident is None:
                    ident = hubs[hub] = hub_id(hub)
                    index.keys[ident] = hub
                found[ident] = None
        index.sources[key] = tuple(sorted(found))
    members: dict[str, dict[tuple[str, ServedPort], None]] = {}
    for key, ep in endpoints.items():
        if not ep.ports:
            continue
        qes = [ANY, *(q for q in egress_peers.matching(ep) if q != ANY)]
        for port in ep.ports:
            for q_in, in_ports in ep.ingress:
                if not ports_admit(in_ports, port):
                    continue
                for q_out in qes:
                    for out_ports in sorted(out_units.get(q_out, ()), key=repr):
                        if not ports_admit(out_ports, port):
                            continue
                        ident = hubs.get(((q_out, out_ports), q_in))
                        if ident is not None:
                            members.setdefault(ident, {})[(key, port)] = None
    index.members = {ident: tuple(found) for ident, found in sorted(members.items())}
    return index


def network_index(fb: FactBase) -> NetworkIndex:
    """The :class:`NetworkIndex` of ``fb`` (``extract`` builds it; a fact base built by
    hand gets one built here, not kept)."""
    if fb.network is not None:
        return fb.network
    return build_index((w.workload for w in fb.workloads), fb.network_policies)


def source_hubs(fb: FactBase, wf: WorkloadFacts) -> tuple[str, ...]:
    """The hubs a foothold in ``wf`` reaches."""
    return network_index(fb).sources.get(wf.key, ())
