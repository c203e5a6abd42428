"""Choosing and loading the ATT&CK source.

Precedence: the ``source`` argument, then ``$ATTACKMAP_ATTACK_BUNDLE``, then the release
installed by ``attackmap attack update`` (in the user cache dir), then the slice bundled with
attackmap. Loads are cached per (source, platform, file stamp): the knowledge base is
immutable, so handing out the same object again is safe and makes repeated calls free.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from attackmap.attack._bundle import read_bundle, select
from attackmap.attack._kb import AttackKB
from attackmap.attack._models import AttackSource
from attackmap.attack._slice import MANIFEST, read_slice
from attackmap.errors import AttackKBError

logger = logging.getLogger(__name__)

ENV_BUNDLE = "ATTACKMAP_ATTACK_BUNDLE"
ENV_CACHE = "ATTACKMAP_CACHE_DIR"
CURRENT = "current.json"  # in <cache>/attack/: which installed release is the default
DEFAULT_PLATFORM = "Containers"

Origin = Literal["argument", "env", "cache", "bundled"]


def cache_dir() -> Path:
    """Where ``attack update`` installs releases: ``$ATTACKMAP_CACHE_DIR/attack`` or the
    platform's user cache dir for attackmap."""
    override = os.environ.get(ENV_CACHE)
    if override:
        return Path(override) / "attack"
    import platformdirs  # only when the cache is actually consulted

    return Path(platformdirs.user_cache_dir("attackmap")) / "attack"


def installed_release() -> Path | None:
    """The slice directory ``attack update`` made the default, if any."""
    pointer = cache_dir() / CURRENT
    try:
        raw = pointer.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise AttackKBError(
            f"cannot read the installed-release pointer: {e.strerror}", path=pointer
        ) from e
    try:
        entry = json.loads(raw)
        target = pointer.parent / str(entry["dir"])
    except (ValueError, KeyError, TypeError) as e:
        raise AttackKBError(
            "the installed-release pointer is corrupt",
            path=pointer,
            hint="run `attackmap attack update` again or delete the file to use the bundled slice",
        ) from e
    return target


def load_attack(
    source: str | os.PathLike[str] | None = None, *, platform: str | None = DEFAULT_PLATFORM
) -> AttackKB:
    """Load the ATT&CK knowledge base.

    ``source``: a slice directory (written by ``attackmap attack build-slice``, checksums
    verified) or an Enterprise STIX 2.0/2.1 bundle (``.json`` or ``.json.gz``), which is
    sliced on load to ``platform`` (``None`` keeps every technique). Default: see module
    docstring. Raises :class:`~attackmap.errors.AttackKBError` for a missing, unreadable,
    tampered or non-ATT&CK source.
    """
    origin: Origin
    if source is not None:
        origin, path = "argument", Path(source)
    elif os.environ.get(ENV_BUNDLE):
        origin, path = "env", Path(os.environ[ENV_BUNDLE])
    else:
        installed = installed_release()
        if installed is None:
            return _load_bundled()
        origin, path = "cache", installed
    try:
        stat = (path / MANIFEST).stat() if path.is_dir() else path.stat()
    except OSError as e:
        where = {"env": f" (from ${ENV_BUNDLE})", "cache": " (installed by `attack update`)"}
        raise AttackKBError(
            f"ATT&CK source not found{where.get(origin, '')}: {e.strerror}",
            path=path,
            hint="pass a slice directory or an Enterprise ATT&CK STIX bundle (.json/.json.gz)",
        ) from e
    return _load_path(str(path.resolve()), origin, platform, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_bundled() -> AttackKB:
    # the bundled slice is already cut to its platform; ``platform`` cannot widen it
    from attackmap._resources import data_dir

    root = data_dir().joinpath("attack")
    return _from_slice(root, str(root), "bundled")


@functools.lru_cache(maxsize=16)
def _load_path(
    path: str, origin: Origin, platform: str | None, mtime_ns: int, size: int
) -> AttackKB:
    # mtime/size are only part of the cache key: a replaced file is read again
    del mtime_ns, size
    target = Path(path)
    if target.is_dir():
        return _from_slice(target, path, origin)
    bundle = read_bundle(target)
    objects = select(bundle.objects, platform)
    if not any(o["type"] == "attack-pattern" for o in objects):
        raise AttackKBError(
            "no ATT&CK techniques in this bundle"
            + (f" for platform {platform!r}" if platform else ""),
            path=path,
            hint="pass an Enterprise ATT&CK bundle (not Mobile/ICS, not a bundle of other objects)",
        )
    version = bundle.version
    if version is None:
        logger.warning("%s: cannot tell the ATT&CK release (no collection object)", path)
        version = "unknown"
    source = AttackSource(
        origin=origin, path=path, kind="bundle", sha256=bundle.sha256, platform=platform
    )
    return AttackKB(objects, version=version, source=source, descriptions=True)


def _from_slice(root: Traversable, label: str, origin: Origin) -> AttackKB:
    manifest, bundle = read_slice(root, label)
    source = AttackSource(
        origin=origin,
        path=label,
        kind="slice",
        sha256=manifest.files[manifest.slice],
        platform=manifest.platform,
    )
    return AttackKB(
        bundle.objects, version=manifest.attack_version, source=source, descriptions=False
    )
