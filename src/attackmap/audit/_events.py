"""The audit event as attackmap keeps it: only the fields it uses, never Secret data.

A Kubernetes audit event (``audit.k8s.io/v1`` or ``v1beta1``) carries the whole request and
response objects at the ``Request``/``RequestResponse`` levels. attackmap keeps the event's
metadata and, from ``requestObject``, only two small summaries:

* :class:`PodSummary` for Pods and pod templates (Deployment, StatefulSet, DaemonSet,
  ReplicaSet, ReplicationController, Job, CronJob): who owns the pod, which ServiceAccount
  it runs as, and whether it is privileged (privileged containers, hostPath volumes, host
  namespaces, added capabilities);
* :class:`BindingSummary` for RoleBindings and ClusterRoleBindings: ``roleRef`` and
  ``subjects``.

Nothing else of ``requestObject`` survives, and ``responseObject`` is never read, so the data
of a Secret (or a ConfigMap, or an environment variable) can never reach a report.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuditEvent",
    "AuditUser",
    "BindingSubject",
    "BindingSummary",
    "ObjectRef",
    "OwnerRef",
    "PodSummary",
    "ResponseStatus",
    "RoleRef",
    "Source",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _K8s(BaseModel):
    """Parts of the audit API: unknown fields are ignored (the API grows), fields we use are
    validated; names are the API's (camelCase aliases)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Source(_Frozen):
    """Where an event was read: the file (``-`` for stdin, ``<stream>`` for a stream) and
    the 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class AuditUser(_K8s):
    """``user`` / ``impersonatedUser`` of an event."""

    username: str = ""
    groups: tuple[str, ...] = ()


class ObjectRef(_K8s):
    """``objectRef``: what the request was about (absent for non-resource URLs)."""

    resource: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    api_group: str = Field(default="", alias="apiGroup")
    api_version: str = Field(default="", alias="apiVersion")


class ResponseStatus(_K8s):
    """``responseStatus``: HTTP code and, for failures, reason and message."""

    code: int = 0
    reason: str = ""
    message: str = ""


class OwnerRef(_Frozen):
    """The controlling ``ownerReference`` of a pod (``controller: true``, else the first)."""

    kind: str
    name: str


class PodSummary(_Frozen):
    """What attackmap needs from a Pod or a pod template in ``requestObject``.

    ``name`` is the pod's ``metadata.name`` or, for a pod created by a controller, its
    ``generateName`` (e.g. ``llama3-8b-instruct-7c9f8d6b5-``); for a workload object it is
    the workload's own name. ``service_account`` is ``spec.serviceAccountName`` (or the
    deprecated ``spec.serviceAccount``), empty when unset (the API server then uses
    ``default``).
    """

    kind: str
    name: str = ""
    namespace: str = ""
    owner: OwnerRef | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    service_account: str = ""
    privileged_containers: tuple[str, ...] = ()
    host_path_volumes: tuple[str, ...] = ()
    host_namespaces: tuple[str, ...] = ()
    added_capabilities: tuple[str, ...] = ()

    @property
    def is_privileged(self) -> bool:
        """A privileged container, a hostPath volume or a host namespace: the pod can reach
        the node (what T1610 "Deploy Container" is about when used to escape)."""
        return bool(self.privileged_containers or self.host_path_volumes or self.host_namespaces)


class RoleRef(_Frozen):
    """``roleRef`` of a binding."""

    kind: str = ""
    name: str = ""


class BindingSubject(_Frozen):
    """One entry of a binding's ``subjects``."""

    kind: str = ""
    name: str = ""
    namespace: str = ""


class BindingSummary(_Frozen):
    """``roleRef`` and ``subjects`` of a RoleBinding or ClusterRoleBinding."""

    role_ref: RoleRef
    subjects: tuple[BindingSubject, ...] = ()


class AuditEvent(_Frozen):
    """One audit event, reduced to what attackmap uses (see the module docstring).

    Field names follow the audit API in snake_case. ``pod`` and ``binding`` summarise
    ``requestObject`` when it is a Pod/pod template or a (Cluster)RoleBinding.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    source: Source
    api_version: str = Field(default="", alias="apiVersion")
    level: str = ""
    audit_id: str = Field(default="", alias="auditID")
    stage: str = ""
    request_uri: str = Field(default="", alias="requestURI")
    verb: str = ""
    user: AuditUser = AuditUser()
    impersonated_user: AuditUser | None = Field(default=None, alias="impersonatedUser")
    source_ips: tuple[str, ...] = Field(default=(), alias="sourceIPs")
    object_ref: ObjectRef | None = Field(default=None, alias="objectRef")
    response_status: ResponseStatus | None = Field(default=None, alias="responseStatus")
    annotations: dict[str, str] = Field(default_factory=dict)
    request_received_timestamp: str = Field(default="", alias="requestReceivedTimestamp")
    pod: PodSummary | None = None
    binding: BindingSummary | None = None

    @property
    def principal(self) -> str:
        """Whose permissions the request used: the impersonated user if any, else the user."""
        if self.impersonated_user is not None and self.impersonated_user.username:
            return self.impersonated_user.username
        return self.user.username

    @property
    def code(self) -> int:
        """The HTTP status code (0 when the event has none, e.g. ``RequestReceived``)."""
        return self.response_status.code if self.response_status is not None else 0

    @property
    def decision(self) -> str:
        """``authorization.k8s.io/decision`` (``allow``/``forbid``), empty when absent."""
        return self.annotations.get("authorization.k8s.io/decision", "")
