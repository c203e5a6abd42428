"""The analysis result, the last stage of the pipeline: per workload, the reachable
techniques, the paths to them and the controls that break them; and its JSON document.

The report is data. It knows its own document, ``attackmap.report/v2``
(``docs/schema/report-v2.json``): each step instance, fact and piece of evidence stated once
in top-level tables, paths as lists of references into them. It never imports a view: the
exporters read the report, and a notebook display reaches the HTML exporter through the
:mod:`attackmap._views` seam.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, PrivateAttr

from attackmap._gc import paused
from attackmap._jsontext import TextSink, dumps
from attackmap._views import notebook_html
from attackmap.attack import AttackKB, Technique
from attackmap.graph._pss_join import PSSTradeoff
from attackmap.model._refs import ObjectRef, SkippedObject, SourceLocation

if TYPE_CHECKING:
    import networkx as nx

    from attackmap.graph._catalogue import Catalogue
    from attackmap.graph._engine import AttackGraph
    from attackmap.model import Inventory

SCHEMA_ID = "attackmap.report/v2"


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
    """One step instance: step id, technique, where it fires (``scope``), the facts that
    enabled it and ``broken_by``, every control that alone stops it firing. Paths that go
    through the same instance share one object (and one entry in the JSON document)."""

    id: str
    technique: str
    title: str
    scope: str
    workload: str | None
    container: str | None
    facts: tuple[FactUse, ...]
    broken_by: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The instance's stable identity: ``<step>@<scope>``."""
        return f"{self.id}@{self.scope}"


class Path(_Frozen):
    """From an entry point through ordered steps; ``broken_by``: every control that alone
    breaks this path (``control@workload``; ``control@cluster`` for cluster changes), which
    is the union of its steps' ``broken_by`` (a control breaks a path by stopping a step)."""

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
        return notebook_html(self)


class TechniqueFinding(_Frozen):
    """A reachable technique and the paths to it (shortest first, bounded); ``severity``:
    its level in ``mappings/severity.yaml`` (``info`` … ``critical``)."""

    technique: Technique
    paths: tuple[Path, ...]
    truncated: bool = False
    severity: str = "info"

    @property
    def broken_by(self) -> tuple[str, ...]:
        """Controls that break every listed path, sorted (when ``truncated``, paths beyond
        the listed ones may remain)."""
        return breaking_every(self.paths)

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
        return notebook_html(self)


class Report(_Frozen):
    """The result of :func:`attackmap.analyze`."""

    attack_version: str
    entries: tuple[str, ...]
    workloads: tuple[WorkloadAnalysis, ...]
    skipped: tuple[SkippedObject, ...] = ()
    warnings: tuple[str, ...] = ()
    atlas_version: str | None = None
    """The MITRE ATLAS release of the AI-system techniques (``AML.T…``) in the report."""
    _analyzer: Reanalysis | None = PrivateAttr(default=None)

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

    def _require_analyzer(self) -> Reanalysis:
        if self._analyzer is None:
            from attackmap.errors import AttackmapError

            raise AttackmapError(
                "this report was not produced by attackmap.analyze in this process",
                hint="re-run attackmap.analyze on the manifests",
            )
        return self._analyzer

    def step_instances(self) -> tuple[PathStep, ...]:
        """Every step instance on a reported path, once, in order of first use (workloads,
        then techniques, then paths, in report order): the document's ``steps`` table."""
        return tuple(_Tables(self).steps)

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``attackmap.report/v2`` document (sorted, deterministic)."""
        tables = _Tables(self)
        return {**tables.head(self), "workloads": [tables.workload(w) for w in self.workloads]}

    def to_json(self, *, pretty: bool = False) -> str:
        """The ``attackmap.report/v2`` document as JSON text ending with a newline: compact
        (``separators=(",", ":")``) or, with ``pretty``, indented by 2; keys sorted, non-ASCII
        kept. For large reports prefer :meth:`write_json`, which never holds it whole."""
        parts: list[str] = []
        self._write(parts.append, pretty=pretty)
        return "".join(parts)

    def json(self, *, pretty: bool = False) -> str:  # type: ignore[override]  # pydantic's json() is deprecated and dumps another document than to_json()
        """The same document as :meth:`to_json` (pydantic's deprecated ``json()`` dumped
        the model's fields instead, another document than the report's JSON)."""
        return self.to_json(pretty=pretty)

    def dict(self) -> dict[str, Any]:  # type: ignore[override]  # as json(): pydantic's deprecated dict() is not the report's document
        """The same document as :meth:`to_dict`."""
        return self.to_dict()

    def write_json(self, stream: TextSink, *, pretty: bool = False) -> None:
        """Write :meth:`to_json`'s text to ``stream`` (anything with ``write(str)``): the
        tables first, then one workload at a time, so besides the report only the tables
        and one workload's text are in memory."""
        self._write(stream.write, pretty=pretty)

    def _write(self, write: Any, *, pretty: bool) -> None:
        with paused():  # many short-lived dicts beside a large, long-lived report
            self._write_tables_then_workloads(write, pretty=pretty)

    def _write_tables_then_workloads(self, write: Any, *, pretty: bool) -> None:
        tables = _Tables(self)
        # "workloads" sorts after every other top-level key: the document is its head with
        # an empty list, opened up at the end
        text = dumps({**tables.head(self), "workloads": []}, pretty=pretty)
        if not self.workloads:
            write(text + "\n")
            return
        empty_tail = "[]\n}" if pretty else "[]}"
        write(text[: -len(empty_tail)] + "[")  # ... "workloads": [
        item_start = "\n" + _INDENT * 2 if pretty else ""
        for i, workload in enumerate(self.workloads):
            body = dumps(tables.workload(workload), pretty=pretty, level=2)
            write((item_start if i == 0 else "," + item_start) + body)
        write("\n" + _INDENT + "]\n}\n" if pretty else "]}\n")

    def _repr_html_(self) -> str:
        return notebook_html(self)

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


class Reanalysis(Protocol):
    """What a report produced by :func:`attackmap.analyze` keeps of its analysis (the
    analysis stage implements it; the report only calls it)."""

    @property
    def kb(self) -> AttackKB: ...
    @property
    def catalogue(self) -> Catalogue: ...
    @property
    def graph(self) -> AttackGraph: ...
    @property
    def inventory(self) -> Inventory: ...
    def minimal_controls(self, workload: str, goals: tuple[str, ...]) -> MinimalControls: ...
    def apply(self, controls: tuple[str, ...], within: Report | None = None) -> Report: ...


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def breaking_every(paths: Iterable[Path]) -> tuple[str, ...]:
    """Controls (``control@target``) that break every one of ``paths``, sorted."""
    sets = [set(p.broken_by) for p in paths]
    return tuple(sorted(set.intersection(*sets))) if sets else ()


# -- the attackmap.report/v2 document ------------------------------------------------------

_INDENT = "  "
_NO_EVIDENCE = ("", None, "", "")
_STEP_ROW_SPECIAL = frozenset(
    {"id", "technique", "title", "workload", "container", "facts", "broken_by"}
)


class _Tables:
    """The document's tables, each entry once, and the positions that refer to them.

    ``catalogue``: per step id, its technique and title (the same for every instance);
    ``steps[i]``: a step instance (``<step>@<scope>``), in order of first use; ``facts[j]``:
    a fact with the evidence it rests on; ``evidence[k]``: a manifest location (its file
    by position in ``files``); ``controls``: every control that alone stops some step,
    sorted. A path names each step by its catalogue id (``id``, what v1 wrote there) and
    refers to its instance by position (``ref``); steps list facts and controls by
    position, facts name their evidence by position.
    """

    def __init__(self, report: Report) -> None:
        self.steps: list[PathStep] = []
        by_key: dict[tuple[str, str], int] = {}
        # Paths through one instance share its PathStep, so the object's identity finds its
        # position fast; equal instances from different objects (reports joined from
        # shards) still get one position, by key. The report holds every step, so ids stay
        # unique while this table lives.
        self._step: dict[int, int] = {}
        for s in self._walk(report):
            if id(s) in self._step:
                continue
            key = (s.id, s.scope)
            position = by_key.get(key)
            if position is None:
                position = by_key[key] = len(self.steps)
                self.steps.append(s)
            self._step[id(s)] = position
        names = sorted({c for s in self.steps for c in s.broken_by})
        self.controls = {c: i for i, c in enumerate(names)}
        self.files: dict[str, int] = {}
        self.evidence: dict[tuple[int, int | None, str, str], int] = {}
        self.facts: dict[tuple[str, int | None], int] = {}
        self.step_rows = [self._step_row(s) for s in self.steps]
        self.techniques = {
            t.technique.id: t.technique for w in report.workloads for t in w.techniques
        }
        self.severity = {t.technique.id: t.severity for w in report.workloads for t in w.techniques}

    @staticmethod
    def _walk(report: Report) -> Iterator[PathStep]:
        for w in report.workloads:
            for t in w.techniques:
                for p in t.paths:
                    yield from p.steps

    def _fact(self, use: FactUse) -> int:
        ev = None
        if (use.path, use.line, use.field, use.detail) != _NO_EVIDENCE:
            file = self.files.setdefault(use.path, len(self.files))
            where = (file, use.line, use.field, use.detail)
            ev = self.evidence.setdefault(where, len(self.evidence))
        return self.facts.setdefault((use.fact, ev), len(self.facts))

    def _step_row(self, s: PathStep) -> dict[str, Any]:
        # Every field of the instance is written (a field added to PathStep reaches the
        # document, and the schema test asks for it to be described), except those that
        # are references here or that the row implies: the step's technique and title (in
        # ``catalogue``), and the workload and container the scope names.
        row: dict[str, Any] = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in s
            if name not in _STEP_ROW_SPECIAL
        }
        row["step"] = s.id
        row["facts"] = [self._fact(f) for f in s.facts]
        row["broken_by"] = [self.controls[c] for c in s.broken_by]
        return row

    def head(self, report: Report) -> dict[str, Any]:
        """Every top-level key of the document but ``workloads`` (which sorts last)."""
        return {
            "schema": SCHEMA_ID,
            "attack": {"version": report.attack_version, "domain": "enterprise-attack"},
            "atlas": {"version": report.atlas_version} if report.atlas_version else None,
            "entries": list(report.entries),
            "techniques": {
                tid: {
                    "name": t.name,
                    "tactics": list(t.tactics),
                    "framework": t.framework,
                    "severity": self.severity[tid],
                }
                for tid, t in sorted(self.techniques.items())
            },
            "catalogue": {
                step: {"technique": s.technique, "title": s.title}
                for step, s in sorted({s.id: s for s in self.steps}.items())
            },
            "steps": self.step_rows,
            "facts": [{"fact": fact, "evidence": ev} for fact, ev in self.facts],
            "evidence": [
                {"file": file, "line": line, "field": field, "detail": detail}
                for file, line, field, detail in self.evidence
            ],
            "files": list(self.files),
            "controls": list(self.controls),
            "skipped": [s.model_dump(mode="json") for s in report.skipped],
            "warnings": list(report.warnings),
        }

    def workload(self, w: WorkloadAnalysis) -> dict[str, Any]:
        """One element of the document's ``workloads`` list."""
        step = self._step
        controls = self.controls
        return {
            "ref": {"kind": w.ref.kind, "namespace": w.ref.namespace, "name": w.ref.name}
            | ({"component": w.ref.component} if w.ref.component else {})
            | ({"origin": w.ref.origin} if w.ref.origin else {}),
            "source": {
                "path": w.source.path,
                "document": w.source.document,
                "line": w.source.line,
            },
            "techniques": [
                {
                    "id": t.technique.id,
                    "broken_by": [controls[c] for c in t.broken_by],
                    "paths": [
                        {
                            "entry": p.entry,
                            "steps": [{"id": s.id, "ref": step[id(s)]} for s in p.steps],
                        }
                        for p in t.paths
                    ],
                }
                | ({"truncated": True} if t.truncated else {})
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
