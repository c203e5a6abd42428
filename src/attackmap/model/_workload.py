"""The normalised workload: where Kubernetes pod fields become security-relevant values.

:func:`build_pod` turns a validated pod template into :class:`PodSpec` — containers with
their *effective* security context (Kubernetes' pod→container merge, container wins),
normalised capabilities, typed volumes, GPU access routes. Literal environment values
are never kept: only whether a value is set and whether the name looks like a credential.
"""

import functools
import re
from decimal import Decimal
from typing import Any, Literal

import orjson
from pydantic import Field, computed_field, field_serializer

from attackmap.model._code import CodeSource, code_sources, kubeconfig_paths, serves_ssh
from attackmap.model._k8s import (
    K8sCommonSecurity,
    K8sContainer,
    K8sPodSpec,
    K8sPodTemplate,
    K8sProbe,
    K8sProfile,
    K8sVolume,
    parse_quantity,
)
from attackmap.model._rbac import ServiceAccountLink
from attackmap.model._refs import Frozen, ObjectRef, SourceLocation, replace, shared, trusted

__all__ = [
    "CREDENTIAL_SHAPES",
    "LINUX_CAPABILITIES",
    "RUNTIME_DEFAULT_CAPABILITIES",
    "AppArmorProfile",
    "Capabilities",
    "CodeSource",
    "Container",
    "EnvFrom",
    "EnvVar",
    "Exposure",
    "ExposureRoute",
    "GPUAccess",
    "Image",
    "NamespacePSS",
    "NetworkIsolation",
    "NodeRequirement",
    "NodeSelectorTerm",
    "PodSpec",
    "Port",
    "Probe",
    "ResolvedMount",
    "Resources",
    "SeccompProfile",
    "Sysctl",
    "Toleration",
    "Volume",
    "VolumeDevice",
    "VolumeMount",
    "Workload",
    "credential_kind",
    "is_credential_name",
    "parse_quantity",
    "redacted_credential",
]

#: Every Linux capability (41, as of Linux 6.x), sorted; ``ALL`` expands to these.
LINUX_CAPABILITIES: tuple[str, ...] = tuple(
    sorted(
        (
            "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF",
            "CHECKPOINT_RESTORE", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",
            "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE",
            "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE",
            "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
            "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE",
            "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE",
            "SYS_TIME", "SYS_TTY_CONFIG", "WAKE_ALARM",
        )
    )
)  # fmt: skip
#: What containerd/CRI-O grant a container by default.
RUNTIME_DEFAULT_CAPABILITIES: frozenset[str] = frozenset(
    {
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
        "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    }
)  # fmt: skip

_CREDENTIAL_EXACT = frozenset(
    {"TOKEN", "PASSWORD", "PASSWD", "SECRET", "API_KEY", "APIKEY", "CREDENTIALS", "PRIVATE_KEY"}
)
_CREDENTIAL_SUFFIX = re.compile(
    r"(_TOKEN|_KEY|_SECRET|_PASSWORD|_PASSWD|_PASS|_PWD|_CREDENTIALS?|_APIKEY|_AUTH)$"
)
_CREDENTIAL_WORD = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|APIKEY|API_KEY|PRIVATE_KEY)")
# Names that say where a credential is, not what it is: NGC_API_KEY_FILE, HF_TOKEN_PATH,
# AWS_WEB_IDENTITY_TOKEN_FILE, POSTGRES_PASSWORD_FILE (the Docker secrets convention),
# SSH_KEY_DIR. Their value is a path; the file it names is a mounted Secret or a hostPath,
# which facts of their own cover.
_PATH_SUFFIX = re.compile(
    r"_(PATH|PATHS|FILE|FILES|FILE_?NAME|FILE_?PATH|DIR|DIRS|DIRECTORY|FOLDER|LOCATION|MOUNT)$"
)
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_VOLUME_SOURCES = (
    "host_path", "empty_dir", "secret", "config_map", "persistent_volume_claim", "projected",
    "csi", "nfs", "image", "ephemeral", "downward_api",
)  # fmt: skip
_VOLUME_TYPE_NAMES = {
    "host_path": "hostPath", "empty_dir": "emptyDir", "secret": "secret",
    "config_map": "configMap", "persistent_volume_claim": "persistentVolumeClaim",
    "projected": "projected", "csi": "csi", "nfs": "nfs", "image": "image",
    "ephemeral": "ephemeral", "downward_api": "downwardAPI",
}  # fmt: skip


#: Credential shapes a literal env value is matched against: ``(kind, starts, pattern,
#: why)``. A match begins at one of ``starts`` (the URL shape: up to 32 characters before
#: ``://``, its scheme); the first kind of this tuple found in a value names it.
CREDENTIAL_SHAPES: tuple[tuple[str, tuple[str, ...], re.Pattern[str], str], ...] = (
    (
        "private-key",
        ("-----BEGIN",),
        re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"),
        "PEM private key (RSA, EC, OpenSSH, PKCS#8, PGP)",
    ),
    (
        "url-password",
        ("://",),
        re.compile(
            r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://"
            r"[^/\s:@]{0,256}+:(?P<password>[^/\s@]{1,256}+)@"
        ),
        "URL with a password in its user information (scheme://user:password@host); "
        "a password that is only a reference ($(VAR), ${VAR}) is not one",
    ),
    (
        "aws-access-key",
        ("AKIA", "ASIA"),
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
        "AWS access key id (AKIA long-term, ASIA temporary)",
    ),
    (
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30}|github_pat_[A-Za-z0-9_]{30})"),
        "GitHub token (ghp_ personal, gho_ OAuth, ghu_/ghs_ app, ghr_ refresh, github_pat_)",
    ),
    (
        "huggingface-token",
        ("hf_",),
        re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30}"),
        "Hugging Face access token (hf_ and 30+ letters and digits)",
    ),
    (
        "nvidia-api-key",
        ("nvapi-",),
        re.compile(r"(?<![A-Za-z0-9_-])nvapi-[A-Za-z0-9_-]{20}"),
        "NVIDIA NGC / build.nvidia.com API key (nvapi- and 20+ characters)",
    ),
    (
        "openai-api-key",
        ("sk-",),
        re.compile(
            r"(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20}|[A-Za-z0-9]{32})"
        ),
        "OpenAI(-compatible) API key (sk-proj-..., or sk- and 32+ letters and digits)",
    ),
    (
        "gitlab-token",
        ("glpat-",),
        re.compile(r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20}"),
        "GitLab personal access token (glpat-)",
    ),
    (
        "slack-token",
        ("xox",),
        re.compile(r"(?<![A-Za-z0-9-])xox[abposr]-[A-Za-z0-9-]{10}"),
        "Slack token (xoxb-, xoxp-...)",
    ),
    (
        "jwt",
        ("eyJ",),
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,4096}+\.eyJ[A-Za-z0-9_-]{4,65536}+\."),
        "JSON Web Token (base64url header and payload, both JSON objects: eyJ...eyJ...)",
    ),
    (
        "bearer-token",
        ("Bearer", "bearer", "BEARER"),
        re.compile(
            r"(?<![A-Za-z0-9])(?:Bearer|bearer|BEARER)[ \t]{1,16}+"
            r"(?:(?=[A-Za-z._~+/=-]{0,63}[0-9])[A-Za-z0-9._~+/=-]{8}|[A-Za-z0-9._~+/=-]{20})"
        ),
        "HTTP bearer credential (Bearer and a token: 8+ characters with a digit, or 20+)",
    ),
)
#: Any text a shape starts with (a test keeps it in step with the shapes): most values
#: (model names, paths, numbers) are cleared by this one search, about 1 µs.
_SHAPE_HINT = re.compile(
    "|".join(re.escape(s) for _, starts, _, _ in CREDENTIAL_SHAPES for s in starts)
)
#: Values longer than this are not searched with ``_SHAPE_HINT`` (one regex step per
#: character) but for each start with ``str.find`` (a fast scan).
_LONG_VALUE = 4096
#: Occurrences of one start examined per value: a value of megabytes made of ``eyJ`` costs
#: a bounded number of matches (an occurrence past the cap is not examined).
_MAX_TRIES = 16
#: How far a URL's scheme may begin before ``://`` and how far its password may end after.
_URL_BEFORE, _URL_AFTER = 32, 3 + 256 + 1 + 256 + 1
_REDACTED_KIND = re.compile(r"<redacted:([a-z-]{1,40})>")
_KINDS = frozenset(kind for kind, _, _, _ in CREDENTIAL_SHAPES)
#: A URL password that is only a reference the kubelet or a shell expands (``$(DB_PASSWORD)``,
#: ``${DB_PASSWORD}``): the secret is elsewhere.
_REFERENCE = re.compile(r"\$(?:\([A-Za-z_][A-Za-z0-9_]*\)|\{[A-Za-z_][A-Za-z0-9_]*\})")


def _shape_at(kind: str, pattern: re.Pattern[str], value: str, pos: int) -> bool:
    """Whether the shape matches at ``pos`` (for a URL: around the ``://`` at ``pos``)."""
    if kind != "url-password":
        return pattern.match(value, pos) is not None
    window = pattern.finditer(value, max(0, pos - _URL_BEFORE), pos + _URL_AFTER)
    return any(_REFERENCE.fullmatch(m.group("password")) is None for m in window)


def credential_kind(value: str) -> str | None:
    """The kind of credential a literal value is shaped like (:data:`CREDENTIAL_SHAPES`:
    ``aws-access-key``, ``jwt``, ``private-key``...), or ``None``.

    The value is only matched, never kept or logged: callers store the kind. A value the
    loader has already redacted (``<redacted:KIND>``, see :func:`redacted_credential`)
    keeps its kind, so a workload rebuilt from its scrubbed template reads the same.
    The cost is linear in the value and bounded per value (see :data:`_MAX_TRIES`).
    """
    redacted = _REDACTED_KIND.fullmatch(value)
    if redacted is not None:
        return redacted.group(1) if redacted.group(1) in _KINDS else None
    if len(value) <= _LONG_VALUE and _SHAPE_HINT.search(value) is None:
        return None
    for kind, starts, pattern, _ in CREDENTIAL_SHAPES:
        for start in starts:
            pos = value.find(start)
            for _ in range(_MAX_TRIES):
                if pos < 0:
                    break
                if _shape_at(kind, pattern, value, pos):
                    return kind
                pos = value.find(start, pos + 1)
    return None


def redacted_credential(kind: str) -> str:
    """What replaces a credential-shaped literal in ``Workload.pod_template``."""
    return f"<redacted:{kind}>"


def is_password_pwd(name: str, value: str) -> bool:
    """Whether a literal ``PWD`` (any case) holds a password: the shell's ``PWD`` is the
    working directory, always an absolute path; any other value is a password under the
    short name (``pwd: Hpwd``). ``*_PWD`` names are credentials whatever their value."""
    return name.upper() == "PWD" and value != "" and not value.startswith("/")


def _names_credential(upper: str) -> bool:
    return (
        upper in _CREDENTIAL_EXACT
        or _CREDENTIAL_SUFFIX.search(upper) is not None
        or _CREDENTIAL_WORD.search(upper) is not None
    )


@functools.lru_cache(maxsize=4096)
def is_credential_name(name: str) -> bool:
    """Whether an environment variable name looks like it carries a credential (memoised:
    the same few names recur in every pod). A name ending in a path word (``_FILE``,
    ``_PATH``, ``_DIR``...) holds the credential's location, not the credential."""
    upper = name.upper()
    return _PATH_SUFFIX.search(upper) is None and _names_credential(upper)


@functools.lru_cache(maxsize=4096)
def is_redacted_name(name: str) -> bool:
    """Whether the literal value of environment variable ``name`` is redacted from the kept
    pod template: every credential-like name, and those naming a credential's path too
    (``AWS_TOKEN_FILE: hunter2`` is written; hiding a path costs less than showing a key),
    and ``PWD``, a password unless it is a path (:func:`is_password_pwd`)."""
    upper = name.upper()
    return upper == "PWD" or _names_credential(upper)


def _normalise_capability(name: str) -> str:
    upper = name.strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


# --------------------------------------------------------------------------- models


class SeccompProfile(Frozen):
    type: str  # RuntimeDefault | Localhost | Unconfined (as written)
    localhost_profile: str | None = None
    source: Literal["container", "pod"] = "container"


class AppArmorProfile(Frozen):
    type: str  # RuntimeDefault | Localhost | Unconfined
    localhost_profile: str | None = None
    source: Literal["container", "pod", "annotation"] = "container"


class Capabilities(Frozen):
    """``add``/``drop`` normalised (no ``CAP_``, upper case, ``ALL`` expanded, sorted);
    ``add_raw``/``drop_raw`` as written (Pod Security compares those)."""

    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    add_raw: tuple[str, ...] = ()
    drop_raw: tuple[str, ...] = ()


class Image(Frozen):
    raw: str
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None


class Port(Frozen):
    container_port: int
    name: str | None = None
    protocol: str = "TCP"
    host_port: int | None = None
    host_ip: str | None = None


class EnvVar(Frozen):
    """An environment variable without its value.

    ``source``: ``literal`` (``value:``), ``secret``/``configMap`` (``*KeyRef``, with
    ``ref_name``/``ref_key``), ``field``, ``resource`` or ``unset`` (name only).
    ``credential_like``: the name looks like a credential's, or the literal value is shaped
    like one; ``credential_kind``: that shape (``aws-access-key``, ``jwt``... see
    :data:`CREDENTIAL_SHAPES`), ``None`` when only the name (or nothing) says so.
    """

    name: str
    source: Literal["literal", "secret", "configMap", "field", "resource", "unset"]
    ref_name: str | None = None
    ref_key: str | None = None
    has_value: bool = False
    credential_like: bool = False
    credential_kind: str | None = None


class EnvFrom(Frozen):
    source: Literal["secret", "configMap"]
    name: str
    prefix: str | None = None


class VolumeMount(Frozen):
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str | None = None
    propagation: str | None = None


class VolumeDevice(Frozen):
    name: str
    device_path: str


class Resources(Frozen):
    """Requests/limits: ``gpu`` = GPUs requested (``nvidia.com/gpu`` + MIG slices), CPU in
    cores, memory in bytes, ``extended`` = every other resource name → quantity string."""

    gpu: int = 0
    gpu_resources: dict[str, int] = Field(default_factory=dict)
    cpu_request: float | None = None
    cpu_limit: float | None = None
    memory_request: int | None = None
    memory_limit: int | None = None
    extended: dict[str, str] = Field(default_factory=dict)
    claims: tuple[str, ...] = ()


class Probe(Frozen):
    kind: Literal["liveness", "readiness", "startup"]
    handler: Literal["httpGet", "tcpSocket", "exec", "grpc", "none"]
    port: int | str | None = None
    path: str | None = None
    host: str | None = None


class Container(Frozen):
    """One container with its *effective* security context (pod values merged in;
    container wins), as the runtime will run it."""

    name: str
    kind: Literal["init", "regular", "sidecar", "ephemeral"]
    image: Image | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    seccomp_profile: SeccompProfile | None = None
    apparmor_profile: AppArmorProfile | None = None
    se_linux_options: dict[str, str] | None = None
    windows_options: dict[str, Any] | None = None
    privileged: bool = False
    allow_privilege_escalation: bool | None = None
    read_only_root_filesystem: bool = False
    proc_mount: str | None = None
    capabilities: Capabilities = trusted(Capabilities)
    ports: tuple[Port, ...] = ()
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvFrom, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    volume_devices: tuple[VolumeDevice, ...] = ()
    resources: Resources = trusted(Resources)
    probes: tuple[Probe, ...] = ()
    has_command: bool = False
    has_args: bool = False
    #: code it runs from outside its image, as command, args and environment show
    #: (see :mod:`attackmap.model._code`)
    code_sources: tuple[CodeSource, ...] = ()
    #: its command starts sshd
    ssh_server: bool = False
    #: where its manifest says its kubeconfig is (``KUBECONFIG``, ``--kubeconfig``)
    kubeconfig_paths: tuple[str, ...] = ()

    @computed_field  # type: ignore[prop-decorator]  # pydantic computed_field on a property
    @property
    def effective_capabilities(self) -> frozenset[str]:
        """Runtime default set − drop + add; every capability when privileged."""
        if self.privileged:
            return frozenset(LINUX_CAPABILITIES)
        return (RUNTIME_DEFAULT_CAPABILITIES - set(self.capabilities.drop)) | set(
            self.capabilities.add
        )

    @field_serializer("effective_capabilities")
    def _sorted_capabilities(self, value: frozenset[str]) -> list[str]:
        return sorted(value)


class Volume(Frozen):
    """A pod volume, typed by its source (``type`` is the Kubernetes field name:
    ``hostPath``, ``emptyDir``, ``persistentVolumeClaim``, ``secret``, ``configMap``,
    ``projected``, ``csi``, ``nfs``, ``image``, ``ephemeral``, ``downwardAPI``, or any
    other source's field name). A volume with no source is ``emptyDir`` (API defaulting).
    PVC volumes get ``access_modes`` and the PV's ``pv_backing``/``pv_path`` when linked."""

    name: str
    type: str
    path: str | None = None  # hostPath / nfs path
    host_path_type: str | None = None
    medium: str | None = None
    size_limit: str | None = None
    secret_name: str | None = None
    config_map_name: str | None = None
    claim_name: str | None = None
    read_only: bool = False
    driver: str | None = None
    server: str | None = None
    image_reference: str | None = None
    service_account_token: bool = False  # projected SA token source
    projected_secrets: tuple[str, ...] = ()
    projected_config_maps: tuple[str, ...] = ()
    access_modes: tuple[str, ...] = ()
    pv: ObjectRef | None = None
    pv_backing: str | None = None
    pv_path: str | None = None
    pv_server: str | None = None  # an NFS PV's server (pv_path is then its export path)


class ResolvedMount(Frozen):
    mount: VolumeMount
    volume: Volume | None
    writable: bool


class GPUAccess(Frozen):
    route: Literal["resource", "runtimeClass", "env", "cdi", "hostPath-device", "dra"]
    detail: str
    container: str | None = None  # None: the whole pod


class Sysctl(Frozen):
    name: str
    value: str | None = None


class Toleration(Frozen):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None


class NodeRequirement(Frozen):
    """One node selector requirement: ``key`` (a label, or ``metadata.name`` in
    ``matchFields``), ``operator`` (In, NotIn, Exists, DoesNotExist, Gt, Lt), ``values``."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: tuple[str, ...] = ()


class NodeSelectorTerm(Frozen):
    """A required node affinity term: every expression and field holds (terms are ORed)."""

    match_expressions: tuple[NodeRequirement, ...] = ()
    match_fields: tuple[NodeRequirement, ...] = ()


class PodSpec(Frozen):
    """The pod, normalised. ``containers`` holds every container in Pod Security order:
    init (incl. sidecars), regular, ephemeral."""

    containers: tuple[Container, ...]
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    share_process_namespace: bool = False
    host_users: bool | None = None
    sysctls: tuple[Sysctl, ...] = ()
    service_account_name: str = "default"
    automount_service_account_token: bool | None = None  # the pod field, as written
    runtime_class_name: str | None = None
    node_name: str | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    # requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms; None: none required
    node_affinity: tuple[NodeSelectorTerm, ...] | None = None
    volumes: tuple[Volume, ...] = ()
    fs_group: int | None = None
    supplemental_groups: tuple[int, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    resource_claims: tuple[str, ...] = ()
    gpu_access: tuple[GPUAccess, ...] = ()

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)

    def volume(self, name: str) -> Volume | None:
        return next((v for v in self.volumes if v.name == name), None)

    def mounts(self, container: Container) -> tuple[ResolvedMount, ...]:
        """``container``'s mounts with their volumes; ``writable`` = neither the mount nor
        the volume source is read-only."""
        out = []
        for m in container.volume_mounts:
            v = self.volume(m.name)
            out.append(
                trusted(
                    ResolvedMount,
                    mount=m,
                    volume=v,
                    writable=not m.read_only and not (v and v.read_only),
                )
            )
        return tuple(out)

    def volume_mounts(self, container: Container) -> list[tuple[ResolvedMount, Volume]]:
        """``container``'s mounts of volumes the pod defines, each with its volume (a mount
        naming no volume of the pod is left out)."""
        return [(m, m.volume) for m in self.mounts(container) if m.volume is not None]


class ExposureRoute(Frozen):
    kind: Literal[
        "Service", "Ingress", "HTTPRoute", "GRPCRoute", "VirtualService", "hostNetwork", "hostPort"
    ]
    ref: ObjectRef | None = None
    service_type: str | None = None
    port: int | None = None
    target: int | str | None = None
    level: Literal["cluster", "node", "external"] = "cluster"
    source: SourceLocation | None = None


class Exposure(Frozen):
    """How far the workload's ports reach: ``none`` < ``cluster`` < ``node`` < ``external``.

    See docs/model.md ("Exposure") for the rule."""

    level: Literal["none", "cluster", "node", "external"] = "none"
    routes: tuple[ExposureRoute, ...] = ()


class NetworkIsolation(Frozen):
    """What NetworkPolicies selecting the pod allow. Without any, nothing is isolated."""

    ingress_isolated: bool = False
    policies: tuple[ObjectRef, ...] = ()
    allows_from_any_pod: bool = True
    allows_from_external: bool = True
    allowed_peers: tuple[str, ...] = ()
    egress_isolated: bool = False
    egress_allows_any: bool = True
    #: egress to the cloud metadata address (169.254.169.254) is allowed (ports not checked)
    egress_allows_metadata: bool = True
    #: a Cilium or Calico policy selects the pod for ingress / egress (pod-to-pod reach is
    #: then taken to be allowed in that direction: graph/_network.py)
    cni_ingress: bool = False
    cni_egress: bool = False


class NamespacePSS(Frozen):
    """Pod Security Admission labels of a namespace (``None`` when unlabelled)."""

    enforce: str | None = None
    enforce_version: str | None = None
    audit: str | None = None
    audit_version: str | None = None
    warn: str | None = None
    warn_version: str | None = None


class Workload(Frozen):
    """One pod template and everything known about it.

    ``ref`` is the object the user wrote (a Deployment, or a custom resource such as
    ``NIMService/nim/llama`` — then ``rendered`` lists the objects the operator creates).
    ``pod_template`` is the raw template ``{"metadata": ..., "spec": ...}`` (JSON data,
    credential-like literal env values replaced by ``"<redacted>"``): treat it as
    read-only and deep-copy before patching. Link fields (``exposure``, ``network``,
    ``service_account``, ``namespace_labels``, ``pss``) are filled by the linker.
    """

    ref: ObjectRef
    owner_chain: tuple[ObjectRef, ...] = ()
    replicas: int | None = None
    source: SourceLocation
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    pod: PodSpec
    pod_template: dict[str, Any]
    rendered: tuple[ObjectRef, ...] = ()
    exposure: Exposure = trusted(Exposure)
    network: NetworkIsolation = trusted(NetworkIsolation)
    service_account: ServiceAccountLink | None = None
    namespace_labels: dict[str, str] = Field(default_factory=dict)
    pss: NamespacePSS = trusted(NamespacePSS)

    @property
    def namespace(self) -> str:
        return self.ref.namespace or "default"


# --------------------------------------------------------------------------- building


def parse_image(raw: str) -> Image:
    """Split an image reference into registry, repository, tag and digest."""
    rest, _, digest = raw.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    name, colon, tag = path.rpartition(":")
    if not colon or "/" in tag:
        name, tag = path, ""
    if registry == "docker.io" and "/" not in name:
        name = f"library/{name}"
    return shared(
        Image, raw=raw, registry=registry, repository=name, tag=tag or None, digest=digest or None
    )


def _seccomp(c: K8sCommonSecurity | None, pod: K8sCommonSecurity | None) -> SeccompProfile | None:
    levels: tuple[tuple[K8sCommonSecurity | None, Literal["container", "pod"]], ...] = (
        (c, "container"),
        (pod, "pod"),
    )
    for sc, source in levels:
        if sc is not None and sc.seccomp_profile is not None:
            p: K8sProfile = sc.seccomp_profile
            return shared(
                SeccompProfile, type=p.type, localhost_profile=p.localhost_profile, source=source
            )
    return None


def _apparmor(
    name: str,
    c: K8sCommonSecurity | None,
    pod: K8sCommonSecurity | None,
    annotations: dict[str, str],
) -> AppArmorProfile | None:
    """The profile the kubelet applies: the container field, then the deprecated
    annotation (static pods may carry only that), then the pod field."""

    def field(
        sc: K8sCommonSecurity | None, source: Literal["container", "pod"]
    ) -> AppArmorProfile | None:
        if sc is None or sc.app_armor_profile is None:
            return None
        p = sc.app_armor_profile
        return shared(
            AppArmorProfile, type=p.type, localhost_profile=p.localhost_profile, source=source
        )

    found = field(c, "container")
    if found is not None:
        return found
    value = annotations.get(_APPARMOR_ANNOTATION + name)
    if value is None:
        return field(pod, "pod")
    if value == "runtime/default":
        return shared(AppArmorProfile, type="RuntimeDefault", source="annotation")
    if value == "unconfined":
        return shared(AppArmorProfile, type="Unconfined", source="annotation")
    if value.startswith("localhost/"):
        return shared(
            AppArmorProfile, type="Localhost", localhost_profile=value[10:], source="annotation"
        )
    return shared(AppArmorProfile, type=value, source="annotation")


@functools.lru_cache(maxsize=1024)
def _expand(names: tuple[str, ...]) -> tuple[str, ...]:
    """Capability names normalised, ``ALL`` expanded, sorted (memoised: pods repeat the
    same few lists, ``drop: [ALL]`` above all)."""
    out: set[str] = set()
    for n in names:
        norm = _normalise_capability(n)
        if norm == "ALL":
            out.update(LINUX_CAPABILITIES)
        elif norm:
            out.add(norm)
    return tuple(sorted(out))


def _node_affinity(spec: K8sPodSpec) -> tuple[NodeSelectorTerm, ...] | None:
    """The required node affinity terms (None without any: the API server refuses an
    empty list, and preferred terms do not constrain)."""
    na = spec.affinity.node_affinity if spec.affinity is not None else None
    required = na.required_during_scheduling_ignored_during_execution if na else None
    terms = required.node_selector_terms if required is not None else None
    if not terms:
        return None

    def reqs(items: list[Any] | None) -> tuple[NodeRequirement, ...]:
        return tuple(
            shared(NodeRequirement, key=r.key, operator=r.operator, values=tuple(r.values or ()))
            for r in items or ()
        )

    return tuple(
        shared(
            NodeSelectorTerm,
            match_expressions=reqs(t.match_expressions),
            match_fields=reqs(t.match_fields),
        )
        for t in terms
    )


def _resources(c: K8sContainer) -> Resources:
    r = c.resources
    if r is None:
        return trusted(Resources)
    limits = r.limits or {}
    requests = r.requests or {}
    gpu_resources: dict[str, int] = {}
    extended: dict[str, str] = {}
    for name in sorted(set(limits) | set(requests)):
        value = limits.get(name, requests.get(name))
        if name.startswith(("nvidia.com/gpu", "nvidia.com/mig-")):
            gpu_resources[name] = int(parse_quantity(value))
        elif name not in ("cpu", "memory"):
            parse_quantity(value)
            extended[name] = str(value)

    def q(d: dict[str, Any], key: str) -> Decimal | None:
        return parse_quantity(d[key]) if key in d else None

    cpu_req, cpu_lim = q(requests, "cpu"), q(limits, "cpu")
    mem_req, mem_lim = q(requests, "memory"), q(limits, "memory")
    return trusted(
        Resources,
        gpu=sum(gpu_resources.values()),
        gpu_resources=gpu_resources,
        cpu_request=float(cpu_req) if cpu_req is not None else None,
        cpu_limit=float(cpu_lim) if cpu_lim is not None else None,
        memory_request=int(mem_req) if mem_req is not None else None,
        memory_limit=int(mem_lim) if mem_lim is not None else None,
        extended=extended,
        claims=tuple(str(x.get("name", "")) for x in r.claims or ()),
    )


def _probe(kind: Literal["liveness", "readiness", "startup"], p: K8sProbe) -> Probe:
    if p.http_get is not None:
        return shared(
            Probe,
            kind=kind,
            handler="httpGet",
            port=p.http_get.port,
            path=p.http_get.path,
            host=p.http_get.host,
        )
    if p.tcp_socket is not None:
        return shared(
            Probe, kind=kind, handler="tcpSocket", port=p.tcp_socket.port, host=p.tcp_socket.host
        )
    if p.exec is not None:
        return shared(Probe, kind=kind, handler="exec")
    if p.grpc is not None:
        port = p.grpc.get("port")
        return trusted(  # a port of any type the raw mapping holds: not shared
            Probe, kind=kind, handler="grpc", port=port if isinstance(port, int) else None
        )
    return shared(Probe, kind=kind, handler="none")


def _env(c: K8sContainer) -> tuple[EnvVar, ...]:
    out = []
    for e in c.env or ():
        cred = is_credential_name(e.name)
        vf = e.value_from
        if vf is not None and vf.secret_key_ref is not None:
            out.append(
                shared(
                    EnvVar,
                    name=e.name,
                    source="secret",
                    ref_name=vf.secret_key_ref.name,
                    ref_key=vf.secret_key_ref.key,
                    has_value=True,
                    credential_like=cred,
                )
            )
        elif vf is not None and vf.config_map_key_ref is not None:
            out.append(
                shared(
                    EnvVar,
                    name=e.name,
                    source="configMap",
                    ref_name=vf.config_map_key_ref.name,
                    ref_key=vf.config_map_key_ref.key,
                    has_value=True,
                    credential_like=cred,
                )
            )
        elif vf is not None and vf.field_ref is not None:
            out.append(
                shared(
                    EnvVar,
                    name=e.name,
                    source="field",
                    ref_key=vf.field_ref.field_path,
                    has_value=True,
                    credential_like=cred,
                )
            )
        elif vf is not None and vf.resource_field_ref is not None:
            out.append(
                shared(
                    EnvVar,
                    name=e.name,
                    source="resource",
                    ref_key=vf.resource_field_ref.resource,
                    has_value=True,
                    credential_like=cred,
                )
            )
        elif e.value is not None:
            # the value is matched here and dropped: only its kind is kept
            kind = credential_kind(e.value) if e.value else None
            out.append(
                shared(
                    EnvVar,
                    name=e.name,
                    source="literal",
                    has_value=e.value != "",
                    credential_like=cred or kind is not None or is_password_pwd(e.name, e.value),
                    credential_kind=kind,
                )
            )
        else:
            out.append(shared(EnvVar, name=e.name, source="unset", credential_like=cred))
    return tuple(out)


def _container(
    c: K8sContainer,
    kind: Literal["init", "regular", "sidecar", "ephemeral"],
    pod_sc: K8sCommonSecurity | None,
    annotations: dict[str, str],
) -> Container:
    sc = c.security_context
    caps = sc.capabilities if sc is not None else None
    add_raw = tuple(caps.add or ()) if caps is not None else ()
    drop_raw = tuple(caps.drop or ()) if caps is not None else ()

    def merged(field: str) -> Any:
        value = getattr(sc, field) if sc is not None else None
        if value is None and pod_sc is not None:
            value = getattr(pod_sc, field)
        return value

    selinux = merged("se_linux_options")
    windows = merged("windows_options")
    env_from = []
    for ef in c.env_from or ():
        if ef.secret_ref is not None and ef.secret_ref.name:
            env_from.append(
                shared(EnvFrom, source="secret", name=ef.secret_ref.name, prefix=ef.prefix)
            )
        if ef.config_map_ref is not None and ef.config_map_ref.name:
            env_from.append(
                shared(EnvFrom, source="configMap", name=ef.config_map_ref.name, prefix=ef.prefix)
            )
    probes = [
        _probe(k, p)  # type: ignore[arg-type]  # literal from the tuple below
        for k, p in (
            ("liveness", c.liveness_probe),
            ("readiness", c.readiness_probe),
            ("startup", c.startup_probe),
        )
        if p is not None
    ]
    return trusted(
        Container,
        name=c.name,
        kind=kind,
        image=parse_image(c.image) if c.image else None,
        run_as_user=merged("run_as_user"),
        run_as_group=merged("run_as_group"),
        run_as_non_root=merged("run_as_non_root"),
        seccomp_profile=_seccomp(sc, pod_sc),
        apparmor_profile=_apparmor(c.name, sc, pod_sc, annotations),
        se_linux_options=selinux.model_dump(exclude_none=True) if selinux is not None else None,
        windows_options=windows.model_dump(exclude_none=True) if windows is not None else None,
        privileged=bool(sc is not None and sc.privileged),
        allow_privilege_escalation=sc.allow_privilege_escalation if sc is not None else None,
        read_only_root_filesystem=bool(sc is not None and sc.read_only_root_filesystem),
        proc_mount=sc.proc_mount if sc is not None else None,
        capabilities=shared(
            Capabilities,
            add=_expand(add_raw),
            drop=_expand(drop_raw),
            add_raw=add_raw,
            drop_raw=drop_raw,
        ),
        ports=tuple(
            shared(
                Port,
                container_port=p.container_port,
                name=p.name,
                protocol=p.protocol or "TCP",
                host_port=p.host_port or None,
                host_ip=p.host_ip,
            )
            for p in c.ports or ()
        ),
        env=_env(c),
        env_from=tuple(env_from),
        volume_mounts=tuple(
            shared(
                VolumeMount,
                name=m.name,
                mount_path=m.mount_path,
                read_only=bool(m.read_only),
                sub_path=m.sub_path or m.sub_path_expr or None,
                propagation=m.mount_propagation,
            )
            for m in c.volume_mounts or ()
        ),
        volume_devices=tuple(
            shared(VolumeDevice, name=d.name, device_path=d.device_path)
            for d in c.volume_devices or ()
        ),
        resources=_resources(c),
        probes=tuple(probes),
        has_command=bool(c.command),
        has_args=bool(c.args),
        code_sources=code_sources(
            c.command, c.args, ((e.name, e.value) for e in c.env or () if e.value_from is None)
        ),
        ssh_server=serves_ssh(c.command, c.args),
        kubeconfig_paths=kubeconfig_paths(
            c.command, c.args, ((e.name, e.value) for e in c.env or () if e.value_from is None)
        ),
    )


def _volume(v: K8sVolume) -> Volume:
    source = next((s for s in _VOLUME_SOURCES if getattr(v, s) is not None), None)
    if source is None:
        others = sorted(k for k, val in (v.model_extra or {}).items() if val is not None)
        return shared(Volume, name=v.name, type=others[0] if others else "emptyDir")
    kind = _VOLUME_TYPE_NAMES[source]
    if v.host_path is not None:
        return shared(
            Volume,
            name=v.name,
            type=kind,
            path=v.host_path.path,
            host_path_type=v.host_path.type or None,
        )
    if v.empty_dir is not None:
        size = v.empty_dir.size_limit
        return shared(
            Volume,
            name=v.name,
            type=kind,
            medium=v.empty_dir.medium or None,
            size_limit=str(size) if size is not None else None,
        )
    if v.secret is not None:
        return shared(
            Volume, name=v.name, type=kind, secret_name=v.secret.secret_name, read_only=True
        )
    if v.config_map is not None:
        return shared(
            Volume, name=v.name, type=kind, config_map_name=v.config_map.name, read_only=True
        )
    if v.persistent_volume_claim is not None:
        pvc = v.persistent_volume_claim
        return shared(
            Volume, name=v.name, type=kind, claim_name=pvc.claim_name, read_only=bool(pvc.read_only)
        )
    if v.projected is not None:
        sources = v.projected.sources or []
        return shared(
            Volume,
            name=v.name,
            type=kind,
            read_only=True,
            service_account_token=any(s.service_account_token is not None for s in sources),
            projected_secrets=tuple(
                s.secret.name for s in sources if s.secret is not None and s.secret.name
            ),
            projected_config_maps=tuple(
                s.config_map.name for s in sources if s.config_map is not None and s.config_map.name
            ),
        )
    if v.csi is not None:
        return shared(
            Volume, name=v.name, type=kind, driver=v.csi.driver, read_only=bool(v.csi.read_only)
        )
    if v.nfs is not None:
        return shared(
            Volume,
            name=v.name,
            type=kind,
            server=v.nfs.server,
            path=v.nfs.path,
            read_only=bool(v.nfs.read_only),
        )
    if v.image is not None:
        return shared(
            Volume, name=v.name, type=kind, image_reference=v.image.reference, read_only=True
        )
    return shared(Volume, name=v.name, type=kind)


def _gpu_access(
    pod: PodSpec, annotations: dict[str, str], env_values: dict[str, dict[str, str | None]]
) -> tuple[GPUAccess, ...]:
    out: list[GPUAccess] = []
    first: dict[str, Volume] = {}  # a mount uses the first volume of its name
    for v in pod.volumes:
        first.setdefault(v.name, v)
    devices = {  # hostPath volumes of /dev or a /dev/nvidia* device
        name: v
        for name, v in first.items()
        if v.type == "hostPath"
        and v.path
        and (v.path.rstrip("/") == "/dev" or v.path.startswith("/dev/nvidia"))
    }
    for c in pod.containers:
        for name, count in c.resources.gpu_resources.items():
            if count > 0:
                out.append(
                    shared(GPUAccess, route="resource", detail=f"{name}: {count}", container=c.name)
                )
        for e in c.env:
            if e.name == "NVIDIA_VISIBLE_DEVICES":
                value = env_values.get(c.name, {}).get(e.name)
                if e.source != "literal" or (value or "").strip().lower() not in (
                    "",
                    "void",
                    "none",
                ):
                    out.append(
                        shared(
                            GPUAccess,
                            route="env",
                            detail="NVIDIA_VISIBLE_DEVICES selects devices",
                            container=c.name,
                        )
                    )
        for mount in c.volume_mounts:
            device = devices.get(mount.name)
            if device is not None:
                out.append(
                    shared(
                        GPUAccess,
                        route="hostPath-device",
                        detail=f"hostPath {device.path} at {mount.mount_path}",
                        container=c.name,
                    )
                )
        for claim in c.resources.claims:
            out.append(
                shared(GPUAccess, route="dra", detail=f"resource claim {claim}", container=c.name)
            )
    if pod.runtime_class_name and pod.runtime_class_name.lower().startswith("nvidia"):
        out.append(
            shared(
                GPUAccess, route="runtimeClass", detail=f"runtimeClassName {pod.runtime_class_name}"
            )
        )
    for key in sorted(annotations):
        if key.startswith("cdi.k8s.io/"):
            out.append(shared(GPUAccess, route="cdi", detail=f"annotation {key}"))
    if pod.resource_claims and not any(a.route == "dra" for a in out):
        out.append(
            shared(
                GPUAccess,
                route="dra",
                detail="pod resourceClaims " + ", ".join(pod.resource_claims),
            )
        )
    return tuple(out)


#: :func:`build_pod`'s memo: a container by what its :class:`Container` is made of
ContainerMemo = dict[bytes, Container]


def _container_key(
    kind: str, raw: object, raw_pod_sc: object, apparmor: str | None
) -> bytes | None:
    """Everything :func:`_container` reads, as text: the container's raw mapping (its
    parse model is a function of it), its kind, the pod's raw ``securityContext`` and the
    container's AppArmor annotation. JSON keeps ``1``, ``1.0``, ``true`` and ``"1"`` apart;
    a value JSON cannot hold has no key (the container is built)."""
    try:
        return orjson.dumps((kind, raw, raw_pod_sc, apparmor), option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None


def build_pod(
    template: K8sPodTemplate, raw_spec: dict[str, Any], memo: ContainerMemo | None = None
) -> PodSpec:
    """Normalise a validated pod template (``raw_spec`` is its raw ``spec`` mapping).

    ``memo``: the containers built so far in one load. Workloads repeat containers (a
    chart's sidecar, one image in many namespaces: 3,904 distinct of 8,950 containers in
    the synthetic 10k cluster), and a :class:`Container` is a frozen function of its
    :func:`_container_key`, so an equal one is the same object."""
    spec = template.spec
    annotations = dict(template.metadata.annotations or {}) if template.metadata else {}
    pod_sc = spec.security_context
    raw_pod_sc = raw_spec.get("securityContext")

    def build(
        c: K8sContainer, kind: Literal["init", "regular", "sidecar", "ephemeral"], raw: object
    ) -> Container:
        if memo is None or raw is None:
            return _container(c, kind, pod_sc, annotations)
        apparmor = annotations.get(_APPARMOR_ANNOTATION + c.name)
        key = _container_key(kind, raw, raw_pod_sc, apparmor)
        if key is None:
            return _container(c, kind, pod_sc, annotations)
        found = memo.get(key)
        if found is None:
            found = memo[key] = _container(c, kind, pod_sc, annotations)
        return found

    def raws(group: str, parsed: list[K8sContainer]) -> list[object]:
        """The raw mappings of ``parsed`` (validated: one per model, in order)."""
        found = raw_spec.get(group)
        if isinstance(found, list) and len(found) == len(parsed):
            return found
        return [None] * len(parsed)  # no raw mapping: no key, built

    containers: list[Container] = []
    init = list(spec.init_containers or ())
    for c, raw in zip(init, raws("initContainers", init), strict=True):
        containers.append(build(c, "sidecar" if c.restart_policy == "Always" else "init", raw))
    regular = list(spec.containers)
    containers.extend(
        build(c, "regular", raw)
        for c, raw in zip(regular, raws("containers", regular), strict=True)
    )
    ephemeral = list(spec.ephemeral_containers or ())
    containers.extend(
        build(c, "ephemeral", raw)
        for c, raw in zip(ephemeral, raws("ephemeralContainers", ephemeral), strict=True)
    )
    env_values: dict[str, dict[str, str | None]] = {}
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for rc in raw_spec.get(group) or ():
            for e in rc.get("env") or ():
                if isinstance(e, dict) and e.get("name") == "NVIDIA_VISIBLE_DEVICES":
                    env_values.setdefault(str(rc.get("name")), {})[e["name"]] = e.get("value")
    claims = tuple(str(c.get("name", "")) for c in spec.resource_claims or ())
    pod = trusted(
        PodSpec,
        containers=tuple(containers),
        host_network=bool(spec.host_network),
        host_pid=bool(spec.host_pid),
        host_ipc=bool(spec.host_ipc),
        share_process_namespace=bool(spec.share_process_namespace),
        host_users=spec.host_users,
        sysctls=tuple(
            shared(Sysctl, name=s.name, value=s.value) for s in (pod_sc.sysctls or ()) if pod_sc
        )
        if pod_sc
        else (),
        service_account_name=spec.service_account_name or spec.service_account or "default",
        automount_service_account_token=spec.automount_service_account_token,
        runtime_class_name=spec.runtime_class_name or None,
        node_name=spec.node_name,
        node_selector=dict(spec.node_selector or {}),
        tolerations=tuple(
            shared(Toleration, key=t.key, operator=t.operator, value=t.value, effect=t.effect)
            for t in spec.tolerations or ()
        ),
        node_affinity=_node_affinity(spec),
        volumes=tuple(_volume(v) for v in spec.volumes or ()),
        fs_group=pod_sc.fs_group if pod_sc else None,
        supplemental_groups=tuple(pod_sc.supplemental_groups or ()) if pod_sc else (),
        image_pull_secrets=tuple(s.name for s in spec.image_pull_secrets or () if s.name),
        resource_claims=claims,
    )
    return replace(pod, gpu_access=_gpu_access(pod, annotations, env_values))
