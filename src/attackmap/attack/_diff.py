"""What changed between two ATT&CK releases, seen from one platform."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from attackmap.attack._kb import AttackKB
from attackmap.attack._models import Technique


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Change(_Frozen):
    """One technique's change. ``old``/``new`` hold the changed value (name, platforms or
    tactics) where that applies; ``replacement`` the id a revoked technique points to."""

    id: str
    name: str
    old: tuple[str, ...] = ()
    new: tuple[str, ...] = ()
    replacement: str | None = None


class AttackDiff(_Frozen):
    """Differences between two releases for techniques in view of ``platform``
    (``None``: all). Every list is sorted by id."""

    old_version: str
    new_version: str
    platform: str | None
    added: tuple[Change, ...]
    removed: tuple[Change, ...]
    renamed: tuple[Change, ...]
    revoked: tuple[Change, ...]
    deprecated: tuple[Change, ...]
    platform_changes: tuple[Change, ...]
    tactic_changes: tuple[Change, ...]

    def is_empty(self) -> bool:
        return not any(
            (self.added, self.removed, self.renamed, self.revoked, self.deprecated,
             self.platform_changes, self.tactic_changes)
        )  # fmt: skip


def diff(old: AttackKB, new: AttackKB, platform: str | None = "Containers") -> AttackDiff:
    """Compare two knowledge bases (load them with ``platform=None`` to see platform moves).

    A technique is *in view* when it is live and tagged with ``platform``. ``added``: in view
    in ``new``, not live in ``old``; ``removed``: in view in ``old``, absent from ``new``;
    ``revoked``/``deprecated``: in view in ``old``, retired in ``new``; ``renamed``,
    ``platform_changes``, ``tactic_changes``: live in both and in view in either.
    """
    old_all = {t.id: t for t in _everything(old)}
    new_all = {t.id: t for t in _everything(new)}

    def in_view(t: Technique | None) -> bool:
        return (
            t is not None
            and not t.revoked
            and not t.deprecated
            and (platform is None or platform in t.platforms)
        )

    added: list[Change] = []
    removed: list[Change] = []
    renamed: list[Change] = []
    revoked: list[Change] = []
    deprecated: list[Change] = []
    platforms: list[Change] = []
    tactics: list[Change] = []
    for tid in sorted(old_all.keys() | new_all.keys()):
        was, now = old_all.get(tid), new_all.get(tid)
        was_live = was is not None and not was.revoked and not was.deprecated
        if now is not None and in_view(now) and not was_live:
            added.append(Change(id=tid, name=now.name, new=now.tactics))
            continue
        if was is None or not was_live or not (in_view(was) or in_view(now)):
            continue
        if now is None:
            removed.append(Change(id=tid, name=was.name))
        elif now.revoked:
            replacement = new.status(tid).replacement
            revoked.append(Change(id=tid, name=was.name, replacement=replacement))
        elif now.deprecated:
            deprecated.append(Change(id=tid, name=was.name))
        else:
            if was.name != now.name:
                renamed.append(Change(id=tid, name=now.name, old=(was.name,), new=(now.name,)))
            if set(was.platforms) != set(now.platforms):
                platforms.append(
                    Change(
                        id=tid,
                        name=now.name,
                        old=tuple(sorted(was.platforms)),
                        new=tuple(sorted(now.platforms)),
                    )
                )
            if was.tactics != now.tactics:
                tactics.append(Change(id=tid, name=now.name, old=was.tactics, new=now.tactics))
    return AttackDiff(
        old_version=old.version,
        new_version=new.version,
        platform=platform,
        added=tuple(added),
        removed=tuple(removed),
        renamed=tuple(renamed),
        revoked=tuple(revoked),
        deprecated=tuple(deprecated),
        platform_changes=tuple(platforms),
        tactic_changes=tuple(tactics),
    )


def _everything(kb: AttackKB) -> tuple[Technique, ...]:
    """Every technique the KB holds, retired ones included (status() tells which)."""
    return kb._all_techniques()
