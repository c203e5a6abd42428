"""Root on a node runs commands in the containers there (``node-root-container-exec``).

After an escape to a node class, the attacker is root on that node and enters every
container that can run there (relation ``node_running_containers``): the workloads the
placement of ``graph/_placement.py`` puts on the class, DaemonSets on every node they
tolerate, unconstrained pods on any node. One group per node class, so the graph stays
linear in the number of workloads.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from tests.graph.test_placement import CPU_POOL, GPU_POOL, GPU_TOLERATION, ON_GPU, context, pod

from attackmap.attack import load_attack
from attackmap.graph import analyze
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import AttackGraph
from attackmap.graph._facts import extract
from attackmap.graph._relations import RELATIONS
from attackmap.model import load

Doc = dict[str, Any]

HF_TOKEN = {"name": "HF_TOKEN", "value": "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def with_token(doc: Doc) -> Doc:
    """``doc`` with a Hugging Face token in its container's environment."""
    spec = doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]
    spec["containers"][0]["env"] = [HF_TOKEN]
    return doc


def cluster(*, gpu_tolerated: bool = False) -> list[Doc]:
    """A privileged CPU web pod, an unprivileged CPU pod holding a token, and a GPU pod
    holding one (kept off the CPU pool by its nodeSelector; the CPU pods off the GPU pool by
    its taint)."""
    web = pod("web", "app", privileged=True)
    if gpu_tolerated:  # the web pod may now land on the GPU pool too
        web["spec"]["tolerations"] = [GPU_TOLERATION]
    return [
        context(CPU_POOL, GPU_POOL),
        web,
        with_token(pod("victim", "app")),
        with_token(pod("llm", "nim", **ON_GPU)),
    ]


def shortest(graph: AttackGraph, start: str, target: str) -> list[str]:
    """The step instances of the shortest path from ``start`` to ``target`` on the plain
    edge list (ties: the smallest node id), independent of how the report attributes it."""
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for a, b in graph.edges():
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    dist = {target: 0}
    queue = deque([target])
    while queue:
        node = queue.popleft()
        for p in pred.get(node, ()):
            if p not in dist:
                dist[p] = dist[node] + 1
                queue.append(p)
    assert start in dist, f"{target} not reachable from {start}"
    node, steps = start, []
    while node != target:
        node = min(n for n in succ[node] if dist.get(n) == dist[node] - 1)
        if node.startswith("step:"):
            steps.append(node[5:])
    return steps


def exec_reach(docs: list[Doc], catalogue: Catalogue, source: str) -> set[str]:
    """The containers ``node-root-container-exec`` enters after an escape from ``source``."""
    graph = AttackGraph(extract(load(*docs)), catalogue)
    reached = graph.reachable_from(f"state:exec@{source}[c]")
    return {
        target.removeprefix("state:exec@")
        for step in reached
        if step.startswith("step:node-root-container-exec@")
        for target in graph.successors(step)
        if target.startswith("state:exec@")
    }


def test_an_escape_runs_code_in_a_co_located_pod_and_takes_its_credential(
    catalogue: Catalogue,
) -> None:
    docs = cluster()
    graph = AttackGraph(extract(load(*docs)), catalogue)
    assert shortest(
        graph, "state:entry:cluster@Pod/app/web", "step:env-credentials@Pod/app/victim[c]"
    ) == [
        "exploit-cluster-service@Pod/app/web[c]",
        "escape-bpf@Pod/app/web[c]",
        "node-root-container-exec@node:cpu",
        "env-credentials@Pod/app/victim[c]",
    ]
    # the report's path to the credential, as it lists it for the escaping pod today
    report = analyze(docs, entries=["cluster"])
    web = report.workload("Pod/app/web")
    finding = web.finding("T1552.001")
    assert finding is not None
    listed = [" > ".join(f"{s.id}@{s.scope}" for s in p.steps) for p in finding.paths]
    assert (
        "exploit-cluster-service@Pod/app/web[c] > escape-bpf@Pod/app/web[c] > "
        "node-root-container-exec@node:cpu > env-credentials@Pod/app/victim[c]"
    ) in listed
    (path,) = [p for p in finding.paths if p.steps[-1].id == "env-credentials"]
    node_step = path.steps[2]
    assert node_step.technique == "T1609"
    (pool,) = [f for f in node_step.facts if f.fact.startswith("node:")]
    assert (pool.fact, pool.path, pool.field) == (
        "node:cpu",
        "ClusterContext/prod",
        "spec.nodePools[0]",
    )


def test_a_tainted_gpu_pool_keeps_the_cpu_escape_out_of_the_gpu_pods(catalogue: Catalogue) -> None:
    # the CPU pool holds web and victim; the GPU pod is out of reach
    assert exec_reach(cluster(), catalogue, "Pod/app/web") == {
        "Pod/app/web[c]",
        "Pod/app/victim[c]",
    }
    graph = AttackGraph(extract(load(*cluster())), catalogue)
    assert "state:exec@Pod/nim/llm[c]" not in graph.reachable_from("state:exec@Pod/app/web[c]")
    # tolerating the taint lets the web pod onto the GPU pool: more privilege, more reach
    assert exec_reach(cluster(gpu_tolerated=True), catalogue, "Pod/app/web") == {
        "Pod/app/web[c]",
        "Pod/app/victim[c]",
        "Pod/nim/llm[c]",
    }


def test_daemonsets_and_unconstrained_pods_are_on_every_node_they_may_be(
    catalogue: Catalogue,
) -> None:
    agent = pod("agent", "ops", kind="DaemonSet", tolerations=[{"operator": "Exists"}])
    logs = pod("logs", "ops", kind="DaemonSet")  # tolerates no GPU taint: CPU nodes only
    gpu_escape = pod("trainer", "nim", privileged=True, **ON_GPU)
    docs = [*cluster(), agent, logs, gpu_escape]
    assert exec_reach(docs, catalogue, "Pod/app/web") == {
        "Pod/app/web[c]",
        "Pod/app/victim[c]",
        "DaemonSet/ops/agent[c]",
        "DaemonSet/ops/logs[c]",
    }
    assert exec_reach(docs, catalogue, "Pod/nim/trainer") == {
        "Pod/nim/trainer[c]",
        "Pod/nim/llm[c]",
        "DaemonSet/ops/agent[c]",
    }
    # without node pools nothing separates them: one node, every running container
    plain = docs[1:]
    assert exec_reach(plain, catalogue, "Pod/app/web") == {
        f"{w}[c]"
        for w in (
            "Pod/app/web",
            "Pod/app/victim",
            "Pod/nim/llm",
            "DaemonSet/ops/agent",
            "DaemonSet/ops/logs",
            "Pod/nim/trainer",
        )
    }


def test_only_running_containers_are_entered(catalogue: Catalogue) -> None:
    victim = pod("victim", "app")
    victim["spec"]["initContainers"] = [{"name": "init", "image": "x"}]
    victim["spec"]["initContainers"].append(
        {"name": "proxy", "image": "x", "restartPolicy": "Always"}
    )
    docs = [context(CPU_POOL, GPU_POOL), pod("web", "app", privileged=True), victim]
    graph = AttackGraph(extract(load(*docs)), catalogue)
    fb = graph.fb
    targets = RELATIONS["node_running_containers"](fb, fb.placement.by_name["cpu"])
    assert sorted(targets) == [
        ("Pod/app/victim", "c"),
        ("Pod/app/victim", "proxy"),  # a sidecar runs; the init container has exited
        ("Pod/app/web", "c"),
    ]
    assert RELATIONS["node_running_containers"](fb, fb.placement.by_name["gpu"]) == ()


def test_without_node_root_the_step_stays_quiet(catalogue: Catalogue) -> None:
    # the step's one requirement is the state: no escape, no entry into the other pods
    docs = [context(CPU_POOL, GPU_POOL), pod("web", "app"), with_token(pod("victim", "app"))]
    graph = AttackGraph(extract(load(*docs)), catalogue)
    reached = graph.reachable_from("state:entry:cluster@Pod/app/web")
    assert not any(n.startswith("step:node-root-container-exec@") for n in reached)
    assert "state:exec@Pod/app/victim[c]" not in reached


def test_the_graph_grows_linearly(catalogue: Catalogue) -> None:
    def docs(n: int) -> list[Doc]:
        out: list[Doc] = [context(CPU_POOL, GPU_POOL)]
        for i in range(n):
            spec = (ON_GPU, {"nodeSelector": {"pool": "cpu"}}, {})[i % 3]
            out.append(pod(f"p{i}", f"ns{i % 5}", privileged=i % 2 == 0, **spec))
        return out

    def edges(n: int) -> tuple[int, int]:
        graph = AttackGraph(extract(load(*docs(n))), catalogue)
        into = sum(
            1
            for a, b in graph.edges()
            if a.startswith("step:node-root-container-exec@") and b.startswith("state:exec@")
        )
        return len(graph.edges()), into

    (small, small_into), (large, large_into) = edges(150), edges(300)
    # each node class enters each of its containers once: the step's edges double with
    # the workloads, and so does the whole graph (pairwise, they would quadruple)
    assert small_into == 150 and large_into == 300
    assert 1.9 <= large / small <= 2.1
