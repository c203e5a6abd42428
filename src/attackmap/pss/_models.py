"""Public result models of :mod:`attackmap.pss` (frozen pydantic models)."""

from pydantic import BaseModel, ConfigDict


class Violation(BaseModel):
    """One failed check, with the API server's reason and detail strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str
    """Check id, e.g. ``privileged``, ``capabilities_restricted``."""
    reason: str
    """The API server's ForbiddenReason, e.g. ``unrestricted capabilities``."""
    detail: str
    """The API server's ForbiddenDetail (may be empty)."""
    containers: tuple[str, ...] = ()
    """The containers the detail names, in the order it names them."""


class PSSResult(BaseModel):
    """The verdict of one pod (template) against one Pod Security level and version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    level: str
    version: str
    """The version as requested (``latest`` or ``v1.N``), as the API server prints it."""
    violations: tuple[Violation, ...] = ()
    message: str = ""
    """``violates PodSecurity "<level>:<version>": <reason> (<detail>), ...``; empty if allowed."""


class CheckDescriptor(BaseModel):
    """What a check is, where it applies, and which pod fields it reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    level: str
    """The level that introduces the check (``baseline`` checks also apply to ``restricted``)."""
    levels: tuple[str, ...]
    """Levels the check can apply to (a baseline check may be overridden at restricted)."""
    title: str
    reasons: tuple[str, ...]
    """The reason strings the check produces."""
    versions: tuple[str, ...]
    """Versions at which the check starts or changes (``v1.N``)."""
    overrides: tuple[tuple[str, str], ...] = ()
    """(baseline check id, from version) this restricted check replaces."""
    fields: tuple[str, ...]
