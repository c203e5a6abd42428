"""CNI network policies: Cilium and Calico, read as far as L3/L4 reachability goes.

Kubernetes NetworkPolicies are read in ``_objects.py`` and linked in ``_links.py``; the
policies of the two CNIs common on GPU clusters are read here and folded into the same
:class:`~attackmap.model.NetworkIsolation` (``_links.link``):

- **Cilium** ``CiliumNetworkPolicy`` / ``CiliumClusterwideNetworkPolicy`` (``cilium.io``):
  each rule (``spec`` or an item of ``specs``) selects endpoints with ``endpointSelector``;
  a rule with ``ingress``/``ingressDeny`` rules (or ``enableDefaultDeny.ingress: true``)
  puts the selected pod in default deny for ingress. Allow rules add up (with the
  Kubernetes NetworkPolicies Cilium also enforces); deny rules take precedence.
- **Calico** ``NetworkPolicy`` / ``GlobalNetworkPolicy`` (``crd.projectcalico.org/v1``,
  ``projectcalico.org/v3``): ordered rules with ``Allow``/``Deny``/``Pass``/``Log``
  actions, evaluated per tier in ``order``; a tier whose policies select the pod and whose
  rules do not decide denies (the default tier) or passes (another tier: its
  ``defaultAction`` is not read, Pass is the conservative reading). Selectors are Calico's
  expression language, parsed here (:func:`parse_calico_selector`), never evaluated as
  code. ``NetworkSet``/``GlobalNetworkSet`` give selectors their outside addresses.

Only what decides whether an attacker's position can connect is modelled: *any pod of the
cluster*, *an address outside the cluster*, *some peer* (an ingress controller may be
one), per direction. What is not modelled (L7 rules, FQDNs, cloud groups, CIDR groups,
mutual authentication, ``fromRequires``, host policies) is listed in each policy's
``notes`` and becomes a load warning naming the policy and the field; every such
construct is read so that it can only make a workload look *more* reachable than it is:
an allow it cannot narrow counts as allowing, a deny it cannot evaluate does not count.
"""

from __future__ import annotations

import functools
import heapq
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from attackmap.model._k8s import IntOrStr, K8s, StrList
from attackmap.model._objects import IPBlock, LabelSelector, _K8sSelector, _selector
from attackmap.model._refs import Frozen, ObjectRef, SourceLocation

__all__ = [
    "CalicoEntity",
    "CalicoNetworkSet",
    "CalicoPolicy",
    "CalicoRule",
    "CiliumPolicy",
    "CiliumRule",
    "CniIndex",
    "Peers",
    "Verdict",
    "calico_verdict",
    "cilium_verdict",
    "evaluate_calico_selector",
    "parse_calico_network_set",
    "parse_calico_policy",
    "parse_calico_selector",
    "parse_cilium_policy",
]


# --------------------------------------------------------------------------- peer sets


class Peers(Frozen):
    """What one rule matches on the other side of a connection, in the attacker's terms.

    Allow side (over-approximated): ``any_pod`` — every pod of the cluster, or every pod
    but some (an attacker picks the pod); ``external`` — some address outside the
    cluster; ``peer`` — some source at all. Deny side (under-approximated): ``every_pod``,
    ``every_external`` — certainly all of them, on every port (``all_ports``)."""

    any_pod: bool = False
    external: bool = False
    peer: bool = False
    every_pod: bool = False
    every_external: bool = False
    all_ports: bool = True
    text: str = ""


def _union(items: Iterable[Peers], text: str, all_ports: bool) -> Peers:
    items = list(items)
    return Peers(
        any_pod=any(p.any_pod for p in items),
        external=any(p.external for p in items),
        peer=any(p.peer for p in items),
        every_pod=any(p.every_pod for p in items),
        every_external=any(p.every_external for p in items),
        all_ports=all_ports,
        text=text,
    )


_EVERYTHING = Peers(any_pod=True, external=True, peer=True, every_pod=True, every_external=True)


@dataclass(slots=True)
class Verdict:
    """One CNI's answer for one pod and direction: whether its policies isolate the pod,
    what they allow (any pod, outside addresses, some peer), what they certainly deny,
    and which policies select the pod."""

    isolated: bool = False
    any_pod: bool = False
    external: bool = False
    peers: set[str] = field(default_factory=set)
    denies_pods: bool = False
    denies_external: bool = False
    policies: set[ObjectRef] = field(default_factory=set)


def _cidr_peers(cidrs: Iterable[tuple[str, tuple[str, ...]]]) -> tuple[bool, bool]:
    """(some outside address, every outside address) of CIDRs with their exceptions."""
    external = every = False
    for cidr, excepted in cidrs:
        block = IPBlock(cidr=cidr, except_=excepted)
        if block.external:
            external = True
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if net.prefixlen == 0 and not excepted:
            every = True
    return external, every


# --------------------------------------------------------------------------- Cilium

#: Cilium's label sources a selector key may carry; ``k8s:``/``any:`` keys are pod labels.
_CILIUM_SOURCES = ("k8s:", "any:")
_NS_KEY = "io.kubernetes.pod.namespace"
_CILIUM_SA_KEY = "io.cilium.k8s.policy.serviceaccount"
_CILIUM_NS_LABELS = "io.cilium.k8s.namespace.labels."
#: the cluster name (ClusterMesh) is not in the manifests: a selector on it is undecided
_CILIUM_UNKNOWN_KEYS = frozenset({"io.cilium.k8s.policy.cluster"})
_WORLD = frozenset({"world", "world-ipv4", "world-ipv6"})
_NODE_ENTITIES = frozenset(
    {"host", "remote-node", "kube-apiserver", "health", "init", "ingress", "unmanaged"}
)


class CiliumRule(Frozen):
    """One rule of a Cilium policy, its selector keys normalised (``k8s:app`` → ``app``);
    each ingress/egress entry is the :class:`Peers` it allows or denies. (A host policy's
    rule, ``nodeSelector``, selects nodes, not pods: it is not kept, a note says so.)"""

    endpoint_selector: LabelSelector = Field(default_factory=LabelSelector)
    default_deny_ingress: bool = False
    default_deny_egress: bool = False
    ingress: tuple[Peers, ...] = ()
    ingress_deny: tuple[Peers, ...] = ()
    egress: tuple[Peers, ...] = ()
    egress_deny: tuple[Peers, ...] = ()


class CiliumPolicy(Frozen):
    """A ``CiliumNetworkPolicy`` (its rules select pods of its namespace) or a
    ``CiliumClusterwideNetworkPolicy`` (pods of every namespace). ``notes``: the parts
    attackmap does not model, each with what it assumes instead."""

    ref: ObjectRef
    rules: tuple[CiliumRule, ...] = ()
    notes: tuple[str, ...] = ()
    source: SourceLocation | None = None

    @property
    def clusterwide(self) -> bool:
        return self.ref.kind == "CiliumClusterwideNetworkPolicy"


class _K8sCiliumCIDRRule(K8s):
    cidr: str | None = None
    except_: StrList = Field(default=None, validation_alias="except")
    cidr_group_ref: str | None = None
    cidr_group_selector: _K8sSelector | None = None


class _K8sCiliumPort(K8s):
    port: IntOrStr | None = None
    end_port: int | None = None
    protocol: str | None = None


class _K8sCiliumPortRule(K8s):
    ports: list[_K8sCiliumPort] | None = None
    rules: dict[str, Any] | None = None
    server_names: StrList = None
    terminating_tls: dict[str, Any] | None = Field(default=None, validation_alias="terminatingTLS")
    originating_tls: dict[str, Any] | None = Field(default=None, validation_alias="originatingTLS")
    listener: dict[str, Any] | None = None


class _K8sCiliumPeerRule(K8s):
    """An ingress/egress (deny) rule: the ``from*`` and ``to*`` peer fields of both
    directions in one model (each direction reads only its own)."""

    from_endpoints: list[_K8sSelector] | None = None
    from_requires: list[_K8sSelector] | None = None
    from_cidr: StrList = Field(default=None, validation_alias="fromCIDR")
    from_cidr_set: list[_K8sCiliumCIDRRule] | None = Field(
        default=None, validation_alias="fromCIDRSet"
    )
    from_entities: StrList = None
    from_nodes: list[_K8sSelector] | None = None
    from_groups: list[dict[str, Any]] | None = None
    to_endpoints: list[_K8sSelector] | None = None
    to_requires: list[_K8sSelector] | None = None
    to_cidr: StrList = Field(default=None, validation_alias="toCIDR")
    to_cidr_set: list[_K8sCiliumCIDRRule] | None = Field(default=None, validation_alias="toCIDRSet")
    to_entities: StrList = None
    to_nodes: list[_K8sSelector] | None = None
    to_groups: list[dict[str, Any]] | None = None
    to_services: list[dict[str, Any]] | None = None
    to_fqd_ns: list[dict[str, Any]] | None = Field(default=None, validation_alias="toFQDNs")
    to_ports: list[_K8sCiliumPortRule] | None = None
    icmps: list[dict[str, Any]] | None = None
    authentication: dict[str, Any] | None = None


class _K8sDefaultDeny(K8s):
    ingress: bool | None = None
    egress: bool | None = None


class _K8sCiliumRule(K8s):
    endpoint_selector: _K8sSelector | None = None
    node_selector: _K8sSelector | None = None
    ingress: list[_K8sCiliumPeerRule] | None = None
    ingress_deny: list[_K8sCiliumPeerRule] | None = None
    egress: list[_K8sCiliumPeerRule] | None = None
    egress_deny: list[_K8sCiliumPeerRule] | None = None
    enable_default_deny: _K8sDefaultDeny | None = None


class _K8sCiliumPolicy(K8s):
    spec: _K8sCiliumRule | None = None
    specs: list[_K8sCiliumRule] | None = None


def _cilium_key(key: str) -> str:
    for prefix in _CILIUM_SOURCES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _cilium_selector(raw: _K8sSelector | None) -> LabelSelector:
    sel = _selector(raw) or LabelSelector()
    return LabelSelector(
        match_labels={_cilium_key(k): v for k, v in sel.match_labels.items()},
        match_expressions=tuple(
            r.model_copy(update={"key": _cilium_key(r.key)}) for r in sel.match_expressions
        ),
    )


def _negative_only(sel: LabelSelector, ignore: str | None = None) -> bool:
    """The selector only excludes (``NotIn``, ``DoesNotExist``; ``Exists`` on ``ignore``):
    an attacker picks a pod it does not exclude."""
    if sel.match_labels:
        return False
    return all(
        r.operator in ("NotIn", "DoesNotExist") or (r.key == ignore and r.operator == "Exists")
        for r in sel.match_expressions
    )


def _keys(sel: LabelSelector) -> set[str]:
    return set(sel.match_labels) | {r.key for r in sel.match_expressions}


class _Notes:
    """Collects, per policy, the parts not modelled (one line each, deduplicated)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        line = f"{where}: {what}"
        if line not in self.items:
            self.items.append(line)


def _endpoint_peers(selectors: list[_K8sSelector], clusterwide: bool) -> Peers:
    out: list[Peers] = []
    for raw in selectors:
        sel = _cilium_selector(raw)
        keys = _keys(sel)
        reserved = {k for k in keys if k.startswith("reserved:")}
        if reserved:
            world = any(k.removeprefix("reserved:") in _WORLD for k in reserved)
            out.append(Peers(external=world, peer=True, every_external=False))
            continue
        if clusterwide or _NS_KEY in keys:
            # no implicit namespace: every pod unless the selector narrows it (a
            # clusterwide {} selects every pod of the cluster, not the world)
            everyone = sel.empty or _negative_only(sel, ignore=_NS_KEY)
            exact = sel.empty or (
                all(r.key == _NS_KEY and r.operator == "Exists" for r in sel.match_expressions)
                and not sel.match_labels
            )
            out.append(Peers(any_pod=everyone, peer=True, every_pod=exact))
        else:  # a namespaced policy's endpoints are those of its namespace
            out.append(Peers(peer=True))
    return _union(out, "", True)


def _entity_peers(entities: list[str], notes: _Notes, where: str) -> Peers:
    out: list[Peers] = []
    for e in entities:
        if e == "all":
            out.append(_EVERYTHING)
        elif e in _WORLD:
            out.append(Peers(external=True, peer=True, every_external=e == "world"))
        elif e == "cluster":
            out.append(Peers(any_pod=True, peer=True, every_pod=True))
        elif e in _NODE_ENTITIES:
            out.append(Peers(peer=True))
        elif e == "none":
            continue
        else:
            notes.add(where, f"entity {e!r} not modelled: counted as allowing any source")
            out.append(Peers(any_pod=True, external=True, peer=True))
    return _union(out, "", True)


def _ports(
    rules: list[_K8sCiliumPortRule] | None,
    icmps: list[dict[str, Any]] | None,
    notes: _Notes,
    where: str,
) -> tuple[bool, str]:
    """(every port, description) of ``toPorts``/``icmps``, noting L7 parts."""
    if not rules and not icmps:
        return True, ""
    every = False
    shown: list[str] = []
    for i, pr in enumerate(rules or ()):
        ports = pr.ports or []
        if not ports:
            every = True
        for p in ports:
            if p.port in (None, 0, "0", ""):
                every = True
            shown.append(f"{p.protocol or 'ANY'}/{p.port if p.port is not None else '*'}")
        l7 = sorted(pr.rules) if pr.rules else []
        if l7:
            notes.add(
                f"{where}.toPorts[{i}].rules",
                f"L7 rules ({', '.join(l7)}) not modelled: the rule counts as allowing "
                "the whole port",
            )
        for name, value in (
            ("serverNames", pr.server_names),
            ("terminatingTLS", pr.terminating_tls),
            ("originatingTLS", pr.originating_tls),
            ("listener", pr.listener),
        ):
            if value:
                notes.add(
                    f"{where}.toPorts[{i}].{name}",
                    "not modelled: the rule counts as allowing the whole port",
                )
    if icmps:
        shown.append("ICMP")
        if not rules:
            notes.add(
                f"{where}.icmps",
                "ICMP-only rule: counted as allowing the peer (protocols not modelled)",
            )
    return every, " on " + ", ".join(shown) if shown else ""


def _cilium_peer_rule(
    r: _K8sCiliumPeerRule,
    direction: Literal["ingress", "egress"],
    clusterwide: bool,
    notes: _Notes,
    where: str,
    deny: bool,
) -> Peers:
    ingress = direction == "ingress"
    endpoints = r.from_endpoints if ingress else r.to_endpoints
    requires = r.from_requires if ingress else r.to_requires
    cidrs = r.from_cidr if ingress else r.to_cidr
    cidr_set = r.from_cidr_set if ingress else r.to_cidr_set
    entities = r.from_entities if ingress else r.to_entities
    nodes = r.from_nodes if ingress else r.to_nodes
    groups = r.from_groups if ingress else r.to_groups
    services = None if ingress else r.to_services
    fqdns = None if ingress else r.to_fqd_ns
    verb = "from" if ingress else "to"
    all_ports, port_text = _ports(r.to_ports, r.icmps, notes, where)
    if r.authentication:
        notes.add(f"{where}.authentication", "mutual authentication not modelled")
    l3 = (endpoints, cidrs, cidr_set, entities, nodes, groups, services, fqdns)
    if any(x is not None and len(x) == 0 for x in l3):
        # an explicit empty list selects no peer at all (Cilium >= 1.15)
        return Peers(all_ports=all_ports, text=f"no peer ({verb} an empty list)")
    if all(x is None for x in l3):
        if r.to_ports or r.icmps:  # L4 only: every peer on those ports
            return _EVERYTHING.model_copy(
                update={"all_ports": all_ports, "text": f"any source{port_text}"}
            )
        return Peers(text="no peer (empty rule)")
    parts: list[Peers] = []
    shown: list[str] = []
    if endpoints is not None:
        parts.append(_endpoint_peers(endpoints, clusterwide))
        shown += [f"endpoints{_cilium_selector(s)}" for s in endpoints]
    if cidrs is not None or cidr_set is not None:
        listed: list[tuple[str, tuple[str, ...]]] = [(c, ()) for c in cidrs or ()]
        for i, c in enumerate(cidr_set or ()):
            if c.cidr is not None:
                listed.append((c.cidr, tuple(c.except_ or ())))
            if c.cidr_group_ref or c.cidr_group_selector:
                notes.add(
                    f"{where}.{verb}CIDRSet[{i}]",
                    "CIDR groups not modelled: counted as outside addresses",
                )
                parts.append(Peers(external=True, peer=True))
        external, every = _cidr_peers(listed)
        parts.append(Peers(external=external, peer=True, every_external=every))
        shown += [f"CIDR {c}" + (f" except {','.join(e)}" if e else "") for c, e in listed]
    if entities is not None:
        parts.append(_entity_peers(entities, notes, f"{where}.{verb}Entities"))
        shown.append(f"entities {','.join(entities)}")
    if nodes is not None:
        parts.append(Peers(peer=True))
        shown.append("nodes")
    if groups is not None:
        notes.add(
            f"{where}.{verb}Groups", "cloud groups not modelled: counted as outside addresses"
        )
        parts.append(Peers(external=True, peer=True))
        shown.append("cloud groups")
    if services is not None:
        parts.append(Peers(peer=True))
        shown.append("services")
    if fqdns is not None:
        notes.add(f"{where}.toFQDNs", "FQDN rules not modelled: counted as any outside address")
        parts.append(Peers(external=True, peer=True))
        shown.append("FQDNs")
    peers = _union(parts, f"{', '.join(shown)}{port_text}", all_ports)
    if requires:
        notes.add(
            f"{where}.{verb}Requires",
            "not modelled (it only narrows the rule): "
            + ("the deny counts for no peer" if deny else "the rule counts without it"),
        )
        if deny:
            peers = peers.model_copy(update={"every_pod": False, "every_external": False})
    return peers


def parse_cilium_policy(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> CiliumPolicy:
    policy = _K8sCiliumPolicy.model_validate(raw)
    clusterwide = ref.kind == "CiliumClusterwideNetworkPolicy"
    notes = _Notes()
    specs: list[tuple[str, _K8sCiliumRule]] = []
    if policy.spec is not None:
        specs.append(("spec", policy.spec))
    specs += [(f"specs[{i}]", s) for i, s in enumerate(policy.specs or ())]
    rules: list[CiliumRule] = []
    for where, r in specs:
        if r.endpoint_selector is None:
            if r.node_selector is not None:
                notes.add(
                    f"{where}.nodeSelector",
                    "host policy (selects nodes, and pods on the host network) not modelled",
                )
            continue

        def side(
            name: str, items: list[_K8sCiliumPeerRule] | None, at: str = where
        ) -> tuple[Peers, ...]:
            direction: Literal["ingress", "egress"] = (
                "ingress" if name.startswith("ingress") else "egress"
            )
            deny = name.endswith("Deny")
            return tuple(
                _cilium_peer_rule(x, direction, clusterwide, notes, f"{at}.{name}[{i}]", deny)
                for i, x in enumerate(items or ())
            )

        dd = r.enable_default_deny or _K8sDefaultDeny()
        rules.append(
            CiliumRule(
                endpoint_selector=_cilium_selector(r.endpoint_selector),
                default_deny_ingress=dd.ingress
                if dd.ingress is not None
                else bool(r.ingress or r.ingress_deny),
                default_deny_egress=dd.egress
                if dd.egress is not None
                else bool(r.egress or r.egress_deny),
                ingress=side("ingress", r.ingress),
                ingress_deny=side("ingressDeny", r.ingress_deny),
                egress=side("egress", r.egress),
                egress_deny=side("egressDeny", r.egress_deny),
            )
        )
    return CiliumPolicy(ref=ref, rules=tuple(rules), notes=tuple(notes.items), source=source)


def _match3(
    sel: LabelSelector, labels: Mapping[str, str], unknown: Callable[[str], bool]
) -> bool | None:
    """``sel.matches(labels)`` with a third answer: ``None`` when a requirement names a
    key whose value the manifests cannot tell (and no other requirement fails)."""
    undecided = False
    for k, v in sel.match_labels.items():
        if unknown(k):
            undecided = True
        elif labels.get(k) != v:
            return False
    for r in sel.match_expressions:
        if unknown(r.key):
            undecided = True
            continue
        value = labels.get(r.key)
        if r.operator == "In":
            ok = value is not None and value in r.values
        elif r.operator == "NotIn":
            ok = value is None or value not in r.values
        elif r.operator in ("Exists", "DoesNotExist"):
            ok = (value is not None) is (r.operator == "Exists")
        else:  # an operator the API server refuses: matches nothing (as LabelSelector)
            ok = False
        if not ok:
            return False
    return None if undecided else True


def cilium_labels(
    labels: Mapping[str, str],
    namespace: str,
    namespace_labels: Mapping[str, str],
    service_account: str,
) -> dict[str, str]:
    """The labels a Cilium endpoint selector sees on a pod: its own, its namespace, its
    ServiceAccount and its namespace's labels."""
    out = dict(labels)
    out[_NS_KEY] = namespace
    out[_CILIUM_SA_KEY] = service_account
    for k, v in namespace_labels.items():
        out[_CILIUM_NS_LABELS + k] = v
    return out


def _cilium_unknown(key: str) -> bool:
    return key in _CILIUM_UNKNOWN_KEYS or (
        ":" in key.split("/")[0] and not key.startswith("reserved:")
    )


def cilium_verdict(
    index: CniIndex, namespace: str, labels: Mapping[str, str]
) -> tuple[Verdict, Verdict]:
    """What the Cilium policies do to a pod (``labels`` from :func:`cilium_labels`):
    (ingress, egress). A rule whose selection cannot be decided (a cluster-name key)
    adds its allows but neither isolates nor denies."""
    ingress, egress = Verdict(), Verdict()
    for policy in index.cilium(namespace):
        for rule in policy.rules:
            selected = _match3(rule.endpoint_selector, labels, _cilium_unknown)
            if selected is False:
                continue
            sides = (
                (ingress, rule.default_deny_ingress, rule.ingress, rule.ingress_deny),
                (egress, rule.default_deny_egress, rule.egress, rule.egress_deny),
            )
            for out, default_deny, allows, denies in sides:
                if selected:
                    out.policies.add(policy.ref)
                    out.isolated |= default_deny
                    for p in denies:
                        out.denies_pods |= p.every_pod and p.all_ports
                        out.denies_external |= p.every_external and p.all_ports
                for p in allows:
                    out.any_pod |= p.any_pod
                    out.external |= p.external
                    if p.peer:
                        out.peers.add(f"{policy.ref}: {p.text}")
    return ingress, egress


# --------------------------------------------------------------------------- Calico selectors

Expr = tuple[Any, ...]

_LABEL = re.compile(r"[a-zA-Z0-9_./-]{1,512}")
_OPERATOR = re.compile(r"contains|starts[ \t]*with|ends[ \t]*with|not[ \t]*in|in")
#: two-character symbols first: "!=" is not "!" then "="
_SYMBOLS = ("==", "!=", "&&", "||", "!", "(", ")", "{", "}", ",")
_OPERATORS = {"con": "contains", "sta": "starts", "end": "ends", "not": "notin"}
#: Calico refuses longer selectors; the nesting bound keeps the parser's recursion shallow
_MAX_SELECTOR = 1024
_MAX_NESTING = 64
_FUNCTION = re.compile(r"(has|all|global)\([ \t]*")


class SelectorError(ValueError):
    """A Calico selector the Calico API server would refuse."""


def _tokens(text: str) -> list[tuple[str, str]]:
    """Calico's selector tokens (libcalico-go ``selector/tokenizer``)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            out.append(("eof", ""))
            return out
        ch = text[i]
        last = out[-1][0] if out else ""
        symbol = next((sym for sym in _SYMBOLS if text.startswith(sym, i)), None)
        if symbol is not None:
            out.append((symbol, symbol))
            i += len(symbol)
        elif ch in "\"'":
            end = text.find(ch, i + 1)
            if end < 0:
                raise SelectorError("unterminated string")
            out.append(("str", text[i + 1 : end]))
            i = end + 1
        elif last == "label":
            match = _OPERATOR.match(text, i)
            if match is None:
                raise SelectorError(f"expected an operator after label {out[-1][1]!r}")
            word = match.group(0)
            out.append((_OPERATORS.get(word[:3], "in"), word))
            i = match.end()
        else:
            m = _FUNCTION.match(text, i)
            if m is not None:
                i = m.end()
                if m.group(1) == "has":
                    label = _LABEL.match(text, i)
                    if label is None:
                        raise SelectorError("no label name in has(")
                    i = label.end()
                    while i < n and text[i] in " \t":
                        i += 1
                    if i >= n or text[i] != ")":
                        raise SelectorError("no closing ')' after has(")
                    out.append(("has", label.group(0)))
                else:
                    if i >= n or text[i] != ")":
                        raise SelectorError(f"no closing ')' after {m.group(1)}(")
                    out.append((m.group(1), ""))
                i += 1
                continue
            label = _LABEL.match(text, i)
            if label is None:
                raise SelectorError(f"unexpected character {ch!r}")
            out.append(("label", label.group(0)))
            i = label.end()


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str:
        return self.t[self.i][0]

    def take(self) -> tuple[str, str]:
        tok = self.t[self.i]
        self.i += 1
        return tok

    def or_(self) -> Expr:
        nodes = [self.and_()]
        while self.peek() == "||":
            self.take()
            nodes.append(self.and_())
        return nodes[0] if len(nodes) == 1 else ("or", tuple(nodes))

    def and_(self) -> Expr:
        nodes = [self.op()]
        while self.peek() == "&&":
            self.take()
            nodes.append(self.op())
        return nodes[0] if len(nodes) == 1 else ("and", tuple(nodes))

    def op(self) -> Expr:
        negated = False
        while self.peek() == "!":
            self.take()
            negated = not negated
        kind, value = self.take()
        node: Expr
        if kind in ("has",):
            node = ("has", value)
        elif kind in ("all", "global"):
            node = (kind,)
        elif kind == "label":
            op, _ = self.take()
            if op in ("==", "!=", "contains", "starts", "ends"):
                lit_kind, lit = self.take()
                if lit_kind != "str":
                    raise SelectorError("expected a string literal")
                node = ({"==": "eq", "!=": "ne"}.get(op, op), value, lit)
            elif op in ("in", "notin"):
                if self.take()[0] != "{":
                    raise SelectorError("expected a set literal")
                values: list[str] = []
                while self.peek() == "str":
                    values.append(self.take()[1])
                    if self.peek() != ",":
                        break
                    self.take()
                if self.take()[0] != "}":
                    raise SelectorError("expected }")
                node = (op, value, frozenset(values))
            else:
                raise SelectorError(f"expected == or != after label {value!r}")
        elif kind == "(":
            self.depth += 1
            if self.depth > _MAX_NESTING:
                raise SelectorError(f"parentheses nested deeper than {_MAX_NESTING}")
            node = self.or_()
            self.depth -= 1
            if self.take()[0] != ")":
                raise SelectorError("expected )")
        else:
            raise SelectorError(f"unexpected token {value or kind!r}")
        return ("not", node) if negated else node


@functools.lru_cache(maxsize=4096)
def parse_calico_selector(text: str) -> Expr:
    """A Calico selector expression as a small syntax tree (``("all",)`` when empty).

    Raises :class:`SelectorError` for what Calico's own parser refuses."""
    if len(text) > _MAX_SELECTOR:
        raise SelectorError(f"longer than {_MAX_SELECTOR} characters (Calico's limit)")
    tokens = _tokens(text)
    if tokens[0][0] == "eof":
        return ("all",)
    parser = _Parser(tokens)
    try:
        expr = parser.or_()
    except IndexError as e:  # ran past the end
        raise SelectorError("unexpected end of selector") from e
    if parser.peek() != "eof":
        raise SelectorError(f"unexpected {parser.t[parser.i][1]!r} at the end of the selector")
    return expr


def evaluate_calico_selector(
    expr: Expr, labels: Mapping[str, str], unknown: Callable[[str], bool] = lambda k: False
) -> bool | None:
    """Whether a parsed selector matches ``labels``; ``None`` when the answer depends on a
    label the manifests cannot tell (``unknown(key)``), in three-valued logic."""
    op = expr[0]
    if op == "all":
        return True
    if op == "global":
        return False  # non-namespaced resources (network sets, host endpoints), never a pod
    if op == "not":
        inner = evaluate_calico_selector(expr[1], labels, unknown)
        return None if inner is None else not inner
    if op in ("and", "or"):
        results = [evaluate_calico_selector(e, labels, unknown) for e in expr[1]]
        decided: bool = op == "or"  # True decides an or, False decides an and
        if decided in results:
            return decided
        return None if None in results else not decided
    key = expr[1]
    if unknown(key):
        return None
    value = labels.get(key)
    if op == "has":
        return value is not None
    if op in ("in", "notin"):
        members: frozenset[str] = expr[2]
        inside = value is not None and value in members
        return inside if op == "in" else not inside
    literal: str = expr[2]
    if op == "eq":
        return value == literal
    if op == "ne":
        return value != literal
    if value is None:
        return False
    if op == "contains":
        return literal in value
    if op == "starts":
        return value.startswith(literal)
    return value.endswith(literal)  # "ends"


def _check_selector(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_calico_selector(value)
        except SelectorError as e:
            raise PydanticCustomError(
                "calico_selector", "invalid Calico selector '{value}': {why}",
                {"value": value[:100], "why": str(e)},
            ) from e  # fmt: skip
    return value


CalicoSelector = Annotated[str | None, AfterValidator(_check_selector)]


def _universal(text: str | None) -> bool:
    return text is None or parse_calico_selector(text) == ("all",)


def _excludes_only(text: str) -> bool:
    """Matches all but some (``!has(x)``, ``x != 'y'``, ``x not in {...}``)."""
    expr = parse_calico_selector(text)
    parts = expr[1] if expr[0] == "and" else (expr,)
    return all(
        p[0] in ("ne", "notin", "all") or (p[0] == "not" and p[1][0] in ("has", "eq", "in"))
        for p in parts
    )


# --------------------------------------------------------------------------- Calico policies


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


_ANY_ENTITY = CalicoEntity()


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


class _K8sCalicoSAMatch(K8s):
    names: StrList = None
    selector: CalicoSelector = None


class _K8sCalicoService(K8s):
    name: str | None = None
    namespace: str | None = None


class _K8sCalicoEntity(K8s):
    nets: StrList = None
    not_nets: StrList = None
    selector: CalicoSelector = None
    not_selector: CalicoSelector = None
    namespace_selector: CalicoSelector = None
    service_accounts: _K8sCalicoSAMatch | None = None
    services: _K8sCalicoService | None = None
    ports: list[IntOrStr] | None = None
    not_ports: list[IntOrStr] | None = None
    domains: StrList = None


class _K8sCalicoRule(K8s):
    action: Literal["Allow", "Deny", "Pass", "Log"]
    protocol: IntOrStr | None = None
    not_protocol: IntOrStr | None = None
    ip_version: int | None = None
    icmp: dict[str, Any] | None = None
    not_icmp: dict[str, Any] | None = Field(default=None, validation_alias="notICMP")
    source: _K8sCalicoEntity | None = None
    destination: _K8sCalicoEntity | None = None
    http: dict[str, Any] | None = None


class _K8sCalicoSpec(K8s):
    tier: str | None = None
    order: int | float | None = None
    selector: CalicoSelector = None
    namespace_selector: CalicoSelector = None
    service_account_selector: CalicoSelector = None
    types: StrList = None
    ingress: list[_K8sCalicoRule] | None = None
    egress: list[_K8sCalicoRule] | None = None
    do_not_track: bool | None = None
    pre_dnat: bool | None = Field(default=None, validation_alias="preDNAT")


class _K8sCalicoPolicy(K8s):
    spec: _K8sCalicoSpec | None = None


def _entity(e: _K8sCalicoEntity | None) -> CalicoEntity:
    if e is None:
        return _ANY_ENTITY
    sa = e.service_accounts
    return CalicoEntity(
        nets=tuple(e.nets or ()),
        not_nets=tuple(e.not_nets or ()),
        selector=e.selector,
        not_selector=e.not_selector,
        namespace_selector=e.namespace_selector,
        service_accounts=sa is not None and bool(sa.names or sa.selector),
        services=e.services is not None,
        ports=bool(e.ports or e.not_ports),
        domains=bool(e.domains),
    )


def _describe(e: CalicoEntity) -> str:
    parts = [f"nets {','.join(e.nets)}"] if e.nets else []
    parts += [f"not nets {','.join(e.not_nets)}"] if e.not_nets else []
    for name, value in (
        ("selector", e.selector), ("notSelector", e.not_selector),
        ("namespaceSelector", e.namespace_selector),
    ):  # fmt: skip
        if value is not None:
            parts.append(f"{name} {value!r}")
    parts += ["service accounts"] if e.service_accounts else []
    parts += ["a Service"] if e.services else []
    return ", ".join(parts) or "any source"


def _calico_rule(r: _K8sCalicoRule, direction: str, where: str, notes: _Notes) -> CalicoRule:
    ingress = direction == "ingress"
    peer = _entity(r.source if ingress else r.destination)
    local = _entity(r.destination if ingress else r.source)
    if r.http:
        notes.add(
            f"{where}.http", "HTTP match (L7) not modelled: the rule counts for every request"
        )
    if peer.domains:
        notes.add(
            f"{where}.destination.domains",
            "domain names not modelled: counted as any outside address",
        )
    protocol = str(r.protocol).upper() if r.protocol is not None else None
    narrowed = (
        not local.empty
        or peer.ports
        or protocol not in (None, "TCP", "6")
        or r.not_protocol is not None
        or r.ip_version is not None
        or r.icmp is not None
        or r.not_icmp is not None
    )
    ports = " on some ports" if local.ports else ""
    return CalicoRule(
        action=r.action, peer=peer, narrowed=narrowed, text=f"{_describe(peer)}{ports}"
    )


def parse_calico_policy(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> CalicoPolicy:
    spec = _K8sCalicoPolicy.model_validate(raw).spec or _K8sCalicoSpec()
    notes = _Notes()
    types = tuple(spec.types or ())
    if not types:  # Calico's defaulting
        types = (
            ("Ingress", "Egress")
            if spec.egress and spec.ingress
            else (("Egress",) if spec.egress else ("Ingress",))
        )
    host_only = bool(spec.do_not_track or spec.pre_dnat)
    if host_only:
        notes.add(
            "spec",
            "preDNAT/doNotTrack policy: it applies to host endpoints, which are not modelled, "
            "not to pods",
        )
    return CalicoPolicy(
        ref=ref,
        tier=spec.tier or "default",
        order=float(spec.order) if spec.order is not None else None,
        selector=spec.selector,
        namespace_selector=spec.namespace_selector,
        service_account_selector=spec.service_account_selector,
        types=types,
        ingress=tuple(
            _calico_rule(r, "ingress", f"spec.ingress[{i}]", notes)
            for i, r in enumerate(spec.ingress or ())
        ),
        egress=tuple(
            _calico_rule(r, "egress", f"spec.egress[{i}]", notes)
            for i, r in enumerate(spec.egress or ())
        ),
        host_only=host_only,
        notes=tuple(notes.items),
        source=source,
    )


class _K8sNetworkSetSpec(K8s):
    nets: StrList = None


class _K8sNetworkSet(K8s):
    spec: _K8sNetworkSetSpec | None = None


def parse_calico_network_set(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation, labels: dict[str, str]
) -> CalicoNetworkSet:
    spec = _K8sNetworkSet.model_validate(raw).spec or _K8sNetworkSetSpec()
    return CalicoNetworkSet(ref=ref, labels=labels, nets=tuple(spec.nets or ()), source=source)


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
    if not policy.is_global and policy.ref.namespace != namespace:
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
    if policy.service_account_selector is not None and not _universal(
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
        return _EVERYTHING.model_copy(update={"all_ports": not rule.narrowed, "text": rule.text})
    endpoint_terms = (
        e.selector is not None
        or e.not_selector is not None
        or e.namespace_selector is not None
        or e.service_accounts
    )
    # pods: every namespace (a global policy, or namespaceSelector all()), every pod there
    ns_all = policy.is_global if e.namespace_selector is None else _universal(e.namespace_selector)
    ns_global = e.namespace_selector is not None and parse_calico_selector(
        e.namespace_selector
    ) == ("global",)
    pods_possible = not e.services and not ns_global and not e.nets
    any_pod = (
        pods_possible
        and ns_all
        and not e.service_accounts
        and (e.selector is None or _universal(e.selector) or _excludes_only(e.selector))
    )
    every_pod = (
        pods_possible
        and ns_all
        and not e.service_accounts
        and not e.not_nets
        and e.not_selector is None
        and _universal(e.selector)
        and not e.ports
    )
    # outside addresses: nets (without endpoint terms), or network sets a selector names
    external = every_external = False
    if not endpoint_terms and not e.services:
        if e.nets:
            listed = [(n, tuple(e.not_nets)) for n in e.nets]
            external, every_external = _cidr_peers(listed)
        else:  # notNets only
            external = not any(_cidr_peers([(n, ())])[1] for n in e.not_nets)
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
            if named and _cidr_peers((n, ()) for n in ns.nets)[0]:
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
    index: CniIndex,
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
    index: CniIndex,
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
    for p in index.calico(namespace):
        selected = _calico_selects(p, namespace, pod_labels, ns_labels)
        if selected is not False:
            chosen.append((p, bool(selected)))
    ingress = _direction(index, chosen, "ingress")
    egress = _direction(index, chosen, "egress")
    return ingress, egress


def _direction(
    index: CniIndex,
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


# --------------------------------------------------------------------------- the index


class CniIndex:
    """The inventory's CNI policies, indexed once per link: by namespace (cluster-wide
    ones apply in every namespace), Calico's in evaluation order, and the peers of each
    Calico rule (they depend on the policy and the network sets, not on the pod)."""

    def __init__(
        self,
        cilium: Iterable[CiliumPolicy],
        calico: Iterable[CalicoPolicy],
        network_sets: tuple[CalicoNetworkSet, ...],
    ) -> None:
        self.network_sets = network_sets
        self._cilium: dict[str | None, list[CiliumPolicy]] = {}
        for c in cilium:
            self._cilium.setdefault(None if c.clusterwide else c.ref.namespace, []).append(c)
        self._calico: dict[str | None, list[CalicoPolicy]] = {}
        for p in sorted(calico, key=CalicoPolicy.sort_key):
            self._calico.setdefault(None if p.is_global else p.ref.namespace, []).append(p)
        self._peers: dict[tuple[int, int], Peers] = {}

    def __bool__(self) -> bool:
        return bool(self._cilium or self._calico)

    def cilium(self, namespace: str) -> list[CiliumPolicy]:
        return [*self._cilium.get(None, ()), *self._cilium.get(namespace, ())]

    def calico(self, namespace: str) -> list[CalicoPolicy]:
        return list(
            heapq.merge(
                self._calico.get(None, ()),
                self._calico.get(namespace, ()),
                key=CalicoPolicy.sort_key,
            )
        )

    def peers(self, rule: CalicoRule, policy: CalicoPolicy) -> Peers:
        # keyed by identity: the index holds every policy, so no id is reused meanwhile
        key = (id(policy), id(rule))
        found = self._peers.get(key)
        if found is None:
            found = self._peers[key] = _peers_of(rule, policy, self.network_sets)
        return found
