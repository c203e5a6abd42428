"""The one error family of attackmap.

Every problem caused by input (a manifest, a bundle, a profile, an audit log, a mapping
file) is an :class:`AttackmapError` that knows *where* it happened and *what to do*.
The CLI catches exactly this base class, prints :meth:`AttackmapError.diagnostics` and
exits with status 2; anything else escaping is a bug in attackmap.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AttackKBError",
    "AttackmapError",
    "AuditError",
    "ExportError",
    "HardenError",
    "InputError",
    "MappingError",
    "PSSError",
    "SeccompError",
    "UpdateError",
]


class AttackmapError(Exception):
    """Base of every error attackmap raises for bad input or a failed operation.

    ``path``/``line``/``field`` locate the problem (``path:line: field: message``);
    ``hint`` says what to do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.summary())

    def location(self) -> str:
        """``path:line`` (or whichever part is known), empty when nothing is known."""
        if self.path is None:
            return f"line {self.line}" if self.line is not None else ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def summary(self) -> str:
        """One line: ``path:line: field: message``."""
        parts = [p for p in (self.location(), self.field) if p]
        parts.append(self.message)
        return ": ".join(parts)

    def diagnostics(self) -> str:
        """What went wrong, where, and what to do about it (for humans)."""
        text = f"error: {self.summary()}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class AttackKBError(AttackmapError):
    """The ATT&CK knowledge base could not be loaded or queried."""


class UpdateError(AttackKBError):
    """Fetching or installing an ATT&CK release failed; nothing was changed."""


class InputError(AttackmapError):
    """A manifest, context file or other workload input is malformed or unsupported."""


class MappingError(AttackmapError):
    """The step/control catalogue under ``mappings/`` is invalid."""


class PSSError(AttackmapError):
    """A Pod Security Standards evaluation could not be performed (bad level, version...)."""


class SeccompError(AttackmapError):
    """A seccomp or AppArmor profile is malformed or cannot be resolved."""


class AuditError(AttackmapError):
    """An audit log cannot be read at all (individual bad lines are reported, not raised)."""


class ExportError(AttackmapError):
    """A report cannot be rendered in the requested format."""


class HardenError(AttackmapError):
    """Hardening could not produce or verify a patched manifest."""
