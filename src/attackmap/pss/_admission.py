"""Would the API server admit this pod here? And what is the strongest pod it would admit?

Pods are *enforced* against the namespace's ``enforce`` policy; controllers (Deployment,
Job, ...) only get audit annotations and warnings, but the pods their controllers create are
enforced, so a workload is answered for the pods it will create. Exemptions, in the API
server's order: the namespace, the requesting user, the pod's runtimeClassName.

For a controller workload the *pod* is created by the controller, so a username exemption of
whoever created the workload does not apply; the controller's own usernames are checked
instead (:data:`CONTROLLER_USERNAMES`).
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.errors import PSSError
from attackmap.pss._evaluate import active_checks, evaluate_pod
from attackmap.pss._models import PSSResult
from attackmap.pss._namespace import AdmissionPolicy, NamespacePolicy
from attackmap.pss._pod import build_pod, pod_template_of
from attackmap.pss._versions import minor_of

_KCM = "system:kube-controller-manager"


def _sa(name: str) -> tuple[str, str]:
    return (f"system:serviceaccount:kube-system:{name}", _KCM)


# kind -> usernames the pods of that kind are created by (with and without per-controller
# service-account credentials in kube-controller-manager)
CONTROLLER_USERNAMES: dict[str, tuple[str, ...]] = {
    "Deployment": _sa("replicaset-controller"),
    "ReplicaSet": _sa("replicaset-controller"),
    "StatefulSet": _sa("statefulset-controller"),
    "DaemonSet": _sa("daemon-set-controller"),
    "Job": _sa("job-controller"),
    "CronJob": _sa("job-controller"),
    "ReplicationController": _sa("replication-controller"),
}


class Admission(BaseModel):
    """The enforce decision for one pod (or the pods of one workload) in one namespace."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    exempt: str | None = None
    """``namespace``, ``user`` or ``runtimeClass`` when an exemption applies (no evaluation)."""
    level: str
    version: str
    result: PSSResult | None = None
    """The evaluation against the enforced level (None when exempt)."""


class PodEnvelope(BaseModel):
    """The strongest pod an actor can get admitted in a namespace (enforce + exemptions).

    Each boolean says whether the enforced policy lets a pod have that property. ``level`` is
    the effective level: ``privileged`` when exempt.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str
    version: str
    exempt: str | None = None
    runtime_class: str | None = None
    """With ``exempt == "runtimeClass"``: the exempt runtimeClassName the pod must use."""
    enforced_checks: tuple[str, ...] = ()
    privileged: bool
    host_namespaces: bool
    host_path: bool
    host_ports: bool
    added_capabilities: bool
    """Capabilities beyond the runtime's default set (e.g. SYS_ADMIN)."""
    run_as_root: bool
    privilege_escalation: bool
    unconfined_seccomp: bool
    unconfined_apparmor: bool
    custom_selinux: bool
    unmasked_proc: bool
    unsafe_sysctls: bool
    windows_host_process: bool
    any_volume_type: bool
    """Volume types beyond configMap/secret/emptyDir/PVC/projected/CSI/ephemeral/image."""


# envelope field -> checks any one of which forbids the property
_FORBIDDEN_BY: dict[str, tuple[str, ...]] = {
    "privileged": ("privileged",),
    "host_namespaces": ("hostNamespaces",),
    "host_path": ("hostPathVolumes", "restrictedVolumes"),
    "host_ports": ("hostPorts",),
    "added_capabilities": ("capabilities_baseline", "capabilities_restricted"),
    "run_as_root": ("runAsNonRoot",),
    "privilege_escalation": ("allowPrivilegeEscalation",),
    "unconfined_seccomp": ("seccompProfile_baseline", "seccompProfile_restricted"),
    "unconfined_apparmor": ("appArmorProfile",),
    "custom_selinux": ("seLinuxOptions",),
    "unmasked_proc": ("procMount", "procMount_restricted"),
    "unsafe_sysctls": ("sysctls",),
    "windows_host_process": ("windowsHostProcess",),
    "any_volume_type": ("restrictedVolumes",),
}


def _policy(
    namespace_labels: Mapping[str, str] | NamespacePolicy | None,
    admission: AdmissionPolicy | None,
) -> NamespacePolicy:
    if isinstance(namespace_labels, NamespacePolicy):
        return namespace_labels
    defaults = (admission or AdmissionPolicy()).defaults
    return NamespacePolicy.from_labels(namespace_labels, defaults)


def admits(
    pod_or_workload: object,
    namespace_labels: Mapping[str, str] | NamespacePolicy | None,
    admission: AdmissionPolicy | None = None,
    username: str | None = None,
    namespace: str | None = None,
) -> Admission:
    """Would the API server admit this pod (or the pods of this workload) here (enforce)?

    ``namespace_labels`` are the namespace's labels (or an already resolved policy);
    ``admission`` the API server's configuration (default: privileged:latest, no
    exemptions); ``username`` who creates the pod; ``namespace`` its name for namespace
    exemptions (default: the object's ``metadata.namespace``).
    """
    admission = admission or AdmissionPolicy()
    policy = _policy(namespace_labels, admission)
    enforce = policy.enforce
    template, path, kind = pod_template_of(pod_or_workload)
    pod = build_pod(template, path)
    if namespace is None:
        namespace = _object_namespace(pod_or_workload)
    spec = template.get("spec") or {}
    runtime_class = spec.get("runtimeClassName")
    if runtime_class is not None and not isinstance(runtime_class, str):
        raise PSSError(
            "expected a string", field=f"{path + '.' if path else ''}spec.runtimeClassName"
        )
    creators = (
        CONTROLLER_USERNAMES.get(kind, ()) if kind != "Pod" else ((username,) if username else ())
    )
    exempt = None
    if namespace is not None and namespace in admission.exempt_namespaces:
        exempt = "namespace"
    elif any(u in admission.exempt_usernames for u in creators):
        exempt = "user"
    elif runtime_class is not None and runtime_class in admission.exempt_runtime_classes:
        exempt = "runtimeClass"
    if exempt is not None:
        return Admission(allowed=True, exempt=exempt, level=enforce.level, version=enforce.version)
    result = evaluate_pod(pod, enforce.level, enforce.version)
    return Admission(
        allowed=result.allowed, level=enforce.level, version=enforce.version, result=result
    )


def _object_namespace(obj: object) -> str | None:
    ref = getattr(obj, "ref", None)
    ns = getattr(ref, "namespace", None)
    if isinstance(ns, str):
        return ns
    if isinstance(obj, Mapping):
        metadata: Any = obj.get("metadata")
        if isinstance(metadata, Mapping) and isinstance(metadata.get("namespace"), str):
            return str(metadata["namespace"])
    return None


def most_permissive_admitted(
    namespace_labels: Mapping[str, str] | NamespacePolicy | None,
    admission: AdmissionPolicy | None = None,
    username: str | None = None,
    namespace: str | None = None,
) -> PodEnvelope:
    """What the strongest pod ``username`` can create directly in ``namespace`` may do.

    An exempt namespace or user, or any exempt runtimeClass (the pod author chooses
    ``runtimeClassName``), makes the envelope fully privileged.
    """
    admission = admission or AdmissionPolicy()
    enforce = _policy(namespace_labels, admission).enforce
    exempt, runtime_class = None, None
    if namespace is not None and namespace in admission.exempt_namespaces:
        exempt = "namespace"
    elif username is not None and username in admission.exempt_usernames:
        exempt = "user"
    elif admission.exempt_runtime_classes:
        exempt, runtime_class = "runtimeClass", admission.exempt_runtime_classes[0]
    level = "privileged" if exempt else enforce.level
    enforced = active_checks(level, minor_of(enforce.version))
    allowed = {
        name: not any(check in enforced for check in checks)
        for name, checks in _FORBIDDEN_BY.items()
    }
    return PodEnvelope(
        level=level,
        version=enforce.version,
        exempt=exempt,
        runtime_class=runtime_class,
        enforced_checks=enforced,
        **allowed,
    )
