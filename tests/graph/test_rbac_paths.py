"""RBAC rights that the catalogue follows to their consequences (issue 17): DaemonSets,
impersonation limited by ``resourceNames``, ``escalate`` on a role bound to oneself and
``bind`` in a namespace. Each test names a manifest of its own (``manifests/steps/...``
or built here) that the analysis before issue 17 got wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import attackmap
from attackmap.graph import Report

STEPS = Path(__file__).resolve().parent / "manifests" / "steps"


def _paths(report: Report, technique: str) -> set[tuple[str, ...]]:
    """The step ids of every reported path to ``technique``, over all workloads."""
    return {
        tuple(s.id for s in p.steps)
        for w in report.workloads
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
    }


def _ends_with(report: Report, technique: str, *steps: str) -> bool:
    return any(p[-len(steps) :] == steps for p in _paths(report, technique))


def _docs(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d]


# -- DaemonSets ---------------------------------------------------------------------------


def test_creating_a_daemonset_is_a_container_service_on_every_node() -> None:
    report = attackmap.analyze(STEPS / "deploy-daemonset" / "fires.yaml")
    assert _ends_with(report, "T1543.005", "use-sa-token", "deploy-daemonset")
    # the namespace admits privileged pods: the DaemonSet's pods are root on the nodes
    assert _ends_with(report, "T1611", "deploy-daemonset", "deploy-privileged-pod")


def test_patching_a_daemonset_deploys_without_any_create_right() -> None:
    """patch on daemonsets alone: no create right, yet the rewritten template runs on
    every node, so the namespace's admission decides what it may do."""
    report = attackmap.analyze(STEPS / "deploy-daemonset" / "fires-patch.yaml")
    assert _ends_with(report, "T1543.005", "deploy-daemonset")
    assert _ends_with(report, "T1611", "deploy-daemonset", "deploy-privileged-pod")
    text = (STEPS / "deploy-daemonset" / "fires-patch.yaml").read_text()
    baseline = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "nim", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
    }
    enforced = attackmap.analyze([*_docs(text), baseline])
    assert _ends_with(enforced, "T1543.005", "deploy-daemonset")
    assert "T1611" not in {t.technique.id for w in enforced.workloads for t in w.techniques}


# -- impersonation limited by resourceNames -----------------------------------------------


def _world(*rbac: str, sa: str = "agent") -> str:
    """A pod in nim running as ``sa`` (token mounted), plus ``rbac`` documents."""
    pod = f"""
apiVersion: v1
kind: Pod
metadata: {{name: app, namespace: nim}}
spec:
  serviceAccountName: {sa}
  containers: [{{name: app, image: nvcr.io/nim/x:1}}]
"""
    return "\n---\n".join([pod, *rbac])


def _cluster_role(rules: str, name: str = "agent", bind: str = "agent") -> str:
    return f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}}}
rules: {rules}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {name}-{bind}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}
subjects: [{{kind: ServiceAccount, name: {bind}, namespace: nim}}]
"""


def test_impersonating_system_masters_by_name_is_cluster_admin() -> None:
    """resourceNames [dev-team, system:masters] on users and groups: the attacker asks for
    user system:masters in group system:masters. Before issue 17 a rule with resourceNames
    counted for nothing."""
    report = attackmap.analyze(STEPS / "impersonate-admin" / "fires-names.yaml")
    assert _ends_with(report, "T1078", "use-sa-token", "impersonate-admin")
    assert _ends_with(report, "T1552.007", "impersonate-admin", "cluster-admin-secrets")


def test_impersonating_a_user_bound_to_cluster_admin_is_cluster_admin() -> None:
    report = attackmap.analyze(STEPS / "impersonate-admin" / "fires-admin-user.yaml")
    assert _ends_with(report, "T1078", "impersonate-admin")
    quiet = attackmap.analyze(STEPS / "impersonate-admin" / "quiet-user-not-admin.yaml")
    assert not _paths(quiet, "T1552.007")


def test_a_group_needs_a_user_to_impersonate_with_it() -> None:
    """Impersonate-Group without Impersonate-User is refused by the API server: group
    system:masters alone is not enough, any user (a ServiceAccount too) completes it."""
    only_group = attackmap.analyze(STEPS / "impersonate-admin" / "quiet-group-only.yaml")
    assert not _paths(only_group, "T1552.007")
    with_sa = attackmap.analyze(STEPS / "impersonate-admin" / "fires-admin-group.yaml")
    assert _ends_with(with_sa, "T1078", "impersonate-admin")


def test_impersonating_a_named_admin_service_account_is_cluster_admin() -> None:
    """impersonate serviceaccounts resourceNames [deployer], deployer bound to
    cluster-admin: the relation reaches deployer's identity, whose token is admin."""
    rule = (
        "[{apiGroups: [''], resources: [serviceaccounts], verbs: [impersonate], "
        "resourceNames: [deployer]}]"
    )
    admin = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: nim}]
"""
    report = attackmap.analyze(_world(_cluster_role(rule), admin))
    assert _ends_with(report, "T1078", "impersonate-service-account", "use-admin-token")
    other = attackmap.analyze(_world(_cluster_role(rule.replace("deployer", "builder")), admin))
    assert not _paths(other, "T1552.007")


def test_cluster_admins_and_impersonation_rules() -> None:
    from attackmap.graph._facts import ClusterAdmins, cluster_admins, impersonates_admin
    from attackmap.model import load
    from attackmap.model._links import _permissions, _resolve_roles

    admins_doc = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, name: alice}
- {kind: Group, name: platform}
- {kind: ServiceAccount, name: deployer, namespace: nim}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ns-admin, namespace: nim}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: bob}]
"""
    inv = load(_world(admins_doc))
    admins = cluster_admins(inv)
    # a RoleBinding to cluster-admin is admin of one namespace, not of the cluster
    assert admins == ClusterAdmins(
        users=frozenset({"alice"}), groups=frozenset({"system:masters", "platform"})
    )

    def can(rules: str, binding: str = "ClusterRoleBinding") -> bool:
        doc = _cluster_role(rules)
        if binding == "RoleBinding":
            doc = doc.replace(
                "kind: ClusterRoleBinding\nmetadata: {",
                "kind: RoleBinding\nmetadata: {namespace: nim, ",
            )
        inv = load(_world(doc, admins_doc))
        perms = _permissions("nim", "agent", inv.bindings, _resolve_roles(inv.roles))
        return impersonates_admin(perms, admins)

    imp = "{apiGroups: [''], verbs: [impersonate], resources: %s, resourceNames: %s}"
    assert can(f"[{imp % ('[users]', '[alice]')}]")
    assert not can(f"[{imp % ('[users]', '[bob]')}]")
    assert not can(f"[{imp % ('[users]', '[alice]')}]", binding="RoleBinding")
    assert can(f"[{imp % ('[users, groups]', '[x, platform]')}]")
    assert not can(f"[{imp % ('[groups]', '[platform]')}]")
    # a ServiceAccount's user name is authorised as serviceaccounts, not users
    sa_user = "[system:serviceaccount:nim:deployer]"
    assert not can(f"[{imp % ('[users]', sa_user)}]")
    assert can(f"[{imp % ('[groups]', '[system:masters]')}, {imp % ('[serviceaccounts]', '[x]')}]")
