"""Fact functions on their own: NVIDIA CVE versions, cgroup v1, hostPath classes."""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.graph._facts import (
    _cgroup_release_agent_open,
    _nvidia_vulnerable,
    classify_hostpaths,
    effective_capabilities,
)
from attackmap.model._context import ClusterContext


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
        ("hostpath:/:ro", {"sensitive_read", "kubelet_pods", "var_log", "runtime_socket"}),
        ("hostpath:/etc:ro", {"sensitive_read"}),
        ("hostpath:/root/.ssh:ro", {"sensitive_read"}),
        ("hostpath:/var/log:rw", {"var_log", "log_write", "write"}),
        ("hostpath:/var/lib/kubelet/pods:ro", {"kubelet_pods"}),
        ("hostpath:/proc/sys:rw", {"proc_sys_write", "write"}),
        ("hostpath:/run/containerd/containerd.sock:ro", {"runtime_socket"}),
        ("hostpath:/tmp/cache:rw", set()),
        ("hostpath:/mnt/models:rw", set()),
        ("hostpath:/dev/nvidia0:rw", set()),
        ("hostpath:/opt/data:rw", {"write"}),
        ("hostpath:/opt/data:ro", set()),
    ],
)
def test_hostpath_classes(fact: str, classes: set[str]) -> None:
    found = {k.split(":", 1)[1] for k in classify_hostpaths([fact])}
    assert found == classes


def test_effective_capabilities() -> None:
    assert "SYS_ADMIN" in effective_capabilities(frozenset({"privileged"}))
    assert effective_capabilities(frozenset({"cap_drop:ALL", "cap_add:BPF"})) == {"BPF"}
    caps = effective_capabilities(frozenset({"cap_drop:NET_RAW"}))
    assert "NET_RAW" not in caps and "CHOWN" in caps
