"""A technique belongs to the workload where it happens: the paths each workload owns
(:meth:`AttackGraph.owned_paths`) are, per (entry kind, sink), the shortest of the paths
whose last node at a workload's scope is that workload's, from any workload's entry
point. Checked against a brute-force search on the expanded edge list, over many random
small clusters (pod network, shared stores, RBAC, node pools, tokens), and against input
order."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import replace
from typing import Any

import pytest

from attackmap.attack import load_attack
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import ENTRY_KINDS, AttackGraph
from attackmap.graph._facts import FactBase, WorkloadFacts, extract
from attackmap.model import load

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


# -- the reference -----------------------------------------------------------------------


def node_owner(graph: AttackGraph, node: str) -> str | None:
    """The workload a node belongs to, read from its id (the reference's own reading)."""
    scope = node.partition("@")[2]
    key = scope.split("[")[0].split(":")[0]
    return key if key in graph.workloads else None


def reference_lengths(
    graph: AttackGraph, entries: tuple[str, ...] = ENTRY_KINDS
) -> dict[tuple[str, str, str], int]:
    """(owner, entry kind, sink) -> number of steps of the shortest path from any entry
    point of the kind that ends at the sink and whose owner is that workload: a plain BFS
    per start over (node, owner so far) on the expanded edge list."""
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges():
        succ.setdefault(a, []).append(b)
    owner = {n: node_owner(graph, n) for n in graph.nodes()}
    found: dict[tuple[str, str, str], int] = {}
    for entry in entries:
        for w in sorted(graph.workloads):
            start = (graph.entry_node(w, entry), w)
            dist = {start: 0}
            queue = deque([start])
            while queue:
                node, held = state = queue.popleft()
                for n in succ.get(node, ()):
                    nxt = (n, owner[n] or held)
                    if nxt not in dist:
                        dist[nxt] = dist[state] + 1
                        queue.append(nxt)
            for (node, held), d in dist.items():
                if node.startswith("sink:"):
                    key = (held, entry, node)
                    steps = d // 2  # entry > step (> state > step)* > sink
                    if key not in found or steps < found[key]:
                        found[key] = steps
    return found


def check_path(
    graph: AttackGraph, owner: str, entry: str, start: str, steps: tuple[Any, ...]
) -> str:
    """Assert ``steps`` is a path of the graph from ``start``'s entry point of kind
    ``entry``, owned by ``owner``; return its sink."""
    succ = {n: set(graph.successors(n)) for n in graph.nodes()}
    node = graph.entry_node(start, entry)
    held = start
    for inst in steps:
        if inst.node in succ[node]:  # the first step follows the entry point directly
            pass
        else:
            assert any(inst.node in succ[s] for s in succ[node]), (node, inst.id)
        held = node_owner(graph, inst.node) or held
        node = inst.node
    sink = f"sink:{steps[-1].step.id}"
    assert sink in succ[node]
    assert held == owner, (owner, [i.id for i in steps])
    return sink


def owned_lengths(
    graph: AttackGraph, entries: tuple[str, ...] = ENTRY_KINDS
) -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    for w, paths in graph.owned_paths(entries).items():
        for entry, start, steps in paths:
            sink = check_path(graph, w, entry, start, steps)
            assert (w, entry, sink) not in found  # one path per (owner, entry, sink)
            found[(w, entry, sink)] = len(steps)
    return found


# -- random small clusters ---------------------------------------------------------------


def random_cluster(seed: int) -> list[Doc]:
    """A few pods in two namespaces, with what moves an attacker between them: exposure
    and NetworkPolicies, a shared PVC (some writing, some running code from it), RBAC
    exec/create rights, privileged or host-mounting pods, tokens or none, node pools."""
    rnd = random.Random(seed)
    namespaces = ["a", "b"]
    docs: list[Doc] = []
    pools = rnd.random() < 0.5
    if pools:
        docs.append(
            {
                "apiVersion": "attackmap/v1",
                "kind": "ClusterContext",
                "metadata": {"name": "ctx"},
                "spec": {
                    "nodePools": [
                        {"name": "cpu", "labels": {"pool": "cpu"}},
                        {
                            "name": "gpu",
                            "labels": {"pool": "gpu"},
                            "taints": [{"key": "gpu", "effect": "NoSchedule"}],
                        },
                    ]
                },
            }
        )
    for ns in namespaces:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "shared", "namespace": ns},
                "spec": {"accessModes": ["ReadWriteMany"]},
            }
        )
    for i in range(rnd.randint(3, 6)):
        ns = rnd.choice(namespaces)
        name = f"p{i}"
        labels = {"app": name, "tier": rnd.choice(["web", "model"])}
        container: Doc = {"name": "c", "image": rnd.choice(["nginx:1", "nvcr.io/nim/llm:1"])}
        spec: Doc = {"serviceAccountName": rnd.choice(["default", "ops"])}
        sc: Doc = {}
        if rnd.random() < 0.3:
            sc["privileged"] = True
        if rnd.random() < 0.3:
            sc["runAsUser"] = 0
        if sc:
            container["securityContext"] = sc
        volumes: list[Doc] = []
        mounts: list[Doc] = []
        if rnd.random() < 0.5:
            volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": "shared"}})
            mounts.append(
                {
                    "name": "data",
                    "mountPath": rnd.choice(["/model-store", "/data"]),
                    "readOnly": rnd.random() < 0.3,
                }
            )
        if rnd.random() < 0.2:
            volumes.append({"name": "root", "hostPath": {"path": "/"}})
            mounts.append({"name": "root", "mountPath": "/host"})
            spec["hostPID"] = True
        if volumes:
            spec["volumes"] = volumes
            container["volumeMounts"] = mounts
        if rnd.random() < 0.4:
            container["ports"] = [{"containerPort": rnd.choice([8000, 8080])}]
            if rnd.random() < 0.5:
                container["env"] = [{"name": "TRUST_REMOTE_CODE", "value": "true"}]
        if rnd.random() < 0.3:
            spec["automountServiceAccountToken"] = False
        if pools and rnd.random() < 0.4:
            spec["nodeSelector"] = {"pool": "gpu"}
            spec["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
            container["resources"] = {"limits": {"nvidia.com/gpu": 1}}
        spec["containers"] = [container]
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": spec,
            }
        )
        if "ports" in container and rnd.random() < 0.6:
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {
                        "type": rnd.choice(["ClusterIP", "LoadBalancer"]),
                        "selector": {"app": name},
                        "ports": [
                            {"port": 80, "targetPort": container["ports"][0]["containerPort"]}
                        ],
                    },
                }
            )
    for ns in namespaces:
        if rnd.random() < 0.5:  # ingress only from the web tier
            docs.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": "web-only", "namespace": ns},
                    "spec": {
                        "podSelector": {"matchLabels": {"tier": "model"}},
                        "policyTypes": ["Ingress"],
                        "ingress": [
                            {
                                "from": [
                                    {
                                        "namespaceSelector": {},
                                        "podSelector": {"matchLabels": {"tier": "web"}},
                                    }
                                ]
                            }
                        ],
                    },
                }
            )
        if rnd.random() < 0.5:
            verbs = rnd.choice([["create"], ["get", "list"]])
            resources = rnd.choice([["pods/exec"], ["pods"], ["secrets"]])
            docs += [
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "ops", "namespace": ns},
                    "rules": [{"apiGroups": [""], "resources": resources, "verbs": verbs}],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "ops", "namespace": ns},
                    "subjects": [
                        {
                            "kind": "ServiceAccount",
                            "name": "ops",
                            "namespace": rnd.choice(namespaces),
                        }
                    ],
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "ops",
                    },
                },
            ]
    return docs


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_owned_paths_are_the_shortest_owned_paths(catalogue: Catalogue, seed: int) -> None:
    graph = AttackGraph(extract(load(*random_cluster(seed))), catalogue)
    expected = reference_lengths(graph)
    assert owned_lengths(graph) == expected


def test_the_random_clusters_cross_workloads(catalogue: Catalogue) -> None:
    """The random clusters exercise what the comparison is about: paths owned by a
    workload that start elsewhere, and sinks reached at equal distance in several
    workloads from one start."""
    crossing = pooled = 0
    targets: set[str] = set()
    for seed in SEEDS:
        graph = AttackGraph(extract(load(*random_cluster(seed))), catalogue)
        pooled += len(graph.fb.placement.classes) > 1
        for w, paths in graph.owned_paths(ENTRY_KINDS).items():
            crossing += sum(1 for _e, start, _s in paths if start != w)
            targets.update(i.step.target for _e, _s, steps in paths for i in steps if i.step.target)
    assert crossing > 500
    assert pooled > 10
    assert {
        "network_reach_targets",
        "shared_store_readers",
        "shared_store_code_loaders",
        "rbac_exec_targets",
        "node_workload_tokens",
    } <= targets


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_owned_paths_do_not_depend_on_input_order(catalogue: Catalogue, seed: int) -> None:
    docs = random_cluster(seed)
    shuffled = list(docs)
    random.Random(seed).shuffle(shuffled)

    def paths(d: list[Doc]) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
        graph = AttackGraph(extract(load(*d)), catalogue)
        return {
            w: sorted((e, s, tuple(i.id for i in steps)) for e, s, steps in found)
            for w, found in graph.owned_paths(ENTRY_KINDS).items()
        }

    assert paths(docs) == paths(list(reversed(docs))) == paths(shuffled)


# -- what a workload owns after a change to it ---------------------------------------------


def owned_techniques(graph: AttackGraph, key: str) -> set[str]:
    """The techniques of the sinks ``key`` owns a path to (the reference search)."""
    return {
        graph.catalogue.step(sink[5:]).technique
        for (w, _e, sink) in reference_lengths(graph)
        if w == key
    }


def patched_variants(wf: WorkloadFacts) -> list[WorkloadFacts]:
    out = []
    for removed in (
        frozenset({"sa_token"}),
        frozenset({"privileged", "host_pid", "hostpath:/:rw"}),
        frozenset({"rbac_sa:exec", "rbac_sa:create_pods"}),
    ):
        out.append(
            replace(
                wf,
                pod=wf.pod - removed,
                containers=tuple(replace(c, facts=c.facts - removed) for c in wf.containers),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(0, 40, 5))
def test_techniques_with_are_the_owned_techniques(catalogue: Catalogue, seed: int) -> None:
    """Unchanged, the techniques a workload owns; patched, between those of the cluster
    rebuilt with the patch (exact) and those before (the ways in through other workloads
    are read from the unpatched graph)."""
    fb: FactBase = extract(load(*random_cluster(seed)))
    graph = AttackGraph(fb, catalogue)
    for wf in fb.workloads:
        before = owned_techniques(graph, wf.key)
        assert graph.techniques_with(wf, ENTRY_KINDS) == before, wf.key
        for patched in patched_variants(wf):
            workloads = tuple(patched if w.key == wf.key else w for w in fb.workloads)
            rebuilt = AttackGraph(replace(fb, workloads=workloads), catalogue)
            exact = owned_techniques(rebuilt, wf.key)
            found = graph.techniques_with(patched, ENTRY_KINDS)
            assert exact <= found <= before, wf.key
