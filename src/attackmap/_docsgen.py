"""Reference documentation generated from data (``docs/reference/``), without I/O.

:func:`generate` returns ``{file name: markdown}``; ``attackmap docs --out-dir DIR`` writes it and
a test checks the committed ``docs/reference/`` is byte-identical to it. Every table is
derived from the catalogue (``mappings/``), the ATT&CK knowledge base, the Pod Security check
table and the engine's own fact derivation — nothing technique-related is written by hand.

Which controls can break a step is decided the way the engine decides ``broken_by``, on
*witnesses*: the small fact sets that fire the step (one per way of meeting each derived
requirement: root or ``allowPrivilegeEscalation`` for a capability, each hostPath class...).
A control can break the step when, alone, it stops the step firing in some witness.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from attackmap._resources import mappings_dir
from attackmap._severity import LEVELS, Severities, load_severities
from attackmap.attack import AttackKB
from attackmap.attack._models import framework_of, tactic_rank
from attackmap.errors import MappingError
from attackmap.graph import Catalogue, Step, load_catalogue
from attackmap.graph._catalogue import load_atlas_coverage, load_coverage
from attackmap.graph._facts import (
    ContainerFacts,
    DeriveOptions,
    classify_hostpaths,
    derive,
    is_known_fact,
)
from attackmap.model import LINUX_CAPABILITIES, RUNTIME_DEFAULT_CAPABILITIES
from attackmap.seccomp import REQUIRED_CAPABILITIES

__all__ = [
    "NimOption",
    "capability_matrix",
    "generate",
    "load_nim_options",
    "nim_option_steps",
    "step_breakers",
    "step_witnesses",
]

NIM_OPTIONS_FILE = "mappings/nim-options.yaml"

# What a pod with nothing special gives (no NetworkPolicy, no seccomp/AppArmor field, the
# node's default runtime and user namespace).
_NEUTRAL = frozenset(
    {
        "seccomp:unset",
        "apparmor:unset",
        "long_running",
        "netpol:ingress_open",
        "netpol:egress_open",
        "host_kernel",
        "host_users",
    }
)
# The same pod isolated by NetworkPolicies both ways.
_ISOLATED = frozenset(
    {
        "seccomp:unset",
        "apparmor:unset",
        "long_running",
        "netpol:ingress_isolated",
        "netpol:egress_isolated",
        "host_kernel",
        "host_users",
    }
)
# hostPaths tried, in order, to realise a ``host_mount:<class>`` requirement.
_HOSTPATH_CANDIDATES = (
    "hostpath:/etc:ro",
    "hostpath:/var/log:ro",
    "hostpath:/var/log:rw",
    "hostpath:/var/lib/kubelet/pods:ro",
    "hostpath:/proc/sys:rw",
    "hostpath:/run/containerd/containerd.sock:ro",
    "hostpath:/opt/data:rw",
    "hostpath:/:rw",
)


def _derive(base: frozenset[str]) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    container = ContainerFacts(
        name="c",
        kind="regular",
        facts=base,
        seccomp_type=None,
        seccomp_localhost=None,
        apparmor_type=None,
        apparmor_localhost=None,
    )
    facts, because, _ = derive(base, container, DeriveOptions())
    return facts, because


def _alternatives(atom: str) -> list[frozenset[str]]:
    """Ways of making the fact ``atom`` hold, each a set of base facts."""
    family, _, arg = atom.partition(":")
    if family == "cap":
        return [frozenset({f"cap_add:{arg}"}), frozenset({"privileged"})]
    if family == "cap_usable":
        return [
            frozenset({f"cap_add:{arg}", "uid_root"}),
            frozenset({f"cap_add:{arg}", "allow_privilege_escalation"}),
            frozenset({"privileged"}),
        ]
    if family == "syscall":
        caps = REQUIRED_CAPABILITIES.get(arg, ())
        alts = [frozenset({f"cap_add:{c}", "uid_root"}) for c in caps]
        alts += [frozenset({f"cap_add:{c}", "allow_privilege_escalation"}) for c in caps[:1]]
        return (
            [*alts, frozenset({"privileged"})] if caps else [frozenset(), frozenset({"uid_root"})]
        )
    if family == "host_mount":
        return [
            frozenset({p}) for p in _HOSTPATH_CANDIDATES if atom in classify_hostpaths([p])
        ] or [frozenset({atom})]
    if family == "rbac":
        return [frozenset({f"rbac_sa:{arg}"})]
    if atom == "exposed:external":
        return [frozenset({"route:external"}), frozenset({"route:host"})]
    if atom in ("apparmor:allows_mount", "apparmor:allows_ptrace", "reachable:cluster"):
        return [frozenset()]
    if atom in ("egress:open", "egress:metadata", "ingress:pods"):
        return [frozenset()]  # a plain pod has no NetworkPolicy
    if atom == "egress:pods":  # ... and another workload serves a port
        return [frozenset({"pod_network:reaches"})]
    if atom == "rootfs:writable":  # mounted read-write, or remountable (privileged)
        return [
            frozenset({"rootfs:rw"}),
            frozenset({"cap_add:SYS_ADMIN", "uid_root", "apparmor:Unconfined"}),
            frozenset({"privileged"}),
        ]
    return [frozenset({atom})]


def step_witnesses(catalogue: Catalogue) -> dict[str, tuple[frozenset[str], ...]]:
    """Per step, the base fact sets (over a plain pod) that fire it, sorted; a step whose
    requirements cannot be met this way raises :class:`MappingError`."""
    out: dict[str, tuple[frozenset[str], ...]] = {}
    for step in catalogue.steps:
        groups = [_alternatives(a) for a in step.requires.all_facts]
        if step.requires.any_facts:
            groups.append([alt for a in step.requires.any_facts for alt in _alternatives(a)])
        found: set[frozenset[str]] = set()
        for combo in itertools.product(*groups):
            base = _NEUTRAL.union(*combo)
            if step.fires(_derive(base)[0]):
                found.add(base)
        if not found:
            raise MappingError(
                f"no configuration of a plain pod fires step {step.id!r}",
                path="mappings/steps",
                field=step.id,
                hint="teach attackmap._docsgen._alternatives how to realise its facts",
            )
        out[step.id] = tuple(sorted(found, key=lambda s: (len(s), sorted(s))))
    return out


def _breaks(catalogue: Catalogue, step: Step, base: frozenset[str]) -> set[str]:
    facts, because = _derive(base)
    enabling = step.enabling_facts(facts)
    relevant = set(enabling)
    for fact in enabling:
        relevant.update(because.get(fact, ()))
    found: set[str] = set()
    for control in catalogue.controls:
        args: Iterable[str | None] = control.args_for(relevant) if control.parameter else (None,)
        for arg in args:
            ci = control.instantiate(arg)
            if not relevant - ci.transform(frozenset(relevant)):
                continue  # removes none of the facts the step relies on
            if not step.fires(_derive(ci.transform(base))[0]):
                found.add(control.id)
    return found


def step_breakers(catalogue: Catalogue) -> dict[str, tuple[str, ...]]:
    """Per step, the controls that alone stop it firing in at least one of its witnesses."""
    witnesses = step_witnesses(catalogue)
    out: dict[str, tuple[str, ...]] = {}
    for step in catalogue.steps:
        found: set[str] = set()
        for base in witnesses[step.id]:
            found |= _breaks(catalogue, step, base)
        out[step.id] = tuple(sorted(found))
    return out


# -- capabilities ------------------------------------------------------------------------


@dataclass(frozen=True)
class CapabilityUse:
    """A step a capability opens, under which seccomp mode, and what else it needs."""

    capability: str
    step: str
    technique: str
    seccomp: tuple[str, ...]  # "Unconfined" and/or "RuntimeDefault"
    also_needs: tuple[str, ...]  # markdown: the step's other requirements


def _required_atoms(step: Step) -> tuple[str, ...]:
    return step.requires.all_facts + step.requires.any_facts


def capability_matrix(catalogue: Catalogue) -> dict[str, tuple[CapabilityUse, ...]]:
    """Every Linux capability -> the steps it opens (empty: no step needs it).

    A capability opens a step when adding it to a root container that drops every other
    capability gives a fact the step requires (``cap:``, ``cap_usable:``, or an escape
    syscall the seccomp mode then lets through), under seccomp ``Unconfined`` or
    ``RuntimeDefault``; a step requiring a syscall whose kernel check is that capability
    (:data:`attackmap.seccomp.REQUIRED_CAPABILITIES`) counts too.
    """
    modes = {"Unconfined": "seccomp:unset", "RuntimeDefault": "seccomp:RuntimeDefault"}
    out: dict[str, tuple[CapabilityUse, ...]] = {}
    for cap in LINUX_CAPABILITIES:
        per_step: dict[str, tuple[set[str], set[str]]] = {}
        for mode, fact in modes.items():
            base = (_NEUTRAL - {"seccomp:unset"}) | {fact, "uid_root", "cap_drop:ALL"}
            without = _derive(base)[0]
            gained = _derive(base | {f"cap_add:{cap}"})[0] - without - {f"cap_add:{cap}"}
            for step in catalogue.steps:
                atoms = _required_atoms(step)
                hit = {a for a in atoms if a in gained}
                hit |= {
                    a
                    for a in atoms
                    if a.startswith("syscall:") and cap in REQUIRED_CAPABILITIES.get(a[8:], ())
                }
                if hit:
                    modes_seen, used = per_step.setdefault(step.id, (set(), set()))
                    modes_seen.add(mode)
                    used |= hit
        uses = []
        for sid, (modes_seen, used) in sorted(per_step.items()):
            step = catalogue.step(sid)
            others = [f"`{a}`" for a in step.requires.all_facts if a not in used]
            any_facts = step.requires.any_facts
            if any_facts and not any(a in used for a in any_facts):
                others.append("one of " + ", ".join(f"`{a}`" for a in any_facts))
            uses.append(
                CapabilityUse(
                    capability=cap,
                    step=sid,
                    technique=step.technique,
                    seccomp=tuple(m for m in modes if m in modes_seen),
                    also_needs=tuple(others),
                )
            )
        out[cap] = tuple(uses)
    return out


# -- NIM options -------------------------------------------------------------------------


@dataclass(frozen=True)
class NimOption:
    """A NIM deployment option and the facts it gives the workload."""

    option: str
    where: str
    facts: tuple[str, ...]
    note: str


def load_nim_options(root: Traversable | None = None) -> tuple[NimOption, ...]:
    """Read and validate ``nim-options.yaml`` under ``root`` (default: the packaged
    ``mappings/``): every fact must belong to the vocabulary (``FACT_FAMILIES``)."""
    node = (root or mappings_dir()) / "nim-options.yaml"
    try:
        data: Any = yaml.safe_load(node.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise MappingError(f"cannot read NIM options: {e}", path=NIM_OPTIONS_FILE) from e
    entries = data.get("options") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise MappingError("expected a mapping with an 'options' list", path=NIM_OPTIONS_FILE)
    out: list[NimOption] = []
    for i, entry in enumerate(entries):
        where = f"options[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"option", "where", "facts", "note"}:
            raise MappingError(
                "expected {option, where, facts, note}", path=NIM_OPTIONS_FILE, field=where
            )
        facts = entry["facts"]
        if not isinstance(facts, list) or not facts:
            raise MappingError("facts: a non-empty list", path=NIM_OPTIONS_FILE, field=where)
        for fact in facts:
            if not isinstance(fact, str) or "*" in fact or not is_known_fact(fact):
                raise MappingError(
                    f"unknown fact {fact!r}",
                    path=NIM_OPTIONS_FILE,
                    field=f"{where}.facts",
                    hint="see docs/facts.md (FACT_FAMILIES) for the vocabulary",
                )
        out.append(
            NimOption(
                option=str(entry["option"]),
                where=str(entry["where"]),
                facts=tuple(str(f) for f in facts),
                note=" ".join(str(entry["note"]).split()),
            )
        )
    return tuple(out)


def nim_option_steps(catalogue: Catalogue, option: NimOption) -> tuple[tuple[Step, str], ...]:
    """The steps an option's facts enable (directly, or through facts the engine derives
    from them on a plain pod, open or isolated by NetworkPolicies) with the facts each
    step still needs; a row enabling no step raises :class:`MappingError`."""
    given = frozenset(option.facts)
    gained: set[str] = set(given)
    for baseline in (_NEUTRAL, _ISOLATED):
        gained |= _derive(baseline | given)[0] - _derive(baseline)[0]
    out: list[tuple[Step, str]] = []
    for step in catalogue.steps:
        atoms = _required_atoms(step)
        if not any(a in gained for a in atoms):
            continue
        others = [f"`{a}`" for a in step.requires.all_facts if a not in gained]
        if step.requires.any_facts and not any(a in gained for a in step.requires.any_facts):
            others.append("one of " + ", ".join(f"`{a}`" for a in step.requires.any_facts))
        out.append((step, ", ".join(others) or "-"))
    if not out:
        raise MappingError(
            f"{option.option!r} enables no attack step",
            path=NIM_OPTIONS_FILE,
            hint="give it facts a step uses, or remove the row",
        )
    return tuple(out)


# -- rendering ---------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _header(title: str, source: str, intro: str) -> list[str]:
    return [
        f"# {title}",
        "",
        f"Generated from {source} by `attackmap docs` (`attackmap._docsgen`); do not edit.",
        "",
        intro,
        "",
    ]


def _technique_label(kb: AttackKB, tid: str) -> str:
    return f"{tid} {kb.technique(tid).name}"


def _techniques_md(kb: AttackKB, cat: Catalogue, sev: Severities) -> str:
    cov = load_coverage(kb, cat)
    techniques = sorted(kb.techniques(platform="Containers"), key=lambda t: t.id)
    extra = sorted(
        {s.technique for s in cat.steps if framework_of(s.technique) == "attack"}
        - {t.id for t in techniques}
    )  # steps with a platform note (ATLAS techniques: atlas.md)
    lines = _header(
        "Techniques by tactic",
        "`mappings/steps`, `mappings/severity.yaml` and the bundled ATT&CK " + kb.version,
        "Every ATT&CK Containers technique, by tactic, with its severity (for "
        "`attackmap analyze --fail-on SEVERITY`) and the steps that reach it. A technique's "
        "severity is its own entry in `mappings/severity.yaml` (a sub-technique inherits its "
        "parent's), else the highest of its tactics'. Levels, lowest first: "
        + ", ".join(f"`{lv}`" for lv in LEVELS)
        + ".",
    )
    tactics = sorted({tac for t in techniques for tac in t.tactics}, key=tactic_rank)
    for tactic in tactics:
        lines += [
            f"## {tactic} (default {sev.tactics.get(tactic, 'info')})",
            "",
            "| technique | severity | reached by |",
            "|---|---|---|",
        ]
        for t in techniques:
            if tactic not in t.tactics:
                continue
            how = (
                ", ".join(f"`{s}`" for s in cov.reached[t.id])
                if t.id in cov.reached
                else "not reached (see coverage)"
            )
            lines.append(f"| {t.id} {_cell(t.name)} | {sev.of(t.id, t.tactics)} | {how} |")
        lines.append("")
    if extra:
        lines += [
            "## Outside the Containers platform",
            "",
            "Reached on a path although not listed for Containers (each step says why).",
            "",
            "| technique | severity | reached by |",
            "|---|---|---|",
        ]
        for tid in extra:
            t = kb.technique(tid)
            steps = ", ".join(f"`{s.id}`" for s in cat.steps_for_technique(tid))
            lines.append(f"| {tid} {_cell(t.name)} | {sev.of(tid, t.tactics)} | {steps} |")
        lines.append("")
    return "\n".join(lines)


def _capabilities_md(kb: AttackKB, cat: Catalogue) -> str:
    matrix = capability_matrix(cat)
    unused_default = sorted(c for c in RUNTIME_DEFAULT_CAPABILITIES if not matrix.get(c))
    lines = _header(
        "Capabilities and techniques",
        "`mappings/steps`, `attackmap.seccomp.REQUIRED_CAPABILITIES` and the engine's fact "
        "derivation",
        "Every Linux capability and the attack steps it opens, found by adding it to a root "
        "container that drops every other capability and seeing which facts the engine derives "
        "(`cap:`, `cap_usable:`, escape syscalls the seccomp mode lets through). A capability "
        "is usable only by root or through a setuid binary when `allowPrivilegeEscalation` is "
        "not false; a privileged container holds all of them. *also needs* lists the step's "
        "other requirements.",
    )
    lines += [
        "**Runtime default set** (containerd, CRI-O, moby grant these unless dropped): "
        + ", ".join(f"`{c}`" for c in sorted(RUNTIME_DEFAULT_CAPABILITIES))
        + ". Of these, no attack step needs "
        + ", ".join(f"`{c}`" for c in unused_default)
        + ": dropping them does not change the reachable techniques, and Pod Security "
        "restricted still asks for `drop: [ALL]` (adding back only `NET_BIND_SERVICE`, needed "
        "only to bind ports below 1024; NIM serves on 8000 as uid 1000).",
        "",
        "| capability | default | technique | step | seccomp | also needs |",
        "|---|---|---|---|---|---|",
    ]
    for cap in LINUX_CAPABILITIES:
        default = "yes" if cap in RUNTIME_DEFAULT_CAPABILITIES else ""
        uses = matrix[cap]
        if not uses:
            lines.append(f"| `{cap}` | {default} | no step | | | |")
            continue
        for u in uses:
            needs = ", ".join(u.also_needs) or "-"
            lines.append(
                f"| `{cap}` | {default} | {_technique_label(kb, u.technique)} | `{u.step}` "
                f"| {', '.join(u.seccomp)} | {needs} |"
            )
    lines.append("")
    return "\n".join(lines)


def _steps_by_control(
    cat: Catalogue, breakers: Mapping[str, tuple[str, ...]]
) -> dict[str, list[Step]]:
    out: dict[str, list[Step]] = {c.id: [] for c in cat.controls}
    for step in cat.steps:
        for cid in breakers[step.id]:
            out[cid].append(step)
    return out


def _controls_md(kb: AttackKB, cat: Catalogue, breakers: Mapping[str, tuple[str, ...]]) -> str:
    by_control = _steps_by_control(cat, breakers)
    lines = _header(
        "Controls, techniques, mitigations and Pod Security checks",
        "`mappings/controls`, `mappings/steps` and the bundled ATT&CK " + kb.version,
        "Each control: the ATT&CK mitigations and Pod Security checks it corresponds to and "
        "the techniques whose steps it can break (alone, in some configuration that fires the "
        "step; `attackmap explain <control>` shows the steps).",
    )
    lines += [
        "| control | mitigations | Pod Security checks | breaks techniques |",
        "|---|---|---|---|",
    ]
    for c in cat.controls:
        mits = ", ".join(f"{m} {kb.mitigation(m).name}" for m in c.mitigations) or "-"
        checks = ", ".join(f"`{p}`" for p in c.pss_checks) or "-"
        techs = sorted({s.technique for s in by_control[c.id]})
        shown = ", ".join(_technique_label(kb, t) for t in techs) or "none alone"
        lines.append(f"| `{c.id}` {_cell(c.title)} | {mits} | {checks} | {_cell(shown)} |")
    lines.append("")
    return "\n".join(lines)


def _atlas_md(
    kb: AttackKB, cat: Catalogue, sev: Severities, breakers: Mapping[str, tuple[str, ...]]
) -> str:
    atlas = kb.atlas
    cov = load_atlas_coverage(kb, cat)
    by_control = _steps_by_control(cat, breakers)
    lines = _header(
        "MITRE ATLAS: techniques by tactic, controls and mitigations",
        f"`mappings/steps/atlas.yaml`, `mappings/controls`, `mappings/severity.yaml` and the "
        f"bundled ATLAS {atlas.version}",
        "The AI-system techniques (ATLAS, `AML.T…`) the catalogue reaches, by ATLAS tactic (in "
        "ATLAS matrix order), with their severity and steps; then each control with the ATLAS "
        "mitigations it implements and the ATLAS techniques whose steps it can break. Why the "
        "other ATLAS techniques are not reached: [coverage](../coverage.md#mitre-atlas-coverage).",
    )
    reached = [atlas.technique(t) for t in sorted(cov.reached)]
    for tactic in atlas.tactics():
        rows = [t for t in reached if tactic.shortname in t.tactics]
        if not rows:
            continue
        lines += [
            f"## {tactic.name} ({tactic.id}, `{tactic.shortname}`)",
            "",
            "| technique | severity | reached by |",
            "|---|---|---|",
        ]
        for t in rows:
            steps = ", ".join(f"`{x}`" for x in cov.reached[t.id])
            lines.append(f"| {t.id} {_cell(t.name)} | {sev.of(t.id, t.tactics)} | {steps} |")
        lines.append("")
    lines += [
        "## Controls × ATLAS mitigations",
        "",
        "| control | ATLAS mitigations | breaks ATLAS techniques |",
        "|---|---|---|",
    ]
    for c in cat.controls:
        mits = [m for m in c.mitigations if framework_of(m) == "atlas"]
        techs = sorted(
            {x.technique for x in by_control[c.id] if framework_of(x.technique) == "atlas"}
        )
        if not mits and not techs:
            continue
        shown_mits = ", ".join(f"{m} {kb.mitigation(m).name}" for m in mits) or "-"
        shown = ", ".join(_technique_label(kb, t) for t in techs) or "none alone"
        lines.append(f"| `{c.id}` {_cell(c.title)} | {_cell(shown_mits)} | {_cell(shown)} |")
    lines += [
        "",
        "Rate limits and quotas on the inference API (AML.M0004 Restrict Number of AI Model "
        "Queries) and model signing or verification at load time (AML.M0013 Code Signing, "
        "AML.M0014 Verify AI Artifacts) live in gateways, pipelines and model servers' "
        "configuration, not in the manifests attackmap reads: no control claims them.",
        "",
    ]
    return "\n".join(lines)


def _pss_md(kb: AttackKB, cat: Catalogue, breakers: Mapping[str, tuple[str, ...]]) -> str:
    from attackmap.pss import CHECKS

    by_control = _steps_by_control(cat, breakers)
    lines = _header(
        "Pod Security checks and techniques",
        "`attackmap.pss.CHECKS` and the controls' `pss_checks` in `mappings/controls`",
        "Each Pod Security Standards check, the controls that satisfy it, and the techniques "
        "those controls can break: what enforcing the check buys against ATT&CK.",
    )
    lines += [
        "| check | level | title | controls | techniques |",
        "|---|---|---|---|---|",
    ]
    for check in sorted(CHECKS, key=lambda c: (LEVELS_PSS.index(c.level), c.id)):
        controls = [c for c in cat.controls if check.id in c.pss_checks]
        techs = sorted({s.technique for c in controls for s in by_control[c.id]})
        lines.append(
            f"| `{check.id}` | {check.level} | {_cell(check.title)} | "
            + (", ".join(f"`{c.id}`" for c in controls) or "no control")
            + " | "
            + (_cell(", ".join(_technique_label(kb, t) for t in techs)) or "-")
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


LEVELS_PSS = ("baseline", "restricted")


def _nim_md(kb: AttackKB, cat: Catalogue) -> str:
    lines = _header(
        "NIM deployment options and techniques",
        f"`{NIM_OPTIONS_FILE}` and `mappings/steps`",
        "Options of the nim-llm Helm chart and the NIM Operator's NIMService, the facts each "
        "gives the workload (the row's data), and the attack steps those facts enable — "
        "derived from the catalogue, with what else each step needs.",
    )
    for opt in load_nim_options():
        lines += [
            f"## {opt.option}",
            "",
            f"*{_cell(opt.where)}* — {_cell(opt.note)}",
            "",
            "Facts: " + ", ".join(f"`{f}`" for f in opt.facts),
            "",
            "| technique | step | also needs |",
            "|---|---|---|",
        ]
        for step, needs in nim_option_steps(cat, opt):
            lines.append(f"| {_technique_label(kb, step.technique)} | `{step.id}` | {needs} |")
        lines.append("")
    return "\n".join(lines)


def _catalogue_md(kb: AttackKB, cat: Catalogue, breakers: Mapping[str, tuple[str, ...]]) -> str:
    lines = _header(
        "Rule catalogue",
        "`mappings/states.yaml`, `mappings/steps` and `mappings/controls`",
        "Every attack step (what the attacker needs, what they gain, why, and the controls "
        "that can break it) and every control (the facts it removes, its ATT&CK mitigations "
        "and the change that applies it).",
    )
    lines += ["## Steps", ""]
    for step in cat.steps:
        req = ", ".join(f"`{a}`" for a in step.requires.all)
        if step.requires.any:
            req += "; one of " + ", ".join(f"`{a}`" for a in step.requires.any)
        lines += [
            f"### `{step.id}`",
            "",
            f"**{_cell(step.title)}** — {_technique_label(kb, step.technique)} "
            f"({', '.join(kb.technique(step.technique).tactics)}), scope {step.scope}",
            "",
            f"- requires: {req}",
            f"- grants: {', '.join(f'`{g}`' for g in step.grants) or 'nothing further'}",
            f"- broken by: {', '.join(f'`{c}`' for c in breakers[step.id]) or 'no control (only upstream steps)'}",
        ]
        if step.platform_note:
            lines.append(f"- platform note: {_cell(step.platform_note)}")
        lines += [
            "",
            _cell(step.rationale),
            "",
            *(f"- <{r}>" for r in step.references),
            "",
        ]
    lines += ["## Controls", ""]
    for c in cat.controls:
        mits = ", ".join(f"{m} {kb.mitigation(m).name}" for m in c.mitigations) or "none"
        lines += [
            f"### `{c.id}`",
            "",
            f"**{_cell(c.title)}**",
            "",
            f"- removes: {', '.join(f'`{a}`' for a in c.removes) or '-'}",
            f"- adds: {', '.join(f'`{a}`' for a in c.adds) or '-'}",
            f"- ATT&CK mitigations: {mits}",
            f"- Pod Security checks: {', '.join(f'`{p}`' for p in c.pss_checks) or '-'}",
            f"- patch: `{c.patch.get('op')}`",
            "",
            _cell(c.rationale),
            "",
            *(f"- <{r}>" for r in c.references),
            *([""] if c.references else []),
        ]
    return "\n".join(lines)


PAGES: tuple[tuple[str, str], ...] = (
    ("techniques.md", "Techniques by tactic, with severity and the steps reaching them"),
    ("capabilities.md", "Every Linux capability and the techniques it enables"),
    ("controls.md", "Controls × techniques × ATT&CK mitigations × Pod Security checks"),
    ("atlas.md", "MITRE ATLAS techniques by tactic, and controls × ATLAS mitigations"),
    ("pss-checks.md", "Pod Security checks and the techniques they cut"),
    ("nim-options.md", "NIM deployment options and the techniques they open"),
    ("catalogue.md", "The rule catalogue: steps and controls"),
)


def _index_md(kb: AttackKB) -> str:
    lines = _header(
        "Reference",
        "the catalogue under `mappings/` and the bundled ATT&CK " + kb.version,
        "Tables generated from data; `make test` fails when they drift from `mappings/`. "
        "Regenerate with `attackmap docs --out-dir docs/reference/`.",
    )
    lines += [f"- [{title}]({name})" for name, title in PAGES]
    lines.append("")
    return "\n".join(lines)


def generate(kb: AttackKB | None = None) -> dict[str, str]:
    """The reference pages, ``{file name: markdown}`` (sorted by name)."""
    if kb is None:
        from attackmap.attack import load_attack

        kb = load_attack()
    cat = load_catalogue(kb)
    sev = load_severities(kb)
    breakers = step_breakers(cat)
    pages = {
        "index.md": _index_md(kb),
        "techniques.md": _techniques_md(kb, cat, sev),
        "capabilities.md": _capabilities_md(kb, cat),
        "controls.md": _controls_md(kb, cat, breakers),
        "atlas.md": _atlas_md(kb, cat, sev, breakers),
        "pss-checks.md": _pss_md(kb, cat, breakers),
        "nim-options.md": _nim_md(kb, cat),
        "catalogue.md": _catalogue_md(kb, cat, breakers),
    }
    return dict(sorted(pages.items()))
