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


def test_node_workload_tokens_follow_placement() -> None:
    """Only the tokens of workloads that may share a node with the source (or, from a
    node step, that may run on its node class): two nodeNames never share one. More in
    test_placement.py."""
    from attackmap.graph._placement import NodeClass

    fb = world(
        pod("pinned", nodeName="n2"),
        pod("elsewhere", nodeName="n3"),
    )
    # the agent may run anywhere, so it may share a node with every token holder
    assert targets(fb, "node_workload_tokens") == {
        ("Pod/app/near", None),
        ("Pod/app/pinned", None),
        ("Pod/app/elsewhere", None),
    }
    pinned = next(w for w in fb.workloads if w.key == "Pod/app/pinned")
    assert set(RELATIONS["node_workload_tokens"](fb, pinned)) == {
        ("Pod/app/near", None),
        ("Pod/app/agent", None),
    }
    (n3,) = [c for c in fb.placement.classes if c.name == "name=n3"]
    assert isinstance(n3, NodeClass)
    assert set(RELATIONS["node_workload_tokens"](fb, n3)) == {
        ("Pod/app/near", None),
        ("Pod/app/agent", None),
        ("Pod/app/elsewhere", None),
    }


def test_node_running_containers_follow_placement() -> None:
    """From a node class: the running containers (no init containers) of the workloads
    that may run there, the source's own included (a node step has no workload); from a
    workload, nothing (a node step's relation). More in test_node_root_exec.py."""
    fb = world(pod("pinned", nodeName="n2"), pod("elsewhere", nodeName="n3"))
    (n3,) = [c for c in fb.placement.classes if c.name == "name=n3"]
    assert set(RELATIONS["node_running_containers"](fb, n3)) == {
        ("Pod/app/agent", "c"),
        ("Pod/app/near", "c"),
        ("Pod/other/far", "c"),
        ("Pod/app/elsewhere", "c"),
    }
    # one node class: every placed workload's running containers
    (node,) = world().placement.classes
    assert set(RELATIONS["node_running_containers"](world(), node)) == {
        ("Pod/app/agent", "c"),
        ("Pod/app/near", "c"),
        ("Pod/other/far", "c"),
    }
    # a pod no node takes is on none (it would stay Pending)
    stuck = pod("stuck", nodeName="n2", nodeSelector={"a": "b"})
    stuck["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}
                ]
            }
        }
    }
    fb = world(stuck)
    (node,) = fb.placement.classes
    assert fb.placement.of("Pod/app/stuck") == ()
    assert ("Pod/app/stuck", "c") not in set(RELATIONS["node_running_containers"](fb, node))
    assert ("Pod/app/stuck", None) not in set(RELATIONS["node_workload_tokens"](fb, node))


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
        "node_running_containers",
        "deploy_namespace_tokens",
        "token_request_targets",
        "impersonation_targets",
        "escalate_namespace_targets",
        "bind_namespace_targets",
        "network_reach_targets",
        "shared_store_readers",
        "shared_store_code_loaders",
        "registry_image_pullers",
        "ssh_key_peers",
        "token_secret_identities",
        "readable_token_identities",
        "pid_namespace_peers",
    }
    assert set(RELATIONS) == tested


def test_pid_namespace_peers_are_the_source_pods_own_containers() -> None:
    """The one relation whose targets are the source workload's own: the other running
    containers of its pod (no init container, not the source container, no other pod),
    only when the pod shares its PID namespace."""
    two = [{"name": "c", "image": "x"}, {"name": "d", "image": "x"}]
    fb = extract(load(pod("agent", containers=two, shareProcessNamespace=True), pod("near")))
    source = next(w for w in fb.workloads if w.key == "Pod/app/agent")
    relation = RELATIONS["pid_namespace_peers"]
    assert relation(fb, source, "c") == (("Pod/app/agent", "d"),)
    assert set(relation(fb, source)) == {("Pod/app/agent", "c"), ("Pod/app/agent", "d")}
    fb = extract(load(pod("agent", containers=two)))
    assert relation(fb, fb.workloads[0], "c") == ()


# -- shared storage and stolen credentials (issue 16) -------------------------------------


def mounting(name: str, ns: str, *mounts: tuple[str, Doc, str, bool], **container: Any) -> Doc:
    """A pod whose container ``c`` mounts each ``(volume name, source, path, read-only)``."""
    return pod(
        name,
        ns=ns,
        containers=[
            {
                "name": "c",
                "image": "x",
                "volumeMounts": [
                    {"name": v, "mountPath": path, "readOnly": ro} for v, _, path, ro in mounts
                ],
                **container,
            }
        ],
        volumes=[{"name": v, **source} for v, source, _, _ in mounts],
    )


def pvc(claim: str) -> Doc:
    return {"persistentVolumeClaim": {"claimName": claim}}


def host(path: str) -> Doc:
    return {"hostPath": {"path": path}}


def relation_of(fb: FactBase, relation: str, source: str, container: str | None = None) -> set[Any]:
    holder = next(w for w in fb.workloads if w.key == source)
    return set(RELATIONS[relation](fb, holder, container))


def test_shared_store_readers_follow_the_claim_and_overlapping_host_paths() -> None:
    """The same claim in the same namespace, read-only or not, and host directories one
    inside the other; never a claim of the same name elsewhere, a sibling directory or the
    writer itself."""
    fb = extract(
        load(
            mounting(
                "writer",
                "app",
                ("m", pvc("models"), "/work", False),
                ("h", host("/data"), "/h", False),
            ),
            mounting("reader", "app", ("m", pvc("models"), "/models", True)),
            mounting("elsewhere", "other", ("m", pvc("models"), "/models", True)),
            mounting("nested", "other", ("h", host("/data/nim"), "/cache", True)),
            mounting("sibling", "other", ("h", host("/data2"), "/cache", True)),
        )
    )
    assert relation_of(fb, "shared_store_readers", "Pod/app/writer", "c") == {
        ("Pod/app/reader", None),
        ("Pod/other/nested", None),
    }
    # a reader writes nothing: no targets; the read-only mount does not count as written
    assert relation_of(fb, "shared_store_readers", "Pod/app/reader", "c") == set()
    assert relation_of(fb, "shared_store_readers", "Pod/other/nested", "c") == set()


def test_shared_store_relations_follow_the_container_that_writes() -> None:
    """Only the mounts of the container the step fires in: a sidecar that writes nothing
    reaches no reader; ``None`` (any container) reaches them."""
    writer = mounting("writer", "app", ("m", pvc("models"), "/work", False))
    writer["spec"]["containers"].append({"name": "side", "image": "x"})
    fb = extract(load(writer, mounting("reader", "app", ("m", pvc("models"), "/models", True))))
    assert relation_of(fb, "shared_store_readers", "Pod/app/writer", "side") == set()
    assert relation_of(fb, "shared_store_readers", "Pod/app/writer") == {("Pod/app/reader", None)}


def test_shared_store_code_loaders_are_the_containers_running_code_from_it() -> None:
    """Triton serving its repository from the claim runs code from it; a plain reader of
    the claim does not, and trust_remote_code counts only on a model store."""
    fb = extract(
        load(
            mounting("writer", "app", ("m", pvc("models"), "/work", False)),
            mounting(
                "triton",
                "app",
                ("m", pvc("models"), "/models", True),
                command=["tritonserver"],
                args=["--model-repository", "/models/llama"],
            ),
            mounting("plain", "app", ("m", pvc("models"), "/data", True)),
            mounting(
                "remote",
                "app",
                ("m", pvc("models"), "/data", True),
                args=["--trust-remote-code"],
            ),
            mounting(
                "custom",
                "app",
                ("m", pvc("models"), "/model-store", True),
                env=[{"name": "NIM_TRUST_CUSTOM_CODE", "value": "1"}],
            ),
        )
    )
    assert relation_of(fb, "shared_store_code_loaders", "Pod/app/writer", "c") == {
        ("Pod/app/triton", "c"),
        ("Pod/app/custom", "c"),
    }
    assert ("Pod/app/plain", None) in relation_of(fb, "shared_store_readers", "Pod/app/writer", "c")


def secret(name: str, ns: str, kind: str, data: dict[str, str] | None = None, **meta: Any) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, **meta},
        "type": kind,
        "data": data or {},
    }


def test_registry_image_pullers_are_the_workloads_pulling_from_its_hosts() -> None:
    """The hosts the dockerconfigjson names (base64 JSON, auths), the pullers of those
    registries in any namespace; not the holder, not other registries."""
    # {"auths": {"https://registry.example.com/v1/": {}}}
    config = "eyJhdXRocyI6IHsiaHR0cHM6Ly9yZWdpc3RyeS5leGFtcGxlLmNvbS92MS8iOiB7fX19"
    fb = extract(
        load(
            secret(
                "regcred", "ci", "kubernetes.io/dockerconfigjson", {".dockerconfigjson": config}
            ),
            mounting("builder", "ci", ("d", {"secret": {"secretName": "regcred"}}, "/d", True)),
            pod(
                "served", ns="prod", containers=[{"name": "c", "image": "registry.example.com/a:1"}]
            ),
            pod("public", ns="prod", containers=[{"name": "c", "image": "nginx:1.27"}]),
        )
    )
    assert relation_of(fb, "registry_image_pullers", "Pod/ci/builder") == {
        ("Pod/prod/served", None)
    }


def test_ssh_key_peers_serve_ssh_with_the_same_key() -> None:
    """Containers that mount the same key Secret (same namespace) and serve SSH (sshd in
    the command, or port 2222); a holder that serves nothing is no target."""
    key = ("k", {"secret": {"secretName": "llm-ssh-pk"}}, "/opt/pk", True)
    fb = extract(
        load(
            mounting("leader", "nim", key),
            mounting("worker", "nim", key, command=["bash", "-c", "/usr/sbin/sshd -De"]),
            mounting("port", "nim", key, ports=[{"containerPort": 2222}]),
            mounting("idle", "nim", key),
            mounting("elsewhere", "other", key, command=["sshd"]),
        )
    )
    assert relation_of(fb, "ssh_key_peers", "Pod/nim/leader") == {
        ("Pod/nim/worker", "c"),
        ("Pod/nim/port", "c"),
    }
    assert "credential:ssh_peer" in next(w for w in fb.workloads if w.key == "Pod/nim/idle").pod


def test_token_secret_identities_are_the_annotated_service_accounts() -> None:
    """A service-account-token Secret the pod mounts names its account: the workloads
    running as it and the identity itself."""
    fb = extract(
        load(
            service_account("deployer"),
            role(("create", "pods", "")),
            binding("app", "deployer"),
            secret(
                "deployer-token",
                "app",
                "kubernetes.io/service-account-token",
                annotations={"kubernetes.io/service-account.name": "deployer"},
            ),
            mounting(
                "runner", "app", ("t", {"secret": {"secretName": "deployer-token"}}, "/t", True)
            ),
        )
    )
    assert relation_of(fb, "token_secret_identities", "Pod/app/runner") == {
        ("ServiceAccount/app/deployer", None)
    }


def test_a_mount_above_what_is_written_reads_it_only_where_it_loads_models() -> None:
    """Writing /data/nim/llama changes what a mount of / or /data sees; only the one that
    keeps its models there (/data at /model-store) is a reader. System directories (/etc)
    are no shared store at all: writing them is an escape."""
    fb = extract(
        load(
            mounting(
                "writer",
                "app",
                ("h", host("/data/nim/llama"), "/w", False),
                ("e", host("/etc"), "/e", False),
            ),
            mounting("agent", "other", ("h", host("/"), "/host", True)),
            mounting("cache", "other", ("h", host("/data"), "/model-store", True)),
            mounting("config", "other", ("e", host("/etc/nim"), "/cfg", True)),
        )
    )
    assert relation_of(fb, "shared_store_readers", "Pod/app/writer", "c") == {
        ("Pod/other/cache", None)
    }
    writer = next(w for w in fb.workloads if w.key == "Pod/app/writer")
    (c,) = [c for c in writer.containers if c.name == "c"]
    assert "shared_store:write" in c.facts
    assert writer.evidence["c/shared_store:write"].detail == (
        "hostPath /data/nim/llama at /w, mounted by Pod/other/cache"
    )
    # the agent mounting / reads the cache's model store (theft), writes nothing
    agent = next(w for w in fb.workloads if w.key == "Pod/other/agent")
    (c,) = [c for c in agent.containers if c.name == "c"]
    assert "shared_store:read_model" in c.facts
    assert "shared_store:write" not in c.facts


def test_readable_token_identities_follow_the_read_secrets_namespaces() -> None:
    """Token Secrets of the namespaces where the ServiceAccount reads Secrets: the account
    the annotation names (a workload running as it, or the identity), not one elsewhere."""
    token = {"kubernetes.io/service-account.name": "builder"}

    def rights(ns: str) -> Doc:  # the builders hold the agent role too: identities
        doc = binding(ns, "builder")
        doc["metadata"]["name"] = f"builder-{ns}"
        doc["subjects"][0]["namespace"] = ns
        return doc

    docs = [
        service_account("builder"),
        service_account("builder", ns="other"),
        secret("builder-token", "app", "kubernetes.io/service-account-token", annotations=token),
        secret("builder-token", "other", "kubernetes.io/service-account-token", annotations=token),
        rights("app"),
        rights("other"),
    ]
    fb = world(role(("get", "secrets", "")), binding("app"), *docs)
    assert targets(fb, "readable_token_identities") == {("ServiceAccount/app/builder", None)}
    agent = next(w for w in fb.workloads if w.key == "Pod/app/agent")
    assert agent.evidence["credential:readable_token_secret"].detail == (
        "may read Secret app/builder-token (ServiceAccount app/builder)"
    )
    cluster = world(role(("list", "secrets", "")), binding(None), *docs)
    assert targets(cluster, "readable_token_identities") == {
        ("ServiceAccount/app/builder", None),
        ("ServiceAccount/other/builder", None),
    }
    assert (
        targets(world(role(("get", "pods", "")), binding(None), *docs), "readable_token_identities")
        == set()
    )
