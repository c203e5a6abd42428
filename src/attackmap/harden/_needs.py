"""Audited needs: privileges an API-server audit log shows a workload's pods asked for.

The forensic method: deploy under ``baseline``, capture the audit log through start-up and
inference, and read the Pod Security violations (``audit-violations`` annotations and
enforce denials) and the API requests of the workload's ServiceAccount. A violation that
names something the pod *set* (an added capability, ``privileged=true``, a host namespace,
a hostPath volume, ``runAsUser=0``, an ``Unconfined`` profile) is a need; one that only
says a hardening field is *missing* (``must set ...drop=["ALL"]``) is not — hardening may
add that field. Each need lists the controls that would take it away.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.errors import AuditError, HardenError

_CAPS_ADDED = re.compile(
    r'must not include ((?:"[A-Za-z_]+"(?:, )?)+) in securityContext\.capabilities\.add'
)
_QUOTED = re.compile(r'"([^"]+)"')
_HOST_NS = re.compile(r"\b(hostNetwork|hostPID|hostIPC)=true")


class Need(BaseModel):
    """One privilege the audit log shows a workload using, and the controls that remove it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str
    """The manifest workload (``Kind/namespace/name``)."""
    need: str
    """What is needed: ``cap:NET_ADMIN``, ``privileged``, ``hostPID``, ``hostpath:<volume>``,
    ``hostPort``, ``root``, ``seccomp:Unconfined``, ``apparmor:unconfined``, ``api-access``,
    ``syscall:mount`` (from a seccomp recording, ``_profiles``)."""
    evidence: str
    """``file:line`` of the first audit event showing it."""
    detail: str
    """The API server's words (violation detail or the requests made)."""
    blocks_controls: tuple[str, ...]
    """Control ids (``control[:arg]@workload``) that would remove the need."""

    def label(self) -> str:
        return f"need {self.need} ({self.evidence})"


def _violation_needs(check: str, detail: str) -> list[tuple[str, tuple[str, ...]]]:
    """(need, conflicting control names) for one violation; empty when nothing was set."""
    out: list[tuple[str, tuple[str, ...]]] = []
    if check in ("capabilities_baseline", "capabilities_restricted"):
        for m in _CAPS_ADDED.finditer(detail):
            for cap in _QUOTED.findall(m.group(1)):
                cap = cap.upper().removeprefix("CAP_")
                out.append((f"cap:{cap}", (f"drop-capability:{cap}", "drop-all-capabilities")))
    elif check == "privileged":
        out.append(("privileged", ("unprivileged",)))
    elif check == "hostNamespaces":
        for ns in _HOST_NS.findall(detail):
            control = {"hostNetwork": "no-host-network", "hostPID": "no-host-pid"}.get(ns)
            out.append((ns, (control,) if control else ()))
    elif check == "hostPorts":
        out.append(("hostPort", ("no-host-network",)))
    elif check == "hostPathVolumes":
        # the audit shows the volume, not whether the pod writes to it: keep it as mounted
        # (a device plugin writes its socket into /var/lib/kubelet/device-plugins)
        for volume in _QUOTED.findall(detail):
            out.append((f"hostpath:{volume}", ("remove-hostpath", "hostpath-read-only")))
    elif check == "runAsUser" and "=0" in detail:
        out.append(("root", ("run-as-non-root",)))
    elif check.startswith("seccompProfile") and '"Unconfined"' in detail and "must not" in detail:
        out.append(("seccomp:Unconfined", ("seccomp-runtime-default",)))
    elif check == "appArmorProfile" and "nconfined" in detail and "must not" in detail:
        out.append(("apparmor:unconfined", ("apparmor-runtime-default",)))
    return out


def _aliases(workloads: Sequence[str]) -> dict[str, str]:
    """Audit workload refs -> manifest workload keys (a NIMService's pods are its Deployment's)."""
    out = {w: w for w in workloads}
    for w in workloads:
        kind, _, rest = w.partition("/")
        if kind == "NIMService":
            out.setdefault(f"Deployment/{rest}", w)
        if kind in ("StatefulSet", "DaemonSet", "Job", "Deployment"):
            out.setdefault(f"Pod/{rest}", w)
    return out


def _hostpath_paths(template: dict[str, Any], volume: str) -> list[str]:
    spec = template.get("spec") or {}
    return sorted(
        str((v.get("hostPath") or {}).get("path", ""))
        for v in spec.get("volumes") or ()
        if isinstance(v, dict) and v.get("name") == volume and isinstance(v.get("hostPath"), dict)
    )


def read_needs(
    logs: Iterable[str | Path],
    workloads: dict[str, dict[str, Any]],
) -> tuple[tuple[Need, ...], tuple[str, ...]]:
    """The needs the audit ``logs`` show for ``workloads`` (key -> pod template).

    Returns the needs (sorted) and notes (audit workloads not in the manifests, bad lines).
    """
    from attackmap import audit
    from attackmap.graph._patches import _norm_path

    paths = [str(p) for p in logs]
    for p in paths:
        if p != "-" and not Path(p).exists():
            raise HardenError("no such audit log", path=p, hint="pass --audit FILE (JSON lines)")
    try:
        reader = audit.read(*paths)
        summary = audit.analyze_audit(reader)
    except AuditError:
        raise
    except OSError as e:
        raise AuditError(f"cannot read audit log: {e}") from e
    notes: list[str] = []
    if reader.stats.bad_lines:
        notes.append(f"audit: {reader.stats.bad_lines} unreadable line(s) skipped")
    alias = _aliases(sorted(workloads))
    found: dict[tuple[str, str], Need] = {}
    for ws in summary.workloads:
        key = alias.get(ws.ref)
        if key is None:
            notes.append(f"audit: {ws.ref} is not among the manifests' workloads")
            continue
        for v in ws.violations:
            for need, controls in _violation_needs(v.check, v.detail):
                names: list[str] = []
                for c in controls:
                    if c in ("remove-hostpath", "hostpath-read-only"):
                        vol = need.split(":", 1)[1]
                        for path in _hostpath_paths(workloads[key], vol):
                            names.append(f"{c}:{_norm_path(path)}")
                    else:
                        names.append(c)
                if (key, need) not in found:
                    found[key, need] = Need(
                        workload=key,
                        need=need,
                        evidence=f"{v.first.file}:{v.first.line}",
                        detail=v.detail,
                        blocks_controls=tuple(sorted(f"{n}@{key}" for n in names)),
                    )
        principal = summary.principal(ws.service_account) if ws.service_account else None
        if principal is not None and principal.requests and (key, "api-access") not in found:
            first = min(principal.requests, key=lambda r: (r.first.file, r.first.line))
            uses = ", ".join(sorted({f"{r.verb} {r.resource}" for r in principal.requests}))
            found[key, "api-access"] = Need(
                workload=key,
                need="api-access",
                evidence=f"{first.first.file}:{first.first.line}",
                detail=f"{principal.principal} made API requests: {uses}",
                blocks_controls=tuple(
                    sorted(
                        f"{c}@{key}"
                        for c in ("disable-token-automount", "dedicated-service-account")
                    )
                ),
            )
    return tuple(sorted(found.values(), key=lambda n: (n.workload, n.need))), tuple(notes)


def blocking_need(control_id: str, needs: Sequence[Need]) -> Need | None:
    """The first need that ``control_id`` (``control[:arg]@target``) would take away."""
    for need in needs:
        if control_id in need.blocks_controls:
            return need
    return None
