"""The attack graph: step instances over attacker states (a networkx view on request).

Nodes are attacker states (``state:exec@Deployment/nim/llm[nim]``), step instances
(``step:escape-privileged-mount@Deployment/nim/llm[nim]``) and one sink per step id
(``sink:escape-privileged-mount``). A step instance exists only where its facts hold; it
has one incoming edge (the state it starts from) and edges to the states it grants and to
its sink. Every step starts from exactly one state, so reachability is plain graph
reachability and the shortest path to a step is a shortest path in the graph.

A path belongs to the workload where its technique happens: the workload of its last node
at a workload's scope (:meth:`AttackGraph.owned_paths`). Paths are found with one forward
breadth-first search per entry kind (from every workload's entry point of the kind) and one
reverse search per sink of the *local* graph (the edges that stay in a workload or leave
workloads behind); each workload's path meets the two at its best node, and each half
follows its distances down by one, choosing the smallest node id — shortest first and
deterministic.
"""

from __future__ import annotations

import weakref
from array import array
from bisect import bisect_left
from collections import Counter, OrderedDict, deque
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field, fields, replace
from heapq import heappop, heappush
from itertools import accumulate, filterfalse
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeAlias, TypeVar, cast, overload

from attackmap._fork import fork_map
from attackmap.graph._catalogue import Catalogue, Step
from attackmap.graph._facts import (
    ALL_NAMESPACES,
    ContainerFacts,
    FactBase,
    WorkloadFacts,
)
from attackmap.graph._placement import ANY_NODE
from attackmap.graph._relations import (
    Group,
    Holder,
    group_targets,
    in_token_group,
    network_index,
    node_classes,
    reach_of,
)

if TYPE_CHECKING:
    import networkx as nx

ENTRY_KINDS: tuple[str, ...] = ("external", "cluster", "image")

_K = TypeVar("_K", bound=Hashable)
_N = TypeVar("_N", bound=Hashable)
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a step instance fires or a state lives."""

    workload: str | None  # workload key (``Kind/ns/name``), None for node/cluster
    container: str | None
    level: str  # port | container | workload | node | cluster
    port: str | None = None  # a served port (``8000``, ``53/UDP``) at the port level
    node: str = ANY_NODE  # the node class of a node scope (see _placement)
    # ``Kind/ns/name[container]``, ``Kind/ns/name:8000``, ``node:gpu``, ``cluster``: spelled
    # once (every step instance's id and state node of the scope starts from it)
    label: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.level == "port":
            label = f"{self.workload}:{self.port}"
        elif self.level == "container":
            label = f"{self.workload}[{self.container}]"
        elif self.level == "workload":
            label = str(self.workload)
        elif self.level == "node" and self.node != ANY_NODE:
            label = f"node:{self.node}"
        else:
            label = self.level
        object.__setattr__(self, "label", label)


@dataclass(frozen=True, slots=True)
class ScopeFacts:
    """The facts of one scope: base facts, all facts (with derived ones), provenance."""

    scope: Scope
    base: frozenset[str]
    facts: frozenset[str]
    because: dict[str, tuple[str, ...]]
    container: ContainerFacts | None
    warnings: tuple[str, ...]


def _spelled(inst: StepInstance) -> str:
    """``inst``'s id, spelled (:attr:`StepInstance.id` keeps it; a sort of every instance
    does not)."""
    return f"{inst.step.id}@{inst.scope.scope.label}"


@dataclass(frozen=True, slots=True)
class StepInstance:
    """One step firing in one scope."""

    step: Step
    scope: ScopeFacts
    # the id once spelled (:attr:`id`)
    _id: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        """``<step>@<scope>``: spelled the first time it is asked, and kept. A graph's build
        and search never ask (~250k ids, 25 MB at 10k workloads, at the search's peak);
        the ranking and the report ask for those of the steps their paths keep."""
        found = self._id
        if found is None:
            found = _spelled(self)
            object.__setattr__(self, "_id", found)
        return found

    @property
    def node(self) -> str:
        """Its graph node's name, ``step:<id>`` (the graph numbers its nodes: the name is
        spelled when asked)."""
        return f"step:{self.id}"


class _Stale(list):  # type: ignore[type-arg]
    """What a spliced graph's node lists become when its base is spliced again: any use
    raises (the lists are the base's scratch, :class:`_Scratch`, now the next graph's)."""

    def _stale(self, *args: object) -> Any:
        raise RuntimeError("a spliced graph was used after its base graph was spliced again")

    __getitem__ = __iter__ = __len__ = __contains__ = _stale


class _StaleMap(dict):  # type: ignore[type-arg]
    """What a spliced graph's tables of groups, scopes and workloads become when its base
    is spliced again (as :class:`_Stale`)."""

    _stale = _Stale._stale
    __getitem__ = __iter__ = __len__ = __contains__ = get = items = keys = values = _stale


class _Scratch:
    """Each node's instance, successors and predecessors, and its distances from each kind
    of entry point, as a graph's latest spliced graph has them (:meth:`AttackGraph.spliced`,
    :meth:`AttackGraph._distances_after`): one copy of the graph's lists, changed in place
    by each splice and set back where it changed them before the next one, so that a
    splice costs what the patch changes, not a copy of every list (~7 ms per check at 10k
    workloads, ten times that at 100k). So are the tables of relation groups (each node's
    references and groups, the groups), of scopes and of workloads (a copy of them cost
    ~1.5 ms per check at 10k, and as much again to free); a key the splice removed comes
    back at the end of its table (no search reads the tables' order: the order of each
    node's references and groups, which the searches meet, is kept). The spliced graph
    made last holds them; the next splice leaves its lists, tables and distances stale
    (:class:`_Stale`, :class:`_StaleMap`), so no graph reads another's changes."""

    def __init__(self, graph: AttackGraph) -> None:
        self.insts = list(graph._inst)
        self.succ = list(graph._succ_i)
        self.pred = list(graph._pred_i)
        # the nodes whose instance, successors and predecessors the last splice changed
        self.changed: tuple[set[int], set[int], set[int]] = (set(), set(), set())
        self.refs_i = dict(graph._refs_i)
        self.member_i = dict(graph._member_i)
        self.fanouts = dict(graph._fanouts)
        self.scopes = dict(graph.scopes)
        self.workloads = dict(graph.workloads)
        # the keys the last splice changed in each of those tables
        self.edited: tuple[set[int], set[int], set[tuple[Group, str]], set[str], set[str]] = (
            set(),
            set(),
            set(),
            set(),
            set(),
        )
        self._holder: weakref.ref[AttackGraph] | None = None  # (no cycle through the base)
        # per forward search of the graph (by its distance list): a copy with the last
        # spliced graph's distances (:meth:`AttackGraph._distances_after`), the graph's
        # list, and the nodes whose distance the copy changed
        self.dists: dict[int, tuple[list[int], list[int], set[int]]] = {}

    def distances(self, before: list[int]) -> tuple[list[int], set[int]]:
        """The copy of the graph's distances ``before`` to change, and the record of the
        nodes changed in it."""
        found = self.dists.get(id(before))
        if found is None:
            found = self.dists[id(before)] = (list(before), before, set())
        return found[0], found[2]

    @property
    def holder(self) -> AttackGraph | None:
        """The spliced graph made last, if it is still in use."""
        return None if self._holder is None else self._holder()

    @holder.setter
    def holder(self, graph: AttackGraph | None) -> None:
        self._holder = None if graph is None else weakref.ref(graph)

    def reset(self, graph: AttackGraph) -> None:
        """``graph``'s lists again (the graph this scratch copies), and the last spliced
        graph stale."""
        pairs: tuple[tuple[list[Any], list[Any]], ...] = (
            (self.insts, graph._inst),
            (self.succ, graph._succ_i),
            (self.pred, graph._pred_i),
        )
        for (table, base), changed in zip(pairs, self.changed, strict=True):
            for node in changed:
                table[node] = base[node]
            changed.clear()
        for dist, before, changed in self.dists.values():
            for node in changed:
                dist[node] = before[node]
            changed.clear()
        tables: tuple[tuple[dict[Any, Any], dict[Any, Any]], ...] = (
            (self.refs_i, graph._refs_i),
            (self.member_i, graph._member_i),
            (self.fanouts, graph._fanouts),
            (self.scopes, graph.scopes),
            (self.workloads, graph.workloads),
        )
        edited: tuple[set[Any], ...] = self.edited
        for (mine, theirs), keys in zip(tables, edited, strict=True):
            for key in keys:
                if key in theirs:
                    mine[key] = theirs[key]
                else:
                    mine.pop(key, None)
            keys.clear()
        holder, self.holder = self.holder, None
        if holder is not None:
            holder._inst = holder._succ_i = holder._pred_i = _Stale()
            stale = _StaleMap()
            holder._refs_i = holder._member_i = holder._fanouts = stale
            holder.scopes = holder.workloads = stale
            holder.facts = GraphFacts(holder.fb, stale, stale, holder.memo)
            holder._stale_distances()


class _Part(NamedTuple):
    """A patched workload's part of a spliced graph (:meth:`AttackGraph._spliced_part`)."""

    kept: tuple[tuple[int, StepInstance], ...]  # (node here, its patched instance)
    removed: frozenset[int]  # its instance nodes here that the patch removes
    scopes: tuple[tuple[str, ScopeFacts], ...]  # its patched scopes, by label


_MANY_PREDS = 32
"""From this many predecessors a node's are looked up by distance after a splice
(:meth:`AttackGraph._preds_at`), not scanned."""

_PARTS_KEPT = 64
"""The patched workloads' parts a graph keeps for its next splices (the last used)."""


class _SinkPlan(NamedTuple):
    """A sink's targets in a graph, ready for searches of some workloads and for the
    graphs spliced from it (:meth:`AttackGraph._sink_plan`)."""

    hub: tuple[tuple[int, ...], dict[int, StepInstance], bool] | None  # a hub's targets
    paired: bool  # False: the search starts from the sink itself (:meth:`_sink_pairs`)
    # the (state, instance) pairs by the state's owner, each with its place in the order met
    by_owner: dict[str | None, list[tuple[int, int, int]]]


@dataclass
class _Fanout:
    """One relation group's states (``state:<id>`` at each member) and the step instances
    that grant all of them except their own workload's (``excluded``).

    Edges ``step -> member`` are implicit: a step instance referring to the group has an
    edge to every member whose owner (workload or identity key) is not its ``excluded``.
    """

    members: dict[str, str]  # state node name -> owner key
    refs: dict[str | None, list[int]] = field(default_factory=dict)  # excluded -> step nodes
    linked: str | None = None  # the one owner whose member nodes are not created yet
    complete: bool = False  # every member node exists
    # once the graph is built: the members that are nodes, by number -> owner key, in the
    # order of ``members``
    nodes: dict[int, str] = field(default_factory=dict)


RawPath = tuple[str, str, tuple[StepInstance, ...]]
"""A path the search found for a workload: entry kind, the workload whose entry point
starts it, its step instances."""


class OwnedPaths(Sequence[RawPath]):
    """One workload's paths (:meth:`AttackGraph.owned_paths`) in the order found: a
    read-only sequence of ``(entry kind, the workload whose entry point starts it, step
    instances)``, equal to another (or to a list) holding the same paths in the same order.

    A workload's paths start at few (entry kind, workload) pairs, so a path is kept as its
    steps' tuple and its pair's number (an int array): 12 bytes besides the steps, where a
    3-tuple of each path took 72. The paths of a search are all alive at its end, the
    analysis' peak (527k paths at 10k workloads, ten times as many at 100k)."""

    __slots__ = ("_number", "_pair_of", "_pairs", "_steps")

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] = []  # each (entry kind, start) once
        self._number: dict[tuple[str, str], int] = {}  # its place in _pairs
        self._pair_of = array("i")  # per path, its pair's place
        self._steps: list[tuple[StepInstance, ...]] = []  # per path, its step instances

    def append(self, entry: str, start: str, steps: tuple[StepInstance, ...]) -> None:
        """Add a path after those found before it."""
        pair = (entry, start)
        number = self._number.get(pair)
        if number is None:
            number = self._number[pair] = len(self._pairs)
            self._pairs.append(pair)
        self._pair_of.append(number)
        self._steps.append(steps)

    def __iter__(self) -> Iterator[RawPath]:
        pairs = self._pairs
        for number, steps in zip(self._pair_of, self._steps, strict=True):
            entry, start = pairs[number]
            yield entry, start, steps

    def __len__(self) -> int:
        return len(self._steps)

    @overload
    def __getitem__(self, at: int) -> RawPath: ...
    @overload
    def __getitem__(self, at: slice) -> list[RawPath]: ...
    def __getitem__(self, at: int | slice) -> RawPath | list[RawPath]:
        if isinstance(at, slice):
            return list(self)[at]
        entry, start = self._pairs[self._pair_of[at]]
        return entry, start, self._steps[at]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OwnedPaths | list):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # (mutable, compared by value)

    def __copy__(self) -> OwnedPaths:
        copied = OwnedPaths()
        copied._pairs = list(self._pairs)
        copied._number = dict(self._number)
        copied._pair_of = array("i", self._pair_of)
        copied._steps = list(self._steps)
        return copied

    def __repr__(self) -> str:
        return f"OwnedPaths({list(self)!r})"


class _Sparse(dict[int, int]):
    """Per node number a value, -1 for a node never given one: the tables of a search
    that meets few of the graph's nodes (an array of one slot per node costs a graph's
    worth of memory to make)."""

    def __missing__(self, key: int) -> int:
        return -1


# Per node number an int (-1: none): an array of one slot per node (4 bytes a slot, half
# a list's), or a _Sparse one.
_Table: TypeAlias = "array[int] | _Sparse"  # (array is subscripted from Python 3.12)

_NONE = (-1,)


def _dense_table(nodes: int) -> array[int]:
    """A :data:`_Table` of ``nodes`` slots, each -1."""
    return array("i", _NONE) * nodes


_DENSE = 8
"""A search of some workloads keeps its tables in arrays (one slot per node of the graph)
where what they reach is more than 1/_DENSE of the graph's nodes (a run of a cluster's
workloads), else in :class:`_Sparse` ones (a check's one workload)."""


class _Expansions(Generic[_K]):
    """The relation groups one forward search has expanded (see :class:`_Fanout`). A
    group is expanded at most twice: for the first step referring to it, every member but
    those of the owner it excludes; then, for the first step excluding another owner (or
    none), the members left."""

    def __init__(self) -> None:
        self._left: dict[_K, str | None] = {}  # group -> the owner left out
        self._full: set[_K] = set()

    def expand(self, key: _K, excluded: str | None, members: Mapping[_N, str]) -> list[_N]:
        """The member nodes of group ``key`` (``members``: node -> owner) that a step
        excluding ``excluded``'s reaches and no step before it did."""
        if key in self._full:
            return []
        if key in self._left:  # only the members left out last time remain
            left = self._left[key]
            if left == excluded:
                return []
            self._full.add(key)
            return [n for n, o in members.items() if o == left]
        self._left[key] = excluded
        if excluded is None:
            self._full.add(key)
        return [n for n, o in members.items() if o != excluded]


@dataclass(frozen=True)
class Needs:
    """A step's fact requirements, split once (``Requires.all_facts``/``any_facts`` are
    recomputed on every access; the engine and the analysis ask ~100 times per workload)."""

    all: tuple[str, ...]
    any: tuple[str, ...]

    def fires(self, facts: frozenset[str]) -> bool:
        """As :meth:`Step.fires`."""
        for f in self.all:
            if f not in facts:
                return False
        return not self.any or any(f in facts for f in self.any)

    def enabling(self, facts: frozenset[str]) -> tuple[str, ...]:
        """As :meth:`Step.enabling_facts`."""
        return self.all + tuple(f for f in self.any if f in facts)


def step_needs(catalogue: Catalogue) -> dict[str, Needs]:
    """Each step's :class:`Needs`, by step id."""
    return {s.id: Needs(s.requires.all_facts, s.requires.any_facts) for s in catalogue.steps}


@dataclass(frozen=True)
class _StepShape:
    """What each instance of a step asks of it, worked out once per step (the catalogue
    models' properties compute on every access: 25 instances per workload ask them)."""

    source: str  # the state it starts from
    sink: str  # its sink node
    grants: tuple[str, ...]  # the states it grants
    on_node: frozenset[str]  # those held on a node (Catalogue.node_grants)


@dataclass(frozen=True)
class GraphFacts:
    """What a report needs of a graph once its paths are found: the fact base, each
    workload's and each scope's facts, and the per-graph memos of the analysis (the
    graph's own objects, shared). Smaller than the graph: a report of a large cluster
    keeps it and lets the nodes and edges go."""

    fb: FactBase
    workloads: dict[str, WorkloadFacts]
    scopes: dict[str, ScopeFacts]
    memo: dict[str, dict[Any, Any]]


class AttackGraph:
    """The instantiated graph of one fact base. Query it; do not mutate it.

    Nodes are numbered: a node's number is its name's place among the names sorted (so a
    smaller number is a smaller name, the order every tie is broken by), adjacency and the
    searches' tables are lists and arrays indexed by number. The names are the API's
    (:meth:`nodes`, :meth:`successors`, ...); ``_succ``, ``_pred``, ``_refs`` and
    ``_member_of`` are views by name made on first use (for the API and the tests: the
    searches read the numbers)."""

    def __init__(
        self, fb: FactBase, catalogue: Catalogue, *, within: AttackGraph | None = None
    ) -> None:
        """``within``: the graph of the whole cluster, when ``fb`` holds part of it (one
        patched workload): relation groups keep their members there."""
        self.fb = fb
        self.catalogue = catalogue
        self._within = within
        # a spliced graph's: the graph it was made from, its removed nodes and the members
        # that left a group (see spliced: its forward searches start from the base's)
        self._spliced_from: tuple[AttackGraph, frozenset[int], frozenset[int]] | None = None
        # While building: each name's number (creation order), the names, the edges; then
        # renumbered in name order, the adjacency as tuples (:meth:`_number`).
        self._ids: dict[str, int] = {}
        self._made: list[str | None] = []  # (None: a step's, see _add_step)
        self._nums: list[int] = []  # 0, 1, ...: each number's one int object
        self._name: list[str | None] = []  # once numbered (None: a step's, see _nm)
        # the edges in the order added: old numbers, from and to, in pairs (a node's lists
        # of successors and predecessors, one per node, took ~100 MB at 10k workloads and,
        # freed once renumbered, left their small blocks resident)
        self._edges = array("i")
        self._inst: list[StepInstance | None] = []  # per node: its step instance, if a step
        # the names looked up by the searches' callers: entry points and sinks
        self._known: dict[str, int] = {}
        self._index: dict[str, int] | None = None  # every name's number, made on demand
        self._bases: dict[frozenset[str], frozenset[str]] = {}  # one object per base set
        # Relation targets shared by many step instances (see _Fanout): the groups, the
        # groups each step refers to (with its excluded owner) and each member's groups
        # (with its owner there).
        self._fanouts: dict[tuple[Group, str], _Fanout] = {}
        self._refs_i: dict[int, list[tuple[tuple[Group, str], str | None]]] = {}
        self._member_i: dict[int, list[tuple[Group, str]]] = {}
        self.memo: dict[str, dict[Any, Any]] = {}  # per-graph caches of the analysis
        self.scopes: dict[str, ScopeFacts] = {}
        self.workloads: dict[str, WorkloadFacts] = {w.key: w for w in fb.workloads}
        self.needs: dict[str, Needs] = (
            within.needs
            if within is not None and within.catalogue is catalogue
            else step_needs(catalogue)
        )
        self._levels = {s.id: s.scope for s in catalogue.states}  # state -> its scope level
        self.facts = GraphFacts(fb, self.workloads, self.scopes, self.memo)
        self._build()
        self._number()
        self._bases = {}

    def _number(self) -> None:
        """Renumber the nodes in name order (one sort, then list lookups through the
        permutation), adjacency as tuples without duplicate edges (the edges grouped by
        node, :func:`_grouped`; the first of each, in order), and each node's owner
        (:meth:`owners`).

        A step's node is never named here (:meth:`_nm`: ~250k names, 26 MB at 10k
        workloads): every other name starts ``sink:`` or ``state:``, before ``step:``, so
        the steps come after them, in the order of their instances' ids (spelled for the
        sort, not kept: :attr:`StepInstance.id`; the build gives each id one node). The
        numbers are the int objects the build made (:attr:`_nums`): none is made or freed
        here."""
        made, insts, nums = self._made, self._inst, self._nums
        spelled = cast(list[str], made)  # read for the named nodes only
        of_step = cast(list[StepInstance], insts)  # read for the steps only
        named = [i for i in nums if made[i] is not None]
        steps = [i for i in nums if made[i] is None]
        named.sort(key=spelled.__getitem__)
        steps.sort(key=lambda i: _spelled(of_step[i]))
        # the names from "step:" on (none: every name starts "sink:" or "state:") sort after
        # the steps', a name that starts "step:" itself would be a step's: refused
        cut = bisect_left(named, "step:", key=spelled.__getitem__)
        later = named[cut:]
        if later:
            if any(spelled[i].startswith("step:") for i in later):
                raise AssertionError("a node named as a step's that is not a step instance")
            del named[cut:]
        order = named + steps + later  # old number, by new number
        del named, steps, later
        perm = [0] * len(order)  # new number, by old number
        for new in nums:
            perm[order[new]] = new
        ids = self._ids
        member_i = self._member_i
        # Part of a graph (``within``) numbers no members: a splice compares its instances,
        # edges and references, and techniques_with reads the whole graph's groups (its
        # members are the whole graph's: numbering them looked each one up, ~3 ms a check).
        part = self._within is not None
        for key, fan in self._fanouts.items():
            fan.refs = {excl: [perm[s] for s in steps] for excl, steps in fan.refs.items()}
            if part:
                continue
            for member, owner in fan.members.items():
                old = ids.get(member)
                if old is not None:
                    node = perm[old]
                    fan.nodes[node] = owner
                    member_i.setdefault(node, []).append(key)
        self._ids = {}
        self._known = {name: perm[old] for name, old in self._known.items()}
        self._sinks_i = sorted(i for name, i in self._known.items() if name.startswith("sink:"))
        self._refs_i = {perm[node]: refs for node, refs in self._refs_i.items()}
        self._inst = [insts[old] for old in order]
        self._name = [made[old] for old in order]
        self._made = []
        self._nums = []
        del made, insts, nums
        ones: list[tuple[int] | None] = [None] * len(order)  # (n,): one tuple per node
        edges, self._edges = self._edges, array("i")
        froms, tos = edges[0::2], edges[1::2]
        del edges
        self._succ_i = _renumbered(_grouped(froms, tos, len(order)), order, perm, ones)
        self._pred_i = _renumbered(_grouped(tos, froms, len(order)), order, perm, ones)

    def _scope_facts(
        self, scope: Scope, base: frozenset[str], container: ContainerFacts | None
    ) -> ScopeFacts:
        # Scopes with equal base facts share one set (a cluster's scopes hold a few
        # thousand distinct sets; each scope built its own, an eighth of the graph's memory)
        base = self._bases.setdefault(base, base)
        facts, because, warnings = self.fb.derive(base, container)
        sf = ScopeFacts(
            scope=scope,
            base=base,
            facts=facts,
            because=because,
            container=container,
            warnings=warnings,
        )
        self.scopes[scope.label] = sf
        return sf

    def _state_node(
        self,
        state: str,
        workload: str | None,
        container: str | None,
        port: str | None = None,
        node: str = ANY_NODE,
    ) -> str | None:
        level = self._levels[state]
        if level == "port":
            return f"state:{state}@{workload}:{port}" if workload and port else None
        if level == "container":
            return f"state:{state}@{workload}[{container}]" if workload and container else None
        if level == "workload":
            return f"state:{state}@{workload}" if workload else None
        if level == "node" and node != ANY_NODE:
            return f"state:{state}@node:{node}"
        return f"state:{state}@{level}"

    def _build(self) -> None:
        fb = self.fb
        port_steps = any(step.scope == "port" for step in self.catalogue.steps)
        reached = network_index(fb).targets if port_steps else frozenset()
        # each scope with its owner and its state nodes (see _scope_state)
        by_level: dict[str, list[tuple[ScopeFacts, Holder | None, dict[str, int | None]]]] = {
            "port": [],
            "container": [],
            "workload": [],
            "node": [],
            "cluster": [],
        }
        for wf in fb.workloads:
            pod_base = wf.pod | fb.context
            by_level["workload"].append(
                (self._scope_facts(Scope(wf.key, None, "workload"), pod_base, None), wf, {})
            )
            for cf in wf.containers:
                by_level["container"].append(
                    (
                        self._scope_facts(
                            Scope(wf.key, cf.name, "container"), pod_base | cf.facts, cf
                        ),
                        wf,
                        {},
                    )
                )
            if port_steps:
                # One scope per served port some other workload can open, with the facts of
                # the container answering on it.
                by_name = {cf.name: cf for cf in wf.containers}
                for port in wf.shape.ports:
                    if (wf.key, port.text) not in reached:
                        continue
                    cf = by_name[port.container]
                    scope = Scope(wf.key, cf.name, "port", port.text)
                    by_level["port"].append(
                        (self._scope_facts(scope, pod_base | cf.facts, cf), wf, {})
                    )
            for kind in ENTRY_KINDS:
                name = f"state:entry:{kind}@{wf.key}"
                self._known[name] = self._add_node(name)
        # ServiceAccounts no workload runs as, and the rights of a namespace's admin: a
        # workload-level scope (tokens, API access) without containers or entry points;
        # relations grant their states.
        for idf in (*fb.identities, *fb.namespace_admins):
            by_level["workload"].append(
                (
                    self._scope_facts(Scope(idf.key, None, "workload"), idf.pod | fb.context, None),
                    idf,
                    {},
                )
            )
        # one node scope per node class (a single ``node`` when nothing separates workloads)
        for nc in fb.placement.classes:
            scope = Scope(None, None, "node", node=nc.name)
            by_level["node"].append((self._scope_facts(scope, fb.context, None), nc, {}))
        by_level["cluster"].append(
            (self._scope_facts(Scope(None, None, "cluster"), fb.context, None), None, {})
        )
        # Scopes of one label (two containers of one name in a pod: the API server refuses
        # them, the analysis takes them as written): a step's instances there have one id
        # and take one node, the later instance in it (as a node named by the id would).
        labels = Counter(sf.scope.label for level in by_level.values() for sf, _o, _n in level)
        twice = {label for label, n in labels.items() if n > 1}
        del labels
        shared: dict[tuple[str, str], int] = {}  # (step, label) -> its node, for those
        for step in self.catalogue.steps:
            fires = self.needs[step.id].fires
            shape = _StepShape(
                step.requires.state,
                f"sink:{step.id}",
                step.granted_states,
                self.catalogue.node_grants(step),
            )
            # Scopes of equal facts hold one set (FactBase.derive's memo): whether the step
            # fires is asked once per set (~9,300 at 10k workloads, for 30,634 scopes).
            fired: dict[frozenset[str], bool] = {}
            for sf, owner, nodes in by_level[step.scope]:
                ok = fired.get(sf.facts)
                if ok is None:
                    ok = fired[sf.facts] = fires(sf.facts)
                if ok:
                    self._add_instance(
                        step, shape, sf, owner, nodes, shared if sf.scope.label in twice else None
                    )

    def _add_instance(
        self,
        step: Step,
        shape: _StepShape,
        sf: ScopeFacts,
        wf: Holder | None,
        nodes: dict[str, int | None],
        shared: dict[tuple[str, str], int] | None = None,
    ) -> None:
        """The instance of ``step`` in scope ``sf`` and its edges; ``nodes``: the scope's
        state nodes made so far (see :meth:`_scope_state`); ``shared``: the nodes of the
        instances of steps in scopes of ``sf``'s label (given where another scope has it)."""
        scope = sf.scope
        source = self._scope_state(shape.source, scope, nodes)
        if source is None:
            return
        inst = StepInstance(step=step, scope=sf)
        if shared is None:
            step_node = self._new_node(None, inst)
        else:
            key = (step.id, scope.label)
            found = shared.get(key)
            if found is None:
                step_node = shared[key] = self._new_node(None, inst)
            else:
                step_node = found
                self._inst[found] = inst
        sink = self._known.get(shape.sink)
        if sink is None:
            sink = self._known[shape.sink] = self._add_node(shape.sink)
        edges = self._edges
        edges.extend((source, step_node, step_node, sink))
        if step.target is not None:
            reach = reach_of(step.target, self.fb, wf, scope.container)
            for state in shape.grants:
                for group in reach.groups:
                    self._link(step_node, (group, state), reach.excluded)
            return
        on_node = shape.on_node
        # a pod no node takes (graph/_placement.py) would stay Pending: on no node
        nowhere = (
            bool(on_node) and scope.level in ("container", "port") and not node_classes(self.fb, wf)
        )
        several = len(self.fb.placement.classes) > 1
        for state in shape.grants:
            if state in on_node:
                if nowhere:
                    continue
                if several:
                    self._link_nodes(step_node, state, scope, wf)
                    continue
            node = self._scope_state(state, scope, nodes)
            if node is not None:
                edges.extend((step_node, node))

    def _scope_state(self, state: str, scope: Scope, nodes: dict[str, int | None]) -> int | None:
        """The node of ``state`` as held in ``scope`` (:meth:`_state_node`), created the
        first time; ``nodes`` keeps the scope's, so each is spelled and looked up once, not
        once per step instance that starts from it or grants it (~3 times each)."""
        if state in nodes:
            return nodes[state]
        node = self._state_node(state, scope.workload, scope.container, scope.port, scope.node)
        found = nodes[state] = None if node is None else self._add_node(node)
        return found

    def _link_nodes(self, step_node: int, state: str, scope: Scope, wf: Holder | None) -> None:
        """Edges from ``step_node`` to ``state`` on the node classes it reaches: a node
        step's own class; from a container, the classes its workload may run on; from a
        workload or the cluster (a pod the attacker deploys, placed as it likes), all."""
        if scope.level == "node":
            self._add_edge(step_node, f"state:{state}@node:{scope.node}")
            return
        placement = self.fb.placement
        # code in a workload's container (or answering on its port) runs where it runs
        in_workload = scope.level in ("container", "port")
        classes = node_classes(self.fb, wf) if in_workload else placement.names
        where = ALL_NAMESPACES if len(classes) == len(placement.classes) else "\n".join(classes)
        self._link(step_node, (("nodes", where), state), None)

    def _members(self, key: tuple[Group, str], fb: FactBase | None = None) -> dict[str, str]:
        """The state nodes of group ``key`` (``state`` at each target), with their owners,
        in this graph's fact base (or ``fb``)."""
        fb = self.fb if fb is None else fb
        group, state = key
        if group[0] == "nodes":  # node classes ("\n"-joined names, or "*"): owned by none
            names = fb.placement.names if group[1] == ALL_NAMESPACES else group[1].split("\n")
            return {f"state:{state}@node:{n}": f"node:{n}" for n in names}
        container_level = self._levels[state] == "container"
        members: dict[str, str] = {}
        for target in group_targets(fb, group):
            workload, container = target[0], target[1]
            if container_level and container is None:
                continue
            port = target[2] if len(target) == 3 else None  # a hub's served ports
            node = self._state_node(state, workload, container, port)
            if node is not None:
                members[node] = workload
        return members

    def _fanout(self, key: tuple[Group, str]) -> _Fanout:
        found = self._fanouts.get(key)
        if found is None and self._within is not None:
            # In part of a graph the members only say whether a step links the group
            # (_link makes no member node there): the whole graph's, where it has some.
            whole = self._within._fanouts.get(key)
            if whole is not None and whole.members:
                found = self._fanouts[key] = _Fanout(whole.members)
        if found is None:
            # the members that are nodes already: their one string object
            ids, name = self._ids, self._made
            members = {
                (n if (i := ids.get(n)) is None else name[i] or n): o
                for n, o in self._members(key).items()
            }
            within = self._within
            if within is not None:  # the members outside this part
                fan = within._fanouts.get(key)
                members = {**(fan.members if fan is not None else within._members(key)), **members}
            found = self._fanouts[key] = _Fanout(members)
        return found

    def _link(self, step_node: int, key: tuple[Group, str], excluded: str | None) -> None:
        """Edges from ``step_node`` to every member of the group except ``excluded``'s."""
        fan = self._fanout(key)
        if not fan.members:
            return
        fan.refs.setdefault(excluded, []).append(step_node)
        self._refs_i.setdefault(step_node, []).append((key, excluded))
        # A member node exists once some step has an edge to it (as with explicit edges);
        # in part of a graph (``within``) the whole graph's members are the ones searched.
        if (
            fan.complete
            or (excluded is not None and fan.linked == excluded)
            or self._within is not None
        ):
            return
        if excluded is not None and fan.linked is None:
            for node, owner in fan.members.items():
                if owner != excluded:
                    self._add_node(node)
            fan.linked = excluded
            return
        for node, owner in fan.members.items():
            if fan.linked is None or owner == fan.linked:
                self._add_node(node)
        fan.complete = True

    def _new_node(self, name: str | None, inst: StepInstance | None) -> int:
        """A new node, named or a step instance's (``name`` None: spelled when asked); its
        number (while building: in creation order)."""
        found = len(self._made)
        self._nums.append(found)
        self._made.append(name)
        self._inst.append(inst)
        return found

    def _add_node(self, node: str) -> int:
        """Create ``node`` if new; its number."""
        found = self._ids.get(node)
        if found is None:
            found = self._ids[node] = self._new_node(node, None)
        return found

    def _add_edge(self, a: int, b: str) -> None:
        to = self._add_node(b)
        self._edges.extend((a, to))

    # -- names and numbers -----------------------------------------------------------------

    def _find(self, name: str) -> int | None:
        """The number of node ``name`` (``None``: no such node)."""
        found = self._known.get(name)
        if found is None:
            index = self._index
            if index is None:
                index = self._index = {n: i for i, n in enumerate(self._names())}
            found = index.get(name)
        return found

    def _nm(self, node: int) -> str:
        """The name of node ``node``."""
        found = self._name[node]
        if found is None:  # a step's
            inst = self._inst[node]
            assert inst is not None
            return inst.node
        return found

    @property
    def instances(self) -> dict[str, StepInstance]:
        """Each step instance by its id, made on first use: a report writer's search never
        asks (the table and the ids it spells, ~30 MB at 10k workloads, at the search's
        peak), and a spliced graph (:meth:`spliced`) makes it from its base's: the checks
        that search it never ask (a copy per check cost ~9 ms at 10k workloads, a fifth of
        a splice)."""
        found: dict[str, StepInstance] | None = self.__dict__.get("_instances")
        if found is None and "_instances_of" not in self.__dict__:
            found = {i.id: i for i in self._inst if i is not None}  # by number: id order
            self.__dict__["_instances"] = found
        if found is None:
            base, kept, removed = self.__dict__.pop("_instances_of")
            found = {**base.instances, **kept}  # the kept ones in their places
            for ident in removed:
                del found[ident]
            self.__dict__["_instances"] = found
        return found

    @property
    def _own(self) -> list[str | None]:
        """Each node's owner workload (its key's one string object), or ``None``: made on
        first use (a patched workload's small graph, :meth:`techniques_with`, never asks)."""
        found: list[str | None] | None = self.__dict__.get("_owners")
        if found is None:
            holders = {w: w for w in self.workloads}  # one string object per workload key
            found = self.__dict__["_owners"] = [
                holders.get(_owner(name if name is not None else _step_node(inst)))
                for name, inst in zip(self._name, self._inst, strict=True)
            ]
        return found

    def _names(self) -> list[str]:
        """Every node's name, by number (made on first use, until :meth:`drop_caches`: the
        views by name share its strings)."""
        return self._cached(  # type: ignore[no-any-return]
            "names", lambda: [self._nm(i) for i in range(len(self._name))]
        )

    def _id(self, node: str | int) -> int:
        """The number of ``node`` (a name or already a number)."""
        if isinstance(node, int):
            return node
        found = self._find(node)
        if found is None:
            raise KeyError(node)
        return found

    def _cached(self, key: str, make: Callable[[], Any]) -> Any:
        views = self.__dict__.setdefault("_views", {})
        found = views.get(key)
        if found is None:
            found = views[key] = make()
        return found

    @property
    def _succ(self) -> dict[str, tuple[str, ...]]:
        """The explicit successors of every node, by name (a view, made on first use)."""
        name = self._names()
        return self._cached(  # type: ignore[no-any-return]
            "succ", lambda: {name[i]: tuple(name[j] for j in s) for i, s in enumerate(self._succ_i)}
        )

    @property
    def _pred(self) -> dict[str, tuple[str, ...]]:
        """The explicit predecessors of every node, by name (a view, made on first use)."""
        name = self._names()
        return self._cached(  # type: ignore[no-any-return]
            "pred", lambda: {name[i]: tuple(name[j] for j in p) for i, p in enumerate(self._pred_i)}
        )

    @property
    def _refs(self) -> dict[str, list[tuple[tuple[Group, str], str | None]]]:
        """The groups each step node refers to, by name (a view, made on first use)."""
        name = self._names()
        return self._cached(  # type: ignore[no-any-return]
            "refs", lambda: {name[i]: refs for i, refs in sorted(self._refs_i.items())}
        )

    @property
    def _member_of(self) -> dict[str, list[tuple[Group, str]]]:
        """The groups of each member, by name (nodes or not yet; a view)."""

        def make() -> dict[str, list[tuple[Group, str]]]:
            found: dict[str, list[tuple[Group, str]]] = {}
            for key, fan in self._fanouts.items():
                for node in fan.members:
                    found.setdefault(node, []).append(key)
            return found

        return self._cached("member_of", make)  # type: ignore[no-any-return]

    # -- queries ---------------------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """The graph as a networkx ``DiGraph`` (built on first use, then cached); node
        attribute ``kind`` is ``entry``, ``state``, ``step`` or ``sink``."""
        cached = self.__dict__.get("_nx")
        if cached is None:
            import networkx as nx

            cached = nx.DiGraph()
            for node in self._names():
                kind = node.split(":", 1)[0]
                if node.startswith("state:entry:"):
                    kind = "entry"
                cached.add_node(node, kind=kind)
            for a, b in self.edges():
                cached.add_edge(a, b)
            self.__dict__["_nx"] = cached
        return cached

    def nodes(self) -> list[str]:
        """Every node id, sorted."""
        return list(self._names())

    def edges(self) -> list[tuple[str, str]]:
        """Every edge ``(from, to)``, sorted."""
        name = self._names()
        return [(name[a], name[b]) for a in range(len(name)) for b in sorted(self._successors_i(a))]

    def sinks(self) -> list[str]:
        """Sink nodes of steps with at least one instance, sorted."""
        return [self._nm(i) for i in self._sinks_i]

    def successors(self, node: str) -> list[str]:
        return sorted(self._successors(node))

    def predecessors(self, node: str) -> list[str]:
        i = self._find(node)
        if i is None:
            return []
        found = set(self._pred_i[i])
        for key in self._member_i.get(i, ()):
            fan = self._fanouts[key]
            owner = fan.nodes[i]
            for excluded, steps in fan.refs.items():
                if excluded != owner:
                    found.update(steps)
        name = self._names()
        return [name[p] for p in sorted(found)]

    def _successors(self, node: str) -> set[str]:
        """Explicit successors and the members of the groups ``node`` refers to."""
        i = self._find(node)
        if i is None:
            return set()
        name = self._names()
        return {name[n] for n in self._successors_i(i)}

    def _successors_i(self, node: int) -> set[int]:
        found = set(self._succ_i[node])
        for key, excluded in self._refs_i.get(node, ()):
            found.update(n for n, owner in self._fanouts[key].nodes.items() if owner != excluded)
        return found

    def _view(self, dist: _Table | list[int], order: list[int]) -> dict[str, int]:
        """Distances by number (in the order met) as a dict by name."""
        name = self._names()
        return {name[i]: dist[i] for i in order}

    def distances_to(self, *targets: str) -> dict[str, int]:
        """Hop distance from every node that reaches one of ``targets`` to the nearest
        (reverse BFS).

        A group member (see :class:`_Fanout`) passes its distance to the steps referring
        to the group the first time one is reached; the steps that exclude that member's
        owner wait for a member of another owner. Each group is walked at most twice.
        """
        return self._named_search(targets, local=False)

    # -- paths owned by a workload ---------------------------------------------------------

    def owners(self) -> dict[str, str]:
        """Each node that belongs to a workload, with the workload's key: its entry points
        and the states and step instances at its container, port and workload scopes.
        Nodes at node, cluster, ServiceAccount and namespace-admin scope belong to none."""
        found: dict[str, str] | None = self.memo.get("owners")
        if found is None:
            name = self._names()
            found = {name[i]: w for i, w in enumerate(self._own) if w is not None}
            self.memo["owners"] = found
        return found

    def distances_from(self, starts: Iterable[str]) -> dict[str, int]:
        """Hop distance from the nearest of ``starts`` to every node they reach (forward
        BFS), each relation group expanded at most twice (:class:`_Expansions`)."""
        starts = list(starts)
        dist, order = self._forward(self._numbers(starts))
        return {**dict.fromkeys(starts, 0), **self._view(dist, order)}

    def _numbers(self, names: Iterable[str]) -> list[int]:
        """The numbers of the nodes among ``names`` (a name that is no node has none)."""
        return [i for i in map(self._find, names) if i is not None]

    def _named_search(self, targets: tuple[str, ...], local: bool) -> dict[str, int]:
        """:meth:`_reverse_search` from ``targets`` by name; a target that is no node is
        at distance 0 and reaches nothing, as an isolated node."""
        dist, _hops, order = self._reverse_search(tuple(self._numbers(targets)), local)
        return {**dict.fromkeys(targets, 0), **self._view(dist, order)}

    def _forward(self, starts: list[int]) -> tuple[list[int], list[int]]:
        """:meth:`distances_from` by number: the distances (-1: not reached) and the nodes
        reached, in the order met."""
        succ = self._succ_i
        refs = self._refs_i
        fanouts = self._fanouts
        expansions = _Expansions[tuple[Group, str]]()
        dist = [-1] * len(succ)
        order: list[int] = []
        for s in starts:
            if dist[s] < 0:
                dist[s] = 0
                order.append(s)
        for node in order:  # (the list grows as the search goes: it is the queue)
            d = dist[node] + 1
            for n in succ[node]:
                if dist[n] < 0:
                    dist[n] = d
                    order.append(n)
            found = refs.get(node)
            if found is not None:
                for key, excluded in found:
                    for n in expansions.expand(key, excluded, fanouts[key].nodes):
                        if dist[n] < 0:
                            dist[n] = d
                            order.append(n)
        return dist, order

    def local_distances_to(self, *targets: str) -> dict[str, int]:
        """As :meth:`distances_to` over the *local* graph: the edges that stay in one
        workload or leave workloads behind (an edge into a workload's node counts only
        from a node of the same workload). A workload's node has a distance when a way
        from it to a target stays in its workload and then at node, cluster or identity
        scope: a path ending so belongs to that workload."""
        return self._named_search(targets, local=True)

    def _reverse_search(
        self, targets: tuple[int, ...], local: bool, within: Collection[str] | None = None
    ) -> tuple[_Table, _Table, list[int]]:
        """The reverse breadth-first search of :meth:`distances_to` (``local``: of
        :meth:`local_distances_to`): the distances (-1: not reached), each node's smallest
        explicit successor one hop nearer (in the local graph, if ``local``) where it has
        one (else -1), and the nodes reached in the order met.

        That successor is found on the way: every node at distance d - 1 is taken from the
        queue before any at d and looks at all its predecessors, so each node at d meets
        all its successors at d - 1 (those of an explicit edge; a group's members are
        :meth:`_PathTable.group_min`'s).

        ``within`` (local only): the search keeps to the nodes those workloads' nodes reach
        in the local graph (:meth:`_local_reach`), and so to their nodes and of none. A
        node's successors in the local graph are reached from wherever it is, so every
        node that leads to a kept one is kept: leaving the others out changes neither the
        distances, nor the successors, nor the order of the kept nodes (a group's steps
        get their distance from a member they lead to, and a member left out is one no
        kept step leads to). So a search for some workloads' paths costs what they reach,
        not the cluster's nodes of no workload (identities, nodes, the cluster), whose
        number grows with it."""
        pred = self._pred_i
        member_of = self._member_i
        fanouts = self._fanouts
        owners = self._own
        assert within is None or local, "a search of some workloads is a local one"
        inside = self._local_reach(within) if within is not None else None
        if local:
            cut = self._local_preds_i() if within is None else self._local_preds_of(within)
        else:
            cut = {}
        by_group: dict[tuple[Group, str], dict[str, list[tuple[str | None, int]]]]
        by_group = self.memo.setdefault("refs_by_owner", {}) if local else {}
        waiting: dict[tuple[Group, str], str] = {}  # group -> owner whose excluders wait
        done: set[tuple[Group, str]] = set()
        # (a few workloads' tables meet few nodes: sparse)
        dense = within is None or len(inside or ()) * _DENSE > len(pred)
        dist: _Table = _dense_table(len(pred)) if dense else _Sparse()
        hops: _Table = _dense_table(len(pred)) if dense else _Sparse()
        order: list[int] = []
        for t in targets:
            if inside is not None and t not in inside:
                continue
            dist[t] = 0
            order.append(t)
        for node in order:  # (the list grows as the search goes: it is the queue)
            d = dist[node] + 1
            preds = cut.get(node)
            if preds is None:
                preds = pred[node]
            for p in preds:
                at = dist[p]
                if at < 0:
                    if inside is not None and p not in inside:
                        continue
                    dist[p] = d
                    hops[p] = node
                    order.append(p)
                elif at == d:
                    hop = hops[p]  # none yet if a group member gave p its distance
                    if hop < 0 or node < hop:
                        hops[p] = node
            keys = member_of.get(node)
            if keys is None:
                continue
            own = owners[node] if local else None
            for key in keys:
                fan = fanouts[key]
                owner = fan.nodes[node]
                if own is not None:  # only steps of the same workload lead here locally
                    by_owner = by_group.get(key)
                    if by_owner is None:
                        by_owner = by_group[key] = self._refs_by_owner(key)
                    for excluded, p in by_owner.get(own, ()):
                        if excluded != owner and dist[p] < 0:
                            dist[p] = d
                            order.append(p)
                    continue
                if key in done:
                    continue
                first = waiting.get(key)
                if first is None:
                    ready = [steps for excl, steps in fan.refs.items() if excl != owner]
                    if owner in fan.refs:
                        waiting[key] = owner
                    else:
                        done.add(key)
                elif first != owner:
                    ready = [fan.refs[first]]
                    done.add(key)
                else:
                    continue
                for steps in ready:
                    for p in steps:
                        if dist[p] < 0:
                            if inside is not None and p not in inside:
                                continue
                            dist[p] = d
                            order.append(p)
        return dist, hops, order

    def _local_preds(self) -> dict[str, tuple[str, ...]]:
        """:meth:`_local_preds_i` by name."""
        name = self._names()
        return {
            name[n]: tuple(name[p] for p in preds) for n, preds in self._local_preds_i().items()
        }

    def _local_preds_i(self) -> dict[int, tuple[int, ...]]:
        """The predecessors in the local graph (:meth:`local_distances_to`: those of its
        own workload) of each workload's node that has a predecessor of another owner (an
        explicit edge from another workload, a node, the cluster or an identity). Every
        other node's local predecessors are all its predecessors."""
        found: dict[int, tuple[int, ...]] | None = self.memo.get("local_preds")
        if found is None:
            found = self.memo["local_preds"] = self._local_preds_among(enumerate(self._own))
        return found

    def _local_preds_of(self, keys: Collection[str]) -> dict[int, tuple[int, ...]]:
        """:meth:`_local_preds_i` of the nodes of workloads ``keys`` only (those of the
        last ``keys`` asked are kept: a search of some workloads asks once per table); or
        every node's where they are made (a superset: the same for their nodes, and a
        search of them looks up no other workload's node)."""
        every: dict[int, tuple[int, ...]] | None = self.memo.get("local_preds")
        if every is not None:
            return every
        return self._last_asked(
            "local_preds_of",
            keys,
            lambda: self._local_preds_among(
                (node, owner) for owner in keys for node in self._nodes_of(owner)
            ),
        )

    def _last_asked(self, name: str, keys: Collection[str], make: Callable[[], _V]) -> _V:
        """``make()`` for workloads ``keys``, kept in the memo ``name`` until other
        workloads are asked for (a search of some workloads asks once per table)."""
        last: dict[frozenset[str], _V] = self.memo.setdefault(name, {})
        asked = frozenset(keys)
        if asked not in last:
            last.clear()
            last[asked] = make()
        return last[asked]

    def _local_preds_among(
        self, nodes: Iterable[tuple[int, str | None]]
    ) -> dict[int, tuple[int, ...]]:
        """:meth:`_local_preds_i` of ``nodes`` (each with its owner)."""
        found: dict[int, tuple[int, ...]] = {}
        for node, owner in nodes:
            local = self._local_preds_at(node, owner)
            if local is not None:
                found[node] = local
        return found

    def _local_preds_at(self, node: int, owner: str | None) -> tuple[int, ...] | None:
        """The predecessors in the local graph of ``node`` (of ``owner``) where it has one
        of another owner; ``None``: all its predecessors are."""
        if owner is None:
            return None
        owners = self._own
        preds = self._pred_i[node]
        for p in preds:
            if owners[p] != owner:
                return tuple(p for p in preds if owners[p] == owner)
        return None

    def _local_reach(self, within: Collection[str]) -> set[int]:
        """The nodes the nodes of workloads ``within`` reach in the local graph
        (:meth:`local_distances_to`), theirs included: every node a search for their paths
        keeps (:meth:`_reverse_search`). Besides their own, those are nodes of no workload
        (a local edge enters a workload's node only from its own). In a graph spliced from
        another (:meth:`spliced`), its base's: a spliced graph is its base less some nodes,
        edges and group members, so what they reach there is at least what they reach in
        it, and it holds every successor of each of its nodes (what the search asks of
        it). The last ``within`` asked is kept (the checks of one workload ask ~25 times
        per spliced graph)."""
        if self._spliced_from is not None:
            return self._spliced_from[0]._local_reach(within)
        return self._last_asked("local_reach", within, lambda: self._reach_from(within))

    def _reach_from(self, within: Collection[str]) -> set[int]:
        """:meth:`_local_reach`, searched."""
        owners = self._own
        succ = self._succ_i
        refs = self._refs_i
        queue = [node for key in sorted(within) for node in self._nodes_of(key)]
        found = set(queue)
        for node in queue:  # (the list grows as the search goes: it is the queue)
            for n in succ[node]:
                if owners[n] is None and n not in found:
                    found.add(n)
                    queue.append(n)
            for key, _excluded in refs.get(node, ()):
                # (all of them: more than the step leads to where it excludes an owner)
                for n in self._members_of_none(key):
                    if n not in found:
                        found.add(n)
                        queue.append(n)
        return found

    def _members_of_none(self, key: tuple[Group, str]) -> list[int]:
        """Relation group ``key``'s member nodes of no workload, memoised per group."""
        memo: dict[tuple[Group, str], list[int]] = self.memo.setdefault("members_of_none", {})
        found = memo.get(key)
        if found is None:
            owners = self._own
            found = memo[key] = [n for n in self._fanouts[key].nodes if owners[n] is None]
        return found

    def _refs_by_owner(self, key: tuple[Group, str]) -> dict[str, list[tuple[str | None, int]]]:
        """The steps referring to relation group ``key`` that belong to a workload, by
        workload, each with the owner it excludes (the local searches memoise them per
        group)."""
        owners = self._own
        by_owner: dict[str, list[tuple[str | None, int]]] = {}
        for excluded, steps in self._fanouts[key].refs.items():
            for step in steps:
                owner = owners[step]
                if owner is not None:
                    by_owner.setdefault(owner, []).append((excluded, step))
        return by_owner

    def prefixes(self, entry: str) -> _Prefixes:
        """The shortest ways from the entry points of kind ``entry`` of every workload
        (memoised until :meth:`drop_caches`)."""
        memo = self.memo.setdefault("prefixes", {})
        found: _Prefixes | None = memo.get(entry)
        if found is None:
            if self._spliced_from is not None:  # the base's distances, where they changed
                base, removed, left = self._spliced_from
                of_base = base.prefixes(entry)
                dist = self._distances_after(base, of_base._d, removed, left)
                found = _Prefixes(self, of_base._starts, dist)  # the same workloads' names
            else:
                found = _Prefixes(self, [self.entry_node(w, entry) for w in sorted(self.workloads)])
            memo[entry] = found
        return found

    def _distances_after(
        self,
        base: AttackGraph,
        before: list[int],
        removed: Collection[int],
        left: Collection[int],
    ) -> list[int]:
        """This spliced graph's distances from the starts of ``before``, the forward
        distances (:meth:`_forward`) in ``base``, the graph it was made from (without
        ``removed``'s nodes, and with ``left``'s members out of a group each: a subgraph
        of ``base`` with the same numbers, so no distance falls).

        A node keeps its distance d where one of its predecessors at d - 1 keeps its own
        (an explicit edge, or a step referring to a group of the node that does not
        exclude its owner); the others lose it. Those are found in order of distance from
        the removed nodes and the members that left (a node is looked at once one of its
        ways may have run through a node that lost its distance), then given theirs by
        a search from the nodes that kept them (the smallest first: Dijkstra's order with
        edges of length one). Costs the nodes that lose their distance and their
        neighbours (a group that loses a step is looked at once per distance, its
        members only where no step at that distance that keeps it reaches them), not a
        search of the graph."""
        pred, succ = self._pred_i, self._succ_i
        member_i, fanouts, refs_i = self._member_i, self._fanouts, self._refs_i
        lost: set[int] = set(removed)
        # what to look at, by distance: nodes, and groups that lost a step referring to
        # them (with the group, the removed steps' graph's: a group may be gone), whose
        # members are looked at only where the group's steps that keep their distance
        # no longer reach them
        nodes_at: dict[int, set[int]] = {}
        groups_at: dict[int, dict[tuple[Group, str], _Fanout]] = {}
        levels: list[int] = []

        def look_at(level: int) -> None:
            if level not in nodes_at and level not in groups_at:
                heappush(levels, level)

        def look_after(node: int, level: int, graph: AttackGraph) -> None:
            """Look at ``node``'s successors at ``level + 1`` in ``graph``."""
            for w in graph._succ_i[node]:
                if before[w] == level + 1:
                    look_at(level + 1)
                    nodes_at.setdefault(level + 1, set()).add(w)
            for key, _excluded in graph._refs_i.get(node, ()):
                look_at(level + 1)
                groups_at.setdefault(level + 1, {})[key] = graph._fanouts[key]

        for node in removed:
            if before[node] >= 0:
                look_after(node, before[node], base)
        for node in left:
            if before[node] > 0:
                look_at(before[node])
                nodes_at.setdefault(before[node], set()).add(node)

        def kept_excluded(key: tuple[Group, str], level: int) -> tuple[str | None, ...]:
            """Up to two owners excluded by steps referring to group ``key`` that keep
            distance ``level`` (one that is not a member's own is its way in)."""
            fan = fanouts.get(key)
            excluded: list[str | None] = []
            for excl, steps in fan.refs.items() if fan is not None else ():
                if any(before[p] == level and p not in lost for p in steps):
                    excluded.append(excl)
                    if len(excluded) == 2:
                        break
            return tuple(excluded)

        kept_refs: dict[tuple[tuple[Group, str], int], tuple[str | None, ...]] = {}
        while levels:
            level = heappop(levels)
            look = nodes_at.pop(level, set())
            for key, fan in groups_at.pop(level, {}).items():
                kept = kept_refs[(key, level - 1)] = kept_excluded(key, level - 1)
                if len(kept) < 2:  # some members may have lost their way in
                    look.update(
                        w
                        for w, owner in fan.nodes.items()
                        if before[w] == level and not (kept and kept[0] != owner)
                    )
            for node in look:
                if node in lost:
                    continue
                preds = pred[node]
                if len(preds) > _MANY_PREDS:  # (its base's, of those at level - 1)
                    if any(p not in lost for p in base._preds_at(before, node, level - 1)):
                        continue
                elif any(before[p] == level - 1 and p not in lost for p in preds):
                    continue
                supported = False
                for key in member_i.get(node, ()):
                    ways = kept_refs.get((key, level - 1))
                    if ways is None:
                        ways = kept_refs[(key, level - 1)] = kept_excluded(key, level - 1)
                    if any(excl != fanouts[key].nodes[node] for excl in ways):
                        supported = True
                        break
                if not supported:
                    lost.add(node)
                    look_after(node, level, self)
        # this graph's base's copy of its distances, where this is its last spliced graph
        scratch: _Scratch | None = base.__dict__.get("_scratch")
        if scratch is not None and scratch.holder is self:
            after, changed = scratch.distances(before)
            changed.update(lost)  # (only the lost nodes' distances change)
        else:
            after = list(before)
        for node in lost:
            after[node] = -1
        # the lost nodes' distances: from the nodes that kept theirs, then from each other
        best_refs: dict[tuple[Group, str], list[tuple[int, str | None]]] = {}

        def from_refs(key: tuple[Group, str], owner: str) -> int | None:
            """The smallest kept distance of a step referring to group ``key`` that does
            not exclude ``owner``."""
            found = best_refs.get(key)
            if found is None:
                found = []  # the smallest (distance, excluded) of two excluded owners
                for excl, steps in fanouts[key].refs.items():
                    at = min((after[p] for p in steps if after[p] >= 0), default=-1)
                    if at >= 0:
                        found = sorted([*found, (at, excl)], key=lambda de: de[0])[:2]
                best_refs[key] = found
            return next((d for d, excl in found if excl != owner), None)

        queue: list[tuple[int, int]] = []  # (distance, node)
        for node in lost:
            if node in removed:
                continue
            nearest = [after[p] for p in pred[node] if after[p] >= 0]
            for key in member_i.get(node, ()):
                d = from_refs(key, fanouts[key].nodes[node])
                if d is not None:
                    nearest.append(d)
            if nearest:
                heappush(queue, (min(nearest) + 1, node))
        # each group's members that lost their distance (a group of the whole cluster
        # has a member per workload: its steps lead to the lost ones alone)
        lost_members: dict[tuple[Group, str], list[int]] = {}
        for node in lost:
            for key in member_i.get(node, ()):
                lost_members.setdefault(key, []).append(node)
        done: set[int] = set()
        while queue:
            d, node = heappop(queue)
            if node in done:
                continue
            done.add(node)
            after[node] = d
            for w in succ[node]:
                if w in lost and w not in done:
                    heappush(queue, (d + 1, w))
            for key, excluded in refs_i.get(node, ()):
                members = lost_members.get(key)
                if members:
                    owner = fanouts[key].nodes
                    for w in members:
                        if w not in done and owner[w] != excluded:
                            heappush(queue, (d + 1, w))
        return after

    def _preds_of(self, node: int, owners: Collection[str]) -> list[int]:
        """``node``'s predecessors owned by workloads ``owners``, in order (a sink has an
        instance per workload where its step fires); a spliced graph's, from its base's
        (its own are those less the removed instances)."""
        if self._spliced_from is not None:
            return self._spliced_from[0]._preds_of(node, owners)
        memo: dict[int, dict[str | None, list[int]]] = self.memo.setdefault("preds_of", {})
        at = memo.get(node)
        if at is None:
            at = memo[node] = {}
            own = self._own
            for i, p in enumerate(self._pred_i[node]):
                at.setdefault(own[p], []).append(i)
        places = [i for owner in owners for i in at.get(owner, ())]
        if len(owners) > 1:
            places.sort()
        preds = self._pred_i[node]
        return [preds[i] for i in places]

    def _preds_at(self, dist: list[int], node: int, level: int) -> list[int]:
        """``node``'s predecessors at distance ``level`` in ``dist`` (one of this graph's
        forward searches): a node of many predecessors (a state of the node or the
        cluster has one per workload) has them grouped by distance once per search."""
        memo: dict[int, dict[int, dict[int, list[int]]]] = self.memo.setdefault("preds_at", {})
        # by the list's identity: it is a forward search's in this memo ("prefixes"), and
        # the two go together (drop_caches), so no other list takes its id meanwhile
        by_node = memo.setdefault(id(dist), {})
        found = by_node.get(node)
        if found is None:
            found = by_node[node] = {}
            for p in self._pred_i[node]:
                found.setdefault(dist[p], []).append(p)
        return found.get(level, [])

    def _hub_tails(self, sink: str | int) -> dict[str, StepInstance]:
        """:meth:`_hub_tails_i` by name."""
        name = self._names()
        return {name[s]: inst for s, inst in self._hub_tails_i(self._id(sink)).items()}

    def _hub_tails_i(self, sink: int) -> dict[int, StepInstance]:
        """For a sink whose step fires only at node or cluster scope (``node-tokens``,
        ``node-clear-logs``...: one instance per node class, or at the cluster), the
        instance at each of its states; else nothing. Sinks of the same states share one
        search from those states (:meth:`_sink_targets`)."""
        tails: dict[int, StepInstance] = {}  # hub state -> the sink's step instance there
        pred = self._pred_i
        insts = self._inst
        for inst_node in sorted(pred[sink]):
            (state,) = pred[inst_node]
            inst = insts[inst_node]
            assert inst is not None
            # (a step of a workload's scope may start from a node or cluster state too)
            if state in tails or inst.scope.scope.level not in ("node", "cluster"):
                return {}
            tails[state] = inst
        return tails

    def _sink_targets(
        self, sink: str | int, within: Collection[str] | None = None
    ) -> tuple[tuple[int, ...], dict[int, StepInstance], bool]:
        """Where the local search towards ``sink`` (:meth:`local_distances_to`) starts, the
        sink's instance at each of those states, and whether the table is a hub's (its
        best nodes are every sink's of the hub); no targets: the search starts from the
        sink itself.
        By number.

        A step instance has one way in, the state it starts from (in the local graph, none
        if another workload's: :meth:`_local_preds`), so a search from the sink meets its
        instances, then those states, and goes on from them exactly as a search that starts
        from them (every distance 2 less). A path then ends at the state it reaches and
        the smallest instance of the sink's step starting there (the next hop the sink's
        search would choose). Sinks whose instances start from the same states, met in the
        same order, share that search (at 10k workloads, 82 sinks share 64 searches,
        three quarters of the nodes): its nodes come in the order the sink's search meets
        them, which is the order of the paths found (:meth:`sink_paths`). The sinks of
        :meth:`_hub_tails` are searched from their states sorted, as they always were.

        ``within``: the targets a search of those workloads' nodes and of none starts from
        (:meth:`_reverse_search` leaves the others out), in the same order. These, and a
        spliced graph's, come from its base's :meth:`_sink_plan`: the targets of a
        minimal-control check's one workload, without a walk of all the sink's instances
        in the cluster."""
        sink = self._id(sink)
        if within is not None or self._spliced_from is not None:
            return self._planned_targets(sink, within)
        hub = self._hub_tails_i(sink)
        if hub:
            return tuple(sorted(hub)), hub, True
        pairs = self._sink_pairs(sink)
        if pairs is None:
            return (), {}, False
        return (*self._tails_of(pairs), False)

    def _sink_pairs(self, sink: int) -> list[tuple[int, int]] | None:
        """Each (state, instance of the sink's step starting there) in the order a local
        search from the sink meets them (:meth:`_sink_targets`); ``None`` where an
        instance is a relation group's member (never: members are states), for which the
        search starts from the sink itself."""
        pred = self._pred_i
        owners = self._own
        member_of = self._member_i
        # every node's local predecessors where a search of all workloads made them, or
        # a spliced graph's base's (made once for all the graphs spliced from it: an
        # instance kept has its one predecessor there), else these instances' own
        cut: dict[int, tuple[int, ...]] | None = self.memo.get("local_preds")
        if cut is None and self._spliced_from is not None:
            cut = self._spliced_from[0]._local_preds_i()
        pairs: list[tuple[int, int]] = []
        for inst_node in pred[sink]:
            if inst_node in member_of:
                return None
            if cut is not None:
                preds = cut.get(inst_node)
            else:
                preds = self._local_preds_at(inst_node, owners[inst_node])
            pairs.extend(
                (state, inst_node) for state in (pred[inst_node] if preds is None else preds)
            )
        return pairs

    def _tails_of(
        self, pairs: Iterable[tuple[int, int]]
    ) -> tuple[tuple[int, ...], dict[int, StepInstance]]:
        """The states of ``pairs`` in the order met, each with the smallest instance that
        starts there."""
        smallest: dict[int, int] = {}  # state -> the smallest instance it starts, as met
        for state, inst_node in pairs:
            cur = smallest.get(state)
            if cur is None or inst_node < cur:
                smallest[state] = inst_node
        insts = self._inst
        tails: dict[int, StepInstance] = {}
        for state, node in smallest.items():
            inst = insts[node]
            assert inst is not None
            tails[state] = inst
        return tuple(tails), tails

    def _sink_plan(self, sink: int) -> _SinkPlan:
        """What :meth:`_planned_targets` needs of ``sink`` here (memoised until
        :meth:`drop_caches`)."""
        plans: dict[int, _SinkPlan] = self.memo.setdefault("sink_plans", {})
        found = plans.get(sink)
        if found is None:
            hub = self._hub_tails_i(sink)
            pairs = None if hub else self._sink_pairs(sink)
            by_owner: dict[str | None, list[tuple[int, int, int]]] = {}
            if pairs is not None:
                owners = self._own
                for at, (state, inst_node) in enumerate(pairs):
                    by_owner.setdefault(owners[state], []).append((at, state, inst_node))
            found = plans[sink] = _SinkPlan(
                (tuple(sorted(hub)), hub, True) if hub else None, pairs is not None, by_owner
            )
        return found

    def _planned_targets(
        self, sink: int, within: Collection[str] | None
    ) -> tuple[tuple[int, ...], dict[int, StepInstance], bool]:
        """:meth:`_sink_targets` for ``within`` (or all workloads) from the plan of this
        graph or of the graph it was spliced from. A sink is one step's, whose instances
        are all at its one scope: a hub's (node or cluster scope) loses none to a patch,
        which removes workloads' instances, and another sink never becomes a hub's (a
        spliced graph's instances of it are its base's but the removed ones)."""
        base, removed = self, frozenset[int]()
        if self._spliced_from is not None:
            base, removed, _left = self._spliced_from
        plan = base._sink_plan(sink)
        if plan.hub is not None:
            return plan.hub
        if not plan.paired:
            return (), {}, False
        groups = plan.by_owner
        if within is None:
            chosen = [p for owned in groups.values() for p in owned]
        else:
            chosen = [p for o in (None, *within) for p in groups.get(o, ())]
        chosen.sort()  # in the order met
        return (*self._tails_of((s, n) for _at, s, n in chosen if n not in removed), False)

    def owned_paths(
        self,
        entries: Iterable[str],
        workloads: Iterable[str] | None = None,
        sinks: Iterable[str] | None = None,
    ) -> dict[str, OwnedPaths]:
        """Per workload (all, or ``workloads``), one shortest path per entry kind and sink
        (all, or ``sinks``) among the paths the workload *owns*: ``(entry, the workload
        whose entry point starts it, step instances)`` (:class:`OwnedPaths`).

        A path belongs to the workload of its last node at a workload's scope (its entry
        point, its container, port and workload scopes): the technique happens there, and
        steps at node, cluster or identity scope after it happen on its behalf. A path may
        start at any workload's entry point of the kind. Per kind, one forward search from
        every entry point gives each node's distance d(n) (:class:`_Prefixes`); per sink,
        one search of the local graph (:meth:`local_distances_to`) the distance l(n) of
        the way on that stays in n's workload, then leaves workloads behind. The shortest
        path owned by W has length min over W's nodes n of d(n) + l(n): a shortest way to
        n, then the local way on. Among equals the smallest d(n) (so W's own entry point
        first, when a path from it is among the shortest), then the smallest node id; the
        way to n prefers W's nodes, then the smallest ids; the way on the smallest ids."""
        wanted = set(workloads) if workloads is not None else None
        out = {
            w: OwnedPaths()
            for w in (sorted(wanted) if wanted is not None else sorted(self.workloads))
        }
        for _sink, paths in self.sink_paths(entries, wanted, sinks):
            for w, e, start, steps in paths:
                out[w].append(e, start, steps)
        return out

    def shared_searches(self, entries: Iterable[str]) -> None:
        """Make what every sink's search and every search of some workloads share (the
        doors, every node's local predecessors, the forward search per entry kind), memoised,
        so that processes forked after inherit them instead of each making them."""
        self._doors_i()
        for e in entries:
            self.prefixes(e)

    def sink_paths(
        self,
        entries: Iterable[str],
        wanted: Collection[str] | None = None,
        sinks: Iterable[str] | None = None,
    ) -> Iterator[tuple[str, list[tuple[str, str, str, tuple[StepInstance, ...]]]]]:
        """The paths of :meth:`owned_paths`, sink by sink (all, or ``sinks``, sorted): per
        sink, ``(workload, entry, the workload whose entry point starts it, step
        instances)`` for each (workload, of ``wanted`` if given; entry kind) with a path to
        it. The searches all sinks share (:meth:`_doors`, :meth:`prefixes`) are memoised;
        a table several sinks share (:meth:`_sink_targets`), a hub's among them, is kept
        until its last sink."""
        kinds = {e: self.prefixes(e) for e in entries}
        dists = [pre._d for pre in kinds.values()]
        # the doors of the wanted workloads that entry points reach: per door, each
        # (workload, entry kind) with the door's distance from the nearest entry point
        keys: dict[str, tuple[tuple[str, str], ...]] = {}
        reached: dict[int, list[tuple[tuple[str, str], int]]] = {}
        # Fewer workloads than the cluster's: their doors alone, and tables of their nodes
        # and of none (the others' nodes never lie on their paths).
        within = None if wanted is None or len(wanted) >= len(self.workloads) else wanted
        doors = self._doors_i().items() if within is None else self._doors_of(within)
        # (_doors_i made every node's local predecessors, which the tables read)
        for node, w in doors:
            if wanted is not None and w not in wanted:
                continue
            pairs = keys.get(w)
            if pairs is None:
                pairs = keys[w] = tuple((w, e) for e in kinds)
            ways = [
                (pair, d) for pair, dist in zip(pairs, dists, strict=True) if (d := dist[node]) >= 0
            ]
            if ways:
                reached[node] = ways
        owners = self._own
        insts = self._inst
        pred = self._pred_i
        # the sinks asked for in name order: a name that is no node has no paths (None)
        asked = sorted(sinks) if sinks is not None else None
        order = self._sinks_i if asked is None else [self._find(n) for n in asked]
        plans = {sink: self._sink_targets(sink, within) for sink in order if sink is not None}
        # the searches sinks share, each kept (with its best nodes) until its last sink
        left = Counter(targets for targets, _t, _hub in plans.values() if targets)
        shared: dict[tuple[int, ...], tuple[_PathTable, dict[tuple[str, str], _Best]]] = {}
        for at, sink in enumerate(order):
            if sink is None:
                assert asked is not None
                yield asked[at], []
                continue
            targets, tails, hub = plans[sink]
            if not targets:
                table = _PathTable(self, sink, local=True, within=within)
                best = _best_nodes(table._d, table._order, reached)
            else:
                found = shared.get(targets)
                if found is None:
                    table = _PathTable(self, *targets, local=True, within=within)
                    found = shared[targets] = (table, _best_nodes(table._d, table._order, reached))
                table, best = found
                left[targets] -= 1
                if not left[targets]:
                    del shared[targets]
            if targets and not hub:
                # the sink's own instances a path may begin its last stretch at (one hop
                # from the sink: -1 in the table's distances, 2 less than the sink's)
                heads = [
                    n
                    for n in (pred[sink] if within is None else self._preds_of(sink, within))
                    if n in reached
                ]
                if heads:
                    first: dict[tuple[str, str], _Best] = {}
                    for node in heads:
                        for pair, d in reached[node]:
                            cand = (d - 1, d, node)
                            cur = first.get(pair)
                            if cur is None or cand < cur:
                                first[pair] = cand
                    for pair, cand in best.items():
                        cur = first.get(pair)
                        if cur is None or cand < cur:
                            first[pair] = cand
                    best = first
            paths = []
            suffix = table._suffix  # the walks done: most doors' are, for a shared search
            for (w, e), (total, d, node) in best.items():
                if d:
                    before, start = kinds[e]._way(node, w)
                else:  # an entry point of the kind
                    before, start = (), node
                if total < d:  # one of the sink's own instances (above): the path ends there
                    steps = before
                else:
                    found_way = suffix.get(node) or table.walk(node)
                    assert found_way is not None  # node is in the table
                    after, end = found_way
                    if insts[node] is not None:
                        before = before[:-1]  # the walk from node starts with it
                    steps = (*before, *after, tails[end]) if tails else (*before, *after)
                start_owner = owners[start]  # start: a workload's entry point
                assert start_owner is not None
                paths.append((w, e, start_owner, steps))
            yield self._nm(sink), paths

    def _doors(self) -> dict[str, str]:
        """:meth:`_doors_i` by name."""
        name = self._names()
        return {name[n]: w for n, w in self._doors_i().items()}

    def _doors_i(self) -> dict[int, str]:
        """The nodes where a path may begin its last stretch in a workload, with the
        workload: its entry points, and its nodes with a predecessor elsewhere (an explicit
        edge from outside the workload, or membership of a relation group). The best node
        of :meth:`owned_paths` is one of them: walking back from any other node of the
        workload along a shortest way to it meets one that is at least as good and nearer
        the start."""
        found: dict[int, str] | None = self.memo.get("doors")
        if found is None:
            entered = self._local_preds_i()  # those with a predecessor elsewhere
            found = self.memo["doors"] = dict(
                self._doors_among(enumerate(self._own), lambda node, _owner: node in entered)
            )
        return found

    def _doors_of(self, keys: Collection[str]) -> Iterator[tuple[int, str]]:
        """:meth:`_doors_i` of workloads ``keys`` only, found among their own nodes (or
        looked up there, where every workload's are made)."""
        every: dict[int, str] | None = self.memo.get("doors")
        if every is not None:
            return ((node, key) for key in keys for node in self._nodes_of(key) if node in every)
        return self._doors_among(
            ((node, owner) for owner in keys for node in self._nodes_of(owner)),
            lambda node, owner: self._local_preds_at(node, owner) is not None,
        )

    def _doors_among(
        self, nodes: Iterable[tuple[int, str | None]], entered: Callable[[int, str], bool]
    ) -> Iterator[tuple[int, str]]:
        """The doors among ``nodes`` (each with its owner); ``entered``: whether a node of
        an owner has a predecessor of another."""
        member_of = self._member_i
        name = self._name
        for node, owner in nodes:
            if owner is None:
                continue
            spelled = name[node]  # (None: a step's)
            if (
                node in member_of
                or entered(node, owner)
                or (spelled is not None and spelled.startswith("state:entry:"))
            ):
                yield node, owner

    def _nodes_of(self, key: str) -> list[int]:
        """The nodes of workload ``key`` (see :meth:`owners`)."""
        memo = self.memo.setdefault("nodes_of", {})
        if not memo:
            for node, owner in enumerate(self._own):
                if owner is not None:
                    memo.setdefault(owner, []).append(node)
        found: list[int] = memo.get(key, [])
        return found

    def _outside_refs(
        self, key: tuple[Group, str], entries: tuple[str, ...]
    ) -> set[tuple[str, str | None]]:
        """The (workload or ``""``, excluded owner) of the steps referring to group ``key``
        that the entry points of ``entries`` reach."""
        memo = self.memo.setdefault("outside_refs", {})
        found: set[tuple[str, str | None]] | None = memo.get((key, entries))
        if found is None:
            owners = self._own
            dists = [self.prefixes(e)._d for e in entries]
            found = set()
            for excluded, steps in self._fanouts[key].refs.items():
                for step in steps:
                    if any(d[step] >= 0 for d in dists):
                        found.add((owners[step] or "", excluded))
            memo[(key, entries)] = found
        return found

    def entered(
        self,
        key: str,
        entries: Iterable[str],
        skip: Callable[[tuple[Group, str]], bool] | None = None,
    ) -> set[str]:
        """The nodes of workload ``key`` that a path from an entry point of ``entries``
        enters from outside it (from another workload, or from a node, the cluster or an
        identity): where the paths it owns but does not start begin their part in it.
        Groups for which ``skip`` holds do not count as ways in."""
        kinds = tuple(entries)
        dists = [self.prefixes(e)._d for e in kinds]
        owners = self._own
        pred = self._pred_i
        member_of = self._member_i
        name = self._nm
        found: set[str] = set()
        for node in self._nodes_of(key):
            if not any(d[node] >= 0 for d in dists):
                continue
            if any(owners[p] != key and any(d[p] >= 0 for d in dists) for p in pred[node]):
                found.add(name(node))
                continue
            for gk in member_of.get(node, ()):
                if skip is not None and skip(gk):
                    continue
                if any(o != key and x != key for o, x in self._outside_refs(gk, kinds)):
                    found.add(name(node))
                    break
        return found

    def reachable_from(self, start: str) -> set[str]:
        """Every node reachable from ``start`` (``start`` included)."""
        i = self._find(start)
        if i is None:
            return {start}
        seen = {i}
        queue = deque([i])
        while queue:
            for n in self._successors_i(queue.popleft()):
                if n not in seen:
                    seen.add(n)
                    queue.append(n)
        name = self._names()
        return {name[n] for n in seen}

    def techniques_with(
        self, patched: WorkloadFacts, entries: Iterable[str], wanted: Iterable[str] = ()
    ) -> set[str]:
        """The techniques ``patched``'s workload owns (see :meth:`owned_paths`) in the
        graph this one would be with ``patched`` in place of the workload of the same key
        (what the workload's own facts decide: its step instances and whether its token is
        on the node; every other scope is unchanged). Its paths start at its own entry
        points of ``entries`` or enter it from outside where they do in this graph
        (:meth:`entered`; a way in that ran through the workload itself and that the patch
        cuts still counts: the answer may keep a technique the patch removes, never drop
        one it keeps); from there the search follows the local graph. Stops once every
        ``wanted`` technique is found. Costs a search of the workload's part of the graph
        and what it reaches at node, cluster and identity scope, not a new graph."""
        key = patched.key
        kinds = tuple(entries)
        original = self.workloads[key]
        local = AttackGraph(
            replace(self.fb, workloads=(patched,), identities=(), namespace_admins=()),
            self.catalogue,
            within=self,
        )
        # The token group is the one membership a workload's facts decide.
        token_change: bool | None = None  # True: the token appears, False: it goes
        if ("sa_token" in patched.pod) != ("sa_token" in original.pod):
            token_change = "sa_token" in patched.pod

        placed_on = self.fb.placement.of(key)

        def token_group(gk: tuple[Group, str]) -> bool:
            return gk[0][0] == "tokens" and in_token_group(gk[0][1], placed_on)

        # where its paths begin: its entry points, and where they enter it from outside
        # (not through the token group it leaves)
        entered = self.entered(key, kinds, skip=token_group if token_change is False else None)
        if token_change:  # its token joins the node's: a way in where others read them
            for gk in self._fanouts:
                node = self._state_node(gk[1], key, None) if token_group(gk) else None
                if node is not None and any(
                    o != key and x != key for o, x in self._outside_refs(gk, kinds)
                ):
                    entered.add(node)
        starts = [local.entry_node(key, e) for e in kinds]
        starts += sorted(
            n for n in entered if not n.startswith("step:") or n[5:] in local.instances
        )
        member_cache: dict[tuple[Group, str], dict[str, str]] = {}

        def members(gk: tuple[Group, str]) -> dict[str, str]:
            found = member_cache.get(gk)
            if found is None:
                fan = self._fanouts.get(gk)
                found = dict(fan.members) if fan is not None else self._members(gk)
                if token_change is not None and token_group(gk):
                    node = self._state_node(gk[1], key, None)
                    if node is not None and token_change:
                        found[node] = key
                    elif node is not None:
                        found.pop(node, None)
                member_cache[gk] = found
            return found

        workloads = self.workloads

        def free(node: str) -> bool:
            return _owner(node) not in workloads

        # Groups expanded for the workload's nodes (its members and free ones) and for
        # free nodes (free members only), each at most twice (see :class:`_Expansions`).
        expansions = _Expansions[tuple[tuple[Group, str], bool]]()

        def successors(node: str) -> Iterator[str]:
            mine = _owner(node) == key
            graph = local if mine else self
            at = graph._find(node)
            if at is None:
                return
            name = graph._names()
            for j in graph._succ_i[at]:
                n = name[j]
                if free(n) or (mine and _owner(n) == key):
                    yield n
            for gk, excluded in graph._refs_i.get(at, ()):
                for n in expansions.expand((gk, mine), excluded, members(gk)):
                    if free(n) or (mine and _owner(n) == key):
                        yield n

        want = set(wanted)
        found = {local.instances[n[5:]].step.technique for n in starts if n.startswith("step:")}
        seen = set(starts)
        queue = deque(starts)
        while queue:
            node = queue.popleft()
            for n in successors(node):
                if n in seen:
                    continue
                seen.add(n)
                queue.append(n)
                if n.startswith("step:"):
                    ident = n[5:]
                    inst = (local if _owner(n) == key else self).instances[ident]
                    found.add(inst.step.technique)
                    if want and want <= found:
                        return found
        return found

    def _spliced_part(self, fb: FactBase, wf: WorkloadFacts) -> _Part | None:
        """What ``wf`` (a workload of ``fb``, a what-if of this graph's fact base: see
        :meth:`spliced`) changes in this graph: its instances here that its patched facts
        keep (each with its patched instance), those they lose, and its patched scopes;
        ``None`` where it gains an instance or a kept one has other edges or groups.

        Its part of a graph is built alone (a graph :paramref:`within` this one). What a
        workload's part holds depends on its own facts only: its groups' members are this
        graph's, which follow from the fact base's indexes and the workloads' shapes (a
        what-if keeps both), and a pid-peer group's from its own containers. The last
        ones are kept (:data:`_PARTS_KEPT`): a check patches the workloads its paths run
        through, and the checks of nearby workloads patch the same ones the same way
        (~93% of the parts of a 1k cluster's checks were made before)."""
        memo: OrderedDict[int, tuple[WorkloadFacts, _Part | None]]
        memo = self.memo.setdefault("spliced_parts", OrderedDict())  # type: ignore[assignment]
        found = memo.get(id(wf))
        if found is not None and found[0] is wf:
            memo.move_to_end(id(wf))
            return found[1]
        key = wf.key
        local = AttackGraph(
            replace(fb, workloads=(wf,), identities=(), namespace_admins=()),
            self.catalogue,
            within=self,
        )
        before: dict[str, int] = {}  # this graph's instances of the workload
        for node in self._nodes_of(key):
            inst = self._inst[node]
            if inst is not None:
                before[inst.id] = node
        here, there = self._nm, local._nm
        kept: list[tuple[int, StepInstance]] = []
        part: _Part | None = None
        for i, inst in enumerate(local._inst):
            if inst is None or inst.scope.scope.workload != key:
                continue  # (the local graph's node and cluster scopes: this graph's)
            at = before.get(inst.id)
            if at is None:
                break  # an instance this graph lacks
            if any(
                [there(j) for j in local_adj[i]] != [here(j) for j in mine_adj[at]]
                for mine_adj, local_adj in (
                    (self._succ_i, local._succ_i),
                    (self._pred_i, local._pred_i),
                )
            ):
                break
            if local._refs_i.get(i) != self._refs_i.get(at):
                break  # other groups (in practice never: see spliced)
            kept.append((at, inst))
        else:
            at_kept = {at for at, _inst in kept}
            part = _Part(
                tuple(kept),
                frozenset(n for n in before.values() if n not in at_kept),
                tuple(
                    (label, sf) for label, sf in local.scopes.items() if sf.scope.workload == key
                ),
            )
        memo[id(wf)] = (wf, part)
        if len(memo) > _PARTS_KEPT:
            memo.popitem(last=False)
        return part

    def spliced(self, fb: FactBase, changed: Iterable[int] | None = None) -> AttackGraph | None:
        """The graph of ``fb`` for the path searches, made from this one instead of built:
        ``fb`` is this graph's fact base with some workloads' facts changed and nothing
        else (a fact-level what-if, as the minimal controls' patched clusters: the same
        workloads in the same order, the same context and indexes). ``None`` where it
        cannot be made so (then build the graph): another field of the fact base differs,
        or a changed workload would gain a step instance, an edge, a token or a group
        reference, or change the peers of a shared PID namespace.

        What a workload's facts decide in a graph: its own scopes' step instances, their
        edges and the relation groups they refer to, whether its token is in the node
        token groups, and its pid-peer groups. Every other group's members are read from
        the fact base's indexes and the workloads' shapes (what the graph reads of their
        manifests: ``WorkloadFacts.shape``), which a what-if keeps. So the
        changed workloads are built alone (a graph of them :paramref:`within` this one);
        their instances here that the local graph lacks go, with their edges and group
        references; the rest take the local graph's instances, whose edges and groups
        must be the same (a group a kept instance refers to depends on facts only through
        the pid peers, whose step needs the facts that decide them: in practice never
        otherwise); and the token groups take their members in ``fb``.

        The nodes keep this graph's numbers: a removed instance, and a state that lost
        its last edge, stay without edges or groups (no entry point reaches them, no sink
        is reached from them), and the other nodes keep their numbers, so ties break as
        in the graph built from ``fb`` (a smaller number is a smaller name in both). What
        the searches meet in order is in the built graph's order: adjacency, group
        references and each member's groups in the order the build makes them. So its
        paths (:meth:`owned_paths`) are the built graph's, in the same order (the tests
        compare the two on generated clusters); its node list is not (the isolated nodes
        are in it): a graph to search, not to show. Costs the changed workloads' part of
        a build and what the patch changes: its node lists and tables are this graph's
        scratch (:class:`_Scratch`), so the graph spliced from this one before it can no
        longer be used (it raises; a table or :class:`GraphFacts` taken from it earlier is
        not made stale: take them from the graph while it is the last spliced).

        ``changed``: the places in ``fb.workloads`` of the workloads it changes, where the
        caller knows them (the what-if it made); every other workload must be this
        graph's. Without it every workload is compared (~2.5 ms at 100k workloads)."""
        mine = self.fb
        if any(
            getattr(fb, f.name) is not getattr(mine, f.name)
            for f in fields(FactBase)
            if f.name not in ("workloads", "memo")
        ) or len(fb.workloads) != len(mine.workloads):
            return None
        olds, news = mine.workloads, fb.workloads
        patched: list[WorkloadFacts] = []
        for at in range(len(news)) if changed is None else sorted(set(changed)):
            old, new = olds[at], news[at]
            if new is not old:
                if new.key != old.key or new.shape is not old.shape:
                    return None
                if "sa_token" in new.pod and "sa_token" not in old.pod:
                    return None  # a token that appears joins groups
                patched.append(new)
        parts = []
        for wf in patched:
            part = self._spliced_part(fb, wf)
            if part is None:
                return None  # an instance this graph lacks, other edges or groups
            parts.append(part)
        scratch: _Scratch | None = self.__dict__.get("_scratch")
        if scratch is None:
            scratch = self.__dict__["_scratch"] = _Scratch(self)
        else:
            scratch.reset(self)
        try:
            graph = self._splice(fb, patched, parts, scratch)
        except BaseException:
            # stopped half way (an interrupt, no memory): the lists may be changed where
            # no record says; the next splice makes a new copy
            self.__dict__.pop("_scratch", None)
            raise
        if graph is not None:
            scratch.holder = graph
        return graph

    def _splice(
        self,
        fb: FactBase,
        changed: list[WorkloadFacts],
        parts: list[_Part],
        scratch: _Scratch,
    ) -> AttackGraph | None:
        """:meth:`spliced`'s graph made in ``scratch`` from the changed workloads' parts;
        ``None`` where the peers of a shared PID namespace change (the lists changed so
        far are recorded: the next splice sets them back)."""
        keys = {wf.key for wf in changed}
        insts, succ, pred = scratch.insts, scratch.succ, scratch.pred
        new_inst, new_succ, new_pred = scratch.changed
        replaced: dict[str, StepInstance] = {}  # the kept instances (made on first use)
        refs_i, member_i, fanouts = scratch.refs_i, scratch.member_i, scratch.fanouts
        new_refs, new_member, new_fanouts, new_scopes, new_workloads = scratch.edited
        removed: set[int] = set()
        for part in parts:
            for at, inst in part.kept:
                insts[at] = inst
                new_inst.add(at)
                replaced[inst.id] = inst
            removed.update(part.removed)
        # the references the removed steps made, by group: (the owner excluded, the step)
        gone: dict[tuple[Group, str], set[tuple[str | None, int]]] = {}
        entered: set[int] = set()  # nodes a removed one has an edge to, and from
        left_from: set[int] = set()
        for node in removed:
            entered.update(succ[node])
            left_from.update(pred[node])
            succ[node] = pred[node] = ()
            if node in refs_i:
                new_refs.add(node)
                for key, excluded in refs_i.pop(node):
                    gone.setdefault(key, set()).add((excluded, node))
        is_removed = removed.__contains__
        for node in entered - removed:
            pred[node] = tuple(filterfalse(is_removed, pred[node]))
        for node in left_from - removed:
            succ[node] = tuple(filterfalse(is_removed, succ[node]))
        new_succ.update(removed, left_from)
        new_pred.update(removed, entered)

        # The relation groups, each copied where it changes: its references (a new list
        # for each owner's that changes), and its members where they change (tokens). A
        # group of the whole cluster has a reference and a member per workload.
        copies: set[tuple[Group, str]] = set()
        reordered: set[tuple[Group, str]] = set()  # an owner's first step gone: resorted

        def own(key: tuple[Group, str]) -> _Fanout:
            fan = fanouts[key]
            if key not in copies:
                copies.add(key)
                new_fanouts.add(key)
                fan = fanouts[key] = _Fanout(
                    fan.members, dict(fan.refs), fan.linked, fan.complete, fan.nodes
                )
            return fan

        def leave(node: int, key: tuple[Group, str]) -> None:
            new_member.add(node)
            groups = [k for k in member_i[node] if k != key]
            if groups:
                member_i[node] = groups
            else:
                del member_i[node]

        for key, pairs in gone.items():
            fan = own(key)
            for excluded in {e for e, _node in pairs}:
                steps = fan.refs[excluded]
                rest = [s for s in steps if (excluded, s) not in pairs]
                if rest:
                    fan.refs[excluded] = rest
                    if rest[0] != steps[0]:
                        reordered.add(key)
                else:
                    del fan.refs[excluded]
            if not fan.refs:  # no step refers to it: the built graph has no such group
                del fanouts[key]
                for node in fan.nodes:
                    leave(node, key)
        left: set[int] = set()  # members that leave a group: its steps no longer reach them
        # members the changed workloads' facts decide: whether their tokens are mounted
        # (a token group's members are the mounted tokens of the workloads placed there:
        # without those no longer mounted; one that appears is refused above), and the
        # peers a container takes over through a shared PID namespace
        unmounted = {wf.key for wf in changed if "sa_token" not in wf.pod}
        for key in self._groups_of(keys, unmounted):
            if key not in fanouts:
                continue  # no step refers to it any more (above)
            kind, _where = key[0]
            if kind == "pid_peers":
                if self._members(key, fb) != fanouts[key].members:
                    return None  # other peers
                continue
            names, nodes = self._group_owners(key)
            fan = own(key)
            if fan.members is self._fanouts[key].members:
                fan.members, fan.nodes = dict(fan.members), dict(fan.nodes)
            for owner in unmounted:
                for n in names.get(owner, ()):
                    del fan.members[n]
                for node in nodes.get(owner, ()):
                    del fan.nodes[node]
                    leave(node, key)
                    left.add(node)
            if not fan.members:  # the build links no step to an empty group
                for steps in fan.refs.values():
                    for step in steps:
                        new_refs.add(step)
                        refs = [r for r in refs_i[step] if r[0] != key]
                        if refs:
                            refs_i[step] = refs
                        else:
                            del refs_i[step]
                fan.refs = {}
        # What a search meets in order: a group's references by the owner they exclude,
        # and each member's groups, in the order the build makes them (that of the first
        # step referring to them, the order of ``_refs_i``: a group's references are in
        # that order, so its first is its place); removing an owner's first step may move
        # its references after others', and removing a group's first step the group after
        # others among its members'.
        if copies:
            place = self._ref_order()

            def first(fan: _Fanout) -> int:
                return place[next(iter(fan.refs.values()))[0]]

            moved: set[int] = set()
            for key in copies:
                copied = fanouts.get(key)
                if copied is None or not copied.refs:
                    continue
                if key in reordered:
                    copied.refs = dict(sorted(copied.refs.items(), key=lambda kv: place[kv[1][0]]))
                if first(copied) != first(self._fanouts[key]):
                    moved.update(copied.nodes)
            for node in moved:
                if node in member_i:
                    new_member.add(node)
                    member_i[node] = sorted(member_i[node], key=lambda k: first(fanouts[k]))

        scopes, workloads = scratch.scopes, scratch.workloads
        for part in parts:
            for label, sf in part.scopes:
                new_scopes.add(label)
                scopes[label] = sf
        for wf in changed:
            new_workloads.add(wf.key)
            workloads[wf.key] = wf
        graph = object.__new__(AttackGraph)
        graph.fb = fb
        graph.catalogue = self.catalogue
        graph._within = None
        graph._spliced_from = (self, frozenset(removed), frozenset(left))
        graph._ids, graph._made, graph._nums, graph._edges = {}, [], [], array("i")
        graph._name = self._name  # the same names: read only
        graph._inst = insts
        graph._known = self._known
        graph._index = self._index
        graph._bases = {}
        graph._fanouts = fanouts
        graph._refs_i = refs_i
        graph._member_i = member_i
        graph.memo = {}
        if "nodes_of" in self.memo:  # the same owners: shared (read only)
            graph.memo["nodes_of"] = self.memo["nodes_of"]
        graph.__dict__["_instances_of"] = (
            self,
            replaced,
            [lost.id for node in removed if (lost := insts[node]) is not None],
        )
        graph.scopes = scopes
        graph.workloads = workloads
        graph.needs = self.needs
        graph._levels = self._levels
        graph.facts = GraphFacts(fb, workloads, scopes, graph.memo)
        graph._sinks_i = [s for s in self._sinks_i if pred[s]]
        graph._succ_i = succ
        graph._pred_i = pred
        graph.__dict__["_owners"] = self._own  # the same names, so the same owners
        return graph

    def _groups_of(
        self, keys: Collection[str], unmounted: Collection[str]
    ) -> list[tuple[Group, str]]:
        """The relation groups a splice of workloads ``keys`` may change, sorted: the token
        groups with a member of the workloads ``unmounted``
        (whose tokens the patch unmounts) and the pid-peer groups of ``keys``' containers
        (the groups by owner memoised)."""
        memo: dict[str, dict[str, list[tuple[Group, str]]]] | None = self.memo.get("groups_of")
        if memo is None:
            tokens: dict[str, list[tuple[Group, str]]] = {}
            peers: dict[str, list[tuple[Group, str]]] = {}
            for key, fan in self._fanouts.items():
                kind, where = key[0]
                if kind == "tokens":
                    for owner in dict.fromkeys(fan.members.values()):
                        tokens.setdefault(owner, []).append(key)
                elif kind == "pid_peers":
                    peers.setdefault(where.partition("\n")[0], []).append(key)
            memo = self.memo["groups_of"] = {"tokens": tokens, "pid_peers": peers}
        found = {k for owner in unmounted for k in memo["tokens"].get(owner, ())}
        found.update(k for key in keys for k in memo["pid_peers"].get(key, ()))
        return sorted(found)

    def _group_owners(
        self, key: tuple[Group, str]
    ) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
        """Relation group ``key``'s members by owner: their names and their nodes (in the
        group's order), memoised per group."""
        memo: dict[tuple[Group, str], tuple[dict[str, list[str]], dict[str, list[int]]]]
        memo = self.memo.setdefault("group_owners", {})
        found = memo.get(key)
        if found is None:
            fan = self._fanouts[key]
            names: dict[str, list[str]] = {}
            nodes: dict[str, list[int]] = {}
            for name, owner in fan.members.items():
                names.setdefault(owner, []).append(name)
            for node, owner in fan.nodes.items():
                nodes.setdefault(owner, []).append(node)
            found = memo[key] = (names, nodes)
        return found

    def _ref_order(self) -> dict[int, int]:
        """Each step node referring to a relation group, by the place of its references
        in the build (:attr:`_refs_i` keeps them in that order; asked of the graph a
        splice is made from: a spliced graph's table is in another order)."""
        found: dict[int, int] | None = self.memo.get("ref_order")
        if found is None:
            found = self.memo["ref_order"] = {step: i for i, step in enumerate(self._refs_i)}
        return found

    def drop_caches(self) -> None:
        """Forget the analysis memos kept between queries (the forward searches hold a
        distance per node for each entry kind; queries rebuild them on demand)."""
        if self._spliced_from is not None:  # a search kept elsewhere raises
            self._stale_distances()
        self.memo.clear()
        self.__dict__.pop("_views", None)  # the views by name (:attr:`_succ`...)
        self.__dict__.pop("_scratch", None)  # (its last spliced graph keeps its lists)
        self._index = None

    def _stale_distances(self) -> None:
        """Make this spliced graph's forward searches raise on use: their distances may
        be its base's scratch copy (:class:`_Scratch`), which the next splice changes."""
        for prefixes in self.memo.get("prefixes", {}).values():
            prefixes._d = _Stale()

    def entry_node(self, workload: str, entry: str) -> str:
        return f"state:entry:{entry}@{workload}"

    def iter_instances(self) -> Iterator[StepInstance]:
        for key in sorted(self.instances):
            yield self.instances[key]


def owned_paths_forked(
    graph: AttackGraph, entries: Iterable[str], workloads: Iterable[str], parts: int
) -> dict[str, OwnedPaths]:
    """:meth:`AttackGraph.owned_paths` of ``workloads`` for every sink, searched in
    ``parts`` processes (this one and forked workers, :func:`attackmap._fork.fork_map`):
    the same paths in the same order.

    The searches every sink shares (owners, doors, the forward search per entry kind) run
    here first, so the workers inherit them. The sinks are then cut into ``parts`` runs of
    about equal work, each sink's work taken as the step instances that end at it (the
    paths to it grow with them): the heaviest first, each to the lightest run so far.
    Sinks that share a search (:meth:`AttackGraph._sink_targets`) stay in one run, which
    makes it once. A worker sends back its paths by sink as step-instance ids
    (:attr:`AttackGraph.instances`' keys: no object that would pickle the graph), and here
    each workload's paths are put together sink by sink in sorted order, as
    :meth:`AttackGraph.owned_paths` appends them."""
    entries = tuple(entries)
    wanted = set(workloads)
    graph.shared_searches(entries)
    groups: dict[str | tuple[int, ...], list[str]] = {}
    for sink in graph.sinks():
        targets = graph._sink_targets(sink)[0]
        groups.setdefault(targets or sink, []).append(sink)
    runs: list[list[str]] = [[] for _ in range(parts)]
    work = [0] * parts
    pred = graph._pred_i
    weighed = [(sum(len(pred[graph._id(s)]) for s in sinks), sinks) for sinks in groups.values()]
    for weight, sinks in sorted(weighed, key=lambda ws: -ws[0]):  # stable: ties by sink
        lightest = work.index(min(work))
        runs[lightest] += sinks
        work[lightest] += weight

    keys = {w: w for w in graph.workloads}  # one string object per workload: pickled once

    def search(run: list[str]) -> list[tuple[str, list[tuple[str, str, str, tuple[str, ...]]]]]:
        return [
            (
                sink,
                [
                    (keys[w], e, keys[start], tuple(i.id for i in steps))
                    for w, e, start, steps in paths
                ],
            )
            for sink, paths in graph.sink_paths(entries, wanted, run)
        ]

    found = {
        sink: paths
        for part in fork_map(search, [run for run in runs if run])
        for sink, paths in part
    }
    instance = graph.instances.__getitem__
    out = {w: OwnedPaths() for w in sorted(wanted)}
    for sink in sorted(found):
        for w, e, start, ids in found.pop(sink):
            out[w].append(e, start, tuple(map(instance, ids)))
    return out


_Best = tuple[int, int, int]
"""A candidate node of a path: (distance from the nearest entry point plus the table's
distance, distance from the nearest entry point, node)."""


def _best_nodes(
    dist: _Table, order: list[int], reached: dict[int, list[tuple[tuple[str, str], int]]]
) -> dict[tuple[str, str], _Best]:
    """Per (workload, entry kind), its best node of a path table (``dist``, its nodes in
    ``order``) among the doors ``reached`` (each with the pairs whose entry points reach
    it, at what distance): the smallest (total, distance from the entry point, node). In
    the order of the table's nodes where each pair first has a candidate (the order of
    :meth:`AttackGraph.sink_paths`)."""
    best: dict[tuple[str, str], _Best] = {}
    for node in order:
        door = reached.get(node)
        if door is None:
            continue
        rest = dist[node]
        for pair, d in door:
            cand = (d + rest, d, node)
            cur = best.get(pair)
            if cur is None or cand < cur:
                best[pair] = cand
    return best


def _step_node(inst: StepInstance | None) -> str:
    """What :func:`_owner` reads of a step's node name (its scope's label after ``@``),
    without spelling its id."""
    assert inst is not None
    return "@" + inst.scope.scope.label


def _owner(node: str) -> str:
    """The workload (or identity) key a state or step node belongs to (``""`` for sinks;
    ``node``/``cluster`` for those scopes)."""
    return node.partition("@")[2].partition("[")[0].partition(":")[0]


def _grouped(keys: array[int], values: array[int], nodes: int) -> tuple[array[int], array[int]]:
    """``values`` grouped by their ``keys`` (node numbers below ``nodes``), each group in
    the order given (a stable counting sort): the values, and where each node's begin (its
    group ends where the next node's begins)."""
    starts = array("i", bytes(4 * (nodes + 1)))
    for key in keys:
        starts[key + 1] += 1
    starts = array("i", accumulate(starts))
    free = array("i", starts)  # each node's next slot
    placed = array("i", bytes(4 * len(values)))
    for key, value in zip(keys, values, strict=True):
        at = free[key]
        placed[at] = value
        free[key] = at + 1
    return placed, starts


def _renumbered(
    grouped: tuple[array[int], array[int]],
    order: list[int],
    perm: list[int],
    ones: list[tuple[int] | None],
) -> list[tuple[int, ...]]:
    """The node numbers ``grouped`` by node (:func:`_grouped`, by old number) as tuples of
    their distinct new numbers, in order, by new number. A group of one node is ``ones``'s
    tuple of it, made once: most nodes have one successor or one predecessor, shared by
    many (at 10k workloads 500k such tuples, 177k distinct)."""
    placed, starts = grouped
    out: list[tuple[int, ...]] = []
    for old in order:
        items = placed[starts[old] : starts[old + 1]]
        if len(items) > 1:
            out.append(tuple(dict.fromkeys([perm[i] for i in items])))
        elif items:
            new = perm[items[0]]
            one = ones[new]
            if one is None:
                one = ones[new] = (new,)
            out.append(one)
        else:
            out.append(())
    return out


def _two_smallest(
    cur: tuple[int, str | None, int | None] | None, node: int, owner: str | None
) -> tuple[int, str | None, int | None]:
    """``cur`` (the smallest node, its owner, the smallest node of another owner) with
    ``node`` of ``owner`` taken in: what a search needs to pick the smallest node that is
    not of one given owner."""
    if cur is None:
        return (node, owner, None)
    first, first_owner, other = cur
    if node < first:
        # the old smallest becomes the "other owner" candidate if it qualifies
        return (node, owner, other if first_owner == owner else first)
    if owner != first_owner and (other is None or node < other):
        return (first, first_owner, node)
    return cur


class _PathTable:
    """Shortest paths from any node to the nearest of some targets: the distances and
    explicit next hops of one reverse search (:meth:`AttackGraph._reverse_search`; the
    relation groups' through :meth:`group_min`) and memoised suffixes (each with the
    target it ends at); with ``local``, in the local graph
    (:meth:`AttackGraph.local_distances_to`). Targets by name or number; the tables by
    number (:attr:`dist` and :meth:`next_hop`, :meth:`path` by name)."""

    def __init__(
        self,
        graph: AttackGraph,
        *targets: str | int,
        local: bool = False,
        within: Collection[str] | None = None,
    ) -> None:
        """``within``: a local table of the nodes of those workloads and of none only
        (:meth:`AttackGraph._reverse_search`): their paths, not another workload's."""
        self.graph = graph
        self.targets = tuple(map(graph._id, targets))
        self.local = local
        self._d, self._hops, self._order = graph._reverse_search(self.targets, local, within)
        self._suffix: dict[int, tuple[tuple[StepInstance, ...], int]] = {
            t: ((), t) for t in self.targets
        }
        # per group: distance -> (smallest member, its owner, smallest of another owner);
        # in a local table of the members of no workload, and apart, per (workload,
        # distance) the smallest member of that workload
        self._group_best: dict[
            tuple[Group, str], dict[int, tuple[int, str | None, int | None]]
        ] = {}
        self._group_owned: dict[tuple[Group, str], dict[tuple[str, int], int]] = {}

    @property
    def dist(self) -> dict[str, int]:
        """The distances by name, in the order the search met the nodes (a view, made on
        first use: the searches read :attr:`_d`)."""
        view: dict[str, int] | None = self.__dict__.get("_dist")
        if view is None:
            view = self.__dict__["_dist"] = self.graph._view(self._d, self._order)
        return view

    def group_min(
        self, key: tuple[Group, str], want: int, excluded: str | None, own: str | None = None
    ) -> int | None:
        """The smallest member of group ``key`` at distance ``want`` not owned by
        ``excluded`` (``None`` if there is none); in a local table, of no workload or of
        ``own``'s."""
        best = self._group_best.get(key)
        if best is None:
            best = self._group_best[key] = {}
            owned = self._group_owned[key] = {}
            owners = self.graph._own
            local = self.local
            dist = self._d
            for node, owner in self.graph._fanouts[key].nodes.items():
                d = dist[node]
                if d < 0:
                    continue
                workload = owners[node] if local else None
                if workload is not None:
                    cur_owned = owned.get((workload, d))
                    if cur_owned is None or node < cur_owned:
                        owned[(workload, d)] = node
                    continue
                best[d] = _two_smallest(best.get(d), node, owner)
        member: int | None = None
        found = best.get(want)
        if found is not None:
            first, first_owner, other = found
            member = first if first_owner != excluded else other
        if own is not None and own != excluded:
            mine = self._group_owned[key].get((own, want))
            if mine is not None and (member is None or mine < member):
                member = mine
        return member

    def path(self, start: str | int) -> tuple[StepInstance, ...] | None:
        """The step instances from ``start`` to the nearest target, or ``None``."""
        i = self.graph._find(start) if isinstance(start, str) else start
        found = self.walk(i) if i is not None else None
        return found[0] if found is not None else None

    def next_hop(self, node: str) -> str:
        """:meth:`_next` by name."""
        return self.graph._nm(self._next(self.graph._id(node)))

    def _next(self, node: int) -> int:
        """The smallest successor of ``node`` one hop nearer the targets (in the local graph
        for a local table: none of another workload)."""
        best = self._hops[node]  # the explicit successors' (AttackGraph._reverse_search)
        refs = self.graph._refs_i.get(node)
        if refs:
            want = self._d[node] - 1
            own = self.graph._own[node] if self.local else None
            for key, excluded in refs:
                member = self.group_min(key, want, excluded, own)
                if member is not None and (best < 0 or member < best):
                    best = member
        assert best >= 0, f"no next hop from {self.graph._nm(node)}"  # dist came from one
        return best

    def walk(self, start: int) -> tuple[tuple[StepInstance, ...], int] | None:
        """The step instances from ``start`` to the nearest target, and that target, or
        ``None`` if unreachable."""
        if self._d[start] < 0:
            return None
        suffix = self._suffix
        hops = self._hops
        refs = self.graph._refs_i
        trail: list[int] = []
        node = start
        while node not in suffix:
            trail.append(node)
            node = self._next(node) if node in refs else hops[node]
            assert node >= 0, "a node the search reached without a next hop"  # (-1 wraps)
        tail, end = suffix[node]
        insts = self.graph._inst
        for n in reversed(trail):
            inst = insts[n]
            if inst is not None:
                tail = (inst, *tail)
            suffix[n] = (tail, end)
        return tail, end


class _Prefixes:
    """The shortest ways from the nearest of some start nodes (one forward search), walked
    back from any node they reach: at each step the predecessor one hop nearer, one of a
    preferred workload first, then the smallest node id; memoised per (node, preference)
    asked, and per node the way that prefers none (:meth:`upto`). By number (:attr:`dist`
    and :meth:`upto` by name)."""

    def __init__(
        self, graph: AttackGraph, starts: list[str], dist: list[int] | None = None
    ) -> None:
        """``dist``: the search's distances, found otherwise (a spliced graph's, from its
        base's); the order it met the nodes is then searched for only if :attr:`dist`
        is asked for."""
        self.graph = graph
        self._starts = starts  # (a name that is no node starts nothing: at 0 in dist)
        self._order: list[int] | None = None
        if dist is None:
            dist, self._order = graph._forward(graph._numbers(starts))
        self._d = dist
        # per node: (distance, workload or None for any) -> smallest explicit predecessor
        self._explicit: dict[int, dict[tuple[int, str | None], int]] = {}
        # per group: (distance, workload or None for any) -> (smallest referrer, the owner
        # it excludes, smallest referrer excluding another owner)
        self._refs: dict[
            tuple[Group, str], dict[tuple[int, str | None], tuple[int, str | None, int | None]]
        ] = {}
        self._upto: dict[tuple[int, str], tuple[tuple[StepInstance, ...], int]] = {}
        self._plain: dict[int, tuple[tuple[StepInstance, ...], int]] = {}  # _plain_upto
        self._plain_prev: dict[int, int] = {}

    @property
    def dist(self) -> dict[str, int]:
        """The distances by name, in the order the search met the nodes (a view, made on
        first use: the searches read :attr:`_d`)."""
        view: dict[str, int] | None = self.__dict__.get("_dist")
        if view is None:
            if self._order is None:
                self._order = self.graph._forward(self.graph._numbers(self._starts))[1]
            view = self.__dict__["_dist"] = {
                **dict.fromkeys(self._starts, 0),
                **self.graph._view(self._d, self._order),
            }
        return view

    def _explicit_best(self, node: int) -> dict[tuple[int, str | None], int]:
        found = self._explicit.get(node)
        if found is None:
            found = self._explicit[node] = {}
            owners = self.graph._own
            dist = self._d
            for p in self.graph._pred_i[node]:
                d = dist[p]
                if d < 0:
                    continue
                for bucket in ((d, None), (d, owners[p])):
                    cur = found.get(bucket)
                    if cur is None or p < cur:
                        found[bucket] = p
        return found

    def _ref_best(
        self, key: tuple[Group, str]
    ) -> dict[tuple[int, str | None], tuple[int, str | None, int | None]]:
        found = self._refs.get(key)
        if found is None:
            found = self._refs[key] = {}
            owners = self.graph._own
            dist = self._d
            for excluded, steps in self.graph._fanouts[key].refs.items():
                for p in steps:
                    d = dist[p]
                    if d < 0:
                        continue
                    for bucket in ((d, None), (d, owners[p])):
                        found[bucket] = _two_smallest(found.get(bucket), p, excluded)
        return found

    def _smallest_previous(self, node: int, owner: str | None) -> int | None:
        """The smallest predecessor of ``node`` one hop nearer the starts, of ``owner``'s
        workload (``None``: of any), over explicit edges and relation groups; or ``None``."""
        bucket = (self._d[node] - 1, owner)
        best = self._explicit_best(node).get(bucket)
        graph = self.graph
        for key in graph._member_i.get(node, ()):
            cur = self._ref_best(key).get(bucket)
            if cur is None:
                continue
            first, first_excl, other = cur
            p = first if first_excl != graph._fanouts[key].nodes[node] else other
            if p is not None and (best is None or p < best):
                best = p
        return best

    def _plain_previous(self, node: int) -> int:
        """The smallest predecessor of ``node`` one hop nearer the starts (memoised)."""
        found = self._plain_prev.get(node)
        if found is None:
            found = self._smallest_previous(node, None)
            assert found is not None, f"no predecessor of {node}"  # dist[node] came from one
            self._plain_prev[node] = found
        return found

    def _plain_upto(self, node: int) -> tuple[tuple[StepInstance, ...], int]:
        """:meth:`upto` preferring no workload: at each node the smallest predecessor;
        memoised per node (every preference that never finds a node of its own on this
        way shares it)."""
        memo = self._plain
        dist = self._d
        trail: list[int] = []
        n = node
        found = memo.get(n)
        while found is None:
            trail.append(n)
            if dist[n] == 0:
                found = ((), n)
                break
            n = self._plain_previous(n)
            found = memo.get(n)
        steps, start = found
        insts = self.graph._inst
        for t in reversed(trail):
            inst = insts[t]
            if inst is not None:
                steps = (*steps, inst)
            memo[t] = (steps, start)
        return steps, start

    def upto(self, node: str, prefer: str) -> tuple[tuple[StepInstance, ...], str]:
        """:meth:`_way` by name."""
        steps, start = self._way(self.graph._id(node), prefer)
        return steps, self.graph._nm(start)

    def _way(self, node: int, prefer: str) -> tuple[tuple[StepInstance, ...], int]:
        """The step instances from the nearest start up to ``node`` (included, if a step),
        and that start; ways through ``prefer``'s workload first: at each node back, the
        smallest predecessor one hop nearer of ``prefer``'s workload if one is, else the
        smallest of all.

        Most ways to a workload's door come from another workload and never meet a node
        of ``prefer``'s on the way back: such a way is the plain one
        (:meth:`_plain_upto`), shared by every preference, so only the nodes where
        ``prefer`` has a predecessor of its own need a way of their own (at 10k workloads,
        the ways to 57k nodes were walked again for 320k preferences). Memoised per
        (``node``, ``prefer``) asked."""
        memo = self._upto
        found = memo.get((node, prefer))
        if found is not None:
            return found
        dist = self._d
        trail: list[int] = []  # the nodes back from ``node`` whose steps follow ``found``
        plain = -1  # from trail[plain] on, the way back has taken the plain choices only
        n = node
        while True:
            if dist[n] == 0:
                if plain < 0:
                    trail.append(n)
                    found = ((), n)
                else:  # the plain way from trail[plain], unchanged by the preference
                    found = self._plain_upto(trail[plain])
                    del trail[plain:]
                break
            p = self._smallest_previous(n, prefer)  # of prefer's own workload
            trail.append(n)
            if p is None:
                if plain < 0:
                    plain = len(trail) - 1
                n = self._plain_previous(n)
                continue
            plain = -1
            n = p
            found = memo.get((n, prefer))
            if found is not None:
                break
        steps, start = found
        insts = self.graph._inst
        for t in reversed(trail):
            inst = insts[t]
            if inst is not None:
                steps = (*steps, inst)
        memo[(node, prefer)] = (steps, start)
        return steps, start
