"""Fact functions on their own: NVIDIA CVE versions, cgroup v1, hostPath classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attackmap.attack import load_attack
from attackmap.graph._facts import (
    CLUSTER_SCOPED_RIGHTS,
    CONTAINER_INPUTS,
    FACT_FAMILIES,
    NAMED_RIGHTS,
    RBAC_RIGHTS,
    ContainerFacts,
    DeriveOptions,
    _cgroup_release_agent_open,
    _derive_container,
    _nvidia_vulnerable,
    _scope_set,
    classify_hostpaths,
    derive,
    derive_key,
    effective_capabilities,
    host_user_namespace,
    rbac_scope,
    runtime_isolation,
)
from attackmap.model._context import ClusterContext
from attackmap.model._rbac import PolicyRule
from attackmap.model._refs import ObjectRef


def ctx(**spec: Any) -> ClusterContext:
    return ClusterContext.model_validate({"metadata": {"name": "c"}, "spec": spec})


@pytest.mark.parametrize(
    ("nvidia", "runtime", "expected"),
    [
        (
            {"containerToolkit": "1.16.1"},
            None,
            {"CVE-2024-0132", "CVE-2025-23359", "CVE-2025-23266", "CVE-2025-23267"},
        ),
        (
            {"containerToolkit": "1.16.2"},
            None,
            {"CVE-2025-23359", "CVE-2025-23266", "CVE-2025-23267"},
        ),
        ({"containerToolkit": "1.17.4"}, None, {"CVE-2025-23266", "CVE-2025-23267"}),
        ({"containerToolkit": "v1.17.8"}, None, set()),
        ({"containerToolkit": "1.17.7"}, "crun", {"CVE-2025-23267"}),
        ({"containerToolkit": "1.16.1", "cdi": True}, None, {"CVE-2025-23266", "CVE-2025-23267"}),
        # the toolkit's own version decides over the operator's
        ({"containerToolkit": "1.17.8", "gpuOperator": "24.6.1"}, None, set()),
        ({"gpuOperator": "24.9.2"}, None, {"CVE-2025-23266", "CVE-2025-23267"}),
        ({"gpuOperator": "25.3.2"}, None, set()),
        ({"containerToolkit": "1.17.8", "devicePlugin": "0.17.2"}, None, {"CVE-2025-23266"}),
        ({}, None, set()),  # unknown: assumed patched
    ],
)
def test_nvidia_cves(nvidia: dict[str, Any], runtime: str | None, expected: set[str]) -> None:
    spec: dict[str, Any] = {"nvidia": nvidia}
    if runtime:
        spec["containerRuntime"] = {"lowLevel": runtime}
    assert set(_nvidia_vulnerable(ctx(**spec))) == expected


def test_unknown_nvidia_versions_follow_assumption() -> None:
    assert len(_nvidia_vulnerable(ctx(assumeUnknownVulnerable=True))) == 4


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"cgroupVersion": 1, "kernelVersion": "5.10.0"}, True),
        ({"cgroupVersion": 1, "kernelVersion": "5.17"}, False),
        ({"cgroupVersion": 2, "kernelVersion": "5.10.0"}, False),
        ({"kernelVersion": "5.10.0"}, False),
        ({"cgroupVersion": 1}, False),
        ({"cgroupVersion": 1, "assumeUnknownVulnerable": True}, True),
    ],
)
def test_cgroup_release_agent(spec: dict[str, Any], expected: bool) -> None:
    assert _cgroup_release_agent_open(ctx(**spec)) is expected


@pytest.mark.parametrize(
    ("fact", "classes"),
    [
        (
            "hostpath:/:ro",
            {"sensitive_read", "credential_files", "kubelet_pods", "var_log", "runtime_socket"},
        ),
        ("hostpath:/etc:ro", {"sensitive_read", "credential_files"}),
        ("hostpath:/root/.ssh:ro", {"sensitive_read", "credential_files"}),
        ("hostpath:/var/log:rw", {"var_log", "log_write", "write"}),
        ("hostpath:/var/lib/kubelet/pods:ro", {"kubelet_pods"}),
        ("hostpath:/proc/sys:rw", {"proc_sys_write", "write"}),
        ("hostpath:/run/containerd/containerd.sock:ro", {"runtime_socket"}),
        ("hostpath:/tmp/cache:rw", set()),
        ("hostpath:/mnt/models:rw", set()),
        ("hostpath:/dev/nvidia0:rw", set()),
        ("hostpath:/opt/data:rw", {"write", "write_unknown_owner"}),
        # root-owned system directories: "write" alone (escape-host-write also needs uid 0)
        ("hostpath:/etc/kubernetes/manifests:rw", {"sensitive_read", "write"}),
        ("hostpath:/etc/cron.d:rw", {"write"}),
        ("hostpath:/usr/local/bin:rw", {"write"}),
        (
            "hostpath:/var/lib/kubelet:rw",
            {"sensitive_read", "credential_files", "kubelet_pods", "write"},
        ),
        ("hostpath:/root/.ssh:rw", {"sensitive_read", "credential_files", "write"}),
        ("hostpath:/opt/cni/bin:rw", {"write"}),
        # a user may own files below / and /home
        (
            "hostpath:/:rw",
            {
                "sensitive_read",
                "credential_files",
                "kubelet_pods",
                "var_log",
                "log_write",
                "proc_sys_write",
                "runtime_socket",
                "write",
                "write_unknown_owner",
            },
        ),
        (
            "hostpath:/home/ubuntu/.ssh:rw",
            {"sensitive_read", "credential_files", "write", "write_unknown_owner"},
        ),
        ("hostpath:/opt/data:ro", set()),
        # runtime sockets wherever a distribution puts them, before the /run "safe" list
        ("hostpath:/run/k3s/containerd/containerd.sock:ro", {"runtime_socket"}),
        ("hostpath:/run/k3s/containerd/containerd.sock:rw", {"runtime_socket", "write"}),
        ("hostpath:/run/cri-dockerd.sock:ro", {"runtime_socket"}),
        ("hostpath:/run/dockershim.sock:ro", {"runtime_socket"}),
        ("hostpath:/run/podman/podman.sock:ro", {"runtime_socket"}),
        ("hostpath:/run/buildkit/buildkitd.sock:ro", {"runtime_socket"}),
        ("hostpath:/var/run/docker.sock:ro", {"runtime_socket"}),
        ("hostpath:/var/run/containerd:ro", {"runtime_socket"}),
        ("hostpath:/run/rke2/containerd.sock:ro", {"runtime_socket"}),
        # dockerd's own containerd socket lies under /var/run/docker (issue 17)
        ("hostpath:/var/run/docker:ro", {"runtime_socket"}),
        ("hostpath:/run/xtables.lock:rw", set()),
        ("hostpath:/var/run/secrets-cache:rw", set()),
        # the host's bus and init take orders through a read-only mount too
        ("hostpath:/run/dbus/system_bus_socket:ro", {"write"}),
        ("hostpath:/var/run/dbus/system_bus_socket:ro", {"write"}),
        ("hostpath:/run/systemd/private:ro", {"write"}),
        ("hostpath:/run/systemd:ro", {"write"}),
        ("hostpath:/home/ubuntu:ro", {"sensitive_read", "credential_files"}),
        ("hostpath:/home/ubuntu/.ssh:ro", {"sensitive_read", "credential_files"}),
        ("hostpath:/var/log/pods:ro", {"var_log"}),
        ("hostpath:/var/log/pods/ns_pod_uid:rw", {"var_log", "log_write", "write"}),
    ],
)
def test_hostpath_classes(fact: str, classes: set[str]) -> None:
    found = {k.split(":", 1)[1] for k in classify_hostpaths([fact])}
    assert found == classes


@pytest.mark.parametrize(
    ("name", "handlers", "declared", "low_level", "expected"),
    [
        (None, {}, {}, None, "none"),
        (None, {}, {}, "runc", "none"),
        (None, {}, {}, "kata", "vm"),  # the nodes' runtime for pods without a class
        (None, {}, {}, "gvisor", "userspace-kernel"),
        ("gvisor", {"gvisor": "runsc"}, {}, None, "userspace-kernel"),
        ("sandbox", {"sandbox": "gvisor"}, {}, None, "userspace-kernel"),
        ("k", {"k": "kata"}, {}, None, "vm"),
        ("k", {"k": "kata-qemu-nvidia-gpu"}, {}, None, "vm"),
        ("k", {"k": "kata-clh"}, {}, "gvisor", "vm"),  # a class overrides the default
        ("nvidia", {"nvidia": "nvidia"}, {}, None, "none"),
        ("gvisor", {"gvisor": "runc"}, {}, None, "none"),  # the handler decides, not the name
        ("x", {"x": "my-kata"}, {"my-kata": "vm"}, None, "vm"),  # declared handler
        ("x", {"x": "fc"}, {"x": "vm"}, None, "vm"),  # declared RuntimeClass name
        ("x", {"x": "kata"}, {"kata": "none"}, None, "none"),  # the context wins
        ("x", {"x": "kata"}, {"x": "none"}, None, "none"),
        ("gvisor", {}, {}, None, "none"),  # no RuntimeClass: handler unknown
        ("kata", {}, {}, "kata", "none"),  # lowLevel is for pods without a class
        ("gvisor", {}, {"gvisor": "userspace-kernel"}, None, "userspace-kernel"),
        ("x", {"x": None}, {}, None, "none"),  # a RuntimeClass without handler
    ],
)
def test_runtime_isolation(
    name: str | None,
    handlers: dict[str, str | None],
    declared: dict[str, str],
    low_level: str | None,
    expected: str,
) -> None:
    isolation, why = runtime_isolation(name, handlers, declared, low_level)
    assert isolation == expected
    assert why


@pytest.mark.parametrize(
    ("host_users", "version", "expected"),
    [
        (None, None, True),  # unset: the node's user namespace
        (True, "1.34", True),
        (False, "1.34", False),  # a user namespace of the pod's own
        # the version unknown: it may be before v1.33, where the field is dropped
        (False, None, True),
        # before v1.33 the UserNamespacesSupport gate is off by default: the field is dropped
        (False, "v1.32.4", True),
        (False, "1.33", False),
        (False, "1.36.1", False),
    ],
)
def test_host_user_namespace(host_users: bool | None, version: str | None, expected: bool) -> None:
    shared, why = host_user_namespace(host_users, kubernetes_version=version)
    assert shared is expected
    assert "hostUsers" in why


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ({"host_users:field"}, True),
        (set(), False),  # hostUsers: false honoured
        # the API server rejects these with hostUsers: false: taken as the node's
        ({"host_pid"}, True),
        ({"host_ipc"}, True),
        ({"host_network"}, True),
        ({"host_users:field", "host_pid"}, True),
    ],
)
def test_host_users_is_derived(base: set[str], expected: bool) -> None:
    # derived (not a base fact): a control that turns hostPID/hostIPC/hostNetwork off is
    # judged by what remains
    facts, because, _ = derive(frozenset(base), None, DeriveOptions())
    assert ("host_users" in facts) is expected
    if expected:
        assert set(because["host_users"]) == base


def test_runtime_classes_in_the_context_are_validated() -> None:
    from attackmap.errors import InputError
    from attackmap.model import load

    doc = """
apiVersion: attackmap/v1
kind: ClusterContext
metadata: {name: c}
spec:
  runtimeClasses:
    my-kata: vmm
"""
    with pytest.raises(InputError) as e:
        load(doc)
    assert e.value.line is not None and "runtimeClasses" in str(e.value.field)


def test_effective_capabilities() -> None:
    assert "SYS_ADMIN" in effective_capabilities(frozenset({"privileged"}))
    assert effective_capabilities(frozenset({"cap_drop:ALL", "cap_add:BPF"})) == {"BPF"}
    caps = effective_capabilities(frozenset({"cap_drop:NET_RAW"}))
    assert "NET_RAW" not in caps and "CHOWN" in caps


# -- extraction on small manifests ----------------------------------------------------------


def facts_of(*docs: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Workload key -> pod-level base facts, and identity key -> facts."""
    from attackmap.graph._facts import extract
    from attackmap.model import load

    fb = extract(load(*docs))
    out = {w.key: w.pod for w in fb.workloads}
    out.update({i.key: i.pod for i in fb.identities})
    return out


def _pod(spec: dict[str, Any], name: str = "p", ns: str = "app") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "x"}], **spec},
    }


def _binding(
    kind: str, subject: dict[str, Any], role: str, ns: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"b-{role}-{subject['name']}"}
    if ns:
        meta["namespace"] = ns
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "subjects": [subject],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
    }


def _role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": list(rules),
    }


SA = {"kind": "ServiceAccount", "name": "default", "namespace": "app"}


def test_projected_token_is_a_token_without_automount() -> None:
    projected = {"projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
    facts = facts_of(
        _pod({"automountServiceAccountToken": False, "volumes": [{"name": "t", **projected}]})
    )
    assert "sa_token" in facts["Pod/app/p"]
    assert "sa_token" not in facts_of(_pod({"automountServiceAccountToken": False}))["Pod/app/p"]


def test_network_policy_facts_separate_open_from_allowed() -> None:
    open_pod = facts_of(_pod({}))["Pod/app/p"]
    assert {"netpol:ingress_open", "netpol:egress_open"} <= open_pod
    assert not {"netpol:allows_any_pod", "netpol:allows_external", "netpol:allows_peers"} & open_pod
    allow_all = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "all", "namespace": "app"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]},
    }
    isolated = facts_of(_pod({}), allow_all)["Pod/app/p"]
    assert "netpol:ingress_open" not in isolated
    assert {
        "netpol:ingress_isolated",
        "netpol:allows_any_pod",
        "netpol:allows_external",
    } <= isolated
    assert "netpol:allows_peers" in isolated


def test_group_bindings_give_group_facts() -> None:
    reader = _role("reader", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    exec_ = _role("exec", {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]})
    group = {
        "kind": "Group",
        "name": "system:serviceaccounts",
        "apiGroup": "rbac.authorization.k8s.io",
    }
    facts = facts_of(
        _pod({}),
        reader,
        exec_,
        _binding("ClusterRoleBinding", group, "reader"),
        _binding("RoleBinding", SA, "exec", "app"),
    )["Pod/app/p"]
    assert "rbac_group:read_secrets" in facts
    assert "rbac_sa:exec" in facts
    assert not {f for f in facts if f.startswith("rbac:")}  # derived, not base


def test_cluster_scoped_rights_need_a_cluster_role_binding() -> None:
    rules = _role(
        "powers",
        {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"]},
        {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["patch"]},
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations"],
            "verbs": ["create"],
        },
        {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    )
    cluster = facts_of(_pod({}), rules, _binding("ClusterRoleBinding", SA, "powers"))["Pod/app/p"]
    wanted = {
        "impersonate",
        "nodes_proxy",
        "patch_namespaces",
        "mutating_webhooks",
        "ephemeral_containers",
        "create_tokens",
    }
    assert {f"rbac_sa:{r}" for r in wanted} <= cluster
    namespaced = facts_of(_pod({}), rules, _binding("RoleBinding", SA, "powers", "app"))[
        "Pod/app/p"
    ]
    assert {f for f in namespaced if f.startswith("rbac_sa:")} == {
        "rbac_sa:ephemeral_containers",
        "rbac_sa:create_tokens",
    }


def test_pod_create_in_a_namespace_outside_the_manifests_admits_privileged() -> None:
    labelled = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "app", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
    }
    create = _role("create", {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]})
    inside = facts_of(_pod({}), labelled, create, _binding("RoleBinding", SA, "create", "app"))
    assert "deploy_admits:privileged" not in inside["Pod/app/p"]
    outside = facts_of(
        _pod({}), labelled, create, _binding("RoleBinding", SA, "create", "elsewhere")
    )
    assert "deploy_admits:privileged" in outside["Pod/app/p"]


def test_unused_service_accounts_are_identities() -> None:
    admin = {"kind": "ServiceAccount", "name": "admin", "namespace": "app"}
    facts = facts_of(_pod({}), _binding("ClusterRoleBinding", admin, "cluster-admin"))
    assert "rbac_sa:cluster_admin" in facts["ServiceAccount/app/admin"]
    # a ServiceAccount a workload runs as is that workload's identity, not a second one
    used = facts_of(_pod({}), _binding("ClusterRoleBinding", SA, "cluster-admin"))
    assert "ServiceAccount/app/default" not in used


# -- SSH reached through a Service, declared or not (issue 17) ---------------------------------


def container_facts_of(*docs: dict[str, Any]) -> dict[str, frozenset[str]]:
    """``Kind/ns/name[container]`` -> container base facts."""
    from attackmap.graph._facts import extract
    from attackmap.model import load

    fb = extract(load(*docs))
    return {f"{w.key}[{c.name}]": c.facts for w in fb.workloads for c in w.containers}


def _service(port: int, target: int | str, type_: str = "ClusterIP") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "p", "namespace": "app"},
        "spec": {
            "type": type_,
            "selector": {"app": "p"},
            "ports": [{"port": port, "targetPort": target}],
        },
    }


@pytest.mark.parametrize("target", [22, 2222])
def test_a_service_to_the_ssh_port_is_a_remote_service_without_a_container_port(
    target: int,
) -> None:
    pod = _pod({"initContainers": [{"name": "init", "image": "x"}]})
    facts = container_facts_of(pod, _service(target, target, "LoadBalancer"))
    assert {"remote_service", "remote_service:routed"} <= facts["Pod/app/p[c]"]
    assert "remote_service" not in facts["Pod/app/p[init]"]  # gone before sshd could serve
    internal = container_facts_of(pod, _service(22, target))["Pod/app/p[c]"]
    assert "remote_service" in internal and "remote_service:routed" not in internal


def test_a_named_target_port_resolving_to_ssh_is_a_remote_service() -> None:
    pod = _pod(
        {
            "containers": [
                {"name": "c", "image": "x", "ports": [{"containerPort": 22, "name": "mpi"}]}
            ]
        }
    )
    facts = container_facts_of(pod, _service(8022, "mpi", "NodePort"))["Pod/app/p[c]"]
    assert {"remote_service", "remote_service:routed"} <= facts


def test_a_service_to_another_port_is_no_remote_service() -> None:
    facts = container_facts_of(_pod({}), _service(8000, 8000, "LoadBalancer"))["Pod/app/p[c]"]
    assert not {"remote_service", "remote_service:routed"} & facts


# -- what derive() shares between scopes --------------------------------------------------

STEP_MANIFESTS = Path(__file__).resolve().parent / "manifests" / "steps"


def _container_bases() -> list[tuple[frozenset[str], ContainerFacts]]:
    """The base facts of every container scope of the step corpus (each step's firing
    and quiet manifests), with each control of the catalogue applied too."""
    from attackmap.graph import load_catalogue
    from attackmap.graph._engine import AttackGraph
    from attackmap.graph._facts import extract
    from attackmap.model import load

    catalogue = load_catalogue(load_attack())
    out: dict[tuple[frozenset[str], Any], tuple[frozenset[str], ContainerFacts]] = {}
    for path in sorted(STEP_MANIFESTS.glob("*/*.yaml")):
        if path.name == "options.yaml":
            continue
        graph = AttackGraph(extract(load(path)), catalogue)
        for sf in graph.scopes.values():
            if sf.container is None:
                continue
            for ci in (None, *(c.instantiate("SYS_ADMIN") for c in catalogue.controls)):
                base = sf.base if ci is None else ci.transform(sf.base)
                out[(base, derive_key(sf.container))] = (base, sf.container)
    return list(out.values())


def test_the_container_rules_read_only_the_container_inputs() -> None:
    """derive() shares a container's derived facts between scopes (and what-ifs) with the
    same :data:`CONTAINER_INPUTS` facts: its container rules read no other family. Over the
    step corpus, with every control applied: the rules give the same over the inputs alone,
    and facts of the vocabulary's other families added change nothing."""
    options = DeriveOptions()
    others = frozenset(
        family.replace("*", "x")
        for family in FACT_FAMILIES
        if not family.startswith(CONTAINER_INPUTS)
    )
    assert {"host_pid", "netpol:egress_open", "gpu"} <= others

    def derived(base: frozenset[str], container: ContainerFacts) -> Any:
        facts, because, warnings = _derive_container(base, container, options, None)
        return facts - (base - _inputs(base)), because, warnings

    bases = _container_bases()
    assert len(bases) > 1000
    assert any("privileged" in b for b, _ in bases)
    assert any(f.startswith("hostpath:") for b, _ in bases for f in b)
    alone: dict[Any, tuple[frozenset[str], ContainerFacts]] = {}
    for base, container in bases:
        inputs = _inputs(base)
        expected = derived(inputs, container)
        assert derived(base, container) == expected
        assert derived(base | others, container) == expected
        alone.setdefault((inputs, derive_key(container)), (base, container))
    # each alone (a rule may read one family only where another is absent), over a tenth
    # of the distinct input sets (the test's time)
    sample = sorted(alone.values(), key=lambda item: sorted(item[0]))[::10]
    assert len(sample) > 20
    for base, container in sample:
        expected = derived(base, container)
        for fact in others - base:
            assert derived(base | {fact}, container) == expected, fact


def _inputs(base: frozenset[str]) -> frozenset[str]:
    """``base``'s facts of the families the container rules read."""
    return frozenset(f for f in base if f.startswith(CONTAINER_INPUTS))


def _rbac_scope_rights_by_scan(rules: tuple[PolicyRule, ...]) -> dict[str, frozenset[str]]:
    """The RBAC_RIGHTS part of :func:`rbac_scope` as a plain scan: every right asked of
    every rule (the memo of what a rule grants must not change it)."""
    out: dict[str, frozenset[str]] = {}
    for right, alternatives in RBAC_RIGHTS.items():
        where: set[str] = set()
        for rule in rules:
            if right in CLUSTER_SCOPED_RIGHTS and rule.namespace is not None:
                continue
            ns = "*" if rule.namespace is None else rule.namespace
            if any(rule.allows(v, r, g) for v, r, g in alternatives):
                where.add(ns)
            elif right in NAMED_RIGHTS:
                where.update(
                    f"{ns}/{n}"
                    for n in rule.resource_names
                    if any(rule.allows(v, r, g, name=n) for v, r, g in alternatives)
                )
        if where:
            out[right] = _scope_set(where)
    return out


def test_rbac_scope_memo_of_rule_rights_keeps_namespaces_and_names() -> None:
    """Rules of one content in several namespaces share a memo entry; each keeps its own
    namespace, cluster-scoped rights hold only from cluster-wide rules, named rights keep
    their names, and the rights come out in RBAC_RIGHTS order."""
    role = ObjectRef(kind="ClusterRole", namespace=None, name="r")
    via = ObjectRef(kind="RoleBinding", namespace="a", name="b")

    def rule(
        ns: str | None,
        verbs: list[str],
        resources: list[str],
        names: tuple[str, ...] = (),
        group: str = "",
    ) -> PolicyRule:
        return PolicyRule(
            api_groups=(group,),
            resources=tuple(resources),
            verbs=tuple(verbs),
            resource_names=tuple(names),
            namespace=ns,
            via=via,
            role=role,
        )

    rules = (
        rule("a", ["get", "list"], ["secrets"]),
        rule("b", ["get", "list"], ["secrets"]),
        rule(None, ["create"], ["pods/exec"]),
        rule("c", ["impersonate"], ["groups"]),  # cluster-scoped right, namespaced rule
        rule(None, ["impersonate"], ["groups"]),
        rule("a", ["impersonate"], ["serviceaccounts"], ("x", "y")),
        rule("b", ["impersonate"], ["serviceaccounts"], ("x", "y")),
        rule("c", ["*"], ["*"], group="*"),
    )
    memo: dict[Any, Any] = {}
    scope = rbac_scope(rules, memo=memo)
    assert len(memo) == 5  # one entry per distinct content
    expected = _rbac_scope_rights_by_scan(rules)
    assert {k: v for k, v in scope.items() if k in RBAC_RIGHTS} == expected
    assert list(expected) == [r for r in scope if r in RBAC_RIGHTS]  # the same order
    assert scope["read_secrets"] >= {"a", "b"}
    assert scope["impersonate_serviceaccounts"] >= {"a/x", "a/y", "b/x", "b/y"}
    assert scope["impersonate"] == frozenset({"*"})
    # the memo filled by other rules answers as a fresh one does
    again = rbac_scope(rules[:2] + rules[5:6], memo=memo)
    assert again == rbac_scope(rules[:2] + rules[5:6])
    assert again["read_secrets"] == frozenset({"a", "b"})
