"""How the fact base and the attack graph hold what they hold: shared where equal (one
set of base facts per distinct set, one string per fact name), adjacency as tuples without
duplicate edges; none of it changes a result.

The cluster is generated (``benchmarks/synth.py`` with node pools): many workloads of the
same shapes, so equal fact sets and names recur across workloads."""

from __future__ import annotations

import copy
import gc
import weakref
from array import array
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import synthetic_cluster

import attackmap
from attackmap.attack import load_attack
from attackmap.graph import _engine, _facts
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import AttackGraph
from attackmap.graph._facts import FactBase, extract
from attackmap.model import Inventory, load


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_cluster(tmp_path_factory.mktemp("storage"), 30, seed=7, node_pools=True)


@pytest.fixture(scope="module")
def inventory(cluster: Path) -> Inventory:
    return load(cluster)


@pytest.fixture(scope="module")
def fb(inventory: Inventory) -> FactBase:
    return extract(inventory)


@pytest.fixture(scope="module")
def graph(fb: FactBase, catalogue: Catalogue) -> AttackGraph:
    return AttackGraph(fb, catalogue)


def _edges(lists: list[list[int]]) -> tuple[array[int], array[int]]:
    """Per-node lists of numbers as the graph keeps its edges while building: pairs in the
    order added (here node by node)."""
    froms, tos = array("i"), array("i")
    for node, items in enumerate(lists):
        for item in items:
            froms.append(node)
            tos.append(item)
    return froms, tos


def test_grouped_keeps_each_nodes_values_in_the_order_added() -> None:
    froms = array("i", [2, 0, 2, 1, 0, 2])
    tos = array("i", [5, 7, 6, 9, 8, 5])
    placed, starts = _engine._grouped(froms, tos, 4)
    groups = [list(placed[starts[n] : starts[n + 1]]) for n in range(4)]
    assert groups == [[7, 8], [9], [5, 6, 5], []]
    placed, starts = _engine._grouped(tos, froms, 10)  # the other direction
    assert list(placed[starts[5] : starts[6]]) == [2, 2] and list(
        placed[starts[7] : starts[8]]
    ) == [0]


def test_renumbered_keeps_the_first_of_each_item_in_order() -> None:
    # nodes 0..3 made in the order d, a, c, b: new numbers (name order) a=0, b=1, c=2, d=3
    lists = [[1, 2, 1, 3, 2], [0], [], [1, 1]]
    order = [1, 3, 2, 0]  # old numbers by new number
    perm = [3, 0, 2, 1]  # new number by old number
    ones: list[tuple[int] | None] = [None] * 4
    out = _engine._renumbered(_engine._grouped(*_edges(lists), 4), order, perm, ones)
    assert out == [(3,), (0,), (), (0, 2, 1)]  # by new number; each item's first, in order
    assert ones == [None, None, None, (3,)]  # each one-node list's tuple, by its node
    # the other direction, and every node with the same one neighbour, share it
    again = _engine._renumbered(_engine._grouped(*_edges([[0], [], [], [0]]), 4), order, perm, ones)
    assert again == [(), (3,), (), (3,)]
    assert again[1] is out[0] and again[3] is out[0]


def test_a_graphs_one_node_adjacency_tuples_are_shared(graph: AttackGraph) -> None:
    ones: dict[tuple[int, ...], int] = {}
    for adjacency in (graph._succ_i, graph._pred_i):
        for t in adjacency:
            if len(t) == 1:
                assert ones.setdefault(t, id(t)) == id(t)  # one object per neighbour
    assert ones  # (the fixture's graph has such nodes)


def test_a_step_leads_to_its_sink_first_then_what_it_grants(graph: AttackGraph) -> None:
    # the edges keep the order they were added in: a step instance's node has its sink's
    # edge first, then the states it grants (the first of equal edges is the one kept)
    name = graph._names()
    checked = 0
    for node, inst in enumerate(graph._inst):
        if inst is None or len(graph._succ_i[node]) < 2:
            continue
        first, *rest = (name[n] for n in graph._succ_i[node])
        assert first.startswith("sink:") and not any(n.startswith("sink:") for n in rest)
        checked += 1
    assert checked > 100


def test_a_graph_built_keeps_no_edge_lists(graph: AttackGraph) -> None:
    # the edges were pairs in one array while building, let go once renumbered
    assert len(graph._edges) == 0 and not hasattr(graph, "_out")


def test_scopes_with_equal_base_facts_share_one_set(graph: AttackGraph, fb: FactBase) -> None:
    by_value: dict[frozenset[str], set[int]] = defaultdict(set)
    for sf in graph.scopes.values():
        by_value[sf.base].add(id(sf.base))
    assert all(len(ids) == 1 for ids in by_value.values())
    assert len(by_value) < len(graph.scopes)  # the cluster repeats shapes: some are shared
    # and each scope's set is still its own facts: the pod's, the container's, the context's
    for wf in fb.workloads:
        pod_base = wf.pod | fb.context
        assert graph.scopes[wf.key].base == pod_base
        for cf in wf.containers:
            assert graph.scopes[f"{wf.key}[{cf.name}]"].base == pod_base | cf.facts


def test_adjacency_has_each_edge_once_and_both_ways(graph: AttackGraph) -> None:
    assert set(graph._succ) == set(graph._pred)
    forward = {(a, b) for a, nxt in graph._succ.items() for b in nxt}
    backward = {(a, b) for b, prv in graph._pred.items() for a in prv}
    assert forward == backward
    for node in graph._succ:
        assert len(set(graph._succ[node])) == len(graph._succ[node])
        assert len(set(graph._pred[node])) == len(graph._pred[node])
    # every step instance starts from exactly one state (the engine's docstring)
    for inst in graph.instances.values():
        (source,) = graph._pred[inst.node]
        assert source.startswith("state:")
        assert inst.node == f"step:{inst.id}"


def test_fact_names_and_evidence_strings_are_one_object_each(fb: FactBase) -> None:
    """Every workload spells the same facts, evidence keys, fields and details: equal
    strings are one object across the fact base."""
    seen: dict[str, int] = {}

    def one(text: str) -> None:
        assert seen.setdefault(text, id(text)) == id(text), text

    repeated = 0
    for wf in fb.workloads:
        for fact in wf.pod:
            one(fact)
        for cf in wf.containers:
            for fact in cf.facts:
                repeated += fact in seen
                one(fact)
        for key, ev in wf.evidence.items():
            one(key)
            one(ev.field)
            one(ev.detail)
    assert repeated  # the cluster repeats facts between workloads


def test_evidence_is_a_light_record_of_its_four_fields(fb: FactBase) -> None:
    wf = next(w for w in fb.workloads if w.evidence)
    ev = next(iter(wf.evidence.values()))
    assert ev == _facts.Evidence(path=ev.path, line=ev.line, field=ev.field, detail=ev.detail)
    assert tuple(ev) == (ev.path, ev.line, ev.field, ev.detail)
    with pytest.raises(AttributeError):
        ev.detail = "changed"  # type: ignore[misc]  # (immutable)


def test_sharing_changes_no_result(cluster: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report is the same when no string is interned and no fact set is shared
    (every workload and scope with its own objects, as before)."""
    shared = attackmap.analyze(cluster, goals=["T1611"])
    monkeypatch.setattr(_facts, "intern", lambda text: "".join(list(text)) if text else text)

    class Unshared(dict[frozenset[str], frozenset[str]]):
        def setdefault(self, key: frozenset[str], default: frozenset[str]) -> frozenset[str]:  # type: ignore[override]  # (shares nothing)
            return default

    monkeypatch.setattr(
        AttackGraph,
        "_bases",
        property(lambda self: Unshared(), lambda self, v: None),
        raising=False,
    )
    # every workload's pod and container fact sets its own
    monkeypatch.setattr(_facts._Shared, "facts", lambda self, facts: frozenset(facts))
    alone = attackmap.analyze(cluster, goals=["T1611"])
    assert alone.to_json() == shared.to_json()


def test_a_path_origin_is_the_workload_key_object(cluster: Path) -> None:
    report = attackmap.analyze(cluster)
    keys = {wf.key: wf.key for wf in report._analyzer.fb.workloads}
    origins = [
        p.origin for w in report.workloads for t in w.techniques for p in t.paths if p.origin
    ]
    assert origins  # the cluster has paths that start in another workload
    assert all(origin is keys[origin] for origin in origins)


def test_derived_container_facts_are_one_object_each(graph: AttackGraph) -> None:
    seen: dict[str, int] = {}
    memo = graph.fb.memo  # the derivations of the graph's scopes
    for facts, _because, _warnings in (v for k, v in memo.items() if k[0] == "container"):
        for fact in facts:
            assert seen.setdefault(fact, id(fact)) == id(fact), fact
    assert seen


def test_owned_paths_keep_each_start_once_and_the_paths_in_the_order_found(
    graph: AttackGraph,
) -> None:
    steps = list(graph.instances.values())[:4]
    a, b, c, d = ((s,) for s in steps)
    paths = _engine.OwnedPaths()
    found = [
        ("network", "ns/w", a),
        ("image", "ns/w", b),
        ("network", "ns/other", c),
        ("network", "ns/w", d),
        ("image", "ns/w", a),
    ]
    for path in found:
        paths.append(*path)
    assert list(paths) == found and len(paths) == 5  # interleaved starts: the order found
    assert paths._pairs == [("network", "ns/w"), ("image", "ns/w"), ("network", "ns/other")]
    assert list(paths._pair_of) == [0, 1, 2, 0, 1]
    same = _engine.OwnedPaths()
    for path in found:
        same.append(*path)
    assert same == paths and paths == found  # (and equal to a list of the same paths)
    assert repr(paths) == f"OwnedPaths({found!r})"
    other = _engine.OwnedPaths()
    for path in reversed(found):
        other.append(*path)
    assert other != paths  # the same paths in another order
    for entry, start in (("image", "ns/w"), ("network", "ns/other")):  # another first pair
        moved = _engine.OwnedPaths()
        moved.append(entry, start, a)
        for path in found[1:]:
            moved.append(*path)
        assert moved != paths and moved != found
    assert not _engine.OwnedPaths()
    # read as the list was: by position, sliced, reversed, copied
    assert paths[0] == found[0] and paths[-1] == found[-1] and paths[1:3] == found[1:3]
    assert list(reversed(paths)) == found[::-1] and found[2] in paths
    copied = copy.copy(paths)
    copied.append("network", "ns/w", b)
    assert copied[:5] == found and len(copied) == 6 and list(paths) == found


def test_a_workloads_owned_paths_share_their_starts(graph: AttackGraph) -> None:
    owned = graph.owned_paths(_engine.ENTRY_KINDS)
    assert sum(map(len, owned.values())) > 3 * sum(len(p._pairs) for p in owned.values())
    for paths in owned.values():
        assert len({(e, s) for e, s, _steps in paths}) == len(paths._pairs)


def test_a_search_of_the_cluster_keeps_its_tables_in_arrays(graph: AttackGraph) -> None:
    # 4 bytes a node (a list took 8); a search of a few workloads keeps a sparse table
    sink = graph._sinks_i[0]
    dist, hops, _order = graph._reverse_search((sink,), local=True)
    assert isinstance(dist, array) and isinstance(hops, array)
    assert dist.itemsize == 4 and len(dist) == len(graph._pred_i)
    few = sorted(graph.workloads)[:1]
    dist, hops, _order = graph._reverse_search((sink,), local=True, within=few)
    assert isinstance(dist, _engine._Sparse) and isinstance(hops, _engine._Sparse)


def test_a_search_keeps_no_path_table_after_the_last_sink_that_reads_it(
    fb: FactBase, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a table several sinks share (a hub's among them) lives until its last sink, then
    # goes: none is kept in the graph, so a second search makes every table again (a
    # graph of its own: the module's has searched already)
    graph = AttackGraph(fb, catalogue)
    plans = [graph._sink_targets(s) for s in graph._sinks_i]
    assert any(targets and hub for targets, _t, hub in plans)  # the cluster has hub sinks
    made: list[weakref.ref[Any]] = []
    original = _engine._PathTable.__init__

    def recording(table: Any, *args: Any, **kwargs: Any) -> None:
        original(table, *args, **kwargs)
        made.append(weakref.ref(table))

    monkeypatch.setattr(_engine._PathTable, "__init__", recording)
    counts = []
    alive_after: list[int] = []
    for _search in range(2):
        for _sink, _paths in graph.sink_paths(_engine.ENTRY_KINDS):
            alive_after.append(sum(1 for ref in made if ref() is not None))
        counts.append(len(made))
    assert counts[1] == 2 * counts[0]
    assert max(alive_after) < counts[0]  # tables went during the search
    gc.collect()
    assert not [ref for ref in made if ref() is not None]
