"""Issue 17: the NVIDIA runtime as the nodes' default, narrowed by node pools.

Where ``nvidia`` is the default container runtime the NVIDIA Container Toolkit's hook runs
for every container: an image setting ``NVIDIA_VISIBLE_DEVICES`` gets GPUs without a
request, and the toolkit's CVEs reach it. Where it is not, that variable does nothing. The
ClusterContext says it cluster-wide (``nvidia.defaultRuntime``) and per node pool
(``nodePools[].nvidiaDefaultRuntime``, defaulting to the cluster-wide setting); a pod gets
the answer of the pools its placement admits (every pool when unconstrained).
"""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.graph import analyze
from attackmap.graph._facts import extract
from attackmap.model import load

Doc = dict[str, Any]

ON_CPU: Doc = {"nodeSelector": {"pool": "cpu"}}
ON_GPU: Doc = {
    "nodeSelector": {"pool": "gpu"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
}


def pod(spec: Doc | None = None, *, env_gpu: bool = False) -> Doc:
    container: Doc = {"name": "app", "image": "registry.example.com/tools/batch:1.0"}
    if env_gpu:
        container["env"] = [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "ml"},
        "spec": {**(spec or {}), "containers": [container]},
    }


def context(
    default: bool | None, cpu: bool | None = None, gpu: bool | None = None, pools: bool = True
) -> Doc:
    nvidia: Doc = {"containerToolkit": "1.17.7"}
    if default is not None:
        nvidia["defaultRuntime"] = default
    spec: Doc = {"nvidia": nvidia}
    if pools:
        cpu_pool: Doc = {"name": "cpu", "labels": {"pool": "cpu"}}
        gpu_pool: Doc = {
            "name": "gpu",
            "labels": {"pool": "gpu"},
            "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
        }
        if cpu is not None:
            cpu_pool["nvidiaDefaultRuntime"] = cpu
        if gpu is not None:
            gpu_pool["nvidiaDefaultRuntime"] = gpu
        spec["nodePools"] = [cpu_pool, gpu_pool]
    return {
        "apiVersion": "attackmap/v1",
        "kind": "ClusterContext",
        "metadata": {"name": "lab"},
        "spec": spec,
    }


def facts(*docs: Doc) -> tuple[frozenset[str], frozenset[str], dict[str, Any]]:
    """The pod facts, the container's facts and the evidence of the one workload."""
    (w,) = extract(load(*docs)).workloads
    return w.pod, w.containers[0].facts, dict(w.evidence)


def steps(*docs: Doc) -> set[str]:
    report = analyze(list(docs), entries=["image"])
    return {s.id for w in report.workloads for t in w.techniques for p in t.paths for s in p.steps}


TOLERATES_ALL: Doc = {"tolerations": [{"operator": "Exists"}]}


@pytest.mark.parametrize(
    ("spec", "ctx", "expected"),
    [
        # without pools: the cluster-wide setting, for every pod
        ({}, context(True, pools=False), True),
        ({}, context(False, pools=False), False),
        ({}, context(None, pools=False), False),
        # a pool's own setting wins over the cluster-wide one, on that pool only
        (ON_CPU, context(True, cpu=False), False),
        (ON_GPU, context(True, cpu=False), True),
        (ON_GPU, context(False, gpu=True), True),
        (ON_CPU, context(False, gpu=True), False),
        # the cluster-wide setting is the default of a pool that does not say
        (ON_CPU, context(True), True),
        (ON_CPU, context(None, gpu=True), False),
        # unconstrained: the gpu pool's taint keeps the pod off it, tolerating it lets it on
        ({}, context(False, gpu=True), False),
        (TOLERATES_ALL, context(False, gpu=True), True),
        # a selector no pool satisfies: the pod may run anywhere (conservative)
        ({"nodeSelector": {"pool": "none"}}, context(False, gpu=True), True),
    ],
)
def test_the_fact_follows_the_pools_the_pod_may_run_on(spec: Doc, ctx: Doc, expected: bool) -> None:
    pod_facts, _, evidence = facts(pod(spec), ctx)
    assert ("nvidia_default_runtime" in pod_facts) is expected
    if expected:
        assert evidence["nvidia_default_runtime"].path == "ClusterContext/lab"


def test_the_evidence_names_the_pool_and_its_field() -> None:
    _, _, evidence = facts(pod(ON_GPU), context(False, gpu=True))
    ev = evidence["nvidia_default_runtime"]
    assert ev.field == "spec.nodePools[1].nvidiaDefaultRuntime"
    assert "node pool gpu" in ev.detail
    _, _, evidence = facts(pod(ON_CPU), context(True))
    assert evidence["nvidia_default_runtime"].field == "spec.nvidia.defaultRuntime"


def test_a_runtime_class_with_another_handler_replaces_the_default() -> None:
    runtime_class = {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": "plain"},
        "handler": "runc",
    }
    nvidia_class = {**runtime_class, "metadata": {"name": "gpu"}, "handler": "nvidia"}
    ctx = context(True, pools=False)
    assert (
        "nvidia_default_runtime"
        not in facts(pod({"runtimeClassName": "plain"}), ctx, runtime_class)[0]
    )
    assert "nvidia_default_runtime" in facts(pod({"runtimeClassName": "gpu"}), ctx, nvidia_class)[0]
    # a RuntimeClass attackmap cannot see may have any handler: the default stays
    assert "nvidia_default_runtime" in facts(pod({"runtimeClassName": "unseen"}), ctx)[0]


@pytest.mark.parametrize(
    ("spec", "ctx", "gpu"),
    [
        ({}, None, True),  # no ClusterContext: not known, the variable counts
        ({}, context(None, pools=False), True),  # the context does not say
        ({}, context(True, pools=False), True),
        ({}, context(False, pools=False), False),
        (ON_CPU, context(True, cpu=False), False),
        (ON_GPU, context(True, cpu=False), True),
        (ON_CPU, context(None, gpu=False), True),  # the cpu pool does not say
    ],
)
def test_nvidia_visible_devices_alone_needs_the_nvidia_runtime(
    spec: Doc, ctx: Doc | None, gpu: bool
) -> None:
    docs = [pod(spec, env_gpu=True)] + ([ctx] if ctx else [])
    _, container, evidence = facts(*docs)
    assert ("gpu" in container) is gpu
    assert ("app/gpu" in evidence) is gpu
    assert ("gpu-compute-hijack" in steps(*docs)) is gpu


def test_a_gpu_request_is_a_gpu_whatever_the_default_runtime() -> None:
    requested = pod(ON_CPU, env_gpu=True)
    requested["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": 1}}
    _, container, _ = facts(requested, context(False, pools=False))
    assert "gpu" in container


def test_the_toolkit_escape_reaches_only_pods_that_may_land_on_an_nvidia_pool() -> None:
    ctx = context(False, gpu=True)
    assert "nvidia-toolkit-cve-default-runtime" in steps(pod(ON_GPU), ctx)
    assert "nvidia-toolkit-cve-default-runtime" in steps(pod(TOLERATES_ALL), ctx)
    assert "nvidia-toolkit-cve-default-runtime" not in steps(pod(ON_CPU), ctx)
    assert "nvidia-toolkit-cve-default-runtime" not in steps(pod(), ctx)


def test_widening_placement_never_removes_the_escape() -> None:
    """Monotone: a pod that may run on more pools keeps what it had."""
    ctx = context(False, gpu=True)
    narrow = steps(pod(ON_GPU), ctx)
    wide = steps(pod(TOLERATES_ALL), ctx)
    assert narrow <= wide
