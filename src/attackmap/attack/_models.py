"""The values the ATT&CK knowledge base hands out: frozen, validated, comparable."""

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from attackmap.errors import AttackKBError

#: Enterprise ATT&CK tactics in matrix order (kill-chain shortnames): the one order every
#: table, layer and export sorts tactics by.
TACTIC_ORDER: tuple[str, ...] = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)


def tactic_rank(tactic: str) -> tuple[int, str]:
    """Sort key of a tactic shortname: matrix order, unknown ones after, by name."""
    return (
        TACTIC_ORDER.index(tactic) if tactic in TACTIC_ORDER else len(TACTIC_ORDER),
        tactic,
    )


#: The two knowledge bases attackmap maps onto: MITRE ATT&CK and MITRE ATLAS.
Framework = Literal["attack", "atlas"]


def framework_of(ident: str) -> Framework:
    """``atlas`` for an ATLAS id (``AML.T0040``, ``AML.M0005``), else ``attack``."""
    return "atlas" if ident.strip().upper().startswith("AML.") else "attack"


def parent_id(ident: str) -> str:
    """The parent id of a sub-technique (``T1552.001`` → ``T1552``, ``AML.T0018.000`` →
    ``AML.T0018``); a technique's own id otherwise."""
    key = ident.strip().upper()
    if key.count(".") == (2 if key.startswith("AML.") else 1):
        return key.rpartition(".")[0]
    return key


def within_goals(technique_id: str, goals: Collection[str]) -> bool:
    """Whether reaching ``technique_id`` reaches one of ``goals``: it is a goal, or a
    sub-technique of one (``T1552.001`` under ``T1552``, ``AML.T0018.000`` under
    ``AML.T0018``). A goal names a technique with every way of doing it; a sub-technique
    goal is not reached by its parent. Ids as the KB spells them (``kb.technique(g).id``).
    """
    return technique_id in goals or parent_id(technique_id) in goals


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tactic(_Frozen):
    """An ATT&CK tactic (a column of the matrix), e.g. ``TA0004 privilege-escalation``."""

    id: str
    shortname: str
    name: str


class Technique(_Frozen):
    """An ATT&CK or ATLAS technique or sub-technique.

    ``framework``: ``attack`` (MITRE ATT&CK Enterprise, ``T1611``) or ``atlas`` (MITRE ATLAS,
    ``AML.T0040``). ``tactics`` are tactic shortnames in matrix order (the framework's own
    matrix); ``description`` is ``None`` when the knowledge base was loaded from a bundled
    facts-only slice.
    """

    id: str
    name: str
    tactics: tuple[str, ...]
    platforms: tuple[str, ...]
    is_subtechnique: bool
    url: str
    stix_id: str
    version: str
    revoked: bool
    deprecated: bool
    description: str | None = None
    framework: Framework = "attack"


def tactic_label(technique: Technique, tactic: str) -> str:
    """A tactic as a report shows it: ATLAS tactics are prefixed (``ATLAS impact``), as both
    frameworks have tactics of the same name."""
    return f"ATLAS {tactic}" if technique.framework == "atlas" else tactic


class Mitigation(_Frozen):
    """An ATT&CK mitigation (``course-of-action``), e.g. ``M1048 Application Isolation``."""

    id: str
    name: str
    url: str
    stix_id: str


State = Literal["live", "revoked", "deprecated", "unknown"]


class Status(_Frozen):
    """What the knowledge base knows about an id (technique ``T…`` or mitigation ``M…``).

    ``replacement`` is the id a revoked object was revoked by (followed to its end).
    """

    id: str
    state: State
    name: str | None = None
    replacement: str | None = None


class AttackSource(_Frozen):
    """Where a knowledge base came from, as reported by ``attackmap attack info``.

    ``origin``: ``argument`` (passed to :func:`load_attack`), ``env``
    (``ATTACKMAP_ATTACK_BUNDLE``), ``cache`` (installed by ``attackmap attack update``) or
    ``bundled`` (the slice shipped with attackmap). ``kind``: ``slice`` (a checked slice
    directory) or ``bundle`` (a STIX file, sliced on load to ``platform``).
    """

    origin: Literal["argument", "env", "cache", "bundled"]
    path: str
    kind: Literal["slice", "bundle"]
    sha256: str
    platform: str | None


def find_tactic(tactics: Iterable[Tactic], ident: str, framework: str) -> Tactic:
    """The tactic of ``tactics`` whose shortname (any case) or id is ``ident``; an unknown one
    is refused with the closest shortnames (``framework`` names the matrix in the message)."""
    key = ident.strip()
    tactics = tuple(tactics)
    for tactic in tactics:
        if key.lower() == tactic.shortname or key.upper() == tactic.id:
            return tactic
    import difflib  # only for this message: an analysis never imports it

    names = [t.shortname for t in tactics]
    close = difflib.get_close_matches(key.lower(), names, n=3)
    raise AttackKBError(
        f"unknown {framework} tactic {ident!r}",
        field="tactic",
        hint=f"did you mean {', '.join(close)}?" if close else f"one of: {', '.join(names)}",
    )


@dataclass(frozen=True)
class IdShapes:
    """What a framework's ids look like: per kind (``technique``, ``mitigation``) a
    pattern and an example, and the site to check an id on."""

    framework: str
    site: str
    shapes: Mapping[str, tuple[re.Pattern[str], str]]


def unknown_id(
    ident: str,
    key: str,
    what: str,
    known: Iterable[str],
    ids: IdShapes,
    *,
    scope: str,
    note: str = "",
) -> AttackKBError:
    """The error for ``ident`` (``key`` once normalised), a ``what`` id not among
    ``known``: not shaped like one of ``ids``, or unknown in ``scope`` with the closest
    known ids (else the site to check it on); ``note`` ends the hint."""
    pattern, example = ids.shapes[what]
    if not pattern.match(key):
        return AttackKBError(
            f"{ident!r} is not an {ids.framework} {what} id",
            field=what,
            hint=f"ids look like {example}",
        )
    import difflib  # only for this message: an analysis never imports it

    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else f"check the id on {ids.site}"
    return AttackKBError(
        f"unknown {ids.framework} {what} {key} in {scope}", field=what, hint=hint + note
    )
