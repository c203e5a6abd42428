"""From a raw pod (or workload) mapping to the typed view the checks read.

Pod Security runs on pods *after* API-server defaulting, so two defaults are applied here:

* a volume with no source is an ``emptyDir`` volume;
* with ``hostNetwork: true`` a container port without ``hostPort`` gets ``hostPort =
  containerPort`` (init and regular containers).

Only the fields Pod Security inspects are read, and each is type-checked: a wrong type is a
:class:`~attackmap.errors.PSSError` naming the field path (``spec.containers[0]...``), never a
``TypeError``. ``null`` is the same as absent, as in the Kubernetes API. The view uses frozen
dataclasses rather than pydantic models: it is private, built once per evaluation and read by
every check, so it stays as cheap as possible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from attackmap.errors import PSSError

# Every source field of a Kubernetes VolumeSource (JSON names).
VOLUME_SOURCES: frozenset[str] = frozenset(
    {
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "configMap",
        "csi", "downwardAPI", "emptyDir", "ephemeral", "fc", "flexVolume", "flocker",
        "gcePersistentDisk", "gitRepo", "glusterfs", "hostPath", "image", "iscsi", "nfs",
        "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume", "projected",
        "quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume",
    }
)  # fmt: skip

# kind -> path (keys) from the object to its pod template ({"metadata":..., "spec":...})
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}


@dataclass(frozen=True, slots=True)
class Profile:
    """A seccomp or AppArmor profile object that is present (``type`` may be empty)."""

    type: str


@dataclass(frozen=True, slots=True)
class SELinux:
    type: str
    user: str
    role: str


@dataclass(frozen=True, slots=True)
class SecurityContext:
    """The fields of a pod- or container-level securityContext that Pod Security reads."""

    privileged: bool | None = None
    allow_privilege_escalation: bool | None = None
    caps_add: tuple[str, ...] = ()
    caps_drop: tuple[str, ...] = ()
    has_capabilities: bool = False
    proc_mount: str | None = None
    run_as_non_root: bool | None = None
    run_as_user: int | None = None
    seccomp: Profile | None = None
    apparmor: Profile | None = None
    selinux: SELinux | None = None
    host_process: bool | None = None
    sysctls: tuple[str, ...] = ()


EMPTY_CONTEXT = SecurityContext()


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    kind: str  # "initContainers" | "containers" | "ephemeralContainers"
    sc: SecurityContext
    host_ports: tuple[int, ...]  # non-zero hostPorts after defaulting
    probe_hosts: tuple[str, ...]  # non-empty httpGet/tcpSocket hosts of probes and lifecycle


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    sources: frozenset[str]  # after defaulting: never empty


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod as Pod Security sees it; ``containers`` in visit order init → regular → ephemeral."""

    annotations: Mapping[str, str]
    host_network: bool
    host_pid: bool
    host_ipc: bool
    host_users: bool | None
    os_name: str | None
    sc: SecurityContext
    volumes: tuple[Volume, ...]
    containers: tuple[Container, ...]


# --- typed accessors -------------------------------------------------------------------------


def _type_error(path: str, expected: str, value: object) -> PSSError:
    return PSSError(
        f"expected {expected}, got {type(value).__name__} {value!r}"[:200],
        field=path,
        hint="the API server would reject this object; fix the field's type",
    )


def _map(obj: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise _type_error(f"{path}.{key}", "a mapping", value)


def _list(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise _type_error(f"{path}.{key}", "a list", value)


def _bool(obj: Mapping[str, Any], key: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _type_error(f"{path}.{key}", "a boolean", value)


def _int(obj: Mapping[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _type_error(f"{path}.{key}", "an integer", value)


def _str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _type_error(f"{path}.{key}", "a string", value)


def _items(obj: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """Elements of a list of mappings, each with its path."""
    out = []
    for i, item in enumerate(_list(obj, key, path)):
        item_path = f"{path}.{key}[{i}]"
        if not isinstance(item, Mapping):
            raise _type_error(item_path, "a mapping", item)
        out.append((item_path, item))
    return out


def _strings(obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    values = _list(obj, key, path)
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise _type_error(f"{path}.{key}[{i}]", "a string", value)
    return tuple(values)


def _profile(obj: Mapping[str, Any], key: str, path: str) -> Profile | None:
    profile = _map(obj, key, path)
    if profile is None:
        return None
    return Profile(_str(profile, "type", f"{path}.{key}") or "")


def _security_context(obj: Mapping[str, Any], path: str, *, pod: bool) -> SecurityContext:
    sc = _map(obj, "securityContext", path)
    if sc is None:
        return EMPTY_CONTEXT
    path = f"{path}.securityContext"
    caps = None if pod else _map(sc, "capabilities", path)
    selinux = _map(sc, "seLinuxOptions", path)
    windows = _map(sc, "windowsOptions", path)
    sysctls: tuple[str, ...] = ()
    if pod:
        sysctls = tuple(_str(s, "name", p) or "" for p, s in _items(sc, "sysctls", path))
    return SecurityContext(
        privileged=None if pod else _bool(sc, "privileged", path),
        allow_privilege_escalation=None if pod else _bool(sc, "allowPrivilegeEscalation", path),
        caps_add=() if caps is None else _strings(caps, "add", f"{path}.capabilities"),
        caps_drop=() if caps is None else _strings(caps, "drop", f"{path}.capabilities"),
        has_capabilities=caps is not None,
        proc_mount=None if pod else _str(sc, "procMount", path),
        run_as_non_root=_bool(sc, "runAsNonRoot", path),
        run_as_user=_int(sc, "runAsUser", path),
        seccomp=_profile(sc, "seccompProfile", path),
        apparmor=_profile(sc, "appArmorProfile", path),
        selinux=None
        if selinux is None
        else SELinux(
            type=_str(selinux, "type", f"{path}.seLinuxOptions") or "",
            user=_str(selinux, "user", f"{path}.seLinuxOptions") or "",
            role=_str(selinux, "role", f"{path}.seLinuxOptions") or "",
        ),
        host_process=None
        if windows is None
        else _bool(windows, "hostProcess", f"{path}.windowsOptions"),
        sysctls=sysctls,
    )


def _handler_hosts(handler: Mapping[str, Any] | None, path: str) -> list[str]:
    if handler is None:
        return []
    hosts = []
    for action in ("httpGet", "tcpSocket"):
        target = _map(handler, action, path)
        if target is not None:
            host = _str(target, "host", f"{path}.{action}")
            if host:
                hosts.append(host)
    return hosts


def _container(c: Mapping[str, Any], path: str, kind: str, host_network: bool) -> Container:
    ports = []
    for port_path, port in _items(c, "ports", path):
        host_port = _int(port, "hostPort", port_path) or 0
        container_port = _int(port, "containerPort", port_path) or 0
        if host_port == 0 and host_network and kind != "ephemeralContainers":
            host_port = container_port  # API-server defaulting for hostNetwork pods
        if host_port != 0:
            ports.append(host_port)
    hosts: list[str] = []
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        hosts += _handler_hosts(_map(c, probe, path), f"{path}.{probe}")
    lifecycle = _map(c, "lifecycle", path)
    if lifecycle is not None:
        for hook in ("postStart", "preStop"):
            hosts += _handler_hosts(
                _map(lifecycle, hook, f"{path}.lifecycle"), f"{path}.lifecycle.{hook}"
            )
    return Container(
        name=_str(c, "name", path) or "",
        kind=kind,
        sc=_security_context(c, path, pod=False),
        host_ports=tuple(ports),
        probe_hosts=tuple(hosts),
    )


def _volume(v: Mapping[str, Any]) -> Volume:
    sources = frozenset(k for k, value in v.items() if k in VOLUME_SOURCES and value is not None)
    return Volume(name=str(v.get("name") or ""), sources=sources or frozenset({"emptyDir"}))


def build_pod(template: Mapping[str, Any], path: str = "") -> Pod:
    """The checked, defaulted view of a pod (``{"metadata":..., "spec":...}``) at ``path``."""
    prefix = f"{path}." if path else ""
    metadata = _map(template, "metadata", path or "pod") or {}
    annotations = _map(metadata, "annotations", f"{prefix}metadata") or {}
    for key, value in annotations.items():
        if not isinstance(value, str):
            raise _type_error(f"{prefix}metadata.annotations[{key}]", "a string", value)
    spec = _map(template, "spec", path or "pod")
    if spec is None:
        raise PSSError("the pod has no spec", field=f"{prefix}spec")
    spec_path = f"{prefix}spec"
    host_network = bool(_bool(spec, "hostNetwork", spec_path))
    os_map = _map(spec, "os", spec_path)
    volumes = []
    for volume_path, v in _items(spec, "volumes", spec_path):
        _str(v, "name", volume_path)
        volumes.append(_volume(v))
    containers = [
        _container(c, c_path, kind, host_network)
        for kind in ("initContainers", "containers", "ephemeralContainers")
        for c_path, c in _items(spec, kind, spec_path)
    ]
    return Pod(
        annotations=annotations,
        host_network=host_network,
        host_pid=bool(_bool(spec, "hostPID", spec_path)),
        host_ipc=bool(_bool(spec, "hostIPC", spec_path)),
        host_users=_bool(spec, "hostUsers", spec_path),
        os_name=None if os_map is None else _str(os_map, "name", f"{spec_path}.os"),
        sc=_security_context(spec, spec_path, pod=True),
        volumes=tuple(volumes),
        containers=tuple(containers),
    )


def pod_template_of(obj: object) -> tuple[Mapping[str, Any], str, str]:
    """``(template, path, kind)`` for a Pod, a workload with a pod template, or a model.

    ``obj`` may be a raw mapping (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
    ReplicationController, Job, CronJob, PodTemplate) or any object with a ``pod_template``
    mapping attribute (e.g. :class:`attackmap.model.Workload`).
    """
    template = getattr(obj, "pod_template", None)
    if template is not None and not isinstance(obj, Mapping):
        if not isinstance(template, Mapping):
            raise _type_error("pod_template", "a mapping", template)
        ref = getattr(obj, "ref", None)
        kind = getattr(ref, "kind", None) or type(obj).__name__
        return template, "", str(kind)
    if not isinstance(obj, Mapping):
        raise PSSError(
            f"cannot evaluate a {type(obj).__name__}",
            hint="pass a Pod or workload mapping, or an object with a pod_template mapping",
        )
    kind = obj.get("kind")
    if kind is None or kind == "Pod":
        return obj, "", "Pod"
    keys = TEMPLATE_PATHS.get(str(kind))
    if keys is None:
        raise PSSError(
            f"kind {kind!r} has no pod template",
            field="kind",
            hint="supported: Pod, " + ", ".join(TEMPLATE_PATHS),
        )
    node: Any = obj
    for i, key in enumerate(keys):
        node = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            raise PSSError(f"{kind} has no pod template", field=".".join(keys[: i + 1]))
    return node, ".".join(keys), str(kind)
