"""The result of :func:`attackmap.harden.harden` (frozen models; rendering in ``_render``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from attackmap.harden._needs import Need


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OutputFile(_Frozen):
    """One hardened manifest file: the input's base name and its new text."""

    source: str
    name: str
    text: str
    original: str


class AppliedControl(_Frozen):
    """One control applied: id, why, the manifest changes it made and their diff."""

    control: str
    """``control[:arg]@Kind/namespace/name`` or ``control@cluster``."""
    title: str
    reason: str
    """Which goal or level asked for it."""
    changes: tuple[str, ...]
    diff: str


class Conflict(_Frozen):
    """An audited need that blocks a control, and what that leaves open."""

    need: Need
    control: str
    blocks: str
    """``goal T1611`` or ``level restricted``."""

    def __str__(self) -> str:
        return f"{self.need.label()} blocks {self.blocks} (keeps {self.need.need}; not applied: {self.control})"


class WorkloadVerification(_Frozen):
    """Before/after for one workload."""

    workload: str
    goals_before: tuple[str, ...]
    """Goal techniques reachable before hardening."""
    goals_after: tuple[str, ...]
    """Goal techniques still reachable after hardening (should be empty)."""
    blocked: tuple[str, ...] = ()
    """Why each remaining goal stays reachable."""
    pss_before: str
    pss_after: str
    techniques_before: tuple[str, ...]
    techniques_after: tuple[str, ...]
    removed_by_level: tuple[str, ...] = ()
    """Techniques the level's controls removed beyond the goals' controls."""


class Verification(_Frozen):
    """Re-analysis of the written manifests."""

    goals: tuple[str, ...]
    level: str | None
    workloads: tuple[WorkloadVerification, ...]
    level_met: bool
    """Every workload passes ``level`` (true when no level was asked)."""

    @property
    def verified(self) -> bool:
        """No goal reachable anywhere and the level met."""
        return self.level_met and not any(w.goals_after for w in self.workloads)
