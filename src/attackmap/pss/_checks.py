"""One function per Pod Security check, as the API server implements it.

Each function takes the defaulted pod view and the policy minor version (``v1.N`` -> ``N``)
and returns ``None`` when the pod passes, or a :class:`Finding` with the API server's exact
reason and detail strings and the containers named in the detail. Which checks run at which
level and version is decided in ``_evaluate.py`` from ``_table.CHECK_TABLE``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from attackmap.pss import _table as t
from attackmap.pss._format import go_quote, join_quote, pluralize, sorted_unique
from attackmap.pss._pod import Container, Pod, SecurityContext


class Finding(NamedTuple):
    reason: str
    detail: str
    containers: tuple[str, ...] = ()


CheckFn = Callable[[Pod, int], Finding | None]


def _containers_phrase(names: list[str]) -> str:
    """``container "a"`` / ``containers "a", "b"``."""
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def _user_namespace(pod: Pod, minor: int) -> bool:
    """From v1.35, pods with ``hostUsers: false`` get the user-namespace relaxations."""
    return minor >= t.USER_NAMESPACE_RELAXATION_SINCE and pod.host_users is False


def _windows_skip(pod: Pod, minor: int) -> bool:
    """From v1.25, Linux-only restricted checks do not apply to ``os.name: windows`` pods."""
    return minor >= t.WINDOWS_SKIP_SINCE and pod.os_name == "windows"


def _setters(pod_bad: bool, containers: list[str]) -> list[str]:
    """``["pod", 'containers "a", "b"']`` — who set a forbidden value."""
    setters = ["pod"] if pod_bad else []
    if containers:
        setters.append(_containers_phrase(containers))
    return setters


# --- baseline --------------------------------------------------------------------------------


def app_armor_profile(pod: Pod, minor: int) -> Finding | None:
    def allowed_type(profile: str) -> bool:
        return profile in t.APPARMOR_TYPES

    bad_values: set[str] = set()
    pod_bad = pod.sc.apparmor is not None and not allowed_type(pod.sc.apparmor.type)
    if pod.sc.apparmor is not None and pod_bad:
        bad_values.add(pod.sc.apparmor.type)
    bad_containers = []
    for c in pod.containers:
        if c.sc.apparmor is not None and not allowed_type(c.sc.apparmor.type):
            bad_containers.append(c.name)
            bad_values.add(c.sc.apparmor.type)
    annotations = sorted(
        f"{key}={go_quote(value)}"
        for key, value in pod.annotations.items()
        if key.startswith(t.APPARMOR_ANNOTATION_PREFIX)
        and value not in t.APPARMOR_ANNOTATION_VALUES
        and not value.startswith(t.APPARMOR_ANNOTATION_LOCALHOST_PREFIX)
    )
    setters = _setters(pod_bad, bad_containers)
    if annotations:
        setters.append(pluralize("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    values = sorted_unique(bad_values) + annotations
    return Finding(
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
        f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(values)}",
        tuple(bad_containers),
    )


def capabilities_baseline(pod: Pod, minor: int) -> Finding | None:
    bad_containers, added = [], set()
    for c in pod.containers:
        extra = [cap for cap in c.sc.caps_add if cap not in t.DEFAULT_CAPABILITIES]
        if extra:
            bad_containers.append(c.name)
            added.update(extra)
    if not bad_containers:
        return None
    return Finding(
        "non-default capabilities",
        f"{_containers_phrase(bad_containers)} must not include "
        f"{join_quote(sorted_unique(added))} in securityContext.capabilities.add",
        tuple(bad_containers),
    )


def host_namespaces(pod: Pod, minor: int) -> Finding | None:
    shared = [
        name
        for name, on in (("hostIPC", pod.host_ipc), ("hostNetwork", pod.host_network),
                         ("hostPID", pod.host_pid))
        if on
    ]  # fmt: skip
    if not shared:
        return None
    return Finding("host namespaces", ", ".join(shared))


def host_path_volumes(pod: Pod, minor: int) -> Finding | None:
    names = [v.name for v in pod.volumes if "hostPath" in v.sources]
    if not names:
        return None
    return Finding(
        "hostPath volumes", f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)}"
    )


def host_ports(pod: Pod, minor: int) -> Finding | None:
    bad_containers = [c.name for c in pod.containers if c.host_ports]
    if not bad_containers:
        return None
    ports = sorted_unique([str(p) for c in pod.containers for p in c.host_ports])
    return Finding(
        "hostPort",
        f"{_containers_phrase(bad_containers)} {pluralize('uses', 'use', len(bad_containers))} "
        f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(ports)}",
        tuple(bad_containers),
    )


def host_probes_and_host_lifecycle(pod: Pod, minor: int) -> Finding | None:
    bad_containers = sorted_unique([c.name for c in pod.containers if c.probe_hosts])
    if not bad_containers:
        return None
    hosts = sorted_unique([h for c in pod.containers for h in c.probe_hosts])
    return Finding(
        "probe or lifecycle host",
        f"{_containers_phrase(bad_containers)} {pluralize('uses', 'use', len(bad_containers))} "
        f"{pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
        f"{join_quote(hosts)}",
        tuple(bad_containers),
    )


def privileged(pod: Pod, minor: int) -> Finding | None:
    bad_containers = [c.name for c in pod.containers if c.sc.privileged]
    if not bad_containers:
        return None
    return Finding(
        "privileged",
        f"{_containers_phrase(bad_containers)} must not set securityContext.privileged=true",
        tuple(bad_containers),
    )


def _unmasked_proc(pod: Pod) -> Finding | None:
    bad: list[Container] = [
        c for c in pod.containers if c.sc.proc_mount is not None and c.sc.proc_mount != "Default"
    ]
    if not bad:
        return None
    names = [c.name for c in bad]
    types = sorted_unique([c.sc.proc_mount or "" for c in bad])
    return Finding(
        "procMount",
        f"{_containers_phrase(names)} must not set securityContext.procMount to {join_quote(types)}",
        tuple(names),
    )


def proc_mount(pod: Pod, minor: int) -> Finding | None:
    if _user_namespace(pod, minor):
        return None
    return _unmasked_proc(pod)


def se_linux_options(pod: Pod, minor: int) -> Finding | None:
    allowed = t.allowed_since(t.SELINUX_TYPES_ADDED, minor)
    bad_types: set[str] = set()
    set_user = set_role = False

    def valid(sc: SecurityContext) -> bool:
        nonlocal set_user, set_role
        opts = sc.selinux
        if opts is None:
            return True
        ok = True
        if opts.type not in allowed:
            ok = False
            bad_types.add(opts.type)
        if opts.user:
            ok, set_user = False, True
        if opts.role:
            ok, set_role = False, True
        return ok

    pod_bad = not valid(pod.sc)
    bad_containers = [c.name for c in pod.containers if not valid(c.sc)]
    setters = _setters(pod_bad, bad_containers)
    if not setters:
        return None
    data = []
    if bad_types:  # upstream only mentions user/role when a type is also bad
        types = sorted_unique(bad_types)
        data.append(f"{pluralize('type', 'types', len(types))} {join_quote(types)}")
        if set_user:
            data.append("user may not be set")
        if set_role:
            data.append("role may not be set")
    return Finding(
        "seLinuxOptions",
        f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}",
        tuple(bad_containers),
    )


def _valid_seccomp_annotation(value: str) -> bool:
    return value in t.SECCOMP_ANNOTATION_VALUES or value.startswith(
        t.SECCOMP_ANNOTATION_LOCALHOST_PREFIX
    )


def seccomp_profile_baseline(pod: Pod, minor: int) -> Finding | None:
    if minor < 19:  # v1.0-v1.18: the alpha annotations
        forbidden = set()
        value = pod.annotations.get(t.SECCOMP_POD_ANNOTATION)
        if value is not None and not _valid_seccomp_annotation(value):
            forbidden.add(f"{t.SECCOMP_POD_ANNOTATION}={go_quote(value)}")
        for c in pod.containers:
            key = t.SECCOMP_CONTAINER_ANNOTATION_PREFIX + c.name
            value = pod.annotations.get(key)
            if value is not None and not _valid_seccomp_annotation(value):
                forbidden.add(f"{key}={go_quote(value)}")
        if not forbidden:
            return None
        return Finding(
            "seccompProfile",
            f"forbidden {pluralize('annotation', 'annotations', len(forbidden))} "
            f"{', '.join(sorted_unique(forbidden))}",
        )
    bad_values: set[str] = set()
    pod_bad = pod.sc.seccomp is not None and pod.sc.seccomp.type not in t.SECCOMP_TYPES
    if pod.sc.seccomp is not None and pod_bad:
        bad_values.add(pod.sc.seccomp.type)
    bad_containers = []
    for c in pod.containers:
        if c.sc.seccomp is not None and c.sc.seccomp.type not in t.SECCOMP_TYPES:
            bad_containers.append(c.name)
            bad_values.add(c.sc.seccomp.type)
    setters = _setters(pod_bad, bad_containers)
    if not setters:
        return None
    return Finding(
        "seccompProfile",
        f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
        f"{join_quote(sorted_unique(bad_values))}",
        tuple(bad_containers),
    )


def sysctls(pod: Pod, minor: int) -> Finding | None:
    allowed = t.allowed_since(t.SAFE_SYSCTLS_ADDED, minor)
    forbidden = [name for name in pod.sc.sysctls if name not in allowed]
    if not forbidden:
        return None
    return Finding("forbidden sysctls", ", ".join(forbidden))


def windows_host_process(pod: Pod, minor: int) -> Finding | None:
    bad_containers = [c.name for c in pod.containers if c.sc.host_process]
    setters = _setters(bool(pod.sc.host_process), bad_containers)
    if not setters:
        return None
    return Finding(
        "hostProcess",
        f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
        tuple(bad_containers),
    )


# --- restricted ------------------------------------------------------------------------------


def allow_privilege_escalation(pod: Pod, minor: int) -> Finding | None:
    if _windows_skip(pod, minor):
        return None
    bad_containers = [
        c.name for c in pod.containers if c.sc.allow_privilege_escalation is not False
    ]
    if not bad_containers:
        return None
    return Finding(
        "allowPrivilegeEscalation != false",
        f"{_containers_phrase(bad_containers)} must set securityContext.allowPrivilegeEscalation=false",
        tuple(bad_containers),
    )


def capabilities_restricted(pod: Pod, minor: int) -> Finding | None:
    if _windows_skip(pod, minor):
        return None
    missing_drop, adding, forbidden = [], [], set()
    for c in pod.containers:
        if t.RESTRICTED_DROP_REQUIRED not in c.sc.caps_drop:
            missing_drop.append(c.name)
        extra = [cap for cap in c.sc.caps_add if cap != t.RESTRICTED_ADDABLE_CAPABILITY]
        if extra:
            adding.append(c.name)
            forbidden.update(extra)
    details = []
    if missing_drop:
        details.append(
            f'{_containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_containers_phrase(adding)} must not include {join_quote(sorted_unique(forbidden))} "
            "in securityContext.capabilities.add"
        )
    if not details:
        return None
    named = tuple(dict.fromkeys(missing_drop + adding))
    return Finding("unrestricted capabilities", "; ".join(details), named)


def proc_mount_restricted(pod: Pod, minor: int) -> Finding | None:
    return _unmasked_proc(pod)


def _volume_type(sources: frozenset[str]) -> str:
    return next((name for name in t.RESTRICTED_VOLUME_TYPE_ORDER if name in sources), "unknown")


def restricted_volumes(pod: Pod, minor: int) -> Finding | None:
    bad = [v for v in pod.volumes if not v.sources & t.RESTRICTED_VOLUME_SOURCES]
    if not bad:
        return None
    types = sorted_unique([_volume_type(v.sources) for v in bad])
    return Finding(
        "restricted volume types",
        f"{pluralize('volume', 'volumes', len(bad))} {join_quote([v.name for v in bad])} "
        f"{pluralize('uses', 'use', len(bad))} "
        f"{pluralize('restricted volume type', 'restricted volume types', len(types))} "
        f"{join_quote(types)}",
    )


def run_as_non_root(pod: Pod, minor: int) -> Finding | None:
    if _user_namespace(pod, minor):
        return None
    pod_bad = pod.sc.run_as_non_root is False
    pod_ok = pod.sc.run_as_non_root is True
    explicit = [c.name for c in pod.containers if c.sc.run_as_non_root is False]
    implicit = [c.name for c in pod.containers if c.sc.run_as_non_root is None and not pod_ok]
    setters = _setters(pod_bad, explicit)
    if setters:
        return Finding(
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
            tuple(explicit),
        )
    if implicit:
        return Finding(
            "runAsNonRoot != true",
            f"pod or {_containers_phrase(implicit)} must set securityContext.runAsNonRoot=true",
            tuple(implicit),
        )
    return None


def run_as_user(pod: Pod, minor: int) -> Finding | None:
    if _user_namespace(pod, minor):
        return None
    bad_containers = [c.name for c in pod.containers if c.sc.run_as_user == 0]
    setters = _setters(pod.sc.run_as_user == 0, bad_containers)
    if not setters:
        return None
    return Finding(
        "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0", tuple(bad_containers)
    )


def seccomp_profile_restricted(pod: Pod, minor: int) -> Finding | None:
    if _windows_skip(pod, minor):
        return None
    bad_values: set[str] = set()
    pod_set = pod.sc.seccomp is not None and pod.sc.seccomp.type in t.SECCOMP_TYPES
    pod_bad = pod.sc.seccomp is not None and not pod_set
    if pod.sc.seccomp is not None and pod_bad:
        bad_values.add(pod.sc.seccomp.type)
    explicit, implicit = [], []
    for c in pod.containers:
        if c.sc.seccomp is not None:
            if c.sc.seccomp.type not in t.SECCOMP_TYPES:
                explicit.append(c.name)
                bad_values.add(c.sc.seccomp.type)
        elif not pod_set:
            implicit.append(c.name)
    setters = _setters(pod_bad, explicit)
    if setters:
        return Finding(
            "seccompProfile",
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
            f"{join_quote(sorted_unique(bad_values))}",
            tuple(explicit),
        )
    if implicit:
        return Finding(
            "seccompProfile",
            f"pod or {_containers_phrase(implicit)} must set securityContext.seccompProfile.type "
            'to "RuntimeDefault" or "Localhost"',
            tuple(implicit),
        )
    return None


CHECK_FUNCTIONS: dict[str, CheckFn] = {
    "appArmorProfile": app_armor_profile,
    "capabilities_baseline": capabilities_baseline,
    "hostNamespaces": host_namespaces,
    "hostPathVolumes": host_path_volumes,
    "hostPorts": host_ports,
    "hostProbesAndHostLifecycle": host_probes_and_host_lifecycle,
    "privileged": privileged,
    "procMount": proc_mount,
    "seLinuxOptions": se_linux_options,
    "seccompProfile_baseline": seccomp_profile_baseline,
    "sysctls": sysctls,
    "windowsHostProcess": windows_host_process,
    "allowPrivilegeEscalation": allow_privilege_escalation,
    "capabilities_restricted": capabilities_restricted,
    "procMount_restricted": proc_mount_restricted,
    "restrictedVolumes": restricted_volumes,
    "runAsNonRoot": run_as_non_root,
    "runAsUser": run_as_user,
    "seccompProfile_restricted": seccomp_profile_restricted,
}
