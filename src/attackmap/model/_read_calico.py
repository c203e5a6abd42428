"""Reader of Calico policies and network sets (the records and the verdict are in
``_calico.py``).

The tolerant parse models of ``NetworkPolicy.projectcalico.org``/``GlobalNetworkPolicy``
and ``NetworkSet``/``GlobalNetworkSet`` live here, beside their ``parse_*``: the loader
imports this module with the first Calico object it reads (``_loader.py``,
``_context_object``).
"""

from typing import Any, Literal

from pydantic import Field

from attackmap.model._calico import (
    _ANY_ENTITY,
    CalicoEntity,
    CalicoNetworkSet,
    CalicoPolicy,
    CalicoRule,
)
from attackmap.model._calico_selector import CalicoSelector
from attackmap.model._cni import Notes
from attackmap.model._k8s import IntOrStr, K8s, StrList
from attackmap.model._refs import ObjectRef, SourceLocation


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


def _calico_rule(r: _K8sCalicoRule, direction: str, where: str, notes: Notes) -> CalicoRule:
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
    notes = Notes()
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
