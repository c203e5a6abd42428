"""Reader of Kubernetes NetworkPolicies (the records are in ``_objects.py``), imported by
the loader with the first NetworkPolicy it reads (see ``_read_exposure.py``)."""

from typing import Any

from pydantic import Field

from attackmap.model._k8s import IntOrStr, K8s, StrList
from attackmap.model._objects import (
    IPBlock,
    LabelSelector,
    NetworkPeer,
    NetworkPolicy,
    NetworkPolicyRule,
    PolicyPort,
    _K8sSelector,
    _selector,
)
from attackmap.model._refs import ObjectRef, SourceLocation


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
