"""The facts-only platform slice: building it from a bundle, and reading it back checked.

A slice directory holds three files:

- ``enterprise-attack-<platform>.json`` — a STIX bundle of the objects :func:`select` keeps,
  reduced to facts (:func:`strip_prose`), objects sorted by id, keys sorted;
- ``LICENSE.txt`` — MITRE's ATT&CK licence, which requires it (and MITRE's copyright
  designation) to accompany any copy; the marking definition's copyright statement stays in
  the bundle too;
- ``MANIFEST.json`` — provenance (source file name, ATT&CK version, source sha256, object
  counts) and the sha256 of the two other files, checked on every load.

Building is deterministic: the same bundle gives byte-identical files.
"""

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Collection
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from attackmap.attack._bundle import (
    EXTRA_TECHNIQUES,
    RawBundle,
    attack_id,
    dump_json,
    parse_bundle,
    read_bundle,
    select,
    strip_prose,
)
from attackmap.errors import AttackKBError

M = TypeVar("M", bound=BaseModel)

MANIFEST = "MANIFEST.json"
LICENSE = "LICENSE.txt"


class SourceRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    sha256: str
    object_count: int


class SliceManifest(BaseModel):
    """What ``MANIFEST.json`` says about a slice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int
    attack_version: str
    platform: str | None
    slice: str
    slice_object_count: int
    source: SourceRecord
    files: dict[str, str]  # file name -> sha256
    #: ATT&CK ids of techniques of other platforms kept because a mapping cites them
    extra_techniques: tuple[str, ...] = ()


def slice_file_name(platform: str | None) -> str:
    return f"enterprise-attack-{(platform or 'all').lower()}.json"


def build_slice(
    bundle: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    platform: str | None = "Containers",
    license_file: str | os.PathLike[str] | None = None,
    extra: Collection[str] = EXTRA_TECHNIQUES,
) -> SliceManifest:
    """Build the facts-only slice of the bundle file ``bundle`` into ``out_dir``.

    ``extra``: ATT&CK ids of techniques of other platforms to keep (default: those the
    catalogue cites outside the Containers matrix, ``EXTRA_TECHNIQUES``); the manifest
    lists them.

    MITRE's licence must accompany the copy: it is read from ``license_file``, by default
    ``LICENSE.txt`` beside the bundle (as in ``../shared/attack/``), and written next to the
    slice verbatim. Raises :class:`AttackKBError` when the bundle or the licence is missing.
    """
    source = Path(bundle)
    license_path = Path(license_file) if license_file is not None else source.parent / LICENSE
    try:
        license_text = license_path.read_text(encoding="utf-8")
    except OSError as e:
        raise AttackKBError(
            f"cannot read MITRE's ATT&CK licence: {e.strerror}",
            path=license_path,
            hint="the licence must accompany any copy of ATT&CK; pass --license FILE",
        ) from e
    raw = read_bundle(source)
    kept = {attack_id(o) for o in select(raw.objects, platform, extra)}
    missing = sorted(set(extra) - kept)
    if missing:
        raise AttackKBError(
            f"extra techniques not in this bundle (or revoked): {', '.join(missing)}",
            path=source,
        )
    return write_slice(
        raw, Path(out_dir), platform=platform, license_text=license_text, extra=extra
    )


def write_slice(
    bundle: RawBundle,
    out_dir: Path,
    *,
    platform: str | None,
    license_text: str,
    version: str | None = None,
    extra: Collection[str] = EXTRA_TECHNIQUES,
) -> SliceManifest:
    """Write the slice of ``bundle`` for ``platform`` into ``out_dir``; return its manifest.

    ``version`` overrides the release the bundle tells (needed when it does not).
    """
    release = version or bundle.version
    if release is None:
        raise AttackKBError(
            "cannot tell the ATT&CK release of this bundle (no x-mitre-collection object, "
            "no version in the file name)",
            path=bundle.path,
            hint="name the file like enterprise-attack-18.1.json or pass --version",
        )
    extras = tuple(sorted(set(extra)))
    objects = sorted(
        (strip_prose(o) for o in select(bundle.objects, platform, extras)), key=lambda o: o["id"]
    )
    # STIX 2.0 wants a version-4 uuid: derive one from the source digest so it is stable
    label = f"{bundle.sha256}:{platform}" + (f":{','.join(extras)}" if extras else "")
    seed = hashlib.sha256(label.encode()).digest()[:16]
    bundle_id = uuid.UUID(bytes=seed, version=4)
    slice_bytes = dump_json({"type": "bundle", "id": f"bundle--{bundle_id}", "objects": objects})
    license_bytes = license_text.encode()
    name = slice_file_name(platform)
    manifest = SliceManifest(
        format=1,
        attack_version=release,
        platform=platform,
        slice=name,
        slice_object_count=len(objects),
        source=SourceRecord(
            file=Path(bundle.path).name, sha256=bundle.sha256, object_count=len(bundle.objects)
        ),
        files={name: sha256_hex(slice_bytes), LICENSE: sha256_hex(license_bytes)},
        extra_techniques=extras,
    )
    write_slice_dir(out_dir, {name: slice_bytes, LICENSE: license_bytes}, manifest, "slice")
    return manifest


def write_slice_dir(out_dir: Path, files: dict[str, bytes], manifest: BaseModel, what: str) -> None:
    """Write a slice directory: ``files`` (name -> bytes), then the manifest checksumming
    them, each atomically (``what`` names the slice in the message)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_atomic(out_dir / name, data)
        write_atomic(out_dir / MANIFEST, dump_json(manifest.model_dump(mode="json")))
    except OSError as e:
        raise AttackKBError(f"cannot write the {what}: {e.strerror}", path=out_dir) from e


def read_slice(root: Traversable, label: str) -> tuple[SliceManifest, RawBundle]:
    """Read and check a slice directory; a modified or truncated file is refused."""
    manifest_path = f"{label}/{MANIFEST}"
    manifest = read_manifest(
        root,
        manifest_path,
        SliceManifest,
        ("ATT&CK slice", "slice"),
        "pass a directory written by `attackmap attack build-slice`, or a STIX bundle file",
    )
    if manifest.slice not in manifest.files or LICENSE not in manifest.files:
        raise AttackKBError(
            f"{MANIFEST} does not checksum the slice and {LICENSE}", path=manifest_path
        )
    contents = read_checked(root, manifest.files, label, "slice")
    return manifest, parse_bundle(contents[manifest.slice], f"{label}/{manifest.slice}")


def read_manifest(
    root: Traversable, manifest_path: str, model: type[M], what: tuple[str, str], hint: str
) -> M:
    """The validated manifest of a slice directory; ``what``: the slice's name in "not an
    X directory" and in "not a valid X manifest"."""
    try:
        return model.model_validate(json.loads(root.joinpath(MANIFEST).read_bytes()))
    except OSError as e:
        raise AttackKBError(
            f"not an {what[0]} directory: cannot read {MANIFEST} ({e.strerror or e})",
            path=manifest_path,
            hint=hint,
        ) from e
    except (ValueError, ValidationError) as e:
        raise AttackKBError(
            f"{MANIFEST} is not a valid {what[1]} manifest ({e})", path=manifest_path
        ) from e


def read_checked(
    root: Traversable, files: dict[str, str], label: str, what: str
) -> dict[str, bytes]:
    """The bytes of each file ``files`` names (name -> sha256) under ``root``; a missing,
    modified or truncated one is refused (``what`` names the slice in the message)."""
    contents: dict[str, bytes] = {}
    for name, expected in sorted(files.items()):
        path = f"{label}/{name}"
        try:
            data = root.joinpath(name).read_bytes()
        except OSError as e:
            raise AttackKBError(
                f"{what} file missing or unreadable ({e.strerror or e})", path=path
            ) from e
        if sha256_hex(data) != expected:
            raise AttackKBError(
                f"checksum mismatch: the file was modified or truncated (sha256 {sha256_hex(data)}, "
                f"{MANIFEST} says {expected})",
                path=path,
                hint="rebuild it with `attackmap attack build-slice` or reinstall attackmap",
            )
        contents[name] = data
    return contents


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary data files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
