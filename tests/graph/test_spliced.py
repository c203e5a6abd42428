"""A graph spliced from the analysis graph for a fact-level what-if
(:meth:`AttackGraph.spliced`) is, to every search, the graph built from the patched fact
base: the same live nodes and edges in the same order, the same relation groups, the same
distances from the entry points (taken from the analysis graph's where the patch did not
cut their ways), the same paths. The minimal controls check their patched clusters on
it."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO_ROOT, synthetic_cluster

from attackmap.graph._analysis import Analyzer, _analyzer
from attackmap.graph._catalogue import Catalogue
from attackmap.graph._engine import ENTRY_KINDS, AttackGraph

NIM = REPO_ROOT / "examples" / "nim" / "nim-deploy-default.yaml"


def searched(graph: AttackGraph) -> dict[str, Any]:
    """What the searches read of ``graph``, by name and in order; nodes without edges or
    groups (a spliced graph keeps its removed instances and dead states so) left out."""
    name = [graph._nm(i) for i in range(len(graph._name))]
    live = {
        i
        for i in range(len(name))
        if graph._succ_i[i] or graph._pred_i[i] or i in graph._member_i or i in graph._refs_i
    }
    return {
        "succ": {name[i]: [name[j] for j in graph._succ_i[i]] for i in sorted(live)},
        "pred": {name[i]: [name[j] for j in graph._pred_i[i]] for i in sorted(live)},
        "member_of": {name[i]: graph._member_i[i] for i in sorted(graph._member_i)},
        # each step's references, in order (the table's own order is not read by the
        # searches, and a spliced graph's is its base's scratch, where a key a splice
        # removed comes back last; the build's order, which a group's place among a
        # member's groups follows, is compared in "member_of" and "groups")
        "refs": {name[i]: refs for i, refs in graph._refs_i.items()},
        "groups": {
            key: (
                list(fan.members.items()),
                [(excl, [name[s] for s in steps]) for excl, steps in fan.refs.items()],
                [(name[n], owner) for n, owner in fan.nodes.items() if n in live],
            )
            for key, fan in graph._fanouts.items()
            if fan.members
        },
        "sinks": graph.sinks(),
        "instances": [(i, inst.scope.facts) for i, inst in graph.instances.items()],
        # each live node's instance, as the searches take it for the paths' steps
        "node instances": [
            (name[i], inst.id, inst.scope.facts)
            for i, inst in enumerate(graph._inst)
            if inst is not None and i in live
        ],
        "scopes": {label: (sf.base, sf.facts) for label, sf in graph.scopes.items()},
        "workloads": graph.workloads,
    }


def distances(graph: AttackGraph) -> dict[str, dict[str, int]]:
    """Per entry kind, each reached node's distance from the entry points (a spliced
    graph's are its base's, changed where the patch cut their ways)."""
    return {
        kind: {graph._nm(i): d for i, d in enumerate(graph.prefixes(kind)._d) if d >= 0}
        for kind in ENTRY_KINDS
    }


def paths(
    graph: AttackGraph, workloads: list[str] | None = None
) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    return {
        w: [(e, start, tuple(s.id for s in steps)) for e, start, steps in found]
        for w, found in graph.owned_paths(ENTRY_KINDS, workloads).items()
    }


def workload_controls(analyzer: Analyzer) -> list[str]:
    """Every control that breaks some path of the report, at a workload."""
    report = analyzer.report()
    return sorted(
        {
            c
            for w in report.workloads
            for t in w.techniques
            for p in t.paths
            for c in p.broken_by
            if not c.endswith("@cluster")
        }
    )


def check_covers(analyzer: Analyzer, covers: list[list[str]]) -> int:
    """Each cover's spliced graph against the built one; how many were spliced."""
    graph = analyzer.graph
    spliced = 0
    for chosen in covers:
        fb, changed = analyzer._patched_fb(chosen)  # (as a check splices: naming them)
        made = graph.spliced(fb, changed)
        if made is None:
            continue
        spliced += 1
        built = AttackGraph(fb, analyzer.catalogue)
        assert searched(made) == searched(built), chosen
        assert distances(made) == distances(built), chosen
        assert paths(made) == paths(built), chosen
        # a check's search: one workload's paths (its targets from the base's plans)
        for key in sorted({c.rpartition("@")[2] for c in chosen} & set(built.workloads))[:3]:
            assert paths(made, [key]) == paths(built, [key]), (chosen, key)
            assert targets(made, key) == targets(built, key), (chosen, key)
    return spliced


def targets(graph: AttackGraph, key: str) -> list[tuple[str, list[str], list[str]]]:
    """Each sink's targets for a search of workload ``key``'s nodes (and of none's), in
    order, with their instances: the sink's whole targets but the other workloads'."""
    out = []
    for sink in graph.sinks():
        whole, tails, hub = graph._sink_targets(sink)
        some, some_tails, some_hub = graph._sink_targets(sink, [key])
        assert some_hub == hub
        kept = [t for t in whole if graph._own[t] in (None, key)]
        assert list(some) == (list(whole) if hub else kept), sink
        assert {t: some_tails[t] for t in some} == {t: tails[t] for t in some}, sink
        out.append((sink, [graph._nm(t) for t in some], [some_tails[t].id for t in some]))
    return out


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("spliced")
    return {
        "one node class": synthetic_cluster(root / "plain", 40, seed=5),
        "node pools": synthetic_cluster(root / "pools", 40, seed=11, node_pools=True),
    }


@pytest.mark.parametrize("which", ["one node class", "node pools"])
def test_a_spliced_graph_is_the_built_graph_to_its_searches(
    clusters: dict[str, Path], which: str
) -> None:
    analyzer = _analyzer(clusters[which])[0]
    controls = workload_controls(analyzer)
    rng = random.Random(3)
    # a few controls (a minimal set's size) to many (several workloads each losing
    # instances, tokens and the first steps of relation groups)
    covers = [rng.sample(controls, rng.choice((1, 2, 4, 8, 16, 40))) for _ in range(40)]
    covers.append([c for c in controls if c.startswith("disable-token-automount@")])
    assert check_covers(analyzer, covers) == len(covers)


def test_a_token_group_left_empty() -> None:
    # the one workload's token is the node's only one: without it the group is empty, and
    # the build links no step to an empty group
    analyzer = _analyzer(NIM)[0]
    key = analyzer.fb.workloads[0].key
    assert analyzer.graph.spliced(analyzer.fb) is not None  # nothing changed
    assert check_covers(analyzer, [[f"disable-token-automount@{key}"]]) == 1
    made = analyzer.graph.spliced(analyzer._fb_with([f"disable-token-automount@{key}"]))
    assert made is not None
    emptied = [k for k, fan in made._fanouts.items() if k[0][0] == "tokens"]
    assert emptied and all(not made._fanouts[k].members for k in emptied)
    assert all(k[0][0] != "tokens" for refs in made._refs_i.values() for k, _e in refs)


def test_what_a_splice_cannot_be_is_built() -> None:
    analyzer = _analyzer(NIM)[0]
    graph, fb = analyzer.graph, analyzer.fb
    wf, rest = fb.workloads[0], fb.workloads[1:]
    # the cluster's facts change: every scope does
    assert graph.spliced(replace(fb, context=fb.context | {"ctx:cloud_metadata"})) is None
    # a new step instance
    containers = tuple(replace(c, facts=c.facts | {"privileged"}) for c in wf.containers)
    assert "privileged" not in wf.containers[0].facts
    assert graph.spliced(replace(fb, workloads=(replace(wf, containers=containers), *rest))) is None
    # a token that appears: it joins the node's token group (and here steal-sa-token
    # fires too; without the steps that read a mounted token, it only joins the group)
    assert "sa_token" in wf.pod
    without = replace(fb, workloads=(replace(wf, pod=wf.pod - {"sa_token"}), *rest))
    cat = analyzer.catalogue
    unread = Catalogue(
        states=cat.states,
        steps=tuple(s for s in cat.steps if "fact:sa_token" not in s.requires.all),
        controls=cat.controls,
    )
    for catalogue in (cat, unread):
        bare = AttackGraph(without, catalogue)
        assert any(k[0][0] == "tokens" for k in bare._fanouts)  # (node-tokens refers to it)
        assert bare.spliced(fb) is None
    # other workloads
    assert graph.spliced(replace(fb, workloads=rest)) is None
    # what the graph reads of a manifest besides its facts (ports served, its identity)
    assert wf.shape.ports
    for shape in (replace(wf.shape, ports=()), replace(wf.shape, service_account="other")):
        assert graph.spliced(replace(fb, workloads=(replace(wf, shape=shape), *rest))) is None


def test_minimal_controls_are_those_of_the_built_graphs(
    clusters: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzer = _analyzer(clusters["node pools"], goals=["T1611", "T1552"])[0]
    keys = sorted(wf.key for wf in analyzer.fb.workloads)[::4]
    made: list[bool] = []
    real = AttackGraph.spliced

    def counted(self: AttackGraph, fb: Any, changed: Any = None) -> AttackGraph | None:
        # the check names every workload its what-if changes (the splice compares no other)
        differ = [
            i
            for i, (a, b) in enumerate(zip(self.fb.workloads, fb.workloads, strict=True))
            if a is not b
        ]
        assert changed is not None and set(differ) <= set(changed)
        found = real(self, fb, changed)
        made.append(found is not None)
        return found

    monkeypatch.setattr(AttackGraph, "spliced", counted)
    spliced = [analyzer.minimal_controls(k, analyzer.goals) for k in keys]
    assert sum(made) >= 5, made  # the checks were made on spliced graphs
    monkeypatch.setattr(AttackGraph, "spliced", lambda self, fb, changed=None: None)
    built = [analyzer.minimal_controls(k, analyzer.goals) for k in keys]
    assert spliced == built
    assert any(m.controls for m in built)


def test_the_graph_spliced_before_is_stale(clusters: dict[str, Path]) -> None:
    # the spliced graphs of one graph share its scratch lists: the one made before the
    # last raises on use instead of reading another patch's nodes
    analyzer = _analyzer(clusters["one node class"])[0]
    controls = workload_controls(analyzer)
    graph = analyzer.graph
    first = graph.spliced(analyzer._fb_with(controls[:3]))
    assert first is not None and paths(first) and distances(first)
    second = graph.spliced(analyzer._fb_with(controls[3:6]))
    assert second is not None
    with pytest.raises(RuntimeError, match="used after its base graph was spliced again"):
        paths(first)
    with pytest.raises(RuntimeError, match="spliced again"):
        len(first._succ_i)
    with pytest.raises(RuntimeError, match="spliced again"):
        first.prefixes(ENTRY_KINDS[0])._d[0]  # its distances too
    # and its tables of groups, scopes and workloads (the scratch's too)
    for table in (first._refs_i, first._member_i, first._fanouts, first.scopes, first.workloads):
        with pytest.raises(RuntimeError, match="spliced again"):
            table.get(0)
    with pytest.raises(RuntimeError, match="spliced again"):
        first.facts.scopes[next(iter(graph.scopes))]
    built = AttackGraph(analyzer._fb_with(controls[3:6]), analyzer.catalogue)
    assert searched(second) == searched(built) and paths(second) == paths(built)


def test_a_search_kept_past_its_graphs_caches_raises(clusters: dict[str, Path]) -> None:
    # a spliced graph's forward search holds its base's scratch distances: once the graph
    # drops its caches, the next splice changes them, so the search kept raises
    analyzer = _analyzer(clusters["one node class"])[0]
    controls = workload_controls(analyzer)
    graph = analyzer.graph
    first = graph.spliced(analyzer._fb_with(controls[:3]))
    assert first is not None
    kept = first.prefixes(ENTRY_KINDS[0])
    assert kept._d[0] is not None
    first.drop_caches()
    assert graph.spliced(analyzer._fb_with(controls[3:6])) is not None
    with pytest.raises(RuntimeError, match="spliced again"):
        kept._d[0]


def test_a_spliced_graph_outlives_its_base_caches(clusters: dict[str, Path]) -> None:
    # drop_caches lets the scratch lists go, not the graph spliced last: it keeps them
    # (nothing changes them any more), and the next splice makes a scratch of its own
    analyzer = _analyzer(clusters["one node class"])[0]
    controls = workload_controls(analyzer)
    graph = analyzer.graph
    covers = [controls[:3], controls[3:6]]
    first = graph.spliced(analyzer._fb_with(covers[0]))
    graph.drop_caches()
    second = graph.spliced(analyzer._fb_with(covers[1]))
    assert first is not None and second is not None
    for made, cover in ((second, covers[1]), (first, covers[0]), (second, covers[1])):
        made.drop_caches()  # distances again, in turns
        built = AttackGraph(analyzer._fb_with(cover), analyzer.catalogue)
        assert distances(made) == distances(built), cover
        assert paths(made) == paths(built), cover


def test_a_refused_splice_changes_nothing(clusters: dict[str, Path]) -> None:
    # a splice that gives up (a workload it patches gains an instance) does so before it
    # changes the scratch lists: the graph spliced before stays usable, the next splices
    # are the built graphs; the part of the workload patched the same way is reused
    analyzer = _analyzer(clusters["one node class"])[0]
    graph, fb = analyzer.graph, analyzer.fb
    controls = workload_controls(analyzer)
    first = next(c for c in controls if c.startswith("run-as-non-root@"))
    target = first.partition("@")[2]
    before = graph.spliced(analyzer._fb_with([first]))
    assert before is not None
    expected = paths(before)
    patched = analyzer._fb_with([first])
    later = next(
        i
        for i, wf in enumerate(fb.workloads)
        if wf.key > target and "privileged" not in wf.containers[0].facts
    )
    wf = fb.workloads[later]
    containers = (replace(wf.containers[0], facts=wf.containers[0].facts | {"privileged"}),)
    gained = list(patched.workloads)
    gained[later] = replace(wf, containers=containers + wf.containers[1:])
    assert graph.spliced(replace(patched, workloads=tuple(gained))) is None
    assert paths(before) == expected  # not made stale
    parts = graph.memo["spliced_parts"]
    assert [part is None for _wf, part in parts.values()] == [False, True]
    other = [c for c in controls if not c.endswith("@" + target)][:2]
    for chosen in (other, [first]):
        made = graph.spliced(analyzer._fb_with(chosen))
        assert made is not None
        built = AttackGraph(analyzer._fb_with(chosen), analyzer.catalogue)
        assert searched(made) == searched(built), chosen
        assert paths(made) == paths(built), chosen
    # [first]'s part again: the one made first (the analysis patches a workload the
    # same way into the same object)
    assert len(parts) == 2 + len({c.rpartition("@")[2] for c in other})


def test_a_splice_stopped_half_way_leaves_no_changed_lists(
    clusters: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # an interrupt (Ctrl-C in a notebook) while a splice changes the scratch lists, before
    # it records what it changed: the next splices are still the built graphs
    from attackmap.graph import _engine

    analyzer = _analyzer(clusters["one node class"])[0]
    graph = analyzer.graph
    controls = workload_controls(analyzer)
    assert graph.spliced(analyzer._fb_with(controls[1::2])) is not None  # a scratch to reuse

    def interrupted(*args: object) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(_engine, "filterfalse", interrupted)
    with pytest.raises(KeyboardInterrupt):
        graph.spliced(analyzer._fb_with(controls[::2]))
    monkeypatch.undo()
    assert check_covers(analyzer, [controls[i : i + 3] for i in range(0, 30, 3)]) == 10


def test_lost_distances_come_only_through_steps_that_reach_the_member() -> None:
    # A spliced graph's distances are its base's, found again where the patch cut their
    # ways (AttackGraph._distances_after). Here the removed step 1 gave step 2 and the
    # group member 3 their distances; step 2 (workload x's) comes back at 3 over 6 -> 7,
    # but it excludes x's members, so member 3 comes back at 5 over 4 -> 5 -> 8 -> 9, not
    # at 4 through step 2.
    from types import SimpleNamespace

    from attackmap.graph._engine import _Fanout

    group = (("net", "*"), "state:reach")
    edges = [(0, 1), (1, 2), (0, 6), (6, 7), (7, 2), (0, 4), (4, 5), (5, 8), (8, 9), (9, 3)]

    def graph(without: set[int]) -> Any:
        kept = [(a, b) for a, b in edges if a not in without and b not in without]
        refs = {1: [(group, "a")], 2: [(group, "x")]}
        fan = _Fanout(
            {"state:m@x": "x"}, {e: [s] for s, [(_g, e)] in refs.items() if s not in without}
        )
        fan.nodes = {3: "x"}
        return SimpleNamespace(
            _succ_i=[[b for a, b in kept if a == n] for n in range(10)],
            _pred_i=[[a for a, b in kept if b == n] for n in range(10)],
            _refs_i={s: r for s, r in refs.items() if s not in without},
            _fanouts={group: fan},
            _member_i={3: [group]},
        )

    before = [0, 1, 2, 2, 1, 2, 1, 2, 3, 4]
    after = AttackGraph._distances_after(graph({1}), graph(set()), before, {1}, set())
    assert after == [0, -1, 3, 5, 1, 2, 1, 2, 3, 4]


@pytest.mark.parametrize("which", ["one node class", "node pools"])
def test_a_groups_references_are_in_the_order_of_their_first_steps(
    clusters: dict[str, Path], which: str
) -> None:
    # A splice takes a group's first step from its first owner's references and re-sorts
    # them only where an owner lost its first step: the build keeps each group's owners in
    # the order of their first steps (a step is linked when its instance is made).
    graph = _analyzer(clusters[which])[0].graph
    place = graph._ref_order()
    firsts = [[place[steps[0]] for steps in fan.refs.values()] for fan in graph._fanouts.values()]
    assert all(f == sorted(f) for f in firsts)
    assert sum(len(f) > 1 for f in firsts) > 5
