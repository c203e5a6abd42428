"""The attack graph: reachable ATT&CK techniques, the paths to them, the controls that break them.

* :func:`analyze` — manifests (or an :class:`~attackmap.model.Inventory`) to a :class:`Report`;
* :class:`Report` — per workload, techniques with their :class:`Path` objects; each path's
  ``broken_by`` lists every control that alone breaks it (the union of its
  steps' ``broken_by``, :class:`PathStep`); ``minimal_controls()`` and ``apply()`` (what-if
  re-analysis of the patched manifests); ``to_json()`` / ``write_json()``: the
  ``attackmap.report/v2`` document, each step instance, fact and evidence stated once;
  ``Report.from_json()`` / ``from_dict()`` and :func:`load_report` read it back;
* :func:`load_catalogue` — the validated step/control catalogue under ``mappings/``.

How facts, steps and controls fit together: ``docs/architecture.md`` and ``docs/facts.md``.
"""

from __future__ import annotations

from attackmap.graph._analysis import MAX_PATHS_PER_TECHNIQUE, analyze
from attackmap.graph._catalogue import (
    Catalogue,
    Control,
    ControlInstance,
    State,
    Step,
    load_catalogue,
)
from attackmap.graph._engine import ENTRY_KINDS, AttackGraph, OwnedPaths
from attackmap.graph._facts import FACT_FAMILIES, RBAC_RIGHTS, Evidence
from attackmap.graph._report import (
    SCHEMA_ID,
    FactUse,
    MinimalControls,
    Path,
    PathStep,
    Report,
    TechniqueFinding,
    WorkloadAnalysis,
    load_report,
)

__all__ = [
    "ENTRY_KINDS",
    "FACT_FAMILIES",
    "MAX_PATHS_PER_TECHNIQUE",
    "RBAC_RIGHTS",
    "SCHEMA_ID",
    "AttackGraph",
    "Catalogue",
    "Control",
    "ControlInstance",
    "Evidence",
    "FactUse",
    "MinimalControls",
    "OwnedPaths",
    "Path",
    "PathStep",
    "Report",
    "State",
    "Step",
    "TechniqueFinding",
    "WorkloadAnalysis",
    "analyze",
    "load_catalogue",
    "load_report",
]
