"""Reading STIX bundles and cutting a platform slice out of them.

Both STIX 2.0 (MITRE's ``cti`` layout) and STIX 2.1 (``attack-stix-data``) bundles share
the fields read here, so one plain JSON walk serves both. We deliberately do not go through
``stix2``/``mitreattack`` on this path: parsing the 18.1 bundle into stix2 objects takes
~6-7 s, a ``json.loads`` plus one pass over the dicts ~0.4 s (see benchmarks/bench_attack.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attackmap.errors import AttackKBError

Obj = dict[str, Any]

# Object types a slice carries; everything else (groups, software, analytics...) is dropped.
_TECHNIQUE = "attack-pattern"
_MITIGATION = "course-of-action"

# Facts-only allowlist per object type: ids, names, dates, versions, platforms, phases,
# references between objects. Anything not listed (description, x_mitre_detection,
# contributors, citations...) is prose or not ours to redistribute in the slice.
_COMMON = frozenset(
    {
        "type",
        "id",
        "spec_version",
        "created",
        "modified",
        "created_by_ref",
        "object_marking_refs",
        "revoked",
        "name",
        "external_references",
        "x_mitre_version",
        "x_mitre_deprecated",
        "x_mitre_domains",
        "x_mitre_attack_spec_version",
        "x_mitre_modified_by_ref",
    }
)
_EXTRA = {
    "attack-pattern": {"kill_chain_phases", "x_mitre_platforms", "x_mitre_is_subtechnique"},
    "x-mitre-tactic": {"x_mitre_shortname"},
    "x-mitre-matrix": {"tactic_refs"},
    "relationship": {"relationship_type", "source_ref", "target_ref"},
    "identity": {"identity_class"},
    # the marking definition's statement is MITRE's copyright designation: it stays
    "marking-definition": {"definition_type", "definition"},
    "x-mitre-collection": set(),
}
_VERSION_IN_NAME = re.compile(r"attack-(\d+\.\d+)")


@dataclass(frozen=True)
class RawBundle:
    """A parsed bundle: its objects, the ATT&CK version if it tells, and what it was."""

    path: str
    objects: list[Obj]
    version: str | None
    sha256: str
    bundle_id: str


#: Largest bundle read, downloaded or decompressed (release 18.1 is 34 MB; a bundle is ~50 MB).
MAX_BUNDLE_BYTES = 128 * 1024 * 1024


def _too_big(label: str | Path, what: str) -> AttackKBError:
    return AttackKBError(
        f"the bundle {what} more than the {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB limit",
        path=label,
        hint="pass an Enterprise ATT&CK STIX bundle (about 50 MB)",
    )


def read_bundle(path: Path) -> RawBundle:
    """Read a ``.json``/``.json.gz`` STIX bundle; raise :class:`AttackKBError` if it is not one
    or is larger than :data:`MAX_BUNDLE_BYTES` (refused by its size before it is read; a
    device or pipe by a bounded read)."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_BUNDLE_BYTES:
                raise _too_big(path, "is")
            data = f.read(MAX_BUNDLE_BYTES + 1)
        if len(data) > MAX_BUNDLE_BYTES:
            raise _too_big(path, "is")
    except OSError as e:
        raise AttackKBError(
            f"cannot read ATT&CK bundle: {e.strerror}",
            path=path,
            hint="pass an Enterprise ATT&CK STIX bundle (.json or .json.gz)",
        ) from e
    return parse_bundle(data, str(path))


def _gunzip(data: bytes, label: str) -> bytes:
    """Decompress gzip ``data``, refusing output over :data:`MAX_BUNDLE_BYTES` (a gzip bomb
    is stopped after that much, never inflated whole)."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    out = inflater.decompress(data, MAX_BUNDLE_BYTES + 1)
    if len(out) > MAX_BUNDLE_BYTES or inflater.unconsumed_tail:
        raise _too_big(label, "decompresses to")
    if not inflater.eof:
        raise EOFError("compressed file ended before the end-of-stream marker was reached")
    return out


def parse_bundle(data: bytes, label: str) -> RawBundle:
    """Parse bundle bytes (gzip-compressed or not); ``label`` names the source in errors."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        if data[:2] == b"\x1f\x8b":
            data = _gunzip(data, label)
        doc = json.loads(data)
    except (OSError, EOFError, ValueError, zlib.error) as e:  # gzip/zlib, JSON/UTF-8 errors
        raise AttackKBError(
            f"not a readable JSON STIX bundle ({e})",
            path=label,
            hint="the file is truncated or not JSON; pass an Enterprise ATT&CK STIX bundle",
        ) from e
    if not isinstance(doc, dict) or doc.get("type") != "bundle":
        raise AttackKBError(
            'not a STIX bundle (no top-level "type": "bundle")',
            path=label,
            hint="pass an Enterprise ATT&CK STIX bundle such as enterprise-attack.json",
        )
    objects = doc.get("objects")
    if not isinstance(objects, list) or not all(
        isinstance(o, dict) and isinstance(o.get("type"), str) and isinstance(o.get("id"), str)
        for o in objects
    ):
        raise AttackKBError("STIX bundle has no valid objects list", path=label, field="objects")
    return RawBundle(
        path=label,
        objects=objects,
        version=_version_of(objects, label),
        sha256=sha256,
        bundle_id=str(doc.get("id", "")),
    )


def _version_of(objects: Iterable[Obj], label: str) -> str | None:
    """The ATT&CK release: the collection object if any (official bundles), else the name."""
    for obj in objects:
        if obj["type"] == "x-mitre-collection" and isinstance(obj.get("x_mitre_version"), str):
            return str(obj["x_mitre_version"])
    found = _VERSION_IN_NAME.search(Path(label).name)
    return found.group(1) if found else None


def attack_id(obj: Mapping[str, Any]) -> str | None:
    """The ATT&CK id (``T1611``, ``M1048``, ``TA0004``) from the mitre-attack reference."""
    for ref in obj.get("external_references") or ():
        if isinstance(ref, dict) and ref.get("source_name") in {
            "mitre-attack",
            "mitre-mobile-attack",
        }:
            ext = ref.get("external_id")
            return ext if isinstance(ext, str) else None
    return None


def attack_url(obj: Mapping[str, Any]) -> str:
    for ref in obj.get("external_references") or ():
        if isinstance(ref, dict) and ref.get("source_name") == "mitre-attack":
            return str(ref.get("url", ""))
    return ""


def is_live(obj: Mapping[str, Any]) -> bool:
    return not obj.get("revoked") and not obj.get("x_mitre_deprecated")


#: Techniques of other platforms than Containers that attackmap's catalogue cites (with a
#: ``platform_note`` saying why): every slice keeps them, so the catalogue validates against
#: the bundled slice, a full bundle or an updated release alike. A catalogue test checks
#: that this is exactly the set the steps use.
EXTRA_TECHNIQUES: tuple[str, ...] = (
    "T1005",
    "T1021.004",
    "T1080",
    "T1210",
    "T1530",
    "T1552.005",
    "T1565.001",
)


def select(
    objects: list[Obj], platform: str | None, extra: Collection[str] = EXTRA_TECHNIQUES
) -> list[Obj]:
    """The objects of a platform slice (``None``: every technique), unmodified.

    Live techniques tagged with ``platform``, those whose ATT&CK ids are in ``extra``
    (techniques of other platforms a mapping cites) and the parents of included
    sub-techniques;
    all tactics and matrices; live mitigations that ``mitigates`` them and those
    relationships; ``subtechnique-of`` relationships of included techniques; identities,
    marking definitions and the collection object. So that a mapping that names an old id can
    be told "revoked, use X", revoked/deprecated techniques tagged with the platform and
    revoked objects whose replacement is in the slice come too, with their ``revoked-by``
    relationships.
    """
    by_id = {o["id"]: o for o in objects}
    relationships = [o for o in objects if o["type"] == "relationship" and is_live(o)]

    def tagged(obj: Obj) -> bool:
        return platform is None or platform in (obj.get("x_mitre_platforms") or ())

    wanted = frozenset(extra)
    techniques = {
        o["id"]
        for o in objects
        if o["type"] == _TECHNIQUE and is_live(o) and (tagged(o) or attack_id(o) in wanted)
    }
    keep_rels: set[str] = set()
    for rel in relationships:
        if rel["relationship_type"] == "subtechnique-of" and rel["source_ref"] in techniques:
            parent = by_id.get(rel["target_ref"])
            if parent is not None and is_live(parent):
                techniques.add(parent["id"])
    keep = set(techniques)
    for rel in relationships:
        kind, src, dst = rel["relationship_type"], rel["source_ref"], rel["target_ref"]
        if kind == "subtechnique-of" and src in techniques and dst in techniques:
            keep_rels.add(rel["id"])
        elif kind == "mitigates" and dst in techniques:
            mitigation = by_id.get(src)
            if mitigation is not None and mitigation["type"] == _MITIGATION and is_live(mitigation):
                keep.add(src)
                keep_rels.add(rel["id"])
    for obj in objects:  # retired techniques of the platform: status() can say so
        if obj["type"] == _TECHNIQUE and not is_live(obj) and tagged(obj):
            keep.add(obj["id"])
    revocations = [r for r in relationships if r["relationship_type"] == "revoked-by"]
    grew = True
    while grew:  # to a fixpoint: A revoked-by B revoked-by C (in the slice)
        before = len(keep)
        for rel in revocations:
            source = by_id.get(rel["source_ref"])
            if (
                rel["target_ref"] in keep
                and source is not None
                and source["type"] in {_TECHNIQUE, _MITIGATION}
            ):
                keep.add(rel["source_ref"])
        grew = len(keep) > before
    for rel in revocations:
        if rel["source_ref"] in keep and rel["target_ref"] in keep:
            keep_rels.add(rel["id"])
    structural = {
        "x-mitre-tactic",
        "x-mitre-matrix",
        "identity",
        "marking-definition",
        "x-mitre-collection",
    }
    return [
        o for o in objects if o["id"] in keep or o["id"] in keep_rels or o["type"] in structural
    ]


def strip_prose(obj: Obj) -> Obj:
    """A copy of ``obj`` holding only the allowlisted fact fields (see ``_COMMON``)."""
    allowed = _COMMON | _EXTRA.get(obj["type"], set())
    out = {k: v for k, v in obj.items() if k in allowed}
    if "external_references" in out:
        refs = [
            {k: v for k, v in ref.items() if k in {"source_name", "external_id", "url"}}
            for ref in out["external_references"]
            if isinstance(ref, dict) and ref.get("source_name") == "mitre-attack"
        ]
        if refs:
            out["external_references"] = refs
        else:
            del out["external_references"]
    if obj["type"] == "marking-definition" and isinstance(out.get("definition"), dict):
        statement = out["definition"].get("statement")
        out["definition"] = {"statement": statement} if statement is not None else {}
    return out


def dump_json(doc: Any) -> bytes:
    """Deterministic JSON: sorted keys, fixed indentation, UTF-8, trailing newline."""
    return (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()
