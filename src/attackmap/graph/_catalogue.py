"""The step and control catalogue (``mappings/``): loading and validation.

Steps and controls are data. This module turns the YAML under ``mappings/`` into frozen
models and refuses a catalogue that would make the analysis wrong: unknown or retired
ATT&CK or ATLAS ids, states required but never granted, unreachable steps, unknown facts, relations
or patch operations.
"""

import fnmatch
import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from attackmap._resources import mapping_data, mappings_dir
from attackmap.attack import AttackKB, framework_of
from attackmap.attack._models import parent_id
from attackmap.errors import MappingError
from attackmap.graph._facts import is_known_fact
from attackmap.graph._patches import PATCH_OPS
from attackmap.graph._relations import RELATIONS

Scope = Literal["port", "container", "workload", "node", "cluster"]

# Which state scopes a step of a given scope can refer to (the scope "above" it). A port
# is served by one container: its steps see that container's states.
_VISIBLE: dict[str, frozenset[str]] = {
    "port": frozenset({"port", "container", "workload", "node", "cluster"}),
    "container": frozenset({"container", "workload", "node", "cluster"}),
    "workload": frozenset({"workload", "node", "cluster"}),
    "node": frozenset({"node", "cluster"}),
    "cluster": frozenset({"node", "cluster"}),
}

_ATOM = re.compile(r"^(state|fact):[A-Za-z0-9_:./*{}\-]+$")
#: The characters fnmatch reads as a pattern; each written as a class of itself ("[*]") to
#: stand for itself in a glob.
_GLOB_CHARS = re.compile(r"([*?[])")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class State(_Frozen):
    """An attacker state: what the attacker holds, and where it lives."""

    id: str
    scope: Scope
    title: str


class Requires(_Frozen):
    """A step fires when every ``all`` atom holds and, if ``any`` is given, one of those."""

    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()

    @field_validator("all", "any")
    @classmethod
    def _atoms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for atom in value:
            if not _ATOM.match(atom):
                raise ValueError(f"{atom!r} is not a 'state:<id>' or 'fact:<name>' atom")
        return value

    @property
    def state(self) -> str:
        """The one attacker state this step starts from (validated to exist)."""
        return next(a[6:] for a in self.all if a.startswith("state:"))

    @property
    def all_facts(self) -> tuple[str, ...]:
        return tuple(a[5:] for a in self.all if a.startswith("fact:"))

    @property
    def any_facts(self) -> tuple[str, ...]:
        return tuple(a[5:] for a in self.any if a.startswith("fact:"))


class Step(_Frozen):
    """One attack step: from a state, given facts, the attacker uses a technique and gains states."""

    id: str
    title: str
    technique: str
    scope: Scope
    requires: Requires
    grants: tuple[str, ...] = ()
    target: str | None = None
    rationale: str
    references: tuple[str, ...] = Field(min_length=1)
    platform_note: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        # an instance is <step>@<scope>, a step's node step:<step>@<scope>: what follows the
        # first "@" is the scope whose workload owns it
        if "@" in value:
            raise ValueError(f"{value!r}: a step id has no '@' (its instances are <step>@<scope>)")
        return value

    @field_validator("grants")
    @classmethod
    def _grants(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for atom in value:
            if not atom.startswith("state:"):
                raise ValueError(f"{atom!r}: a step grants states ('state:<id>') only")
        return value

    @property
    def granted_states(self) -> tuple[str, ...]:
        return tuple(a[6:] for a in self.grants)

    def fires(self, facts: frozenset[str]) -> bool:
        """Whether the fact requirements hold in ``facts`` (the state is checked by the graph)."""
        if not all(f in facts for f in self.requires.all_facts):
            return False
        any_facts = self.requires.any_facts
        return not any_facts or any(f in facts for f in any_facts)

    def enabling_facts(self, facts: frozenset[str]) -> tuple[str, ...]:
        """The facts that made this step fire (all of ``all`` plus the ``any`` ones present)."""
        return self.requires.all_facts + tuple(f for f in self.requires.any_facts if f in facts)


class Control(_Frozen):
    """A control: a change to the workload (or cluster) that removes facts.

    A control with ``parameter`` is a template: ``for_each`` (``fact:cap:{arg}``) instantiates
    it once per matching fact of a workload, as ``<id>:<arg>``.
    """

    id: str
    title: str
    parameter: str | None = None
    for_each: str | None = None
    removes: tuple[str, ...] = ()
    adds: tuple[str, ...] = ()
    mitigations: tuple[str, ...] = ()
    pss_checks: tuple[str, ...] = ()
    patch: dict[str, str | int | bool]
    rationale: str
    references: tuple[str, ...] = ()

    def instantiate(self, arg: str | None) -> "ControlInstance":
        def fill(atom: str, value: str | None = arg) -> str:
            text = atom[5:] if atom.startswith("fact:") else atom
            return text.replace("{arg}", value) if value is not None else text

        def fill_removal(atom: str) -> str:
            # A removal with a "*" is a glob, and the argument in it literal text: the
            # hostPath "/data/*" names that directory, not every directory it would match.
            if arg is not None and ("*" in atom or "*" in arg):
                return fill(atom, _GLOB_CHARS.sub(r"[\1]", arg))
            return fill(atom)

        patch = {
            k: (v.replace("{arg}", arg) if isinstance(v, str) and arg is not None else v)
            for k, v in self.patch.items()
        }
        return ControlInstance(
            control=self.id,
            arg=arg,
            title=self.title.replace("{arg}", arg) if arg is not None else self.title,
            removes=tuple(fill_removal(a) for a in self.removes),
            adds=tuple(fill(a) for a in self.adds),
            patch=patch,
        )

    def args_for(self, facts: Iterable[str]) -> tuple[str, ...]:
        """The ``{arg}`` values ``for_each`` matches in ``facts`` (sorted, unique)."""
        if self.for_each is None:
            return ()
        pattern = self.for_each[5:]
        prefix, _, suffix = pattern.partition("{arg}")
        found: set[str] = set()
        for fact in facts:
            if not fact.startswith(prefix):
                continue
            rest = fact[len(prefix) :]
            if suffix == "":
                found.add(rest)
            elif suffix == ":*":
                head, sep, _tail = rest.rpartition(":")
                if sep:
                    found.add(head)
            elif rest.endswith(suffix):
                found.add(rest[: -len(suffix)])
        return tuple(sorted(a for a in found if a))


class ControlInstance(_Frozen):
    """A control made concrete for one argument (``drop-capability:SYS_ADMIN``)."""

    control: str
    arg: str | None
    title: str
    removes: tuple[str, ...]
    adds: tuple[str, ...]
    patch: dict[str, str | int | bool]

    @property
    def id(self) -> str:
        return self.control if self.arg is None else f"{self.control}:{self.arg}"

    def transform(self, facts: frozenset[str]) -> frozenset[str]:
        """``facts`` with this control applied (removals may be globs like ``cap_add:*``)."""
        exact, globs = self._removals
        kept = frozenset(facts) - exact
        if globs:
            kept = frozenset(f for f in kept if not any(g.match(f) for g in globs))
        return kept.union(self.adds)

    def removes_any(self, facts: Collection[str]) -> bool:
        """Whether this control removes one of ``facts``."""
        exact, globs = self._removals
        return not exact.isdisjoint(facts) or any(g.match(f) for g in globs for f in facts)

    @functools.cached_property
    def _removals(self) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
        """``removes`` split once: the facts named exactly, and the globs (a ``*`` in the
        pattern) compiled as :func:`fnmatch.fnmatchcase` compiles them."""
        exact = frozenset(p for p in self.removes if "*" not in p)
        globs = tuple(re.compile(fnmatch.translate(p)) for p in self.removes if "*" in p)
        return exact, globs


class Catalogue(_Frozen):
    """The validated catalogue: states, steps (sorted by id) and controls (sorted by id)."""

    states: tuple[State, ...]
    steps: tuple[Step, ...]
    controls: tuple[Control, ...]

    def state(self, ident: str) -> State:
        return self._states[ident]

    @functools.cached_property
    def _states(self) -> dict[str, State]:
        return {s.id: s for s in self.states}

    def step(self, ident: str) -> Step:
        return self._steps[ident]

    @functools.cached_property
    def _steps(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    def node_grants(self, step: Step) -> frozenset[str]:
        """The node-scope states ``step`` grants (the engine places them on node classes)."""
        return self._node_grants[step.id]

    @functools.cached_property
    def _node_grants(self) -> dict[str, frozenset[str]]:
        return {
            s.id: frozenset(g for g in s.granted_states if self.state(g).scope == "node")
            for s in self.steps
        }

    def control(self, ident: str) -> Control:
        return self._controls[ident]

    @functools.cached_property
    def _controls(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}

    def steps_for_technique(self, technique_id: str) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.technique == technique_id)

    def techniques(self) -> tuple[str, ...]:
        return tuple(sorted({s.technique for s in self.steps}))


# -- loading -------------------------------------------------------------------------------


def _read_yaml(node: Traversable, label: str) -> Any:
    try:
        text = node.read_text(encoding="utf-8")
        return mapping_data(text)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise MappingError(f"invalid YAML: {e.problem}", path=label, line=line) from e
    except (OSError, UnicodeDecodeError) as e:
        raise MappingError(f"cannot read mapping file: {e}", path=label) from e


def _entries(node: Traversable, label: str, key: str) -> list[tuple[str, Mapping[str, Any]]]:
    data = _read_yaml(node, label)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise MappingError(f"expected a mapping with a '{key}' list", path=label)
    out: list[tuple[str, Mapping[str, Any]]] = []
    for i, entry in enumerate(data[key]):
        if not isinstance(entry, dict):
            raise MappingError("expected a mapping", path=label, field=f"{key}[{i}]")
        out.append((f"{key}[{i}] ({entry.get('id', '?')})", entry))
    return out


def _validate(model: type[_Frozen], entry: Mapping[str, Any], label: str, where: str) -> Any:
    try:
        return model.model_validate(entry)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise MappingError(err["msg"], path=label, field=f"{where}.{loc}" if loc else where) from e


def _yaml_files(folder: Traversable) -> list[Traversable]:
    if not folder.is_dir():
        return []
    return sorted(
        (f for f in folder.iterdir() if f.name.endswith((".yaml", ".yml"))), key=lambda f: f.name
    )


def load_catalogue(kb: AttackKB, root: Traversable | None = None) -> Catalogue:
    """Load and validate the catalogue under ``root`` (default: the packaged ``mappings/``).

    The packaged catalogue is validated once per knowledge base and then reused.
    """
    if root is None:
        return _packaged_catalogue(kb)
    return _load_catalogue(kb, root)


@functools.lru_cache(maxsize=8)
def _packaged_catalogue(kb: AttackKB) -> Catalogue:
    # A memo of a pure function of immutable inputs (the KB and the packaged files).
    return _load_catalogue(kb, mappings_dir())


def _load_catalogue(kb: AttackKB, root: Traversable) -> Catalogue:
    states: list[State] = []
    for where, entry in _entries(root / "states.yaml", "mappings/states.yaml", "states"):
        states.append(_validate(State, entry, "mappings/states.yaml", where))
    steps: list[Step] = []
    step_files: dict[str, str] = {}
    for node in _yaml_files(root / "steps"):
        label = f"mappings/steps/{node.name}"
        for where, entry in _entries(node, label, "steps"):
            step = _validate(Step, entry, label, where)
            if step.id in step_files:
                raise MappingError(
                    f"duplicate step id {step.id!r} (also in {step_files[step.id]})", path=label
                )
            step_files[step.id] = label
            steps.append(step)
    controls: list[Control] = []
    control_files: dict[str, str] = {}
    for node in _yaml_files(root / "controls"):
        label = f"mappings/controls/{node.name}"
        for where, entry in _entries(node, label, "controls"):
            control = _validate(Control, entry, label, where)
            if control.id in control_files:
                raise MappingError(f"duplicate control id {control.id!r}", path=label)
            control_files[control.id] = label
            controls.append(control)
    catalogue = Catalogue(
        states=tuple(sorted(states, key=lambda s: s.id)),
        steps=tuple(sorted(steps, key=lambda s: s.id)),
        controls=tuple(sorted(controls, key=lambda c: c.id)),
    )
    _check(catalogue, kb, step_files, control_files)
    if (root / "coverage.yaml").is_file():
        load_coverage(kb, catalogue, root)  # every Containers technique reached or explained
    if (root / "coverage-atlas.yaml").is_file():
        load_atlas_coverage(kb, catalogue, root)  # every ATLAS technique reached or explained
    return catalogue


def _check(
    cat: Catalogue, kb: AttackKB, step_files: dict[str, str], control_files: dict[str, str]
) -> None:
    state_ids = {s.id for s in cat.states}
    scope_of = {s.id: s.scope for s in cat.states}
    entries = {s for s in state_ids if s.startswith("entry:")}
    granted: set[str] = set()
    for step in cat.steps:
        label = step_files[step.id]

        def fail(
            message: str,
            field: str,
            hint: str | None = None,
            _label: str = label,
            _id: str = step.id,
        ) -> None:
            raise MappingError(message, path=_label, field=f"{_id}.{field}", hint=hint)

        status = kb.status(step.technique)
        name = "ATLAS" if framework_of(step.technique) == "atlas" else "ATT&CK"
        if status.state == "unknown":
            fail(f"unknown {name} technique {step.technique}", "technique")
        if status.state == "revoked":
            fail(
                f"ATT&CK technique {step.technique} is revoked",
                "technique",
                f"use {status.replacement}",
            )
        if status.state == "deprecated":
            fail(f"{name} technique {step.technique} is deprecated", "technique")
        if (
            framework_of(step.technique) == "attack"  # ATLAS has no platforms
            and "Containers" not in kb.technique(step.technique).platforms
            and not step.platform_note
        ):
            fail(
                f"{step.technique} is not a Containers technique",
                "platform_note",
                "explain why the path needs it in platform_note",
            )
        states_all = [a[6:] for a in step.requires.all if a.startswith("state:")]
        if len(states_all) != 1 or any(a.startswith("state:") for a in step.requires.any):
            fail("a step starts from exactly one state, listed in requires.all", "requires")
        for name in states_all + list(step.granted_states):
            if name not in state_ids:
                fail(f"unknown state {name!r}", "requires/grants")
        if scope_of[states_all[0]] not in _VISIBLE[step.scope]:
            fail(
                f"a {step.scope} step cannot start from {scope_of[states_all[0]]} state {states_all[0]!r}",
                "scope",
            )
        if step.target is not None and step.target not in RELATIONS:
            fail(
                f"unknown target relation {step.target!r}", "target", f"one of {sorted(RELATIONS)}"
            )
        if step.target is None:
            for name in step.granted_states:
                if scope_of[name] not in _VISIBLE[step.scope]:
                    fail(
                        f"a {step.scope} step cannot grant {scope_of[name]} state {name!r}",
                        "grants",
                    )
        for fact in step.requires.all_facts + step.requires.any_facts:
            if not is_known_fact(fact):
                fail(f"unknown fact {fact!r}", "requires", "see docs/facts.md for the vocabulary")
        granted.update(step.granted_states)
    starts = {step.id: step.requires.state for step in cat.steps}  # each step's one state
    required = set(starts.values())
    for name in sorted(state_ids - entries):
        if name in required and name not in granted:
            raise MappingError(
                f"state {name!r} is required but no step grants it",
                path="mappings/states.yaml",
                field=name,
                hint="add a step that grants it, or remove the steps that require it",
            )
    # Every step must be reachable from an entry when facts are ignored.
    reached = set(entries)
    changed = True
    while changed:
        changed = False
        for step in cat.steps:
            if starts[step.id] in reached and not set(step.granted_states) <= reached:
                reached.update(step.granted_states)
                changed = True
    for step in cat.steps:
        if starts[step.id] not in reached:
            raise MappingError(
                f"step {step.id!r} can never fire: no path from an entry reaches {starts[step.id]!r}",
                path=step_files[step.id],
                field=f"{step.id}.requires",
            )
    for control in cat.controls:
        label = control_files[control.id]
        for mid in control.mitigations:
            st = kb.status(mid)
            if st.state != "live":
                hint = f"use {st.replacement}" if st.replacement else None
                raise MappingError(
                    f"{'ATLAS' if framework_of(mid) == 'atlas' else 'ATT&CK'} mitigation {mid} "
                    f"is {st.state}",
                    path=label,
                    field=f"{control.id}.mitigations",
                    hint=hint,
                )
        op = control.patch.get("op")
        if op not in PATCH_OPS:
            raise MappingError(
                f"unknown patch operation {op!r}",
                path=label,
                field=f"{control.id}.patch.op",
                hint=f"one of {sorted(PATCH_OPS)}",
            )
        if (control.parameter is None) != (control.for_each is None):
            raise MappingError(
                "'parameter' and 'for_each' go together", path=label, field=control.id
            )
        for atom in control.removes + control.adds:
            fact = atom[5:] if atom.startswith("fact:") else atom
            if not atom.startswith("fact:") or not is_known_fact(fact.replace("{arg}", "X")):
                raise MappingError(
                    f"unknown fact {atom!r}", path=label, field=f"{control.id}.removes/adds"
                )


# -- coverage: every Containers and ATLAS technique reached by a step, or the reason none can

COVERAGE_FILE = "mappings/coverage.yaml"
ATLAS_COVERAGE_FILE = "mappings/coverage-atlas.yaml"


@dataclass(frozen=True)
class Coverage:
    """Per Containers technique: the steps that reach it, or the reason none can."""

    reached: dict[str, tuple[str, ...]]  # technique -> step ids (sub-techniques' included)
    reasons: dict[str, str]  # technique -> why manifest analysis cannot reach it


def _reached(catalogue: Catalogue, framework: str) -> dict[str, set[str]]:
    """The ``framework`` techniques (and their parents) the catalogue's steps reach, each
    with the ids of the steps reaching it."""
    reached: dict[str, set[str]] = {}
    for step in catalogue.steps:
        if framework_of(step.technique) != framework:
            continue
        reached.setdefault(step.technique, set()).add(step.id)
        parent = parent_id(step.technique)
        if parent != step.technique:
            reached.setdefault(parent, set()).add(step.id)
    return reached


def _add_reason(
    reasons: dict[str, str],
    entry: object,
    *,
    known: Collection[str],
    not_known: str,
    reached: Mapping[str, set[str]],
    path: str,
    where: str,
    text: Callable[[str], str],
) -> None:
    """Check one ``{technique, reason}`` entry of a coverage file and add it to ``reasons``:
    a ``known`` technique no step reaches, stated once, with a reason (``text`` tidies it)."""
    if not isinstance(entry, dict) or set(entry) != {"technique", "reason"}:
        raise MappingError("expected {technique, reason}", path=path, field=where)
    tid, reason = str(entry["technique"]), text(str(entry["reason"]))
    if tid not in known:
        raise MappingError(f"{tid} {not_known}", path=path, field=where)
    if tid in reached:
        raise MappingError(
            f"{tid} is reached by {', '.join(sorted(reached[tid]))}; remove its reason",
            path=path,
            field=where,
        )
    if tid in reasons or not reason:
        raise MappingError(f"{tid}: duplicate or empty reason", path=path, field=where)
    reasons[tid] = reason


def load_coverage(kb: AttackKB, catalogue: Catalogue, root: Traversable | None = None) -> Coverage:
    """Join the catalogue with ``mappings/coverage.yaml``; refuse a technique that is both
    reached and excused, or neither, or not a Containers technique."""
    node = (root or mappings_dir()) / "coverage.yaml"
    try:
        # read on every analysis: parsed at build time (mappings/parsed.json) unless edited
        text = node.read_text(encoding="utf-8")
        data: Any = mapping_data(text)
    except (OSError, yaml.YAMLError) as e:
        raise MappingError(f"cannot read coverage reasons: {e}", path=COVERAGE_FILE) from e
    entries = data.get("not_reached") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise MappingError("expected a mapping with a 'not_reached' list", path=COVERAGE_FILE)
    techniques = {t.id for t in kb.techniques(platform="Containers")}
    reached = _reached(catalogue, "attack")
    reasons: dict[str, str] = {}
    for i, entry in enumerate(entries):
        _add_reason(
            reasons,
            entry,
            known=techniques,
            not_known="is not an ATT&CK Containers technique",
            reached=reached,
            path=COVERAGE_FILE,
            where=f"not_reached[{i}]",
            text=str.strip,
        )
    missing = sorted(techniques - set(reached) - set(reasons))
    if missing:
        raise MappingError(
            f"Containers techniques neither reached nor explained: {', '.join(missing)}",
            path=COVERAGE_FILE,
            hint="add a step that reaches them or a reason under not_reached",
        )
    return Coverage(
        reached={t: tuple(sorted(s)) for t, s in reached.items() if t in techniques},
        reasons=reasons,
    )


@dataclass(frozen=True)
class AtlasCoverage:
    """Per live ATLAS technique: the steps that reach it, or why none can (its own reason or
    the reason of one of its tactics)."""

    reached: dict[str, tuple[str, ...]]  # technique -> step ids (sub-techniques' included)
    reasons: dict[str, str]  # technique -> its own reason
    tactic_reasons: dict[str, str]  # ATLAS tactic shortname -> reason for its unreached ones


def load_atlas_coverage(
    kb: AttackKB, catalogue: Catalogue, root: Traversable | None = None
) -> AtlasCoverage:
    """Join the catalogue's ATLAS steps with ``mappings/coverage-atlas.yaml``; refuse a
    technique that is reached and has a reason of its own, an unknown technique or tactic,
    and a live ATLAS technique that is neither reached nor explained."""
    label = ATLAS_COVERAGE_FILE
    node = (root or mappings_dir()) / "coverage-atlas.yaml"
    try:
        # read on every analysis: parsed at build time (mappings/parsed.json) unless edited
        text = node.read_text(encoding="utf-8")
        data: Any = mapping_data(text)
    except (OSError, yaml.YAMLError) as e:
        raise MappingError(f"cannot read ATLAS coverage reasons: {e}", path=label) from e
    if (
        not isinstance(data, dict)
        or set(data) != {"tactics", "techniques"}
        or not isinstance(data["tactics"], dict)
        or not isinstance(data["techniques"], list)
    ):
        raise MappingError("expected a mapping of 'tactics' and a 'techniques' list", path=label)
    atlas = kb.atlas
    live = {t.id: t for t in atlas.techniques()}
    reached = _reached(catalogue, "atlas")
    names = {t.shortname for t in atlas.tactics()}
    tactic_reasons: dict[str, str] = {}
    for name, reason in data["tactics"].items():
        if name not in names:
            raise MappingError(
                f"unknown ATLAS tactic {name!r}", path=label, field=f"tactics.{name}"
            )
        if not str(reason or "").strip():
            raise MappingError("empty reason", path=label, field=f"tactics.{name}")
        tactic_reasons[str(name)] = " ".join(str(reason).split())
    reasons: dict[str, str] = {}
    for i, entry in enumerate(data["techniques"]):
        _add_reason(
            reasons,
            entry,
            known=live,
            not_known="is not a live ATLAS technique",
            reached=reached,
            path=label,
            where=f"techniques[{i}]",
            text=lambda r: " ".join(r.split()),
        )
    missing = sorted(
        tid
        for tid, tech in live.items()
        if tid not in reached
        and tid not in reasons
        and not any(x in tactic_reasons for x in tech.tactics)
    )
    if missing:
        raise MappingError(
            f"ATLAS techniques neither reached nor explained: {', '.join(missing)}",
            path=label,
            hint="add a step that reaches them, or a reason (of the technique or its tactic)",
        )
    return AtlasCoverage(
        reached={t: tuple(sorted(s)) for t, s in reached.items() if t in live},
        reasons=reasons,
        tactic_reasons=tactic_reasons,
    )
