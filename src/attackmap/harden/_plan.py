"""Hardening: the graph engine's minimal controls, applied to the manifests and verified.

1. analyse the manifests with the goals; read the audited needs (``_needs``);
2. per workload, pick controls that break every path to a goal (the engine's minimal set
   first), never one that would take away an audited need;
3. apply them to round-trip documents (``attackmap.graph._patches``), re-analyse the
   *written text*, and add controls for paths the first choice missed (a few rounds);
4. with ``level``, add the controls Pod Security at that level asks for (same rule on needs);
5. verify: goals unreachable, PSS level before/after, remaining techniques.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attackmap._args import as_strings
from attackmap.attack import within_goals
from attackmap.errors import HardenError
from attackmap.harden._goals import goal_paths
from attackmap.harden._needs import Need, blocking_need, read_needs
from attackmap.harden._profiles import (
    KUBELET_DIR,
    kubelet_files,
    read_recordings,
    recorded_needs,
)
from attackmap.harden._redact import redact, secret_values
from attackmap.harden._result import (
    AppliedControl,
    Conflict,
    OutputFile,
    Verification,
    WorkloadVerification,
)
from attackmap.harden._source import SourceFile, dump, join, read_sources

logger = logging.getLogger(__name__)

LEVELS = ("baseline", "restricted")
MAX_ROUNDS = 4

# Pod Security check -> controls that fix it (``{cap}``/``{path}`` filled from the pod).
_LEVEL_CONTROLS: dict[str, tuple[str, ...]] = {
    "privileged": ("unprivileged",),
    "capabilities_baseline": ("drop-capability:{cap}",),
    "capabilities_restricted": ("drop-all-capabilities",),
    "hostPathVolumes": ("remove-hostpath:{path}",),
    "restrictedVolumes": ("remove-hostpath:{path}",),
    "hostPorts": ("no-host-network",),
    "runAsNonRoot": ("run-as-non-root",),
    "runAsUser": ("run-as-non-root",),
    "allowPrivilegeEscalation": ("no-privilege-escalation",),
    "seccompProfile_baseline": ("seccomp-runtime-default",),
    "seccompProfile_restricted": ("seccomp-runtime-default",),
    "appArmorProfile": ("apparmor-runtime-default",),
}


@dataclass
class _Applied:
    files: list[OutputFile]
    added: list[Any]
    context: dict[str, Any] | None
    controls: list[AppliedControl]
    texts: list[tuple[str, str]] = field(default_factory=list)  # (path, text) to re-analyse


def _goal_sets(report: Any, goals: tuple[str, ...]) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """workload -> [(path label, broken_by)] for every path to a goal."""
    out: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for ref, p, label in goal_paths(report, goals):
        out.setdefault(ref, []).append((label, frozenset(p.broken_by)))
    return out


def _cover(sets: list[frozenset[str]], seed: Sequence[str]) -> list[str]:
    """Controls meeting every set: ``seed`` first, then greedily the most useful."""
    chosen = [c for c in seed if any(c in s for s in sets)]
    left = [s for s in sets if not (s & set(chosen))]
    while left:
        universe = sorted(set().union(*left))
        best = min(universe, key=lambda c: (-sum(1 for s in left if c in s), c))
        chosen.append(best)
        left = [s for s in left if best not in s]
    return chosen


def _fact_controls(catalogue: Any, path_facts: set[str]) -> list[str]:
    """Catalogue controls whose ``removes`` match a fact of the path (ignoring kinds)."""
    out = []
    for control in catalogue.controls:
        for pattern in control.removes:
            pat = pattern.removeprefix("fact:").replace("{arg}", "*")
            if any(fnmatch.fnmatchcase(f, pat) for f in path_facts):
                out.append(control.id)
                break
    return sorted(set(out))


def _kind_reason(report: Any, workload: str, label: str, catalogue: Any) -> str:
    """Why a goal path has no applicable control (the workload's kind lacks the field)."""
    w = report.workload(workload)
    facts: set[str] = set()
    for t in w.techniques:
        for p in t.paths:
            if label.endswith(" > ".join(s.id for s in p.steps)):
                for s in p.steps:
                    for f in s.facts:
                        facts.update(x.strip() for x in f.fact.split("<-"))
    would = _fact_controls(catalogue, facts)
    kind = workload.split("/", 1)[0]
    text = f"{label}: no control applicable to a {kind} breaks it"
    if would:
        text += f" (would need {', '.join(would)}, which a {kind} spec cannot express"
        if kind == "NIMService":
            text += (
                "; harden with render_deployment to emit the operator-rendered Deployment instead"
            )
        if kind == "NIMCache":
            text += (
                "; the cache Job needs the NGC key to download the model, by design of the pattern"
            )
        text += ")"
    return text


#: Controls that take away what a workload needs to work, applied only when asked for by
#: name (``allow``): control -> what it breaks and what to do first. A minimal set prefers
#: the other controls that break the same paths; when none does, the goal stays reachable
#: and the verification says why.
ASK_BY_NAME = {
    "remove-credential-env": "it removes the credentials in the environment (a NIM's "
    "NGC_API_KEY, needed to download its model): pre-cache the model (a NIMCache job or a "
    "pre-populated PVC), then ask for it with --allow remove-credential-env",
}


def _secret_notes(base: Any, controls: list[str]) -> list[str]:
    """What ``credential-env-from-secret`` asks of the user: the Secret to create, with
    the keys the workload now reads (the values are those the input manifest held)."""
    from attackmap.graph._patches import credential_secret_name

    notes = []
    inventory = base._require_analyzer().inventory
    for control in sorted(controls):
        name, _, target = control.partition("@")
        if name != "credential-env-from-secret":
            continue
        workload = inventory.workload(target)
        if workload is None:
            continue
        keys = sorted(
            {
                e.name
                for c in workload.pod.containers
                for e in c.env
                if e.source == "literal" and e.has_value and e.credential_like
            }
        )
        secret = credential_secret_name(workload)
        literals = " ".join(f"--from-literal={k}=<value of {k} in the input>" for k in keys)
        notes.append(
            f"credential-env-from-secret@{target}: {', '.join(keys)} now read from Secret "
            f"{secret}, which attackmap does not write (it would hold the value): create it "
            f"before applying (kubectl -n {workload.namespace} create secret generic {secret} "
            f"{literals}); until it exists the pod does not start (CreateContainerConfigError)"
        )
    return notes


class _Hardener:
    def __init__(
        self,
        files: list[SourceFile],
        *,
        goals: tuple[str, ...],
        level: str | None,
        context: Any,
        needs: tuple[Need, ...],
        allow: tuple[str, ...] = (),
    ) -> None:
        self.files = files
        self.goals = goals
        self.level = level
        self.context = context
        self.needs = needs
        self.allow = allow
        self.withheld: dict[str, str] = {}  # control instance -> why it was not applied
        self.conflicts: dict[tuple[str, str], Conflict] = {}
        # every secret value of the inputs, hidden wherever a diff shows it (see _redact)
        self.secrets = secret_values(join(f.head, f.chunks) for f in files)
        self.blocked: dict[str, list[str]] = {}
        self.reasons: dict[str, str] = {}
        self.seccomp_root: str | None = None
        """Where generated Localhost profiles are, for the analyses (``_profiles``)."""

    # -- analysis --------------------------------------------------------------------------

    def analyze(self, texts: list[tuple[str, str]], context: Any) -> Any:
        import attackmap

        return attackmap.analyze(
            _parsed(texts), goals=list(self.goals), context=context, seccomp_root=self.seccomp_root
        )

    # -- applying --------------------------------------------------------------------------

    def apply(self, base: Any, controls: list[str]) -> _Applied:
        """Apply ``controls`` (one at a time, for per-control diffs) to fresh documents."""
        from attackmap.graph._patches import apply_controls_logged

        analyzer = base._require_analyzer()
        per_file = [f.fresh_docs() for f in self.files]
        docs: list[Any] = [d for ds in per_file for d in ds]
        originals = {id(d) for d in docs}
        before = {id(d): dump(d) for d in docs}
        snapshot = dict(before)
        applied: list[AppliedControl] = []
        context: dict[str, Any] | None = None
        for cid in controls:
            ci, target = analyzer.control_instance(cid)
            changes: list[str] = []
            context = apply_controls_logged(
                docs, analyzer.inventory, analyzer.fb, [(ci, target)], changes
            )
            diff_parts: list[str] = []
            now = {id(d): dump(d) for d in docs}
            for d in docs:
                old, new = snapshot.get(id(d), ""), now[id(d)]
                if old != new:
                    name = self._doc_label(d)
                    # secrets redacted on both sides, line for line: context lines too
                    old, new = redact(old, self.secrets), redact(new, self.secrets)
                    diff_parts.extend(
                        difflib.unified_diff(
                            old.splitlines(True),
                            new.splitlines(True),
                            f"a/{name}",
                            f"b/{name}",
                            n=2,
                        )
                    )
            for key in set(snapshot) - set(now):
                first = redact(snapshot[key], self.secrets).splitlines()[0:1]
                diff_parts.append(f"--- removed document: {first}\n")
            snapshot = now
            applied.append(
                AppliedControl(
                    control=cid,
                    title=str(ci.title),
                    reason=self.reasons.get(cid, ""),
                    changes=tuple(c.split(": ", 1)[1] if ": " in c else c for c in changes),
                    diff="".join(diff_parts),
                )
            )
        present = {id(d) for d in docs}
        outputs: list[OutputFile] = []
        texts: list[tuple[str, str]] = []
        for f, fdocs in zip(self.files, per_file, strict=True):
            chunks = []
            for chunk, d in zip(f.chunks, fdocs, strict=True):
                if id(d) not in present:
                    continue  # removed by a control (e.g. a public Ingress)
                chunks.append(chunk if snapshot[id(d)] == before[id(d)] else snapshot[id(d)])
            text = join(f.head, chunks)
            original = join(f.head, f.chunks)
            outputs.append(OutputFile(source=f.path, name=f.name, text=text, original=original))
            texts.append((f.path, text))
        added = [d for d in docs if id(d) not in originals]
        _unique_names(added, docs)
        if added:
            texts.append(("attackmap-added.yaml", join("", [dump(d) for d in added])))
        changed_context = None
        if context is not None and any(c.startswith("upgrade-nvidia") for c in controls):
            changed_context = dict(context)
        return _Applied(outputs, added, changed_context, applied, texts)

    @staticmethod
    def _doc_label(doc: Any) -> str:
        meta = doc.get("metadata") or {}
        ns = meta.get("namespace")
        return f"{doc.get('kind')}/{ns + '/' if ns else ''}{meta.get('name')}"

    # -- choosing --------------------------------------------------------------------------

    def allowed(self, cid: str, blocks: str) -> bool:
        base = cid.split("@", 1)[0].split(":", 1)[0]
        if base in ASK_BY_NAME and base not in self.allow:
            self.withheld[cid] = (
                f"{base}, applied only when asked for by name ({ASK_BY_NAME[base]})"
            )
            return False
        need = blocking_need(cid, self.needs)
        if need is None:
            return True
        self.conflicts[need.need + need.workload, cid] = Conflict(
            need=need, control=cid, blocks=blocks
        )
        return False

    def goal_controls(self, base: Any) -> list[str]:
        """Controls breaking every goal path, verified by re-analysis of the written text."""
        seed = [c for w in base.workloads for m in w.minimal_controls for c in m.controls]
        sets: dict[str, list[tuple[str, frozenset[str]]]] = _goal_sets(base, self.goals)
        chosen: list[str] = []
        report = base
        catalogue = base._require_analyzer().catalogue
        for _ in range(MAX_ROUNDS):
            usable: list[frozenset[str]] = []
            for wkey, paths in sorted(sets.items()):
                for label, broken_by in paths:
                    goal = label.split(" ", 1)[0]
                    ok = frozenset(c for c in broken_by if self.allowed(c, f"goal {goal}"))
                    if ok:
                        usable.append(ok)
                    elif broken_by:
                        needs = sorted(
                            {
                                cf.need.label()
                                for cf in self.conflicts.values()
                                if cf.control in broken_by
                            }
                            | {self.withheld[c] for c in broken_by if c in self.withheld}
                        )
                        self._block(wkey, f"{label}: kept by {', '.join(needs)}")
                    else:
                        self._block(wkey, _kind_reason(report, wkey, label, catalogue))
            new = [c for c in _cover(usable, [*chosen, *seed]) if c not in chosen]
            if not new:
                break
            for c in new:
                hit = sorted(
                    {lb.split(" ", 1)[0] for ps in sets.values() for lb, bb in ps if c in bb}
                )
                self.reasons.setdefault(c, "breaks the paths to " + ", ".join(hit or self.goals))
            chosen.extend(new)
            applied = self.apply(base, sorted(chosen))
            report = self.analyze(applied.texts, applied.context or self.context)
            sets = _goal_sets(report, self.goals)
            seed = []
        return sorted(chosen)

    def explain(self, report: Any) -> dict[str, list[str]]:
        """Why each goal path of ``report`` is open (the reasons ``goal_controls`` found were
        for the manifests before the recorded profiles were set: the paths may differ)."""
        catalogue = report._require_analyzer().catalogue
        out: dict[str, list[str]] = {
            w: [r for r in rs if r.startswith("level")] for w, rs in self.blocked.items()
        }
        for wkey, paths in sorted(_goal_sets(report, self.goals).items()):
            for label, broken_by in paths:
                goal = label.split(" ", 1)[0]
                ok = sorted(c for c in broken_by if self.allowed(c, f"goal {goal}"))
                if ok:
                    reason = (
                        f"{label}: opened by the recorded profile; not applied: {', '.join(ok)}"
                    )
                elif broken_by:
                    needs = sorted(
                        {
                            cf.need.label()
                            for cf in self.conflicts.values()
                            if cf.control in broken_by
                        }
                    )
                    reason = f"{label}: kept by {', '.join(needs)}"
                else:
                    reason = _kind_reason(report, wkey, label, catalogue)
                found = out.setdefault(wkey, [])
                if reason not in found:
                    found.append(reason)
        return out

    def _block(self, wkey: str, reason: str) -> None:
        found = self.blocked.setdefault(wkey, [])
        if reason not in found:
            found.append(reason)

    def level_controls(self, report: Any) -> list[str]:
        """Controls Pod Security ``level`` asks for, for every workload that fails it."""
        from attackmap import pss
        from attackmap.graph._patches import _norm_path

        assert self.level is not None
        analyzer = report._require_analyzer()
        out: list[str] = []
        for w in analyzer.inventory.workloads:
            result = pss.evaluate(w, self.level)
            for v in result.violations:
                for template in _LEVEL_CONTROLS.get(v.check, ()):
                    names: list[str] = []
                    if "{cap}" in template:
                        from attackmap.model import RUNTIME_DEFAULT_CAPABILITIES

                        for c in w.pod.containers:
                            for cap in c.capabilities.add if c.capabilities else ():
                                if cap not in RUNTIME_DEFAULT_CAPABILITIES:
                                    names.append(template.format(cap=cap))
                    elif "{path}" in template:
                        for vol in w.pod.volumes:
                            if vol.type == "hostPath" and vol.path is not None:
                                names.append(template.format(path=_norm_path(vol.path)))
                    else:
                        names.append(template)
                    for name in names:
                        cid = f"{name}@{w.ref}"
                        if not self._applicable(analyzer, cid):
                            self._block(
                                str(w.ref),
                                f"level {self.level}: {v.check} needs {name}, not applicable to a {w.ref.kind}",
                            )
                            continue
                        if self.allowed(cid, f"level {self.level}") and cid not in out:
                            out.append(cid)
                            self.reasons.setdefault(cid, f"Pod Security {self.level}: {v.check}")
        return out

    def admission_controls(self, report: Any, profiled: set[tuple[str, str]]) -> list[str]:
        """``seccomp-runtime-default`` (pod level) for every workload a tailored policy will
        pin to a profile: not privileged, a container without a recorded profile of its own
        (those get their Localhost profile over it) and not yet confined."""
        analyzer = report._require_analyzer()
        out: list[str] = []
        for w in analyzer.inventory.workloads:
            containers = [
                c
                for c in w.pod.containers
                if c.kind != "ephemeral" and (str(w.ref), c.name) not in profiled
            ]
            if not containers or any(c.privileged for c in w.pod.containers):
                continue
            if all(
                c.seccomp_profile and c.seccomp_profile.type in ("RuntimeDefault", "Localhost")
                for c in containers
            ):
                continue
            cid = f"seccomp-runtime-default@{w.ref}"
            if self._applicable(analyzer, cid) and self.allowed(cid, "admission"):
                out.append(cid)
                self.reasons.setdefault(
                    cid, "admission: the tailored policy pins a seccomp profile (RuntimeDefault)"
                )
        return out

    @staticmethod
    def _applicable(analyzer: Any, cid: str) -> bool:
        from attackmap.graph._patches import applicable

        ci, target = analyzer.control_instance(cid)
        workload = analyzer.inventory.workload(target)
        return workload is not None and applicable(ci, workload.ref)


def _unique_names(added: list[Any], docs: list[Any]) -> None:
    """Rename added objects whose kind/namespace/name another document already has.

    Works around ``_patches.isolate_ingress``/``restrict_egress`` naming a NetworkPolicy
    ``<workload name>-ingress``: a NIMCache and a NIMService usually share a name.
    """
    seen: set[tuple[str, str, str]] = set()
    for d in docs:
        if any(d is a for a in added):
            continue
        meta = d.get("metadata") or {}
        seen.add((str(d.get("kind")), str(meta.get("namespace")), str(meta.get("name"))))
    for d in added:
        meta = d.get("metadata")
        if not isinstance(meta, dict):
            continue
        key = (str(d.get("kind")), str(meta.get("namespace")), str(meta.get("name")))
        n = 2
        while key in seen:
            key = (key[0], key[1], f"{meta.get('name')}-{n}")
            n += 1
        meta["name"] = key[2]
        seen.add(key)


def _techniques(report: Any) -> dict[str, tuple[str, ...]]:
    return {str(w.ref): w.technique_ids() for w in report.workloads}


def _pss_levels(report: Any) -> dict[str, str]:
    from attackmap import pss

    inventory = report._require_analyzer().inventory
    return {str(w.ref): pss.lowest_level(w) for w in inventory.workloads}


def harden(
    sources: str | Path | Sequence[str | Path],
    *,
    goals: Sequence[str] = ("T1611",),
    level: str | None = None,
    audit: str | Path | Sequence[str | Path] | None = None,
    context: Any = None,
    render_deployment: bool = False,
    allow: Sequence[str] | str = (),
    admission: str | Sequence[str] | None = None,
    seccomp: Mapping[str, Any] | None = None,
) -> Any:
    """Harden the manifests in ``sources`` against ``goals`` and verify by re-analysis.

    ``level``: ``baseline`` or ``restricted`` also applies the controls Pod Security at that
    level asks for (``None``: only report the level reached). ``audit``: API-server audit
    logs; what they show the workloads need is kept, and each conflict reported.
    ``context``: a ClusterContext (path or mapping). ``render_deployment``: replace each
    NIMService by the Deployment (and Service) the operator would render, so pod-template
    controls can be applied (the NIM Operator then no longer manages the workload).
    ``allow``: controls (:data:`ASK_BY_NAME`) that stop a workload from working unless
    something is done first (``remove-credential-env``), applied only when named here.
    ``admission``: ``vap`` and/or ``kyverno``: also emit a tailored admission policy per
    workload (``_admission``; its verification cases in ``HardenResult.admission``).
    ``seccomp``: recordings, ``{"Kind/namespace/name[:container]": recording}``: each
    container gets the Localhost profile generated from its recording (``_profiles``).
    Returns a :class:`HardenResult`.
    """
    from attackmap.harden._outcome import HardenResult
    from attackmap.harden._render import render_nimservices

    if level is not None and level not in LEVELS:
        raise HardenError(
            f"unknown level {level!r}", field="level", hint="use baseline or restricted"
        )
    goals = as_strings(goals, "goals")
    if not goals:
        raise HardenError("no goal technique given", field="goals", hint="e.g. T1611")
    paths = [sources] if isinstance(sources, (str, Path)) else list(sources)
    files = read_sources(paths)
    base = _analyze_files(files, goals, context)
    copies = sorted((w.ref for w in base.workloads if w.ref.origin), key=str)
    if copies:  # docs/model.md, "Objects defined twice": a patch needs one definition
        raise HardenError(
            f"{copies[0].model_copy(update={'origin': None})} is defined differently in "
            f"several files ({', '.join(str(c.origin) for c in copies)}): harden "
            "cannot tell which one to patch",
            path=paths[0] if len(paths) == 1 else None,
            hint="harden one variant at a time (one of the files, or one render)",
        )
    goal_ids = tuple(sorted({base._require_analyzer().kb.technique(g).id for g in goals}))
    notes: list[str] = []
    if render_deployment:
        files, rendered = render_nimservices(files, base._require_analyzer().inventory)
        notes.extend(rendered)
        if rendered:
            base = _analyze_files(files, goal_ids, context)
    engines = _engines(admission)
    profiles = read_recordings(seccomp, base._require_analyzer().inventory) if seccomp else []
    needs: tuple[Need, ...] = ()
    if audit is not None:
        logs = [audit] if isinstance(audit, (str, Path)) else list(audit)
        templates = {
            str(w.ref): w.pod_template for w in base._require_analyzer().inventory.workloads
        }
        needs, audit_notes = read_needs(logs, templates)
        notes.extend(audit_notes)
    if profiles:
        needs = tuple(
            sorted([*needs, *recorded_needs(profiles)], key=lambda n: (n.workload, n.need))
        )
    allowed = as_strings(allow, "allow")
    for name in allowed:
        if name not in ASK_BY_NAME:
            raise HardenError(
                f"{name!r} is not a control that must be asked for by name",
                field="allow",
                hint=f"one of {', '.join(sorted(ASK_BY_NAME))}",
            )
    h = _Hardener(files, goals=goal_ids, level=level, context=context, needs=needs, allow=allowed)
    chosen = h.goal_controls(base)
    applied = h.apply(base, chosen)
    after_goals = h.analyze(applied.texts, applied.context or context)
    level_chosen: list[str] = []
    final = after_goals
    if level is not None:
        for _ in range(2):
            extra = [
                c for c in h.level_controls(final) if c not in chosen and c not in level_chosen
            ]
            if not extra:
                break
            level_chosen.extend(extra)
            applied = h.apply(base, sorted([*chosen, *level_chosen]))
            final = h.analyze(applied.texts, applied.context or context)
    if engines:
        extra = [
            c
            for c in h.admission_controls(final, {(p.workload, p.container) for p in profiles})
            if c not in chosen and c not in level_chosen
        ]
        if extra:
            level_chosen.extend(extra)
            applied = h.apply(base, sorted([*chosen, *level_chosen]))
            final = h.analyze(applied.texts, applied.context or context)
    controls = sorted([*chosen, *level_chosen])
    tailored = None
    injected: list[AppliedControl] = []
    pre_injection: _Applied | None = None
    with tempfile.TemporaryDirectory(prefix="attackmap-seccomp-") as root:
        if profiles:
            # the generated profiles where the kubelet would find them, for the analyses
            for name, text in kubelet_files(profiles).items():
                target = Path(root) / Path(name).relative_to(KUBELET_DIR)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            h.seccomp_root = root
            pre_injection = applied
            applied, injected = _inject(applied, profiles, h, notes)
            final = h.analyze(applied.texts, applied.context or context)
        blocked = h.explain(final) if profiles else h.blocked
        verification = _verify(base, after_goals, final, goal_ids, level, blocked)
        if engines:
            tailored = _admission(
                h,
                base,
                final,
                controls,
                injected,
                profiles,
                engines,
                pre_injection=pre_injection,
            )
    if any(c.startswith("remove-credential-env") for c in chosen + level_chosen):
        notes.append(
            "remove-credential-env: the serving pod no longer gets NGC_API_KEY; the model must be "
            "pre-cached (a NIMCache job or a pre-populated PVC) before it starts"
        )
    notes.extend(_secret_notes(base, [*chosen, *level_chosen]))
    for p in profiles:
        notes.extend(f"seccomp profile {p.name}: {w}" for w in p.warnings)
    if profiles and not engines:
        spaces = sorted({p.workload.split("/")[1] for p in profiles})
        notes.append(
            "the ProfileBindings apply only in namespaces labelled spo.x-k8s.io/enable-binding "
            f"(kubectl label namespace {' '.join(spaces)} spo.x-k8s.io/enable-binding=); with "
            "--admission the emitted namespaces carry the label"
        )
    return HardenResult(
        documents=tuple(applied.files),
        added=tuple(dump(d) for d in applied.added),
        changes=tuple(sorted([*applied.controls, *injected], key=lambda c: c.control)),
        verification=verification,
        needs=needs,
        conflicts=tuple(
            sorted(h.conflicts.values(), key=lambda c: (c.need.workload, c.need.need, c.control))
        ),
        notes=tuple(notes),
        context=None if applied.context is None else dump(copy.deepcopy(applied.context)),
        profiles=tuple(profiles),
        admission=tailored,
    )


def _inject(
    applied: _Applied, profiles: Sequence[Any], h: _Hardener, notes: list[str]
) -> tuple[_Applied, list[AppliedControl]]:
    """``applied`` with the recorded containers' Localhost profiles set (``_profiles``)."""
    from attackmap.harden._profiles import inject

    files, changes, missing = inject(applied.files, profiles, h.secrets)
    for m in missing:
        if m not in notes:
            notes.append(m)
    texts = dict(applied.texts)
    for f in files:
        texts[f.source] = f.text
    return (
        _Applied(files, applied.added, applied.context, applied.controls, list(texts.items())),
        changes,
    )


def _admission(
    h: _Hardener,
    base: Any,
    final: Any,
    controls: list[str],
    injected: list[AppliedControl],
    profiles: Sequence[Any],
    engines: tuple[str, ...],
    *,
    pre_injection: _Applied | None,
) -> Any:
    """The tailored policies and their verification cases (``_tailored``)."""
    import attackmap
    from attackmap.harden._source import _plain
    from attackmap.harden._tailored import build_admission, widened_documents

    inventory = base._require_analyzer().inventory

    def without(control: str) -> Any:
        if control.startswith("seccomp-localhost@"):
            assert pre_injection is not None
            texts = pre_injection.texts
        else:
            applied = h.apply(base, [c for c in controls if c != control])
            if profiles:
                applied, _ = _inject(applied, profiles, h, [])
            texts = applied.texts
        return attackmap.load(*_parsed(texts), context=h.context)

    documents = [_plain(d) for f in h.files for d in f.docs]

    def widened(level: str) -> Any:
        return attackmap.analyze(
            widened_documents(documents, inventory, level),
            goals=list(h.goals),
            context=h.context,
        )

    return build_admission(
        engines=engines,
        base=base,
        final=final,
        controls=controls,
        injected=[c.control for c in injected],
        profiles=profiles,
        goals=h.goals,
        without=without,
        widened=widened,
    )


def _engines(admission: str | Sequence[str] | None) -> tuple[str, ...]:
    from attackmap.harden._admission import ENGINES

    asked = [admission] if isinstance(admission, str) else list(admission or ())
    for engine in asked:
        if engine not in ENGINES:
            raise HardenError(
                f"unknown admission engine {engine!r}",
                field="admission",
                hint=f"use {' or '.join(ENGINES)}",
            )
    return tuple(e for e in ENGINES if e in asked)


def _analyze_files(files: list[SourceFile], goals: Sequence[str], context: Any) -> Any:
    import attackmap

    return attackmap.analyze(
        _parsed([(f.path, join(f.head, f.chunks)) for f in files]),
        goals=list(goals),
        context=context,
    )


def _parsed(texts: list[tuple[str, str]]) -> list[Any]:
    """Each (path, text) parsed into documents that keep their file name and lines."""
    from attackmap.model._yaml import parse_text

    return [doc for path, text in texts for doc in parse_text(text, path)]


def _reached_goals(goals: tuple[str, ...], techniques: Sequence[str]) -> tuple[str, ...]:
    """The goals some technique of ``techniques`` reaches (itself or a sub-technique)."""
    return tuple(g for g in goals if any(within_goals(t, (g,)) for t in techniques))


def _verify(
    base: Any,
    after_goals: Any,
    final: Any,
    goals: tuple[str, ...],
    level: str | None,
    blocked: dict[str, list[str]],
) -> Verification:
    before_t, mid_t, after_t = _techniques(base), _techniques(after_goals), _techniques(final)
    before_l, after_l = _pss_levels(base), _pss_levels(final)
    rows = []
    rank = {"privileged": 0, "baseline": 1, "restricted": 2}
    for key in sorted(after_t):
        remaining = _reached_goals(goals, after_t[key])
        reasons = tuple(
            r
            for r in blocked.get(key, [])
            if within_goals(r.split(" ", 1)[0], remaining) or r.startswith("level")
        )
        rows.append(
            WorkloadVerification(
                workload=key,
                goals_before=_reached_goals(goals, before_t.get(key, ())),
                goals_after=remaining,
                blocked=reasons,
                pss_before=before_l.get(key, ""),
                pss_after=after_l.get(key, ""),
                techniques_before=before_t.get(key, ()),
                techniques_after=after_t[key],
                removed_by_level=tuple(t for t in mid_t.get(key, ()) if t not in after_t[key]),
            )
        )
    met = level is None or all(rank[r.pss_after] >= rank[level] for r in rows if r.pss_after)
    return Verification(goals=goals, level=level, workloads=tuple(rows), level_met=met)
