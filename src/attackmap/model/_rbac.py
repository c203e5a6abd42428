"""RBAC: rules, roles, bindings, and what a ServiceAccount is allowed to do.

Resolution follows the Kubernetes RBAC authorizer: a ServiceAccount ``ns/sa`` is a
subject of a (Cluster)RoleBinding when the binding names it (``kind: ServiceAccount``),
or one of its groups: ``system:serviceaccounts``, ``system:serviceaccounts:<ns>``,
``system:authenticated``. A RoleBinding grants its role's rules in the binding's
namespace; a ClusterRoleBinding grants them cluster-wide. ClusterRole aggregation
(``aggregationRule.clusterRoleSelectors``) is resolved to a fixpoint.
"""

from pydantic import Field

from attackmap.model._refs import Frozen, ObjectRef, SourceLocation, trusted

__all__ = [
    "BUILTIN_CLUSTER_ROLES",
    "Binding",
    "PolicyRule",
    "Role",
    "RoleRule",
    "ServiceAccountLink",
    "Subject",
]


def _resource_matches(patterns: tuple[str, ...], resource: str, subresource: str | None) -> bool:
    if "*" in patterns:
        return True
    if subresource is None:
        return resource in patterns
    return (
        f"{resource}/{subresource}" in patterns
        or f"{resource}/*" in patterns
        or f"*/{subresource}" in patterns
    )


class RoleRule(Frozen):
    """One ``rules[]`` entry of a Role/ClusterRole, as written."""

    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()


class PolicyRule(Frozen):
    """A rule granted to a ServiceAccount, with the namespace it applies in
    (``None`` = cluster-wide, from a ClusterRoleBinding), the binding (``via``) and role."""

    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    namespace: str | None
    via: ObjectRef
    role: ObjectRef

    def allows(
        self,
        verb: str,
        resource: str,
        api_group: str = "",
        namespace: str | None = None,
        subresource: str | None = None,
        name: str | None = None,
    ) -> bool:
        """Whether this rule grants ``verb`` on ``resource`` (``pods``, ``pods/exec`` or
        ``resource`` + ``subresource``) in ``api_group`` (``""`` = core).

        ``namespace``: ``None`` asks "anywhere" (any namespaced grant counts); a name asks
        for that namespace (cluster-wide rules count too); ``""`` asks for a
        cluster-scoped request (only cluster-wide rules count). ``name``: the object's
        name; a rule limited by ``resourceNames`` only grants requests naming one of them.
        """
        if "*" not in self.verbs and verb not in self.verbs:
            return False
        if "*" not in self.api_groups and api_group not in self.api_groups:
            return False
        if subresource is None and "/" in resource:
            resource, subresource = resource.split("/", 1)
        if not _resource_matches(self.resources, resource, subresource):
            return False
        if self.resource_names and (name is None or name not in self.resource_names):
            return False
        if namespace is None or self.namespace is None:
            return True
        return namespace == self.namespace

    def allows_url(self, verb: str, path: str) -> bool:
        """Whether this (cluster-wide) rule grants ``verb`` on non-resource URL ``path``."""
        if self.namespace is not None or ("*" not in self.verbs and verb not in self.verbs):
            return False
        for url in self.non_resource_urls:
            if url == path or url == "*" or (url.endswith("*") and path.startswith(url[:-1])):
                return True
        return False


class Subject(Frozen):
    kind: str
    name: str
    namespace: str | None = None


class Role(Frozen):
    """A Role or ClusterRole (``ref.kind``); ``aggregation_selectors`` from its
    ``aggregationRule`` (each a ``matchLabels`` mapping; expressions are in
    ``aggregation_expressions`` as raw selectors)."""

    ref: ObjectRef
    rules: tuple[RoleRule, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    aggregation_selectors: tuple[dict[str, object], ...] = ()
    source: SourceLocation | None = None


class Binding(Frozen):
    """A RoleBinding or ClusterRoleBinding (``ref.kind``)."""

    ref: ObjectRef
    role_ref: ObjectRef
    subjects: tuple[Subject, ...] = ()
    source: SourceLocation | None = None

    def binds(self, namespace: str, service_account: str) -> bool:
        """Whether ServiceAccount ``namespace/service_account`` is a subject."""
        for s in self.subjects:
            if s.kind == "ServiceAccount":
                ns = s.namespace if s.namespace else self.ref.namespace
                if s.name == service_account and ns == namespace:
                    return True
            elif (
                s.kind == "Group"
                and s.name
                in (
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{namespace}",
                    "system:authenticated",
                )
            ) or (
                s.kind == "User"
                and s.name == f"system:serviceaccount:{namespace}:{service_account}"
            ):
                return True
        return False


class ServiceAccountLink(Frozen):
    """The workload's ServiceAccount: whether a manifest defines it (``default`` always
    exists), whether its token is mounted (effective: pod field, else SA field, else
    true) and every rule bound to it."""

    ref: ObjectRef
    exists: bool
    automount: bool
    permissions: tuple[PolicyRule, ...] = ()
    source: SourceLocation | None = None

    def can(
        self,
        verb: str,
        resource: str,
        api_group: str = "",
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> tuple[PolicyRule, ...]:
        """The rules that grant the request (empty when none); see :meth:`PolicyRule.allows`.

        Rules limited by ``resourceNames`` count (the SA can act on those objects).
        """
        out = []
        for rule in self.permissions:
            names = rule.resource_names
            if rule.allows(
                verb, resource, api_group, namespace, subresource, names[0] if names else None
            ):
                out.append(rule)
        return tuple(out)


def _builtin(name: str, *rules: RoleRule) -> Role:
    return trusted(
        Role, ref=trusted(ObjectRef, kind="ClusterRole", namespace=None, name=name), rules=rules
    )


_WORKLOAD_GROUPS = ("", "apps", "batch", "autoscaling", "extensions", "networking.k8s.io", "policy")
_WRITE = ("create", "delete", "deletecollection", "patch", "update", "get", "list", "watch")
_READ = ("get", "list", "watch")
_VIEWABLE = (
    "pods", "pods/log", "pods/status", "services", "endpoints", "configmaps",
    "persistentvolumeclaims", "replicationcontrollers", "serviceaccounts", "events",
    "namespaces", "limitranges", "resourcequotas", "deployments", "replicasets",
    "statefulsets", "daemonsets", "jobs", "cronjobs", "horizontalpodautoscalers",
    "ingresses", "networkpolicies", "poddisruptionbudgets",
)  # fmt: skip

#: The default ClusterRoles every cluster has, used when the input does not define them.
#: ``cluster-admin`` is exact; ``admin``/``edit``/``view`` are close approximations of
#: the upstream roles (edit/admin may read Secrets and exec into pods; view may not read
#: Secrets).
BUILTIN_CLUSTER_ROLES: dict[str, Role] = {
    r.ref.name: r
    for r in (
        _builtin(
            "cluster-admin",
            trusted(RoleRule, api_groups=("*",), resources=("*",), verbs=("*",)),
            trusted(RoleRule, non_resource_urls=("*",), verbs=("*",)),
        ),
        _builtin(
            "admin",
            trusted(RoleRule, api_groups=_WORKLOAD_GROUPS, resources=("*",), verbs=_WRITE),
            trusted(
                RoleRule,
                api_groups=("rbac.authorization.k8s.io",),
                resources=("roles", "rolebindings"),
                verbs=_WRITE,
            ),
        ),
        _builtin(
            "edit", trusted(RoleRule, api_groups=_WORKLOAD_GROUPS, resources=("*",), verbs=_WRITE)
        ),
        _builtin(
            "view", trusted(RoleRule, api_groups=_WORKLOAD_GROUPS, resources=_VIEWABLE, verbs=_READ)
        ),
    )
}
