"""The attack graph: step instances over attacker states, built on networkx.

Nodes are attacker states (``state:exec@Deployment/nim/llm[nim]``), step instances
(``step:escape-privileged-mount@Deployment/nim/llm[nim]``) and one sink per step id
(``sink:escape-privileged-mount``). A step instance exists only where its facts hold; it
has one incoming edge (the state it starts from) and edges to the states it grants and to
its sink. Every step starts from exactly one state, so reachability is plain graph
reachability and the shortest path to a step is a shortest path in the graph.

Paths are found per sink with one reverse breadth-first search: from every entry node in
the sink's back-cone, the path follows successors whose distance drops by one, choosing
the smallest node id — shortest first and deterministic.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx

from attackmap.graph._catalogue import Catalogue, Step
from attackmap.graph._facts import ContainerFacts, DeriveOptions, FactBase, WorkloadFacts, derive
from attackmap.graph._relations import RELATIONS

ENTRY_KINDS: tuple[str, ...] = ("external", "cluster", "image")


@dataclass(frozen=True)
class Scope:
    """Where a step instance fires or a state lives."""

    workload: str | None  # workload key (``Kind/ns/name``), None for node/cluster
    container: str | None
    level: str  # container | workload | node | cluster

    @property
    def label(self) -> str:
        if self.level == "container":
            return f"{self.workload}[{self.container}]"
        if self.level == "workload":
            return str(self.workload)
        return self.level


@dataclass(frozen=True)
class ScopeFacts:
    """The facts of one scope: base facts, all facts (with derived ones), provenance."""

    scope: Scope
    base: frozenset[str]
    facts: frozenset[str]
    because: dict[str, tuple[str, ...]]
    container: ContainerFacts | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class StepInstance:
    """One step firing in one scope."""

    step: Step
    scope: ScopeFacts

    @property
    def id(self) -> str:
        return f"{self.step.id}@{self.scope.scope.label}"

    @property
    def node(self) -> str:
        return f"step:{self.id}"


@functools.lru_cache(maxsize=65536)
def derive_cached(
    base: frozenset[str], container: ContainerFacts | None, options: DeriveOptions
) -> tuple[frozenset[str], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """:func:`derive`, memoised: identical pods in a cluster cost one derivation."""
    return derive(base, container, options)


class AttackGraph:
    """The instantiated graph of one fact base. Query it; do not mutate it."""

    def __init__(self, fb: FactBase, catalogue: Catalogue) -> None:
        self.fb = fb
        self.catalogue = catalogue
        self.graph: nx.DiGraph = nx.DiGraph()
        self.instances: dict[str, StepInstance] = {}
        self.scopes: dict[str, ScopeFacts] = {}
        self.workloads: dict[str, WorkloadFacts] = {w.key: w for w in fb.workloads}
        self._build()

    # -- construction --------------------------------------------------------------------

    def _scope_facts(self, scope: Scope, base: frozenset[str], container: ContainerFacts | None) -> ScopeFacts:
        facts, because, warnings = derive_cached(base, container, self.fb.options)
        sf = ScopeFacts(scope=scope, base=base, facts=facts, because=because, container=container, warnings=warnings)
        self.scopes[scope.label] = sf
        return sf

    def _state_node(self, state: str, workload: str | None, container: str | None) -> str | None:
        level = self.catalogue.state(state).scope
        if level == "container":
            return f"state:{state}@{workload}[{container}]" if workload and container else None
        if level == "workload":
            return f"state:{state}@{workload}" if workload else None
        return f"state:{state}@{level}"

    def _build(self) -> None:
        fb = self.fb
        by_level: dict[str, list[tuple[ScopeFacts, WorkloadFacts | None]]] = {
            "container": [],
            "workload": [],
            "node": [],
            "cluster": [],
        }
        for wf in fb.workloads:
            pod_base = wf.pod | fb.context
            by_level["workload"].append(
                (self._scope_facts(Scope(wf.key, None, "workload"), pod_base, None), wf)
            )
            for cf in wf.containers:
                by_level["container"].append(
                    (self._scope_facts(Scope(wf.key, cf.name, "container"), pod_base | cf.facts, cf), wf)
                )
            for kind in ENTRY_KINDS:
                self.graph.add_node(f"state:entry:{kind}@{wf.key}")
        for level in ("node", "cluster"):
            by_level[level].append((self._scope_facts(Scope(None, None, level), fb.context, None), None))
        for step in self.catalogue.steps:
            for sf, wf in by_level[step.scope]:
                if step.fires(sf.facts):
                    self._add_instance(step, sf, wf)

    def _add_instance(self, step: Step, sf: ScopeFacts, wf: WorkloadFacts | None) -> None:
        scope = sf.scope
        source = self._state_node(step.requires.state, scope.workload, scope.container)
        if source is None:
            return
        inst = StepInstance(step=step, scope=sf)
        self.instances[inst.id] = inst
        g = self.graph
        g.add_edge(source, inst.node)
        g.add_edge(inst.node, f"sink:{step.id}")
        if step.target is not None:
            targets = RELATIONS[step.target](self.fb, wf)
        else:
            targets = ((scope.workload, scope.container),)  # type: ignore[assignment]  # node/cluster scopes have no workload
        for state in step.granted_states:
            for workload, container in targets:
                if self.catalogue.state(state).scope == "container" and container is None:
                    continue
                node = self._state_node(state, workload, container)
                if node is not None:
                    g.add_edge(inst.node, node)

    # -- queries ---------------------------------------------------------------------------

    def sinks(self) -> list[str]:
        """Sink nodes of steps with at least one instance, sorted."""
        return sorted(n for n in self.graph if n.startswith("sink:"))

    def distances_to(self, target: str) -> dict[str, int]:
        """Hop distance from every node that reaches ``target`` (reverse BFS)."""
        pred = self.graph._pred  # plain dict-of-dicts: much faster than the public views
        dist = {target: 0}
        queue = deque([target])
        while queue:
            node = queue.popleft()
            d = dist[node] + 1
            for p in pred[node]:
                if p not in dist:
                    dist[p] = d
                    queue.append(p)
        return dist

    def shortest_path(self, start: str, target: str, dist: dict[str, int]) -> list[StepInstance]:
        """The step instances on the deterministic shortest path ``start`` → ``target``."""
        succ = self.graph._succ
        out: list[StepInstance] = []
        node = start
        while node != target:
            want = dist[node] - 1
            node = min(n for n in succ[node] if dist.get(n) == want)
            if node.startswith("step:"):
                out.append(self.instances[node[5:]])
        return out

    def reachable_from(self, start: str) -> set[str]:
        """Every node reachable from ``start`` (for what-if checks)."""
        return set(nx.descendants(self.graph, start)) | {start}

    def entry_node(self, workload: str, entry: str) -> str:
        return f"state:entry:{entry}@{workload}"

    def iter_instances(self) -> Iterator[StepInstance]:
        for key in sorted(self.instances):
            yield self.instances[key]
