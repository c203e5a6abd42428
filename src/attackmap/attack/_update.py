"""Installing an official ATT&CK release into the user cache and making it the default.

The release table (versions and their sha256) and the download locations are
mitreattack-python's (``mitreattack.release_info``, ``mitreattack.download_stix``), and
official https downloads go through ``pooch`` exactly as ``download_stix`` does. A release
is fetched to a temporary file, loaded and sanity-checked, sliced, and only then switched
to with ``os.replace``; on any failure the previous default stays and the error says why.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from attackmap.attack._bundle import parse_bundle
from attackmap.attack._kb import AttackKB
from attackmap.attack._load import CURRENT, DEFAULT_PLATFORM, cache_dir, load_attack
from attackmap.attack._slice import LICENSE, write_atomic, write_slice
from attackmap.errors import AttackKBError, UpdateError

logger = logging.getLogger(__name__)

# Same locations as mitreattack.download_stix.download_stix.
_STIX20_URL = "https://raw.githubusercontent.com/mitre/cti/ATT%26CK-v{release}/enterprise-attack/enterprise-attack.json"
_STIX21_URL = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack-{release}.json"

Fetcher = Callable[[str, Path, "str | None"], None]
"""``fetch(url, dest, sha256)``: store the resource at ``url`` in ``dest``; when ``sha256`` is
given, refuse content with another digest. Raise anything on failure."""


class UpdateResult(BaseModel):
    """What ``update`` installed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    url: str
    sha256: str
    path: str
    techniques: int
    previous: str | None


def update(
    *,
    version: str | None = None,
    stix21: bool = False,
    url: str | None = None,
    fetch: Fetcher | None = None,
) -> UpdateResult:
    """Fetch an Enterprise ATT&CK release, verify it, slice it into the cache and make it
    the default of :func:`load_attack`.

    ``version``: a release such as ``"18.1"`` (default: the latest mitreattack-python knows);
    ``stix21``: take the STIX 2.1 edition; ``url``: fetch from here instead (``https://`` or
    ``file://``; the digest is then not known in advance). Raises :class:`UpdateError`.
    """
    known_hash: str | None = None
    if url is None:
        from mitreattack import release_info  # heavy import, only here

        table = (release_info.STIX21 if stix21 else release_info.STIX20)["enterprise"]
        version = version or str(release_info.LATEST_VERSION)
        if version not in table:
            raise UpdateError(
                f"unknown ATT&CK release {version} for STIX {'2.1' if stix21 else '2.0'}",
                field="version",
                hint=f"known releases: ... {', '.join(sorted(table, key=_version_key)[-6:])}",
            )
        known_hash = str(table[version])
        url = (_STIX21_URL if stix21 else _STIX20_URL).format(release=version)
    root = cache_dir()
    previous = _current_version(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".update-"))
    except OSError as e:
        raise UpdateError(f"cannot create the cache directory: {e.strerror}", path=root) from e
    try:
        return _install(root, staging, url, version, known_hash, fetch or _default_fetch, previous)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(
    root: Path,
    staging: Path,
    url: str,
    version: str | None,
    known_hash: str | None,
    fetch: Fetcher,
    previous: str | None,
) -> UpdateResult:
    download = staging / "download.json"
    keep = f"previous release {previous} kept" if previous else "bundled slice still the default"
    try:
        fetch(url, download, known_hash)
    except Exception as e:  # any fetch failure (network, hash, I/O) must leave things as they are
        raise UpdateError(f"download failed: {e}", path=url, hint=f"nothing changed; {keep}") from e
    try:
        # labelled with the URL: its file name tells the release when the bundle does not
        bundle = parse_bundle(download.read_bytes(), url)
        if version is not None and bundle.version is not None and bundle.version != version:
            raise UpdateError(
                f"the bundle is ATT&CK {bundle.version}, not the requested {version}",
                path=url,
                hint="pass the matching --version",
            )
        version = version or bundle.version
        if version is None:
            raise UpdateError(
                "cannot tell the ATT&CK release of the fetched bundle",
                path=url,
                hint="pass --version",
            )
        from attackmap._resources import data_dir

        license_text = data_dir().joinpath("attack", LICENSE).read_text(encoding="utf-8")
        name = f"{version}-{bundle.sha256[:12]}"
        slice_dir = staging / name
        write_slice(
            bundle, slice_dir, platform=DEFAULT_PLATFORM, license_text=license_text, version=version
        )
        kb = load_attack(slice_dir)  # the checks a load makes, on what will be installed
        _sanity(kb, version, url)
        os.replace(
            download, slice_dir / f"enterprise-attack-{version}.json"
        )  # the full bundle, for descriptions
        target = root / name
        if target.exists():  # the same release reinstalled: move the old copy aside first
            os.replace(target, staging / "replaced")
        os.replace(slice_dir, target)
        pointer = {"dir": name, "sha256": bundle.sha256, "url": url, "version": version}
        write_atomic(root / CURRENT, json.dumps(pointer, sort_keys=True, indent=1).encode())
    except UpdateError:
        raise
    except AttackKBError as e:
        raise UpdateError(
            f"the fetched release is not usable: {e.message}",
            path=url,
            hint=f"nothing changed; {keep}",
        ) from e
    except OSError as e:
        raise UpdateError(
            f"cannot install the release: {e.strerror}", path=root, hint=f"nothing changed; {keep}"
        ) from e
    logger.info("installed ATT&CK %s from %s into %s", version, url, target)
    return UpdateResult(
        version=version,
        url=url,
        sha256=bundle.sha256,
        path=str(target),
        techniques=len(kb.techniques(platform=DEFAULT_PLATFORM)),
        previous=previous,
    )


def _sanity(kb: AttackKB, version: str, url: str) -> None:
    problems = []
    if kb.version != version:
        problems.append(f"version {kb.version} instead of {version}")
    if not kb.techniques(platform=DEFAULT_PLATFORM):
        problems.append(f"no {DEFAULT_PLATFORM} techniques")
    if not kb.tactics():
        problems.append("no tactics")
    if not kb.mitigations():
        problems.append("no mitigations")
    if problems:
        raise UpdateError(
            f"the fetched release fails sanity checks: {'; '.join(problems)}",
            path=url,
            hint="nothing changed; is this an Enterprise ATT&CK bundle?",
        )


def _current_version(root: Path) -> str | None:
    try:
        entry = json.loads((root / CURRENT).read_bytes())
        return str(entry["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _default_fetch(url: str, dest: Path, sha256: str | None) -> None:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme in {"http", "https"}:
        import pooch  # type: ignore[import-untyped]  # no stubs; what mitreattack's download_stix uses: atomic download + hash check

        pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256}" if sha256 else None,
            fname=dest.name,
            path=dest.parent,
            progressbar=False,
        )
        return
    if scheme != "file":
        raise ValueError(f"unsupported URL scheme {scheme!r} (use https:// or file://)")
    import hashlib

    with urllib.request.urlopen(url) as response:  # file:// only here (scheme checked above)
        data = response.read()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"sha256 mismatch: expected {sha256}")
    dest.write_bytes(data)


def _version_key(release: str) -> tuple[int, ...]:
    return tuple(int(p) for p in release.split(".") if p.isdigit())
