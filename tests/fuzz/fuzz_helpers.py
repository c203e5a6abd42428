"""Shared pieces of the property and fuzz tests: budgets and a manifest factory."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import settings

#: ``max_examples`` of the profile in force (100 unless ``--hypothesis-profile`` says).
_ACTIVE = settings.default.max_examples


def budget(short: int) -> int:
    """``short`` examples in a normal run; the loaded profile's count in a long one."""
    return short if _ACTIVE <= 100 else _ACTIVE


CAPABILITIES = (
    "SYS_ADMIN",
    "SYS_PTRACE",
    "NET_ADMIN",
    "NET_RAW",
    "DAC_READ_SEARCH",
    "SYS_MODULE",
    "BPF",
)
HOST_PATHS = ("/", "/var/run/containerd/containerd.sock", "/var/log", "/etc/kubernetes", "/dev")
RESOURCES = ("secrets", "pods", "pods/exec", "roles", "rolebindings", "nodes/proxy")
VERBS = ("get", "list", "watch", "create", "patch", "delete", "escalate", "bind", "impersonate")
EXPOSURES = ("none", "ClusterIP", "NodePort", "LoadBalancer")  # increasing
SECCOMP = ("RuntimeDefault", "absent", "Unconfined")  # increasingly weak


@dataclass(frozen=True)
class Privileges:
    """What one workload is allowed; every field is ordered from least to most privilege."""

    capabilities: frozenset[str] = frozenset()
    privileged: bool = False
    host_pid: bool = False
    host_network: bool = False
    host_ipc: bool = False
    host_paths: frozenset[str] = frozenset()
    writable_host_paths: bool = False
    exposure: int = 0  # index into EXPOSURES
    rbac: frozenset[tuple[str, str]] = frozenset()  # (resource, verb)
    seccomp: int = 0  # index into SECCOMP
    automount_token: bool = False
    allow_privilege_escalation: bool = False
    run_as_root: bool = False
    writable_root: bool = False
    gpu: bool = False
    host_kernel: bool = False  # False: a gVisor RuntimeClass (runsc); True: the node's kernel
    host_users: bool = False  # False: hostUsers: false (a user namespace); True: the node's
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


#: A cluster on which ``hostUsers: false`` counts (Kubernetes 1.33 or later): with no
#: version given it counts as the node's user namespace, and ``host_users`` would not vary.
CLUSTER_CONTEXT: dict[str, Any] = {
    "apiVersion": "attackmap/v1",
    "kind": "ClusterContext",
    "metadata": {"name": "fuzz"},
    "spec": {"kubernetesVersion": "1.33"},
}


def raised(p: Privileges, dimension: str, value: Any) -> Privileges:
    """``p`` with one more privilege along ``dimension``."""
    current = getattr(p, dimension)
    if isinstance(current, frozenset):
        return replace(p, **{dimension: current | {value}})
    return replace(p, **{dimension: value})


def manifests(p: Privileges, name: str = "llm", namespace: str = "nim") -> list[dict[str, Any]]:
    """The Deployment (+ Service, ServiceAccount, Role, RoleBinding) granting ``p``."""
    sc: dict[str, Any] = {
        "privileged": p.privileged,
        "allowPrivilegeEscalation": p.allow_privilege_escalation,
        "readOnlyRootFilesystem": not p.writable_root,
        "capabilities": {"drop": ["ALL"], "add": sorted(p.capabilities)},
    }
    if SECCOMP[p.seccomp] != "absent":
        sc["seccompProfile"] = {"type": SECCOMP[p.seccomp]}
    if not p.run_as_root:
        sc["runAsNonRoot"] = True
        sc["runAsUser"] = 1000
    container: dict[str, Any] = {
        "name": "nim",
        "image": "nvcr.io/nim/meta/llama3:1.0",
        "securityContext": sc,
        "ports": [{"containerPort": 8000, "name": "http"}] if p.exposure else [],
        "volumeMounts": [
            {"name": f"host{i}", "mountPath": f"/host{i}", "readOnly": not p.writable_host_paths}
            for i, _ in enumerate(sorted(p.host_paths))
        ],
    }
    if p.gpu:
        container["resources"] = {"limits": {"nvidia.com/gpu": 1}}
    labels = {"app": name}
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": name,
                        "automountServiceAccountToken": p.automount_token,
                        "hostPID": p.host_pid,
                        "hostNetwork": p.host_network,
                        "hostIPC": p.host_ipc,
                        "hostUsers": p.host_users,
                        "volumes": [
                            {"name": f"host{i}", "hostPath": {"path": path}}
                            for i, path in enumerate(sorted(p.host_paths))
                        ],
                        "containers": [container],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        },
    ]
    if not p.host_kernel:
        runtime_class = f"{name}-sandbox"
        docs[0]["spec"]["template"]["spec"]["runtimeClassName"] = runtime_class
        docs.append(
            {
                "apiVersion": "node.k8s.io/v1",
                "kind": "RuntimeClass",
                "metadata": {"name": runtime_class},
                "handler": "runsc",
            }
        )
    if p.exposure:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "type": EXPOSURES[p.exposure],
                    "selector": labels,
                    "ports": [{"port": 8000, "targetPort": "http"}],
                },
            }
        )
    if p.rbac:
        rules = [
            {
                "apiGroups": [""],
                "resources": [resource],
                "verbs": sorted(v for r, v in p.rbac if r == resource),
            }
            for resource in sorted({r for r, _ in p.rbac})
        ]
        for rule in rules:
            if rule["resources"][0] in ("roles", "rolebindings"):
                rule["apiGroups"] = ["rbac.authorization.k8s.io"]
        docs += [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": rules,
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            },
        ]
    return docs
