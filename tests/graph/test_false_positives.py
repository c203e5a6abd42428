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
