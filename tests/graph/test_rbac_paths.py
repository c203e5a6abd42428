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


# -- escalate and bind ----------------------------------------------------------------------


def _techniques(report: Report) -> set[str]:
    return {t.technique.id for w in report.workloads for t in w.techniques}


def test_escalating_the_own_role_in_a_namespace_gives_its_rights() -> None:
    """patch + escalate on the Role bound to the ServiceAccount: T1098.006, then every
    namespaced right of nim (scope Namespace/nim): Secrets, new pods, exec."""
    report = attackmap.analyze(STEPS / "escalate-own-role-namespaced" / "fires.yaml")
    assert _ends_with(report, "T1098.006", "use-sa-token", "escalate-own-role-namespaced")
    assert _ends_with(report, "T1552.007", "escalate-own-role-namespaced", "api-read-secrets")
    assert _ends_with(report, "T1610", "escalate-own-role-namespaced", "deploy-pod")
    secrets = next(
        p
        for w in report.workloads
        for t in w.techniques
        if t.technique.id == "T1552.007"
        for p in t.paths
    )
    assert secrets.steps[-1].scope == "Namespace/nim"
    # the escalation step is the one a control on the workload breaks
    assert any(c.startswith("dedicated-service-account@Pod/nim/app") for c in secrets.broken_by)


def test_escalating_a_cluster_bound_role_is_cluster_admin() -> None:
    report = attackmap.analyze(STEPS / "escalate-own-role" / "fires.yaml")
    assert _ends_with(report, "T1098.006", "use-sa-token", "escalate-own-role")
    assert _ends_with(report, "T1552.007", "escalate-own-role", "cluster-admin-secrets")
    assert _ends_with(report, "T1610", "escalate-own-role", "cluster-admin-privileged-pod")


def test_an_empty_role_bound_to_oneself_can_be_escalated() -> None:
    """The role to escalate need have no rules (the rights come from another role); the
    same rights on a role not bound to the ServiceAccount give nothing."""
    role = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: self, namespace: nim}
"""
    own_binding = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: self, namespace: nim}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: self}
subjects: [{kind: ServiceAccount, name: agent, namespace: nim}]
"""
    rights = _cluster_role(
        "[{apiGroups: [rbac.authorization.k8s.io], resources: [roles], "
        "verbs: [update, escalate], resourceNames: [self]}]"
    )
    bound = attackmap.analyze(_world(role, own_binding, rights))
    assert _ends_with(bound, "T1552.007", "escalate-own-role-namespaced", "api-read-secrets")
    unbound = attackmap.analyze(_world(role, rights))
    assert not _paths(unbound, "T1098.006")


def test_binding_a_role_in_a_namespace_gives_its_rights() -> None:
    """create rolebindings + bind: the ServiceAccount binds admin to itself in nim; before
    issue 17 the analysis stopped at T1098.006."""
    report = attackmap.analyze(STEPS / "bind-namespace-role" / "fires.yaml")
    assert _ends_with(report, "T1098.006", "bind-namespace-role")
    assert _ends_with(report, "T1552.007", "bind-namespace-role", "api-read-secrets")
    assert _ends_with(report, "T1610", "bind-namespace-role", "deploy-pod")


def test_escalation_rights_are_monotone_from_namespace_to_cluster() -> None:
    """More RBAC never removes a technique: the namespace escalation's techniques stay
    when a ClusterRoleBinding makes the escalation cluster-wide."""
    namespaced = (STEPS / "escalate-own-role-namespaced" / "fires.yaml").read_text()
    cluster = (
        namespaced
        + "\n---\n"
        + _cluster_role(
            "[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], "
            "verbs: [update, escalate], resourceNames: [everything]}]",
            name="everything",
        )
    )
    small = _techniques(attackmap.analyze(namespaced))
    large = attackmap.analyze(cluster)
    assert _ends_with(large, "T1098.006", "escalate-own-role")
    assert small <= _techniques(large)


def test_escalation_needs_the_role_bound_to_the_subject() -> None:
    from attackmap.graph._facts import escalation_rights
    from attackmap.model import load

    inv = load(STEPS / "escalate-own-role-namespaced" / "fires-clusterrole.yaml")
    (app,) = [w for w in inv.workloads if w.ref.name == "app"]
    sa = app.service_account
    assert sa is not None
    rules = sa.permissions
    agent_edit = next(r.role for r in rules if r.role.name == "agent-edit")
    editor = next(r.role for r in rules if r.role.name == "role-editor")
    assert escalation_rights(rules, {(agent_edit, "nim")}) == {
        "escalate_roles_namespaced": frozenset({"nim"})
    }
    # bound cluster-wide, the same role would make it cluster-admin
    assert "escalate_roles" in escalation_rights(rules, {(agent_edit, None)})
    # role-editor may not edit itself (resourceNames: [agent-edit])
    assert escalation_rights(rules, {(editor, None)}) == {}
