"""CNI network policies (Cilium, Calico) folded into NetworkIsolation, conservatively.

A workload a Cilium or Calico policy isolates is no longer reported open; what is not
modelled (L7, FQDN, cloud groups, ...) is a load warning naming the policy and the field,
and never makes a workload look more isolated than its L3/L4 reading.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import shared_path

from attackmap.errors import InputError
from attackmap.graph import analyze
from attackmap.model import NetworkIsolation, load
from attackmap.model._calico_selector import (
    SelectorError,
    evaluate_calico_selector,
    parse_calico_selector,
)

# -- manifests ---------------------------------------------------------------------------


def pod(name: str = "llm", ns: str = "nim", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 8000}]}]},
    }


def cnp(spec: dict[str, Any], name: str = "p", ns: str | None = "nim") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is None:
        kind = "CiliumClusterwideNetworkPolicy"
    else:
        kind = "CiliumNetworkPolicy"
        meta["namespace"] = ns
    return {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta, "spec": spec}


def calico(
    spec: dict[str, Any], name: str = "p", ns: str | None = "nim", api: str = "projectcalico.org/v3"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is None:
        kind = "GlobalNetworkPolicy"
    else:
        kind = "NetworkPolicy"
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


def k8s_deny_all(ns: str = "nim") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": ns},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def network(*docs: dict[str, Any], name: str = "Pod/nim/llm") -> NetworkIsolation:
    inv = load(pod(), *docs)
    w = inv.workload(name)
    assert w is not None
    return w.network


def warnings(*docs: dict[str, Any]) -> list[str]:
    return [str(w) for w in load(pod(), *docs).warnings]


REACH_WARNING = (
    "Cilium/Calico policies select 1 workload(s): their rules are not evaluated pod to pod, "
    "so reach from and to those workloads is taken as allowed on every port in the "
    "directions they select (conservative)"
)


def ingress(net: NetworkIsolation) -> tuple[bool, bool, bool, bool]:
    """(isolated, any pod, outside, some peer)."""
    return (
        net.ingress_isolated,
        net.allows_from_any_pod,
        net.allows_from_external,
        bool(net.allowed_peers),
    )


OPEN = (False, True, True, False)
SHUT = (True, False, False, False)
SELECT = {"matchLabels": {"app": "llm"}}


# -- Calico selectors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {}, True),
        ("all()", {"a": "b"}, True),
        ("global()", {}, False),
        ("app == 'llm'", {"app": "llm"}, True),
        ('app == "llm"', {"app": "web"}, False),
        ("app != 'llm'", {}, True),  # absent matches !=
        ("app in {'a', 'b'}", {"app": "b"}, True),
        ("app in {}", {"app": "b"}, False),
        ("app not in {'a'}", {}, True),
        ("app notin {'a'}", {"app": "a"}, False),
        ("has(app)", {"app": ""}, True),
        ("!has(app)", {"app": ""}, False),
        ("!!has(app)", {"app": ""}, True),
        ("a == 'x' && (b == 'y' || !has(c))", {"a": "x"}, True),
        ("a == 'x' && (b == 'y' || !has(c))", {"a": "x", "c": "1"}, False),
        ("name contains 'll'", {"name": "llm"}, True),
        ("name starts with 'l'", {"name": "llm"}, True),
        ("name startswith 'x'", {"name": "llm"}, False),
        ("name ends with 'm'", {"name": "llm"}, True),
        ("projectcalico.org/name == 'nim'", {"projectcalico.org/name": "nim"}, True),
    ],
)
def test_calico_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert evaluate_calico_selector(parse_calico_selector(selector), labels) is expected


@pytest.mark.parametrize(
    "selector",
    [
        "app = 'x'",
        "app == x",
        "has(",
        "has(app",
        "(app == 'x'",
        "app in {'a'",
        "'x'",
        "app",
        "a == 'x' &&",
        "app ~ 'x'",
        "a == 'x",
        "(" * 100 + "has(a)" + ")" * 100,
        "has(a) || " * 200 + "has(a)",
    ],
)
def test_invalid_calico_selectors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_calico_selector(selector)


def test_undecided_labels_follow_three_valued_logic() -> None:
    def unknown(key: str) -> bool:
        return key == "u"

    def ev(text: str) -> bool | None:
        return evaluate_calico_selector(parse_calico_selector(text), {"a": "1"}, unknown)

    assert ev("u == 'x'") is None
    assert ev("!has(u)") is None
    assert ev("u == 'x' || a == '1'") is True
    assert ev("u == 'x' && a == '2'") is False
    assert ev("u == 'x' && a == '1'") is None


def test_an_invalid_selector_is_an_input_error_at_its_field() -> None:
    bad = calico(
        {"selector": "all()", "ingress": [{"action": "Allow", "source": {"selector": "app = 'x'"}}]}
    )
    with pytest.raises(
        InputError, match=r"spec\.ingress\[0\]\.source\.selector: invalid Calico selector"
    ):
        load(bad)
    with pytest.raises(InputError, match=r"spec\.ingress\[0\]\.action"):
        load(calico({"ingress": [{"action": "Reject"}]}))


# -- Cilium --------------------------------------------------------------------------------


def test_cilium_default_deny_isolates_the_pod() -> None:
    assert ingress(network()) == OPEN
    net = network(cnp({"endpointSelector": SELECT, "ingress": [{}], "egress": [{}]}))
    assert ingress(net) == SHUT
    assert net.egress_isolated and not net.egress_allows_any
    assert [str(p) for p in net.policies] == ["CiliumNetworkPolicy/nim/p"]


def test_an_empty_cilium_section_does_not_isolate() -> None:
    net = network(cnp({"endpointSelector": SELECT, "ingress": [], "egress": []}))
    assert ingress(net) == OPEN and not net.egress_isolated
    assert [str(p) for p in net.policies] == ["CiliumNetworkPolicy/nim/p"]  # still selects it
    allow_only = {"endpointSelector": SELECT, "enableDefaultDeny": {"ingress": False}}
    assert ingress(network(cnp({**allow_only, "ingress": [{"fromEntities": ["cluster"]}]}))) == OPEN


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"fromEntities": ["world"]}, (True, False, True, True)),
        ({"fromEntities": ["cluster"]}, (True, True, False, True)),
        ({"fromEntities": ["all"]}, (True, True, True, True)),
        ({"fromEntities": ["host", "ingress"]}, (True, False, False, True)),
        ({"fromEndpoints": [{}]}, (True, False, False, True)),  # the policy's namespace
        (
            {
                "fromEndpoints": [
                    {
                        "matchExpressions": [
                            {"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}
                        ]
                    }
                ]
            },
            (True, True, False, True),
        ),
        ({"fromEndpoints": [{"matchLabels": {"reserved:world": ""}}]}, (True, False, True, True)),
        ({"fromCIDR": ["0.0.0.0/0"]}, (True, False, True, True)),
        (
            {"fromCIDRSet": [{"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}]},
            (True, False, True, True),
        ),
        ({"fromCIDR": ["10.0.0.0/8"]}, (True, False, False, True)),
        ({"toPorts": [{"ports": [{"port": "8000"}]}]}, (True, True, True, True)),  # L4 only
        ({"fromEndpoints": [], "toPorts": [{"ports": [{"port": "8000"}]}]}, SHUT),  # empty list
        ({"fromGroups": [{"aws": {"securityGroupsIds": ["sg-1"]}}]}, (True, False, True, True)),
        ({"fromEntities": ["someday"]}, (True, True, True, True)),  # unknown: allows
    ],
)
def test_cilium_allow_rules(rule: dict[str, Any], expected: tuple[bool, ...]) -> None:
    assert ingress(network(cnp({"endpointSelector": SELECT, "ingress": [rule]}))) == expected


def test_a_clusterwide_empty_endpoint_selector_is_every_pod() -> None:
    ccnp = cnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}]}, ns=None)
    assert ingress(network(ccnp)) == (True, True, False, True)


def test_cilium_deny_rules_take_precedence() -> None:
    lockdown = {
        "endpointSelector": {},
        "ingressDeny": [{"fromEntities": ["world"]}],
        "ingress": [{"fromEntities": ["all"]}],
    }
    assert ingress(network(cnp(lockdown, ns=None))) == (True, True, False, True)
    # over Kubernetes NetworkPolicies too (Cilium enforces them)
    k8s_allow_all = k8s_deny_all() | {"spec": {"podSelector": {}, "ingress": [{}]}}
    deny_only = cnp({"endpointSelector": {}, "ingressDeny": [{"fromEntities": ["world"]}]})
    assert ingress(network(k8s_allow_all, deny_only)) == (True, True, False, True)
    # a deny narrowed to some ports blocks only those: not counted
    ported = {"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "22"}]}]}
    narrowed = lockdown | {"ingressDeny": [ported]}
    assert ingress(network(cnp(narrowed))) == (True, True, True, True)


def test_cilium_selection() -> None:
    deny = {"ingress": [{}]}
    elsewhere = cnp({"endpointSelector": {}, **deny}, ns="other")
    assert ingress(network(elsewhere)) == OPEN
    other_app = cnp({"endpointSelector": {"matchLabels": {"k8s:app": "web"}}, **deny})
    assert ingress(network(other_app)) == OPEN
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "nim", "labels": {"team": "ml"}},
    }
    by_ns_label = cnp(
        {
            "endpointSelector": {"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "ml"}},
            **deny,
        },
        ns=None,
    )
    assert ingress(network(namespace, by_ns_label)) == SHUT
    by_sa = cnp(
        {
            "endpointSelector": {"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "default"}},
            **deny,
        }
    )
    assert ingress(network(by_sa)) == SHUT


def test_an_undecided_cilium_selection_adds_allows_but_never_isolates() -> None:
    cluster = {"matchLabels": {"io.cilium.k8s.policy.cluster": "gpu-east"}}
    allows_world = cnp({"endpointSelector": cluster, "ingress": [{"fromEntities": ["world"]}]})
    assert ingress(network(allows_world)) == OPEN
    net = network(k8s_deny_all(), allows_world)
    assert ingress(net) == (True, False, True, True)
    denies_world = cnp({"endpointSelector": cluster, "ingressDeny": [{"fromEntities": ["world"]}]})
    assert ingress(network(denies_world)) == OPEN


def test_unmodelled_cilium_parts_are_warnings_and_count_as_allowing() -> None:
    l3 = {"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "8000", "protocol": "TCP"}]}]}
    l7 = {**l3, "toPorts": [{**l3["toPorts"][0], "rules": {"http": [{"method": "GET"}]}}]}
    plain = cnp({"endpointSelector": SELECT, "ingress": [l3]})
    with_l7 = cnp({"endpointSelector": SELECT, "ingress": [l7]})
    assert ingress(network(with_l7)) == ingress(network(plain)) == (True, False, True, True)
    assert warnings(with_l7) == [
        REACH_WARNING,
        "<object>: CiliumNetworkPolicy/nim/p: spec.ingress[0].toPorts[0].rules: L7 rules (http) "
        "not modelled: the rule counts as allowing the whole port",
    ]
    fqdn = cnp(
        {"endpointSelector": SELECT, "egress": [{"toFQDNs": [{"matchName": "ngc.nvidia.com"}]}]}
    )
    net = network(fqdn)
    assert net.egress_isolated and net.egress_allows_any
    assert any("toFQDNs: FQDN rules not modelled" in w for w in warnings(fqdn))
    requires = {"fromEntities": ["world"], "fromRequires": [{"matchLabels": {"env": "prod"}}]}
    assert ingress(network(cnp({"endpointSelector": SELECT, "ingress": [requires]}))) == (
        True,
        False,
        True,
        True,
    )
    deny = cnp(
        {
            "endpointSelector": SELECT,
            "ingress": [{"fromEntities": ["all"]}],
            "ingressDeny": [requires],
        }
    )
    assert ingress(network(deny)) == (True, True, True, True)  # a narrowed deny: not counted
    assert any("fromRequires: not modelled" in w for w in warnings(deny))
    host = cnp({"nodeSelector": {}, "ingress": [{}]}, ns=None)
    assert ingress(network(host)) == OPEN
    assert any("nodeSelector: host policy" in w for w in warnings(host))


def test_cilium_specs_lists() -> None:
    split = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "s", "namespace": "nim"},
             "specs": [{"endpointSelector": {}, "egress": [{}]}, {"endpointSelector": {}, "ingress": [{}]}]}  # fmt: skip
    net = network(split)
    assert ingress(net) == SHUT and net.egress_isolated


def test_a_malformed_cilium_policy_is_an_input_error() -> None:
    with pytest.raises(
        InputError, match=r"spec\.ingress\[0\]\.fromEntities: expected a list of strings"
    ):
        load(cnp({"endpointSelector": {}, "ingress": [{"fromEntities": "world"}]}))


# -- Calico --------------------------------------------------------------------------------


def test_a_calico_policy_without_rules_isolates() -> None:
    net = network(calico({"selector": "app == 'llm'"}))
    assert ingress(net) == SHUT and not net.egress_isolated  # types default to Ingress
    assert [str(p) for p in net.policies] == ["NetworkPolicy.projectcalico.org/nim/p"]
    egress = network(calico({"selector": "all()", "egress": [{"action": "Deny"}]}))
    assert ingress(egress) == OPEN and egress.egress_isolated and not egress.egress_allows_any


def test_calico_rules_apply_in_order() -> None:
    deny, allow = {"action": "Deny"}, {"action": "Allow"}
    assert ingress(network(calico({"ingress": [deny, allow]}))) == SHUT
    assert ingress(network(calico({"ingress": [allow, deny]}))) == (True, True, True, True)
    first = calico({"order": 10, "ingress": [deny]}, name="b")
    second = calico({"order": 20, "ingress": [allow]}, name="a")
    assert ingress(network(first, second)) == SHUT
    assert ingress(network(first | {"spec": {"order": 30, "ingress": [deny]}}, second)) == (
        True,
        True,
        True,
        True,
    )
    # a deny narrowed to some ports (or protocols, or local endpoints) decides nothing
    ported = {"action": "Deny", "protocol": "TCP", "destination": {"ports": [22]}}
    assert ingress(network(calico({"ingress": [ported, allow]}))) == (True, True, True, True)
    udp = {"action": "Deny", "protocol": "UDP"}
    assert ingress(network(calico({"ingress": [udp, allow]}))) == (True, True, True, True)
    tcp = {"action": "Deny", "protocol": "TCP"}
    assert ingress(network(calico({"ingress": [tcp, allow]}))) == SHUT
    log = {"action": "Log"}
    assert ingress(network(calico({"ingress": [log]}))) == SHUT


@pytest.mark.parametrize(
    ("source", "global_", "expected"),
    [
        ({"selector": "app == 'gateway'"}, False, (True, False, False, True)),
        ({"selector": "all()"}, False, (True, False, False, True)),  # this namespace only
        ({"namespaceSelector": "all()"}, False, (True, True, False, True)),
        ({"selector": "all()", "namespaceSelector": "all()"}, False, (True, True, False, True)),
        ({"selector": "all()"}, True, (True, True, False, True)),
        ({"selector": "!has(quarantine)"}, True, (True, True, False, True)),
        ({"nets": ["0.0.0.0/0"]}, False, (True, False, True, True)),
        ({"nets": ["10.0.0.0/8"]}, False, (True, False, False, True)),
        ({"notNets": ["10.0.0.0/8"]}, False, (True, False, True, True)),
        ({"serviceAccounts": {"names": ["gw"]}}, True, (True, False, False, True)),
        (
            {"services": {"name": "gateway", "namespace": "ingress"}},
            False,
            (True, False, False, True),
        ),
        ({"namespaceSelector": "global()"}, False, (True, False, False, True)),
    ],
)
def test_calico_allow_sources(
    source: dict[str, Any], global_: bool, expected: tuple[bool, ...]
) -> None:
    spec = {"selector": "all()", "ingress": [{"action": "Allow", "source": source}]}
    assert ingress(network(calico(spec, ns=None if global_ else "nim"))) == expected


def test_calico_deny_sources_must_cover_everyone() -> None:
    allow = {"action": "Allow"}
    every_pod = {"action": "Deny", "source": {"selector": "all()", "namespaceSelector": "all()"}}
    # every pod is refused, the ingress controller included: no peer left but outside
    assert ingress(network(calico({"ingress": [every_pod, allow]}))) == (True, False, True, False)
    world = {"action": "Deny", "source": {"nets": ["0.0.0.0/0"]}}
    assert ingress(network(calico({"ingress": [world, allow]}))) == (True, True, False, True)
    some = {"action": "Deny", "source": {"selector": "app == 'x'"}}
    assert ingress(network(calico({"ingress": [some, allow]}))) == (True, True, True, True)


def test_global_policies_select_by_namespace() -> None:
    gnp = calico(
        {"namespaceSelector": "projectcalico.org/name == 'nim'", "selector": "all()"}, ns=None
    )
    assert ingress(network(gnp)) == SHUT
    elsewhere = calico({"namespaceSelector": "kubernetes.io/metadata.name == 'other'"}, ns=None)
    assert ingress(network(elsewhere)) == OPEN
    namespaced_elsewhere = calico({}, ns="other")
    assert ingress(network(namespaced_elsewhere)) == OPEN
    by_sa = calico({"selector": "projectcalico.org/serviceaccount == 'default'"}, ns=None)
    assert ingress(network(by_sa)) == SHUT
    undecided = calico({"serviceAccountSelector": "role == 'inference'"})
    assert ingress(network(undecided)) == OPEN


def test_tiers() -> None:
    other_tier = calico(
        {"tier": "security", "ingress": [{"action": "Deny", "source": {"selector": "app == 'x'"}}]}
    )
    # the tier's defaultAction is not read: its end counts as Pass (allowing), not Deny
    assert ingress(network(other_tier)) == (True, True, True, True)
    default_tier = calico({"ingress": []}, name="d")
    assert ingress(network(other_tier, default_tier)) == SHUT
    passes = calico({"tier": "security", "ingress": [{"action": "Pass"}]})
    assert ingress(network(passes, default_tier)) == SHUT  # Pass: the default tier decides
    allows = calico({"tier": "security", "ingress": [{"action": "Allow"}]})
    assert ingress(network(allows, default_tier)) == (True, True, True, True)


def test_network_sets_give_selectors_outside_addresses() -> None:
    allow = calico({"ingress": [{"action": "Allow", "source": {"selector": "role == 'lb'"}}]})
    assert ingress(network(allow)) == (True, False, False, True)
    sets = {"apiVersion": "crd.projectcalico.org/v1", "kind": "NetworkSet",
            "metadata": {"name": "lbs", "namespace": "nim", "labels": {"role": "lb"}},
            "spec": {"nets": ["52.0.0.0/8"]}}  # fmt: skip
    assert ingress(network(allow, sets)) == (True, False, True, True)
    private = sets | {"spec": {"nets": ["10.1.0.0/16"]}}
    assert ingress(network(allow, private)) == (True, False, False, True)
    global_set = sets | {
        "kind": "GlobalNetworkSet",
        "metadata": {"name": "lbs", "labels": {"role": "lb"}},
    }
    assert ingress(network(allow, global_set)) == (True, False, False, True)  # not in scope
    gnp = calico(
        {"ingress": [{"action": "Allow", "source": {"selector": "role == 'lb'"}}]}, ns=None
    )
    assert ingress(network(gnp, global_set)) == (True, False, True, True)


def test_unmodelled_calico_parts_are_warnings() -> None:
    l7 = calico({"ingress": [{"action": "Allow", "protocol": "TCP", "http": {"methods": ["GET"]}}]})
    assert ingress(network(l7)) == (True, True, True, True)
    assert warnings(l7) == [
        REACH_WARNING,
        "<object>: NetworkPolicy.projectcalico.org/nim/p: spec.ingress[0].http: HTTP match (L7) "
        "not modelled: the rule counts for every request",
    ]
    pre = calico(
        {"preDNAT": True, "applyOnForward": True, "ingress": [{"action": "Deny"}]}, ns=None
    )
    assert ingress(network(pre)) == OPEN
    assert any("preDNAT/doNotTrack policy" in w for w in warnings(pre))


def test_calico_and_kubernetes_policies_of_one_name_are_two_objects() -> None:
    inv = load(pod(), k8s_deny_all(), calico({}, name="p", api="crd.projectcalico.org/v1"))
    assert [str(p.ref) for p in inv.network_policies] == ["NetworkPolicy/nim/p"]
    assert [str(p.ref) for p in inv.calico_policies] == ["NetworkPolicy.projectcalico.org/nim/p"]
    (w,) = inv.workloads
    assert [str(p) for p in w.network.policies] == [
        "NetworkPolicy/nim/p",
        "NetworkPolicy.projectcalico.org/nim/p",
    ]


def test_policies_add_up_across_cnis() -> None:
    k8s_allow_peers = k8s_deny_all() | {
        "spec": {
            "podSelector": {},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "gw"}}}]}],
        }
    }
    calico_any = calico(
        {"ingress": [{"action": "Allow", "source": {"namespaceSelector": "all()"}}]}
    )
    assert ingress(network(k8s_allow_peers, calico_any)) == (True, True, False, True)


# -- end to end ---------------------------------------------------------------------------


def _techniques(*docs: dict[str, Any]) -> set[str]:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "llm", "namespace": "nim"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "llm"}, "ports": [{"port": 8000}]},
    }
    report = analyze([pod(), service, *docs], entries=["external", "cluster"])
    return {t for w in report.workloads for t in w.technique_ids()}


def test_a_workload_a_cni_policy_isolates_is_not_reported_open() -> None:
    open_ = _techniques()
    assert "T1190" in open_
    cilium = cnp({"endpointSelector": {}, "ingress": [{}]})
    calico_ = calico({"selector": "all()"})
    for policy in (cilium, calico_):
        assert "T1190" not in _techniques(policy), policy["kind"]


POLICIES = [
    cnp({"endpointSelector": {}, "ingress": [{}], "egress": [{}]}),
    cnp({"endpointSelector": SELECT, "ingress": [{"fromEntities": ["world"]}]}),
    cnp({"endpointSelector": {}, "ingressDeny": [{"fromEntities": ["world"]}], "ingress": [{"fromEntities": ["all"]}]}, ns=None),
    calico({"selector": "all()", "types": ["Ingress", "Egress"]}),
    calico({"ingress": [{"action": "Allow", "source": {"selector": "app == 'gw'"}}]}),
    calico({"ingress": [{"action": "Deny", "source": {"nets": ["0.0.0.0/0"]}}, {"action": "Allow"}]}, ns=None),
]  # fmt: skip


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p['kind']}-{POLICIES.index(p)}")
def test_a_policy_is_a_control_it_never_adds_a_technique(policy: dict[str, Any]) -> None:
    assert _techniques(policy) <= _techniques()


UNMODELLED = [
    # (L3/L4 reading, the same with a part attackmap does not model)
    (
        {"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "8000"}]}]},
        {"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "8000"}], "rules": {"http": [{}]}}]},
    ),
    (
        {"fromEntities": ["world"]},
        {"fromEntities": ["world"], "fromRequires": [{"matchLabels": {"env": "prod"}}]},
    ),
    ({"fromEntities": ["world"]}, {"fromEntities": ["world"], "authentication": {"mode": "required"}}),
    ({"fromEntities": ["world"]}, {"fromGroups": [{"aws": {"labels": {"a": "b"}}}]}),
]  # fmt: skip


@pytest.mark.parametrize(("plain", "unmodelled"), UNMODELLED)
def test_what_is_not_modelled_never_looks_more_isolated(
    plain: dict[str, Any], unmodelled: dict[str, Any]
) -> None:
    reading = _techniques(cnp({"endpointSelector": SELECT, "ingress": [plain]}))
    assert reading <= _techniques(cnp({"endpointSelector": SELECT, "ingress": [unmodelled]}))


# -- the Kubescape fixtures of the network-policy rules ------------------------------------

_RULES = ("ingress-and-egress-blocked", "ensure_network_policy_configured_in_labels")


def _cases() -> list[tuple[str, str, str]]:
    root = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "kubescape"
    if not root.is_dir():
        return []
    with (root / "INDEX.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(r["rule"], r["case"], r["expected_failed"]) for r in rows if r["rule"] in _RULES]


@pytest.mark.parametrize(("rule", "case", "expected_failed"), _cases())
def test_kubescape_network_policy_fixtures(rule: str, case: str, expected_failed: str) -> None:
    """Each fixture's expected result: the rule fails a workload that no network policy
    (Kubernetes, Cilium) selects. attackmap: ``NetworkIsolation.policies`` is empty."""
    inv = load(shared_path("corpus", "kubescape", rule, case, "input"))
    assert inv.workloads
    unselected = [str(w.ref) for w in inv.workloads if not w.network.policies]
    assert bool(unselected) is (expected_failed == "true"), unselected


_SELECTOR_PIECES = [
    "a", "b/c", "==", "!=", "!", "&&", "||", "(", ")", "{", "}", ",", "'x'", '"y"', "in",
    "not in", "has(a)", "all()", "global()", "contains", "starts with", "ends with", " ",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_SELECTOR_PIECES), max_size=12), st.text(max_size=12))
def test_any_text_parses_or_is_refused(pieces: list[str], noise: str) -> None:
    """A Calico selector either parses (and evaluates without error) or is a SelectorError;
    nothing else escapes (which would be a traceback for bad input)."""
    for text in (" ".join(pieces), "".join(pieces), noise):
        try:
            expr = parse_calico_selector(text)
        except SelectorError:
            continue
        for labels in ({}, {"a": "x", "b/c": "y"}):
            assert evaluate_calico_selector(expr, labels) in (True, False)
