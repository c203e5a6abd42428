"""Placement: which workloads may share a node.

A node escape hands the attacker what is on *that* node: the tokens of the pods running
there. Which pods those can be follows from each pod's ``nodeSelector``, required
``nodeAffinity`` (terms ORed; ``matchExpressions`` In/NotIn/Exists/DoesNotExist/Gt/Lt,
``matchFields`` on ``metadata.name``), ``tolerations`` against the nodes' taints
(NoSchedule and NoExecute; PreferNoSchedule does not constrain) and ``nodeName`` (which
bypasses the scheduler: only NoExecute taints still apply). Preferred affinity does not
constrain. A DaemonSet runs on every node it selects and tolerates, with the tolerations
its controller adds.

The nodes are grouped into *node classes*: nodes no workload's constraints tell apart.

- With ``nodePools`` in the ClusterContext, a class is a pool (``gpu``), or one named node
  of it (``gpu/worker-1``) where a ``nodeName`` or ``matchFields`` singles it out.
- Without, the classes are inferred from the constraints alone: every combination of the
  label values the manifests mention (and of the node names they mention) is a possible
  node; combinations admitting the same workloads, or a subset of another's, are dropped.
  Taints are unknown, so tolerations separate nothing. When one class remains (nothing
  separates any two workloads) it is the single ``node`` of earlier versions: any workload
  may share a node with any other.

Each workload runs on the classes whose nodes admit it. A workload no node admits (its
constraints contradict each other, or no declared pool takes it) would stay Pending: it runs
on no class, so its escapes reach no node and no node holds its token or its containers,
while its own steps stay in the analysis (its manifest may yet run once a pool takes it); a
warning says so. Widening a placement (a toleration more, a selector, expression or
``nodeName`` fewer, one more ORed term) only adds nodes, so more privilege never removes a
technique: the conservative "anywhere" for an unschedulable pod, which a widening that made
it schedulable narrowed, is gone. The classes are few (grouped, not pairwise), so the graph
stays linear in the number of workloads.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from attackmap.model import NodeRequirement, NodeSelectorTerm, Toleration, Workload
from attackmap.model._context import ClusterContext, NodePool, NodeTaint
from attackmap.model._refs import trusted

ANY_NODE = ""
"""The name of the one node class when nothing separates workloads (scope label ``node``)."""

MAX_NODE_TYPES = 4096
"""Possible nodes tried at most; beyond, every workload may share a node (a warning)."""

MAX_CHECKS = 500_000
"""(distinct constraint x possible node) checks at most; beyond, likewise."""

# Labels the kubelet or the cloud sets on every node: unknown for a pool that does not
# declare them (a pod selecting kubernetes.io/os: linux still fits every pool).
_WELL_KNOWN_LABELS = (
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "node.kubernetes.io/instance-type",
)
_WELL_KNOWN_PREFIXES = (
    "topology.kubernetes.io/",
    "beta.kubernetes.io/",
    "failure-domain.beta.kubernetes.io/",
)

# Tolerations the DaemonSet controller adds to its pods (kube-controller-manager).
_DAEMONSET_TOLERATIONS = tuple(
    trusted(Toleration, key=key, operator="Exists", effect=effect)
    for key, effect in (
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    )
)
_DAEMONSET_HOST_NETWORK = trusted(
    Toleration, key="node.kubernetes.io/network-unavailable", operator="Exists", effect="NoSchedule"
)

_PENDING = (
    "; it would stay Pending: attackmap places it on no node (its escapes reach no node, no"
    " node holds its token or containers) and keeps its own steps"
)

_OTHER = "\x00other"  # a label value or node name the manifests do not mention


def _well_known(key: str) -> bool:
    return key in _WELL_KNOWN_LABELS or key.startswith(_WELL_KNOWN_PREFIXES)


@dataclass(frozen=True)
class Constraint:
    """What of a pod spec decides where it may run (equal constraints place alike)."""

    node_name: str | None
    selector: tuple[tuple[str, str], ...]
    terms: tuple[NodeSelectorTerm, ...] | None
    tolerations: tuple[Toleration, ...]

    @property
    def unconstrained(self) -> bool:
        return self.node_name is None and not self.selector and self.terms is None


def constraint(w: Workload) -> Constraint:
    """The placement constraint of ``w``'s pods, with the tolerations Kubernetes adds:
    the DaemonSet controller's, and one per extended resource requested (the
    ExtendedResourceToleration admission plugin; added here whether or not it is
    enabled, which only widens placement)."""
    pod = w.pod
    tolerations = list(pod.tolerations)
    if w.ref.kind == "DaemonSet":
        tolerations.extend(_DAEMONSET_TOLERATIONS)
        if pod.host_network:
            tolerations.append(_DAEMONSET_HOST_NETWORK)
    resources = sorted(
        {
            name
            for c in pod.containers
            for name in (*c.resources.gpu_resources, *c.resources.extended)
            if "/" in name
        }
    )
    tolerations.extend(trusted(Toleration, key=name, operator="Exists") for name in resources)
    return Constraint(
        node_name=pod.node_name or None,
        selector=tuple(sorted(pod.node_selector.items())),
        terms=pod.node_affinity,
        tolerations=tuple(tolerations),
    )


def tolerates(t: Toleration, taint: NodeTaint) -> bool:
    """Kubernetes' ``Toleration.ToleratesTaint``: an empty key with Exists tolerates every
    taint; an empty effect matches every effect; Equal (the default) compares values."""
    if t.effect and t.effect != taint.effect:
        return False
    if t.key and t.key != taint.key:
        return False
    operator = t.operator or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (t.value or "") == (taint.value or "")


@dataclass(frozen=True)
class NodeType:
    """One possible node: its labels, whether an undeclared well-known label is unknown,
    its name (``None``: a name the manifests do not mention) and taints."""

    labels: Mapping[str, str]
    unknown_well_known: bool
    name: str | None
    taints: tuple[NodeTaint, ...]

    def _holds(self, key: str, op: str, values: tuple[str, ...]) -> bool:
        value = self.labels.get(key)
        if value is None and self.unknown_well_known and _well_known(key):
            return True  # the pool does not say: it may carry any value
        if op == "In":
            return value is not None and value in values
        if op == "NotIn":
            return value is None or value not in values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        if value is None or len(values) != 1:
            return False
        try:
            have, limit = int(value), int(values[0])
        except ValueError:
            return False
        return have > limit if op == "Gt" else have < limit

    def _field(self, r: NodeRequirement) -> bool:
        if r.key != "metadata.name":
            return False  # the only field the scheduler supports
        if r.operator == "In":
            return self.name is not None and self.name in r.values
        if r.operator == "NotIn":
            return self.name is None or self.name not in r.values
        return False

    def admits(self, c: Constraint) -> bool:
        return self.rejects(c) is None

    def rejects(self, c: Constraint) -> str | None:
        """Why this node does not take a pod of constraint ``c`` (None: it does)."""
        if c.node_name is not None and c.node_name != self.name:
            return f"nodeName {c.node_name}"
        for k, v in c.selector:
            if not self._holds(k, "In", (v,)):
                return f"nodeSelector {k}={v}"
        if c.terms is not None and not any(
            all(self._holds(r.key, r.operator, r.values) for r in t.match_expressions)
            and all(self._field(r) for r in t.match_fields)
            and (t.match_expressions or t.match_fields)
            for t in c.terms
        ):
            return "required nodeAffinity"
        # nodeName bypasses the scheduler: the kubelet still refuses NoExecute taints
        effects = ("NoExecute",) if c.node_name is not None else ("NoSchedule", "NoExecute")
        for taint in self.taints:
            if taint.effect in effects and not any(tolerates(t, taint) for t in c.tolerations):
                value = f"={taint.value}" if taint.value else ""
                return f"taint {taint.key}{value}:{taint.effect} not tolerated"
        return None


@dataclass(frozen=True)
class NodeClass:
    """Nodes no workload's placement tells apart."""

    name: str  # ANY_NODE, a pool ("gpu"), a pool's node ("gpu/worker-1"), or inferred labels
    detail: str  # what the nodes are, in words
    path: str  # where that comes from ("ClusterContext/<name>", or "" when inferred)
    field: str

    @property
    def label(self) -> str:
        """The scope label of the class's node states: ``node`` or ``node:<name>``."""
        return "node" if self.name == ANY_NODE else f"node:{self.name}"


@dataclass(frozen=True)
class Placement:
    """The node classes of an inventory and where each workload may run."""

    classes: tuple[NodeClass, ...] = (
        NodeClass(
            ANY_NODE,
            "any node: no nodePools in the ClusterContext and nothing in the manifests keeps "
            "workloads apart; attackmap assumes every workload may share a node with any other",
            "",
            "",
        ),
    )
    runs_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # key -> class names
    why: Mapping[str, str] = field(default_factory=dict)  # key -> how, in words
    warnings: tuple[str, ...] = ()  # about the whole cluster
    unplaced: Mapping[str, str] = field(default_factory=dict)  # key -> why no node takes it

    def of(self, key: str) -> tuple[str, ...]:
        """The classes workload ``key`` may run on: none for one no node takes (it would
        stay Pending), every class for a key the placement was not computed for."""
        found = self.runs_on.get(key)
        return found if found is not None else self.names

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @cached_property
    def by_name(self) -> Mapping[str, NodeClass]:
        return {c.name: c for c in self.classes}

    def everywhere(self, key: str) -> bool:
        return len(self.of(key)) == len(self.classes)


def _mentioned(constraints: Iterable[Constraint]) -> tuple[dict[str, set[str]], set[str]]:
    """Label key -> values the constraints test it against (Gt/Lt thresholds as t-1, t,
    t+1), and the node names they mention."""
    keys: dict[str, set[str]] = {}
    names: set[str] = set()
    for c in constraints:
        if c.node_name is not None:
            names.add(c.node_name)
        for k, v in c.selector:
            keys.setdefault(k, set()).add(v)
        for t in c.terms or ():
            for r in t.match_expressions:
                values = keys.setdefault(r.key, set())
                if r.operator in ("Gt", "Lt"):
                    for v in r.values:
                        if v.lstrip("-").isdigit():
                            values.update(str(int(v) + d) for d in (-1, 0, 1))
                else:
                    values.update(r.values)
            for r in t.match_fields:
                if r.key == "metadata.name":
                    names.update(r.values)
    return keys, names


def _inferred_types(
    keys: Mapping[str, set[str]], names: set[str]
) -> list[tuple[str, NodeType]] | None:
    """Every combination of mentioned label values (or another value, or none) and
    mentioned node name (or another), with its description; None when too many."""
    options = [
        [(k, v) for v in sorted(values)] + [(k, _OTHER), (k, None)]
        for k, values in sorted(keys.items())
    ]
    count = len(names) + 1
    for o in options:
        count *= len(o)
        if count > MAX_NODE_TYPES:
            return None
    out: list[tuple[str, NodeType]] = []
    for combo in itertools.product(*options):
        labels = {k: v for k, v in combo if v is not None}
        parts = [f"{k}={'*' if v == _OTHER else v}" for k, v in combo if v is not None]
        for name in [*sorted(names), None]:
            desc = ",".join(([f"name={name}"] if name is not None else []) + parts)
            out.append((desc, NodeType(labels, False, name, ())))
    return out


def _pool_types(
    pool: NodePool, names: set[str], elsewhere: set[str]
) -> list[tuple[str | None, NodeType]]:
    """The pool's possible nodes: each mentioned name that may be in it (listed there, or
    listed in no pool when it lists none), and another."""
    listed = set(pool.nodes)
    candidates = sorted(names & listed) if listed else sorted(names - elsewhere)
    out: list[tuple[str | None, NodeType]] = [
        (n, NodeType(pool.labels, True, n, pool.taints)) for n in candidates
    ]
    if not listed or listed - names:
        out.append((None, NodeType(pool.labels, True, None, pool.taints)))
    return out


def _describe(w: Workload) -> str:
    """How ``w``'s pod spec constrains its placement, in words."""
    pod = w.pod
    parts = []
    if w.ref.kind == "DaemonSet":
        parts.append("a DaemonSet (on every node it selects and tolerates)")
    if pod.node_name:
        parts.append(f"nodeName {pod.node_name}")
    if pod.node_selector:
        parts.append(
            "nodeSelector " + ",".join(f"{k}={v}" for k, v in sorted(pod.node_selector.items()))
        )
    if pod.node_affinity is not None:
        n = len(pod.node_affinity)
        parts.append(f"required nodeAffinity ({n} term{'s' if n > 1 else ''})")
    if pod.tolerations:
        parts.append(
            "tolerates "
            + ",".join(
                "every taint"
                if not t.key and t.operator == "Exists"
                else f"{t.key or '*'}{':' + t.effect if t.effect else ''}"
                for t in pod.tolerations
            )
        )
    return "; ".join(parts) if parts else "no nodeSelector, nodeAffinity or nodeName"


def place(workloads: Iterable[Workload], context: ClusterContext | None) -> Placement:
    """The node classes and where each workload may run (see the module doc)."""
    ws = list(workloads)
    cons = {str(w.ref): constraint(w) for w in ws}
    why = {str(w.ref): _describe(w) for w in ws}
    distinct = sorted(set(cons.values()), key=repr)
    keys, names = _mentioned(distinct)
    pools = context.spec.node_pools if context is not None else ()
    ctx_path = f"ClusterContext/{context.metadata.name}" if context is not None else ""
    warnings: list[str] = []
    types: list[_Candidate] = []
    if pools:
        listed = {n for p in pools for n in p.nodes}  # a node is in one pool
        for i, pool in enumerate(pools):
            taints = ",".join(
                f"{t.key}{'=' + t.value if t.value else ''}:{t.effect}" for t in pool.taints
            )
            labels = ",".join(f"{k}={v}" for k, v in sorted(pool.labels.items()))
            detail = (
                f"node pool {pool.name} (labels: {labels or 'none'}; taints: {taints or 'none'})"
            )
            for name, nt in _pool_types(pool, names, listed):
                types.append(
                    _Candidate(
                        pool.name if name is None else f"{pool.name}/{name}",
                        nt,
                        detail if name is None else f"node {name} of {detail}",
                        f"spec.nodePools[{i}]",
                        (name is not None, 0, ""),
                    )
                )
    else:
        inferred = _inferred_types(keys, names)
        if inferred is None:
            warnings.append(
                "placement: the manifests' nodeSelector/nodeAffinity/nodeName values combine "
                f"into more than {MAX_NODE_TYPES} possible nodes; attackmap assumes any "
                "workload may share a node with any other"
            )
            inferred = []
        for desc, nt in inferred:
            others = sum(1 for v in nt.labels.values() if v == _OTHER)
            types.append(
                _Candidate(
                    desc or "unlabelled",
                    nt,
                    f"nodes with {desc}"
                    if desc
                    else "nodes without the labels and names the manifests select",
                    "",
                    (nt.name is not None, len(nt.labels) + others, desc),
                )
            )
    if len(distinct) * len(types) > MAX_CHECKS:
        warnings.append(
            f"placement: {len(distinct)} distinct placement constraints x {len(types)} possible "
            "nodes are too many to compare; attackmap assumes any workload may share a node "
            "with any other"
        )
        types = []
    admitted = [frozenset(i for i, c in enumerate(distinct) if t.node.admits(c)) for t in types]
    keep: list[int] = []
    if pools:
        # a pool's nodes, and those of its named nodes that admit a workload its other
        # nodes do not (a nodeName, a matchFields on metadata.name)
        by_pool: dict[str, list[int]] = {}
        for i, t in enumerate(types):
            by_pool.setdefault(t.name.partition("/")[0], []).append(i)
        for pool_name, members in by_pool.items():
            rest = [admitted[i] for i in members if types[i].node.name is None]
            kept = [
                i
                for i in _maximal(members, admitted, types)
                if types[i].node.name is None or not any(admitted[i] <= r for r in rest)
            ]
            kept += [i for i in members if types[i].node.name is None and i not in kept]
            if len(kept) == 1:  # one class in the pool: the pool
                types[kept[0]] = replace(types[kept[0]], name=pool_name)
            keep.extend(kept)
    else:
        keep = [i for i in _maximal(range(len(types)), admitted, types) if admitted[i]]
    # A workload no node takes would stay Pending: it runs on no class (its own steps stay;
    # what needs a node does not follow), and a warning says so.
    fits = frozenset().union(*admitted) if types else frozenset(range(len(distinct)))
    index = {c: i for i, c in enumerate(distinct)}
    unplaced = {
        key: f"placement: {why[key]} "
        + (
            "fits no node of the ClusterContext's nodePools"
            if pools
            else "contradicts itself: no node can satisfy it"
        )
        + _PENDING
        for key, c in cons.items()
        if index[c] not in fits
    }
    if not keep or (not pools and len(keep) == 1):
        return Placement(
            runs_on={key: () if key in unplaced else (ANY_NODE,) for key in cons},
            why=why,
            warnings=tuple(sorted(warnings)),
            unplaced=unplaced,
        )
    classes = sorted(
        (
            NodeClass(types[i].name, types[i].detail, ctx_path if pools else "", types[i].field)
            for i in keep
        ),
        key=lambda c: c.name,
    )
    runs = {
        key: tuple(sorted(types[i].name for i in keep if index[c] in admitted[i]))
        for key, c in cons.items()
    }
    if pools:  # say why a pool is out of reach: "not on gpu (taint ... not tolerated)"
        # once per distinct constraint: its workloads share the reasons
        pool_classes = sorted(
            (i for i in keep if "/" not in types[i].name), key=lambda i: types[i].name
        )
        not_on = [
            ", ".join(
                f"{types[i].name}: {types[i].node.rejects(c)}"
                for i in pool_classes
                if n not in admitted[i]
            )
            for n, c in enumerate(distinct)
        ]
        for key, c in cons.items():
            if out := not_on[index[c]]:
                why[key] += "; not on " + out
                if key in unplaced:
                    unplaced[key] = (
                        f"placement: {why[key]}: fits no node of the ClusterContext's "
                        f"nodePools{_PENDING}"
                    )
    return Placement(tuple(classes), runs, why, tuple(sorted(set(warnings))), unplaced)


@dataclass(frozen=True)
class _Candidate:
    """A possible node with the class it would be: name, detail, field, and a rank (lower
    is preferred as the name of nodes admitting the same workloads)."""

    name: str
    node: NodeType
    detail: str
    field: str
    rank: tuple[bool, int, str]


def _maximal(
    candidates: Iterable[int], admitted: list[frozenset[int]], types: list[_Candidate]
) -> list[int]:
    """The candidates whose admitted sets no other's strictly contains, one per distinct
    set (the best ranked)."""
    seen: set[frozenset[int]] = set()
    distinct = []
    for i in sorted(candidates, key=lambda i: (types[i].rank, i)):
        if admitted[i] not in seen:
            seen.add(admitted[i])
            distinct.append(i)
    return sorted(
        i for i in distinct if not any(admitted[i] < admitted[o] for o in distinct if o != i)
    )
