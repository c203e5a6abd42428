"""Severity of reachable techniques (``mappings/severity.yaml``), for ``--fail-on high``.

A technique's severity is its own entry (a sub-technique inherits its parent's entry),
else the highest severity among its tactics (an ATLAS technique's tactics count by the same
shortname: ATLAS ``impact`` is ATT&CK ``impact``; ATLAS-only tactics have no entry). Levels, lowest first: :data:`LEVELS`.
"""

import functools
from collections.abc import Iterable, Mapping
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from attackmap._resources import mapping_data, mappings_dir
from attackmap.attack import AttackKB
from attackmap.attack._models import parent_id
from attackmap.errors import MappingError

SEVERITY_FILE = "mappings/severity.yaml"
LEVELS: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


class Severities(BaseModel):
    """The validated severity table: per tactic (shortname) and per technique override."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tactics: dict[str, str]
    techniques: dict[str, str]

    def of(self, technique_id: str, tactics: Iterable[str]) -> str:
        """The severity of ``technique_id`` (with its ATT&CK ``tactics``)."""
        own = self.techniques.get(technique_id) or self.techniques.get(parent_id(technique_id))
        if own is not None:
            return own
        found = [self.tactics[t] for t in tactics if t in self.tactics]
        return max(found, key=LEVELS.index) if found else "info"

    @staticmethod
    def at_least(level: str, threshold: str) -> bool:
        """Whether ``level`` is ``threshold`` or higher."""
        return LEVELS.index(level) >= LEVELS.index(threshold)


def load_severities(kb: AttackKB, root: Traversable | None = None) -> Severities:
    """Read and validate ``mappings/severity.yaml`` against ``kb``."""
    if root is None:
        return _packaged(kb)
    return _load(kb, root)


@functools.lru_cache(maxsize=4)
def _packaged(kb: AttackKB) -> Severities:
    # A memo of a pure function of immutable inputs (the KB and the packaged file).
    return _load(kb, mappings_dir())


def _load(kb: AttackKB, root: Traversable) -> Severities:
    node = root / "severity.yaml"
    try:
        # read on every analysis: parsed at build time (mappings/parsed.json) unless edited
        text = node.read_text(encoding="utf-8")
        data: Any = mapping_data(text)
    except (OSError, yaml.YAMLError) as e:
        raise MappingError(f"cannot read severities: {e}", path=SEVERITY_FILE) from e
    if not isinstance(data, dict) or set(data) != {"levels", "tactics", "techniques"}:
        raise MappingError("expected a mapping of levels, tactics, techniques", path=SEVERITY_FILE)
    if tuple(data["levels"] or ()) != LEVELS:
        raise MappingError(f"levels must be {list(LEVELS)}", path=SEVERITY_FILE, field="levels")
    tactic_names = {t.shortname for t in kb.tactics()}
    tactics = _table(data["tactics"], "tactics")
    for name in tactics:
        if name not in tactic_names:
            raise MappingError(
                f"unknown ATT&CK tactic {name!r}", path=SEVERITY_FILE, field=f"tactics.{name}"
            )
    techniques = _table(data["techniques"], "techniques")
    for tid in techniques:
        if kb.status(tid).state != "live":
            raise MappingError(
                f"{tid} is not a live ATT&CK technique",
                path=SEVERITY_FILE,
                field=f"techniques.{tid}",
            )
    return Severities(tactics=tactics, techniques=techniques)


def _table(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise MappingError("expected a mapping", path=SEVERITY_FILE, field=where)
    out: dict[str, str] = {}
    for key, level in value.items():
        if level not in LEVELS:
            raise MappingError(
                f"{level!r} is not one of {', '.join(LEVELS)}",
                path=SEVERITY_FILE,
                field=f"{where}.{key}",
            )
        out[str(key)] = str(level)
    return dict(sorted(out.items()))
