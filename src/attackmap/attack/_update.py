"""Installing an official ATT&CK release into the user cache and making it the default.

The release table (versions and their sha256) and the download locations are
mitreattack-python's (``mitreattack.release_info``, ``mitreattack.download_stix``). A release
is streamed to a temporary file (at most :data:`MAX_BUNDLE_BYTES`, hashed on the way, only
``https://`` — redirects included — or ``file://``), loaded and sanity-checked, sliced, and
only then switched to with ``os.replace``; on any failure, an interrupt included, the
previous default stays, the temporary files go and the error says why.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from email.message import Message
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Protocol

from pydantic import BaseModel, ConfigDict

from attackmap.attack._bundle import EXTRA_TECHNIQUES, parse_bundle
from attackmap.attack._bundle import MAX_BUNDLE_BYTES as BUNDLE_LIMIT
from attackmap.attack._kb import AttackKB
from attackmap.attack._load import CURRENT, DEFAULT_PLATFORM, cache_dir, load_attack
from attackmap.attack._slice import LICENSE, write_atomic, write_slice
from attackmap.errors import AttackKBError, UpdateError

logger = logging.getLogger(__name__)

# Same locations as mitreattack.download_stix.download_stix.
_STIX20_URL = "https://raw.githubusercontent.com/mitre/cti/ATT%26CK-v{release}/enterprise-attack/enterprise-attack.json"
_STIX21_URL = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack-{release}.json"

MAX_BUNDLE_BYTES = BUNDLE_LIMIT  # the same limit as a bundle read from disk
"""The largest ATT&CK bundle ``update`` accepts: 128 MiB, as downloaded and, when
gzip-compressed, decompressed. Enterprise ATT&CK 18.1 is 34 MB, so this leaves room for
growth while a hostile or mistaken source (``file:///dev/zero``, an endless or oversize
response, a gzip bomb) is refused: a declared size (a file's, a server's ``Content-Length``)
before anything is read, otherwise after reading one byte past the limit in 1 MiB reads
streamed to disk."""

STALE_STAGING_SECONDS = 3600
"""A ``.update-*`` staging directory in the cache untouched for an hour is taken for the
leftover of an update that was killed (``SIGKILL``, ``SIGTERM``, out of memory) and could not
clean up; the next update removes it. (An update still downloading after an hour when
another one starts loses its staging directory and fails with nothing changed.)"""

_CHUNK_BYTES = 1024 * 1024  # one read of the download: memory stays at about this much
_TIMEOUT_SECONDS = 60  # per socket operation of an https download
_SCHEMES = ("https", "file")
_SHA256 = re.compile(r"[0-9a-f]{64}")

Fetcher = Callable[[str, Path, "str | None"], None]
"""``fetch(url, dest, sha256)``: store the resource at ``url`` in ``dest``; when ``sha256`` is
given, refuse content with another digest. Raise anything on failure (an
:class:`UpdateError` says why in its own words)."""


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
    sha256: str | None = None,
    fetch: Fetcher | None = None,
) -> UpdateResult:
    """Fetch an Enterprise ATT&CK release, verify it, slice it into the cache and make it
    the default of :func:`load_attack`.

    ``version``: a release such as ``"18.1"`` (default: the latest mitreattack-python knows);
    ``stix21``: take the STIX 2.1 edition. An official release is checked against the sha256
    of mitreattack-python's release table.

    ``url``: fetch from here instead, ``https://`` or ``file://`` only (plain ``http://`` is
    refused, and so is an https redirect to it); ``sha256``: the hex digest the content at
    ``url`` must have (without it the download is not verified; the digest it had is in the
    result). A download is refused after :data:`MAX_BUNDLE_BYTES`.

    Raises :class:`UpdateError`; then, or when interrupted, nothing changed: the previous
    default stays and no temporary file is left in the cache.
    """
    known_hash: str | None = None
    if url is None:
        if sha256 is not None:
            raise UpdateError(
                "a sha256 is only taken with a URL to fetch from",
                field="sha256",
                hint="official releases are checked against mitreattack-python's release "
                "table; pass --from URL with --sha256",
            )
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
    else:
        _check_scheme(url)
        known_hash = _check_sha256(sha256) if sha256 is not None else None
    root = cache_dir()
    previous = _current_version(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(root)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".update-"))
    except OSError as e:
        raise UpdateError(f"cannot create the cache directory: {e.strerror}", path=root) from e
    try:
        return _install(root, staging, url, version, known_hash, fetch or _default_fetch, previous)
    finally:  # on success, on an UpdateError, on an interrupt
        shutil.rmtree(staging, ignore_errors=True)


def _check_scheme(url: str) -> None:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme in _SCHEMES:
        return
    if scheme == "http":
        raise UpdateError(
            "plain http:// is refused: the bundle could be altered on the way",
            path=url,
            hint="use https://, or download the bundle, check it and pass its file:// URL",
        )
    if not scheme:
        raise UpdateError(
            "not a URL", path=url, hint=f"for a local file use {Path(url).resolve().as_uri()}"
        )
    raise UpdateError(
        f"unsupported URL scheme {scheme!r}", path=url, hint="use an https:// or file:// URL"
    )


def _check_sha256(digest: str) -> str:
    normalised = digest.strip().lower()
    if not _SHA256.fullmatch(normalised):
        raise UpdateError(
            f"not a sha256 digest: {digest!r}",
            field="sha256",
            hint="pass the 64 hexadecimal digits `sha256sum` prints",
        )
    return normalised


def _remove_stale_staging(root: Path) -> None:
    """Remove the staging directories of updates that were killed and could not clean up."""
    now = time.time()
    for entry in root.glob(".update-*"):
        try:
            stale = entry.is_dir() and now - entry.stat().st_mtime > STALE_STAGING_SECONDS
        except OSError:  # removed by another update meanwhile
            continue
        if stale:
            logger.info("removing %s, left behind by an interrupted update", entry)
            shutil.rmtree(entry, ignore_errors=True)


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
        data = _read_bounded(download, url)
    except Exception as e:  # any fetch failure (network, size, hash, I/O) leaves things as they are
        detail = e.message if isinstance(e, UpdateError) else str(e) or type(e).__name__
        advice = f"{e.hint}; " if isinstance(e, UpdateError) and e.hint else ""
        raise UpdateError(
            f"download failed: {detail}", path=url, hint=f"{advice}nothing changed; {keep}"
        ) from e
    try:
        # labelled with the URL: its file name tells the release when the bundle does not
        bundle = parse_bundle(data, url)
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
    missing = [t for t in EXTRA_TECHNIQUES if not kb.is_known(t)]
    if missing:  # cited by the catalogue outside the Containers matrix
        problems.append(f"no {', '.join(missing)} (cited by attackmap's catalogue)")
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


def _read_bounded(download: Path, url: str) -> bytes:
    """The fetched bundle, refused if it (or, gzip-compressed, its content) is over the limit."""
    if download.stat().st_size > MAX_BUNDLE_BYTES:  # a fetcher that does not bound itself
        raise _too_large(url)
    data = download.read_bytes()
    if data[:2] == b"\x1f\x8b":  # parse_bundle decompresses it whole: count first, in chunks
        size = 0
        try:
            with gzip.open(download) as unpacked:
                while chunk := unpacked.read(_CHUNK_BYTES):
                    size += len(chunk)
                    if size > MAX_BUNDLE_BYTES:
                        raise _too_large(url, "decompresses to")
        except (OSError, EOFError, zlib.error):
            pass  # corrupt gzip: parse_bundle says so
    return data


def _too_large(url: str, what: str = "is") -> UpdateError:
    return UpdateError(
        f"the bundle {what} more than the {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB limit",
        path=url,
        hint="an Enterprise ATT&CK bundle is about 35 MB: check the source",
    )


class _Response(Protocol):
    """What :func:`_open` returns: an ``http.client.HTTPResponse`` or urllib's file object."""

    headers: Message

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to https:// only: a redirect must not downgrade the download."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme != "https":
            raise UpdateError(
                f"redirected to {newurl}, which is not https://",
                path=req.full_url,
                hint="plain http:// is refused, redirects included",
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url: str) -> _Response:
    """Open an https:// or file:// URL for reading (tests replace this)."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "https":
        opener = urllib.request.build_opener(_HttpsOnlyRedirects)
        response: _Response = opener.open(url, timeout=_TIMEOUT_SECONDS)
        return response
    if scheme == "file":
        response = urllib.request.urlopen(url)  # file:// only (scheme checked)
        return response
    raise UpdateError(
        f"unsupported URL scheme {scheme!r}", path=url, hint="use an https:// or file:// URL"
    )


def _default_fetch(url: str, dest: Path, sha256: str | None) -> None:
    """Stream ``url`` into a temporary file beside ``dest``, at most :data:`MAX_BUNDLE_BYTES`,
    hashing on the way; move it to ``dest`` only when complete and, if ``sha256`` is given,
    matching. Nothing is left behind on any failure or interrupt."""
    _check_scheme(url)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, contextlib.closing(_open(url)) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_BUNDLE_BYTES:
                raise _too_large(url)  # before reading anything (a file's size, a server's word)
            digest = hashlib.sha256()
            size = 0
            # at most one byte past the limit is ever asked for
            while chunk := response.read(min(_CHUNK_BYTES, MAX_BUNDLE_BYTES + 1 - size)):
                size += len(chunk)
                if size > MAX_BUNDLE_BYTES:
                    raise _too_large(url)
                digest.update(chunk)
                out.write(chunk)
        if sha256 and digest.hexdigest() != sha256:
            raise UpdateError(
                f"sha256 mismatch: expected {sha256}, got {digest.hexdigest()}",
                path=url,
                hint="the content is not the one the digest names; check the URL and the digest",
            )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _version_key(release: str) -> tuple[int, ...]:
    return tuple(int(p) for p in release.split(".") if p.isdigit())
