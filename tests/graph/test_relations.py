"""Named relations on small manifests: which workloads, containers and identities a step
moves its grants into."""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.graph._facts import FactBase, extract
from attackmap.graph._relations import RELATIONS
from attackmap.model import load

Doc = dict[str, Any]


def pod(name: str, ns: str = "app", sa: str = "default", **spec: Any) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "serviceAccountName": sa,
            "initContainers": [{"name": "init", "image": "x"}],
            "containers": [{"name": "c", "image": "x"}],
            **spec,
        },
    }


def role(*rules: tuple[str, str, str]) -> Doc:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "agent"},
        "rules": [{"apiGroups": [g], "resources": [r], "verbs": [v]} for v, r, g in rules],
    }


def binding(namespace: str | None, sa: str = "agent") -> Doc:
    doc: Doc = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": {"name": f"agent-{namespace or 'all'}"},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": "app"}],
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "agent",
        },
    }
    if namespace:
        doc["metadata"]["namespace"] = namespace
    return doc


def service_account(name: str, ns: str = "app") -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns},
    }


def world(*extra: Doc) -> FactBase:
    """The attacker (Pod/app/agent), a neighbour in app and one in other."""
    return extract(
        load(
            service_account("agent"),
            pod("agent", sa="agent"),
            pod("near"),
            pod("far", ns="other", automountServiceAccountToken=False),
            *extra,
        )
    )


def targets(fb: FactBase, relation: str) -> set[tuple[str, ...] | tuple[str, str | None]]:
    source = next(w for w in fb.workloads if w.key == "Pod/app/agent")
    return set(RELATIONS[relation](fb, source))


@pytest.mark.parametrize(
    ("relation", "right"),
    [
        ("rbac_exec_targets", ("create", "pods/exec", "")),
        ("rbac_patch_targets", ("patch", "deployments", "apps")),
        ("rbac_ephemeral_targets", ("patch", "pods/ephemeralcontainers", "")),
    ],
)
def test_container_relations_follow_the_rights_namespaces(
    relation: str, right: tuple[str, str, str]
) -> None:
    """Running containers only (no init containers), never the source itself."""
    assert targets(world(role(right), binding("app")), relation) == {("Pod/app/near", "c")}
    assert targets(world(role(right), binding(None)), relation) == {
        ("Pod/app/near", "c"),
        ("Pod/other/far", "c"),
    }
    assert targets(world(), relation) == set()


def test_every_running_container() -> None:
    assert targets(world(), "every_running_container") == {
        ("Pod/app/near", "c"),
        ("Pod/other/far", "c"),
    }


def test_node_workload_tokens_need_a_mounted_token() -> None:
    assert targets(world(), "node_workload_tokens") == {("Pod/app/near", None)}


@pytest.mark.parametrize(
    ("relation", "right"),
    [
        ("deploy_namespace_tokens", ("create", "pods", "")),
        ("token_request_targets", ("create", "serviceaccounts/token", "")),
        ("impersonation_targets", ("impersonate", "serviceaccounts", "")),
    ],
)
def test_identity_relations_reach_unused_service_accounts(
    relation: str, right: tuple[str, str, str]
) -> None:
    """Workloads of the namespace and the ServiceAccounts no workload runs as (an unused
    cluster-admin included); workloads elsewhere stay out."""
    admin = [
        service_account("admin"),
        {
            **binding(None, "admin"),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "metadata": {"name": "admin"},
        },
    ]
    found = targets(world(role(right), binding("app"), *admin), relation)
    assert found == {("Pod/app/near", None), ("ServiceAccount/app/admin", None)}
    assert targets(world(*admin), relation) == set()


@pytest.mark.parametrize(("where", "named"), [("app", "app/default"), (None, "*/default")])
def test_impersonation_limited_by_resource_names_reaches_the_named_only(
    where: str | None, named: str
) -> None:
    """A rule with resourceNames impersonates the ServiceAccounts it names (issue 17): the
    workloads running as ``default`` in app (a RoleBinding) or in every namespace (a
    ClusterRoleBinding), never the others."""
    limited = role(("impersonate", "serviceaccounts", ""))
    limited["rules"][0]["resourceNames"] = ["default"]
    fb = world(limited, binding(where), service_account("other-sa"), pod("x", sa="other-sa"))
    agent = next(w for w in fb.workloads if w.key == "Pod/app/agent")
    assert agent.rbac_scope["impersonate_serviceaccounts"] == frozenset({named})
    expected = {("Pod/app/near", None)}
    if where is None:
        expected.add(("Pod/other/far", None))
    assert targets(fb, "impersonation_targets") == expected


def test_namespace_admin_relations_reach_the_namespace_scopes() -> None:
    """bind (create rolebindings + bind roles) in app reaches the admin scope of app only;
    binding cluster-wide reaches every namespace's (issue 17)."""
    bind = role(
        ("create", "rolebindings", "rbac.authorization.k8s.io"),
        ("bind", "roles", "rbac.authorization.k8s.io"),
    )
    assert targets(world(bind, binding("app")), "bind_namespace_targets") == {
        ("Namespace/app", None)
    }
    cluster = role(
        ("create", "clusterrolebindings", "rbac.authorization.k8s.io"),
        ("bind", "clusterroles", "rbac.authorization.k8s.io"),
    )
    assert targets(world(cluster, binding(None)), "bind_namespace_targets") == {
        ("Namespace/app", None),
        ("Namespace/other", None),
    }
    escalate = role(
        ("patch", "roles", "rbac.authorization.k8s.io"),
        ("escalate", "roles", "rbac.authorization.k8s.io"),
        ("create", "roles", "rbac.authorization.k8s.io"),
        ("create", "rolebindings", "rbac.authorization.k8s.io"),
    )
    fb = world(escalate, binding("other"))
    assert targets(fb, "escalate_namespace_targets") == {("Namespace/other", None)}
    (admin,) = fb.namespace_admins
    assert admin.rbac_scope["read_secrets"] == frozenset({"other"})
    assert {"rbac_sa:read_secrets", "rbac_sa:exec", "deploy_admits:privileged"} <= admin.pod
    assert targets(world(), "escalate_namespace_targets") == set()


def test_identities_without_rights_are_not_targets() -> None:
    fb = world(role(("create", "pods", "")), binding("app"), service_account("idle"))
    assert "ServiceAccount/app/idle" not in {i.key for i in fb.identities}


def test_network_reach_targets_the_ports_both_policies_allow() -> None:
    # agent may open near's 8000 (no policy) but not far's: far admits its own namespace only
    def serving(name: str, ns: str) -> Doc:
        doc = pod(name, ns=ns)
        doc["spec"]["containers"][0]["ports"] = [{"containerPort": 8000}]
        return doc

    own_namespace = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "own-namespace", "namespace": "other"},
        "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]},
    }
    fb = extract(load(pod("agent"), serving("near", "app"), serving("far", "other"), own_namespace))
    assert targets(fb, "network_reach_targets") == {("Pod/app/near", "c", "8000")}
    # the source's own ports are not targets (as for every relation)
    fb = extract(load(serving("agent", "app")))
    assert targets(fb, "network_reach_targets") == set()


def test_every_relation_is_tested_here() -> None:
    tested = {
        "rbac_exec_targets",
        "rbac_patch_targets",
        "rbac_ephemeral_targets",
        "every_running_container",
        "node_workload_tokens",
        "deploy_namespace_tokens",
        "token_request_targets",
        "impersonation_targets",
        "escalate_namespace_targets",
        "bind_namespace_targets",
        "network_reach_targets",
    }
    assert set(RELATIONS) == tested
