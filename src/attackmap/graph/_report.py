"""The analysis result: per workload, reachable techniques, paths and the controls that break them.

``Report.to_dict()`` is the JSON contract ``attackmap.report/v1`` (``docs/schema/report-v1.json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from attackmap.attack import Technique
from attackmap.graph._pss_join import PSSTradeoff
from attackmap.model._refs import ObjectRef, SkippedObject, SourceLocation

if TYPE_CHECKING:
    import networkx as nx

    from attackmap.exporters._json import TextSink
    from attackmap.graph._analysis import Analyzer
    from attackmap.graph._catalogue import Catalogue
    from attackmap.graph._engine import AttackGraph

SCHEMA_ID = "attackmap.report/v1"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FactUse(_Frozen):
    """A fact that enabled a step, with where it comes from."""

    fact: str
    path: str
    line: int | None
    field: str
    detail: str = ""


class PathStep(_Frozen):
    """One step of a path: step id, technique, where it fires, the facts that enabled it."""

    id: str
    technique: str
    title: str
    scope: str
    workload: str | None
    container: str | None
    facts: tuple[FactUse, ...]


class Path(_Frozen):
    """From an entry point through ordered steps; ``broken_by``: every control that alone
    breaks this path (``control@workload``; ``control@cluster`` for cluster changes)."""

    entry: str
    steps: tuple[PathStep, ...]
    broken_by: tuple[str, ...]

    @property
    def key(self) -> tuple[str, ...]:
        """The path's identity: entry and step instance ids."""
        return (self.entry, *(f"{s.id}@{s.scope}" for s in self.steps))

    def __repr__(self) -> str:
        return f"<Path {self.entry} > {' > '.join(s.id for s in self.steps)}>"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from attackmap.exporters._html import path_html

        return path_html(self)


class TechniqueFinding(_Frozen):
    """A reachable technique and the paths to it (shortest first, bounded)."""

    technique: Technique
    paths: tuple[Path, ...]
    truncated: bool = False

    def __repr__(self) -> str:
        return (
            f"<TechniqueFinding {self.technique.id} {self.technique.name}: "
            f"{_count(len(self.paths), 'path')}>"
        )

    __str__ = __repr__


class MinimalControls(_Frozen):
    """A smallest set of controls that makes every goal unreachable for the workload."""

    goals: tuple[str, ...]
    controls: tuple[str, ...]
    exact: bool = True
    unreachable_after: bool = True
    unbroken_paths: int = 0
    """Paths to the goals that no control breaks (they remain after ``controls``)."""


class WorkloadAnalysis(_Frozen):
    """Everything found for one workload."""

    ref: ObjectRef
    source: SourceLocation
    techniques: tuple[TechniqueFinding, ...]
    minimal_controls: tuple[MinimalControls, ...] = ()
    pss: PSSTradeoff | None = None
    warnings: tuple[str, ...] = ()

    def technique_ids(self) -> tuple[str, ...]:
        return tuple(t.technique.id for t in self.techniques)

    def finding(self, technique_id: str) -> TechniqueFinding | None:
        return next((t for t in self.techniques if t.technique.id == technique_id), None)

    def __repr__(self) -> str:
        return f"<WorkloadAnalysis {self.ref}: {_count(len(self.techniques), 'technique')}>"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from attackmap.exporters._html import workload_html

        return workload_html(self)


class Report(_Frozen):
    """The result of :func:`attackmap.analyze`."""

    attack_version: str
    entries: tuple[str, ...]
    workloads: tuple[WorkloadAnalysis, ...]
    skipped: tuple[SkippedObject, ...] = ()
    warnings: tuple[str, ...] = ()
    atlas_version: str | None = None
    """The MITRE ATLAS release of the AI-system techniques (``AML.T…``) in the report."""
    _analyzer: Analyzer | None = PrivateAttr(default=None)

    def __repr__(self) -> str:
        techniques = sum(len(w.techniques) for w in self.workloads)
        return (
            f"<Report {_count(len(self.workloads), 'workload')}, {_count(techniques, 'technique')}>"
        )

    __str__ = __repr__

    def workload(self, ref: ObjectRef | str) -> WorkloadAnalysis:
        """The analysis of the workload ``ref`` (``Kind/ns/name``)."""
        key = str(ref)
        for w in self.workloads:
            if str(w.ref) == key:
                return w
        from attackmap.errors import AttackmapError

        known = ", ".join(str(w.ref) for w in self.workloads[:10])
        raise AttackmapError(f"no workload {key} in the report", hint=f"known: {known}")

    def minimal_controls(
        self, workload: ObjectRef | str, goals: list[str] | tuple[str, ...] | str
    ) -> MinimalControls:
        """A smallest set of controls that makes every goal technique (an id, or a list of
        them) unreachable for ``workload`` (exact hitting set, verified by fact-level
        re-analysis)."""
        from attackmap._args import as_strings

        return self._require_analyzer().minimal_controls(str(workload), as_strings(goals, "goals"))

    def apply(self, controls: list[str] | tuple[str, ...] | str) -> Report:
        """What-if: apply ``controls`` to the manifests and re-analyse. Each is
        ``control@Kind/namespace/name`` (``control@cluster``), or a bare ``control`` for
        every workload whose paths it breaks in this report."""
        from attackmap._args import as_strings

        return self._require_analyzer().apply(as_strings(controls, "controls"), within=self)

    @property
    def attack_graph(self) -> AttackGraph | None:
        """The instantiated attack graph behind this report (``None`` for a report that
        was deserialised rather than produced by :func:`attackmap.analyze`)."""
        return self._analyzer.graph if self._analyzer is not None else None

    @property
    def graph(self) -> nx.DiGraph | None:
        """The attack graph as a networkx ``DiGraph`` (``None`` for a deserialised report):
        nodes are attacker states (``state:...``, entry points ``state:entry:...``) and
        step instances (``step:<step>@<scope>``), node attribute ``kind`` is ``entry``,
        ``state``, ``step`` or ``sink``; an edge leads from a state to a step it enables
        and from a step to the state it grants. Built on first use."""
        return self._analyzer.graph.graph if self._analyzer is not None else None

    @property
    def catalogue(self) -> Catalogue | None:
        """The step/control catalogue the report was made with."""
        return self._analyzer.catalogue if self._analyzer is not None else None

    def _require_analyzer(self) -> Analyzer:
        if self._analyzer is None:
            from attackmap.errors import AttackmapError

            raise AttackmapError(
                "this report was not produced by attackmap.analyze in this process",
                hint="re-run attackmap.analyze on the manifests",
            )
        return self._analyzer

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``attackmap.report/v1`` document (sorted, deterministic)."""
        return {
            **document_head(self),
            "workloads": [workload_document(w) for w in self.workloads],
        }

    def to_json(self, *, pretty: bool = False) -> str:
        """The ``attackmap.report/v1`` document as JSON text ending with a newline: compact
        (``separators=(",", ":")``) or, with ``pretty``, indented by 2; keys sorted, non-ASCII
        kept. For large reports prefer :meth:`write_json`, which never holds it whole."""
        from attackmap.exporters._json import report_json

        return report_json(self, pretty=pretty)

    def json(self, *, pretty: bool = False) -> str:  # type: ignore[override]  # pydantic's json() is deprecated and dumps another document than to_json()
        """The same document as :meth:`to_json` (pydantic's deprecated ``json()`` dumped
        the model's fields instead, another document than the report's JSON)."""
        return self.to_json(pretty=pretty)

    def dict(self) -> dict[str, Any]:  # type: ignore[override]  # as json(): pydantic's deprecated dict() is not the report's document
        """The same document as :meth:`to_dict`."""
        return self.to_dict()

    def write_json(self, stream: TextSink, *, pretty: bool = False) -> None:
        """Write :meth:`to_json`'s text to ``stream`` (anything with ``write(str)``), one
        workload at a time: memory is bounded by the largest workload, not the report."""
        from attackmap.exporters._json import write_report

        write_report(self, stream, pretty=pretty)

    def _repr_html_(self) -> str:
        from attackmap.exporters._html import report_html

        return report_html(self)

    def to_pandas(self) -> Any:
        """One row per (workload, technique, path); needs the ``pandas`` extra."""
        try:
            import pandas as pd  # type: ignore[import-untyped]  # optional extra; stubs not required
        except ImportError as e:  # pragma: no cover - depends on the environment
            from attackmap.errors import AttackmapError

            raise AttackmapError(
                "pandas is not installed", hint="pip install 'attackmap[pandas]'"
            ) from e
        rows = [
            {
                "workload": str(w.ref),
                "technique": t.technique.id,
                "framework": t.technique.framework,
                "name": t.technique.name,
                "tactics": ",".join(t.technique.tactics),
                "entry": p.entry,
                "steps": " > ".join(s.id for s in p.steps),
                "length": len(p.steps),
                "broken_by": ",".join(p.broken_by),
            }
            for w in self.workloads
            for t in w.techniques
            for p in t.paths
        ]
        return pd.DataFrame(rows)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def document_head(report: Report) -> dict[str, Any]:
    """Every top-level key of the document but ``workloads`` (which sorts last)."""
    return {
        "schema": SCHEMA_ID,
        "attack": {"version": report.attack_version, "domain": "enterprise-attack"},
        "atlas": {"version": report.atlas_version} if report.atlas_version else None,
        "entries": list(report.entries),
        "skipped": [s.model_dump(mode="json") for s in report.skipped],
        "warnings": list(report.warnings),
    }


def _fact_dict(f: FactUse) -> dict[str, Any]:
    # = f.model_dump(mode="json") (checked by tests/exporters/test_json.py), 2x faster:
    # a 1,000-workload report has ~140,000 fact uses (0.30 -> 0.15 s)
    return {"fact": f.fact, "path": f.path, "line": f.line, "field": f.field, "detail": f.detail}


def _step_dict(s: PathStep) -> dict[str, Any]:
    return {
        "id": s.id,
        "technique": s.technique,
        "scope": s.scope,
        "facts": [_fact_dict(f) for f in s.facts],
    }


def workload_document(w: WorkloadAnalysis, *, shared: bool = False) -> dict[str, Any]:
    """One element of the document's ``workloads`` list.

    With ``shared``, a step that several paths go through (the same :class:`PathStep`;
    ~10 uses per step in large reports) is one dict used in each place: the same JSON,
    built once — for a document that is encoded at once and dropped, never handed out.
    """
    cache: dict[int, dict[str, Any]] = {}

    def step(s: PathStep) -> dict[str, Any]:
        if not shared:
            return _step_dict(s)
        built = cache.get(id(s))  # the report holds every step, so ids stay unique here
        if built is None:
            built = cache[id(s)] = _step_dict(s)
        return built

    return {
        "ref": {"kind": w.ref.kind, "namespace": w.ref.namespace, "name": w.ref.name}
        | ({"component": w.ref.component} if w.ref.component else {}),
        "source": {"path": w.source.path, "document": w.source.document, "line": w.source.line},
        "techniques": [
            {
                "id": t.technique.id,
                "framework": t.technique.framework,
                "name": t.technique.name,
                "tactics": list(t.technique.tactics),
                "truncated": t.truncated,
                "paths": [
                    {
                        "entry": p.entry,
                        "steps": [step(s) for s in p.steps],
                        "broken_by": list(p.broken_by),
                    }
                    for p in t.paths
                ],
            }
            for t in w.techniques
        ],
        "minimal_controls": [
            {
                "goals": list(m.goals),
                "controls": list(m.controls),
                "exact": m.exact,
                "unreachable_after": m.unreachable_after,
                "unbroken_paths": m.unbroken_paths,
            }
            for m in w.minimal_controls
        ],
        "pss": w.pss.model_dump(mode="json") if w.pss is not None else None,
        "warnings": list(w.warnings),
    }
