"""The analysis result, the last stage of the pipeline: per workload, the reachable
techniques, the paths to them and the controls that break them; and its JSON document.

The report is data. It knows its own document, ``attackmap.report/v2``
(``docs/schema/report-v2.json``): each step instance, fact and piece of evidence stated once
in top-level tables, paths as lists of references into them. It never imports a view: the
exporters read the report, and a notebook display reaches the HTML exporter through the
:mod:`attackmap._views` seam.
"""

import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, PrivateAttr

from attackmap._gc import paused
from attackmap._jsontext import TextSink, dumps
from attackmap._views import notebook_html
from attackmap.attack import AttackKB, Technique
from attackmap.errors import AttackmapError, InputError
from attackmap.graph._pss_join import PSSTradeoff
from attackmap.model._refs import ObjectRef, SkippedObject, SourceLocation, trusted

if TYPE_CHECKING:
    import networkx as nx

    from attackmap.graph._catalogue import Catalogue
    from attackmap.graph._engine import AttackGraph
    from attackmap.model import Inventory

SCHEMA_ID = "attackmap.report/v2"


class _Frozen(BaseModel):
    """Base of the report's models. The analysis makes them from its own values
    (``trusted``, ``model_construct``): only a report read back (:func:`load_report`) or a
    user's own instance validates them, so a class is built on that first use, not at
    import (``defer_build``: ~10 million instructions of a cold ``analyze``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


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
    """From an entry point through ordered steps; ``origin``: the workload (``Kind/ns/name``)
    whose entry point starts the path when it is not the workload the path is listed under
    (a foothold elsewhere that reaches this workload), ``None`` when it starts there;
    ``broken_by``: every control that alone breaks this path (``control@workload``;
    ``control@cluster`` for cluster changes), which is the union of its steps'
    ``broken_by`` (a control breaks a path by stopping a step)."""

    entry: str
    steps: tuple[PathStep, ...]
    broken_by: tuple[str, ...]
    origin: str | None = None

    @property
    def start(self) -> str:
        """The entry, and where it is when elsewhere: ``external via Deployment/web/ui``."""
        return f"{self.entry} via {self.origin}" if self.origin else self.entry

    @property
    def key(self) -> tuple[str, ...]:
        """The path's identity: entry and step instance ids."""
        return (self.entry, *(f"{s.id}@{s.scope}" for s in self.steps))

    def __repr__(self) -> str:
        return f"<Path {self.start} > {' > '.join(s.id for s in self.steps)}>"

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
    _analyzer: "Reanalysis | None" = PrivateAttr(default=None)
    #: ``(i, n)`` for the report of a shard (``analyze(..., shard=(i, n))``): what
    #: :func:`attackmap.engines.join` checks a cluster's shards against (not written)
    _shard: tuple[int, int] | None = PrivateAttr(default=None)
    #: a shard's digest of what its cluster's analysis read and was asked
    #: (:meth:`Analyzer.origin`: the documents, the context, the options, the releases):
    #: shards of one split share it (not written)
    _origin: str | None = PrivateAttr(default=None)

    @property
    def shard(self) -> tuple[int, int] | None:
        """``(i, n)``: this report is the i-th of n shards of a cluster's analysis
        (``attackmap.analyze(..., shard=(i, n))``; kept when pickled, not in the JSON);
        ``None`` for a whole cluster's."""
        return self._shard

    def __repr__(self) -> str:
        techniques = sum(len(w.techniques) for w in self.workloads)
        return (
            f"<Report {_count(len(self.workloads), 'workload')}, {_count(techniques, 'technique')}>"
        )

    __str__ = __repr__

    def __getstate__(self) -> dict[Any, Any]:
        """A pickled report is its data: the analysis behind it (the attack graph, for
        ``apply`` and ``minimal_controls``) stays in the process that made it."""
        state = super().__getstate__()
        private = {"_analyzer": None, "_shard": self._shard, "_origin": self._origin}
        return {**state, "__pydantic_private__": private}

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

    def apply(self, controls: list[str] | tuple[str, ...] | str) -> "Report":
        """What-if: apply ``controls`` to the manifests and re-analyse. Each is
        ``control@Kind/namespace/name`` (``control@cluster``), or a bare ``control`` for
        every workload whose paths it breaks in this report."""
        from attackmap._args import as_strings

        return self._require_analyzer().apply(as_strings(controls, "controls"), within=self)

    @property
    def attack_graph(self) -> "AttackGraph | None":
        """The instantiated attack graph behind this report (``None`` for a report that
        was deserialised rather than produced by :func:`attackmap.analyze`). Above 500
        workloads the analysis lets its graph go once the paths are found (memory), and
        the first use here builds it again: the same graph, in seconds at 10,000."""
        return self._analyzer.graph if self._analyzer is not None else None

    @property
    def graph(self) -> "nx.DiGraph | None":
        """The attack graph as a networkx ``DiGraph`` (``None`` for a deserialised report):
        nodes are attacker states (``state:...``, entry points ``state:entry:...``) and
        step instances (``step:<step>@<scope>``), node attribute ``kind`` is ``entry``,
        ``state``, ``step`` or ``sink``; an edge leads from a state to a step it enables
        and from a step to the state it grants. Built on first use."""
        return self._analyzer.graph.graph if self._analyzer is not None else None

    @property
    def catalogue(self) -> "Catalogue | None":
        """The step/control catalogue the report was made with."""
        return self._analyzer.catalogue if self._analyzer is not None else None

    def _require_analyzer(self) -> "Reanalysis":
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
        # a report's tables hold its own models (a writer's, StepRow records)
        return tuple(cast("Sequence[PathStep]", DocumentTables.of(self).steps))

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``attackmap.report/v2`` document (sorted, deterministic)."""
        tables = DocumentTables.of(self)
        head = tables.head(self)
        # the tables of what steps cite stand before the files, as they always have
        after = {key: head.pop(key) for key in ("files", "controls", "skipped", "warnings")}
        return {
            **head,
            "facts": list(tables.fact_rows()),
            "evidence": list(tables.evidence_rows()),
            **after,
            "steps": list(tables.step_rows()),
            "workloads": [tables.workload(w, finding_rows(w)) for w in self.workloads],
        }

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
        write = getattr(stream, "write", None)
        if not callable(write):
            raise TypeError(
                "write_json writes to a text stream (open(path, 'w', encoding='utf-8'), "
                f"sys.stdout), not {type(stream).__name__}"
            )
        self._write(write, pretty=pretty)

    def _write(self, write: Callable[[str], object], *, pretty: bool) -> None:
        with paused():  # many short-lived dicts beside a large, long-lived report
            tables = DocumentTables.of(self)

            def workloads(item: Callable[[str], None]) -> None:
                for w in self.workloads:
                    item(tables.workload_text(w, finding_rows(w), pretty=pretty))

            write_document(write, self, tables, workloads, pretty=pretty)

    def _repr_html_(self) -> str:
        return notebook_html(self)

    # -- reading a document back -----------------------------------------------------------

    @classmethod
    def from_dict(
        cls,
        document: Mapping[str, Any],
        *,
        path: str | os.PathLike[str] = "<report>",
        kb: AttackKB | None = None,
    ) -> "Report":
        """The report an ``attackmap.report/v2`` document (:meth:`to_dict`) states, checked
        against ``docs/schema/report-v2.json`` and for consistency (every reference within
        its table, each path step naming its instance's step, each technique's
        ``broken_by`` the controls breaking all its paths). A bad document raises
        :class:`~attackmap.errors.InputError` naming ``path`` and the JSON path of the
        offending value (``workloads[0].techniques[2].paths[0].steps[1].ref``).

        Techniques get their other details (platforms, URL, STIX id) from ``kb`` (default:
        the bundled ATT&CK release) where it knows the id; the document's name, tactics and
        framework win. What the document does not hold stays unknown: the source's Helm
        template, and the answering container of a port step whose scope does not name it.
        The result has no analysis behind it (``graph``, ``apply()``, ``minimal_controls()``
        need :func:`attackmap.analyze`); its :meth:`to_json` is the document it was read
        from, byte for byte, for every document attackmap writes."""
        return _Reader(str(path), kb).report(document)

    @classmethod
    def from_json(
        cls,
        text: str | bytes,
        *,
        path: str | os.PathLike[str] = "<report>",
        kb: AttackKB | None = None,
    ) -> "Report":
        """:meth:`from_dict` of a JSON text (:meth:`to_json`, ``attackmap analyze -o
        report.json``); text that is not JSON raises ``InputError`` with its line."""
        return cls.from_dict(parse_json(text, str(path)), path=path, kb=kb)

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
                "origin": p.origin,
                "steps": " > ".join(s.id for s in p.steps),
                "length": len(p.steps),
                "broken_by": ",".join(p.broken_by),
            }
            for w in self.workloads
            for t in w.techniques
            for p in t.paths
        ]
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class Reached:
    """A reachable technique of a workload without its paths (:class:`ReportOutline`)."""

    technique: Technique
    severity: str


@dataclass(frozen=True)
class WorkloadOutline:
    """A workload of a :class:`ReportOutline`: its reachable techniques, in report order."""

    ref: ObjectRef
    techniques: tuple[Reached, ...]


@dataclass(frozen=True)
class ReportOutline:
    """What a report written as it was analysed (``ReportWriter.write``) leaves behind
    for a summary line and ``--fail-on``: the report's entries, skipped objects and
    warnings, and each workload's reachable techniques with their severity; no paths. It
    reads like a :class:`Report` where those are all that is asked (``workloads[i].ref``,
    ``.techniques[j].technique`` and ``.severity``)."""

    entries: tuple[str, ...]
    workloads: tuple[WorkloadOutline, ...]
    skipped: tuple[SkippedObject, ...] = ()
    warnings: tuple[str, ...] = ()


class Reanalysis(Protocol):
    """What a report produced by :func:`attackmap.analyze` keeps of its analysis (the
    analysis stage implements it; the report only calls it)."""

    @property
    def kb(self) -> AttackKB: ...
    @property
    def catalogue(self) -> "Catalogue": ...
    @property
    def graph(self) -> "AttackGraph": ...
    @property
    def inventory(self) -> "Inventory": ...
    def minimal_controls(self, workload: str, goals: tuple[str, ...]) -> MinimalControls: ...
    def apply(self, controls: tuple[str, ...], within: Report | None = None) -> Report: ...


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def breaking_every(paths: Iterable[Path]) -> tuple[str, ...]:
    """Controls (``control@target``) that break every one of ``paths``, sorted."""
    return common_controls(p.broken_by for p in paths)


def common_controls(broken_by: Iterable[Collection[str]]) -> tuple[str, ...]:
    """The controls in every one of ``broken_by`` (each a path's), sorted."""
    sets = [set(b) for b in broken_by]
    return tuple(sorted(set.intersection(*sets))) if sets else ()


# -- the attackmap.report/v2 document ------------------------------------------------------

_INDENT = "  "
_NO_EVIDENCE = ("", None, "", "")
_STEP_ROW_SPECIAL = frozenset(
    {"id", "technique", "title", "workload", "container", "facts", "broken_by"}
)


_STEP_ROW_OWN = tuple(name for name in PathStep.model_fields if name not in _STEP_ROW_SPECIAL)
"""The fields of a path step its ``steps`` row writes as they are (the others are
references, or implied by the row)."""


class UseRow(NamedTuple):
    """A fact use as a report written while it is analysed keeps it
    (:meth:`~attackmap.graph.Analyzer.report_writer`): :class:`FactUse`'s fields, in its
    order, as a tuple. The document is the same; the record is a third of a model's
    memory (a report of 10k workloads cites ~140,000 distinct uses)."""

    fact: str
    path: str
    line: int | None
    field: str
    detail: str


class StepRow(NamedTuple):
    """A path step as a report written while it is analysed keeps it: :class:`PathStep`'s
    fields, in its order, as a tuple (a report of 10k workloads holds ~170,000 step
    instances; as models they were a seventh of the writer's memory)."""

    id: str
    technique: str
    title: str
    scope: str
    workload: str | None
    container: str | None
    facts: tuple[UseRow, ...]
    broken_by: tuple[str, ...]


AnyStep = PathStep | StepRow
"""A step instance of a document's ``steps`` table: a report's model or a writer's record."""

AnyUse = FactUse | UseRow
"""A fact use of a document's ``facts`` table: a report's model or a writer's record."""


PathRow = tuple[str, str | None, tuple[StepRow, ...]]
"""A path as the document states it, without the ``broken_by`` a :class:`Path` carries
(the document's ``steps`` table holds each step's): entry kind, origin, steps. A plain
tuple, not a record: a tuple subclass's instance takes a slot more (pymalloc's 80-byte
class, not 64), and the rows of a large report (~515,000 paths at 10k workloads) are made
as the ranked paths of the same shape are let go; in the ranked paths' size class they
take the memory those leave (measured: the writing phase's peak at 10k 546 -> 509 MB)."""


def path_fields(p: Path | PathRow) -> tuple[str, str | None, Sequence[AnyStep]]:
    """A path's entry kind, origin and steps, of a report's :class:`Path` or a
    :data:`PathRow`."""
    return p if isinstance(p, tuple) else (p.entry, p.origin, p.steps)


class FindingRow(NamedTuple):
    """One element of a workload's ``techniques`` as the document states it: the
    technique's id, the controls that break every listed path (``breaking_every``), whether
    paths were left out, and the listed paths."""

    technique: str
    broken_by: tuple[str, ...]
    truncated: bool
    paths: Sequence[Path | PathRow]


def finding_rows(w: WorkloadAnalysis) -> Iterator[FindingRow]:
    """``w``'s techniques as :class:`FindingRow`."""
    for t in w.techniques:
        yield FindingRow(t.technique.id, t.broken_by, t.truncated, t.paths)


class ElementTexts:
    """What a ``workloads`` element refers to: each path step's position in the document's
    ``steps`` table (by the step object's identity), each control's in ``controls``; and
    the element's text (:meth:`workload_text`). :class:`DocumentTables` holds them with
    the tables; a forked writer of some workloads' elements, with its own steps'
    positions alone (``ReportWriter``)."""

    def __init__(self, positions: dict[int, int], controls: Sequence[str]) -> None:
        self._step = positions
        self._step_refs: dict[int, str] = {}  # a path step's text (see workload_text)
        self.controls = {c: i for i, c in enumerate(controls)}

    def workload(self, w: WorkloadAnalysis, findings: Iterable[FindingRow]) -> dict[str, Any]:
        """One element of the document's ``workloads`` list: ``w``'s fields but its
        techniques, which ``findings`` give (:func:`finding_rows`)."""
        step = self._step
        return {
            **self._workload_fields(w),
            "techniques": [
                {
                    **self._technique_fields(t),
                    "paths": [
                        {
                            "entry": entry,
                            "steps": [{"id": s.id, "ref": step[id(s)]} for s in steps],
                        }
                        | ({"origin": origin} if origin else {})
                        for entry, origin, steps in map(path_fields, t.paths)
                    ],
                }
                for t in findings
            ],
        }

    def workload_text(
        self, w: WorkloadAnalysis, findings: Iterable[FindingRow], *, pretty: bool
    ) -> str:
        """:meth:`workload` as JSON text at the nesting of a ``workloads`` element. The
        compact text is written without the dicts: a path's steps are most of a document
        (~3 per path, 50 paths per workload) and each instance's ``{"id":…,"ref":…}`` text
        is made once."""
        if pretty:
            return dumps(self.workload(w, findings), pretty=True, level=2)
        techniques = ",".join(map(self._technique_json, findings))
        fields = {k: dumps(v) for k, v in self._workload_fields(w).items()}
        return _object({**fields, "techniques": "[" + techniques + "]"})

    def _technique_json(self, t: FindingRow) -> str:
        # {"broken_by":[…],"id":…,"paths":[…],"truncated":true}: :meth:`_technique_fields`
        # and the paths, the keys in sorted order, "truncated" when set (positions are ints)
        controls = self.controls
        return (
            '{"broken_by":['
            + ",".join([str(controls[c]) for c in t.broken_by])
            + '],"id":'
            + encode_basestring(t.technique)
            + ',"paths":['
            + ",".join(map(self._path_json, t.paths))
            + ('],"truncated":true}' if t.truncated else "]}")
        )

    def _path_json(self, p: Path | PathRow) -> str:
        # {"entry":…,"origin":…,"steps":[…]}: the keys in sorted order, "origin" when set
        steps = self._step_refs
        texts = []
        entry, origin, path = path_fields(p)
        for s in path:
            text = steps.get(id(s))
            if text is None:
                text = steps[id(s)] = (
                    '{"id":' + encode_basestring(s.id) + ',"ref":' + str(self._step[id(s)]) + "}"
                )
            texts.append(text)
        at = ',"origin":' + encode_basestring(origin) if origin else ""
        return '{"entry":' + encode_basestring(entry) + at + ',"steps":[' + ",".join(texts) + "]}"

    def _technique_fields(self, t: FindingRow) -> dict[str, Any]:
        """A ``techniques`` element's keys but ``paths``."""
        return {
            "id": t.technique,
            "broken_by": [self.controls[c] for c in t.broken_by],
        } | ({"truncated": True} if t.truncated else {})

    def _workload_fields(self, w: WorkloadAnalysis) -> dict[str, Any]:
        """A ``workloads`` element's keys but ``techniques``."""
        return {
            "ref": {"kind": w.ref.kind, "namespace": w.ref.namespace, "name": w.ref.name}
            | ({"component": w.ref.component} if w.ref.component else {})
            | ({"origin": w.ref.origin} if w.ref.origin else {}),
            "source": {
                "path": w.source.path,
                "document": w.source.document,
                "line": w.source.line,
            },
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


class DocumentTables(ElementTexts):
    """The document's tables, each entry once, and the positions that refer to them.

    ``catalogue``: per step id, its technique and title (the same for every instance);
    ``steps[i]``: a step instance (``<step>@<scope>``), in order of first use; ``facts[j]``:
    a fact with the evidence it rests on; ``evidence[k]``: a manifest location (its file
    by position in ``files``); ``controls``: every control that alone stops some step,
    sorted. A path names each step by its catalogue id (``id``, what v1 wrote there) and
    refers to its instance by position (``ref``); steps list facts and controls by
    position, facts name their evidence by position.

    Made from a report (:meth:`of`), or from its step instances in order of first use and
    its techniques (what a report written as it is analysed knows before its workloads'
    text): ``steps`` distinct objects, each path step one of them.
    """

    def __init__(
        self,
        steps: Sequence[AnyStep],
        techniques: Mapping[str, tuple[Technique, str]],
        positions: dict[int, int] | None = None,
        controls: Sequence[str] | None = None,
    ) -> None:
        """``controls``: the steps' ``broken_by`` sorted, where the caller has them."""
        self.steps = steps
        # a path step's position by the object's identity (the tables' owner holds every
        # step, so ids stay unique while the tables live)
        super().__init__(
            {id(s): i for i, s in enumerate(steps)} if positions is None else positions,
            sorted({c for s in steps for c in s.broken_by}) if controls is None else controls,
        )
        self.files: dict[str, int] = {}
        self.evidence: dict[tuple[int, int | None, str, str], int] = {}
        self.facts: dict[tuple[str, int | None], int] = {}
        for s in steps:  # facts and evidence numbered in order of first use
            for use in s.facts:
                self._fact(use)
        self.techniques = {tid: t for tid, (t, _severity) in techniques.items()}
        self.severity = {tid: severity for tid, (_t, severity) in techniques.items()}

    @classmethod
    def of(cls, report: Report) -> "DocumentTables":
        """The tables of ``report``'s document."""
        steps: list[PathStep] = []
        by_key: dict[tuple[str, str], int] = {}
        # Paths through one instance share its PathStep, so the object's identity finds its
        # position fast; equal instances from different objects (reports joined from
        # shards) still get one position, by key.
        positions: dict[int, int] = {}
        for w in report.workloads:
            for t in w.techniques:
                for p in t.paths:
                    for s in p.steps:
                        if id(s) in positions:
                            continue
                        key = (s.id, s.scope)
                        position = by_key.get(key)
                        if position is None:
                            position = by_key[key] = len(steps)
                            steps.append(s)
                        positions[id(s)] = position
        techniques = {
            t.technique.id: (t.technique, t.severity)
            for w in report.workloads
            for t in w.techniques
        }
        return cls(steps, techniques, positions)

    def _fact(self, use: AnyUse) -> int:
        ev = None
        if (use.path, use.line, use.field, use.detail) != _NO_EVIDENCE:
            file = self.files.setdefault(use.path, len(self.files))
            where = (file, use.line, use.field, use.detail)
            ev = self.evidence.setdefault(where, len(self.evidence))
        return self.facts.setdefault((use.fact, ev), len(self.facts))

    def step_rows(self) -> Iterator[dict[str, Any]]:
        """The ``steps`` table, one row at a time."""
        return map(self._step_row, self.steps)

    def _step_row(self, s: AnyStep) -> dict[str, Any]:
        # Every field of the instance is written (a field added to PathStep reaches the
        # document, and the schema test asks for it to be described), except those that
        # are references here or that the row implies: the step's technique and title (in
        # ``catalogue``), and the workload and container the scope names.
        row: dict[str, Any] = {}
        for name in _STEP_ROW_OWN:
            value = getattr(s, name)
            row[name] = list(value) if isinstance(value, tuple) else value
        row["step"] = s.id
        row["facts"] = [self._fact(f) for f in s.facts]
        row["broken_by"] = [self.controls[c] for c in s.broken_by]
        return row

    def fact_rows(self) -> Iterator[dict[str, Any]]:
        """The ``facts`` table, one row at a time."""
        return ({"fact": fact, "evidence": ev} for fact, ev in self.facts)

    def evidence_rows(self) -> Iterator[dict[str, Any]]:
        """The ``evidence`` table, one row at a time."""
        return (
            {"file": file, "line": line, "field": field, "detail": detail}
            for file, line, field, detail in self.evidence
        )

    def tables_written(self) -> None:
        """Let go of what only the tables' rows need (the facts, the evidence and their
        files, by position: at 10k workloads ~35 MB of dicts): the ``workloads`` elements
        refer to steps and controls alone. :meth:`table_texts` is empty after."""
        self.facts = {}
        self.evidence = {}
        self.files = {}

    def table_texts(self, table: str, *, pretty: bool) -> Iterator[str]:
        """The rows of a table of step instances and what they cite (``steps``, ``facts``,
        ``evidence``) as JSON text at the nesting of its elements: one text per row, so a
        table is written without being held whole (the facts of 10k workloads, as dicts:
        ~40 MB); the compact text without the rows' dicts (positions are ints)."""
        if table not in ("steps", "facts", "evidence"):
            raise KeyError(f"no table {table!r}")
        if pretty:
            rows = {"steps": self.step_rows, "facts": self.fact_rows}.get(table, self.evidence_rows)
            return (dumps(row, pretty=True, level=2) for row in rows())
        if table == "steps":
            return map(self._step_json, self.steps)
        if table == "facts":
            return (
                '{"evidence":' + _int_or_null(ev) + ',"fact":' + encode_basestring(fact) + "}"
                for fact, ev in self.facts
            )
        return (
            '{"detail":'
            + encode_basestring(detail)
            + ',"field":'
            + encode_basestring(field)
            + ',"file":'
            + str(file)
            + ',"line":'
            + _int_or_null(line)
            + "}"
            for file, line, field, detail in self.evidence
        )

    def _step_json(self, s: AnyStep) -> str:
        # :meth:`_step_row` as compact text: the instance's own fields encoded one by one,
        # the references written (positions are ints)
        controls, fact = self.controls, self._fact
        fields = {name: dumps(getattr(s, name)) for name in _STEP_ROW_OWN}
        fields["step"] = encode_basestring(s.id)
        fields["facts"] = "[" + ",".join([str(fact(f)) for f in s.facts]) + "]"
        fields["broken_by"] = "[" + ",".join([str(controls[c]) for c in s.broken_by]) + "]"
        return _object(fields)

    def head(self, report: Report) -> dict[str, Any]:
        """Every top-level key of the document but the long lists: ``steps``, ``facts``,
        ``evidence`` (:meth:`step_rows`, :meth:`fact_rows`, :meth:`evidence_rows`) and
        ``workloads`` (:meth:`workload`); ``report`` gives its version, entries, skipped
        objects and warnings (not its workloads: those are in the tables)."""
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
            "files": list(self.files),
            "controls": list(self.controls),
            "skipped": [s.model_dump(mode="json") for s in report.skipped],
            "warnings": list(report.warnings),
        }


_TABLES = ("evidence", "facts", "steps")
"""The top-level tables :func:`write_document` writes a row at a time."""


def _int_or_null(value: int | None) -> str:
    return "null" if value is None else str(value)


def _object(fields: Mapping[str, str]) -> str:
    """A JSON object of values given as compact text, keys sorted as :func:`dumps` sorts
    them."""
    return "{" + ",".join(encode_basestring(k) + ":" + v for k, v in sorted(fields.items())) + "}"


def element_separator(*, pretty: bool) -> str:
    """What separates two elements of a top-level list (``steps``, ``workloads``)."""
    return "," + ("\n" + _INDENT * 2 if pretty else "")


def write_document(
    write: Callable[[str], object],
    head: Report,
    tables: DocumentTables,
    workloads: Callable[[Callable[[str], None]], None],
    *,
    pretty: bool,
) -> None:
    """The ``attackmap.report/v2`` document, written as :func:`dumps` writes it.

    The top-level keys in sorted order, each value encoded alone; the long lists, the
    tables ``steps``, ``facts`` and ``evidence`` (:meth:`DocumentTables.table_texts`) and
    ``workloads``, one item at a time: besides what the caller holds, only the tables'
    positions and one item's text are in memory (the whole head as text and as dicts, then
    the facts and evidence tables as dicts, were the peak of a large run). ``head``: the report's
    version, entries, skipped objects and warnings (its workloads are not read);
    ``workloads(item)`` calls ``item(text)`` with each ``workloads`` element's text
    (:meth:`DocumentTables.workload_text`), in order; a text may also be several elements
    joined by :func:`element_separator`, and a caller may continue the last item's text
    with ``write``.
    """
    parts = {**tables.head(head), **dict.fromkeys(_TABLES), "workloads": None}
    inner = "\n" + _INDENT if pretty else ""
    colon = ": " if pretty else ":"
    separator = "{" + inner
    for key, value in sorted(parts.items()):
        write(separator + encode_basestring(key) + colon)
        separator = "," + inner
        if key in _TABLES:

            def rows(item: Callable[[str], None], table: str = key) -> None:
                for text in tables.table_texts(table, pretty=pretty):
                    item(text)

            _write_items(write, rows, pretty)
        elif key == "workloads":  # (after every table: the keys are sorted)
            tables.tables_written()
            _write_items(write, workloads, pretty)
        else:
            write(dumps(value, pretty=pretty, level=1))
    write("\n}\n" if pretty else "}\n")


def _write_items(
    write: Callable[[str], object],
    items: Callable[[Callable[[str], None]], None],
    pretty: bool,
) -> None:
    """A top-level list whose items ``items(item)`` gives as text, one at a time, as
    :func:`dumps` writes the list."""
    item_start = "\n" + _INDENT * 2 if pretty else ""
    opening = "[" + item_start

    def item(text: str) -> None:
        nonlocal opening
        write(opening + text)
        opening = "," + item_start

    items(item)
    if opening[0] == "[":  # no item
        write("[]")
    else:
        write("\n" + _INDENT + "]" if pretty else "]")


# -- reading the document back -------------------------------------------------------------

_WRITE_ONE = "write one with: attackmap analyze PATH -o report.json"
_T = TypeVar("_T")
_ENTRIES = ("external", "cluster", "image")
_FRAMEWORKS = ("attack", "atlas")
_SEVERITIES = ("info", "low", "medium", "high", "critical")
_LEVELS = ("privileged", "baseline", "restricted")
_TECHNIQUE_ID = re.compile(r"(T|AML\.T)[0-9]{4}(\.[0-9]{3})?")
_WORKLOAD_KEY = re.compile(r"[^/]+/[^/]+/[^/]+")
_STEP_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_TACTIC = re.compile(r"[a-z-]+")
_CONTROL = re.compile(r"[a-z0-9][a-z0-9-]*(:[^@]+)?@.+")
_ATTACK_VERSION = re.compile(r"[0-9]+\.[0-9]+")
_ATLAS_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")


def load_report(path: str | os.PathLike[str], *, kb: AttackKB | None = None) -> Report:
    """The report saved at ``path`` (``attackmap analyze -o report.json``): see
    :meth:`Report.from_dict`. Errors name the file (and the line or JSON path)."""
    return Report.from_dict(read_json(path), path=path, kb=kb)


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON value of the file ``path``; errors name the file (and the line)."""
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read the report: {e.strerror or e}", path=str(path)) from e
    except UnicodeDecodeError as e:
        raise InputError("the report is not UTF-8 text", path=str(path)) from e
    return parse_json(text, str(path))


def parse_json(text: str | bytes, path: str) -> Any:
    """The JSON value of ``text``; an ``InputError`` naming ``path`` and the line if it is
    not JSON."""
    try:
        return json.loads(text)
    except UnicodeDecodeError as e:
        raise InputError("the report is not UTF-8 text", path=path) from e
    except json.JSONDecodeError as e:
        raise InputError(
            f"not a JSON report: {e.msg}", path=path, line=e.lineno, hint=_WRITE_ONE
        ) from e


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _at(where: str, key: str) -> str:
    if not key.isidentifier():
        return f'{where}["{key}"]'
    return f"{where}.{key}" if where else key


class _Reader:
    """Reads an ``attackmap.report/v2`` document into report objects, checking each value
    as the schema (``docs/schema/report-v2.json``) and the tables' references require."""

    def __init__(self, path: str, kb: AttackKB | None) -> None:
        self.path = path
        self._kb = kb
        self._kb_loaded = kb is not None

    # -- values ----------------------------------------------------------------------------

    def fail(self, where: str, message: str, hint: str | None = None) -> NoReturn:
        raise InputError(message, path=self.path, field=where or None, hint=hint or _WRITE_ONE)

    def obj(
        self, value: object, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, f"expected an object, got {_kind(value)}")
        for key in required:
            if key not in value:
                self.fail(_at(where, key), "missing")
        known = set(required) | set(optional)
        for key in value:
            if key not in known:
                self.fail(
                    _at(where, str(key)),
                    "unknown key",
                    hint=f"expected {', '.join(sorted(known))}",
                )
        return value

    def array(self, value: object, where: str, *, min_items: int = 0) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {_kind(value)}")
        if len(value) < min_items:
            self.fail(where, f"expected at least {min_items} item(s), got none")
        return value

    def string(
        self,
        value: object,
        where: str,
        *,
        nonempty: bool = False,
        pattern: re.Pattern[str] | None = None,
        choices: tuple[str, ...] = (),
    ) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {_kind(value)}")
        if nonempty and not value:
            self.fail(where, "expected a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(where, f"{value!r} does not match {pattern.pattern}")
        if choices and value not in choices:
            self.fail(where, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def optional_string(self, value: object, where: str) -> str | None:
        return None if value is None else self.string(value, where)

    def items(self, value: object, where: str, *, min_items: int = 0) -> Iterator[tuple[Any, str]]:
        """Each item of the list ``value`` with its place (``where[i]``)."""
        for i, item in enumerate(self.array(value, where, min_items=min_items)):
            yield item, f"{where}[{i}]"

    def keyed(
        self, value: object, where: str, pattern: re.Pattern[str]
    ) -> Iterator[tuple[str, Any, str]]:
        """Each entry of the table ``value`` (an object keyed by id): its key, checked
        against ``pattern``, the entry and its place."""
        table = self.obj(value, where, (), tuple(value) if isinstance(value, dict) else ())
        for key, entry in table.items():
            at = _at(where, key)
            self.string(key, at, pattern=pattern)
            yield key, entry, at

    def strings(self, value: object, where: str, **kw: Any) -> tuple[str, ...]:
        return tuple(self.string(v, at, **kw) for v, at in self.items(value, where))

    def integer(self, value: object, where: str, minimum: int = 0) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(where, f"expected an integer, got {_kind(value)}")
        if value < minimum:
            self.fail(where, f"expected an integer of at least {minimum}, got {value}")
        return value

    def line(self, value: object, where: str) -> int | None:
        return None if value is None else self.integer(value, where, minimum=1)

    def boolean(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected a boolean, got {_kind(value)}")
        return value

    def position(self, value: object, where: str, table: str, size: int) -> int:
        """A reference into the top-level ``table`` of ``size`` entries."""
        index = self.integer(value, where)
        if index >= size:
            self.fail(where, f"refers to {table}[{index}], but {table} has {size} entries")
        return index

    def refs(self, value: object, where: str, table: str, rows: Sequence[_T]) -> tuple[_T, ...]:
        """The entries of ``rows`` (the top-level ``table``) a list of positions names."""
        positions = self.array(value, where)
        size = len(rows)
        if all(type(i) is int and 0 <= i < size for i in positions):
            return tuple(rows[i] for i in positions)
        for i, v in enumerate(positions):
            self.position(v, f"{where}[{i}]", table, size)
        raise AssertionError("unreachable: a bad position fails above")  # pragma: no cover

    def unique(self, values: tuple[str, ...], where: str) -> None:
        seen: set[str] = set()
        for i, v in enumerate(values):
            if v in seen:
                self.fail(f"{where}[{i}]", f"{v!r} appears more than once")
            seen.add(v)

    # -- the document ----------------------------------------------------------------------

    def report(self, document: object) -> Report:
        if isinstance(document, dict) and document.get("schema") != SCHEMA_ID:
            found = document.get("schema")
            self.fail(
                "schema",
                f"not an {SCHEMA_ID} document (schema: {found!r})"
                if found is not None
                else f"not an {SCHEMA_ID} document: no schema",
                hint="analyse the manifests again with this attackmap to write a report/v2",
            )
        doc = self.obj(
            document,
            "",
            (
                "schema",
                "attack",
                "atlas",
                "entries",
                "techniques",
                "catalogue",
                "steps",
                "facts",
                "evidence",
                "files",
                "controls",
                "workloads",
                "skipped",
                "warnings",
            ),
        )
        attack = self.obj(doc["attack"], "attack", ("version", "domain"))
        attack_version = self.string(attack["version"], "attack.version", pattern=_ATTACK_VERSION)
        self.string(attack["domain"], "attack.domain", choices=("enterprise-attack",))
        atlas_version = None
        if doc["atlas"] is not None:
            atlas = self.obj(doc["atlas"], "atlas", ("version",))
            atlas_version = self.string(atlas["version"], "atlas.version", pattern=_ATLAS_VERSION)
        entries = self.strings(doc["entries"], "entries", choices=_ENTRIES)
        self.unique(entries, "entries")
        files = self.strings(doc["files"], "files")
        controls = self.strings(doc["controls"], "controls", pattern=_CONTROL)
        self.unique(controls, "controls")
        evidence = [
            self._evidence(e, at, files) for e, at in self.items(doc["evidence"], "evidence")
        ]
        facts = [self._fact(f, at, evidence) for f, at in self.items(doc["facts"], "facts")]
        catalogue = self._catalogue(doc["catalogue"])
        steps = [
            self._step(row, at, catalogue, facts, controls)
            for row, at in self.items(doc["steps"], "steps")
        ]
        techniques = self._techniques(doc["techniques"])
        workloads = tuple(
            self._workload(w, at, techniques, steps, controls)
            for w, at in self.items(doc["workloads"], "workloads")
        )
        skipped = tuple(self._skipped(s, at) for s, at in self.items(doc["skipped"], "skipped"))
        return Report(
            attack_version=attack_version,
            atlas_version=atlas_version,
            entries=entries,
            workloads=workloads,
            skipped=skipped,
            warnings=self.strings(doc["warnings"], "warnings"),
        )

    def _evidence(
        self, value: object, where: str, files: tuple[str, ...]
    ) -> tuple[str, int | None, str, str]:
        e = self.obj(value, where, ("file", "line", "field", "detail"))
        return (
            files[self.position(e["file"], f"{where}.file", "files", len(files))],
            self.line(e["line"], f"{where}.line"),
            self.string(e["field"], f"{where}.field"),
            self.string(e["detail"], f"{where}.detail"),
        )

    def _fact(
        self, value: object, where: str, evidence: list[tuple[str, int | None, str, str]]
    ) -> FactUse:
        f = self.obj(value, where, ("fact", "evidence"))
        fact = self.string(f["fact"], f"{where}.fact", nonempty=True)
        path, line, field, detail = _NO_EVIDENCE
        if f["evidence"] is not None:
            at = self.position(f["evidence"], f"{where}.evidence", "evidence", len(evidence))
            path, line, field, detail = evidence[at]
        return FactUse(fact=fact, path=path, line=line, field=field, detail=detail)

    def _catalogue(self, value: object) -> dict[str, tuple[str, str]]:
        out = {}
        for step, entry, where in self.keyed(value, "catalogue", _STEP_ID):
            e = self.obj(entry, where, ("technique", "title"))
            out[step] = (
                self.string(e["technique"], f"{where}.technique", pattern=_TECHNIQUE_ID),
                self.string(e["title"], f"{where}.title", nonempty=True),
            )
        return out

    def _step(
        self,
        value: object,
        where: str,
        catalogue: dict[str, tuple[str, str]],
        facts: list[FactUse],
        controls: tuple[str, ...],
    ) -> PathStep:
        row = self.obj(value, where, ("step", "scope", "facts", "broken_by"))
        step = self.string(row["step"], f"{where}.step", pattern=_STEP_ID)
        if step not in catalogue:
            self.fail(f"{where}.step", f"step {step!r} is not in the catalogue table")
        scope = self.string(row["scope"], f"{where}.scope", nonempty=True)
        workload, container = _scope_parts(scope)
        technique, title = catalogue[step]
        uses = self.refs(row["facts"], f"{where}.facts", "facts", facts)
        broken_by = self.refs(row["broken_by"], f"{where}.broken_by", "controls", controls)
        return PathStep(
            id=step,
            technique=technique,
            title=title,
            scope=scope,
            workload=workload,
            container=container,
            facts=uses,
            broken_by=broken_by,
        )

    def _techniques(self, value: object) -> dict[str, tuple[Technique, str]]:
        out = {}
        for tid, entry, where in self.keyed(value, "techniques", _TECHNIQUE_ID):
            e = self.obj(entry, where, ("name", "tactics", "framework"), ("severity",))
            name = self.string(e["name"], f"{where}.name", nonempty=True)
            tactics = self.strings(e["tactics"], f"{where}.tactics", pattern=_TACTIC)
            if not tactics:
                self.fail(f"{where}.tactics", "expected at least 1 item(s), got none")
            framework = self.string(e["framework"], f"{where}.framework", choices=_FRAMEWORKS)
            severity = "info"
            if "severity" in e:
                severity = self.string(e["severity"], f"{where}.severity", choices=_SEVERITIES)
            out[tid] = (self._technique(tid, name, tactics, framework), severity)
        return out

    def _technique(
        self, tid: str, name: str, tactics: tuple[str, ...], framework: str
    ) -> Technique:
        """``tid`` as the knowledge base knows it, with the document's name, tactics and
        framework; built from the document alone where the knowledge base does not know it."""
        if not self._kb_loaded:
            from attackmap.attack import load_attack

            self._kb, self._kb_loaded = load_attack(), True
        known: Technique | None = None
        if self._kb is not None:
            try:
                known = self._kb.technique(tid)
            except AttackmapError:
                known = None
        stated = {"name": name, "tactics": tactics, "framework": framework}
        if known is not None and known.id == tid:
            return known.model_copy(update=stated)
        base, _, sub = tid.partition(".") if framework == "attack" else (tid, "", "")
        url = (
            f"https://attack.mitre.org/techniques/{base}/{sub + '/' if sub else ''}"
            if framework == "attack"
            else f"https://atlas.mitre.org/techniques/{tid}"
        )
        return Technique(
            id=tid,
            platforms=(),
            is_subtechnique=tid.count(".") > (1 if framework == "atlas" else 0),
            url=url,
            stix_id="",
            version="",
            revoked=False,
            deprecated=False,
            **stated,  # type: ignore[arg-type]  # framework checked against _FRAMEWORKS
        )

    def _workload(
        self,
        value: object,
        where: str,
        techniques: dict[str, tuple[Technique, str]],
        steps: list[PathStep],
        controls: tuple[str, ...],
    ) -> WorkloadAnalysis:
        w = self.obj(
            value, where, ("ref", "source", "techniques", "minimal_controls", "pss", "warnings")
        )
        r = self.obj(
            w["ref"], f"{where}.ref", ("kind", "namespace", "name"), ("component", "origin")
        )
        ref = ObjectRef(
            kind=self.string(r["kind"], f"{where}.ref.kind", nonempty=True),
            namespace=self.optional_string(r["namespace"], f"{where}.ref.namespace"),
            name=self.string(r["name"], f"{where}.ref.name", nonempty=True),
            component=self.string(r["component"], f"{where}.ref.component")
            if "component" in r
            else None,
            origin=self.string(r["origin"], f"{where}.ref.origin") if "origin" in r else None,
        )
        src = self.obj(w["source"], f"{where}.source", ("path", "document", "line"))
        source = SourceLocation(
            path=self.string(src["path"], f"{where}.source.path"),
            document=self.integer(src["document"], f"{where}.source.document"),
            line=self.line(src["line"], f"{where}.source.line"),
        )
        findings = tuple(
            self._finding(t, at, techniques, steps, controls)
            for t, at in self.items(w["techniques"], f"{where}.techniques")
        )
        minimal = tuple(
            self._minimal(m, at)
            for m, at in self.items(w["minimal_controls"], f"{where}.minimal_controls")
        )
        pss = None if w["pss"] is None else self._pss(w["pss"], f"{where}.pss")
        return WorkloadAnalysis(
            ref=ref,
            source=source,
            techniques=findings,
            minimal_controls=minimal,
            pss=pss,
            warnings=self.strings(w["warnings"], f"{where}.warnings"),
        )

    def _finding(
        self,
        value: object,
        where: str,
        techniques: dict[str, tuple[Technique, str]],
        steps: list[PathStep],
        controls: tuple[str, ...],
    ) -> TechniqueFinding:
        t = self.obj(value, where, ("id", "broken_by", "paths"), ("truncated",))
        tid = self.string(t["id"], f"{where}.id", pattern=_TECHNIQUE_ID)
        if tid not in techniques:
            self.fail(f"{where}.id", f"technique {tid} is not in the techniques table")
        truncated = False
        if "truncated" in t and not self.boolean(t["truncated"], f"{where}.truncated"):
            self.fail(f"{where}.truncated", "expected true (absent when not truncated)")
        truncated = "truncated" in t
        paths = tuple(
            self._path(p, at, steps)
            for p, at in self.items(t["paths"], f"{where}.paths", min_items=1)
        )
        stated = tuple(
            controls[self.position(c, at, "controls", len(controls))]
            for c, at in self.items(t["broken_by"], f"{where}.broken_by")
        )
        every = breaking_every(paths)
        if stated != every:
            self.fail(
                f"{where}.broken_by",
                f"lists {', '.join(stated) or 'no control'}, but the controls breaking every "
                f"listed path are {', '.join(every) or 'none'}",
                hint="a technique's broken_by is the intersection of its paths' steps' "
                "broken_by; the document was changed by hand?",
            )
        technique, severity = techniques[tid]
        return TechniqueFinding(
            technique=technique, paths=paths, truncated=truncated, severity=severity
        )

    def _path(self, value: object, where: str, steps: list[PathStep]) -> Path:
        p = self.obj(value, where, ("entry", "steps"), ("origin",))
        entry = self.string(p["entry"], f"{where}.entry", choices=_ENTRIES)
        origin = None
        if "origin" in p:
            origin = self.string(p["origin"], f"{where}.origin", pattern=_WORKLOAD_KEY)
        items = self.array(p["steps"], f"{where}.steps", min_items=1)
        used = []
        size = len(steps)
        for i, item in enumerate(items):
            # the common case checked without building a JSON path; any doubt, the
            # precise checks below say what is wrong and where
            ref = item.get("ref") if type(item) is dict else None
            if (
                type(ref) is int
                and 0 <= ref < size
                and len(item) == 2
                and steps[ref].id == item.get("id")
            ):
                used.append(steps[ref])
                continue
            at = f"{where}.steps[{i}]"
            checked = self.obj(item, at, ("id", "ref"))
            sid = self.string(checked["id"], f"{at}.id", pattern=_STEP_ID)
            step = steps[self.position(checked["ref"], f"{at}.ref", "steps", size)]
            self.fail(f"{at}.id", f"names step {sid!r}, but steps[{checked['ref']}] is {step.id!r}")
        if origin is not None and used[0].workload != origin:
            self.fail(
                f"{where}.origin",
                f"names {origin}, but the path's first step is in {used[0].workload}",
                hint="a path starts at the entry point of its first step's workload",
            )
        broken_by = tuple(sorted({c for s in used for c in s.broken_by}))
        # every value checked above, of the types the fields take
        return trusted(
            Path,
            entry=entry,
            steps=tuple(used),
            broken_by=broken_by,
            origin=origin,
        )

    def _minimal(self, value: object, where: str) -> MinimalControls:
        m = self.obj(
            value, where, ("goals", "controls", "exact", "unreachable_after", "unbroken_paths")
        )
        return MinimalControls(
            goals=self.strings(m["goals"], f"{where}.goals", pattern=_TECHNIQUE_ID),
            controls=self.strings(m["controls"], f"{where}.controls", pattern=_CONTROL),
            exact=self.boolean(m["exact"], f"{where}.exact"),
            unreachable_after=self.boolean(m["unreachable_after"], f"{where}.unreachable_after"),
            unbroken_paths=self.integer(m["unbroken_paths"], f"{where}.unbroken_paths"),
        )

    def _pss(self, value: object, where: str) -> PSSTradeoff:
        p = self.obj(
            value,
            where,
            ("lowest_level", "next_level", "next_violations", "controls", "removes", "unfixed"),
        )
        return PSSTradeoff(
            lowest_level=self.string(p["lowest_level"], f"{where}.lowest_level", choices=_LEVELS),
            next_level=None
            if p["next_level"] is None
            else self.string(p["next_level"], f"{where}.next_level", choices=_LEVELS),
            next_violations=self.strings(p["next_violations"], f"{where}.next_violations"),
            controls=self.strings(p["controls"], f"{where}.controls", pattern=_CONTROL),
            removes=None
            if p["removes"] is None
            else self.strings(p["removes"], f"{where}.removes", pattern=_TECHNIQUE_ID),
            unfixed=self.strings(p["unfixed"], f"{where}.unfixed"),
        )

    def _skipped(self, value: object, where: str) -> SkippedObject:
        s = self.obj(value, where, ("kind", "api_version", "name", "namespace", "source", "reason"))
        src = self.obj(s["source"], f"{where}.source", ("path", "document", "line", "helm_source"))
        return SkippedObject(
            kind=self.optional_string(s["kind"], f"{where}.kind"),
            api_version=self.optional_string(s["api_version"], f"{where}.api_version"),
            name=self.optional_string(s["name"], f"{where}.name"),
            namespace=self.optional_string(s["namespace"], f"{where}.namespace"),
            source=SourceLocation(
                path=self.string(src["path"], f"{where}.source.path"),
                document=self.integer(src["document"], f"{where}.source.document"),
                line=self.line(src["line"], f"{where}.source.line"),
                helm_source=self.optional_string(src["helm_source"], f"{where}.source.helm_source"),
            ),
            reason=self.string(s["reason"], f"{where}.reason", nonempty=True),
        )


def _scope_parts(scope: str) -> tuple[str | None, str | None]:
    """The workload (or identity) and container a step instance's scope names:
    ``Kind/ns/name[c]``, ``Kind/ns/name`` (also ``ServiceAccount/ns/name``,
    ``Namespace/ns``), ``Kind/ns/name:8000`` and ``...:8000[c]`` (a port: its container is
    named only when several may answer), ``node``, ``node:<class>`` and ``cluster``."""
    if scope in ("node", "cluster") or scope.startswith("node:"):
        return None, None
    container = None
    if scope.endswith("]") and "[" in scope:
        scope, _, rest = scope.rpartition("[")
        container = rest[:-1]
    return scope.partition(":")[0], container
