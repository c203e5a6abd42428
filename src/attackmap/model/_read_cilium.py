"""Reader of Cilium network policies (the records and the verdict are in ``_cilium.py``).

The tolerant parse models of ``CiliumNetworkPolicy``/``CiliumClusterwideNetworkPolicy``
live here, beside ``parse_cilium_policy``: the loader imports this module with the first
Cilium policy it reads (``_loader.py``, ``_context_object``).
"""

from typing import Any, Literal

from pydantic import Field

from attackmap.model._cilium import _NS_KEY, CiliumPolicy, CiliumRule
from attackmap.model._cni import EVERYTHING, Notes, Peers, cidr_peers, union
from attackmap.model._k8s import IntOrStr, K8s, StrList
from attackmap.model._objects import LabelSelector, _K8sSelector, _selector
from attackmap.model._refs import ObjectRef, SourceLocation

#: Cilium's label sources a selector key may carry; ``k8s:``/``any:`` keys are pod labels.
_CILIUM_SOURCES = ("k8s:", "any:")
_WORLD = frozenset({"world", "world-ipv4", "world-ipv6"})
_NODE_ENTITIES = frozenset(
    {"host", "remote-node", "kube-apiserver", "health", "init", "ingress", "unmanaged"}
)


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
    return union(out, "", True)


def _entity_peers(entities: list[str], notes: Notes, where: str) -> Peers:
    out: list[Peers] = []
    for e in entities:
        if e == "all":
            out.append(EVERYTHING)
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
    return union(out, "", True)


def _ports(
    rules: list[_K8sCiliumPortRule] | None,
    icmps: list[dict[str, Any]] | None,
    notes: Notes,
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
    notes: Notes,
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
            return EVERYTHING.model_copy(
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
        external, every = cidr_peers(listed)
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
    peers = union(parts, f"{', '.join(shown)}{port_text}", all_ports)
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
    notes = Notes()
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
