"""What several exporters share: control titles, tactic order, the attack graph as plain data.

Everything here reads a :class:`~attackmap.graph.Report` and returns plain values, sorted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from attackmap.attack._atlas import atlas_url, load_atlas
from attackmap.attack._models import framework_of, tactic_label, tactic_rank

if TYPE_CHECKING:
    from attackmap.graph import Catalogue, Path, Report, TechniqueFinding


# Fixed timestamps for exports that need one (STIX): the latest ``modified`` of the
# techniques, mitigations, tactics and relationships of each full ATT&CK Enterprise release
# (checked against ../shared/attack by tests). Never "now": output must be reproducible.
RELEASE_TIMESTAMPS: dict[str, str] = {
    "17.1": "2025-05-02T19:13:42.314Z",
    "18.1": "2025-11-12T15:42:52.705Z",
}
FALLBACK_TIMESTAMP = "2017-06-01T00:00:00.000Z"  # ATT&CK's own first "created" date


def release_timestamp(attack_version: str) -> str:
    """The fixed timestamp of an ATT&CK release (a constant for unknown releases)."""
    return RELEASE_TIMESTAMPS.get(attack_version, FALLBACK_TIMESTAMP)


def attack_url(ident: str) -> str:
    """The page of a technique or mitigation: attack.mitre.org for ATT&CK (``T1611``,
    ``T1552.001``, ``M1048``), atlas.mitre.org for ATLAS (``AML.T0040``, ``AML.M0005``)."""
    if framework_of(ident) == "atlas":
        return atlas_url(ident)
    kind = "mitigations" if ident.startswith("M") else "techniques"
    return f"https://attack.mitre.org/{kind}/{ident.replace('.', '/')}/"


#: How each framework is named in text, and its STIX ``source_name``/``kill_chain_name``.
FRAMEWORK_LABEL = {"attack": "ATT&CK", "atlas": "ATLAS"}
FRAMEWORK_SOURCE = {"attack": "mitre-attack", "atlas": "mitre-atlas"}


def framework_label(ident: str) -> str:
    """``ATT&CK`` or ``ATLAS``: the framework of a technique or mitigation id."""
    return FRAMEWORK_LABEL[framework_of(ident)]


def _tactic_key(label: str) -> tuple[int, tuple[int, str]]:
    if label.startswith("ATLAS "):
        name = label[len("ATLAS ") :]
        order = [t.shortname for t in load_atlas().tactics()]
        return (1, (order.index(name) if name in order else len(order), name))
    return (0, tactic_rank(label))


def catalogue(report: Report) -> Catalogue:
    """The step/control catalogue the report was made with (the packaged one otherwise)."""
    if report.catalogue is not None:
        return report.catalogue
    from attackmap.attack import load_attack
    from attackmap.graph import load_catalogue

    return load_catalogue(load_attack())


@dataclass(frozen=True)
class ControlInfo:
    """A control instance as exporters show it (``drop-capability:SYS_ADMIN``)."""

    id: str
    title: str
    mitigations: tuple[str, ...]
    rationale: str


def control_name(control_id: str) -> str:
    """``drop-capability:SYS_ADMIN@Deployment/ns/x`` → ``drop-capability:SYS_ADMIN``."""
    return control_id.rpartition("@")[0] or control_id


def control_info(cat: Catalogue, name: str) -> ControlInfo:
    """Title, ATT&CK and ATLAS mitigations and rationale of ``control[:arg]``."""
    base, _, arg = name.partition(":")
    try:
        control = cat.control(base)
    except KeyError:
        return ControlInfo(name, name, (), "")
    title = control.title.replace("{arg}", arg) if arg else control.title
    return ControlInfo(name, title, control.mitigations, " ".join(control.rationale.split()))


def route(path: Path) -> str:
    """``entry > step > step`` (step ids); the entry says where it is when the path starts
    in another workload (``external via Deployment/web/ui > ...``)."""
    return " > ".join([path.start, *(s.id for s in path.steps)])


def first_location(path: Path, workload: str | None = None) -> tuple[str, int | None] | None:
    """Manifest file and line of the first fact (with a file) enabling the path's first
    step; of its first step in ``workload``, when the path starts in another one."""
    first = path.steps[:1]
    if path.origin and workload is not None:
        first = tuple(s for s in path.steps if s.workload == workload)[:1] or first
    for step in first:
        for use in step.facts:
            if use.path:
                return use.path, use.line
    return None


def findings_by_tactic(report: Report) -> dict[str, list[tuple[str, TechniqueFinding]]]:
    """tactic → [(workload, finding)]: ATT&CK tactics in matrix order, then ATLAS tactics
    (``ATLAS <shortname>``, see :func:`tactic_label`) in ATLAS matrix order; techniques
    sorted by id."""
    out: dict[str, list[tuple[str, TechniqueFinding]]] = {}
    rows = [(str(w.ref), t) for w in report.workloads for t in w.techniques]
    labels = {tactic_label(t.technique, x) for _, t in rows for x in t.technique.tactics}
    for label in sorted(labels, key=_tactic_key):
        out[label] = sorted(
            (
                (w, t)
                for w, t in rows
                if label in {tactic_label(t.technique, x) for x in t.technique.tactics}
            ),
            key=lambda wt: (wt[1].technique.id, wt[0]),
        )
    return out


# -- the attack graph as plain data (dot, graphml, html) ---------------------------------


@dataclass
class GraphData:
    """Nodes (id → attributes) and edges of the attack graph, with the reported paths marked.

    Node kinds: ``entry``, ``state``, ``step``, ``technique`` (the graph's per-step sinks are
    shown as the technique they realise).
    """

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)
    on_path: set[str] = field(default_factory=set)
    path_edges: set[tuple[str, str]] = field(default_factory=set)
    warnings: tuple[str, ...] = ()  # the report's (an input without workloads, ...)
    skipped: tuple[str, ...] = ()  # what was not analysed (:func:`skipped_lines`)


def skipped_lines(report: Report) -> tuple[str, ...]:
    """What the report did not analyse, one line each, in its order (as the table prints
    it): ``path:line: Kind/name: reason`` (``path:line: reason`` for a whole file)."""
    out = []
    for s in report.skipped:
        what = f"{s.kind}/{s.name}: " if s.kind and s.name else ""
        out.append(f"{s.source}: {what}{s.reason}".replace("\n", " "))
    return tuple(out)


def skipped_summary(report: Report) -> str:
    """One sentence counting what was not analysed (``""`` when nothing was skipped)."""
    n = len(report.skipped)
    return f"skipped {n} object(s) or file(s), not analysed" if n else ""


def _node_attrs(node: str, cat: Catalogue, report: Report) -> dict[str, str]:
    kind, _, rest = node.partition(":")
    if kind == "technique":
        names = {t.technique.id: t.technique.name for w in report.workloads for t in w.techniques}
        return {
            "kind": "technique",
            "label": f"{rest} {names.get(rest, '')}".strip(),
            "framework": framework_of(rest),
        }
    ident, _, where = rest.partition("@")
    if kind == "state" and ident.startswith("entry:"):
        return {"kind": "entry", "label": f"entry: {ident[6:]}\n{where}"}
    if kind == "state":
        try:
            title = cat.state(ident).title
        except KeyError:
            title = ident
        return {"kind": "state", "label": f"{title}\n{where}"}
    try:
        step = cat.step(ident)
        label = f"{step.technique} {step.title}\n{where}"
    except KeyError:
        label = f"{ident}\n{where}"
    return {"kind": "step", "label": label}


def graph_data(report: Report, *, paths_only: bool = False) -> GraphData:
    """The report's attack graph (or, with ``paths_only`` or without the analysis graph,
    only the nodes and edges of the reported paths)."""
    cat = catalogue(report)
    data = GraphData(warnings=tuple(report.warnings), skipped=skipped_lines(report))
    succ: dict[str, set[str]] = {}
    graph = report.attack_graph
    if graph is not None:
        for node, nxt in graph.edges():
            succ.setdefault(node, set()).add(_sink_to_technique(nxt, cat))
    for w in report.workloads:
        for t in w.techniques:
            for p in t.paths:
                _mark_path(data, p, t.technique.id, succ)
    if paths_only or graph is None:
        nodes = set(data.on_path)
        data.edges = set(data.path_edges)
    else:
        nodes = set(succ) | {n for targets in succ.values() for n in targets}
        data.edges = {(a, b) for a, targets in succ.items() for b in targets}
    data.nodes = {n: _node_attrs(n, cat, report) for n in sorted(nodes)}
    return data


def _sink_to_technique(node: str, cat: Catalogue) -> str:
    if not node.startswith("sink:"):
        return node
    try:
        return f"technique:{cat.step(node[5:]).technique}"
    except KeyError:
        return node


def _mark_path(data: GraphData, path: Path, technique: str, succ: dict[str, set[str]]) -> None:
    if not path.steps:
        return
    workload = path.steps[0].workload or ""
    chain = [f"state:entry:{path.entry}@{workload}"]
    for step in path.steps:
        node = f"step:{step.id}@{step.scope}"
        prev = chain[-1]
        if prev.startswith("step:"):
            # the state(s) between two steps: granted by the previous, required by this one
            between = sorted(n for n in succ.get(prev, ()) if node in succ.get(n, ()))
            chain.extend(between[:1])
        chain.append(node)
    chain.append(f"technique:{technique}")
    data.on_path.update(chain)
    data.path_edges.update(itertools.pairwise(chain))
