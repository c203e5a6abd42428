"""Kubernetes object shapes, as far as attackmap reads them.

These parse models are *tolerant*: unknown fields are ignored (``extra="ignore"``), every
field may be absent or ``null``. They are *strict* about the types of the fields we do
read (a string where Kubernetes wants a boolean is an error, as the API server would
say), so no field we use is ever silently lost. Names are the Kubernetes camelCase names
(aliases); attribute names are snake_case. The normalised model (``_workload.py``) is
built from these.
"""

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasGenerator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

__all__ = [
    "K8sCapabilities",
    "K8sContainer",
    "K8sEnvVar",
    "K8sMeta",
    "K8sPodSecurityContext",
    "K8sPodSpec",
    "K8sPodTemplate",
    "K8sProbe",
    "K8sSecurityContext",
    "K8sVolume",
    "K8sVolumeMount",
    "parse_quantity",
    "type_name",
]

_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
    "P": Decimal(10**15), "E": Decimal(10**18),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}  # fmt: skip


def parse_quantity(value: object) -> Decimal:
    """A Kubernetes resource quantity (``500m``, ``16Gi``, ``1e3``, ``2``) as a Decimal.

    Raises ``ValueError`` for anything else.
    """
    if type(value) is str:  # the common case first
        return _parse_quantity_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a quantity, got {type(value).__name__}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    return _parse_quantity_text(value)


@functools.lru_cache(maxsize=4096)
def _parse_quantity_text(value: str) -> Decimal:
    """:func:`parse_quantity` of a string, memoised: manifests repeat the same few
    quantities (``1``, ``500m``, ``16Gi``) endlessly; a Decimal is immutable."""
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"malformed quantity {value!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIX[suffix]
    except InvalidOperation as e:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"malformed quantity {value!r}") from e


def _check_quantity(value: object) -> object:
    parse_quantity(value)
    return value


Quantity = Annotated[int | float | str, AfterValidator(_check_quantity)]

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _string_list(value: object) -> object:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PydanticCustomError(
            "string_list",
            "expected a list of strings, got {got}",
            {"got": type_name(value) if not isinstance(value, list) else "a list with non-strings"},
        )
    return value


def _scalar_as_string(value: object) -> object:
    # env values / label values: Kubernetes wants strings; YAML often gives 8000 or true.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


StrList = Annotated[list[str] | None, BeforeValidator(_string_list)]
LooseStr = Annotated[str | None, BeforeValidator(_scalar_as_string)]


def _string_map(value: object) -> object:
    """:func:`_scalar_as_string` for every value of a mapping: one call per mapping
    (labels, annotations, selectors are mostly strings already), not one per value."""
    if isinstance(value, dict):
        for v in value.values():
            if type(v) is not str:
                return {k: _scalar_as_string(v) for k, v in value.items()}
    return value


StrMap = Annotated[dict[str, str], BeforeValidator(_string_map)]
IntOrStr = int | str


# Validated from manifests only (``model_validate``), by the names the API spells
# (``hostNetwork``); a Python ``__init__`` by field name is not offered, hence the ignore.
class K8s(BaseModel):
    """Base of the tolerant, strict-typed Kubernetes parse models."""

    model_config = ConfigDict(  # type: ignore[pydantic-alias]
        strict=True,
        extra="ignore",
        frozen=True,
        alias_generator=AliasGenerator(validation_alias=to_camel),
        defer_build=True,
    )


class K8sMeta(K8s):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    labels: StrMap | None = None
    annotations: StrMap | None = None


class K8sCapabilities(K8s):
    add: StrList = None
    drop: StrList = None


class K8sProfile(K8s):
    type: str
    localhost_profile: str | None = None


class K8sSELinux(K8s):
    user: str | None = None
    role: str | None = None
    type: str | None = None
    level: str | None = None


class K8sWindows(K8s):
    gmsa_credential_spec_name: str | None = None
    gmsa_credential_spec: str | None = None
    run_as_user_name: str | None = None
    host_process: bool | None = None


class K8sSysctl(K8s):
    name: str
    value: LooseStr = None


class K8sCommonSecurity(K8s):
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    seccomp_profile: K8sProfile | None = None
    app_armor_profile: K8sProfile | None = None
    se_linux_options: K8sSELinux | None = None
    windows_options: K8sWindows | None = None


class K8sSecurityContext(K8sCommonSecurity):
    privileged: bool | None = None
    allow_privilege_escalation: bool | None = None
    read_only_root_filesystem: bool | None = None
    proc_mount: str | None = None
    capabilities: K8sCapabilities | None = None


class K8sPodSecurityContext(K8sCommonSecurity):
    fs_group: int | None = None
    supplemental_groups: list[int] | None = None
    sysctls: list[K8sSysctl] | None = None


class K8sPort(K8s):
    container_port: int
    name: str | None = None
    protocol: str | None = None
    host_port: int | None = None
    host_ip: str | None = Field(default=None, validation_alias="hostIP")


class K8sKeyRef(K8s):
    name: str | None = None
    key: str | None = None
    optional: bool | None = None


class K8sFieldRef(K8s):
    field_path: str | None = None


class K8sResourceFieldRef(K8s):
    resource: str | None = None


class K8sEnvSource(K8s):
    secret_key_ref: K8sKeyRef | None = None
    config_map_key_ref: K8sKeyRef | None = None
    field_ref: K8sFieldRef | None = None
    resource_field_ref: K8sResourceFieldRef | None = None


class K8sEnvVar(K8s):
    name: str
    value: LooseStr = None
    value_from: K8sEnvSource | None = None


class K8sNameRef(K8s):
    name: str | None = None
    optional: bool | None = None


class K8sEnvFrom(K8s):
    prefix: str | None = None
    secret_ref: K8sNameRef | None = None
    config_map_ref: K8sNameRef | None = None


class K8sVolumeMount(K8s):
    name: str
    mount_path: str
    read_only: bool | None = None
    sub_path: str | None = None
    sub_path_expr: str | None = None
    mount_propagation: str | None = None
    recursive_read_only: str | None = None


class K8sVolumeDevice(K8s):
    name: str
    device_path: str


class K8sResources(K8s):
    limits: dict[str, Quantity] | None = None
    requests: dict[str, Quantity] | None = None
    claims: list[dict[str, Any]] | None = None


class K8sHTTPGet(K8s):
    host: str | None = None
    path: str | None = None
    port: IntOrStr | None = None
    scheme: str | None = None


class K8sTCPSocket(K8s):
    host: str | None = None
    port: IntOrStr | None = None


class K8sProbe(K8s):
    http_get: K8sHTTPGet | None = None
    tcp_socket: K8sTCPSocket | None = None
    exec: dict[str, Any] | None = None
    grpc: dict[str, Any] | None = None


class K8sContainer(K8s):
    name: str
    image: str | None = None
    command: StrList = None
    args: StrList = None
    ports: list[K8sPort] | None = None
    env: list[K8sEnvVar] | None = None
    env_from: list[K8sEnvFrom] | None = None
    volume_mounts: list[K8sVolumeMount] | None = None
    volume_devices: list[K8sVolumeDevice] | None = None
    resources: K8sResources | None = None
    liveness_probe: K8sProbe | None = None
    readiness_probe: K8sProbe | None = None
    startup_probe: K8sProbe | None = None
    security_context: K8sSecurityContext | None = None
    restart_policy: str | None = None
    image_pull_policy: str | None = None


class K8sHostPath(K8s):
    path: str = Field(min_length=1)  # the API server refuses an empty path
    type: str | None = None


class K8sEmptyDir(K8s):
    medium: str | None = None
    size_limit: IntOrStr | None = None


class K8sSecretVolume(K8s):
    secret_name: str | None = None
    optional: bool | None = None


class K8sConfigMapVolume(K8s):
    name: str | None = None
    optional: bool | None = None


class K8sPVCVolume(K8s):
    claim_name: str
    read_only: bool | None = None


class K8sSATokenProjection(K8s):
    audience: str | None = None
    expiration_seconds: int | None = None
    path: str | None = None


class K8sProjection(K8s):
    service_account_token: K8sSATokenProjection | None = None
    secret: K8sConfigMapVolume | None = None
    config_map: K8sConfigMapVolume | None = None
    downward_api: dict[str, Any] | None = Field(default=None, validation_alias="downwardAPI")
    cluster_trust_bundle: dict[str, Any] | None = None


class K8sProjected(K8s):
    sources: list[K8sProjection] | None = None


class K8sCSI(K8s):
    driver: str
    read_only: bool | None = None


class K8sNFS(K8s):
    server: str
    path: str = Field(min_length=1)  # the API server refuses an empty path
    read_only: bool | None = None


class K8sImageVolume(K8s):
    reference: str | None = None
    pull_policy: str | None = None


class K8sVolume(K8s):
    model_config = ConfigDict(extra="allow")

    name: str
    host_path: K8sHostPath | None = None
    empty_dir: K8sEmptyDir | None = None
    secret: K8sSecretVolume | None = None
    config_map: K8sConfigMapVolume | None = None
    persistent_volume_claim: K8sPVCVolume | None = None
    projected: K8sProjected | None = None
    csi: K8sCSI | None = None
    nfs: K8sNFS | None = None
    image: K8sImageVolume | None = None
    ephemeral: dict[str, Any] | None = None
    downward_api: dict[str, Any] | None = Field(default=None, validation_alias="downwardAPI")


class K8sToleration(K8s):
    key: str | None = None
    operator: str | None = None
    value: LooseStr = None
    effect: str | None = None


def _loose_string_list(value: object) -> object:
    # node selector requirement values: strings, though YAML often gives 4 or true
    if isinstance(value, list):
        return [_scalar_as_string(v) for v in value]
    return _string_list(value)


LooseStrList = Annotated[list[str] | None, BeforeValidator(_loose_string_list)]


class K8sNodeSelectorRequirement(K8s):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: LooseStrList = None


class K8sNodeSelectorTerm(K8s):
    match_expressions: list[K8sNodeSelectorRequirement] | None = None
    match_fields: list[K8sNodeSelectorRequirement] | None = None


class K8sNodeSelector(K8s):
    node_selector_terms: list[K8sNodeSelectorTerm] | None = None


class K8sNodeAffinity(K8s):
    """Only the required terms: preferred ones do not constrain placement."""

    required_during_scheduling_ignored_during_execution: K8sNodeSelector | None = None


class K8sAffinity(K8s):
    node_affinity: K8sNodeAffinity | None = None


class K8sLocalRef(K8s):
    name: str | None = None


class K8sPodSpec(K8s):
    containers: list[K8sContainer] = Field(min_length=1)
    init_containers: list[K8sContainer] | None = None
    ephemeral_containers: list[K8sContainer] | None = None
    host_network: bool | None = None
    host_pid: bool | None = Field(default=None, validation_alias="hostPID")
    host_ipc: bool | None = Field(default=None, validation_alias="hostIPC")
    share_process_namespace: bool | None = None
    host_users: bool | None = None
    security_context: K8sPodSecurityContext | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    runtime_class_name: str | None = None
    node_name: str | None = None
    node_selector: StrMap | None = None
    tolerations: list[K8sToleration] | None = None
    affinity: K8sAffinity | None = None
    volumes: list[K8sVolume] | None = None
    resource_claims: list[dict[str, Any]] | None = None
    image_pull_secrets: list[K8sLocalRef] | None = None


class K8sPodTemplate(K8s):
    metadata: K8sMeta | None = None
    spec: K8sPodSpec
