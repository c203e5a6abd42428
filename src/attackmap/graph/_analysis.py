"""Analysis: from an inventory to a :class:`Report` (paths, ``broken_by``, minimal controls).

:func:`analyze` is a pure function of its inputs. The :class:`Analyzer` it creates is kept
(privately) by the report for ``minimal_controls`` and ``apply`` (what-if re-analysis).
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import functools
import hashlib
import itertools
import logging
import operator
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Any, Literal, NamedTuple, TypeVar

from attackmap._args import as_strings
from attackmap._fork import (
    MAX_HANDOUT,
    auto_workers,
    fork_exchange,
    fork_handout,
    fork_map,
    fork_refusal,
    resident_memory,
)
from attackmap._gc import paused
from attackmap.attack import AttackKB, load_attack, within_goals
from attackmap.errors import AttackmapError
from attackmap.graph._catalogue import Catalogue, ControlInstance, load_catalogue
from attackmap.graph._engine import (
    ENTRY_KINDS,
    AttackGraph,
    GraphFacts,
    Needs,
    OwnedPaths,
    RawPath,
    StepInstance,
    owned_paths_forked,
)
from attackmap.graph._facts import FactBase, WorkloadFacts, derive_key, extract
from attackmap.graph._pss_join import (
    PSS_TRADEOFF_MAX_WORKLOADS,
    PSSLevels,
    pss_levels,
    pss_tradeoff,
)
from attackmap.graph._report import (
    DocumentTables,
    ElementTexts,
    FactUse,
    FindingRow,
    MinimalControls,
    Path,
    PathRow,
    PathStep,
    Reached,
    Report,
    ReportOutline,
    StepRow,
    TechniqueFinding,
    UseRow,
    WorkloadAnalysis,
    WorkloadOutline,
    common_controls,
    element_separator,
    write_document,
)
from attackmap.model import Inventory, load
from attackmap.model._refs import trusted

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_PATHS_PER_TECHNIQUE = 12
"""Paths kept per technique and workload: one per (entry, final step), shortest first."""

FORK_MIN_WORKLOADS = 100
"""``analyze(workers="auto")`` forks workers from this many workloads in the cluster. At 100,
by CPU accounting, two workers take ~0.8 of one process's time on two free cores for ~5%
more CPU; below, the whole analysis takes about a second (docs/scaling.md)."""

_CHUNK = 1 << 20
"""Bytes copied at a time from a worker's part of a written report."""

_PATCHED_KEPT = 64
"""The last workloads :meth:`Analyzer._fb_with` patched, kept to be given again."""

_GOAL_RUNS = 32
"""With goals, the workloads are cut into this many runs per process, handed out as
processes free up: a workload's minimal-control checks cost what its paths do not tell
(at 10k, one of two static runs took ~4x the other's time: docs/performance.md)."""

GOAL_FORK_GROWTH = 1.6
"""With goals, ``workers="auto"`` counts this process this much larger than it is once the
analysis is built: its processes fork after the path search. Measured at the two forks of
the CLI's JSON with ``--goal`` (synthetic clusters): 1.14x and 1.31x at 1k workloads,
1.29x and 1.54x at 10k; two processes at 10k took 1,248 MB against 424 MB at the count,
what 1.6 with :data:`attackmap._fork.WORKER_SHARE` and ``GROWTH_SHARE`` allow with 15% to
spare (docs/scaling.md, "How many workers ``auto`` forks")."""

MAX_EXACT_CANDIDATES = 24
"""Beyond this many candidate controls, minimal_controls falls back to a greedy cover."""

# Base-fact families that live on containers (controls add them there); others are pod-level.
_CONTAINER_FAMILIES = (
    "privileged",
    "cap_",
    "uid_root",
    "allow_privilege_escalation",
    "seccomp:",
    "apparmor:",
    "hostpath:",
    "gpu",
    "env:",
    "secret_mount",
    "model_store:",
    "remote_service",
    "limits:",
    "long_running",
    "pid_peer:",
)


KeptPath = tuple[str, str | None, tuple[StepInstance, ...]]
"""A reported path: entry kind, origin (the starting workload when not the one the path is
listed under), step instances."""


_Ranked = tuple[str, bool, list[PathRow]]
"""A technique of a workload being written: its id, whether paths were left out, and the
kept paths (entry, origin, the step instances made)."""

_Prepared = tuple[DocumentTables, list[tuple[WorkloadFacts, list[_Ranked]]], dict[str, Reached]]
"""A document made ready to write in one process: its tables, each workload's techniques
with their paths, every technique reached."""


_UseFields = tuple[str, str, int | None, str, str]
"""A fact use's fields: fact, path, line, field, detail (:class:`FactUse`'s order)."""

U = TypeVar("U", FactUse, UseRow)

_SentStep = tuple[
    str, str, str, str, str | None, str | None, tuple[_UseFields, ...], tuple[str, ...]
]
"""A :class:`StepRow` as a forked process sends it: its fields, its fact uses' as tuples."""


class _RunPart:
    """What a process that writes a run of the workloads tells the one that writes the
    document, before writing (:meth:`ReportWriter.write`): each workload's techniques, and
    the steps its run uses in order of first use (sent as tuples: :data:`_SentStep`)."""

    __slots__ = ("found", "steps")

    def __init__(
        self, found: list[tuple[str, ...]], steps: list[StepRow] | list[_SentStep]
    ) -> None:
        self.found = found
        self.steps = steps

    def __reduce__(self) -> tuple[Any, ...]:
        return _RunPart, (self.found, _sent(self.steps))


def _sent(steps: Sequence[StepRow | _SentStep]) -> list[_SentStep]:
    """Steps as a forked process sends them (:meth:`Analyzer._sent_row` makes them records
    again): plain tuples, which pickle in a fraction of the records' time, one tuple per
    distinct fact use (pickled once)."""
    uses: dict[_UseFields, _UseFields] = {}
    return [(*s[:6], tuple([uses.setdefault(u, (*u,)) for u in s[6]]), s[7]) for s in steps]


def ranked_paths(workload: str, raw: Iterable[RawPath]) -> list[tuple[str, bool, list[KeptPath]]]:
    """``workload``'s findings before any per-step work: per reachable technique (sorted
    by id), whether paths were left out and the paths kept, best first (shortest, then by
    entry kind in :data:`ENTRY_KINDS` order, then by step ids), at most
    :data:`MAX_PATHS_PER_TECHNIQUE`. Repeated paths count once; a path is a technique's
    by its last step. Which step instances a report holds, and in which order, follows
    from this alone."""
    entry_rank = {e: i for i, e in enumerate(ENTRY_KINDS)}
    by_tech: dict[str, list[tuple[tuple[Any, ...], str, str | None, tuple[StepInstance, ...]]]] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for entry, start, steps in raw:
        if not steps:
            continue
        ids = tuple([s.id for s in steps])
        key = (entry, ids)
        if key in seen:
            continue
        seen.add(key)
        order = (len(steps), entry_rank.get(entry, 9), tuple([s.step.id for s in steps]), ids)
        origin = start if start != workload else None
        by_tech.setdefault(steps[-1].step.technique, []).append((order, entry, origin, steps))
    findings = []
    for tid in sorted(by_tech):
        ranked = sorted(by_tech[tid], key=lambda item: item[0])
        kept = [
            (entry, origin, steps)
            for _order, entry, origin, steps in ranked[:MAX_PATHS_PER_TECHNIQUE]
        ]
        findings.append((tid, len(ranked) > MAX_PATHS_PER_TECHNIQUE, kept))
    return findings


class _SharedStep(NamedTuple):
    """What the instances of a step over equal base facts share (:meth:`Analyzer._shared`)."""

    cites: tuple[tuple[str, str], ...]
    """The facts an instance cites, each as its name in the report (``fact`` or
    ``fact <- base fact``) and the base fact whose evidence it gives."""
    breaking: tuple[tuple[ControlInstance, bool], ...]
    """The control instances that alone stop the step firing, with whether each is a
    cluster-context control (in catalogue order)."""


def _is_ctx_control(ci: ControlInstance) -> bool:
    return all(p.startswith("ctx:") for p in ci.removes + ci.adds)


class Analyzer:
    """Holds one analysis' inputs and derived structures."""

    def __init__(
        self,
        inventory: Inventory,
        *,
        kb: AttackKB,
        catalogue: Catalogue,
        entries: tuple[str, ...],
        seccomp_root: FsPath | None,
        assume_kernel_exploit: bool,
        goals: tuple[str, ...],
        documents: list[Any] | None,
        namespace: str | None,
        manifests: bool = True,
    ) -> None:
        """``manifests=False``: once the facts are taken, let go of the inventory and the
        documents (a report writer's analysis: it needs the fact base, where each workload
        is written and its Pod Security levels, evaluated here first). At 10k workloads
        the graph and the search then take the memory the manifests held (the CLI's
        peak ~780 -> ~610 MB: docs/performance.md)."""
        self._inventory: Inventory | None = inventory
        self.skipped = inventory.skipped
        self.warnings = report_warnings(inventory)
        self.kb = kb
        from attackmap._severity import load_severities

        self.severities = load_severities(kb)
        self.catalogue = catalogue
        self.entries = entries
        self.seccomp_root = seccomp_root
        self.assume_kernel_exploit = assume_kernel_exploit
        self.goals = goals
        self.documents = documents
        self.namespace = namespace
        fb = extract(
            inventory, assume_kernel_exploit=assume_kernel_exploit, seccomp_root=seccomp_root
        )
        self._pss_levels: dict[str, PSSLevels] = {}
        if not manifests:
            self._pss_levels = {wf.key: pss_levels(wf.workload) for wf in fb.workloads}
            fb = replace(fb, workloads=tuple(replace(wf, manifest=None) for wf in fb.workloads))
            self._inventory = self.documents = None
        self.fb = fb
        # what each step's instances need of their scope's facts (every graph's)
        self._needs: dict[str, Needs] = {}
        # (without the manifests, built on first use: the caller lets go of them first)
        self._graph: AttackGraph | None = self._built() if manifests else None
        self._places: dict[str, int] | None = None  # each workload's place in fb.workloads
        # the last workloads patched (_fb_with), by key and controls
        self._patched_kept: OrderedDict[tuple[str, tuple[str, ...]], WorkloadFacts]
        self._patched_kept = OrderedDict()
        self._instances: dict[tuple[str, str | None], ControlInstance] = {}
        # Memos of report(), dropped when it returns: facts derived with one control
        # applied, and equal FactUse objects (a writer's: UseRow records, each its own key).
        self._derived: dict[tuple[frozenset[str], Any], frozenset[str]] = {}
        self._uses: dict[_UseFields, FactUse] = {}
        self._use_rows: dict[_UseFields, UseRow] = {}
        self._broken: dict[frozenset[str], tuple[str, ...]] = {}
        # Pure-function memos of this analysis (see _touching and _shared).
        self._touch_memo: dict[frozenset[str], tuple[tuple[ControlInstance, bool], ...]] = {}
        self._shared_memo: dict[
            tuple[str, frozenset[str], tuple[str | None, str | None] | None], _SharedStep
        ] = {}

    @property
    def inventory(self) -> Inventory:
        """The analysed inventory: raises where the analysis let the manifests go."""
        if self._inventory is None:
            raise AttackmapError(
                "this analysis kept the facts of its manifests, not the manifests",
                hint="analyse with attackmap.analyze() for a report that keeps them",
            )
        return self._inventory

    def pss_levels_of(self, wf: WorkloadFacts) -> PSSLevels:
        """``wf``'s Pod Security levels (:func:`pss_levels`)."""
        found = self._pss_levels.get(wf.key)
        return found if found is not None else pss_levels(wf.workload)

    @property
    def graph(self) -> AttackGraph:
        """The attack graph of the analysis; built again (the same graph: a pure function of
        the fact base) when :meth:`report` let it go."""
        if self._graph is None:
            self._graph = self._built()
        return self._graph

    def _built(self) -> AttackGraph:
        graph = AttackGraph(self.fb, self.catalogue)
        self._needs = graph.needs
        return graph

    # -- paths -----------------------------------------------------------------------------

    def _raw_paths(
        self,
        graph: AttackGraph,
        workloads: Iterable[str],
        sinks: Iterable[str] | None = None,
        workers: int = 1,
    ) -> dict[str, OwnedPaths]:
        """workload -> its paths (entry, start workload, step instances): per (entry, sink) the
        shortest of the paths the workload owns (:meth:`AttackGraph.owned_paths`); with
        ``workers`` > 1, every sink's, searched in that many processes
        (:func:`owned_paths_forked`: the same paths)."""
        if workers > 1 and sinks is None:
            return owned_paths_forked(graph, self.entries, workloads, workers)
        return graph.owned_paths(self.entries, workloads, sinks)

    def _fact_uses(
        self,
        inst: StepInstance,
        shared: _SharedStep,
        graph: GraphFacts,
        use: Callable[[_UseFields], U],
    ) -> tuple[U, ...]:
        """The facts ``inst`` cites (``shared.cites``, see :meth:`_shared`), each with the
        evidence of its base fact in the instance's own scope, and where it lands; each
        made by ``use`` (:meth:`_use`, :meth:`_use_row`)."""
        sf = inst.scope
        workload = sf.scope.workload
        wf = graph.workloads.get(workload or "")
        evidence = wf.evidence if wf is not None else None
        ident = None
        if wf is None and workload is not None:
            ident = graph.fb.identity_index.get(workload)
        container = f"{sf.container.name}/" if wf is not None and sf.container is not None else None
        context = self.fb.context_evidence
        uses: list[U] = []
        for name, base in shared.cites:
            ev = None
            if container is not None and evidence is not None:
                ev = evidence.get(container + base)
            if ev is None and evidence is not None:
                ev = evidence.get(base)
            if ev is None and ident is not None:
                ev = ident.evidence.get(base)
            if ev is None:
                ev = context.get(base)
            fields: _UseFields = (name, "", None, "", "")
            if ev is not None:
                fields = (name, ev.path, ev.line, ev.field, ev.detail)
            uses.append(use(fields))
        placed = self._placement_use(inst, graph)
        if placed is not None:
            uses.append(use(placed))
        return tuple(uses)

    def _placement_use(self, inst: StepInstance, graph: GraphFacts) -> _UseFields | None:
        """Where a node step lands, as a fact use: for a node-scope step its node class
        (``node:gpu``, ``node:any``); for a container step that reaches the node (an escape,
        tokens read through a host mount) the classes its workload may run on
        (``runs_on:gpu``, ``runs_on:any``) and why. Not a condition of the step: it says
        which node's tokens and pods follow, and when that is every node, that attackmap
        assumed so."""
        scope = inst.scope.scope
        placement = graph.fb.placement
        fields: _UseFields
        if scope.level == "node" and (inst.step.target is not None or len(placement.classes) > 1):
            # (with one node class, only where it decides what follows: the node's tokens)
            nc = placement.by_name[scope.node]
            fields = (f"node:{nc.name or 'any'}", nc.path, None, nc.field, nc.detail)
        elif scope.level == "container" and (
            inst.step.target == "node_workload_tokens"
            # with one node class, the node step that follows says it (and a report stays
            # smaller: every escape would repeat it)
            or (len(placement.classes) > 1 and bool(self.catalogue.node_grants(inst.step)))
        ):
            wf = graph.workloads[str(scope.workload)]
            key = wf.key
            on = placement.of(key)
            anywhere = placement.everywhere(key)
            detail = placement.why.get(key, "")
            if key in placement.unplaced:
                detail = placement.unplaced[key]
            elif anywhere and not placement.classes[0].path:
                detail += (
                    "; no nodePools in the ClusterContext and nothing in the manifests keeps it "
                    "apart: attackmap assumes it may share a node with any workload"
                )
            elif anywhere:
                detail += "; fits every node pool"
            name = "any" if anywhere else ",".join(on) or "none"  # none: it stays Pending
            source = wf.source
            fields = (f"runs_on:{name}", source.path, source.line, "spec", detail)
        else:
            return None
        return fields

    def _use(self, fields: _UseFields) -> FactUse:
        """One object per distinct fact use (one fact of one manifest line, cited by many
        steps); the fields are already validated (strings from the evidence)."""
        use = self._uses.get(fields)
        if use is None:
            use = self._uses[fields] = trusted(
                FactUse,
                fact=fields[0],
                path=fields[1],
                line=fields[2],
                field=fields[3],
                detail=fields[4],
            )
        return use

    def _use_row(self, fields: _UseFields) -> UseRow:
        """:meth:`_use` as a writer's record: one per distinct fact use, its own key."""
        row = self._use_rows.get(fields)
        if row is None:
            row = UseRow(*fields)
            self._use_rows[row] = row
        return row

    def _path_step(self, inst: StepInstance, graph: GraphFacts) -> PathStep:
        shared = self._shared(inst)
        return self._step_of(
            inst,
            self._fact_uses(inst, shared, graph, self._use),
            tuple(sorted(self._targets(shared, inst, graph))),
        )

    def _step_row(self, inst: StepInstance, graph: GraphFacts) -> StepRow:
        """:meth:`_path_step` as a writer's record (the same fields)."""
        shared = self._shared(inst)
        return self._row_of(
            inst,
            self._fact_uses(inst, shared, graph, self._use_row),
            tuple(sorted(self._targets(shared, inst, graph))),
        )

    @staticmethod
    def _step_of(
        inst: StepInstance, facts: tuple[FactUse, ...], broken_by: tuple[str, ...]
    ) -> PathStep:
        s = inst.scope.scope
        return trusted(
            PathStep,
            id=inst.step.id,
            technique=inst.step.technique,
            title=inst.step.title,
            scope=s.label,
            workload=s.workload,
            container=s.container,
            facts=facts,
            broken_by=broken_by,
        )

    @staticmethod
    def _row_of(
        inst: StepInstance, facts: tuple[UseRow, ...], broken_by: tuple[str, ...]
    ) -> StepRow:
        step, s = inst.step, inst.scope.scope
        return StepRow(
            step.id, step.technique, step.title, s.label, s.workload, s.container, facts, broken_by
        )

    # -- controls --------------------------------------------------------------------------

    def _shared(self, inst: StepInstance) -> _SharedStep:
        """What every instance of ``inst``'s step over equal base facts (and container
        derivation keys, :func:`derive_key`) has in common: the facts it cites and the
        control instances that alone stop it firing. Its scope's facts and their provenance
        are derived from those alone, so the instances of one step share this in every
        scope, workload and graph of the analysis (a cluster's scopes hold a few thousand
        distinct base sets; a report, ten times as many instances)."""
        sf = inst.scope
        key = (inst.step.id, sf.base, derive_key(sf.container))
        found = self._shared_memo.get(key)
        if found is None:
            enabling = self._needs[inst.step.id].enabling(sf.facts)
            cites: list[tuple[str, str]] = []
            seen: set[str] = set()
            for fact in enabling:
                sources = sf.because.get(fact, ())
                for base in (fact, *sources) if fact in sf.base else sources or (fact,):
                    if base not in seen:
                        seen.add(base)
                        cites.append((base if base == fact else f"{fact} <- {base}", base))
            # the facts a control must remove to stop the step: those it needs and the base
            # facts they come from
            relevant = seen.union(enabling)
            breaking = tuple(
                (ci, is_ctx) for ci, is_ctx in self._touching(relevant) if self._breaks(ci, inst)
            )
            found = self._shared_memo[key] = _SharedStep(tuple(cites), breaking)
        return found

    def _touching(self, relevant: set[str]) -> tuple[tuple[ControlInstance, bool], ...]:
        """Control instances whose ``removes`` touch one of the ``relevant`` facts, with
        whether each is a cluster-context control (in catalogue order)."""
        key = frozenset(relevant)
        found = self._touch_memo.get(key)
        if found is not None:
            return found
        out: list[tuple[ControlInstance, bool]] = []
        for control in self.catalogue.controls:
            args: Sequence[str | None] = control.args_for(key) if control.parameter else (None,)
            for arg in args:
                ci = self._instance(control.id, arg)
                if ci.removes_any(key):
                    out.append((ci, _is_ctx_control(ci)))
        found = self._touch_memo[key] = tuple(out)
        return found

    def _instance(self, control: str, arg: str | None) -> ControlInstance:
        key = (control, arg)
        found = self._instances.get(key)
        if found is None:
            found = self._instances[key] = self.catalogue.control(control).instantiate(arg)
        return found

    def _breaks(self, ci: ControlInstance, inst: StepInstance) -> bool:
        sf = inst.scope
        base = ci.transform(sf.base)
        key = (base, derive_key(sf.container))
        facts = self._derived.get(key)
        if facts is None:
            facts = self._derived[key] = self.fb.derived_facts(base, sf.container)
        return not self._needs[inst.step.id].fires(facts)

    def _targets(self, shared: _SharedStep, inst: StepInstance, graph: GraphFacts) -> set[str]:
        """The controls of ``shared.breaking`` as ``control@target``: cluster-context ones
        at ``cluster``, the others at ``inst``'s workload where its manifest takes them."""
        from attackmap.graph._patches import applicable

        wf = graph.workloads.get(inst.scope.scope.workload or "")
        out: set[str] = set()
        for ci, is_ctx in shared.breaking:
            if is_ctx:
                out.add(f"{ci.id}@cluster")
            elif wf is not None and applicable(ci, wf.ref):
                out.add(f"{ci.id}@{wf.key}")
        return out

    def _breakers(self, inst: StepInstance, graph: GraphFacts) -> frozenset[str]:
        """Every control (``control@target``) that alone stops ``inst`` from firing,
        kept per instance of ``graph`` (the paths :meth:`broken_by` is asked about share
        their steps)."""
        memo = graph.memo.setdefault("breakers", {})
        found: frozenset[str] | None = memo.get(inst.id)
        if found is None:
            found = memo[inst.id] = frozenset(self._targets(self._shared(inst), inst, graph))
        return found

    def broken_by(self, steps: Sequence[StepInstance], graph: AttackGraph) -> tuple[str, ...]:
        """Every control that alone breaks the path: it stops one of its steps firing."""
        found: set[str] = set()
        for inst in steps:
            found |= self._breakers(inst, graph.facts)
        key = frozenset(found)
        out = self._broken.get(key)
        if out is None:  # paths broken by the same controls share one tuple
            out = self._broken[key] = tuple(sorted(found))
        return out

    def _path(self, entry: str, origin: str | None, steps: tuple[PathStep, ...]) -> Path:
        """A reported path (``origin``: the workload whose entry point starts it, when not
        the one it is listed under); its ``broken_by`` is the union of its steps' (each
        already the controls that alone stop that step), one shared tuple per distinct set."""
        found: set[str] = set()
        for step in steps:
            found.update(step.broken_by)
        key = frozenset(found)
        broken_by = self._broken.get(key)
        if broken_by is None:
            broken_by = self._broken[key] = tuple(sorted(found))
        return trusted(Path, entry=entry, steps=steps, broken_by=broken_by, origin=origin)

    def _cached_step(self, inst: StepInstance, graph: GraphFacts) -> PathStep:
        memo = graph.memo.setdefault("steps", {})
        step: PathStep | None = memo.get(inst.id)
        if step is None:
            step = memo[inst.id] = self._path_step(inst, graph)
        return step

    # -- report ----------------------------------------------------------------------------

    def _findings(
        self,
        graph: GraphFacts,
        workload: str,
        raw: Iterable[RawPath],
    ) -> tuple[TechniqueFinding, ...]:
        """``workload``'s findings from its paths (``(entry, start workload, steps)``)."""
        findings = []
        keys = graph.workloads
        for tid, truncated, kept in ranked_paths(workload, raw):
            paths = tuple(
                self._path(
                    entry,
                    # the workload's own key object: the path search spells it anew for
                    # each path, and the report keeps an origin per path (~18 MB at 10k)
                    keys[origin].key if origin is not None else None,
                    tuple(self._cached_step(s, graph) for s in steps),
                )
                for entry, origin, steps in kept
            )
            technique = self.kb.technique(tid)
            findings.append(
                trusted(
                    TechniqueFinding,
                    technique=technique,
                    paths=paths,
                    truncated=truncated,
                    severity=self.severities.of(tid, technique.tactics),
                )
            )
        return tuple(findings)

    def report(self, only: Collection[str] | None = None, workers: int = 1) -> Report:
        """The report; with ``only`` (workload keys), the analyses of those workloads
        alone, each exactly as in the whole report (a shard: ``attackmap.engines``).

        ``workers`` > 1: first the path search in that many processes, the sinks split
        between them (:func:`owned_paths_forked`: the searches every sink shares run here
        first); then the workloads' analyses (findings, ``broken_by``, Pod Security
        trade-off, minimal controls) in as many processes, forked once the paths are found,
        so they share the fact base, the scoped facts and the paths copy-on-write; each
        analyses contiguous runs of the workloads in report order (one each; with goals,
        many, taken as processes free up) and this process joins them in that order (the
        report is the same). This process lets go of the paths of the runs the workers
        took. Where forking is refused
        (:func:`attackmap._fork.fork_refusal`: another thread runs, not Linux, a worker
        already), all run here."""
        chosen, raw, scoped, parts = self._paths(only, workers)
        # a workload's analysis grows with its paths
        runs = _handed_runs(chosen, [1 + len(raw[wf.key]) for wf in chosen], parts, self.goals)

        def taken(i: int) -> None:
            for wf in runs[i]:  # a worker's paths: it has its copy
                del raw[wf.key]

        analyses = [
            a
            for run in fork_handout(
                lambda _worker, i: self._analyses(scoped, raw, runs[i]),
                len(runs),
                parts,
                taken=taken,
            )
            for a in run
        ]
        report = self._report(tuple(analyses))
        report._analyzer = self
        self._done(scoped)
        return report

    def _paths(
        self, only: Collection[str] | None, workers: int
    ) -> tuple[list[WorkloadFacts], dict[str, OwnedPaths], GraphFacts, int]:
        """The workloads to report (``only``: their keys; all by default) in report order,
        their paths (:meth:`_raw_paths`, searched in ``workers`` processes), what the
        findings need of the graph, and how many processes work on them
        (:meth:`_chosen`)."""
        chosen, parts = self._chosen(only, workers)
        graph = self.graph
        raw = self._raw_paths(graph, [wf.key for wf in chosen], workers=parts)
        del graph
        return chosen, raw, self._searched(), parts

    def _chosen(
        self, only: Collection[str] | None, workers: int
    ) -> tuple[list[WorkloadFacts], int]:
        """The workloads to report (``only``: their keys; all by default) in report order,
        and how many processes work on them: never more than workloads, one where forking
        is refused."""
        chosen = sorted(
            (wf for wf in self.fb.workloads if only is None or wf.key in only),
            key=lambda wf: wf.ref.sort_key(),
        )
        parts = max(1, min(workers, len(chosen)))
        if parts > 1:
            refusal = fork_refusal()
            if refusal is not None:
                logger.debug("analysing %d workloads in one process: %s", len(chosen), refusal)
                parts = 1
        if parts > 1:
            logger.debug("analysing %d workloads in %d processes", len(chosen), parts)
        return chosen, parts

    def origin(self) -> str:
        """A digest of what this analysis read and was asked: every document's content and
        where it is (in any order: a directory or its files listed), or, for an inventory
        given as it is, the inventory; the cluster context; the entry points, goals and
        other options; the ATT&CK and ATLAS releases. The shards of one cluster's split
        share it; a shard of other inputs (another cluster, a file edited between the
        shards' runs) or other options does not (:func:`attackmap.engines.join` refuses to
        mix them). Not covered: an ATT&CK bundle of the same release with other content."""
        digest = hashlib.sha256()
        root = None if self.seccomp_root is None else str(FsPath(self.seccomp_root).resolve())
        asked = (
            self.kb.version,
            self.kb.atlas.version,
            self.entries,
            self.goals,
            self.assume_kernel_exploit,
            self.namespace,
            root,
        )
        digest.update(repr(asked).encode())
        inventory = self._inventory
        if inventory is not None:
            digest.update(repr(inventory.context).encode())
        if self.documents is not None:
            # each document's digest (content and place), sorted: the order files are
            # listed in changes no report
            parts = sorted(
                hashlib.sha256(repr((d.path, d.index, d.helm_source, d.data)).encode()).digest()
                for d in self.documents
            )
            digest.update(b"".join(parts))
        elif inventory is not None:
            digest.update(inventory.model_dump_json().encode())
        return digest.hexdigest()

    def _searched(self) -> GraphFacts:
        """What the findings need of the graph, once its paths are found. Above
        :data:`PSS_TRADEOFF_MAX_WORKLOADS` the graph itself is let go."""
        graph = self.graph
        graph.drop_caches()  # the forward searches and memos: a distance per node each, done with
        scoped = graph.facts
        if len(self.fb.workloads) > PSS_TRADEOFF_MAX_WORKLOADS and not self.goals:
            # The paths are found and no Pod Security re-analysis or minimal controls
            # (whose patched graphs are made from it) follow: the graph's nodes and edges
            # (a third of what the analysis holds) go before the report's objects are made
            # (and before any fork); report.graph, minimal_controls() and apply() build it
            # again.
            self._graph = None
        return scoped

    def _report(self, analyses: tuple[WorkloadAnalysis, ...]) -> Report:
        """The report of ``analyses`` (its version, entries, skipped objects, warnings)."""
        return Report.model_construct(  # the analysis' own values: not validated again
            attack_version=self.kb.version,
            atlas_version=self.kb.atlas.version,
            entries=self.entries,
            workloads=analyses,
            skipped=self.skipped,
            warnings=tuple(sorted({*self.warnings, *self.fb.placement.warnings})),
        )

    def _done(self, scoped: GraphFacts) -> None:
        """Let go what only making a report needed: derivations with one control applied,
        per-instance breakers and path steps (the report holds what it uses)."""
        self._derived.clear()
        self._uses.clear()
        self._use_rows.clear()
        self._broken.clear()
        self._patched_kept.clear()
        if self._graph is not None:
            self._graph.drop_caches()
        scoped.memo.clear()

    # -- the report written as it is made ------------------------------------------------

    def report_writer(self, workers: int = 1) -> ReportWriter:
        """A writer of :meth:`report`'s document (``Report.write_json``'s text, byte for
        byte) that never makes the report (:class:`ReportWriter`), made ready to write:
        the paths found and ranked, and each step instance the kept paths use made once
        (its facts and ``broken_by``), in order of first use. ``workers``: processes that
        make the step instances and write the workloads' part, as in :meth:`report`.

        Without goals, several processes do all of that when the writer writes: each
        searches, ranks, makes the steps of and writes a run of the workloads
        (:meth:`ReportWriter.write`); here the graph is built and the searches every run
        shares are made, for the forked processes to inherit."""
        if workers > 1 and not self.goals:
            chosen, processes = self._chosen(None, workers)
            if processes > 1:
                graph = self.graph
                graph.shared_searches(self.entries)
                # a workload's paths, steps and text grow with its part of the graph
                nodes = [1 + len(graph._nodes_of(wf.key)) for wf in chosen]
                runs = _balanced_runs(chosen, nodes, processes)
                return ReportWriter(self, graph.facts, processes, runs=runs)
        chosen, raw, scoped, processes = self._paths(None, workers)
        ranked = [(wf, ranked_paths(wf.key, raw.pop(wf.key))) for wf in chosen]
        steps = self._first_used_steps(ranked, scoped, processes)
        workloads = self._rows(ranked, steps)
        made = list(steps.values())  # in order of first use
        del steps
        reached = self._reached(tid for _wf, rows in workloads for tid, _t, _p in rows)
        techniques = {tid: (r.technique, r.severity) for tid, r in reached.items()}
        tables = DocumentTables(made, techniques)
        return ReportWriter(self, scoped, processes, prepared=(tables, workloads, reached))

    def _rows(
        self,
        ranked: list[tuple[WorkloadFacts, list[tuple[str, bool, list[KeptPath]]]]],
        steps: dict[str, StepRow],
    ) -> list[tuple[WorkloadFacts, list[_Ranked]]]:
        """Each ranked workload's techniques with their kept paths' steps made (``steps``,
        by instance id), ``ranked`` emptied on the way."""
        workloads: list[tuple[WorkloadFacts, list[_Ranked]]] = []
        # taken in report order, each workload's ranked paths let go once its rows hold
        # their steps (rows and ranked paths alike, one tuple per path, were together
        # the peak of a large run)
        ranked.reverse()
        while ranked:
            wf, findings = ranked.pop()
            rows: list[_Ranked] = []
            for tid, truncated, kept in findings:
                paths = [
                    (entry, origin, tuple([steps[inst.id] for inst in instances]))
                    for entry, origin, instances in kept
                ]
                rows.append((tid, truncated, paths))
            workloads.append((wf, rows))
        return workloads

    def _reached(self, tids: Iterable[str]) -> dict[str, Reached]:
        """Each technique of ``tids`` once, with its severity."""
        reached: dict[str, Reached] = {}
        for tid in tids:
            if tid not in reached:
                technique = self.kb.technique(tid)
                reached[tid] = Reached(technique, self.severities.of(tid, technique.tactics))
        return reached

    def _run_rows(
        self, run: Sequence[WorkloadFacts], *, last: bool
    ) -> tuple[list[tuple[WorkloadFacts, list[_Ranked]]], list[StepRow]]:
        """A run of the workloads (in report order) searched, ranked and made ready to
        write in this process: each workload's rows (:meth:`_rows`) and the steps they
        use, in order of first use. A run's paths are those of the whole search
        (:meth:`AttackGraph.owned_paths` of some workloads). The graph and its shared
        searches are kept for the next run searched here, let go (:meth:`_searched`)
        after the ``last`` one's search, before its steps are made."""
        graph = self.graph
        raw = graph.owned_paths(self.entries, [wf.key for wf in run])
        scoped = graph.facts
        del graph
        if last:
            self._searched()
        ranked = [(wf, ranked_paths(wf.key, raw.pop(wf.key))) for wf in run]
        steps = self._first_used_steps(ranked, scoped, 1)
        return self._rows(ranked, steps), list(steps.values())

    def _sent_row(self, fields: _SentStep) -> StepRow:
        """A step a forked process made (:class:`_RunPart`) as this process's record."""
        step, technique, title, scope, workload, container, uses, broken_by = fields
        facts = tuple(map(self._use_row, uses))
        return StepRow(step, technique, title, scope, workload, container, facts, broken_by)

    def _first_used_steps(
        self,
        ranked: list[tuple[WorkloadFacts, list[tuple[str, bool, list[KeptPath]]]]],
        scoped: GraphFacts,
        processes: int,
    ) -> dict[str, StepRow]:
        """The path step of each instance the ranked paths use, by instance id, in order
        of first use (:meth:`_made_steps`, in ``processes`` processes)."""
        # each workload's step instances that no workload before it uses
        seen: set[str] = set()
        firsts: list[list[StepInstance]] = []
        for _wf, findings in ranked:
            first = []
            for _tid, _truncated, kept in findings:
                for _entry, _origin, instances in kept:
                    for inst in instances:
                        if inst.id not in seen:
                            seen.add(inst.id)
                            first.append(inst)
            firsts.append(first)
        made = self._made_steps(firsts, scoped, processes)
        return {inst.id: step for inst, step in zip(itertools.chain(*firsts), made, strict=True)}

    def _made_steps(
        self, firsts: list[list[StepInstance]], scoped: GraphFacts, processes: int
    ) -> list[StepRow]:
        """The path step of each instance of ``firsts`` (each workload's first-used
        instances), in order; in ``processes`` processes, each making a run of workloads'
        (the forked ones send back each step's fact uses and ``broken_by`` as tuples,
        which pickle in a tenth of the objects' time)."""

        def make(run: Sequence[list[StepInstance]]) -> list[StepRow]:
            out: list[StepRow] = []
            for first in run:
                out.extend(self._step_row(inst, scoped) for inst in first)
                self._derived.clear()  # as in _analyses: mostly this workload's own facts
            return out

        runs = _balanced_runs(firsts, [len(first) for first in firsts], processes)
        if len(runs) == 1:
            return make(runs[0])
        here: list[StepRow] = []

        def part(i: int) -> list[_SentStep]:
            steps = make(runs[i])
            if i == 0:  # made here: kept as they are
                here.extend(steps)
                return []
            return _sent(steps)

        parts = fork_map(part, range(len(runs)))
        here.extend(self._sent_row(fields) for sent in parts[1:] for fields in sent)
        return here

    def _element(
        self,
        tables: ElementTexts,
        scoped: GraphFacts,
        wf: WorkloadFacts,
        findings: list[_Ranked],
        *,
        pretty: bool,
    ) -> str:
        """The text of ``wf``'s element of the document's ``workloads`` (``findings``: its
        ranked techniques with their paths' step instances) as ``Report.write_json``
        writes its analysis."""
        rows = []
        breakers: list[tuple[str, Collection[str]]] = []  # each path's, for minimal controls
        for tid, truncated, paths in findings:
            # each path's broken_by: its steps' together (Path.broken_by, see _path)
            broken = [frozenset().union(*(s.broken_by for s in steps)) for _e, _o, steps in paths]
            if self.goals:
                breakers.extend((tid, b) for b in broken)
            rows.append(FindingRow(tid, common_controls(broken), truncated, paths))
        total = len(self.fb.workloads)
        analysis = trusted(
            WorkloadAnalysis,
            ref=wf.ref,
            source=wf.source,
            techniques=(),  # given as rows
            pss=pss_tradeoff(
                self,
                wf,
                tuple(tid for tid, _truncated, _paths in findings),
                reanalyse=total <= PSS_TRADEOFF_MAX_WORKLOADS,
            ),
            warnings=self._warnings(scoped, wf),
            minimal_controls=self._goal_controls(wf.key, breakers),
        )
        return tables.workload_text(analysis, rows, pretty=pretty)

    def _analyses(
        self,
        scoped: GraphFacts,
        raw: dict[str, OwnedPaths],
        chosen: Sequence[WorkloadFacts],
    ) -> list[WorkloadAnalysis]:
        """The analyses of a run of workloads from their paths (``raw``, taken from it)."""
        total = len(self.fb.workloads)
        analyses = []
        for wf in chosen:
            findings = self._findings(scoped, wf.key, raw.pop(wf.key))
            # Derivations with a control applied are mostly of this workload's own facts:
            # keeping them for the next workloads costs more memory than it saves time.
            self._derived.clear()
            analysis = trusted(
                WorkloadAnalysis,
                ref=wf.ref,
                source=wf.source,
                techniques=findings,
                pss=pss_tradeoff(
                    self,
                    wf,
                    tuple(f.technique.id for f in findings),
                    reanalyse=total <= PSS_TRADEOFF_MAX_WORKLOADS,
                ),
                warnings=self._warnings(scoped, wf),
            )
            paths = ((t.technique.id, p.broken_by) for t in findings for p in t.paths)
            minimal = self._goal_controls(wf.key, paths)
            if minimal:
                analysis = analysis.model_copy(update={"minimal_controls": minimal})
            analyses.append(analysis)
        return analyses

    def _warnings(self, scoped: GraphFacts, wf: WorkloadFacts) -> tuple[str, ...]:
        """A workload's warnings: its containers' (scopes) and why it was not placed."""
        found = {w for cf in wf.containers for w in scoped.scopes[f"{wf.key}[{cf.name}]"].warnings}
        if wf.key in self.fb.placement.unplaced:
            found.add(self.fb.placement.unplaced[wf.key])
        return tuple(sorted(found))

    def _goal_controls(
        self, workload: str, paths: Iterable[tuple[str, Collection[str]]]
    ) -> tuple[MinimalControls, ...]:
        """A workload's ``minimal_controls`` for the analysis' goals (none without goals),
        from its reported paths as (technique id, the controls that break the path)."""
        if not self.goals:
            return ()
        listed = list(paths)
        if any(within_goals(tid, self.goals) for tid, _controls in listed):
            return (self._minimal(workload, self.goals, listed),)
        return (MinimalControls(goals=self.goals, controls=()),)

    # -- minimal controls --------------------------------------------------------------------

    def minimal_controls(self, workload: str, goals: tuple[str, ...]) -> MinimalControls:
        wf = next((w for w in self.fb.workloads if w.key == workload), None)
        if wf is None:
            raise AttackmapError(f"no workload {workload} in the analysis")
        raw = self._raw_paths(self.graph, [workload])[workload]
        findings = self._findings(self.graph.facts, workload, raw)
        paths = [(t.technique.id, p.broken_by) for t in findings for p in t.paths]
        return self._minimal(workload, tuple(goals), paths)

    def _goal_paths(
        self, graph: AttackGraph, workload: str, goals: tuple[str, ...]
    ) -> list[tuple[str, tuple[StepInstance, ...]]]:
        sinks = [
            s for s in graph.sinks() if within_goals(self.catalogue.step(s[5:]).technique, goals)
        ]
        raw = self._raw_paths(graph, [workload], sinks)[workload]
        return [(e, steps) for e, _start, steps in raw if steps]

    def _minimal(
        self,
        workload: str,
        goals: tuple[str, ...],
        paths: Iterable[tuple[str, Collection[str]]],
    ) -> MinimalControls:
        """A smallest control set breaking every path to ``goals`` of ``workload``'s
        reported ``paths`` (technique id, the controls that break the path), checked by
        searching the patched cluster again."""
        goal_set = tuple(sorted({self.kb.technique(g).id for g in goals}))
        sets: list[frozenset[str]] = [
            frozenset(controls) for tid, controls in paths if within_goals(tid, goal_set)
        ]
        if not sets:
            return MinimalControls(goals=goal_set, controls=())
        # Paths no control breaks (e.g. a malicious image using GPUs) stay whatever we do;
        # cover the others and say so.
        unbroken = sum(1 for s in sets if not s)
        needed = [s for s in sets if s]
        chosen: tuple[str, ...] = ()
        exact = True
        for _ in range(8):
            if not needed:
                break
            chosen, exact_now = _hitting_set(needed)
            exact = exact and exact_now
            graph = self._patched_graph(chosen)
            try:
                remaining = self._goal_paths(graph, workload, goal_set)
                if not remaining:
                    return MinimalControls(
                        goals=goal_set,
                        controls=chosen,
                        exact=exact,
                        unreachable_after=unbroken == 0,
                        unbroken_paths=unbroken,
                    )
                # Paths the cover missed (longer ones the bounded enumeration did not
                # list): the answer must also break each of them, judged in the patched
                # world.
                progress = False
                for _entry, steps in remaining:
                    extra = frozenset(self.broken_by(steps, graph))
                    if extra:
                        needed.append(extra)
                        progress = True
                    else:
                        unbroken += 1
            finally:
                # The searches the patched graph keeps (its forward searches, memos)
                # refer back to it: a cycle, which only the cyclic collector frees, and
                # the analysis pauses it. Let go of them so that the graph goes now; kept,
                # one graph per workload filled 24 GB at 1k workloads.
                graph.drop_caches()
            if not progress:
                break
        return MinimalControls(
            goals=goal_set,
            controls=chosen,
            exact=False,
            unreachable_after=False,
            unbroken_paths=unbroken,
        )

    def _patched_graph(self, controls: Iterable[str]) -> AttackGraph:
        """The graph of the cluster with ``controls`` applied at the fact level: made from
        the analysis graph where only workloads' facts change
        (:meth:`AttackGraph.spliced`, the same paths), else built."""
        fb, changed = self._patched_fb(controls)
        spliced = self.graph.spliced(fb, changed)
        return spliced if spliced is not None else AttackGraph(fb, self.catalogue)

    def control_instance(self, control_id: str) -> tuple[ControlInstance, str]:
        """Parse ``control[:arg]@target`` into an instance and its target."""
        name, sep, target = control_id.rpartition("@")
        if not sep:
            raise AttackmapError(
                f"control {control_id!r} has no target",
                hint="controls are written control@Kind/namespace/name or control@cluster",
            )
        base, _, arg = name.partition(":")
        return self._control(base).instantiate(arg or None), target

    def _control(self, base: str) -> Any:
        try:
            return self.catalogue.control(base)
        except KeyError as e:
            import difflib  # only for this message: an analysis never imports it

            known = [c.id for c in self.catalogue.controls]
            close = difflib.get_close_matches(base, known, n=3)
            raise AttackmapError(
                f"unknown control {base!r}",
                field="controls",
                hint=f"did you mean {', '.join(close)}?"
                if close
                else "see docs/reference/controls.md",
            ) from e

    def targeted(self, controls: tuple[str, ...], report: Report) -> tuple[str, ...]:
        """``controls`` with each bare ``control[:arg]`` (no ``@target``) replaced by
        ``control[:arg]@target`` for every target whose paths it breaks in ``report``."""
        out: list[str] = []
        for cid in controls:
            if "@" in cid:
                out.append(cid)
                continue
            self._control(cid.partition(":")[0])  # unknown: did you mean...
            targets = sorted(
                {
                    b.rpartition("@")[2]
                    for w in report.workloads
                    for t in w.techniques
                    for p in t.paths
                    for b in p.broken_by
                    if b.rpartition("@")[0] == cid
                }
            )
            if not targets:
                raise AttackmapError(
                    f"control {cid!r} breaks no path in this report: name its target",
                    field="controls",
                    hint="controls are written control@Kind/namespace/name or control@cluster; "
                    f"workloads: {', '.join(str(w.ref) for w in report.workloads[:5]) or 'none'}",
                )
            out.extend(f"{cid}@{t}" for t in targets)
        return tuple(out)

    def _fb_with(self, controls: Iterable[str]) -> FactBase:
        """The fact base with ``controls`` applied at the fact level."""
        return self._patched_fb(controls)[0]

    def _patched_fb(self, controls: Iterable[str]) -> tuple[FactBase, list[int]]:
        """:meth:`_fb_with`, and the places of the workloads it patched (for
        :meth:`AttackGraph.spliced`: no comparison of every workload)."""
        by_target: dict[str, list[tuple[str, ControlInstance]]] = {}
        for cid in controls:
            ci, target = self.control_instance(cid)
            by_target.setdefault(target, []).append((cid, ci))
        context = self.fb.context
        for _cid, ci in by_target.get("cluster", []):
            context = ci.transform(context)
        # the targeted workloads patched in place (a what-if per check: no walk of them all)
        places = self._places
        if places is None:
            places = self._places = {wf.key: i for i, wf in enumerate(self.fb.workloads)}
        workloads = list(self.fb.workloads)
        patched = self._patched_kept
        changed: list[int] = []
        for target, pairs in by_target.items():
            at = places.get(target)
            if at is None:
                continue
            changed.append(at)
            # a workload patched the same way again is the same object: the graph keeps
            # what it spliced for it (AttackGraph._spliced_part)
            key = (target, tuple(cid for cid, _ci in pairs))
            found = patched.get(key)
            if found is None:
                found = patched[key] = _patched(workloads[at], [ci for _cid, ci in pairs])
                if len(patched) > _PATCHED_KEPT:
                    patched.popitem(last=False)
            else:
                patched.move_to_end(key)
            workloads[at] = found
        return replace(self.fb, workloads=tuple(workloads), context=context), changed

    def patched_workload(self, wf: WorkloadFacts, controls: Iterable[str]) -> WorkloadFacts:
        """``wf`` with ``controls`` (all ``...@<wf.key>``) applied at the fact level."""
        cis: list[ControlInstance] = []
        for cid in controls:
            ci, target = self.control_instance(cid)
            if target != wf.key:
                raise AttackmapError(f"control {cid!r} is not for {wf.key}")
            cis.append(ci)
        return _patched(wf, cis) if cis else wf

    # -- what-if on the manifests ----------------------------------------------------------

    def apply(self, controls: tuple[str, ...], within: Report | None = None) -> Report:
        from attackmap.graph._patches import apply_controls

        if within is not None:
            controls = self.targeted(controls, within)
        if self.documents is None:
            raise AttackmapError(
                "apply() needs the manifests, not a pre-loaded Inventory",
                hint="call attackmap.analyze with paths or documents",
            )
        parsed = [self.control_instance(c) for c in controls]
        # empty documents and skipped files (data None, one shared id) pass through as they are
        live = [d for d in self.documents if d.data is not None]
        datas = [copy.deepcopy(d.data) for d in live]
        origin = {id(x): d for x, d in zip(datas, live, strict=True)}
        patched, context = apply_controls(datas, self.inventory, self.fb, parsed)
        docs: list[Any] = [d for d in self.documents if d.data is None]
        docs += [
            replace(origin[id(x)], data=x, text=None) if id(x) in origin else x for x in patched
        ]
        inventory = load(*docs, namespace=self.namespace, context=context)
        analyzer = Analyzer(
            inventory,
            kb=self.kb,
            catalogue=self.catalogue,
            entries=self.entries,
            seccomp_root=self.seccomp_root,
            assume_kernel_exploit=self.assume_kernel_exploit,
            goals=self.goals,
            documents=docs,
            namespace=self.namespace,
        )
        return analyzer.report()


class ReportWriter:
    """Writes an analysis' report document without making the report
    (:meth:`Analyzer.report_writer`; the CLI's JSON output).

    Which step instances the document holds, and in which order, follows from the ranked
    paths alone (:func:`ranked_paths`). So the writer is made by ranking every workload's
    paths and making each step instance the kept paths use once (its facts and
    ``broken_by``: the per-step work); :meth:`write` numbers the tables, writes the head and
    the ``facts``, ``evidence`` and ``steps`` rows one at a time, then each workload's
    element as soon as it is made (its
    techniques' ``broken_by``, the Pod Security trade-off, minimal controls, warnings),
    and lets it go: no ``Path``, ``TechniqueFinding`` or ``WorkloadAnalysis`` is kept.
    With several processes the work is split in runs of workloads in report order. With
    goals (``prepared``): forked processes make the step instances first used by their
    runs (sent back as tuples), and write the elements of their runs to temporary files,
    copied in order once this process has written its own run. Without goals (``runs``),
    all of it happens in :meth:`write`, in processes forked once: each searches, ranks,
    makes the steps of and writes its run (:meth:`_write_runs`).
    """

    def __init__(
        self,
        analyzer: Analyzer,
        scoped: GraphFacts,
        processes: int,
        *,
        prepared: _Prepared | None = None,
        runs: list[Sequence[WorkloadFacts]] | None = None,
    ) -> None:
        if (prepared is None) == (runs is None):
            raise TypeError("a report writer is made with its workloads prepared or in runs")
        self._analyzer = analyzer
        self._scoped = scoped
        self._processes = processes
        self._prepared = prepared
        self._runs = runs
        self._written = False
        self._spool: str | os.PathLike[str] | None = None

    def write(
        self,
        write: Callable[[str], object],
        *,
        pretty: bool = False,
        spool: str | os.PathLike[str] | None = None,
    ) -> ReportOutline:
        """Write the document (``Report.write_json(stream, pretty=pretty)``'s text) with
        ``write``, piece by piece, and return its outline; once. The analysis runs while
        it writes: an error may come after part of the document was written (write to a
        file that replaces the target only when complete, as the CLI does). ``spool``: the
        directory of the workers' temporary files (unnamed; default: :mod:`tempfile`'s),
        together up to (N-1)/N of the document: beside the output, they take its disk, not
        a memory-backed ``/tmp``. (A forked worker never writes to ``write``'s stream:
        ``multiprocessing`` flushes the standard streams before it forks, and a worker
        ends without flushing any other.)"""
        if self._written:
            raise RuntimeError("a report writer writes its document once")
        self._written = True
        self._spool = spool
        analyzer = self._analyzer
        head = analyzer._report(())
        with paused():  # many short-lived objects beside the long-lived analysis
            if self._prepared is not None:
                tables, workloads, reached = self._prepared
                self._prepared = None
                write_document(
                    write,
                    head,
                    tables,
                    lambda item: self._elements(tables, workloads, item, write, pretty=pretty),
                    pretty=pretty,
                )
                found = [(wf, tuple(tid for tid, _t, _p in rows)) for wf, rows in workloads]
                del tables, workloads
            else:
                found, reached = self._write_runs(write, head, pretty=pretty)
        analyzer._done(self._scoped)
        return ReportOutline(
            entries=head.entries,
            workloads=tuple(
                WorkloadOutline(wf.ref, tuple(reached[tid] for tid in tids)) for wf, tids in found
            ),
            skipped=head.skipped,
            warnings=head.warnings,
        )

    def _write_runs(
        self, write: Callable[[str], object], head: Report, *, pretty: bool
    ) -> tuple[list[tuple[WorkloadFacts, tuple[str, ...]]], dict[str, Reached]]:
        """The document written by processes forked once (:func:`fork_exchange`), each
        with a run of the workloads (this one the first): each searches, ranks and makes
        the steps of its run (:meth:`Analyzer._run_rows`) and tells this one its steps;
        this one numbers every step in order of first use (the runs' in turn), replies to
        each with its steps' positions and the controls, writes the head and the tables
        while they write their elements to temporary files, then its own elements and
        theirs, in order. Each workload's techniques, and every technique reached."""
        analyzer, runs = self._analyzer, self._runs
        assert runs is not None
        self._runs = None
        kept: dict[int, tuple[list[tuple[WorkloadFacts, list[_Ranked]]], list[StepRow]]] = {}
        here = os.getpid()

        def first(i: int) -> _RunPart:
            # the graph goes once the last run searched in a process is: a forked process
            # searches one; this one the first, then those no process was forked for
            # (a forked process was forked before ``exchange`` was bound: it asks not)
            last = os.getpid() != here or i == (
                0 if exchange.forked == len(runs) - 1 else len(runs) - 1
            )
            workloads, steps = analyzer._run_rows(runs[i], last=last)
            kept[i] = workloads, steps  # (a forked process's own copy)
            return _RunPart([tuple(tid for tid, _t, _p in rows) for _wf, rows in workloads], steps)

        def second(i: int, reply: tuple[list[int], list[str]]) -> tuple[int, int]:
            positions, controls = reply
            workloads, steps = kept.pop(i)
            texts = ElementTexts(
                {id(s): at for s, at in zip(steps, positions, strict=True)}, controls
            )
            del steps
            fd = files[i - 1].fileno()
            with open(fd, "w", encoding="utf-8", newline="", closefd=False) as out:
                self._run(workloads, out.write, tables=texts, pretty=pretty, joined=True)
            return 0, os.lseek(fd, 0, os.SEEK_END)

        with contextlib.ExitStack() as stack:
            files = self._files(stack, len(runs) - 1)
            exchange = stack.enter_context(fork_exchange(first, second, range(len(runs))))
            parts = exchange.made()  # (the runs no process was forked for, searched here)
            made, positions = self._numbered(parts)
            found = [
                (wf, tids)
                for run, part in zip(runs, parts, strict=True)
                for wf, tids in zip(run, part.found, strict=True)
            ]
            del parts
            controls = sorted({c for s in made for c in s.broken_by})
            exchange.reply([None, *((p, controls) for p in positions[1:])])
            del positions
            reached = analyzer._reached(tid for _wf, tids in found for tid in tids)
            techniques = {tid: (r.technique, r.severity) for tid, r in reached.items()}
            tables = DocumentTables(made, techniques, controls=controls)
            del made
            mine, _steps = kept.pop(0)

            def elements(item: Callable[[str], None]) -> None:
                self._run(mine, item, tables=tables, pretty=pretty)
                mine.clear()
                for f, (start, end) in zip(files, exchange.results(), strict=True):
                    _copy_run(f.fileno(), start, end, item, write)

            write_document(write, head, tables, elements, pretty=pretty)
        return found, reached

    def _numbered(self, parts: list[_RunPart]) -> tuple[list[StepRow], list[list[int]]]:
        """Every run's steps once, in order of first use (the runs' in turn), and each
        step's position there by run, in the run's order."""
        seen: dict[str, int] = {}  # by step instance id: its step's id @ its scope
        made: list[StepRow] = []
        positions: list[list[int]] = []
        row_of = self._analyzer._sent_row
        for part in parts:
            at_run: list[int] = []
            for s in part.steps:
                key = f"{s[0]}@{s[3]}"  # (StepInstance.id)
                at = seen.get(key)
                if at is None:
                    at = seen[key] = len(made)
                    made.append(s if isinstance(s, StepRow) else row_of(s))
                at_run.append(at)
            positions.append(at_run)
        return made, positions

    def _files(self, stack: contextlib.ExitStack, count: int) -> list[Any]:
        """``count`` unnamed temporary files in the spool directory, closed with ``stack``."""
        try:
            return [
                stack.enter_context(tempfile.TemporaryFile(dir=self._spool)) for _ in range(count)
            ]
        except OSError as e:
            where = self._spool if self._spool is not None else tempfile.gettempdir()
            raise AttackmapError(
                f"cannot create the workers' temporary files: {e.strerror or e}",
                path=str(where),
                hint="set TMPDIR to a writable directory, or analyse with one worker",
            ) from e

    def _elements(
        self,
        tables: DocumentTables,
        workloads: list[tuple[WorkloadFacts, list[_Ranked]]],
        item: Callable[[str], None],
        write: Callable[[str], object],
        *,
        pretty: bool,
    ) -> None:
        """Each workload's element, in order, given to ``item`` (:func:`write_document`)."""
        processes = self._processes
        # an element grows with its paths
        weights = [1 + sum(len(paths) for _tid, _t, paths in found) for _wf, found in workloads]
        runs = _handed_runs(workloads, weights, processes, self._analyzer.goals)
        if len(runs) == 1:
            self._run(runs[0], item, tables=tables, pretty=pretty)
            return
        with contextlib.ExitStack() as stack:
            files = self._files(stack, processes)

            def write_run(worker: int, i: int) -> tuple[int, int, int]:
                if i == 0:  # this process: the first run's elements written as they are made
                    self._run(runs[0], item, tables=tables, pretty=pretty)
                    return 0, 0, 0
                # elements joined, at the end of the file of the process that writes them
                fd = files[worker].fileno()
                start = os.lseek(fd, 0, os.SEEK_END)
                with open(fd, "w", encoding="utf-8", newline="", closefd=False) as out:
                    self._run(runs[i], out.write, tables=tables, pretty=pretty, joined=True)
                return worker, start, os.lseek(fd, 0, os.SEEK_END)

            written = fork_handout(write_run, len(runs), processes)
            for worker, start, end in written[1:]:  # each run: one item
                _copy_run(files[worker].fileno(), start, end, item, write)

    def _run(
        self,
        run: Sequence[tuple[WorkloadFacts, list[_Ranked]]],
        put: Callable[[str], object],
        *,
        tables: ElementTexts,
        pretty: bool,
        joined: bool = False,
    ) -> None:
        """The elements of a run of workloads, each given to ``put`` as it is made (its
        steps and controls by position in ``tables``); with ``joined``, each after the
        first with :func:`element_separator` before it."""
        analyzer, scoped = self._analyzer, self._scoped
        separator = element_separator(pretty=pretty) if joined else ""
        for n, (wf, findings) in enumerate(run):
            text = analyzer._element(tables, scoped, wf, findings, pretty=pretty)
            put(separator + text if n else text)


def report_warnings(inventory: Inventory) -> tuple[str, ...]:
    """The report's warnings, sorted: the inventory's (dangling references...) and, when
    the input holds no workload, that there was nothing to analyse (an input of Roles and
    bindings only is read, but RBAC matters through the pods that use it)."""
    found = {str(w) for w in inventory.warnings}
    if not inventory.workloads:
        found.add(no_workloads_warning(inventory))
    return tuple(sorted(found))


def no_workloads_warning(inventory: Inventory) -> str:
    """The warning for an input without workloads, naming the kinds that were read."""
    kinds: dict[str, int] = {}
    for group in (
        inventory.roles,
        inventory.bindings,
        inventory.service_accounts,
        inventory.services,
        inventory.ingresses,
        inventory.routes,
        inventory.network_policies,
        inventory.namespaces,
        inventory.secrets,
        inventory.configmaps,
        inventory.pvcs,
        inventory.pvs,
        inventory.runtime_classes,
        inventory.virtual_services,
        inventory.istio_gateways,
        inventory.cilium_policies,
        inventory.calico_policies,
        inventory.calico_network_sets,
    ):
        for obj in group:
            kinds[obj.ref.kind] = kinds.get(obj.ref.kind, 0) + 1
    read = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    what = f" (read as context only: {read})" if read else ""
    return (
        f"no workloads in the input: nothing to analyse{what}; attackmap analyses Pods and "
        "the pod templates of workload controllers, and RBAC through the pods that use it"
    )


def _patched(wf: WorkloadFacts, cis: Iterable[ControlInstance]) -> WorkloadFacts:
    """``wf`` with the control instances applied to its pod and container base facts."""
    pod, containers = wf.pod, list(wf.containers)
    for ci in cis:
        pod_adds = tuple(a for a in ci.adds if not a.startswith(_CONTAINER_FAMILIES))
        cont_adds = tuple(a for a in ci.adds if a.startswith(_CONTAINER_FAMILIES))
        pod = ControlInstance(**{**ci.model_dump(), "adds": pod_adds}).transform(pod)
        cci = ControlInstance(**{**ci.model_dump(), "adds": cont_adds})
        containers = [replace(cf, facts=cci.transform(cf.facts)) for cf in containers]
    return replace(wf, pod=pod, containers=tuple(containers))


def _hitting_set(sets: list[frozenset[str]]) -> tuple[tuple[str, ...], bool]:
    """A minimum set meeting every set (exact for small instances, else greedy): of the
    smallest size, the first in the order of ``itertools.combinations`` over the sorted
    controls."""
    universe = sorted(set().union(*sets))
    # Controls that appear in every set alone are the cheapest answer.
    if len(universe) <= MAX_EXACT_CANDIDATES:
        at = {c: 1 << i for i, c in enumerate(universe)}
        masks = [sum(at[c] for c in s) for s in set(sets)]
        for size in range(1, min(len(universe), 6) + 1):
            found = _first_cover(masks, len(universe), size)
            if found is not None:
                return tuple(universe[i] for i in found), True
    chosen_list: list[str] = []
    left = list(sets)
    while left:
        best = min(universe, key=lambda c: (-sum(1 for s in left if c in s), c))
        chosen_list.append(best)
        left = [s for s in left if best not in s]
    return tuple(sorted(chosen_list)), False


def _first_cover(
    masks: list[int], n: int, size: int, start: int = 0, chosen: tuple[int, ...] = ()
) -> tuple[int, ...] | None:
    """The first ``size`` positions out of ``n``, in the order of
    ``itertools.combinations(range(n), size)``, that meet every one of ``masks`` (sets of
    positions as bits; ``None`` if none do). Depth first in that order, leaving out the
    branches that cannot end in one: once the next position passes the highest of a set
    not met yet, no later position meets it."""
    if not masks:
        return chosen if len(chosen) == size else None
    left = size - len(chosen)
    if not left:
        return None
    if left == 1:  # the last position: the first from ``start`` that is in every set
        common = functools.reduce(operator.and_, masks) >> start << start
        return (*chosen, (common & -common).bit_length() - 1) if common else None
    limit = min(m.bit_length() for m in masks)  # a position below it must be taken
    for i in range(start, min(limit, n - left + 1)):
        bit = 1 << i
        found = _first_cover([m for m in masks if not m & bit], n, size, i + 1, (*chosen, i))
        if found is not None:
            return found
    return None


def analyze(
    source: Any,
    *,
    entries: Sequence[str] | str | None = None,
    context: Any = None,
    attack: AttackKB | str | FsPath | None = None,
    seccomp_root: str | FsPath | None = None,
    goals: Sequence[str] | str | None = None,
    assume_kernel_exploit: bool = False,
    namespace: str | None = None,
    helm_values: Sequence[str] | str = (),
    helm_set: Sequence[str] | str = (),
    keep_going: bool = False,
    shard: tuple[int, int] | None = None,
    workers: int | Literal["auto"] = 1,
) -> Report:
    """Reachable ATT&CK techniques, the paths to them and the controls that break each path.

    ``source``: anything :func:`attackmap.load` takes (a path, ``-``, YAML text, a mapping,
    or a list of those) or an :class:`~attackmap.model.Inventory`. ``entries``: where the
    attacker starts, any of ``external``, ``cluster``, ``image`` (default: all).
    ``context``: a ClusterContext (path, mapping or model). ``attack``: an ATT&CK KB or a
    bundle path (default: the bundled slice). ``seccomp_root``: where Localhost seccomp
    profiles live. ``goals``: technique ids for which each workload gets a minimal control
    set. ``assume_kernel_exploit``: every foothold can exploit the kernel (T1068).
    ``helm_values``, ``helm_set``: passed to ``helm template`` for each chart directory;
    ``keep_going``: skip the files and objects that are input errors (``Report.skipped``)
    instead of raising (see :func:`attackmap.load`). ``shard``: ``(i, n)`` analyses only
    the i-th of ``n`` equal runs of the workloads in report order (the whole cluster is
    still loaded and its graph built, so each analysis is exactly the whole report's);
    ``attackmap.engines`` runs the shards and joins them. ``workers``: processes that
    search the paths (a share of the sinks each), then analyse the workloads, forked once
    the facts and the attack graph are built, then the paths (they share them
    copy-on-write; the report is the same, and keeps its graph); ``"auto"``:
    the CPUs this process may use (:func:`attackmap._fork.available_cpus`: its affinity,
    capped by its control group's CPU quota; at most :data:`attackmap._fork.MAX_WORKERS`),
    no more than the memory available holds once the analysis is built
    (:func:`attackmap._fork.auto_workers`: a warning says when it holds fewer), when the
    cluster has at least :data:`FORK_MIN_WORKLOADS` workloads, else 1 (``docs/scaling.md``). Without fork
    (another thread running, not Linux, in a worker process) every analysis runs here.
    """
    with paused():  # millions of long-lived objects, no cycles of note: see attackmap._gc
        analyzer, only, count = _analyzer(
            source,
            entries=entries,
            context=context,
            attack=attack,
            seccomp_root=seccomp_root,
            goals=goals,
            assume_kernel_exploit=assume_kernel_exploit,
            namespace=namespace,
            helm_values=helm_values,
            helm_set=helm_set,
            keep_going=keep_going,
            shard=shard,
            workers=workers,
        )
        report = analyzer.report(only=only, workers=count)
        report._shard = shard
        if shard is not None:  # what attackmap.engines.join checks the shards agree on
            report._origin = analyzer.origin()
        return report


def report_writer(source: Any, **options: Any) -> ReportWriter:
    """:func:`analyze` ``source`` with ``options`` (its keywords but ``shard``) up to a
    :class:`ReportWriter` of its report's document: ``report_writer(...).write(write)``
    writes what ``analyze(...).write_json(stream)`` writes, without the report's objects
    (the peak memory is the analysis' alone). Input errors are raised here, before
    anything is written."""
    if "shard" in options:
        raise TypeError("report_writer() writes the whole report: no shard")
    with paused():  # millions of long-lived objects, no cycles of note: see attackmap._gc
        # A writer has no Report.apply(), so the analysis lets go of the manifests
        # (inventory, documents) once their facts are taken (Analyzer: manifests).
        analyzer, _only, workers = _analyzer(source, manifests=False, **options)
        return analyzer.report_writer(workers)


def _analyzer(
    source: Any,
    *,
    entries: Sequence[str] | str | None = None,
    context: Any = None,
    attack: AttackKB | str | FsPath | None = None,
    seccomp_root: str | FsPath | None = None,
    goals: Sequence[str] | str | None = None,
    assume_kernel_exploit: bool = False,
    namespace: str | None = None,
    helm_values: Sequence[str] | str = (),
    helm_set: Sequence[str] | str = (),
    keep_going: bool = False,
    shard: tuple[int, int] | None = None,
    workers: int | Literal["auto"] = 1,
    manifests: bool = True,
) -> tuple[Analyzer, frozenset[str] | None, int]:
    """:func:`analyze`'s arguments checked and its input read and analysed up to the
    paths: the analyser, the workload keys of the shard (``None``: all) and the number of
    processes asked for."""
    if shard is not None and not (
        isinstance(shard, tuple)
        and len(shard) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
        and 0 <= shard[0] < shard[1]
    ):
        raise AttackmapError(f"shard must be (i, n) with 0 <= i < n, got {shard!r}", field="shard")
    if workers != "auto" and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise AttackmapError(
            f"workers must be a positive integer or 'auto', got {workers!r}", field="workers"
        )
    chosen = as_strings(entries, "entries") if entries is not None else ENTRY_KINDS
    goals = as_strings(goals, "goals") if goals is not None else None
    for e in chosen:
        if e not in ENTRY_KINDS:
            raise AttackmapError(
                f"unknown entry point {e!r}", field="entries", hint=f"use {', '.join(ENTRY_KINDS)}"
            )
    ordered = tuple(e for e in ENTRY_KINDS if e in chosen)
    kb = attack if isinstance(attack, AttackKB) else load_attack(attack)
    catalogue = load_catalogue(kb)
    documents: list[Any] | None = None
    if isinstance(source, Inventory):
        inventory = source
        if context is not None:
            raise AttackmapError("pass context to attackmap.load when analysing an Inventory")
    else:
        from attackmap.model._loader import read_and_load

        sources = list(source) if isinstance(source, (list, tuple)) else [source]
        # the documents, for apply(); nothing to analyse is an error
        documents, inventory = read_and_load(
            *sources,
            namespace=namespace,
            context=context,
            helm_values=helm_values,
            helm_set=helm_set,
            keep_going=keep_going,
        )
    if seccomp_root is not None and not FsPath(seccomp_root).is_dir():
        raise AttackmapError(
            "the seccomp root is not a directory",
            path=str(seccomp_root),
            field="seccomp_root",
            hint="pass the kubelet's seccomp directory (e.g. /var/lib/kubelet/seccomp)",
        )
    goal_ids = tuple(sorted({kb.technique(g).id for g in goals})) if goals else ()
    analyzer = Analyzer(
        inventory,
        kb=kb,
        catalogue=catalogue,
        entries=ordered,
        seccomp_root=FsPath(seccomp_root) if seccomp_root is not None else None,
        assume_kernel_exploit=assume_kernel_exploit,
        goals=goal_ids,
        documents=documents,
        namespace=namespace,
        manifests=manifests,
    )
    # without the manifests, no reference to them is left here when the graph is built
    del inventory, documents
    analyzer.graph  # noqa: B018 (built: before the workers are counted)
    only = _shard_keys(analyzer.fb, shard) if shard is not None else None
    if workers == "auto":
        workers = 1
        if len(analyzer.fb.workloads) >= FORK_MIN_WORKLOADS:
            # the analysis is built: what the workers will share, and each partly copy
            resident = resident_memory()
            if resident is not None and goal_ids:  # (forked later, larger by then)
                resident = int(resident * GOAL_FORK_GROWTH)
            workers = auto_workers(resident)
    return analyzer, only, workers


def _shard_keys(fb: FactBase, shard: tuple[int, int]) -> frozenset[str]:
    """The keys of the i-th of n runs of the workloads in report order."""
    ordered = sorted(fb.workloads, key=lambda wf: wf.ref.sort_key())
    return frozenset(wf.key for wf in _run(ordered, *shard))


def _copy_run(
    fd: int, start: int, end: int, item: Callable[[str], None], write: Callable[[str], object]
) -> None:
    """The UTF-8 text of bytes ``start:end`` of file ``fd`` (a run of elements a process
    wrote), its first piece given to ``item`` and the rest to ``write``, a chunk at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    put: Callable[[str], object] = item
    while start < end:
        data = os.pread(fd, min(_CHUNK, end - start), start)
        if not data:
            raise AttackmapError("a worker's temporary file ended before its run")
        start += len(data)
        text = decoder.decode(data, final=start >= end)
        if text:
            put(text)
            put = write


def _handed_runs(
    items: Sequence[T], weights: Sequence[int], processes: int, goals: Collection[str]
) -> list[Sequence[T]]:
    """The runs :func:`attackmap._fork.fork_handout` gives ``processes`` processes: of
    about equal total weight, one per process; with goals :data:`_GOAL_RUNS` per process
    (at most :data:`~attackmap._fork.MAX_HANDOUT`), taken as processes free up."""
    count = processes
    if goals and processes > 1:
        count = min(processes * _GOAL_RUNS, MAX_HANDOUT)
    return _balanced_runs(items, weights, max(1, min(count, len(items))))


def _balanced_runs(items: Sequence[T], weights: Sequence[int], n: int) -> list[Sequence[T]]:
    """``items`` cut into ``n`` contiguous runs of about equal total weight (none empty
    when there are at least ``n`` items)."""
    total = sum(weights)
    runs: list[Sequence[T]] = []
    start = done = 0
    for i, weight in enumerate(weights):
        done += weight
        later = n - len(runs) - 1  # runs still to start after the current one
        after = len(items) - i - 1  # items after this one
        if later and after >= later and (done * n >= total * (len(runs) + 1) or after == later):
            runs.append(items[start : i + 1])
            start = i + 1
    runs.append(items[start:])
    return runs


def _run(items: Sequence[T], i: int, n: int) -> Sequence[T]:
    """The i-th of n contiguous runs of ``items`` (sizes differ by one at most)."""
    total = len(items)
    return items[total * i // n : total * (i + 1) // n]
