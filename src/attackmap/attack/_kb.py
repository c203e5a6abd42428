"""The ATT&CK knowledge base: an immutable, indexed view of one release (or slice of one)."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from attackmap.attack._atlas import AtlasKB, is_atlas_id, load_atlas
from attackmap.attack._bundle import Obj, attack_id, attack_url, is_live
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
from attackmap.errors import AttackKBError

logger = logging.getLogger(__name__)

_TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
_MITIGATION_ID = re.compile(r"^M\d{4}$")
_IDS = IdShapes(
    "ATT&CK",
    "attack.mitre.org",
    {"technique": (_TECHNIQUE_ID, "T1611 or T1053.007"), "mitigation": (_MITIGATION_ID, "M1048")},
)


def normalise_id(ident: str) -> str:
    """``t1611`` → ``T1611``; surrounding blanks removed."""
    return ident.strip().upper()


class AttackKB:
    """Queries over one ATT&CK release. Immutable once built; build it with
    :func:`attackmap.attack.load_attack`.

    Techniques and mitigations are looked up by ATT&CK id (``T1611``, ``t1053.007``,
    ``M1048``); lists come back sorted by id, tactics in matrix order.

    ATLAS ids (``AML.T0040``, ``AML.M0005``, ``AML.TA0000``) are answered by the ATLAS
    knowledge base this one carries (:attr:`atlas`; the bundled ATLAS slice unless another was
    given): ``status``, ``technique``, ``mitigation``, ``tactic``, ``mitigations_for``,
    ``subtechniques`` and ``parent`` take ids of either framework. The lists (``techniques()``,
    ``tactics()``...) stay ATT&CK's; ask :attr:`atlas` for ATLAS's.
    """

    __slots__ = (
        "_atlas",
        "_by_tactic",
        "_children",
        "_mitigated_by",
        "_mitigates",
        "_mitigation_state",
        "_mitigations",
        "_parent",
        "_replaced_by",
        "_tactics",
        "_techniques",
        "source",
        "version",
    )

    version: str
    source: AttackSource

    def __init__(
        self,
        objects: Iterable[Obj],
        *,
        version: str,
        source: AttackSource,
        descriptions: bool,
        atlas: AtlasKB | None = None,
    ) -> None:
        objs = list(objects)
        self._atlas = atlas
        by_stix: dict[str, str] = {}  # STIX id -> ATT&CK id (techniques and mitigations)
        self.version = version
        self.source = source

        tactics: dict[str, Tactic] = {}
        matrix_order: list[str] = []
        for obj in objs:
            if obj["type"] == "x-mitre-tactic" and is_live(obj):
                tid = attack_id(obj)
                if tid is not None:
                    tactics[obj["id"]] = Tactic(
                        id=tid, shortname=str(obj.get("x_mitre_shortname", "")), name=obj["name"]
                    )
            elif obj["type"] == "x-mitre-matrix" and is_live(obj) and not matrix_order:
                matrix_order = [str(ref) for ref in obj.get("tactic_refs") or ()]
        ordered = [tactics[ref] for ref in matrix_order if ref in tactics]
        ordered += sorted(
            (t for ref, t in tactics.items() if ref not in matrix_order), key=lambda t: t.id
        )
        self._tactics: tuple[Tactic, ...] = tuple(ordered)
        rank = {t.shortname: i for i, t in enumerate(self._tactics)}

        techniques: dict[str, Technique] = {}
        mitigations: dict[str, Mitigation] = {}
        mitigation_state: dict[str, tuple[str, str]] = {}  # id -> (state, name)
        for obj in objs:
            if obj["type"] == "attack-pattern":
                tech = _technique(obj, rank, descriptions)
                if tech is None:
                    continue
                by_stix[obj["id"]] = tech.id
                current = techniques.get(tech.id)
                if current is None or (not _live(current) and _live(tech)):  # a live one wins
                    techniques[tech.id] = tech
            elif obj["type"] == "course-of-action":
                mid = attack_id(obj)
                if mid is None or not _MITIGATION_ID.match(mid):
                    continue  # pre-2019 mitigations carried technique ids; not addressable
                state = (
                    "live" if is_live(obj) else "revoked" if obj.get("revoked") else "deprecated"
                )
                if mid in mitigation_state and mitigation_state[mid][0] == "live":
                    continue
                mitigation_state[mid] = (state, obj["name"])
                by_stix[obj["id"]] = mid
                if state == "live":
                    mitigations[mid] = Mitigation(
                        id=mid, name=obj["name"], url=attack_url(obj), stix_id=obj["id"]
                    )

        parent: dict[str, str] = {}
        mitigates: dict[str, set[str]] = defaultdict(set)
        replaced_by: dict[str, str] = {}
        for obj in objs:
            if obj["type"] != "relationship" or not is_live(obj):
                continue
            src, dst = by_stix.get(obj["source_ref"]), by_stix.get(obj["target_ref"])
            if src is None or dst is None:
                continue
            kind = obj["relationship_type"]
            if kind == "subtechnique-of":
                parent[src] = dst
            elif kind == "mitigates" and src in mitigations and dst in techniques:
                mitigates[dst].add(src)
            elif kind == "revoked-by" and src != dst:
                replaced_by[src] = dst
        mitigated_by: dict[str, set[str]] = defaultdict(set)
        for tech_id, mids in mitigates.items():
            for mid in mids:
                mitigated_by[mid].add(tech_id)
        children: dict[str, list[str]] = defaultdict(list)
        for sub, par in parent.items():
            children[par].append(sub)
        by_tactic: dict[str, list[str]] = defaultdict(list)
        for tech in techniques.values():
            if _live(tech):
                for shortname in tech.tactics:
                    by_tactic[shortname].append(tech.id)

        self._techniques: dict[str, Technique] = dict(sorted(techniques.items()))
        self._mitigations: dict[str, Mitigation] = dict(sorted(mitigations.items()))
        self._mitigation_state = mitigation_state
        self._parent = parent
        self._children = {k: tuple(sorted(v)) for k, v in children.items()}
        self._mitigates = {k: tuple(sorted(v)) for k, v in mitigates.items()}
        self._mitigated_by = {k: tuple(sorted(v)) for k, v in mitigated_by.items()}
        self._replaced_by = replaced_by
        self._by_tactic = {k: tuple(sorted(v)) for k, v in by_tactic.items()}

    def __repr__(self) -> str:
        return (
            f"<AttackKB ATT&CK {self.version} {self.source.kind} {self.source.path!r}: "
            f"{len(self.techniques())} techniques, {len(self._mitigations)} mitigations>"
        )

    @property
    def atlas(self) -> AtlasKB:
        """The ATLAS knowledge base ``AML.`` ids are looked up in."""
        return self._atlas if self._atlas is not None else load_atlas()

    # -- lookups -------------------------------------------------------------------------

    def status(self, ident: str) -> Status:
        """Whether ``ident`` (technique or mitigation) is live, revoked (and by what),
        deprecated, or unknown to this knowledge base. Never raises."""
        if is_atlas_id(ident):
            return self.atlas.status(ident)
        key = normalise_id(ident)
        if _MITIGATION_ID.match(key):
            state_name = self._mitigation_state.get(key)
            if state_name is None:
                return Status(id=key, state="unknown")
            state, name = state_name
        else:
            tech = self._techniques.get(key)
            if tech is None:
                return Status(id=key, state="unknown")
            state, name = (
                ("revoked" if tech.revoked else "deprecated" if tech.deprecated else "live"),
                tech.name,
            )
        if state == "revoked":
            return Status(id=key, state="revoked", name=name, replacement=self._final(key))
        return Status(id=key, state=state, name=name)  # type: ignore[arg-type]  # state is one of the Literal values by construction

    def is_known(self, ident: str) -> bool:
        """``True`` for any id this knowledge base holds (live, revoked or deprecated)."""
        return self.status(ident).state != "unknown"

    def technique(self, ident: str) -> Technique:
        """The technique ``ident``; a revoked id resolves to its replacement (with a warning).

        Raises :class:`AttackKBError` for an unknown id, suggesting close ids.
        """
        if is_atlas_id(ident):
            return self.atlas.technique(ident)
        key = normalise_id(ident)
        tech = self._techniques.get(key)
        if tech is None:
            raise self._unknown(ident, key, "technique", self._techniques)
        if tech.revoked:
            final = self._final(key)
            replacement = self._techniques.get(final) if final else None
            if replacement is None:
                raise AttackKBError(
                    f"ATT&CK technique {key} ({tech.name}) is revoked with no replacement",
                    field="technique",
                    hint="remove it, or pick a current technique",
                )
            logger.warning(
                "ATT&CK technique %s (%s) is revoked; using %s (%s)",
                key,
                tech.name,
                replacement.id,
                replacement.name,
            )
            return replacement
        if tech.deprecated:
            logger.warning("ATT&CK technique %s (%s) is deprecated", key, tech.name)
        return tech

    def mitigation(self, ident: str) -> Mitigation:
        """The live mitigation ``ident`` (``M1048``); unknown or retired ids raise."""
        if is_atlas_id(ident):
            return self.atlas.mitigation(ident)
        key = normalise_id(ident)
        found = self._mitigations.get(key)
        if found is not None:
            return found
        # status() answers for techniques too: a technique id is no retired mitigation
        status = self.status(key) if _MITIGATION_ID.match(key) else Status(id=key, state="unknown")
        if status.state == "revoked" and status.replacement in self._mitigations:
            logger.warning("ATT&CK mitigation %s is revoked; using %s", key, status.replacement)
            return self._mitigations[status.replacement]
        if status.state != "unknown":
            raise AttackKBError(
                f"ATT&CK mitigation {key} ({status.name}) is {status.state}",
                field="mitigation",
                hint="pick a current mitigation",
            )
        raise self._unknown(ident, key, "mitigation", self._mitigations)

    # -- lists ---------------------------------------------------------------------------

    def techniques(self, platform: str | None = None) -> tuple[Technique, ...]:
        """Live techniques and sub-techniques, sorted by id; only ``platform``'s if given."""
        return tuple(
            t
            for t in self._techniques.values()
            if _live(t) and (platform is None or platform in t.platforms)
        )

    def mitigations(self) -> tuple[Mitigation, ...]:
        """Live mitigations, sorted by id."""
        return tuple(self._mitigations.values())

    def tactics(self) -> tuple[Tactic, ...]:
        """Tactics in matrix order (reconnaissance ... impact)."""
        return self._tactics

    def tactic(self, ident: str) -> Tactic:
        """A tactic by shortname (``privilege-escalation``) or id (``TA0004``, or ATLAS's
        ``AML.TA0000``)."""
        if is_atlas_id(ident):
            return self.atlas.tactic(ident)
        return find_tactic(self._tactics, ident, "ATT&CK")

    def techniques_by_tactic(self, shortname: str) -> tuple[Technique, ...]:
        """Live techniques of a tactic (shortname or ``TA…`` id), sorted by id."""
        tactic = self.tactic(shortname)
        return tuple(self._techniques[i] for i in self._by_tactic.get(tactic.shortname, ()))

    def mitigations_for(self, technique_id: str) -> tuple[Mitigation, ...]:
        """Mitigations that ``mitigates`` the technique, sorted by id."""
        if is_atlas_id(technique_id):
            return self.atlas.mitigations_for(technique_id)
        tech = self.technique(technique_id)
        return tuple(self._mitigations[m] for m in self._mitigates.get(tech.id, ()))

    def techniques_mitigated_by(self, mitigation_id: str) -> tuple[Technique, ...]:
        """Techniques (in this knowledge base) the mitigation ``mitigates``, sorted by id."""
        if is_atlas_id(mitigation_id):
            return self.atlas.techniques_mitigated_by(mitigation_id)
        mitigation = self.mitigation(mitigation_id)
        return tuple(self._techniques[t] for t in self._mitigated_by.get(mitigation.id, ()))

    def subtechniques(self, technique_id: str) -> tuple[Technique, ...]:
        """Live sub-techniques of a technique (in this knowledge base), sorted by id."""
        if is_atlas_id(technique_id):
            return self.atlas.subtechniques(technique_id)
        tech = self.technique(technique_id)
        return tuple(
            self._techniques[s]
            for s in self._children.get(tech.id, ())
            if _live(self._techniques[s])
        )

    def parent(self, technique_id: str) -> Technique | None:
        """The parent of a sub-technique; ``None`` for a technique."""
        if is_atlas_id(technique_id):
            return self.atlas.parent(technique_id)
        tech = self.technique(technique_id)
        par = self._parent.get(tech.id)
        return self._techniques[par] if par is not None else None

    # -- helpers -------------------------------------------------------------------------

    def _all_techniques(self) -> tuple[Technique, ...]:
        """Every technique held, revoked and deprecated ones included (for diffs)."""
        return tuple(self._techniques.values())

    def _final(self, key: str) -> str | None:
        seen = {key}
        current = self._replaced_by.get(key)
        while current is not None and current in self._replaced_by and current not in seen:
            seen.add(current)
            current = self._replaced_by[current]
        return current

    def _unknown(self, ident: str, key: str, what: str, known: dict[str, Any]) -> AttackKBError:
        platform = self.source.platform
        scope = f"ATT&CK {self.version}" + (f", {platform} techniques" if platform else "")
        note = " (load a full bundle for other platforms)" if platform else ""
        return unknown_id(ident, key, what, known, _IDS, scope=scope, note=note)


def _live(tech: Technique) -> bool:
    return not tech.revoked and not tech.deprecated


def _technique(obj: Obj, rank: dict[str, int], descriptions: bool) -> Technique | None:
    tid = attack_id(obj)
    if tid is None or not _TECHNIQUE_ID.match(tid):
        return None
    phases = {
        str(p.get("phase_name"))
        for p in obj.get("kill_chain_phases") or ()
        if isinstance(p, dict) and str(p.get("kill_chain_name", "")).startswith("mitre")
    }
    description = obj.get("description") if descriptions else None
    return Technique(
        id=tid,
        name=obj["name"],
        tactics=tuple(sorted(phases, key=lambda p: (rank.get(p, len(rank)), p))),
        platforms=tuple(obj.get("x_mitre_platforms") or ()),
        is_subtechnique=bool(obj.get("x_mitre_is_subtechnique", "." in tid)),
        url=attack_url(obj),
        stix_id=obj["id"],
        version=str(obj.get("x_mitre_version", "")),
        revoked=bool(obj.get("revoked", False)),
        deprecated=bool(obj.get("x_mitre_deprecated", False)),
        description=description if isinstance(description, str) else None,
    )
