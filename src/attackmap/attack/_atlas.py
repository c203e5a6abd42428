"""MITRE ATLAS, the AI half of the threat model: its facts-only slice and knowledge base.

ATLAS (Adversarial Threat Landscape for AI Systems) names what an attacker does to a model:
inference API access, model theft, poisoning, cost harvesting. Its ids are ``AML.Tnnnn[.nnn]``
(techniques), ``AML.TAnnnn`` (tactics) and ``AML.Mnnnn`` (mitigations).

The slice bundled in ``data/atlas/`` holds every tactic, technique and mitigation of one ATLAS
release (the whole matrix is small) reduced to facts: no descriptions, no case studies. Like the
ATT&CK slice it is three files, written by :func:`build_atlas_slice` from the upstream
``ATLAS.yaml`` and checked on every load:

- ``atlas.json`` — the matrix, keys and techniques sorted, tactics in matrix order;
- ``LICENSE.txt`` — ATLAS's Apache-2.0 licence (MITRE's notice), which must accompany a copy;
- ``MANIFEST.json`` — provenance (source file, ATLAS version, source sha256, counts) and the
  sha256 of the two other files.

:class:`AtlasKB` answers the same questions as :class:`~attackmap.attack.AttackKB` and hands out
the same value types (:class:`Technique` with ``framework="atlas"``). ``AttackKB`` delegates
every ``AML.`` id to the ATLAS knowledge base it carries, so code that looks up a technique or
mitigation by id needs no second object.
"""

import datetime
import functools
import json
import os
import re
import uuid
from collections import defaultdict
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from attackmap.attack._bundle import dump_json
from attackmap.attack._models import (
    AttackSource,
    IdShapes,
    Mitigation,
    Status,
    Tactic,
    Technique,
    find_tactic,
    unknown_id,
)
from attackmap.attack._slice import (
    LICENSE,
    MANIFEST,
    read_checked,
    read_manifest,
    sha256_hex,
    write_slice_dir,
)
from attackmap.errors import AttackKBError

ATLAS_FILE = "atlas.json"
ATLAS_URL = "https://atlas.mitre.org"

#: ATLAS publishes no stable STIX ids (its STIX generator draws fresh ones on every build), so
#: attackmap derives one per ATLAS id from this namespace; platforms merge on the external
#: reference (``mitre-atlas``, ``AML.T…``) instead.
STIX_NAMESPACE = uuid.UUID("5f0c1a52-41a7-5a3b-9c1e-61746c61736b")

_TECHNIQUE_ID = re.compile(r"^AML\.T\d{4}(\.\d{3})?$")
_MITIGATION_ID = re.compile(r"^AML\.M\d{4}$")
_TACTIC_ID = re.compile(r"^AML\.TA\d{4}$")
_IDS = IdShapes(
    "ATLAS",
    "atlas.mitre.org",
    {
        "technique": (_TECHNIQUE_ID, "AML.T0040 or AML.T0018.000"),
        "mitigation": (_MITIGATION_ID, "AML.M0005"),
    },
)


def is_atlas_id(ident: str) -> bool:
    """Whether ``ident`` is in ATLAS's id space (``AML.…``, any case)."""
    return ident.strip().upper().startswith("AML.")


def atlas_url(ident: str) -> str:
    """The atlas.mitre.org page of a technique, tactic or mitigation."""
    key = ident.strip().upper()
    kind = (
        "mitigations"
        if _MITIGATION_ID.match(key)
        else "tactics"
        if _TACTIC_ID.match(key)
        else "techniques"
    )
    return f"{ATLAS_URL}/{kind}/{key}"


def tactic_shortname(name: str) -> str:
    """ATLAS's Navigator name of a tactic: ``AI Model Access`` → ``ai-model-access``
    (lowercase, spaces as hyphens, as ``atlas-navigator-data`` derives it)."""
    return name.strip().lower().replace(" ", "-")


# -- the slice -----------------------------------------------------------------------------


class AtlasSourceRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    sha256: str


class AtlasManifest(BaseModel):
    """What ``data/atlas/MANIFEST.json`` says about the ATLAS slice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int
    atlas_version: str
    slice: str
    tactics: int
    techniques: int
    mitigations: int
    source: AtlasSourceRecord
    files: dict[str, str]  # file name -> sha256


def _facts(data: Any, source: str) -> dict[str, Any]:
    """The facts-only matrix of a parsed ``ATLAS.yaml`` (descriptions and case studies dropped)."""
    try:
        return _facts_of(data)
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise AttackKBError(
            f"not an ATLAS distribution file (missing or malformed {e})",
            path=source,
            hint="pass dist/ATLAS.yaml from the mitre-atlas/atlas-data repository",
        ) from e


def _facts_of(data: Any) -> dict[str, Any]:
    version = str(data["version"])
    matrix = data["matrices"][0]
    raw_tactics = list(matrix["tactics"])
    raw_techniques = list(matrix["techniques"])
    raw_mitigations = list(matrix["mitigations"])

    def reference(obj: dict[str, Any]) -> dict[str, str] | None:
        ref = obj.get("ATT&CK-reference")
        if isinstance(ref, dict) and ref.get("id"):
            return {"id": str(ref["id"]), "url": str(ref.get("url", ""))}
        return None

    def day(value: Any) -> str:
        return value.isoformat() if isinstance(value, datetime.date) else str(value or "")

    tactics = [
        {
            "id": str(t["id"]),
            "name": str(t["name"]),
            "attack_reference": reference(t),
        }
        for t in raw_tactics
    ]
    techniques = sorted(
        (
            {
                "id": str(t["id"]),
                "name": str(t["name"]),
                "tactics": [str(x) for x in t.get("tactics") or ()],
                "subtechnique_of": str(t["subtechnique-of"]) if t.get("subtechnique-of") else None,
                "attack_reference": reference(t),
                "maturity": str(t.get("maturity") or ""),
                "modified": day(t.get("modified_date")),
                "deprecated": bool(t.get("deprecated", False)),
            }
            for t in raw_techniques
        ),
        key=lambda t: str(t["id"]),
    )
    mitigations = sorted(
        (
            {
                "id": str(m["id"]),
                "name": str(m["name"]),
                "techniques": sorted({str(x["id"]) for x in m.get("techniques") or ()}),
                "attack_reference": reference(m),
                "modified": day(m.get("modified_date")),
                "deprecated": bool(m.get("deprecated", False)),
            }
            for m in raw_mitigations
        ),
        key=lambda m: str(m["id"]),
    )
    return {
        "id": str(data.get("id", "ATLAS")),
        "version": version,
        "tactics": tactics,
        "techniques": techniques,
        "mitigations": mitigations,
    }


def read_atlas_yaml(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """The facts of an upstream ``ATLAS.yaml`` and the file's sha256."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as e:
        raise AttackKBError(f"cannot read the ATLAS file: {e.strerror}", path=source) from e
    try:
        data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506  # SafeLoader: never constructs objects
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise AttackKBError(
            f"invalid YAML: {getattr(e, 'problem', e)}",
            path=source,
            line=mark.line + 1 if mark is not None else None,
        ) from e
    return _facts(data, str(source)), sha256_hex(raw)


def build_atlas_slice(
    atlas_yaml: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    license_file: str | os.PathLike[str] | None = None,
) -> AtlasManifest:
    """Write the facts-only ATLAS slice of ``atlas_yaml`` (upstream ``dist/ATLAS.yaml``) into
    ``out_dir``: deterministic, the same input gives byte-identical files.

    ATLAS's licence must accompany the copy: read from ``license_file``, by default
    ``LICENSE`` (or ``LICENSE.txt``) beside the YAML file, and written verbatim.
    """
    source = Path(atlas_yaml)
    candidates = (
        [Path(license_file)]
        if license_file is not None
        else [source.parent / "LICENSE", source.parent / LICENSE]
    )
    license_text = None
    for candidate in candidates:
        try:
            license_text = candidate.read_text(encoding="utf-8")
            break
        except OSError:
            continue
    if license_text is None:
        raise AttackKBError(
            "cannot read ATLAS's licence",
            path=candidates[0],
            hint="the Apache-2.0 notice must accompany any copy of ATLAS; pass --license FILE",
        )
    facts, digest = read_atlas_yaml(source)
    slice_bytes = dump_json(facts)
    license_bytes = license_text.encode()
    manifest = AtlasManifest(
        format=1,
        atlas_version=facts["version"],
        slice=ATLAS_FILE,
        tactics=len(facts["tactics"]),
        techniques=len(facts["techniques"]),
        mitigations=len(facts["mitigations"]),
        source=AtlasSourceRecord(file=source.name, sha256=digest),
        files={ATLAS_FILE: sha256_hex(slice_bytes), LICENSE: sha256_hex(license_bytes)},
    )
    write_slice_dir(
        Path(out_dir), {ATLAS_FILE: slice_bytes, LICENSE: license_bytes}, manifest, "ATLAS slice"
    )
    return manifest


def read_atlas_slice(root: Traversable, label: str) -> tuple[AtlasManifest, dict[str, Any]]:
    """Read and check an ATLAS slice directory; a modified or truncated file is refused."""
    manifest_path = f"{label}/{MANIFEST}"
    manifest = read_manifest(
        root,
        manifest_path,
        AtlasManifest,
        ("ATLAS slice", "ATLAS slice"),
        "pass a directory written by `attackmap attack build-slice --from ATLAS.yaml`",
    )
    if set(manifest.files) != {manifest.slice, LICENSE}:
        raise AttackKBError(
            f"{MANIFEST} does not checksum the slice and {LICENSE}", path=manifest_path
        )
    contents = read_checked(root, manifest.files, label, "ATLAS slice")
    try:
        facts = json.loads(contents[manifest.slice])
    except ValueError as e:
        raise AttackKBError(f"not JSON: {e}", path=f"{label}/{manifest.slice}") from e
    return manifest, facts


# -- the knowledge base --------------------------------------------------------------------


class AtlasKB:
    """Queries over one ATLAS release. Immutable once built; get it with :func:`load_atlas`
    (or ``load_attack().atlas``).

    Look-ups take ATLAS ids in any case (``aml.t0040``); lists come back sorted by id, tactics
    in matrix order. Techniques are :class:`Technique` values with ``framework="atlas"``,
    ``platforms=("ATLAS",)`` (as ATLAS's own STIX data says) and tactic *shortnames* as the
    ATLAS Navigator names them (``ai-model-access``); a sub-technique has its parent's tactics.
    """

    __slots__ = (
        "_by_tactic",
        "_children",
        "_mitigated_by",
        "_mitigates",
        "_mitigations",
        "_parent",
        "_retired_mitigations",
        "_tactics",
        "_techniques",
        "source",
        "version",
    )

    version: str
    source: AttackSource

    def __init__(self, facts: dict[str, Any], *, source: AttackSource) -> None:
        self.version = str(facts["version"])
        self.source = source
        self._tactics: tuple[Tactic, ...] = tuple(
            Tactic(id=t["id"], shortname=tactic_shortname(t["name"]), name=t["name"])
            for t in facts["tactics"]
        )
        shortname = {t.id: t.shortname for t in self._tactics}
        order = {t.shortname: i for i, t in enumerate(self._tactics)}
        raw = {t["id"]: t for t in facts["techniques"]}
        techniques: dict[str, Technique] = {}
        children: dict[str, list[str]] = defaultdict(list)
        parents: dict[str, str] = {}
        for tid, t in sorted(raw.items()):
            parent = t.get("subtechnique_of")
            tactic_ids = raw[parent]["tactics"] if parent in raw else t["tactics"]
            names = sorted(
                {shortname[x] for x in tactic_ids if x in shortname},
                key=lambda n: (order.get(n, len(order)), n),
            )
            techniques[tid] = Technique(
                id=tid,
                name=t["name"],
                tactics=tuple(names),
                platforms=("ATLAS",),
                is_subtechnique=parent is not None,
                url=atlas_url(tid),
                stix_id=f"attack-pattern--{uuid.uuid5(STIX_NAMESPACE, f'mitre-atlas:{tid}')}",
                version=str(t.get("modified") or ""),
                revoked=False,
                deprecated=bool(t.get("deprecated")),
                framework="atlas",
            )
            if parent is not None:
                children[parent].append(tid)
                parents[tid] = parent
        mitigations: dict[str, Mitigation] = {}
        retired: dict[str, str] = {}
        mitigates: dict[str, set[str]] = defaultdict(set)
        for m in facts["mitigations"]:
            if m.get("deprecated"):
                retired[m["id"]] = m["name"]
                continue
            mid = str(m["id"])
            mitigations[mid] = Mitigation(
                id=mid,
                name=m["name"],
                url=atlas_url(mid),
                stix_id=f"course-of-action--{uuid.uuid5(STIX_NAMESPACE, f'mitre-atlas:{mid}')}",
            )
            for tid in m["techniques"]:
                if tid in techniques:
                    mitigates[tid].add(m["id"])
        mitigated_by: dict[str, set[str]] = defaultdict(set)
        for tid, mids in mitigates.items():
            for mid in mids:
                mitigated_by[mid].add(tid)
        by_tactic: dict[str, list[str]] = defaultdict(list)
        for tech in techniques.values():
            if not tech.deprecated:
                for name in tech.tactics:
                    by_tactic[name].append(tech.id)
        self._techniques = techniques
        self._parent = parents
        self._children = {k: tuple(sorted(v)) for k, v in children.items()}
        self._mitigations = dict(sorted(mitigations.items()))
        self._retired_mitigations = retired
        self._mitigates = {k: tuple(sorted(v)) for k, v in mitigates.items()}
        self._mitigated_by = {k: tuple(sorted(v)) for k, v in mitigated_by.items()}
        self._by_tactic = {k: tuple(sorted(v)) for k, v in by_tactic.items()}

    def __repr__(self) -> str:
        return (
            f"<AtlasKB ATLAS {self.version} {self.source.kind} {self.source.path!r}: "
            f"{len(self.techniques())} techniques, {len(self._mitigations)} mitigations>"
        )

    def status(self, ident: str) -> Status:
        """Whether ``ident`` (technique or mitigation) is live, deprecated or unknown."""
        key = ident.strip().upper()
        if key in self._mitigations:
            return Status(id=key, state="live", name=self._mitigations[key].name)
        if key in self._retired_mitigations:
            return Status(id=key, state="deprecated", name=self._retired_mitigations[key])
        tech = self._techniques.get(key)
        if tech is None:
            return Status(id=key, state="unknown")
        return Status(id=key, state="deprecated" if tech.deprecated else "live", name=tech.name)

    def is_known(self, ident: str) -> bool:
        return self.status(ident).state != "unknown"

    def technique(self, ident: str) -> Technique:
        """The technique ``ident``; raises :class:`AttackKBError` for an unknown id."""
        key = ident.strip().upper()
        tech = self._techniques.get(key)
        if tech is None:
            raise self._unknown(ident, key, "technique", self._techniques)
        return tech

    def mitigation(self, ident: str) -> Mitigation:
        """The live mitigation ``ident`` (``AML.M0005``); unknown or retired ids raise."""
        key = ident.strip().upper()
        found = self._mitigations.get(key)
        if found is not None:
            return found
        if key in self._retired_mitigations:
            raise AttackKBError(
                f"ATLAS mitigation {key} ({self._retired_mitigations[key]}) is deprecated",
                field="mitigation",
                hint="pick a current mitigation",
            )
        raise self._unknown(ident, key, "mitigation", self._mitigations)

    def techniques(self) -> tuple[Technique, ...]:
        """Live techniques and sub-techniques, sorted by id."""
        return tuple(t for t in self._techniques.values() if not t.deprecated)

    def mitigations(self) -> tuple[Mitigation, ...]:
        return tuple(self._mitigations.values())

    def tactics(self) -> tuple[Tactic, ...]:
        """Tactics in ATLAS matrix order."""
        return self._tactics

    def tactic(self, ident: str) -> Tactic:
        """A tactic by shortname (``ai-model-access``) or id (``AML.TA0000``)."""
        return find_tactic(self._tactics, ident, "ATLAS")

    def techniques_by_tactic(self, shortname: str) -> tuple[Technique, ...]:
        tactic = self.tactic(shortname)
        return tuple(self._techniques[i] for i in self._by_tactic.get(tactic.shortname, ()))

    def mitigations_for(self, technique_id: str) -> tuple[Mitigation, ...]:
        tech = self.technique(technique_id)
        return tuple(self._mitigations[m] for m in self._mitigates.get(tech.id, ()))

    def techniques_mitigated_by(self, mitigation_id: str) -> tuple[Technique, ...]:
        mitigation = self.mitigation(mitigation_id)
        return tuple(self._techniques[t] for t in self._mitigated_by.get(mitigation.id, ()))

    def subtechniques(self, technique_id: str) -> tuple[Technique, ...]:
        tech = self.technique(technique_id)
        return tuple(
            self._techniques[s]
            for s in self._children.get(tech.id, ())
            if not self._techniques[s].deprecated
        )

    def parent(self, technique_id: str) -> Technique | None:
        parent = self._parent.get(self.technique(technique_id).id)
        return self._techniques[parent] if parent is not None else None

    def _unknown(self, ident: str, key: str, what: str, known: dict[str, Any]) -> AttackKBError:
        return unknown_id(ident, key, what, known, _IDS, scope=f"ATLAS {self.version}")


def load_atlas(source: str | os.PathLike[str] | None = None) -> AtlasKB:
    """Load the ATLAS knowledge base: the slice bundled with attackmap by default, or
    ``source`` — a slice directory (checksums verified) or an upstream ``ATLAS.yaml``.
    Raises :class:`~attackmap.errors.AttackKBError` for a missing, unreadable or tampered source.
    """
    if source is None:
        return _load_bundled()
    path = Path(source)
    try:
        stat = path.stat()
        if path.is_dir() and (path / MANIFEST).is_file():
            stat = (path / MANIFEST).stat()  # a rebuilt slice is read again
    except OSError as e:
        raise AttackKBError(
            f"ATLAS source not found: {e.strerror}",
            path=path,
            hint="pass an ATLAS slice directory or an ATLAS.yaml distribution file",
        ) from e
    return _load_path(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _load_bundled() -> AtlasKB:
    from attackmap._resources import data_dir

    root = data_dir().joinpath("atlas")
    manifest, facts = read_atlas_slice(root, str(root))
    source = AttackSource(
        origin="bundled",
        path=str(root),
        kind="slice",
        sha256=manifest.files[manifest.slice],
        platform=None,
    )
    return AtlasKB(facts, source=source)


@functools.lru_cache(maxsize=4)
def _load_path(path: str, mtime_ns: int, size: int) -> AtlasKB:
    del mtime_ns, size  # part of the cache key only: a replaced file is read again
    target = Path(path)
    if target.is_dir():
        manifest, facts = read_atlas_slice(target, path)
        source = AttackSource(
            origin="argument",
            path=path,
            kind="slice",
            sha256=manifest.files[manifest.slice],
            platform=None,
        )
    else:
        facts, digest = read_atlas_yaml(target)
        source = AttackSource(
            origin="argument", path=path, kind="bundle", sha256=digest, platform=None
        )
    try:
        return AtlasKB(facts, source=source)
    except (KeyError, TypeError, ValueError) as e:
        raise AttackKBError(f"malformed ATLAS slice ({e})", path=path) from e
