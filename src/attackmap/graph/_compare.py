"""Reports compared: a baseline's findings left out, accepted findings left out, two
reports' techniques gained and lost per workload.

A saved report is read by the keys every report version keeps -- ``workloads[].ref``
(``kind``, ``namespace``, ``name``) and ``workloads[].techniques[].id`` -- so that a
baseline written by an older or newer attackmap still compares. A finding is
``(workload, technique)``, the workload named ``Kind/namespace/name`` (components of one
object, a LeaderWorkerSet's leader and workers, are one workload here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.errors import InputError
from attackmap.graph._report import Report, read_json

#: a workload's name in findings: ``Kind/namespace/name`` (``Kind/name`` cluster-scoped)
Findings = dict[str, frozenset[str]]


def workload_name(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def read_report(path: str | Path) -> dict[str, Any]:
    """A saved JSON report (``attackmap analyze -o report.json``) as a document, checked only
    for its ``workloads`` list; errors name the file. Not :func:`load_report`: a baseline or
    an old report of ``attackmap diff`` may be of another report version (v1), whose kept
    keys are all that is compared."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("workloads"), list):
        raise InputError(
            "not an attackmap report: no workloads list",
            path=path,
            field="workloads",
            hint="write one with: attackmap analyze PATH -o report.json",
        )
    return data


def document_findings(document: Mapping[str, Any], path: str | Path = "<report>") -> Findings:
    """Technique ids per workload of a report document, read by the kept keys only."""
    found: dict[str, set[str]] = {}
    for i, w in enumerate(document.get("workloads") or ()):
        ref = w.get("ref") if isinstance(w, dict) else None
        techniques = w.get("techniques") if isinstance(w, dict) else None
        if (
            not isinstance(ref, dict)
            or not all(isinstance(ref.get(k), str) for k in ("kind", "name"))
            or not isinstance(ref.get("namespace"), str | None)
            or not isinstance(techniques, list)
            or not all(isinstance(t, dict) and isinstance(t.get("id"), str) for t in techniques)
        ):
            raise InputError(
                "expected ref {kind, namespace, name} and techniques [{id}]",
                path=path,
                field=f"workloads[{i}]",
            )
        key = workload_name(ref["kind"], ref["namespace"], ref["name"])
        found.setdefault(key, set()).update(t["id"] for t in techniques)
    return {k: frozenset(v) for k, v in found.items()}


def report_findings(report: Report) -> Findings:
    found: dict[str, set[str]] = {}
    for w in report.workloads:
        key = workload_name(w.ref.kind, w.ref.namespace, w.ref.name)
        found.setdefault(key, set()).update(t.technique.id for t in w.techniques)
    return {k: frozenset(v) for k, v in found.items()}


def without(report: Report, drop: Iterable[tuple[str, str]], notes: Iterable[str]) -> Report:
    """``report`` without the findings ``drop`` (``(workload, technique)``; a parent id
    drops its sub-techniques too), with ``notes`` added to its warnings (sorted)."""
    dropped = set(drop)

    def kept(workload: str, technique: str) -> bool:
        return (workload, technique) not in dropped and (
            workload,
            technique.split(".")[0],
        ) not in dropped

    workloads = tuple(
        w.model_copy(
            update={
                "techniques": tuple(
                    t
                    for t in w.techniques
                    if kept(workload_name(w.ref.kind, w.ref.namespace, w.ref.name), t.technique.id)
                )
            }
        )
        for w in report.workloads
    )
    warnings = tuple(sorted({*report.warnings, *notes}))
    return report.model_copy(update={"workloads": workloads, "warnings": warnings})


class Change(BaseModel):
    """One workload's techniques gained and lost between two reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str
    status: str  # added, removed or changed
    gained: tuple[str, ...]
    lost: tuple[str, ...]


def diff(old: Findings, new: Findings) -> tuple[Change, ...]:
    """Per workload whose techniques differ (sorted by name): what was gained and lost."""
    changes = []
    for workload in sorted(old.keys() | new.keys()):
        before, after = old.get(workload, frozenset()), new.get(workload, frozenset())
        if before == after and workload in old and workload in new:
            continue
        status = "added" if workload not in old else "removed" if workload not in new else "changed"
        changes.append(
            Change(
                workload=workload,
                status=status,
                gained=tuple(sorted(after - before, key=_technique_order)),
                lost=tuple(sorted(before - after, key=_technique_order)),
            )
        )
    return tuple(changes)


def _technique_order(tid: str) -> tuple[int, int]:
    base, _, sub = tid.removeprefix("T").partition(".")
    return (int(base) if base.isdigit() else 0, int(sub) if sub.isdigit() else -1)
