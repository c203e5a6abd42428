"""The engine's shared relation groups: a step instance linked to a group of targets
(every mounted token, a namespace's running containers...) has exactly the edges the
relation lists, and shortest paths over the groups are those of the plain graph."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from attackmap.attack import load_attack
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import ENTRY_KINDS, AttackGraph, Scope, StepInstance, _PathTable
from attackmap.graph._facts import FactBase, IdentityFacts, WorkloadFacts, extract
from attackmap.graph._relations import RELATIONS
from attackmap.model import load

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def pod(
    name: str, ns: str = "app", sa: str = "default", spec: Doc | None = None, **container: Any
) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "serviceAccountName": sa,
            "containers": [{"name": "c", "image": "x", **container}],
            **(spec or {}),
        },
    }


def host_root(name: str, ns: str = "app") -> Doc:
    """A pod mounting the host's / (every token on the node) and sharing its PIDs."""
    return pod(
        name,
        ns,
        spec={"hostPID": True, "volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
        volumeMounts=[{"name": "root", "mountPath": "/host"}],
        securityContext={"runAsUser": 0},
    )


def rbac(
    ns: str | None, verbs: list[str], resources: list[str], sa: str = "ops", sa_ns: str = "app"
) -> list[Doc]:
    name = f"{sa}-{ns or 'all'}"
    role: Doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [{"apiGroups": ["", "apps"], "resources": resources, "verbs": verbs}],
    }
    binding: Doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding" if ns else "ClusterRoleBinding",
        "metadata": {"name": name, **({"namespace": ns} if ns else {})},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
    }
    return [role, binding]


def cluster() -> FactBase:
    """Two host-root pods (each reaches every token but its own), token holders in two
    namespaces, one pod without a token, ServiceAccounts with exec, deploy and
    TokenRequest rights in one namespace and cluster-wide, and an unused one."""
    docs: list[Doc] = [
        host_root("root-a"),
        host_root("root-b", "other"),
        pod("web"),
        pod("api", "other"),
        pod("quiet", "other", spec={"automountServiceAccountToken": False}),
        pod("ops", sa="ops"),
        pod("deployer", "other", sa="deployer"),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "ops", "namespace": "app"},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "idle", "namespace": "other"},
        },
        *rbac("other", ["create"], ["pods/exec", "serviceaccounts/token"]),
        *rbac(None, ["patch"], ["deployments"]),
        *rbac("other", ["create"], ["pods"], sa="deployer", sa_ns="other"),
        *rbac("other", ["create"], ["pods"], sa="idle", sa_ns="other"),
    ]
    return extract(load(*docs))


def explicit_successors(graph: AttackGraph, inst: StepInstance) -> set[str]:
    """The successors the step's relation lists, as plain edges (the reference)."""
    step, scope = inst.step, inst.scope.scope
    out = {f"sink:{step.id}"}
    fb = graph.fb
    targets: list[tuple[str | None, ...]] = [(scope.workload, scope.container)]
    if step.target is not None:
        holders: list[WorkloadFacts | IdentityFacts] = [*fb.workloads, *fb.identities]
        holder = next((h for h in holders if h.key == scope.workload), None)
        targets = list(RELATIONS[step.target](fb, holder, scope.container))
    for state in step.granted_states:
        level = graph.catalogue.state(state).scope
        for target in targets:
            if level == "port":  # (workload, container, port) of network_reach_targets
                out.add(f"state:{state}@{target[0]}:{target[2]}")
                continue
            workload, container = target[0], target[1]
            if level == "container":
                if workload and container:
                    out.add(f"state:{state}@{workload}[{container}]")
            elif level == "workload":
                if workload:
                    out.add(f"state:{state}@{workload}")
            else:
                out.add(f"state:{state}@{level}")
    return out


def test_grouped_edges_are_the_relation_targets(catalogue: Catalogue) -> None:
    graph = AttackGraph(cluster(), catalogue)
    targeted = [i for i in graph.iter_instances() if i.step.target is not None]
    # the fixture exercises shared groups: several sources, some excluding themselves
    assert {i.step.target for i in targeted} >= {
        "node_workload_tokens",
        "rbac_exec_targets",
        "rbac_patch_targets",
        "deploy_namespace_tokens",
        "token_request_targets",
    }
    assert sum(1 for i in targeted if i.step.target == "node_workload_tokens") >= 4
    for inst in graph.iter_instances():
        assert set(graph.successors(inst.node)) == explicit_successors(graph, inst), inst.id
    # predecessors and edges agree with successors
    edges = graph.edges()
    assert edges == sorted(set(edges))
    for node in graph.nodes():
        assert graph.predecessors(node) == sorted(a for a, b in edges if b == node)
        assert graph.successors(node) == sorted(b for a, b in edges if a == node)
    nodes = set(graph.nodes())
    assert all(a in nodes and b in nodes for a, b in edges)
    assert nodes == {n for e in edges for n in e} | {
        n for n in nodes if n.startswith("state:entry:")
    }


def test_each_node_id_is_one_string_object(catalogue: Catalogue) -> None:
    # the searches' dict lookups compare equal ids by identity: every place that names a
    # node (its adjacency, the edges into it, the groups it belongs to) holds one object
    graph = AttackGraph(cluster(), catalogue)
    named: dict[str, set[int]] = {}
    adjacency = (graph._succ, graph._pred)
    for node, others in [pair for table in adjacency for pair in table.items()]:
        for n in (node, *others):
            named.setdefault(n, set()).add(id(n))
    members = [n for fan in graph._fanouts.values() for n in fan.members if n in graph._succ]
    assert len(members) > 10  # the fixture's groups have members that are nodes
    for n in (*members, *graph._member_of):
        named[n].add(id(n))
    assert all(len(ids) == 1 for ids in named.values())


def test_scopes_of_equal_facts_get_the_same_instances(catalogue: Catalogue) -> None:
    # whether a step fires is asked once per facts set: scopes sharing one set (web and
    # api: one pod spec in two namespaces) each still get every instance, and a scope
    # with other facts (quiet: no token) its own
    graph = AttackGraph(cluster(), catalogue)
    web, api = graph.scopes["Pod/app/web[c]"], graph.scopes["Pod/other/api[c]"]
    assert web.facts is api.facts
    quiet = graph.scopes["Pod/other/quiet[c]"]
    assert quiet.facts != web.facts

    def steps(label: str) -> set[str]:
        return {i.step.id for i in graph.instances.values() if i.scope.scope.label == label}

    assert steps("Pod/app/web[c]") == steps("Pod/other/api[c]")
    assert steps("Pod/app/web[c]") != steps("Pod/other/quiet[c]")
    fires = graph.needs
    for label in ("Pod/app/web[c]", "Pod/other/quiet[c]"):
        sf = graph.scopes[label]
        expected = {
            s.id for s in catalogue.steps if s.scope == "container" and fires[s.id].fires(sf.facts)
        }
        assert steps(label) == expected


def test_the_build_and_the_search_spell_no_instance_id(catalogue: Catalogue) -> None:
    # ~250k instances at 10k workloads: their ids (25 MB) and the table by id are made
    # when asked (the ranking asks for the kept paths' steps), never by the build or search
    graph = AttackGraph(cluster(), catalogue)
    paths = graph.owned_paths(ENTRY_KINDS)
    assert sum(len(p) for p in paths.values()) > 10
    insts = [i for i in graph._inst if i is not None]
    assert len(insts) > 50
    assert all(i._id is None for i in insts)
    assert "_instances" not in graph.__dict__
    table = graph.instances  # asked: each id <step>@<scope>, kept
    assert sorted(table) == sorted(f"{i.step.id}@{i.scope.scope.label}" for i in insts)
    assert all(table[i.id] is i and i._id is i.id for i in insts)
    assert list(table) == sorted(table)  # by node number: the steps are numbered in id order


def test_two_containers_of_one_name_share_their_steps_nodes(catalogue: Catalogue) -> None:
    # The API server refuses such a pod; the analysis takes it as written. A step's
    # instances in the two scopes of one label have one id: one node, the later's.
    containers = [
        {"name": "c", "image": "x", "securityContext": {"privileged": True}},
        {"name": "c", "image": "y", "securityContext": {"runAsUser": 1000}},
    ]
    graph = AttackGraph(extract(load(pod("twin", spec={"containers": containers}))), catalogue)
    (wf,) = graph.fb.workloads
    first, second = wf.containers
    nodes = [i for i in graph._inst if i is not None and i.scope.scope.label == f"{wf.key}[c]"]
    assert len({i.id for i in nodes}) == len(nodes)
    in_first = [i for i in nodes if i.scope.container is first]
    in_second = [i for i in nodes if i.scope.container is second]
    assert in_first and in_second and len(in_first) + len(in_second) == len(nodes)
    facts = in_second[0].scope.facts
    assert all(graph.needs[i.step.id].fires(facts) for i in in_second)
    # the privileged container's own steps keep its instance; every step both fire is
    # the later container's
    assert not any(graph.needs[i.step.id].fires(facts) for i in in_first)


@pytest.mark.parametrize(
    ("scope", "label"),
    [
        (Scope("Pod/app/web", "c", "port", "8000"), "Pod/app/web:8000"),
        (Scope("Pod/app/web", "c", "container"), "Pod/app/web[c]"),
        (Scope("Pod/app/web", None, "workload"), "Pod/app/web"),
        (Scope(None, None, "node", node="gpu"), "node:gpu"),
        (Scope(None, None, "node"), "node"),
        (Scope(None, None, "cluster"), "cluster"),
    ],
)
def test_scope_labels(scope: Scope, label: str) -> None:
    assert scope.label == label
    assert replace(scope).label == label
    moved = replace(scope, workload="Pod/app/api") if scope.workload else scope
    assert moved.label == label.replace("web", "api")
    assert moved == Scope(moved.workload, moved.container, moved.level, moved.port, moved.node)


def test_a_source_never_reaches_its_own_token_through_the_node() -> None:
    fb = cluster()
    graph = AttackGraph(fb, load_catalogue(load_attack()))
    node = "step:kubelet-pod-tokens@Pod/app/root-a[c]"
    assert node in graph.nodes()
    succ = graph.successors(node)
    assert "state:sa_token@Pod/app/root-a" not in succ
    assert "state:sa_token@Pod/other/root-b" in succ
    assert "state:sa_token@Pod/other/quiet" not in succ
    assert "state:sa_token@Pod/app/root-a" in graph.successors(
        "step:kubelet-pod-tokens@Pod/other/root-b[c]"
    )
    preds = graph.predecessors("state:sa_token@Pod/app/root-a")
    assert node not in preds
    assert "step:kubelet-pod-tokens@Pod/other/root-b[c]" in preds


def test_paths_over_groups_are_the_plain_shortest_paths(catalogue: Catalogue) -> None:
    from tests.graph.test_ownership import owned_lengths, reference_lengths

    graph = AttackGraph(cluster(), catalogue)
    found = owned_lengths(graph)
    assert found == reference_lengths(graph)
    assert len(found) > 100
    # some path crosses into another workload through a shared group
    crossing = [
        steps
        for paths in graph.owned_paths(ENTRY_KINDS).values()
        for _entry, _start, steps in paths
        if any(i.step.target is not None for i in steps[:-1])
    ]
    assert crossing


def test_names_that_are_no_node_are_isolated_nodes(catalogue: Catalogue) -> None:
    """The queries by name take a name the graph has no node of as an isolated node (the
    graph is numbered inside; its API stays by name): at distance 0 from itself, reaching
    nothing; a sink of no step has no paths; an entry kind of no node starts none."""
    graph = AttackGraph(cluster(), catalogue)
    sink = graph.sinks()[0]
    for search in (graph.distances_to, graph.local_distances_to):
        found = search("sink:no-such-step", sink)
        known = search(sink)
        assert list(found)[:2] == ["sink:no-such-step", sink]
        assert found == {"sink:no-such-step": 0, **known}
    start = graph.entry_node(sorted(graph.workloads)[0], "external")
    assert graph.distances_from(["state:nowhere", start]) == {
        "state:nowhere": 0,
        **graph.distances_from([start]),
    }
    paths = graph.owned_paths(ENTRY_KINDS, sinks=["sink:no-such-step", sink])
    assert paths == graph.owned_paths(ENTRY_KINDS, sinks=[sink])
    assert [s for s, _paths in graph.sink_paths(ENTRY_KINDS, sinks=["sink:zzz", sink])] == [
        sink,
        "sink:zzz",
    ]
    assert not any(graph.owned_paths(["no-such-entry"]).values())
    pre = graph.prefixes("no-such-entry")
    assert pre.dist == dict.fromkeys(
        (graph.entry_node(w, "no-such-entry") for w in sorted(graph.workloads)), 0
    )


def full_graph_techniques(
    fb: FactBase, catalogue: Catalogue, key: str, patched: WorkloadFacts
) -> set[str]:
    """The reference: the techniques ``key`` owns in the graph of the whole cluster with
    ``patched`` in place."""
    from tests.graph.test_ownership import owned_techniques

    workloads = tuple(patched if w.key == key else w for w in fb.workloads)
    return owned_techniques(AttackGraph(replace(fb, workloads=workloads), catalogue), key)


@pytest.mark.parametrize(
    "removed",
    [
        frozenset(),
        frozenset({"sa_token"}),  # the workload leaves the node's token group
        frozenset({"host_pid", "hostpath:/:rw"}),  # the host-root pods lose the node
        frozenset({"rbac_sa:exec", "rbac_sa:patch_workloads", "rbac_sa:create_tokens"}),
    ],
)
def test_techniques_with_a_patched_workload_match_a_rebuilt_graph(
    catalogue: Catalogue, removed: frozenset[str]
) -> None:
    fb = cluster()
    graph = AttackGraph(fb, catalogue)
    changed = 0
    for wf in fb.workloads:
        patched = replace(
            wf,
            pod=wf.pod - removed,
            containers=tuple(replace(c, facts=c.facts - removed) for c in wf.containers),
        )
        expected = full_graph_techniques(fb, catalogue, wf.key, patched)
        assert graph.techniques_with(patched, ENTRY_KINDS) == expected, wf.key
        changed += expected != full_graph_techniques(fb, catalogue, wf.key, wf)
        # asked for some techniques: stops early, but reports every one of them it reaches
        wanted = sorted(expected)[:2]
        assert set(wanted) <= graph.techniques_with(patched, ENTRY_KINDS, wanted)
    assert (changed > 0) == bool(removed)  # each patch changes some workload's reach
    # a token that appears: the workload joins the group
    quiet = next(w for w in fb.workloads if w.key == "Pod/other/quiet")
    assert "sa_token" not in quiet.pod
    patched = replace(quiet, pod=quiet.pod | {"sa_token"})
    assert graph.techniques_with(patched, ENTRY_KINDS) == full_graph_techniques(
        fb, catalogue, quiet.key, patched
    )


# -- the path tables' next hops --------------------------------------------------------------


def reference_next_hop(graph: AttackGraph, table: _PathTable, node: str) -> str | None:
    """The smallest successor of ``node`` one hop nearer the table's targets, over the
    expanded edges (:meth:`AttackGraph.successors`); in a local table, none of another
    workload than ``node``'s."""
    owners = graph.owners()
    want = table.dist[node] - 1
    own = owners.get(node)
    found = [
        n
        for n in graph.successors(node)
        if table.dist.get(n) == want and (not table.local or owners.get(n, own) == own)
    ]
    return min(found, default=None)


@pytest.mark.parametrize("source", ["random", "synthetic", "crossing"])
def test_next_hops_are_the_smallest_successors_one_hop_nearer(
    catalogue: Catalogue, source: str, tmp_path: Path
) -> None:
    """A table's next hop (found during its search, and from the relation groups) is the
    smallest successor at the distance below, in local tables and in plain ones, where
    several successors tie and where groups and explicit edges compete; with ``crossing``,
    where hops lead into a workload's node that a node, the cluster or an identity enters by
    an explicit edge (:meth:`AttackGraph._local_preds`: in a local table only its own
    workload's predecessors reach it)."""
    from tests.conftest import synthetic_cluster
    from tests.graph.test_ownership import random_cluster

    if source == "synthetic":
        fbs = [extract(load(synthetic_cluster(tmp_path, 40, seed=5)))]
    else:
        fbs = [extract(load(*random_cluster(seed))) for seed in range(12)]
    used = crossing_catalogue(catalogue) if source == "crossing" else catalogue
    checked = tied = grouped = cut = 0
    for fb in [cluster(), *fbs]:
        graph = AttackGraph(fb, used)
        entered = graph._local_preds()
        for sink in graph.sinks():
            for local in (True, False):
                table = _PathTable(graph, sink, local=local)
                for node in table.dist:
                    if node == sink:
                        continue
                    hop = table.next_hop(node)
                    assert hop == reference_next_hop(graph, table, node), node
                    checked += 1
                    want = table.dist[node] - 1
                    tied += sum(table.dist.get(n) == want for n in graph.successors(node)) > 1
                    grouped += node in graph._refs
                    cut += hop in entered
    assert checked > 10_000 and tied > 1000 and grouped > 1000, (checked, tied, grouped)
    assert (cut > 20) == (source == "crossing"), cut


def reference_local_distances(graph: AttackGraph, target: str) -> dict[str, int]:
    """Hop distances to ``target`` over the expanded edges that stay in a workload or
    leave workloads behind (an edge into a workload's node only from the same workload):
    a plain reverse BFS."""
    owners = graph.owners()
    pred: dict[str, list[str]] = {}
    for a, b in graph.edges():
        if owners.get(b) is None or owners.get(a) == owners[b]:
            pred.setdefault(b, []).append(a)
    dist = {target: 0}
    queue = deque([target])
    while queue:
        node = queue.popleft()
        for p in pred.get(node, ()):
            if p not in dist:
                dist[p] = dist[node] + 1
                queue.append(p)
    return dist


def crossing_catalogue(catalogue: Catalogue, **more: str) -> Catalogue:
    """``catalogue`` with three container steps starting from a cluster or node state: explicit
    edges into a workload's nodes from none (the shipped steps start from their own scope's
    states, so only relation groups enter a workload; the engine allows both); ``more``:
    other steps (step id with ``_`` for ``-``) and the states they start from."""
    starts = {
        "endpoint-dos": "cluster_admin",
        "bandwidth-hijack": "cluster_admin",
        "collect-model-artifacts": "node_root",
        **{step.replace("_", "-"): state for step, state in more.items()},
    }
    steps = []
    for step in catalogue.steps:
        state = starts.get(step.id)
        if state is not None:
            atoms = tuple(
                f"state:{state}" if a.startswith("state:") else a for a in step.requires.all
            )
            step = step.model_copy(
                update={"requires": step.requires.model_copy(update={"all": atoms})}
            )
        steps.append(step)
    return Catalogue(states=catalogue.states, steps=tuple(steps), controls=catalogue.controls)


@pytest.mark.parametrize("crossing", [False, True])
def test_local_distances_are_those_of_the_local_edges(catalogue: Catalogue, crossing: bool) -> None:
    """The local search (a workload's nodes entered from elsewhere by an explicit edge keep
    their own workload's predecessors, :meth:`AttackGraph._local_preds`) against a plain
    search of the expanded local edges; and the owned paths over such edges against the
    reference (a sink whose instances all start from node or cluster states is searched
    from those states only when its step fires there: :meth:`AttackGraph._hub_tails`)."""
    from tests.graph.test_ownership import owned_lengths, random_cluster, reference_lengths

    used = crossing_catalogue(catalogue) if crossing else catalogue
    entered = 0
    for fb in [cluster(), *(extract(load(*random_cluster(seed))) for seed in range(12))]:
        graph = AttackGraph(fb, used)
        entered += len(graph._local_preds())
        for sink in graph.sinks():
            assert graph.local_distances_to(sink) == reference_local_distances(graph, sink), sink
        if crossing:
            assert owned_lengths(graph) == reference_lengths(graph)
    assert (entered > 50) == crossing, entered


# -- the ways from the entry points, and searches shared by sinks ---------------------------


def reference_upto(
    graph: AttackGraph, dist: dict[str, int], node: str, prefer: str
) -> tuple[tuple[str, ...], str]:
    """The step ids from the nearest start up to ``node`` and that start: at each node back,
    of its predecessors one hop nearer (over the expanded edges,
    :meth:`AttackGraph.predecessors`) the smallest of ``prefer``'s workload if one is,
    else the smallest of all."""
    owners = graph.owners()
    way: list[str] = []
    while dist[node]:
        if node.startswith("step:"):
            way.append(node[5:])
        nearer = [p for p in graph.predecessors(node) if dist.get(p) == dist[node] - 1]
        mine = [p for p in nearer if owners.get(p) == prefer]
        node = min(mine or nearer)
    return tuple(reversed(way)), node


@pytest.mark.parametrize("source", ["random", "crossing"])
def test_the_ways_from_the_entry_points_prefer_the_workload_at_every_node(
    catalogue: Catalogue, source: str
) -> None:
    """:meth:`_Prefixes.upto` (a way shared by every workload that meets no node of its
    own on it, one of its own where it does) against a walk back that chooses at every
    node, for every node and workload, asked in an order that mixes the two."""
    from tests.graph.test_ownership import random_cluster

    used = crossing_catalogue(catalogue) if source == "crossing" else catalogue
    checked = own = 0
    for fb in [cluster(), *(extract(load(*random_cluster(seed))) for seed in range(8))]:
        graph = AttackGraph(fb, used)
        owners = graph.owners()
        for entry in ENTRY_KINDS:
            pre = graph.prefixes(entry)
            for w in sorted(graph.workloads):
                for node in sorted(pre.dist, reverse=bool(len(w) % 2)):
                    steps, start = pre.upto(node, w)
                    expected = reference_upto(graph, pre.dist, node, w)
                    assert (tuple(i.id for i in steps), start) == expected, (node, w)
                    checked += 1
                    own += owners.get(start) == w and owners.get(node) != w
    assert checked > 10_000 and own > 100, (checked, own)


@pytest.mark.parametrize("source", ["random", "crossing"])
def test_sinks_sharing_a_search_find_the_paths_of_their_own(
    catalogue: Catalogue, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sinks whose instances start from the same states share one search from those states
    (:meth:`AttackGraph._sink_targets`): the same paths, in the same order, as a search
    from each sink; with ``crossing``, where a sink's own instances are where paths enter
    a workload (doors one hop from the sink) while a ServiceAccount no workload runs as
    starts the same step at the same state (so the sink has a search to share too)."""
    from tests.graph.test_ownership import random_cluster

    used = catalogue
    if source == "crossing":
        used = crossing_catalogue(
            catalogue, permission_discovery="node_root", deploy_pod="node_root"
        )
    graphs = [
        AttackGraph(fb, used)
        for fb in [cluster(), *(extract(load(*random_cluster(seed))) for seed in range(12))]
    ]

    def paths(graph: AttackGraph) -> list[Any]:
        return [
            (sink, [(w, e, s, [i.id for i in steps]) for w, e, s, steps in found])
            for sink, found in graph.sink_paths(ENTRY_KINDS)
        ]

    shared = [paths(graph) for graph in graphs]
    sharing = heads = 0
    for graph in graphs:
        targets = [graph._sink_targets(sink) for sink in graph.sinks()]
        plain = [t for t, _tails, hub in targets if t and not hub]
        sharing += len(plain) - len(set(plain))
        doors = graph._doors()
        heads += sum(
            1
            for sink, (t, _tails, _hub) in zip(graph.sinks(), targets, strict=True)
            if t
            for n in graph._pred[sink]
            if n in doors
        )
    original = AttackGraph._sink_targets

    def from_the_sink(
        graph: AttackGraph, sink: str, within: Any = None
    ) -> tuple[tuple[str, ...], dict[str, StepInstance], bool]:
        found = original(graph, sink, within)
        return found if found[2] else ((), {}, False)

    monkeypatch.setattr(AttackGraph, "_sink_targets", from_the_sink)
    for graph, found in zip(graphs, shared, strict=True):
        graph.drop_caches()
        assert paths(graph) == found
    assert sharing > 50, sharing
    assert (heads > 20) == (source == "crossing"), heads


@pytest.fixture(params=[(False, False), (True, False), (False, True)], ids=str)
def synthetic(request: pytest.FixtureRequest, catalogue: Catalogue, tmp_path: Path) -> AttackGraph:
    """The graph of a synthetic cluster of 40 workloads, with node pools or not, under the
    shipped catalogue or the crossing one (explicit edges into workloads from node and
    cluster states): ``(node_pools, crossing)``."""
    from tests.conftest import synthetic_cluster

    node_pools, crossing = request.param
    fb = extract(load(synthetic_cluster(tmp_path, 40, seed=9, node_pools=node_pools)))
    return AttackGraph(fb, crossing_catalogue(catalogue) if crossing else catalogue)


def test_some_workloads_paths_are_theirs_in_the_whole_search(synthetic: AttackGraph) -> None:
    # Asked for some workloads, the search leaves the others' nodes out of its local
    # tables and looks at their doors only: the same paths, in the same order; with
    # ``crossing``, where explicit edges enter workloads from node and cluster states.
    import random

    graph = synthetic
    keys = sorted(graph.workloads)
    # the whole cluster's paths from a graph of its own (the searches keep some tables)
    everyone = AttackGraph(graph.fb, graph.catalogue).owned_paths(ENTRY_KINDS)
    assert graph.owned_paths(ENTRY_KINDS, keys[:3]) == {w: everyone[w] for w in keys[:3]}
    assert graph.owned_paths(ENTRY_KINDS) == everyone
    rng = random.Random(1)
    for size in (1, 1, 1, 2, 5, len(keys) // 2, len(keys) - 1):
        some = rng.sample(keys, size)
        assert graph.owned_paths(ENTRY_KINDS, some) == {w: everyone[w] for w in sorted(some)}
        sinks = rng.sample(graph.sinks(), 8)
        whole = AttackGraph(graph.fb, graph.catalogue).owned_paths(ENTRY_KINDS, sinks=sinks)
        assert graph.owned_paths(ENTRY_KINDS, some, sinks) == {w: whole[w] for w in sorted(some)}
    assert sum(map(len, everyone.values())) > 1000


def test_a_search_of_some_workloads_begins_at_the_sinks_own_doors(catalogue: Catalogue) -> None:
    # Where a sink's own instances are where paths enter a workload (doors one hop from the
    # sink: the crossing catalogue), a search of some workloads takes theirs among the
    # sink's instances (AttackGraph._preds_of), in the order of the whole search.
    import itertools

    from tests.graph.test_ownership import random_cluster

    used = crossing_catalogue(catalogue, permission_discovery="node_root", deploy_pod="node_root")
    heads = 0
    for fb in [cluster(), *(extract(load(*random_cluster(seed))) for seed in range(12))]:
        graph = AttackGraph(fb, used)
        everyone = AttackGraph(fb, used).owned_paths(ENTRY_KINDS)
        keys = sorted(graph.workloads)
        doors = graph._doors_i()
        heads += sum(
            1 for sink in graph.sinks() for n in graph._pred_i[graph._id(sink)] if n in doors
        )
        whole = [
            (sink, [(w, e, s, [i.id for i in steps]) for w, e, s, steps in found])
            for sink, found in AttackGraph(fb, used).sink_paths(ENTRY_KINDS)
        ]
        for some in [*([k] for k in keys), *itertools.combinations(keys, 2), keys[1::2]]:
            found = graph.owned_paths(ENTRY_KINDS, some)
            assert found == {w: everyone[w] for w in sorted(some)}, some
            # sink by sink, the whole search's paths of those workloads, in its order
            assert [
                (sink, [(w, e, s, [i.id for i in steps]) for w, e, s, steps in paths])
                for sink, paths in graph.sink_paths(ENTRY_KINDS, set(some))
            ] == [(sink, [p for p in paths if p[0] in some]) for sink, paths in whole], some
    assert heads > 20, heads


def test_a_search_of_some_workloads_keeps_to_what_they_reach(synthetic: AttackGraph) -> None:
    # A local search for some workloads' paths meets only the nodes those workloads reach
    # in the local graph, and there it finds what the whole cluster's search finds: the
    # same distances and next hops, the nodes in the same order. Of no workload's nodes
    # (identities, nodes, the cluster) it leaves out those the workloads do not reach.
    import random

    graph = synthetic
    keys = sorted(graph.workloads)
    owners = graph._own
    rng = random.Random(2)
    left_out = 0
    for size in (1, 1, 1, 2, 5, len(keys) // 2):
        some = rng.sample(keys, size)
        reach = graph._local_reach(some)
        assert {n for n in range(len(owners)) if owners[n] in some} <= reach
        assert all(owners[n] is None or owners[n] in some for n in reach)
        for sink in graph.sinks():
            targets = graph._sink_targets(sink)[0] or (graph._id(sink),)
            dist, hops, order = graph._reverse_search(targets, True)
            part_dist, part_hops, part_order = graph._reverse_search(targets, True, some)
            assert part_order == [n for n in order if n in reach]
            for n in part_order:
                assert (part_dist[n], part_hops[n]) == (dist[n], hops[n])
            left_out += sum(1 for n in order if owners[n] is None and n not in reach)
    assert left_out > 1000, left_out
