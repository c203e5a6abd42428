"""The synthetic cluster generator: deterministic, exact sizes, loadable, realistic mix."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path

import pytest

import attackmap

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from synth import generate  # noqa: E402 - benchmarks are scripts, not a package


def _digest(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*.yaml"))
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", 400, seed=7)
    b = generate(tmp_path / "b", 400, seed=7)
    assert a == b
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    c = generate(tmp_path / "c", 400, seed=8)
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")
    assert c.workloads == 400


def test_regenerating_into_the_same_directory_replaces_it(tmp_path: Path) -> None:
    generate(tmp_path, 300, seed=1)
    first = _digest(tmp_path)
    generate(tmp_path, 20, seed=1)
    assert len(_digest(tmp_path)) < len(first)
    assert len(attackmap.load(tmp_path).workloads) == 20


@pytest.mark.parametrize("size", [1, 7, 13, 250])
def test_exact_workload_count_and_clean_load(tmp_path: Path, size: int) -> None:
    stats = generate(tmp_path, size, seed=3)
    inventory = attackmap.load(tmp_path)
    assert len(inventory.workloads) == size
    assert inventory.skipped == ()
    assert inventory.warnings == ()
    assert stats.files == len(list(tmp_path.glob("*.yaml")))
    workload_kinds = {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Pod",
        "NIMService",
        "NIMCache",
    }
    assert sum(v for k, v in stats.kinds.items() if k in workload_kinds) == size


def test_the_mix_exercises_what_the_analysis_reads(tmp_path: Path) -> None:
    generate(tmp_path, 600, seed=1)
    inv = attackmap.load(tmp_path)
    kinds = Counter(w.ref.kind for w in inv.workloads)
    for kind in (
        "StatefulSet",
        "Deployment",
        "DaemonSet",
        "Job",
        "CronJob",
        "NIMService",
        "NIMCache",
    ):
        assert kinds[kind] > 0, kind
    containers = [c for w in inv.workloads for c in w.pod.containers]
    assert any(c.privileged for c in containers)
    assert any("SYS_ADMIN" in c.effective_capabilities for c in containers)
    assert any(c.resources.gpu for c in containers)
    assert any(e.name == "NGC_API_KEY" and e.source == "secret" for c in containers for e in c.env)
    assert any(w.pod.host_pid for w in inv.workloads)
    assert any(w.pod.host_network for w in inv.workloads)
    host_paths = {v.path for w in inv.workloads for v in w.pod.volumes if v.type == "hostPath"}
    assert {"/", "/var/log", "/var/run/containerd/containerd.sock"} <= host_paths
    assert any(
        v.type == "emptyDir" and v.medium == "Memory" and v.size_limit is None
        for w in inv.workloads
        for v in w.pod.volumes
    )
    assert {"cluster", "node", "external"} <= {w.exposure.level for w in inv.workloads}
    assert any(w.network.ingress_isolated for w in inv.workloads)
    assert any(not w.network.ingress_isolated for w in inv.workloads)
    assert {"privileged", "baseline", "restricted", None} <= {w.pss.enforce for w in inv.workloads}
    sa = [w.service_account for w in inv.workloads if w.service_account is not None]
    assert any(s.can("create", "pods", subresource="exec") for s in sa)
    assert any(s.can("list", "secrets") for s in sa)
    assert any(s.can("create", "rolebindings", api_group="rbac.authorization.k8s.io") for s in sa)
    assert any(r.namespace is None for s in sa for r in s.permissions)  # ClusterRoleBindings
