"""The Pod Security checks as data: levels, versions, overrides and allowed values.

Facts from the reference implementation (k8s.io/pod-security-admission, ``policy/``), at the
revision whose test fixtures attackmap's conformance test runs (policy versions v1.0-v1.37).
Versions are minor numbers of ``v1.N``. A check *revision* starting at a version replaces the
previous one from that version on; a restricted check may *override* (replace) a baseline
check from a version on. The code that applies these values is in ``_checks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckInfo:
    id: str
    level: str  # "baseline" | "restricted"
    title: str
    reason: str  # the API server's ForbiddenReason ("|" separates singular|plural forms)
    revisions: tuple[int, ...]  # minor versions at which the check (re)starts
    fields: tuple[str, ...]  # pod fields the check reads
    overrides: tuple[tuple[str, int], ...] = ()  # (baseline check id, from version)


CHECK_TABLE: tuple[CheckInfo, ...] = (
    # --- baseline ----------------------------------------------------------------------------
    CheckInfo(
        "appArmorProfile", "baseline", "AppArmor profile must not be overridden or disabled",
        "forbidden AppArmor profile|forbidden AppArmor profiles", (0,),
        ("metadata.annotations[container.apparmor.security.beta.kubernetes.io/*]",
         "spec.securityContext.appArmorProfile.type",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.appArmorProfile.type"),
    ),
    CheckInfo(
        "capabilities_baseline", "baseline", "No capabilities beyond the container runtime's default set",
        "non-default capabilities", (0,),
        ("spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add",),
    ),
    CheckInfo(
        "hostNamespaces", "baseline", "No sharing of the host's network, PID or IPC namespaces",
        "host namespaces", (0,),
        ("spec.hostNetwork", "spec.hostPID", "spec.hostIPC"),
    ),
    CheckInfo(
        "hostPathVolumes", "baseline", "No hostPath volumes",
        "hostPath volumes", (0,),
        ("spec.volumes[*].hostPath",),
    ),
    CheckInfo(
        "hostPorts", "baseline", "No host ports",
        "hostPort", (0,),
        ("spec.{initContainers,containers,ephemeralContainers}[*].ports[*].hostPort",),
    ),
    CheckInfo(
        "hostProbesAndHostLifecycle", "baseline", "Probes and lifecycle hooks must not target another host",
        "probe or lifecycle host", (34,),
        ("spec.{initContainers,containers,ephemeralContainers}[*].{livenessProbe,readinessProbe,startupProbe}.{httpGet,tcpSocket}.host",
         "spec.{initContainers,containers,ephemeralContainers}[*].lifecycle.{postStart,preStop}.{httpGet,tcpSocket}.host"),
    ),
    CheckInfo(
        "privileged", "baseline", "No privileged containers",
        "privileged", (0,),
        ("spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged",),
    ),
    CheckInfo(
        "procMount", "baseline", "The default /proc masks are kept (any value in a user namespace from v1.35)",
        "procMount", (0, 35),
        ("spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount", "spec.hostUsers"),
    ),
    CheckInfo(
        "seLinuxOptions", "baseline", "No custom SELinux user or role; only container SELinux types",
        "seLinuxOptions", (0, 31),
        ("spec.securityContext.seLinuxOptions",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seLinuxOptions"),
    ),
    CheckInfo(
        "seccompProfile_baseline", "baseline", "Seccomp must not be disabled (Unconfined)",
        "seccompProfile", (0, 19),
        ("metadata.annotations[seccomp.security.alpha.kubernetes.io/pod] (v1.0-v1.18)",
         "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/*] (v1.0-v1.18)",
         "spec.securityContext.seccompProfile.type (v1.19+)",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type (v1.19+)"),
    ),
    CheckInfo(
        "sysctls", "baseline", "Only namespaced, isolated (safe) sysctls",
        "forbidden sysctls", (0, 27, 29, 32, 37),
        ("spec.securityContext.sysctls[*].name",),
    ),
    CheckInfo(
        "windowsHostProcess", "baseline", "No Windows HostProcess containers",
        "hostProcess", (0,),
        ("spec.securityContext.windowsOptions.hostProcess",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.windowsOptions.hostProcess"),
    ),
    # --- restricted --------------------------------------------------------------------------
    CheckInfo(
        "allowPrivilegeEscalation", "restricted", "Privilege escalation must be disabled",
        "allowPrivilegeEscalation != false", (8, 25),
        ("spec.{initContainers,containers,ephemeralContainers}[*].securityContext.allowPrivilegeEscalation",
         "spec.os.name (v1.25+: not checked for Windows pods)"),
    ),
    CheckInfo(
        "capabilities_restricted", "restricted", "Containers drop ALL capabilities and may add only NET_BIND_SERVICE",
        "unrestricted capabilities", (22, 25),
        ("spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.drop",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add",
         "spec.os.name (v1.25+: not checked for Windows pods)"),
        overrides=(("capabilities_baseline", 22),),
    ),
    CheckInfo(
        "procMount_restricted", "restricted", "The default /proc masks are kept, even in a user namespace",
        "procMount", (35,),
        ("spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount",),
        overrides=(("procMount", 35),),
    ),
    CheckInfo(
        "restrictedVolumes", "restricted", "Only ephemeral, projected and PersistentVolumeClaim-backed volume types",
        "restricted volume types", (0,),
        ("spec.volumes[*]",),
        overrides=(("hostPathVolumes", 0),),
    ),
    CheckInfo(
        "runAsNonRoot", "restricted", "Containers must run as non-root (relaxed in a user namespace from v1.35)",
        "runAsNonRoot != true", (0, 35),
        ("spec.securityContext.runAsNonRoot",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot",
         "spec.hostUsers (v1.35+)"),
    ),
    CheckInfo(
        "runAsUser", "restricted", "Containers must not set runAsUser=0 (relaxed in a user namespace from v1.35)",
        "runAsUser=0", (23, 35),
        ("spec.securityContext.runAsUser",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser",
         "spec.hostUsers (v1.35+)"),
    ),
    CheckInfo(
        "seccompProfile_restricted", "restricted", "A RuntimeDefault or Localhost seccomp profile must be set",
        "seccompProfile", (19, 25),
        ("spec.securityContext.seccompProfile.type",
         "spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type",
         "spec.os.name (v1.25+: not checked for Windows pods)"),
        overrides=(("seccompProfile_baseline", 19),),
    ),
)  # fmt: skip

# capabilities_baseline: capabilities a container may add (the runtime's default set).
DEFAULT_CAPABILITIES: frozenset[str] = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
     "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip

# capabilities_restricted
RESTRICTED_ADDABLE_CAPABILITY = "NET_BIND_SERVICE"
RESTRICTED_DROP_REQUIRED = "ALL"

# sysctls: the allowed ("safe") sysctls, by the version that added them.
SAFE_SYSCTLS_ADDED: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
         "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start")),
    (27, ("net.ipv4.ip_local_reserved_ports",)),
    (29, ("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
          "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes")),
    (32, ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")),
    (37, ("net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat")),
)  # fmt: skip

# seLinuxOptions: allowed SELinux types, by the version that added them.
SELINUX_TYPES_ADDED: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("", "container_t", "container_init_t", "container_kvm_t")),
    (31, ("container_engine_t",)),
)

# seccompProfile: allowed profile types (v1.19+) and annotation values (v1.0-v1.18).
SECCOMP_TYPES: frozenset[str] = frozenset({"RuntimeDefault", "Localhost"})
SECCOMP_ANNOTATION_VALUES: frozenset[str] = frozenset({"runtime/default", "docker/default"})
SECCOMP_ANNOTATION_LOCALHOST_PREFIX = "localhost/"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"

# appArmorProfile
APPARMOR_TYPES: frozenset[str] = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
APPARMOR_ANNOTATION_VALUES: frozenset[str] = frozenset({"", "runtime/default"})
APPARMOR_ANNOTATION_LOCALHOST_PREFIX = "localhost/"

# restrictedVolumes: the volume sources allowed at restricted.
RESTRICTED_VOLUME_SOURCES: frozenset[str] = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
     "persistentVolumeClaim", "projected", "secret"}
)  # fmt: skip

# restrictedVolumes: how a forbidden volume's type is named (the first source in this order
# that is set; "unknown" when none is).
RESTRICTED_VOLUME_TYPE_ORDER: tuple[str, ...] = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
    "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos",
)  # fmt: skip

# From this version, runAsNonRoot, runAsUser and (baseline) procMount accept pods in a user
# namespace (spec.hostUsers: false).
USER_NAMESPACE_RELAXATION_SINCE = 35

# From this version, the restricted checks Linux-only fields are skipped for Windows pods.
WINDOWS_SKIP_SINCE = 25


def allowed_since(table: tuple[tuple[int, tuple[str, ...]], ...], minor: int) -> frozenset[str]:
    """The union of the values added at or before ``minor``."""
    return frozenset(value for since, values in table if since <= minor for value in values)
