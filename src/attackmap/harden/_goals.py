"""The goal paths of a report: every path to a technique within the goals, with its label."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from attackmap.attack import within_goals


def goal_paths(report: Any, goals: Sequence[str]) -> Iterator[tuple[str, Any, str]]:
    """``(workload, path, label)`` for each path of ``report`` to a technique within
    ``goals`` (a goal covers its sub-techniques), in report order; the label names the
    technique, the entry and the steps (``T1611 via external > ... > escape-bpf``)."""
    for w in report.workloads:
        for t in w.techniques:
            if not within_goals(t.technique.id, goals):
                continue
            for p in t.paths:
                steps = " > ".join(s.id for s in p.steps)
                yield str(w.ref), p, f"{t.technique.id} via {p.start} > {steps}"
