"""Calico network policies (``crd.projectcalico.org/v1``, ``projectcalico.org/v3``),
read as far as L3/L4 reachability goes.

``NetworkPolicy`` (filed as ``NetworkPolicy.projectcalico.org``) / ``GlobalNetworkPolicy``:
ordered rules with ``Allow``/``Deny``/``Pass``/``Log`` actions, evaluated per tier in
``order``; a tier whose policies select the pod and whose rules do not decide denies (the
default tier) or passes (another tier: its ``defaultAction`` is not read, Pass is the
conservative reading). Selectors are Calico's expression language
(``_calico_selector.py``). ``NetworkSet``/``GlobalNetworkSet`` give selectors their
outside addresses. See ``_cni.py`` for the attacker's terms and what "not modelled" means.
The records and the verdict are here; ``_read_calico.py`` reads the objects.
"""

import heapq
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import Field

from attackmap.model._calico_selector import (
    evaluate_calico_selector,
    excludes_only,
    parse_calico_selector,
    universal,
)
from attackmap.model._cni import EVERYTHING, Peers, Verdict, cidr_peers
from attackmap.model._refs import Frozen, ObjectRef, SourceLocation, trusted

__all__ = [
    "CalicoEntity",
    "CalicoIndex",
    "CalicoNetworkSet",
    "CalicoPolicy",
    "CalicoRule",
    "calico_verdict",
]


class CalicoEntity(Frozen):
    """A rule's ``source`` (ingress) or ``destination`` (egress) match, as written."""

    nets: tuple[str, ...] = ()
    not_nets: tuple[str, ...] = ()
    selector: str | None = None
    not_selector: str | None = None
    namespace_selector: str | None = None
    service_accounts: bool = False
    services: bool = False
    ports: bool = False
    domains: bool = False

    @property
    def empty(self) -> bool:
        return self == _ANY_ENTITY


_ANY_ENTITY = trusted(CalicoEntity)


class CalicoRule(Frozen):
    """One rule: its action, the peer it matches, and whether it is narrowed to some
    ports, protocols or local endpoints (``narrowed``: a deny then blocks only part)."""

    action: Literal["Allow", "Deny", "Pass", "Log"]
    peer: CalicoEntity = _ANY_ENTITY
    narrowed: bool = False
    text: str = ""


class CalicoPolicy(Frozen):
    """A Calico ``NetworkPolicy`` (ref kind ``NetworkPolicy.projectcalico.org``: pods of
    its namespace) or ``GlobalNetworkPolicy`` (pods of the namespaces its
    ``namespaceSelector`` picks). ``order`` ``None`` is applied last; ``host_only``: a
    ``preDNAT``/``doNotTrack`` policy, which applies to host endpoints, not pods."""

    ref: ObjectRef
    tier: str = "default"
    order: float | None = None
    selector: str | None = None
    namespace_selector: str | None = None
    service_account_selector: str | None = None
    types: tuple[str, ...] = ("Ingress",)
    ingress: tuple[CalicoRule, ...] = ()
    egress: tuple[CalicoRule, ...] = ()
    host_only: bool = False
    notes: tuple[str, ...] = ()
    source: SourceLocation | None = None

    @property
    def is_global(self) -> bool:
        return self.ref.kind == "GlobalNetworkPolicy"

    def sort_key(self) -> tuple[str, bool, float, str]:
        return (self.tier, self.order is None, self.order or 0.0, self.ref.name)


class CalicoNetworkSet(Frozen):
    """A ``NetworkSet`` (namespaced) or ``GlobalNetworkSet``: labelled addresses a rule's
    selector may name."""

    ref: ObjectRef
    labels: dict[str, str] = Field(default_factory=dict)
    nets: tuple[str, ...] = ()
    source: SourceLocation | None = None


# --------------------------------------------------------------------------- Calico verdict

_CALICO_NS = "projectcalico.org/namespace"
_CALICO_SA = "projectcalico.org/serviceaccount"
_CALICO_NAME = "projectcalico.org/name"


def _calico_pod_labels(
    labels: Mapping[str, str], namespace: str, namespace_labels: Mapping[str, str], sa: str
) -> dict[str, str]:
    out = dict(labels)
    out[_CALICO_NS] = namespace
    out[_CALICO_SA] = sa
    out["projectcalico.org/orchestrator"] = "k8s"
    for k, v in namespace_labels.items():
        out["pcns." + k] = v
    return out


def _calico_unknown(key: str) -> bool:
    return key.startswith("pcsa.")  # ServiceAccount labels: not kept by the model


def _calico_selects(
    policy: CalicoPolicy,
    namespace: str,
    pod_labels: Mapping[str, str],
    ns_labels: Mapping[str, str],
) -> bool | None:
    if policy.host_only:
        return False
    results: list[bool | None] = [
        evaluate_calico_selector(
            parse_calico_selector(policy.selector or ""), pod_labels, _calico_unknown
        )
    ]
    if policy.is_global and policy.namespace_selector is not None:
        results.append(
            evaluate_calico_selector(parse_calico_selector(policy.namespace_selector), ns_labels)
        )
    if policy.service_account_selector is not None and not universal(
        policy.service_account_selector
    ):
        results.append(None)  # ServiceAccount labels are not kept: undecided
    if False in results:
        return False
    return None if None in results else True


def _peers_of(
    rule: CalicoRule, policy: CalicoPolicy, network_sets: tuple[CalicoNetworkSet, ...]
) -> Peers:
    """What a rule's peer match covers, for a policy of this kind."""
    e = rule.peer
    if e.empty:
        return EVERYTHING.model_copy(update={"all_ports": not rule.narrowed, "text": rule.text})
    endpoint_terms = (
        e.selector is not None
        or e.not_selector is not None
        or e.namespace_selector is not None
        or e.service_accounts
    )
    # pods: every namespace (a global policy, or namespaceSelector all()), every pod there
    ns_all = policy.is_global if e.namespace_selector is None else universal(e.namespace_selector)
    ns_global = e.namespace_selector is not None and parse_calico_selector(
        e.namespace_selector
    ) == ("global",)
    pods_possible = not e.services and not ns_global and not e.nets
    any_pod = (
        pods_possible
        and ns_all
        and not e.service_accounts
        and (e.selector is None or universal(e.selector) or excludes_only(e.selector))
    )
    every_pod = (
        pods_possible
        and ns_all
        and not e.service_accounts
        and not e.not_nets
        and e.not_selector is None
        and universal(e.selector)
        and not e.ports
    )
    # outside addresses: nets (without endpoint terms), or network sets a selector names
    external = every_external = False
    if not endpoint_terms and not e.services:
        if e.nets:
            listed = [(n, tuple(e.not_nets)) for n in e.nets]
            external, every_external = cidr_peers(listed)
        else:  # notNets only
            external = not any(cidr_peers([(n, ())])[1] for n in e.not_nets)
    elif e.selector is not None and not e.service_accounts:
        expr = parse_calico_selector(e.selector)
        for ns in network_sets:
            if ns_global:
                in_scope = ns.ref.kind == "GlobalNetworkSet"
            elif not policy.is_global and e.namespace_selector is None:
                in_scope = ns.ref.kind == "NetworkSet" and ns.ref.namespace == policy.ref.namespace
            else:  # every namespace the selector may name: any set (over-approximated)
                in_scope = True
            named = in_scope and evaluate_calico_selector(expr, ns.labels) is not False
            if named and cidr_peers((n, ()) for n in ns.nets)[0]:
                external = True
    if e.domains:
        external = True
    return Peers(
        any_pod=any_pod,
        external=external,
        peer=True,
        every_pod=every_pod and not rule.narrowed,
        every_external=every_external and not e.not_nets and not e.ports and not rule.narrowed,
        all_ports=not rule.narrowed,
        text=rule.text,
    )


_Outcome = Literal["allow", "deny", "pass"]
_CLASSES = ("any_pod", "external", "peer")


def _certain(peers: Peers, position: str) -> bool:
    """A deny certainly covers the whole position (every outside address, or every pod:
    an ingress controller is a pod)."""
    return peers.all_ports and (peers.every_external if position == "external" else peers.every_pod)


def _tier_outcomes(
    index: "CalicoIndex",
    tier: str,
    members: list[tuple[CalicoPolicy, bool]],
    direction: Literal["ingress", "egress"],
    out: Verdict,
) -> dict[str, _Outcome]:
    """Evaluate one tier's policies (in order) for each attacker position; record the
    peers its Allow/Pass rules admit before a deny decides them."""
    isolating = any(selected for _, selected in members)
    decided: dict[str, _Outcome] = {}
    for policy, selected in members:
        for rule in policy.ingress if direction == "ingress" else policy.egress:
            if rule.action == "Log":
                continue
            peers = index.peers(rule, policy)
            if rule.action in ("Allow", "Pass") and peers.peer and decided.get("peer") != "deny":
                out.peers.add(f"{policy.ref}: {peers.text}")
            for c in _CLASSES:
                if c in decided:
                    continue
                if rule.action in ("Allow", "Pass") and getattr(peers, c):
                    decided[c] = "allow" if rule.action == "Allow" else "pass"
                elif rule.action == "Deny" and selected and _certain(peers, c):
                    decided[c] = "deny"
    if isolating and tier != "default" and "peer" not in decided:
        out.peers.add(f"Calico tier {tier}: no rule decides, Pass (defaultAction not read)")
    if isolating:
        for c in _CLASSES:
            decided.setdefault(c, "deny" if tier == "default" else "pass")
    return decided


def calico_verdict(
    index: "CalicoIndex",
    namespace: str,
    labels: Mapping[str, str],
    namespace_labels: Mapping[str, str],
    service_account: str,
) -> tuple[Verdict, Verdict]:
    """What the Calico policies do to a pod: (ingress, egress).

    Per tier, in ``order`` (then name), the first rule that decides for an attacker's
    position (any pod, outside address, some peer) decides: an ``Allow`` (or ``Pass``:
    the next tiers are not known, so it counts as allowing) that covers it, a ``Deny``
    that certainly covers all of it on every port. A tier whose policies select the pod
    and decide nothing denies (``default``) or passes (another tier). The tiers' order is
    not read: a position is allowed when some tier allows it or none denies it. A policy
    whose selection is undecided adds its allows, never a deny or the isolation."""
    pod_labels = _calico_pod_labels(labels, namespace, namespace_labels, service_account)
    ns_labels = {**namespace_labels, _CALICO_NAME: namespace}
    chosen: list[tuple[CalicoPolicy, bool]] = []
    for p in index.policies(namespace):
        selected = _calico_selects(p, namespace, pod_labels, ns_labels)
        if selected is not False:
            chosen.append((p, bool(selected)))
    ingress = _direction(index, chosen, "ingress")
    egress = _direction(index, chosen, "egress")
    return ingress, egress


def _direction(
    index: "CalicoIndex",
    chosen: list[tuple[CalicoPolicy, bool]],
    direction: Literal["ingress", "egress"],
) -> Verdict:
    kind = "Ingress" if direction == "ingress" else "Egress"
    tiers: dict[str, list[tuple[CalicoPolicy, bool]]] = {}
    for p, selected in chosen:
        if kind in p.types:
            tiers.setdefault(p.tier, []).append((p, selected))
    out = Verdict()
    outcomes: dict[str, list[_Outcome]] = {c: [] for c in _CLASSES}
    for tier, members in sorted(tiers.items()):
        out.isolated |= any(selected for _, selected in members)
        out.policies.update(p.ref for p, selected in members if selected)
        for c, outcome in _tier_outcomes(index, tier, members, direction, out).items():
            outcomes[c].append(outcome)
    if out.isolated:
        allowed = {c: "allow" in outcomes[c] or "deny" not in outcomes[c] for c in _CLASSES}
    else:  # nothing isolates: only what undecided policies' rules allow is counted
        allowed = {c: "allow" in outcomes[c] or "pass" in outcomes[c] for c in _CLASSES}
    out.any_pod = allowed["any_pod"]
    out.external = allowed["external"]
    if not allowed["peer"]:
        out.peers.clear()
    return out


class CalicoIndex:
    """The Calico policies by namespace (global ones under ``None``) in evaluation order,
    and the peers of each rule (they depend on the policy and the network sets, not on
    the pod), built once per link."""

    def __init__(
        self, policies: Iterable[CalicoPolicy], network_sets: tuple[CalicoNetworkSet, ...]
    ) -> None:
        self.network_sets = network_sets
        self._by_ns: dict[str | None, list[CalicoPolicy]] = {}
        for p in sorted(policies, key=CalicoPolicy.sort_key):
            self._by_ns.setdefault(None if p.is_global else p.ref.namespace, []).append(p)
        self._peers: dict[tuple[int, int], Peers] = {}
        self._merged: dict[str, list[CalicoPolicy]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_ns)

    def policies(self, namespace: str) -> list[CalicoPolicy]:
        """The policies that may select a pod of ``namespace``, in evaluation order (merged
        once a namespace: every pod of it asks)."""
        found = self._merged.get(namespace)
        if found is None:
            found = self._merged[namespace] = list(
                heapq.merge(
                    self._by_ns.get(None, ()),
                    self._by_ns.get(namespace, ()),
                    key=CalicoPolicy.sort_key,
                )
            )
        return found

    def peers(self, rule: CalicoRule, policy: CalicoPolicy) -> Peers:
        # keyed by identity: the index holds every policy, so no id is reused meanwhile
        key = (id(policy), id(rule))
        found = self._peers.get(key)
        if found is None:
            found = self._peers[key] = _peers_of(rule, policy, self.network_sets)
        return found
