"""Profile injection: a recorded container's generated seccomp profile, delivered three ways.

A recording (security-profiles-operator ``ProfileRecording`` output, Inspektor Gadget's
``advise seccomp-profile``, or plain syscall names) becomes a least-privilege ``Localhost``
profile (:func:`attackmap.seccomp.generate_profile`), and:

* the hardened manifest's container gets ``seccompProfile: {type: Localhost,
  localhostProfile: operator/<name>.json}`` (a change listed like a control,
  ``seccomp-localhost:<container>@<workload>``);
* a security-profiles-operator ``SeccompProfile`` (``security-profiles-operator.x-k8s.io/v1``)
  installs it on every node at ``/var/lib/kubelet/seccomp/operator/<name>.json``, and a
  ``ProfileBinding`` binds it to the container's image (with a ``podSelector`` on the
  workload's labels), so a pod created without the field gets it too (the namespace needs
  the label ``spo.x-k8s.io/enable-binding``);
* without the operator: the plain profile file, ``seccomp/operator/<name>.json`` under the
  output directory, to copy to the kubelet's seccomp root on each node.

The path is the operator's (``operator/<name>.json``), so the manifest is the same either way.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.errors import HardenError
from attackmap.harden._admission import object_name
from attackmap.harden._needs import Need
from attackmap.harden._result import AppliedControl, OutputFile

SPO_API = "security-profiles-operator.x-k8s.io/v1"
SPO_FILE = "attackmap-seccomp-profiles.yaml"
KUBELET_DIR = "seccomp"


class InjectedProfile(BaseModel):
    """A generated profile for one container of one workload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str
    container: str
    name: str
    """The ``SeccompProfile``'s name (DNS-1123)."""
    image: str
    labels: dict[str, str]
    profile: dict[str, Any]
    warnings: tuple[str, ...] = ()
    escape_syscalls: tuple[str, ...] = ()
    """Escape-relevant syscalls the recording shows (allowed by the profile)."""
    source: str = ""
    """Where the recording came from (its path, or the key it was given under)."""

    @property
    def localhost(self) -> str:
        """The ``localhostProfile`` (relative to the kubelet's seccomp root)."""
        return f"operator/{self.name}.json"


def read_recordings(recordings: Mapping[str, Any], inventory: Any) -> list[InjectedProfile]:
    """Profiles for ``recordings``: key ``Kind/namespace/name`` (every container of the
    workload), ``Kind/namespace/name:container``, or ``*`` (every container of every
    workload); value anything :func:`attackmap.seccomp.generate_profile` reads."""
    from attackmap.seccomp import generate_profile

    expanded = dict(recordings)
    if "*" in expanded:
        every = expanded.pop("*")
        for w in inventory.workloads:
            expanded.setdefault(str(w.ref), every)
    recordings = expanded
    out: dict[tuple[str, str], InjectedProfile] = {}
    for key in sorted(recordings):
        ref, _, only = key.partition(":")
        workload = inventory.workload(ref)
        if workload is None:
            known = ", ".join(sorted(str(w.ref) for w in inventory.workloads))
            raise HardenError(
                f"seccomp recording for {ref!r}: no such workload",
                field="seccomp",
                hint=f"use Kind/namespace/name[:container]; workloads: {known}",
            )
        names = [c.name for c in workload.pod.containers if c.kind != "ephemeral"]
        if only and only not in names:
            raise HardenError(
                f"seccomp recording for {key!r}: {ref} has no container {only!r}",
                field="seccomp",
                hint=f"containers: {', '.join(names)}",
            )
        generated = generate_profile(recordings[key])
        labels = dict(((workload.pod_template.get("metadata") or {}).get("labels")) or {})
        for c in workload.pod.containers:
            if c.kind == "ephemeral" or (only and c.name != only):
                continue
            out[str(workload.ref), c.name] = InjectedProfile(
                workload=str(workload.ref),
                container=c.name,
                name=object_name(workload.namespace, workload.ref.name, c.name, limit=253),
                image=c.image.raw if c.image else "",
                labels={str(k): str(v) for k, v in sorted(labels.items())},
                profile=generated.profile,
                warnings=generated.warnings,
                escape_syscalls=generated.escape_syscalls_observed,
                source=str(recordings[key]) if isinstance(recordings[key], str | Path) else key,
            )
    return [out[k] for k in sorted(out)]


def recorded_needs(profiles: Sequence[InjectedProfile]) -> list[Need]:
    """A recording that shows ``mount`` (or the new mount API) is a need the AppArmor
    ``RuntimeDefault`` profile would break (it denies every mount): the container needs its
    mounts, so ``apparmor-runtime-default`` is not applied to its workload (a conflict)."""
    from attackmap.seccomp import ESCAPE_GROUPS

    mount = next(g for g in ESCAPE_GROUPS if g.name == "mount").syscalls
    out: dict[str, Need] = {}
    for p in profiles:
        used = [s for s in p.escape_syscalls if s in mount]
        if used and p.workload not in out:
            out[p.workload] = Need(
                workload=p.workload,
                need="syscall:mount",
                evidence=p.source,
                detail=f"container {p.container} makes {', '.join(used)} "
                "(AppArmor RuntimeDefault denies every mount)",
                blocks_controls=(f"apparmor-runtime-default@{p.workload}",),
            )
    return [out[k] for k in sorted(out)]


def _templates(doc: Any) -> Any:
    """The pod template (``{metadata, spec}``) inside a workload document, or None."""
    kind = doc.get("kind")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return None
    if kind == "Pod":
        return doc
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def inject(
    files: Sequence[OutputFile], profiles: Sequence[InjectedProfile], secrets: frozenset[str]
) -> tuple[list[OutputFile], list[AppliedControl], list[str]]:
    """Set each profiled container's ``seccompProfile`` to its Localhost profile, in the
    hardened files; returns the files, one change per workload and notes (containers whose
    workload kind has no pod template to write to, e.g. a NIMService)."""
    from attackmap.harden._redact import redact
    from attackmap.harden._source import _split, dump, join, yaml_rt

    wanted: dict[str, list[InjectedProfile]] = {}
    for p in profiles:
        wanted.setdefault(p.workload, []).append(p)
    done: set[str] = set()
    changes: list[AppliedControl] = []
    out: list[OutputFile] = []
    y = yaml_rt()
    for f in files:
        head, chunks = _split(f.text)
        new_chunks: list[str] = []
        for chunk in chunks:
            doc = y.load(chunk)
            meta = (doc.get("metadata") or {}) if isinstance(doc, dict) else {}
            ref = f"{doc.get('kind') if isinstance(doc, dict) else ''}/{meta.get('namespace') or 'default'}/{meta.get('name')}"
            template = _templates(doc) if ref in wanted else None
            if template is None:
                new_chunks.append(chunk)
                continue
            notes: list[str] = []
            spec = template.get("spec") or {}
            for p in wanted[ref]:
                for key in ("initContainers", "containers"):
                    for c in spec.get(key) or ():
                        if isinstance(c, dict) and c.get("name") == p.container:
                            sc = c.setdefault("securityContext", {})
                            if sc is None or not isinstance(sc, dict):
                                c["securityContext"] = sc = {}
                            sc["seccompProfile"] = {
                                "type": "Localhost",
                                "localhostProfile": p.localhost,
                            }
                            notes.append(
                                f"containers[{p.container}].securityContext.seccompProfile: "
                                f"Localhost {p.localhost}"
                            )
            text = dump(doc)
            done.add(ref)
            old, new = redact(chunk, secrets), redact(text, secrets)
            diff = "".join(
                difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True), f"a/{ref}", f"b/{ref}", n=2
                )
            )
            changes.append(
                AppliedControl(
                    control=f"seccomp-localhost@{ref}",
                    title="Confine the recorded containers with their generated Localhost seccomp profile",
                    reason="a seccomp recording was given: least privilege at the syscall level",
                    changes=tuple(notes),
                    diff=diff,
                )
            )
            new_chunks.append(text)
        text = join(head, new_chunks) if new_chunks != chunks else f.text
        out.append(f.model_copy(update={"text": text}))
    notes = [
        f"{w}: no pod template in its manifest to set the Localhost seccomp profile; the "
        "ProfileBinding (security-profiles-operator) injects it at admission"
        for w in sorted(wanted)
        if w not in done
    ]
    return out, sorted(changes, key=lambda c: c.control), notes


def spo_documents(profiles: Sequence[InjectedProfile]) -> list[dict[str, Any]]:
    """A ``SeccompProfile`` and a ``ProfileBinding`` per profiled container."""
    docs: list[dict[str, Any]] = []
    for p in profiles:
        namespace = p.workload.split("/")[1]
        spec = {k: v for k, v in p.profile.items() if k != "defaultErrnoRet"}  # EPERM anyway
        docs.append(
            {
                "apiVersion": SPO_API,
                "kind": "SeccompProfile",
                "metadata": {
                    "name": p.name,
                    "namespace": namespace,
                    "annotations": {"attackmap.io/workload": f"{p.workload}:{p.container}"},
                },
                "spec": spec,
            }
        )
        binding: dict[str, Any] = {
            "profileRef": {"kind": "SeccompProfile", "name": p.name},
            "image": p.image,
        }
        if p.labels:
            binding["podSelector"] = {"matchLabels": dict(p.labels)}
        docs.append(
            {
                "apiVersion": SPO_API,
                "kind": "ProfileBinding",
                "metadata": {"name": p.name, "namespace": namespace},
                "spec": binding,
            }
        )
    return docs


def kubelet_files(profiles: Sequence[InjectedProfile]) -> dict[str, str]:
    """``seccomp/operator/<name>.json`` -> the profile (OCI JSON, as the kubelet reads it)."""
    import json

    return {
        f"{KUBELET_DIR}/{p.localhost}": json.dumps(p.profile, indent=2) + "\n" for p in profiles
    }
