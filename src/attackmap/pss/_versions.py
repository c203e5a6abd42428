"""Pod Security levels and policy versions, parsed exactly as the API server parses them.

A policy version is ``latest`` or ``v1.<minor>``; internally it is the minor number. Versions
newer than the newest one attackmap knows are accepted and evaluated as the newest (the API
server does the same with versions newer than itself).
"""

from __future__ import annotations

import re

from attackmap.errors import PSSError

LEVELS: tuple[str, ...] = ("privileged", "baseline", "restricted")
"""Levels from the least to the most strict."""

NEWEST_MINOR = 37
"""The newest policy version implemented (``latest`` means ``v1.37``)."""

LATEST = "latest"

_VERSION = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")


def parse_level(level: object) -> str:
    """``level`` if it is one of :data:`LEVELS`, else :class:`PSSError`."""
    if isinstance(level, str) and level in LEVELS:
        return level
    raise PSSError(
        f"unknown Pod Security level {level!r}",
        hint="use one of: " + ", ".join(LEVELS),
    )


def parse_version(version: object) -> str:
    """``version`` (``latest`` or ``v1.N``) unchanged if valid, else :class:`PSSError`."""
    if version == LATEST or (isinstance(version, str) and _VERSION.match(version)):
        return str(version)
    raise PSSError(
        f"unknown Pod Security version {version!r}",
        hint=f'use "latest" or "v1.N" (v1.0 to v1.{NEWEST_MINOR} are distinct)',
    )


def minor_of(version: str) -> int:
    """The minor number a valid version label is evaluated as (clamped to the newest)."""
    if version == LATEST:
        return NEWEST_MINOR
    return min(int(version[len("v1.") :]), NEWEST_MINOR)


def parse_policy(text: str) -> tuple[str, str]:
    """``"baseline:v1.29"`` -> ``("baseline", "v1.29")``; :class:`PSSError` if malformed."""
    level, sep, version = text.partition(":")
    if not sep:
        raise PSSError(
            f"malformed Pod Security policy {text!r}", hint='expected "<level>:<version>"'
        )
    return parse_level(level), parse_version(version)


def all_versions() -> tuple[str, ...]:
    """Every distinct version label, oldest first: ``v1.0`` ... newest."""
    return tuple(f"v1.{minor}" for minor in range(NEWEST_MINOR + 1))
