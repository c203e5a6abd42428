"""Assembling the tailored admission of a hardening run: policies, cases, paths, comparison.

Called by :func:`attackmap.harden.harden` once the manifests are hardened (and the recorded
profiles injected). Everything here is read off analyses attackmap already made, plus:

* one hardening without each applied control (the *mutation* cases: that privilege re-added);
* per Pod Security level, one analysis of the widest pod of each workload the level admits
  (:func:`widen`), for the side-by-side comparison.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attackmap.harden._admission import (
    ENGINES,
    KYVERNO_FILE,
    NAMESPACE_FILE,
    PSA_CONFIG_FILE,
    VAP_FILE,
    AdmissionCase,
    AdmissionResult,
    Comparison,
    PathKept,
    WorkloadPolicy,
    build_policy,
    build_rules,
    kyverno_document,
    namespace_documents,
    pod_object,
    vap_documents,
)
from attackmap.harden._goals import goal_paths
from attackmap.harden._profiles import InjectedProfile

# Pod Security's own tables: what baseline and restricted let a container add
from attackmap.pss._table import DEFAULT_CAPABILITIES, RESTRICTED_ADDABLE_CAPABILITY

ADMISSION_SUMMARY = "ADMISSION.md"

#: Controls that change no pod field: a pod policy cannot keep them.
_NOT_POD = {
    "isolate-ingress": "a NetworkPolicy",
    "restrict-egress": "a NetworkPolicy",
    "internal-service-only": "the Service/Ingress",
    "enforce-baseline-namespaces": "namespace labels",
    "block-pod-metadata-access": "the nodes' metadata settings",
    "upgrade-nvidia-container-toolkit": "the node software",
}


def _target(control: str) -> str:
    return control.rpartition("@")[2]


def _pod_controls(policy: WorkloadPolicy, controls: Sequence[str]) -> list[str]:
    """The applied controls on the policy's workload that a rule keeps."""
    return [
        c
        for c in controls
        if _target(c) == policy.workload and policy.keeping(c.rpartition("@")[0])
    ]


def _denying(policy: WorkloadPolicy, controls: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({r.id for c in controls for r in policy.keeping(c.rpartition("@")[0])}))


def build_admission(
    *,
    engines: Sequence[str],
    base: Any,
    final: Any,
    controls: Sequence[str],
    injected: Sequence[str],
    profiles: Sequence[InjectedProfile],
    goals: Sequence[str],
    without: Callable[[str], Any],
    widened: Callable[[str], Any],
    notes: Sequence[str] = (),
) -> AdmissionResult:
    """``base``/``final``: the reports before and after hardening; ``controls`` the applied
    control ids; ``injected`` the ``seccomp-localhost@...`` changes; ``without(c)`` the
    inventory hardened without control ``c``; ``widened(level)`` the report of every
    workload widened to what Pod Security ``level`` admits."""
    from attackmap import pss

    before = base._require_analyzer().inventory
    after = final._require_analyzer().inventory
    policies: list[WorkloadPolicy] = []
    cases: list[AdmissionCase] = []
    applied = [*controls, *injected]
    for w in sorted(after.workloads, key=lambda w: str(w.ref)):
        ref = str(w.ref)
        original = before.workload(ref)
        rules = build_rules(ref, w.pod_template, original.pod_template if original else None)
        policy = build_policy(w, pss.lowest_level(w), rules)
        policies.append(policy)
        mine = _pod_controls(policy, applied)
        if original is not None:
            denied = _denying(policy, mine)
            cases.append(
                AdmissionCase(
                    workload=ref,
                    name="original",
                    pod=pod_object(w, original.pod_template),
                    admitted=not denied,
                    denied_by=denied,
                )
            )
        cases.append(
            AdmissionCase(
                workload=ref, name="hardened", pod=pod_object(w, w.pod_template), admitted=True
            )
        )
        for c in mine:
            inventory = without(c)
            mutated = inventory.workload(ref) if inventory is not None else None
            if mutated is None:
                continue
            cases.append(
                AdmissionCase(
                    workload=ref,
                    name=f"without {c.rpartition('@')[0]}",
                    pod=pod_object(w, mutated.pod_template),
                    admitted=False,
                    denied_by=_denying(policy, [c]),
                )
            )
    by_ref = {p.workload: p for p in policies}
    paths = _paths_kept(base, goals, set(applied), by_ref)
    comparisons, names = _comparisons(policies, final, widened)
    files, ns_notes = _files(engines, policies, after, profiles)
    return AdmissionResult(
        engines=tuple(e for e in ENGINES if e in engines),
        policies=tuple(policies),
        cases=tuple(cases),
        paths=paths,
        comparisons=comparisons,
        techniques=names,
        files=files,
        notes=(*notes, *ns_notes),
    )


def _paths_kept(
    base: Any, goals: Sequence[str], applied: set[str], policies: Mapping[str, WorkloadPolicy]
) -> tuple[PathKept, ...]:
    out: list[PathKept] = []
    for ref, p, label in goal_paths(base, goals):
        broke = sorted(set(p.broken_by) & applied)
        if not broke:
            continue
        kept: list[str] = []
        for c in broke:
            name, _, target = c.rpartition("@")
            policy = policies.get(target)
            rules = policy.keeping(name) if policy else ()
            if policy is not None and rules:
                kept.extend(f"{policy.name}: {r.id}" for r in rules)
            else:
                what = _NOT_POD.get(name.split(":", 1)[0], "no pod field")
                kept.append(f"{c}: {what}, not a pod field (guard it with RBAC)")
        out.append(
            PathKept(
                workload=ref, path=label, controls=tuple(broke), kept_by=tuple(sorted(set(kept)))
            )
        )
    return tuple(sorted(out, key=lambda k: (k.workload, k.path)))


def _comparisons(
    policies: Sequence[WorkloadPolicy], final: Any, widened: Callable[[str], Any]
) -> tuple[tuple[Comparison, ...], dict[str, str]]:
    reports = {lv: widened(lv) for lv in sorted({p.level for p in policies} | {"restricted"})}
    names: dict[str, str] = {}

    def ids(report: Any, ref: str) -> tuple[str, ...]:
        by_ref = {str(w.ref): w for w in report.workloads}
        w = by_ref.get(ref) or by_ref.get(_as_pod(ref))
        if w is None:
            return ()
        for t in w.techniques:
            names[t.technique.id] = t.technique.name
        return tuple(w.technique_ids())

    rows = [
        Comparison(
            workload=p.workload,
            level=p.level,
            pss_alone=ids(reports[p.level], p.workload),
            restricted_alone=ids(reports["restricted"], p.workload),
            tailored=ids(final, p.workload),
        )
        for p in policies
    ]
    return tuple(rows), dict(sorted(names.items()))


def _files(
    engines: Sequence[str],
    policies: Sequence[WorkloadPolicy],
    after: Any,
    profiles: Sequence[InjectedProfile],
) -> tuple[dict[str, str], list[str]]:
    from attackmap.harden._render import dump_plain

    def stream(docs: list[dict[str, Any]]) -> str:
        return "---\n".join(dump_plain(d) for d in docs)

    files: dict[str, str] = {}
    templates = {str(w.ref): w.pod_template for w in after.workloads}
    if "vap" in engines:
        files[VAP_FILE] = stream([d for p in policies for d in vap_documents(p)])
    if "kyverno" in engines:
        files[KYVERNO_FILE] = stream([kyverno_document(p, templates[p.workload]) for p in policies])
    ns_docs, config, notes = namespace_documents(policies, engines)
    if config is not None:
        # an API-server configuration file, not an object: merged into the one the API
        # server reads (--admission-control-config-file), never applied with kubectl
        files[PSA_CONFIG_FILE] = dump_plain(config)
    bound = {p.workload.split("/")[1] for p in profiles}
    for doc in ns_docs:
        if doc["kind"] == "Namespace" and doc["metadata"]["name"] in bound:
            # security-profiles-operator binds profiles only in namespaces labelled so
            doc["metadata"]["labels"]["spo.x-k8s.io/enable-binding"] = ""
    if ns_docs:
        files[NAMESPACE_FILE] = stream(ns_docs)
    return dict(sorted(files.items())), notes


# -- the widest pod a Pod Security level admits ---------------------------------------------------


def widen(template: Mapping[str, Any], level: str) -> dict[str, Any]:
    """The pod template as wide as Pod Security ``level`` lets its author make it: what the
    level does not govern (token, environment, mounts, ServiceAccount) stays as it is."""
    out = copy.deepcopy(dict(template))
    spec = out.setdefault("spec", {})
    psc = spec.setdefault("securityContext", {})
    containers = [
        c
        for key in ("initContainers", "containers")
        for c in spec.get(key) or ()
        if isinstance(c, dict)
    ]
    if level == "privileged":
        for key in ("hostPID", "hostNetwork", "hostIPC"):
            spec[key] = True
        spec.setdefault("volumes", []).append(
            {"name": "attackmap-host-root", "hostPath": {"path": "/"}}
        )
        psc.update({"runAsUser": 0, "seccompProfile": {"type": "Unconfined"}})
        psc.pop("runAsNonRoot", None)
        for c in containers:
            c["securityContext"] = {
                "privileged": True,
                "allowPrivilegeEscalation": True,
                "runAsUser": 0,
            }
            c.setdefault("volumeMounts", []).append(
                {"name": "attackmap-host-root", "mountPath": "/host"}
            )
        return out
    for key in ("hostPID", "hostNetwork", "hostIPC"):
        spec.pop(key, None)
    hostpaths = {
        v.get("name") for v in spec.get("volumes") or () if isinstance(v, dict) and "hostPath" in v
    }
    if hostpaths:
        spec["volumes"] = [v for v in spec["volumes"] if v.get("name") not in hostpaths]
    for c in containers:
        if hostpaths:
            c["volumeMounts"] = [
                m for m in c.get("volumeMounts") or () if m.get("name") not in hostpaths
            ]
        for p in c.get("ports") or ():
            if isinstance(p, dict):
                p.pop("hostPort", None)
    if level == "baseline":
        psc.pop("seccompProfile", None)  # unset: Unconfined unless the kubelet defaults it
        psc.pop("runAsNonRoot", None)
        psc["runAsUser"] = 0
        for c in containers:
            c["securityContext"] = {
                "allowPrivilegeEscalation": True,
                "runAsUser": 0,
                "capabilities": {"add": sorted(DEFAULT_CAPABILITIES)},
            }
        return out
    psc.update({"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}})
    if psc.get("runAsUser") in (None, 0):
        psc["runAsUser"] = 1000
    for c in containers:
        c["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": [RESTRICTED_ADDABLE_CAPABILITY]},
        }
    return out


def _as_pod(ref: str) -> str:
    """The Pod standing in for a workload kind without a pod template (``widened_documents``)."""
    kind, ns, name = ref.split("/", 2)
    return f"Pod/{ns}/{name}-{kind.lower()}"


def widened_documents(documents: Sequence[Any], inventory: Any, level: str) -> list[Any]:
    """``documents`` (plain mappings) with every workload's pod template widened to
    ``level``; a kind without a pod template (a NIMService, a NIMCache) becomes a Pod
    (:func:`_as_pod`) carrying the template the operator renders."""
    templates = {str(w.ref): w.pod_template for w in inventory.workloads}
    out: list[Any] = []
    for doc in documents:
        if not isinstance(doc, dict):
            out.append(doc)
            continue
        meta = doc.get("metadata") or {}
        ref = f"{doc.get('kind')}/{meta.get('namespace') or 'default'}/{meta.get('name')}"
        template = templates.get(ref)
        if template is None:
            out.append(doc)
            continue
        wide = widen(template, level)
        doc = copy.deepcopy(doc)
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else None
        if doc.get("kind") == "Pod":
            doc["spec"] = wide.get("spec")
        elif spec is not None and isinstance(spec.get("template"), dict):
            spec["template"] = wide
        elif spec is not None and isinstance((spec.get("jobTemplate") or {}).get("spec"), dict):
            spec["jobTemplate"]["spec"]["template"] = wide
        else:
            _, ns, name = _as_pod(ref).split("/", 2)
            doc = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {**(wide.get("metadata") or {}), "name": name, "namespace": ns},
                "spec": wide.get("spec") or {},
            }
        out.append(doc)
    return out


# -- ADMISSION.md ----------------------------------------------------------------------------------


def comparison_table(result: AdmissionResult, c: Comparison) -> list[str]:
    """The side-by-side table of one workload (Markdown lines)."""
    lines = [
        f"| technique | PSS {c.level} alone | PSS restricted alone "
        f"| PSS {c.level} + tailored policy + profile |",
        "|---|---|---|---|",
    ]
    every = sorted(set(c.pss_alone) | set(c.restricted_alone) | set(c.tailored))
    for t in every:
        cells = [
            "yes" if t in col else "-" for col in (c.pss_alone, c.restricted_alone, c.tailored)
        ]
        lines.append(f"| {t} {result.techniques.get(t, '')} | " + " | ".join(cells) + " |")
    lines.append(
        f"| **total** | {len(c.pss_alone)} | {len(c.restricted_alone)} | {len(c.tailored)} |"
    )
    return lines


def admission_markdown(result: AdmissionResult) -> str:
    """Per workload: the policy's rules, the side-by-side comparison, what keeps each path broken."""
    md = ["# Tailored admission (attackmap harden --admission)", ""]
    md.append(
        f"Engines: {', '.join(result.engines)}. Files: {', '.join(result.files) or 'none'}. "
        "Apply the namespaces, the profiles and the policies before the workloads."
    )
    md.append("")
    for c in result.comparisons:
        policy = result.policy(c.workload)
        md.append(f"## {c.workload}")
        md.append("")
        md.append(
            f"Policy `{policy.name}` (namespace `{policy.namespace}`, labels "
            f"{', '.join(f'`{k}={v}`' for k, v in policy.match_labels.items()) or 'none'}); "
            f"the hardened pod reaches Pod Security `{c.level}`."
        )
        md.append("")
        md.extend(comparison_table(result, c))
        md.append("")
        md.append("Rules (each names the field it checks):")
        md.append("")
        md.extend(f"- `{r.id}`: {r.message}" for r in policy.rules)
        md.append("")
        kept = [k for k in result.paths if k.workload == c.workload]
        if kept:
            md.append("Goal paths hardening broke, and what keeps each broken:")
            md.append("")
            for k in kept:
                md.append(
                    f"- {k.path}: broken by {', '.join(k.controls)}; kept by {'; '.join(k.kept_by)}"
                )
            md.append("")
    if result.notes:
        md.append("## Notes")
        md.append("")
        md.extend(f"- {n}" for n in result.notes)
        md.append("")
    return "\n".join(md)
