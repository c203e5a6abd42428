"""Issue 17, "false positives": techniques reported that cannot happen.

Each test analyses a small manifest of its own; each failed before its fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.graph import Report, analyze


def _pod(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "nim", "labels": {"app": "app"}},
        "spec": {"containers": [{"name": "app", "image": "x", **container}], **spec},
    }


def _caps(*add: str) -> dict[str, Any]:
    return {"securityContext": {"capabilities": {"drop": ["ALL"], "add": list(add)}}}


def _steps(rep: Report, technique: str = "T1611") -> set[str]:
    return {
        s.id
        for w in rep.workloads
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
        for s in p.steps
    }


# -- CAP_BPF alone -------------------------------------------------------------------------


def test_cap_bpf_alone_is_no_escape() -> None:
    """Tracing programs need CAP_BPF and CAP_PERFMON; CAP_BPF alone loads none."""
    assert _steps(analyze([_pod(_caps("BPF"))])) == set()


def test_cap_bpf_with_perfmon_reads_the_host_and_sys_admin_writes_it() -> None:
    assert "escape-bpf-read" in _steps(analyze([_pod(_caps("BPF", "PERFMON"))]))
    assert "escape-bpf" not in _steps(analyze([_pod(_caps("BPF", "PERFMON"))]))
    assert "escape-bpf" in _steps(analyze([_pod(_caps("SYS_ADMIN"))]))


# -- credential names ----------------------------------------------------------------------


def _env(*names: str) -> dict[str, Any]:
    return {"env": [{"name": n, "value": f"/secrets/{n.lower()}"} for n in names]}


def test_names_holding_a_path_are_no_credentials() -> None:
    paths = _env("NGC_API_KEY_FILE", "HF_TOKEN_PATH", "SSH_KEY_PATH", "AWS_WEB_IDENTITY_TOKEN_FILE")
    assert "env-credentials" not in _steps(analyze([_pod(paths)]), "T1552.001")
    real = _env("NGC_API_KEY_FILE", "NGC_API_KEY")
    assert "env-credentials" in _steps(analyze([_pod(real)]), "T1552.001")


# -- writable hostPath and the user ----------------------------------------------------------


def _host_write(path: str, container_sc: dict[str, Any], **pod_sc: Any) -> set[str]:
    container = {
        "securityContext": container_sc,
        "volumeMounts": [{"name": "h", "mountPath": "/h"}],
    }
    spec: dict[str, Any] = {"volumes": [{"name": "h", "hostPath": {"path": path}}]}
    if pod_sc:
        spec["securityContext"] = pod_sc
    return _steps(analyze([_pod(container, **spec)]))


NO_ESCALATION = {"allowPrivilegeEscalation": False}


@pytest.mark.parametrize("path", ["/etc/kubernetes/manifests", "/etc/cron.d", "/usr/bin", "/root"])
def test_a_known_non_root_uid_cannot_write_root_owned_host_directories(path: str) -> None:
    assert "escape-host-write" not in _host_write(path, {**NO_ESCALATION, "runAsUser": 1000})
    # the default capability set holds DAC_OVERRIDE/FOWNER/CHOWN: unusable by uid 1000
    caps = {"add": ["DAC_OVERRIDE", "FOWNER", "CHOWN"]}
    sc = {**NO_ESCALATION, "runAsUser": 1000, "capabilities": caps}
    assert "escape-host-write" not in _host_write(path, sc)


@pytest.mark.parametrize(
    ("container_sc", "pod_sc", "fires"),
    [
        ({}, {}, True),  # uid unknown: the image's user, assumed root
        (NO_ESCALATION, {"runAsUser": 1000}, False),  # pod level
        ({**NO_ESCALATION, "runAsUser": 0}, {"runAsUser": 1000}, True),  # the container wins
        ({**NO_ESCALATION, "runAsUser": 1000}, {"runAsUser": 0}, False),
        (NO_ESCALATION, {"runAsNonRoot": True}, False),  # unknown uid, but never 0
        ({"runAsNonRoot": True}, {}, True),  # a setuid binary may still reach root
        ({"runAsUser": 1000}, {}, True),  # idem
        ({"privileged": True, "runAsUser": 1000}, {}, True),  # privileged: escalation forced
    ],
)
def test_root_owned_host_writes_follow_the_effective_user(
    container_sc: dict[str, Any], pod_sc: dict[str, Any], fires: bool
) -> None:
    found = _host_write("/etc/kubernetes/manifests", container_sc, **pod_sc)
    assert ("escape-host-write" in found) is fires


@pytest.mark.parametrize("path", ["/", "/home", "/home/ubuntu/.ssh", "/opt/nvidia", "/data/nim"])
def test_host_paths_a_user_may_own_stay_open_to_any_uid(path: str) -> None:
    assert "escape-host-write" in _host_write(path, {**NO_ESCALATION, "runAsUser": 1000})


# -- sandboxed runtimes ----------------------------------------------------------------------

KERNEL_STEPS = {
    "escape-sys-admin-mount",
    "escape-module-load",
    "escape-ptrace-host",
    "escape-bpf",
    "escape-bpf-read",
    "escape-open-by-handle",
    "escape-cgroup-unshare",
    "kernel-exploit",
}
ALL_KERNEL_CAPS = ("SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "DAC_READ_SEARCH", "BPF", "PERFMON")


def _runtime_class(name: str, handler: str) -> dict[str, Any]:
    return {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": name},
        "handler": handler,
    }


def _context(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "attackmap/v1",
        "kind": "ClusterContext",
        "metadata": {"name": "c"},
        "spec": {"cgroupVersion": 1, "kernelVersion": "5.10.0", **spec},
    }


def _escape_container(**mounts: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A root container with every kernel-escape capability, no seccomp or AppArmor, the
    containerd socket and the host paths ``mounts`` (volume name -> mount path under
    /host) from the host; and the pod's volumes."""
    where = {**mounts, "sock": "/run/containerd/containerd.sock"}
    paths = {name: path.removeprefix("/host") for name, path in where.items()}
    container = {
        "securityContext": {
            "capabilities": {"add": list(ALL_KERNEL_CAPS)},
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        },
        "volumeMounts": [{"name": name, "mountPath": where[name]} for name in where],
    }
    volumes = [{"name": name, "hostPath": {"path": paths[name]}} for name in where]
    return container, volumes


def _open_pod(runtime_class: str | None = None) -> dict[str, Any]:
    """Root, every kernel-escape capability, no seccomp or AppArmor, the host's PIDs, a
    writable /etc and the containerd socket from the host."""
    container, volumes = _escape_container(etc="/host/etc")
    spec: dict[str, Any] = {"hostPID": True, "volumes": volumes}
    if runtime_class is not None:
        spec["runtimeClassName"] = runtime_class
    return _pod(container, **spec)


def _t1611(*docs: dict[str, Any]) -> set[str]:
    rep = analyze(list(docs), assume_kernel_exploit=True)
    return _steps(rep) | _steps(rep, "T1068")


def test_the_open_pod_reaches_every_kernel_escape_on_the_nodes_kernel() -> None:
    assert _t1611(_open_pod(), _context()) >= KERNEL_STEPS


@pytest.mark.parametrize(
    ("handler", "context"),
    [
        ("runsc", {}),  # gVisor
        ("gvisor", {}),  # gVisor as GKE Sandbox names its handler
        ("kata-qemu", {}),  # Kata Containers
        ("kata", {}),
        ("my-kata", {"runtimeClasses": {"my-kata": "vm"}}),  # a custom handler, declared
        ("fc", {"runtimeClasses": {"sandboxed": "vm"}}),  # declared by the RuntimeClass name
    ],
)
def test_sandboxed_runtimes_keep_kernel_escapes_from_the_node(
    handler: str, context: dict[str, Any]
) -> None:
    found = _t1611(
        _open_pod("sandboxed"), _runtime_class("sandboxed", handler), _context(**context)
    )
    assert not found & KERNEL_STEPS, sorted(found & KERNEL_STEPS)
    # what the sandbox shares with the host still escapes
    assert {"escape-host-write", "runtime-privileged-container"} <= found


@pytest.mark.parametrize(
    ("docs", "context"),
    [
        ([], {}),  # runtimeClassName gvisor, but no RuntimeClass: the handler is unknown
        ([_runtime_class("gvisor", "runc")], {}),  # the name says nothing: the handler does
        ([_runtime_class("gvisor", "nvidia")], {}),
        ([_runtime_class("gvisor", "kata-qemu")], {"runtimeClasses": {"kata-qemu": "none"}}),
    ],
)
def test_unknown_or_host_kernel_handlers_are_not_sandboxes(
    docs: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    assert _t1611(_open_pod("gvisor"), *docs, _context(**context)) >= KERNEL_STEPS


def test_a_runtime_class_absent_from_the_inputs_may_be_declared_by_name() -> None:
    found = _t1611(_open_pod("gvisor"), _context(runtimeClasses={"gvisor": "userspace-kernel"}))
    assert not found & KERNEL_STEPS


def test_the_nodes_default_runtime_may_be_a_sandbox() -> None:
    found = _t1611(_open_pod(), _context(containerRuntime={"lowLevel": "kata"}))
    assert not found & KERNEL_STEPS
    assert _t1611(_open_pod(), _context(containerRuntime={"lowLevel": "crun"})) >= KERNEL_STEPS


def test_privileged_containers_escape_a_sandbox() -> None:
    # Kata hands privileged containers the host's block devices unless told not to.
    pod = _pod({"securityContext": {"privileged": True}}, runtimeClassName="kata")
    assert "escape-privileged-mount" in _t1611(pod, _runtime_class("kata", "kata-qemu"))


# -- user namespaces (hostUsers: false) ------------------------------------------------------

#: Steps that need a capability of the node's initial user namespace (or its root's sysctls).
INIT_USERNS_STEPS = {
    "escape-sys-admin-mount",
    "escape-module-load",
    "escape-bpf",
    "escape-bpf-read",
    "escape-open-by-handle",
    "escape-core-pattern",
}


def _userns_pod(host_users: bool | None, **spec: Any) -> dict[str, Any]:
    """Root, every kernel-escape capability, no seccomp or AppArmor, a writable /etc, the
    host's /proc/sys and the containerd socket from the host; no host namespace (the API
    rejects hostUsers: false with hostPID or hostIPC)."""
    container, volumes = _escape_container(etc="/host/etc", sysctl="/host/proc/sys")
    if host_users is not None:
        spec["hostUsers"] = host_users
    return _pod(container, volumes=volumes, **spec)


def test_the_nodes_user_namespace_opens_every_init_namespace_escape() -> None:
    assert _t1611(_userns_pod(None), _context()) >= INIT_USERNS_STEPS
    assert _t1611(_userns_pod(True), _context()) >= INIT_USERNS_STEPS


def test_a_user_namespace_keeps_init_namespace_escapes_from_the_node() -> None:
    found = _t1611(_userns_pod(False), _context(kubernetesVersion="1.33"))
    assert not found & INIT_USERNS_STEPS, sorted(found & INIT_USERNS_STEPS)
    # idmapped volumes write as the node's root; the kernel is still the node's
    assert {
        "escape-host-write",
        "runtime-privileged-container",
        "kernel-exploit",
        "escape-cgroup-unshare",
    } <= found


@pytest.mark.parametrize("shared", ["hostPID", "hostIPC", "hostNetwork"])
def test_a_user_namespace_the_api_rejects_counts_as_the_nodes(shared: str) -> None:
    found = _t1611(_userns_pod(False, **{shared: True}), _context(kubernetesVersion="1.34"))
    assert found >= INIT_USERNS_STEPS


def _host_users_uses(rep: Report) -> set[Any]:
    """The uses of ``host_users`` (and what it was derived from) in ``rep``'s paths."""
    return {
        f
        for w in rep.workloads
        for t in w.techniques
        for p in t.paths
        for s in p.steps
        for f in s.facts
        if f.fact.startswith("host_users")
    }


def test_before_v1_33_hostusers_may_be_dropped() -> None:
    found = _t1611(_userns_pod(False), _context(kubernetesVersion="1.32.0"))
    assert found >= INIT_USERNS_STEPS


def test_an_unknown_kubernetes_version_may_drop_hostusers() -> None:
    # as for AppArmor's default: a version the ClusterContext does not give may be < 1.33
    assert _t1611(_userns_pod(False), _context()) >= INIT_USERNS_STEPS
    assert _t1611(_userns_pod(False)) >= INIT_USERNS_STEPS
    uses = _host_users_uses(analyze([_userns_pod(False)]))
    assert {f.fact for f in uses} == {"host_users <- host_users:field"}
    assert all("does not give" in f.detail for f in uses), uses


def test_privileged_containers_in_a_user_namespace_stay_an_escape() -> None:
    # the API accepts them; what the runtime hands them differs: the conservative answer
    pod = _pod({"securityContext": {"privileged": True}}, hostUsers=False)
    assert "escape-privileged-mount" in _t1611(pod)


def test_the_host_users_fact_says_why() -> None:
    rep = analyze([_userns_pod(False, hostPID=True), _context(kubernetesVersion="1.34")])
    assert {f.fact for f in _host_users_uses(rep)} == {"host_users <- host_pid"}


def test_turning_off_the_rejected_host_namespace_gives_the_user_namespace() -> None:
    # hostUsers: false with hostIPC (which the API server rejects): the node's user
    # namespace. The control that turns hostIPC off leaves a pod with a user namespace of
    # its own, so it breaks the escape that needs the node's, as its re-analysis shows.
    pod = _pod(
        {"securityContext": {"capabilities": {"add": ["SYS_MODULE"]}}},
        hostUsers=False,
        hostIPC=True,
    )
    rep = analyze([pod, _context(kubernetesVersion="1.33.0")])
    (w,) = rep.workloads
    paths = [
        p
        for t in w.techniques
        for p in t.paths
        if any(s.id == "escape-module-load" for s in p.steps)
    ]
    assert paths
    control = f"no-host-ipc@{w.ref}"
    assert all(control in p.broken_by for p in paths)
    after = rep.apply([control])
    assert "escape-module-load" not in _steps(after) | _steps(after, "T1068")
