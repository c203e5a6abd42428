"""Reaching the cloud metadata service: egress rules and the ClusterContext's cloud."""

from __future__ import annotations

import ipaddress

import pytest

from attackmap.model import load
from attackmap.model._context import CloudMetadata
from attackmap.model._objects import METADATA_ADDRESS, IPBlock

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: nim, labels: {app: p}}\n"
    "spec: {containers: [{name: c, image: x}]}\n"
)


@pytest.mark.parametrize(
    ("cidr", "excepted", "allowed"),
    [
        ("0.0.0.0/0", (), True),
        ("0.0.0.0/0", ("169.254.169.254/32",), False),
        ("0.0.0.0/0", ("169.254.0.0/16",), False),
        ("0.0.0.0/0", ("10.0.0.0/8",), True),
        ("169.254.169.254/32", (), True),
        ("10.0.0.0/8", (), False),
        ("not-a-cidr", (), True),  # unreadable: read as allowing (a missed path is worse)
    ],
)
def test_ip_block_contains(cidr: str, excepted: tuple[str, ...], allowed: bool) -> None:
    assert IPBlock(cidr=cidr, except_=excepted).contains(METADATA_ADDRESS) is allowed
    assert ipaddress.ip_address("169.254.169.254") == METADATA_ADDRESS


@pytest.mark.parametrize(
    ("egress", "allowed"),
    [
        (None, True),  # no egress policy
        ("[]", False),  # deny all egress
        ("[{}]", True),  # allow all
        ("[{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}]", False),
        ("[{to: [{namespaceSelector: {}}]}]", False),  # pods only
        (
            "[{to: [{ipBlock: {cidr: 169.254.0.0/16}}], ports: [{port: 443}]}]",
            True,
        ),  # ports: not checked
    ],
)
def test_egress_to_the_metadata_address(egress: str | None, allowed: bool) -> None:
    text = POD
    if egress is not None:
        text += (
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            "metadata: {name: e, namespace: nim}\n"
            f"spec: {{podSelector: {{}}, policyTypes: [Egress], egress: {egress}}}\n"
        )
    (w,) = load(text).workloads
    assert w.network.egress_allows_metadata is allowed


@pytest.mark.parametrize(
    ("cloud", "reachable"),
    [
        ({}, False),  # no provider named: not known to be a cloud
        ({"provider": "aws"}, True),
        ({"provider": "aws", "tokenRequired": True}, True),  # IMDSv2, hop limit 2 (default)
        ({"provider": "aws", "tokenRequired": True, "hopLimit": 1}, False),
        ({"provider": "aws", "hopLimit": 1}, True),  # IMDSv1 still answers
        ({"provider": "gcp", "blockedForPods": True}, False),
    ],
)
def test_metadata_reachable_from_pods(cloud: dict[str, object], reachable: bool) -> None:
    assert CloudMetadata.model_validate(cloud).reachable_from_pods is reachable


def test_a_cni_ingress_policy_keeps_the_kubernetes_egress_verdict() -> None:
    # the CNI merge rebuilt the isolation without egress_allows_metadata: an unrelated
    # Cilium ingress policy turned a Kubernetes deny-all egress into "metadata allowed"
    text = (
        POD + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: e, namespace: nim}\n"
        "spec: {podSelector: {}, policyTypes: [Egress], egress: []}\n"
        "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
        "metadata: {name: c, namespace: nim}\n"
        "spec: {endpointSelector: {}, ingress: [{fromEntities: [cluster]}]}\n"
    )
    (w,) = load(text).workloads
    assert w.network.egress_isolated and not w.network.egress_allows_metadata
