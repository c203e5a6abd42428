"""Pod-to-pod network reach (graph/_network.py): NetworkPolicy semantics on both sides, the
hubs that keep the relation linear, and the paths it opens (issue 16, item 1)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import synthetic_cluster

from attackmap.graph import analyze
from attackmap.graph._engine import AttackGraph
from attackmap.graph._facts import extract
from attackmap.graph._network import Endpoint, ServedPort, build_index, can_reach
from attackmap.graph._relations import RELATIONS
from attackmap.model import Inventory, load

Doc = dict[str, Any]
NETWORK = "networking.k8s.io/v1"


def namespace(name: str, **labels: str) -> Doc:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(
    name: str,
    ns: str = "a",
    labels: dict[str, str] | None = None,
    ports: list[Doc] | None = None,
    **spec: Any,
) -> Doc:
    container: Doc = {"name": "c", "image": "x"}
    if ports is not None:
        container["ports"] = ports
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": name}},
        "spec": {"containers": [container], **spec},
    }


def policy(name: str, ns: str = "a", selector: Doc | None = None, **spec: Any) -> Doc:
    return {
        "apiVersion": NETWORK,
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": selector if selector is not None else {}, **spec},
    }


SERVER_PORTS = [
    {"containerPort": 8000, "name": "http"},
    {"containerPort": 9000, "name": "metrics"},
    {"containerPort": 53, "protocol": "UDP", "name": "dns"},
]


def reach(*docs: Doc, src: str = "Pod/a/client", dst: str = "Pod/b/server") -> set[str]:
    """The ports of ``dst`` a pod of ``src`` may open (by the pairwise reference), checked
    against the relation's hubs."""
    inv = load(*docs)
    index = build_index(inv.workloads, inv.network_policies)
    a, b = index.endpoints[src], index.endpoints[dst]
    found = {p.text for p in b.ports if can_reach(a, b, p)}
    fb = extract(inv)
    source = next(w for w in fb.workloads if w.key == src)
    via_hubs = {t[2] for t in RELATIONS["network_reach_targets"](fb, source) if t[0] == dst}
    assert via_hubs == found
    return found


def world(*docs: Doc) -> set[str]:
    """client (namespace a, tier=frontend) to server (namespace b, tier=inference)."""
    return reach(
        namespace("a", tier="frontend"),
        namespace("b", tier="inference"),
        pod("client"),
        pod("server", ns="b", ports=SERVER_PORTS),
        *docs,
    )


EVERY = {"8000", "9000", "53/UDP"}


# -- semantics, one field at a time --------------------------------------------------------


def test_no_policy_reaches_every_served_port() -> None:
    assert world() == EVERY


def test_default_deny_ingress_and_policy_types_default() -> None:
    # policyTypes omitted and no egress rules: Ingress only, and no rule denies all
    assert world(policy("deny", ns="b")) == set()
    # the same policy in the source's namespace isolates only the client's ingress
    assert world(policy("deny", ns="a")) == EVERY


def test_policy_types_default_includes_egress_when_egress_rules_exist() -> None:
    # no policyTypes, an egress rule to namespace c only: Ingress and Egress both isolated
    egress_elsewhere = {"to": [{"namespaceSelector": {"matchLabels": {"tier": "other"}}}]}
    assert world(policy("p", ns="a", egress=[egress_elsewhere])) == set()
    # an empty egress list is no rule: Ingress only
    assert world(policy("p", ns="a", egress=[])) == EVERY


def test_only_egress_denies() -> None:
    assert world(policy("deny-out", ns="a", policyTypes=["Egress"])) == set()


def test_only_ingress_denies() -> None:
    assert world(policy("deny-in", ns="b", policyTypes=["Ingress"])) == set()


def test_both_sides_must_allow() -> None:
    egress = policy(
        "out",
        ns="a",
        policyTypes=["Egress"],
        egress=[{"to": [{"namespaceSelector": {"matchLabels": {"tier": "inference"}}}]}],
    )
    ingress = policy(
        "in",
        ns="b",
        policyTypes=["Ingress"],
        ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"tier": "frontend"}}}]}],
    )
    assert world(egress, ingress) == EVERY
    # ingress from another tier: egress allows, ingress does not
    wrong = policy(
        "in",
        ns="b",
        policyTypes=["Ingress"],
        ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"tier": "batch"}}}]}],
    )
    assert world(egress, wrong) == set()


def test_pod_selector_peer_is_the_policy_namespace() -> None:
    # a podSelector alone means pods of the policy's namespace (b), never the client in a
    same_ns = {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}
    assert world(policy("in", ns="b", ingress=[same_ns])) == set()
    both = {
        "from": [
            {
                "namespaceSelector": {"matchLabels": {"tier": "frontend"}},
                "podSelector": {"matchLabels": {"app": "client"}},
            }
        ]
    }
    assert world(policy("in", ns="b", ingress=[both])) == EVERY
    other_pod = {
        "from": [
            {
                "namespaceSelector": {"matchLabels": {"tier": "frontend"}},
                "podSelector": {"matchLabels": {"app": "web"}},
            }
        ]
    }
    assert world(policy("in", ns="b", ingress=[other_pod])) == set()


def test_namespace_name_label_and_match_expressions() -> None:
    by_name = {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "a"}}}]
    }
    assert world(policy("in", ns="b", ingress=[by_name])) == EVERY
    expr_in = {
        "from": [
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["frontend", "api"]}
                    ]
                }
            }
        ]
    }
    assert world(policy("in", ns="b", ingress=[expr_in])) == EVERY
    not_in = {
        "from": [
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "tier", "operator": "NotIn", "values": ["frontend"]}
                    ]
                }
            }
        ]
    }
    assert world(policy("in", ns="b", ingress=[not_in])) == set()
    exists = {
        "from": [
            {
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                "namespaceSelector": {},
            }
        ]
    }
    assert world(policy("in", ns="b", ingress=[exists])) == EVERY
    absent = {
        "from": [
            {
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]},
                "namespaceSelector": {},
            }
        ]
    }
    assert world(policy("in", ns="b", ingress=[absent])) == set()


def test_ip_block_may_hold_pod_addresses_or_not() -> None:
    private = {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}
    assert world(policy("in", ns="b", ingress=[private])) == EVERY
    everything = {"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}
    # the pod CIDR is unknown: an except does not rule a pod out (conservative)
    assert world(policy("in", ns="b", ingress=[everything])) == EVERY
    public = {"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}
    assert world(policy("in", ns="b", ingress=[public])) == set()
    to_public = {"to": [{"ipBlock": {"cidr": "8.8.8.8/32"}}]}
    assert world(policy("out", ns="a", policyTypes=["Egress"], egress=[to_public])) == set()


def test_ports_number_name_range_protocol() -> None:
    def only(ports: list[Doc]) -> set[str]:
        return world(policy("in", ns="b", ingress=[{"ports": ports}]))

    assert only([{"port": 8000}]) == {"8000"}
    assert only([{"port": "metrics"}]) == {"9000"}  # named: resolved on the server
    assert only([{"port": 8000, "endPort": 9000}]) == {"8000", "9000"}
    assert only([{"port": 8001, "endPort": 8999}]) == set()
    assert only([{"protocol": "UDP"}]) == {"53/UDP"}  # every UDP port
    assert only([{"protocol": "UDP", "port": 8000}]) == set()
    assert only([{"port": "nope"}]) == set()


def test_egress_named_port_is_the_destination_s() -> None:
    egress = policy("out", ns="a", policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}])
    assert world(egress) == {"8000"}


def test_rules_add_up_across_policies() -> None:
    first = policy("one", ns="b", ingress=[{"ports": [{"port": 8000}]}])
    second = policy("two", ns="b", ingress=[{"ports": [{"port": 9000}]}])
    assert world(first, second) == {"8000", "9000"}


def test_host_network_is_not_isolated() -> None:
    docs = (
        namespace("a"),
        namespace("b"),
        pod("client"),
        pod("server", ns="b", ports=[{"containerPort": 8000}], hostNetwork=True),
        policy("deny", ns="b"),
    )
    assert reach(*docs) == {"8000"}
    # a hostNetwork source: its egress policy does not apply either
    docs = (
        namespace("a"),
        namespace("b"),
        pod("client", hostNetwork=True),
        pod("server", ns="b", ports=[{"containerPort": 8000}]),
        policy("deny-out", ns="a", policyTypes=["Egress"]),
    )
    assert reach(*docs) == {"8000"}


def test_undeclared_service_target_port_is_served() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "server", "namespace": "b"},
        "spec": {"selector": {"app": "server"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    docs = (namespace("a"), namespace("b"), pod("client"), pod("server", ns="b"), service)
    assert reach(*docs) == {"8080"}


def test_a_cni_policy_makes_its_side_open_with_a_warning() -> None:
    cilium = {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "deny", "namespace": "b"},
        "spec": {"endpointSelector": {}, "ingress": [{}]},
    }
    docs = (
        namespace("a"),
        namespace("b"),
        pod("client"),
        pod("server", ns="b", ports=[{"containerPort": 8000}]),
        policy("deny", ns="b"),
        cilium,
    )
    assert reach(*docs) == {"8000"}
    warnings = [str(w) for w in load(*docs).warnings]
    assert any("Cilium/Calico" in w and "pod to pod" in w for w in warnings), warnings


# -- hubs are exact: the relation equals the pairwise reference -----------------------------


def _random_cluster(rng: random.Random, size: int) -> list[Doc]:
    namespaces = ["a", "b", "c"]
    tiers = ["frontend", "inference", "batch"]
    docs: list[Doc] = [namespace(n, tier=t) for n, t in zip(namespaces, tiers, strict=True)]
    apps = ["web", "nim", "db", "job"]
    for i in range(size):
        ports = rng.choice(
            [
                [],
                [{"containerPort": 8000, "name": "http"}],
                [
                    {"containerPort": 9000, "name": "metrics"},
                    {"containerPort": 8000, "name": "http"},
                ],
                [{"containerPort": 53, "protocol": "UDP"}],
            ]
        )
        extra = {"hostNetwork": True} if rng.random() < 0.05 else {}
        docs.append(
            pod(
                f"p{i}",
                ns=rng.choice(namespaces),
                labels={"app": rng.choice(apps)},
                ports=ports,
                **extra,
            )
        )

    def peer() -> Doc:
        kind = rng.randrange(5)
        if kind == 0:
            return {"podSelector": {"matchLabels": {"app": rng.choice(apps)}}}
        if kind == 1:
            return {"namespaceSelector": {"matchLabels": {"tier": rng.choice(tiers)}}}
        if kind == 2:
            return {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "tier", "operator": "NotIn", "values": [rng.choice(tiers)]}
                    ]
                },
                "podSelector": {"matchLabels": {"app": rng.choice(apps)}},
            }
        if kind == 3:
            return {"ipBlock": {"cidr": rng.choice(["10.0.0.0/8", "198.51.100.0/24"])}}
        return {"namespaceSelector": {}}

    def rule(direction: str) -> Doc:
        out: Doc = {}
        if rng.random() < 0.7:
            out[direction] = [peer() for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.6:
            out["ports"] = [
                rng.choice(
                    [
                        {"port": 8000},
                        {"port": "metrics"},
                        {"protocol": "UDP"},
                        {"port": 7000, "endPort": 8500},
                    ]
                )
            ]
        return out

    for j in range(rng.randint(1, 6)):
        types = rng.choice([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        spec: Doc = {"policyTypes": types}
        if "Ingress" in types:
            spec["ingress"] = [rule("from") for _ in range(rng.randint(0, 2))]
        if "Egress" in types:
            spec["egress"] = [rule("to") for _ in range(rng.randint(0, 2))]
        selector = rng.choice([{}, {"matchLabels": {"app": rng.choice(apps)}}])
        docs.append(policy(f"np{j}", ns=rng.choice(namespaces), selector=selector, **spec))
    return docs


@pytest.mark.parametrize("seed", range(40))
def test_hubs_give_exactly_the_pairwise_answer(seed: int) -> None:
    rng = random.Random(seed)
    inv = load(*_random_cluster(rng, 14))
    index = build_index(inv.workloads, inv.network_policies)
    fb = extract(inv)
    relation = RELATIONS["network_reach_targets"]
    eps: dict[str, Endpoint] = index.endpoints
    for wf in fb.workloads:
        a = eps[wf.key]
        expected = {
            (b.key, p.container, p.text)
            for b in eps.values()
            if b.key != a.key
            for p in b.ports
            if can_reach(a, b, p)
        }
        assert set(relation(fb, wf)) == expected, wf.key


def test_a_served_port_is_named_by_its_container_when_several_may_answer() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "server", "namespace": "b"},
        "spec": {"selector": {"app": "server"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    server = pod("server", ns="b")
    server["spec"]["containers"].append({"name": "side", "image": "y"})
    inv = load(server, service)
    index = build_index(inv.workloads, inv.network_policies)
    assert index.endpoints["Pod/b/server"].ports == (
        ServedPort(8080, "TCP", None, "c", "8080[c]"),
        ServedPort(8080, "TCP", None, "side", "8080[side]"),
    )


# -- the paths --------------------------------------------------------------------------------

CHAT = Path(__file__).resolve().parent / "manifests" / "network"


def _paths(inv: Inventory | Path, workload: str, technique: str) -> list[tuple[str, ...]]:
    rep = analyze(inv, entries=("external",))
    (w,) = [w for w in rep.workloads if str(w.ref) == workload]
    return [
        tuple(f"{s.id}@{s.scope}" for s in p.steps)
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
    ]


UI = "Deployment/frontend/chat-ui"
NIM = "Deployment/inference/nim"


def _origins(inv: Path, workload: str, technique: str) -> list[str | None]:
    rep = analyze(inv, entries=("external",))
    (w,) = [w for w in rep.workloads if str(w.ref) == workload]
    return [p.origin for t in w.techniques if t.technique.id == technique for p in t.paths]


def test_chat_ui_chain_reaches_the_nim_and_its_node() -> None:
    """The issue's chain: internet -> chat UI (LoadBalancer, T1190) -> its egress policy
    allows port 8000 in tier=inference, the NIM admits tier=frontend -> T1210 on nim:8000
    -> the privileged NIM escapes (T1611). The techniques happen in the NIM: they are the
    NIM's findings, from the internet through the UI; the UI keeps its own."""
    hop = (
        f"exploit-external-service@{UI}[ui]",
        f"reach-pod-network@{UI}[ui]",
        f"exploit-pod-service@{NIM}:8000",
    )
    chat = CHAT / "chat-ui.yaml"
    assert _paths(chat, NIM, "T1210") == [hop]
    assert _origins(chat, NIM, "T1210") == [UI]
    escapes = _paths(chat, NIM, "T1611")
    assert escapes and all(p[:3] == hop and p[3].endswith(f"@{NIM}[nim]") for p in escapes)
    assert set(_origins(chat, NIM, "T1611")) == {UI}
    # the shortest: the privileged container loads BPF (escape-bpf), first by id
    assert escapes[0] == (*hop, f"escape-bpf@{NIM}[nim]")
    # the UI lists what happens in the UI, from its own entry point
    assert _paths(chat, UI, "T1190") == [(f"exploit-external-service@{UI}[ui]",)]
    assert _paths(chat, UI, "T1046") == [hop[:2]]
    assert _origins(chat, UI, "T1190") == _origins(chat, UI, "T1046") == [None]
    assert not any(p[-1].endswith(f"@{NIM}[nim]") for t in ("T1611",) for p in _paths(chat, UI, t))
    # the NIM's metrics port 9090 is not in the UI's egress policy: no hop there
    rep = analyze(chat, entries=("external",))
    scopes = {
        s.scope for w in rep.workloads for t in w.techniques for p in t.paths for s in p.steps
    }
    assert f"{NIM}:9090" not in scopes


def test_chat_ui_chain_denied_by_the_nim_ingress_policy() -> None:
    # the same cluster, but the NIM admits only tier=gateway: the UI's chain stops at the UI
    denied = CHAT / "chat-ui-denied.yaml"
    for workload in (UI, NIM):
        assert _paths(denied, workload, "T1210") == []
        assert _paths(denied, workload, "T1611") == []
    rep = analyze(denied, entries=("external",))
    (nim,) = [w for w in rep.workloads if str(w.ref) == NIM]
    assert nim.techniques == ()  # no way in from the internet
    assert _paths(denied, UI, "T1190") == [(f"exploit-external-service@{UI}[ui]",)]


def test_the_hop_evidence_names_both_sides() -> None:
    rep = analyze(CHAT / "chat-ui.yaml", entries=("external",))
    (w,) = [w for w in rep.workloads if str(w.ref) == NIM]
    (finding,) = [t for t in w.techniques if t.technique.id == "T1210"]
    assert finding.paths[0].origin == UI
    reach_step, exploit = finding.paths[0].steps[1:]
    assert reach_step.workload == UI and exploit.workload == NIM and exploit.container == "nim"
    assert {f.fact for f in reach_step.facts} == {
        "egress:pods <- netpol:egress_allows_pods",
        "egress:pods <- pod_network:reaches",
    }
    assert {f.fact for f in exploit.facts} == {"ingress:pods <- netpol:ingress_allows_pods"}
    assert {f.detail for f in reach_step.facts} == {
        f"NetworkPolicy/frontend/chat-ui-egress: reaches {NIM}:8000",
        f"reaches {NIM}:8000",
    }
    assert {f.detail for f in exploit.facts} == {
        f"NetworkPolicy/inference/nim-ingress: admits {UI}"
    }


# -- linear size ------------------------------------------------------------------------------


def _synth_graph(tmp: Path, workloads: int) -> AttackGraph:
    out = synthetic_cluster(tmp / str(workloads), workloads, seed=3)
    from attackmap.attack import load_attack
    from attackmap.graph import load_catalogue

    return AttackGraph(extract(load(out)), load_catalogue(load_attack()))


def _network_edges(graph: AttackGraph) -> int:
    """Edges the pod-network relation adds: reach instances to their hubs' ports."""
    return sum(
        len(graph._successors(i.node)) - 1  # minus the sink
        for i in graph.iter_instances()
        if i.step.id == "reach-pod-network"
    )


def test_graph_edges_grow_linearly(tmp_path: Path) -> None:
    """Twice the workloads, at most ~twice the edges (a pairwise relation would quadruple
    the network's). The implicit group edges are counted as the engine stores them: one
    reference per step instance and group, one membership per port."""
    small, large = _synth_graph(tmp_path, 300), _synth_graph(tmp_path, 600)

    def stored(graph: AttackGraph) -> int:
        explicit = sum(len(v) for v in graph._succ.values())
        refs = sum(len(v) for v in graph._refs.values())
        members = sum(len(f.members) for f in graph._fanouts.values())
        return explicit + refs + members

    ratio = stored(large) / stored(small)
    assert ratio < 2.3, ratio
    # the relation is not empty (the generated clusters have open namespaces) and the
    # pairs it stands for grow faster than what is stored for them
    assert _network_edges(small) > 0
    pairs = _network_edges(large) / _network_edges(small)
    assert pairs > 3, pairs  # implied source x port pairs: quadratic


def _tiered_cluster(namespaces: int) -> list[Doc]:
    """Namespaces of three tiers, ten pods each, every namespace with its own policies:
    default deny both ways, ingress from its own namespace and from tier=frontend on 8000,
    egress to its own namespace, to tier=inference on 8000 and to DNS."""
    tiers = ("frontend", "inference", "batch")
    docs: list[Doc] = []
    for i in range(namespaces):
        ns = f"ns{i:04d}"
        docs.append(namespace(ns, tier=tiers[i % 3]))
        docs += [pod(f"p{j}", ns=ns, ports=[{"containerPort": 8000}]) for j in range(10)]
        docs.append(policy("deny", ns=ns, policyTypes=["Ingress", "Egress"]))
        own = {"podSelector": {}}
        frontend = {"namespaceSelector": {"matchLabels": {"tier": "frontend"}}}
        inference = {"namespaceSelector": {"matchLabels": {"tier": "inference"}}}
        dns = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
        docs.append(
            policy(
                "in",
                ns=ns,
                ingress=[{"from": [own]}, {"from": [frontend], "ports": [{"port": 8000}]}],
            )
        )
        docs.append(
            policy(
                "out",
                ns=ns,
                policyTypes=["Egress"],
                egress=[
                    {"to": [own]},
                    {"to": [inference], "ports": [{"port": 8000}]},
                    {"to": [dns], "ports": [{"port": 53, "protocol": "UDP"}]},
                ],
            )
        )
    return docs


def test_per_namespace_policies_stay_linear() -> None:
    from attackmap.attack import load_attack
    from attackmap.graph import load_catalogue

    cat = load_catalogue(load_attack())

    def stored(namespaces: int) -> tuple[int, int]:
        graph = AttackGraph(extract(load(*_tiered_cluster(namespaces))), cat)
        groups = [k for k in graph._fanouts if k[0][0] == "hub"]
        refs = sum(1 for v in graph._refs.values() for k, _ in v if k[0][0] == "hub")
        members = sum(len(graph._fanouts[k].members) for k in groups)
        return refs + members, _network_edges(graph)

    (small, small_pairs), (large, large_pairs) = stored(30), stored(60)
    assert large / small < 2.2, (small, large)
    assert large_pairs / small_pairs > 3, (small_pairs, large_pairs)
