"""Minimal RBAC objects covering what a principal was seen doing (audit2rbac-like).

Input: the *allowed* resource requests of one principal (discovery and non-resource URLs are
never passed in; denied requests are reported separately, never granted). Output:
Kubernetes objects as plain dicts, deterministic (sorted rules, names, keys).

Rules:

* **Verbs** are expanded with :data:`VERB_EXPANSION`: a ``watch`` is granted
  ``get, list, watch`` (clients list before they watch and re-list after a watch expires;
  a single-object watch is a ``get`` with a name selector); every other verb is granted
  as seen.
* **Names** are collapsed: rules never carry ``resourceNames``; the proposal grants the
  verb on every object of that resource in the namespace.
* **Namespaces**: one ``Role`` + ``RoleBinding`` per namespace the principal used. A
  request without a namespace is either a cluster-scoped resource (nodes, namespaces,
  clusterroles...) or a request across all namespaces (``GET /api/v1/pods``); both need a
  ``ClusterRole`` + ``ClusterRoleBinding``. Namespaced usage in many namespaces is *not*
  widened to a ClusterRole (that would grant namespaces never used).
* Resources of one API group with the same verbs share a rule.
* Subjects: ``system:serviceaccount:<ns>:<name>`` becomes a ``ServiceAccount`` subject,
  any other username a ``User``. Built-in ``system:`` identities that are not
  ServiceAccounts (nodes, the scheduler, the controller manager...) get no proposal: they
  are governed by built-in roles and the Node authorizer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

__all__ = ["VERB_EXPANSION", "propose_rbac", "role_name", "subject_of"]

RBAC_API = "rbac.authorization.k8s.io"
SA_PREFIX = "system:serviceaccount:"

#: verb seen -> verbs granted (verbs not listed are granted as seen)
VERB_EXPANSION: dict[str, tuple[str, ...]] = {
    "watch": ("get", "list", "watch"),
}


def subject_of(principal: str) -> dict[str, str] | None:
    """The RBAC subject for a username; None for built-in non-ServiceAccount identities."""
    if principal.startswith(SA_PREFIX):
        namespace, _, name = principal[len(SA_PREFIX) :].partition(":")
        if namespace and name:
            return {"kind": "ServiceAccount", "name": name, "namespace": namespace}
        return None
    if not principal or principal.startswith("system:"):
        return None
    return {"apiGroup": RBAC_API, "kind": "User", "name": principal}


def role_name(principal: str) -> str:
    """``attackmap:<ns>:<sa>`` for a ServiceAccount, ``attackmap:<user>`` otherwise."""
    short = principal.removeprefix(SA_PREFIX)
    return "attackmap:" + short.replace("/", "_").replace("%", "_")


def _rules(grants: dict[tuple[str, str], set[str]]) -> list[dict[str, list[str]]]:
    by_verbs: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource), verbs in grants.items():
        by_verbs[(group, tuple(sorted(verbs)))].append(resource)
    rules = [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        for (group, verbs), resources in by_verbs.items()
    ]
    return sorted(rules, key=lambda r: (r["apiGroups"], r["resources"], r["verbs"]))


def propose_rbac(
    principal: str, requests: Iterable[tuple[str, str, str, str]]
) -> list[dict[str, Any]]:
    """Role/RoleBinding (per namespace) and ClusterRole/ClusterRoleBinding objects granting
    exactly ``requests`` -- ``(namespace, api_group, rbac_resource, verb)`` tuples of allowed
    requests -- to ``principal``. Empty when nothing was used or the principal is built in.
    """
    subject = subject_of(principal)
    if subject is None:
        return []
    per_ns: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
    for namespace, group, resource, verb in requests:
        per_ns[namespace][(group, resource)].update(VERB_EXPANSION.get(verb, (verb,)))
    name = role_name(principal)
    objects: list[dict[str, Any]] = []
    cluster = per_ns.pop("", None)
    if cluster:
        objects.append(
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "ClusterRole",
                "metadata": {"name": name},
                "rules": _rules(cluster),
            }
        )
        objects.append(
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": RBAC_API, "kind": "ClusterRole", "name": name},
                "subjects": [subject],
            }
        )
    for namespace in sorted(per_ns):
        objects.append(
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": _rules(per_ns[namespace]),
            }
        )
        objects.append(
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace},
                "roleRef": {"apiGroup": RBAC_API, "kind": "Role", "name": name},
                "subjects": [subject],
            }
        )
    return objects
