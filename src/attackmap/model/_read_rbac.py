"""Readers of ServiceAccounts, Roles/ClusterRoles and their bindings (the records are in
``_objects.py`` and ``_rbac.py``), imported by the loader with the first such object it reads
(see ``_read_exposure.py``)."""

from typing import Any

from pydantic import Field

from attackmap.model._k8s import K8s
from attackmap.model._objects import ServiceAccount, _K8sSelector
from attackmap.model._rbac import Binding, Role, RoleRule, Subject
from attackmap.model._refs import ObjectRef, SourceLocation


class _K8sNamed(K8s):
    name: str | None = None


class _K8sServiceAccount(K8s):
    automount_service_account_token: bool | None = None
    secrets: list[_K8sNamed] | None = None
    image_pull_secrets: list[_K8sNamed] | None = None


def parse_service_account(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation
) -> ServiceAccount:
    sa = _K8sServiceAccount.model_validate(raw)
    return ServiceAccount(
        ref=ref,
        automount=sa.automount_service_account_token,
        secrets=_names(sa.secrets),
        image_pull_secrets=_names(sa.image_pull_secrets),
        source=source,
    )


def _names(items: list[_K8sNamed] | None) -> tuple[str, ...]:
    return tuple(s.name for s in items or () if s.name is not None)


class _K8sRule(K8s):
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    verbs: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_ur_ls: list[str] | None = Field(default=None, validation_alias="nonResourceURLs")


class _K8sAggregationRule(K8s):
    cluster_role_selectors: list[_K8sSelector] | None = None


class _K8sRole(K8s):
    rules: list[_K8sRule] | None = None
    aggregation_rule: _K8sAggregationRule | None = None


def parse_role(
    ref: ObjectRef, raw: dict[str, Any], source: SourceLocation, labels: dict[str, str]
) -> Role:
    r = _K8sRole.model_validate(raw)
    # validated above; kept as written (selector() reads them when aggregating)
    selectors: tuple[dict[str, object], ...] = ()
    if r.aggregation_rule is not None and r.aggregation_rule.cluster_role_selectors:
        selectors = tuple(raw["aggregationRule"]["clusterRoleSelectors"])
    return Role(
        ref=ref,
        rules=tuple(
            RoleRule(
                api_groups=tuple(x.api_groups or ()),
                resources=tuple(x.resources or ()),
                verbs=tuple(x.verbs or ()),
                resource_names=tuple(x.resource_names or ()),
                non_resource_urls=tuple(x.non_resource_ur_ls or ()),
            )
            for x in r.rules or ()
        ),
        labels=labels,
        aggregation_selectors=selectors,
        source=source,
    )


class _K8sSubject(K8s):
    kind: str
    name: str
    namespace: str | None = None


class _K8sRoleRef(K8s):
    kind: str
    name: str


class _K8sBinding(K8s):
    role_ref: _K8sRoleRef
    subjects: list[_K8sSubject] | None = None


def parse_binding(ref: ObjectRef, raw: dict[str, Any], source: SourceLocation) -> Binding:
    b = _K8sBinding.model_validate(raw)
    role_ns = ref.namespace if b.role_ref.kind == "Role" else None
    return Binding(
        ref=ref,
        role_ref=ObjectRef(kind=b.role_ref.kind, namespace=role_ns, name=b.role_ref.name),
        subjects=tuple(
            Subject(kind=s.kind, name=s.name, namespace=s.namespace) for s in b.subjects or ()
        ),
        source=source,
    )
