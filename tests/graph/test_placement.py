"""Issue 16, item 4: nodes from scheduling.

A node escape reaches the tokens of the workloads that may share a node with the escaping
one: nodeSelector, required nodeAffinity, tolerations against the ClusterContext's
``nodePools`` taints, nodeName and DaemonSets decide it (``graph/_placement.py``). Where
nothing separates two workloads the conservative answer stays, and the path says so.
"""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attackmap.attack import load_attack
from attackmap.errors import AttackmapError
from attackmap.exporters import EXPORTERS
from attackmap.graph import Report, analyze
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import AttackGraph
from attackmap.graph._facts import extract
from attackmap.graph._placement import ANY_NODE, Placement, place, tolerates
from attackmap.model import Toleration, load
from attackmap.model._context import NodeTaint

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def context(*pools: Doc) -> Doc:
    return {
        "apiVersion": "attackmap/v1",
        "kind": "ClusterContext",
        "metadata": {"name": "prod"},
        "spec": {"nodePools": list(pools)},
    }


CPU_POOL: Doc = {"name": "cpu", "labels": {"pool": "cpu"}}
GPU_POOL: Doc = {
    "name": "gpu",
    "labels": {"pool": "gpu", "nvidia.com/gpu.present": "true"},
    "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
}
GPU_TOLERATION: Doc = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
ON_GPU: Doc = {"nodeSelector": {"pool": "gpu"}, "tolerations": [GPU_TOLERATION]}


def pod(
    name: str,
    ns: str = "app",
    *,
    privileged: bool = False,
    sa: str = "default",
    kind: str = "Pod",
    **spec: Any,
) -> Doc:
    pod_spec: Doc = {
        "serviceAccountName": sa,
        "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": privileged}}],
        **spec,
    }
    if kind == "Pod":
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns},
            "spec": pod_spec,
        }
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    }


def secret_reader(sa: str, ns: str) -> list[Doc]:
    """A ServiceAccount bound to read every Secret: its token leads to T1552.007."""
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{sa}-secrets"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{sa}-secrets"},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"{sa}-secrets",
            },
        },
    ]


def runs_on(docs: list[Doc]) -> dict[str, tuple[str, ...]]:
    inv = load(*docs)
    placement = place(inv.workloads, inv.context)
    return {str(w.ref): placement.of(str(w.ref)) for w in inv.workloads}


def token_reach(docs: list[Doc], catalogue: Catalogue) -> dict[str, set[str]]:
    """Per workload: the workloads whose token a node escape from it (privileged) takes
    (from its own node: not through the pods it enters there, which test_node_root_exec
    covers)."""
    graph = AttackGraph(extract(load(*docs)), catalogue)
    out = {}
    for w in graph.fb.workloads:
        reached = {start := f"state:exec@{w.key}[c]"}
        queue = [start]
        while queue:
            for n in graph.successors(queue.pop()):
                if n not in reached and not n.startswith("step:node-root-container-exec@"):
                    reached.add(n)
                    queue.append(n)
        out[w.key] = {
            n.removeprefix("state:sa_token@")
            for n in reached
            if n.startswith("state:sa_token@") and n != f"state:sa_token@{w.key}"
        }
    return out


def paths(report: Report, workload: str, technique: str) -> list[str]:
    w = next(w for w in report.workloads if str(w.ref) == workload)
    found = [t for t in w.techniques if t.technique.id == technique]
    return [" > ".join(f"{s.id}@{s.scope}" for s in p.steps) for t in found for p in t.paths]


# -- the Done-when case: a GPU-tainted pool ---------------------------------------------------

GPU_CLUSTER: list[Doc] = [
    context(CPU_POOL, GPU_POOL),
    # a CPU web front end that escapes (privileged); no toleration: never on the GPU pool
    pod("web", "app", privileged=True),
    # a GPU NIM pod that escapes, and a GPU embedder whose token reads every Secret
    pod("llm", "nim", privileged=True, **ON_GPU),
    pod("embed", "nim", sa="embed", **ON_GPU),
    *secret_reader("embed", "nim"),
]


def test_a_tainted_gpu_pool_keeps_a_cpu_escape_from_the_gpu_tokens(catalogue: Catalogue) -> None:
    assert runs_on(GPU_CLUSTER) == {
        "Pod/app/web": ("cpu",),  # the taint keeps it off gpu
        "Pod/nim/llm": ("gpu",),  # the nodeSelector keeps it off cpu
        "Pod/nim/embed": ("gpu",),
    }
    reach = token_reach(GPU_CLUSTER, catalogue)
    assert reach["Pod/app/web"] == set()
    assert reach["Pod/nim/llm"] == {"Pod/nim/embed"}
    report = analyze(GPU_CLUSTER, entries=["cluster"])
    assert paths(report, "Pod/app/web", "T1552.007") == []
    # The shortest path: foothold, escape, the node's token files, the stolen token's
    # rights. Among the escapes of equal length the smallest node id wins:
    # "step:escape-bpf-read@..." sorts before "step:escape-bpf@..." ('-' < '@'), and it
    # grants host_read, whose step on the gpu node takes the tokens there.
    assert paths(report, "Pod/nim/llm", "T1552.007") == [
        "exploit-cluster-service@Pod/nim/llm[c] > escape-bpf-read@Pod/nim/llm[c] > "
        "host-read-credentials@node:gpu > use-sa-token@Pod/nim/embed > "
        "api-read-secrets@Pod/nim/embed"
    ]
    # each side's node steps run on its own pool
    assert paths(report, "Pod/app/web", "T1552.001") == [
        "exploit-cluster-service@Pod/app/web[c] > escape-bpf@Pod/app/web[c] > node-tokens@node:cpu",
        "exploit-cluster-service@Pod/app/web[c] > escape-bpf-read@Pod/app/web[c] > "
        "host-read-credentials@node:cpu",
    ]


def test_the_path_names_the_pool_and_why(catalogue: Catalogue) -> None:
    report = analyze(GPU_CLUSTER, entries=["cluster"])
    w = next(w for w in report.workloads if str(w.ref) == "Pod/nim/llm")
    (finding,) = [t for t in w.techniques if t.technique.id == "T1552.007"]
    escape, node = finding.paths[0].steps[1:3]
    (placed,) = [f for f in escape.facts if f.fact.startswith("runs_on:")]
    assert placed.fact == "runs_on:gpu"
    assert placed.detail == (
        "nodeSelector pool=gpu; tolerates nvidia.com/gpu:NoSchedule; not on cpu: nodeSelector pool=gpu"
    )
    # and the CPU pod's escape says why it stays off the GPU pool
    web = next(w for w in report.workloads if str(w.ref) == "Pod/app/web")
    details = {
        (f.fact, f.detail)
        for t in web.techniques
        for p in t.paths
        for s in p.steps
        for f in s.facts
        if f.fact.startswith("runs_on:")
    }
    assert details == {
        (
            "runs_on:cpu",
            "no nodeSelector, nodeAffinity or nodeName; not on gpu: taint "
            "nvidia.com/gpu:NoSchedule not tolerated",
        )
    }
    (pool,) = [f for f in node.facts if f.fact.startswith("node:")]
    assert (pool.fact, pool.path, pool.field) == (
        "node:gpu",
        "ClusterContext/prod",
        "spec.nodePools[1]",
    )
    assert pool.detail == (
        "node pool gpu (labels: nvidia.com/gpu.present=true,pool=gpu; "
        "taints: nvidia.com/gpu:NoSchedule)"
    )


def test_without_the_selector_the_gpu_pod_may_share_the_cpu_pool(catalogue: Catalogue) -> None:
    # tolerating the taint lets a pod onto the gpu pool; it does not keep it off the cpu one
    docs = [*GPU_CLUSTER[:2], pod("llm", "nim", privileged=True, tolerations=[GPU_TOLERATION])]
    docs += [pod("embed", "nim", sa="embed", tolerations=[GPU_TOLERATION])]
    docs += secret_reader("embed", "nim")
    assert runs_on(docs)["Pod/nim/embed"] == ("cpu", "gpu")
    assert token_reach(docs, catalogue)["Pod/app/web"] == {"Pod/nim/embed", "Pod/nim/llm"}


def test_an_unconstrained_pod_reaches_every_token_and_says_so(catalogue: Catalogue) -> None:
    # no nodePools: the manifests alone cannot keep the web pod off the GPU nodes
    docs = GPU_CLUSTER[1:]
    assert runs_on(docs) == dict.fromkeys(
        ("Pod/app/web", "Pod/nim/llm", "Pod/nim/embed"), (ANY_NODE,)
    )
    assert token_reach(docs, catalogue)["Pod/app/web"] == {"Pod/nim/embed", "Pod/nim/llm"}
    report = analyze(docs, entries=["cluster"])
    (path,) = [
        p
        for t in next(w for w in report.workloads if str(w.ref) == "Pod/app/web").techniques
        if t.technique.id == "T1552.007"
        for p in t.paths
    ]
    assert [f"{s.id}@{s.scope}" for s in path.steps] == [
        "exploit-cluster-service@Pod/app/web[c]",
        "escape-bpf-read@Pod/app/web[c]",
        "host-read-credentials@node",
        "use-sa-token@Pod/nim/embed",
        "api-read-secrets@Pod/nim/embed",
    ]
    # one node class: the node step says that any workload may be there (the escape does
    # not repeat it)
    assert not [f for f in path.steps[1].facts if f.fact.startswith("runs_on:")]
    (node,) = [f for f in path.steps[2].facts if f.fact.startswith("node:")]
    assert (node.fact, node.path, node.field) == ("node:any", "", "")
    assert node.detail == (
        "any node: no nodePools in the ClusterContext and nothing in the manifests keeps "
        "workloads apart; attackmap assumes every workload may share a node with any other"
    )
    # a step that takes the node's tokens from the container says it itself
    mounted = [
        pod("web", "app", volumes=[{"name": "h", "hostPath": {"path": "/var/lib/kubelet/pods"}}])
    ]
    mounted[0]["spec"]["containers"][0]["volumeMounts"] = [{"name": "h", "mountPath": "/h"}]
    report = analyze([*mounted, *docs[1:]], entries=["cluster"])
    w = next(w for w in report.workloads if str(w.ref) == "Pod/app/web")
    uses = {
        (s.id, f.fact, f.detail)
        for t in w.techniques
        for p in t.paths
        for s in p.steps
        for f in s.facts
        if f.fact.startswith("runs_on:")
    }
    assert uses == {
        (
            "kubelet-pod-tokens",
            "runs_on:any",
            "no nodeSelector, nodeAffinity or nodeName; no nodePools in the ClusterContext and "
            "nothing in the manifests keeps it apart: attackmap assumes it may share a node "
            "with any workload",
        )
    }
    # with pools that nothing taints, the pod fits them all, and the evidence says that
    pools = [context(CPU_POOL, {**GPU_POOL, "taints": []}), *docs]
    report = analyze(pools, entries=["cluster"])
    w = next(w for w in report.workloads if str(w.ref) == "Pod/app/web")
    uses = {
        f.detail
        for t in w.techniques
        for p in t.paths
        for s in p.steps
        for f in s.facts
        if f.fact == "runs_on:any"
    }
    assert uses == {"no nodeSelector, nodeAffinity or nodeName; fits every node pool"}


# -- the semantics, one rule at a time -------------------------------------------------------


@pytest.mark.parametrize(
    ("toleration", "taint", "tolerated"),
    [
        ({"operator": "Exists"}, ("a", "1", "NoSchedule"), True),  # empty key: every taint
        ({"operator": "Exists"}, ("b", None, "NoExecute"), True),
        ({"key": "a", "operator": "Exists"}, ("a", "1", "NoExecute"), True),  # any effect
        ({"key": "a", "operator": "Exists"}, ("b", "1", "NoSchedule"), False),
        ({"key": "a", "value": "1"}, ("a", "1", "NoSchedule"), True),  # Equal by default
        ({"key": "a", "operator": "Equal", "value": "1"}, ("a", "2", "NoSchedule"), False),
        ({"key": "a", "operator": "Equal"}, ("a", None, "NoSchedule"), True),
        (
            {"key": "a", "operator": "Exists", "effect": "NoExecute"},
            ("a", None, "NoSchedule"),
            False,
        ),
        (
            {"key": "a", "operator": "Exists", "effect": "NoSchedule"},
            ("a", None, "NoSchedule"),
            True,
        ),
    ],
)
def test_tolerations_match_taints_as_kubernetes_does(
    toleration: Doc, taint: tuple[str, str | None, str], tolerated: bool
) -> None:
    key, value, effect = taint
    assert (
        tolerates(Toleration(**toleration), NodeTaint(key=key, value=value, effect=effect))
        is tolerated
    )


POOLS = context(
    {"name": "a", "labels": {"tier": "a", "gen": "3"}},
    {"name": "b", "labels": {"tier": "b", "gen": "5", "fast": "yes"}},
    {"name": "c", "labels": {"gen": "x"}},
)


def affinity(*terms: list[Doc]) -> Doc:
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": t} for t in terms]
                },
                # preferred terms do not constrain
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "preference": {
                            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]
                        },
                    }
                ],
            }
        }
    }


@pytest.mark.parametrize(
    ("spec", "pools"),
    [
        ({}, ("a", "b", "c")),
        ({"nodeSelector": {"tier": "a"}}, ("a",)),
        (affinity([{"key": "tier", "operator": "In", "values": ["a", "b"]}]), ("a", "b")),
        (
            affinity([{"key": "tier", "operator": "NotIn", "values": ["a"]}]),
            ("b", "c"),
        ),  # c: no tier
        (affinity([{"key": "fast", "operator": "Exists"}]), ("b",)),
        (affinity([{"key": "fast", "operator": "DoesNotExist"}]), ("a", "c")),
        (affinity([{"key": "gen", "operator": "Gt", "values": ["3"]}]), ("b",)),  # x: no integer
        (affinity([{"key": "gen", "operator": "Lt", "values": ["4"]}]), ("a",)),
        # terms are ORed, expressions of one term ANDed
        (
            affinity(
                [{"key": "tier", "operator": "In", "values": ["a"]}],
                [{"key": "fast", "operator": "Exists"}],
            ),
            ("a", "b"),
        ),
        (
            affinity(
                [
                    {"key": "tier", "operator": "In", "values": ["a"]},
                    {"key": "fast", "operator": "Exists"},
                ]
            ),
            (),
        ),
        # a term with nothing in it matches no node; ORed with another, the other decides
        (affinity([]), ()),
        (affinity([], [{"key": "tier", "operator": "In", "values": ["a"]}]), ("a",)),
        # a well-known label no pool declares may be anything: it separates nothing
        ({"nodeSelector": {"kubernetes.io/os": "linux"}}, ("a", "b", "c")),
    ],
)
def test_selectors_and_affinity_operators(spec: Doc, pools: tuple[str, ...]) -> None:
    placement = _place([POOLS, pod("p", **spec)])
    if pools:
        assert placement.of("Pod/app/p") == pools
        assert "Pod/app/p" not in placement.unplaced
    else:  # fits nothing: it would stay Pending, placed on no node, and said so
        assert placement.of("Pod/app/p") == ()
        assert "fits no node of the ClusterContext's nodePools" in placement.unplaced["Pod/app/p"]


def _place(docs: list[Doc]) -> Placement:
    inv = load(*docs)
    return place(inv.workloads, inv.context)


def test_node_names_single_out_nodes(catalogue: Catalogue) -> None:
    # without pools: two nodeNames never share a node; an unconstrained pod may be on either
    docs = [
        pod("one", privileged=True, nodeName="worker-1"),
        pod("two", privileged=True, nodeName="worker-2"),
        pod("free"),
    ]
    assert runs_on(docs) == {
        "Pod/app/one": ("name=worker-1",),
        "Pod/app/two": ("name=worker-2",),
        "Pod/app/free": ("name=worker-1", "name=worker-2"),
    }
    assert token_reach(docs, catalogue) == {
        "Pod/app/one": {"Pod/app/free"},
        "Pod/app/two": {"Pod/app/free"},
        "Pod/app/free": set(),  # not privileged
    }
    # nodeName bypasses the scheduler: a NoSchedule taint does not keep it off; with the
    # pools' node lists, the named node is a class of its own within its pool
    pools = context(
        {**CPU_POOL, "nodes": ["worker-1", "worker-3"]},
        {**GPU_POOL, "nodes": ["gpu-1"]},
    )
    docs = [
        pools,
        pod("pinned", privileged=True, nodeName="gpu-1"),
        pod("one", nodeName="worker-1"),
        pod("cpu"),
        pod("gpu", **ON_GPU),
    ]
    assert runs_on(docs) == {
        "Pod/app/pinned": ("gpu",),
        "Pod/app/one": ("cpu/worker-1",),
        "Pod/app/cpu": ("cpu", "cpu/worker-1"),
        "Pod/app/gpu": ("gpu",),
    }
    assert token_reach(docs, catalogue)["Pod/app/pinned"] == {"Pod/app/gpu"}
    # a NoExecute taint still applies to a pinned pod
    evicting = context(
        {**GPU_POOL, "nodes": ["gpu-1"], "taints": [{"key": "k", "effect": "NoExecute"}]}
    )
    placement = _place([evicting, pod("pinned", nodeName="gpu-1")])
    assert "Pod/app/pinned" in placement.unplaced
    # matchFields on metadata.name, as the DaemonSet controller writes it
    fields = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": ["worker-3"]}
                            ]
                        }
                    ]
                }
            }
        }
    }
    # (both of the cpu pool's listed nodes are named: each is a class of its own)
    assert runs_on([pools, pod("f", **fields), pod("g", nodeName="worker-1")]) == {
        "Pod/app/f": ("cpu/worker-3",),
        "Pod/app/g": ("cpu/worker-1",),
    }


def test_contradictory_selectors_never_share_a_node(catalogue: Catalogue) -> None:
    # without pools: pool=a and pool=b cannot hold on one node; an unconstrained pod and
    # one that only excludes pool=a may be anywhere they fit
    docs = [
        pod("a", privileged=True, nodeSelector={"pool": "a"}),
        pod("b", nodeSelector={"pool": "b"}),
        pod("not-a", **affinity([{"key": "pool", "operator": "NotIn", "values": ["a"]}])),
        pod("c"),
    ]
    assert runs_on(docs) == {
        "Pod/app/a": ("pool=a",),
        "Pod/app/b": ("pool=b",),
        "Pod/app/not-a": ("pool=b",),
        "Pod/app/c": ("pool=a", "pool=b"),
    }
    assert token_reach(docs, catalogue)["Pod/app/a"] == {"Pod/app/c"}


def test_a_daemonset_runs_on_every_node_it_tolerates(catalogue: Catalogue) -> None:
    cordoned = {
        "name": "spare",
        "labels": {"pool": "spare"},
        "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
    }
    docs = [
        context(CPU_POOL, GPU_POOL, cordoned),
        pod(
            "agent", "ops", kind="DaemonSet", privileged=True, tolerations=[{"operator": "Exists"}]
        ),
        pod("logs", "ops", kind="DaemonSet"),
        pod("llm", "nim", **ON_GPU),
        pod("web"),
    ]
    assert runs_on(docs) == {
        "DaemonSet/ops/agent": ("cpu", "gpu", "spare"),
        # its controller's tolerations let it onto a cordoned node, not past the GPU taint
        "DaemonSet/ops/logs": ("cpu", "spare"),
        "Pod/nim/llm": ("gpu",),
        "Pod/app/web": ("cpu",),
    }
    assert token_reach(docs, catalogue)["DaemonSet/ops/agent"] == {
        "DaemonSet/ops/logs",
        "Pod/nim/llm",
        "Pod/app/web",
    }


# -- exactness, monotonicity, determinism, size -------------------------------------------------

PROPERTY_POOLS = context(
    {"name": "cpu", "labels": {"pool": "cpu", "zone": "1"}},
    {**GPU_POOL, "labels": {"pool": "gpu", "zone": "2"}},
    {
        "name": "spot",
        "labels": {"pool": "spot", "zone": "2"},
        "taints": [{"key": "spot", "value": "true", "effect": "NoExecute"}],
    },
)
TOLERATIONS = (
    GPU_TOLERATION,
    {"key": "spot", "operator": "Equal", "value": "true"},
    {"operator": "Exists"},
)
EXPRESSIONS = (
    {"key": "pool", "operator": "In", "values": ["cpu", "gpu"]},
    {"key": "pool", "operator": "NotIn", "values": ["cpu"]},
    {"key": "zone", "operator": "In", "values": ["2"]},
    {"key": "zone", "operator": "Gt", "values": ["1"]},
    {"key": "gpu", "operator": "DoesNotExist"},
    {"key": "zone", "operator": "Exists"},
)


@st.composite
def placement_spec(draw: st.DrawFn) -> Doc:
    spec: Doc = {}
    pool = draw(st.sampled_from([None, "cpu", "gpu", "spot"]))
    if pool is not None:
        spec["nodeSelector"] = {"pool": pool}
    terms = draw(
        st.lists(
            st.lists(st.sampled_from(EXPRESSIONS), min_size=1, max_size=2, unique_by=repr),
            max_size=2,
        )
    )
    if terms:
        spec["terms"] = terms
    tolerations = draw(st.lists(st.sampled_from(TOLERATIONS), max_size=2, unique_by=repr))
    if tolerations:
        spec["tolerations"] = tolerations
    name = draw(st.sampled_from([None, None, "n1", "n2"]))
    if name is not None:
        spec["nodeName"] = name
    return spec


def placed_pod(i: int, spec: Doc) -> Doc:
    extra = {k: v for k, v in spec.items() if k != "terms"}
    if "terms" in spec:
        extra |= affinity(*spec["terms"])
    return pod(f"p{i}", privileged=True, **extra)


def widened(spec: Doc, how: int) -> Doc | None:
    """``spec`` placed more widely, one of several ways (None when that way does not apply)."""
    out = json.loads(json.dumps(spec))
    if how == 0 and "nodeSelector" in out:
        del out["nodeSelector"]
    elif how == 1:
        new = [t for t in TOLERATIONS if t not in out.get("tolerations", [])]
        if not new:
            return None
        out["tolerations"] = [*out.get("tolerations", []), new[0]]
    elif how == 2 and "terms" in out:
        out["terms"] = [*out["terms"], [EXPRESSIONS[-1]]]  # one more ORed term
    elif how == 3 and "terms" in out and len(out["terms"][0]) > 1:
        out["terms"][0] = out["terms"][0][1:]  # one expression fewer in a term
    elif how == 4 and "terms" in out:
        del out["terms"]
    elif how == 5 and "nodeName" in out:
        del out["nodeName"]
    else:
        return None
    return out


def brute_force(docs: list[Doc]) -> dict[str, set[str]]:
    """Who shares a node with whom, node by node: every pool (or, without pools, every
    combination of the labels the strategy writes) with every node name."""
    from attackmap.graph._placement import NodeType, constraint

    inv = load(*docs)
    pools = inv.context.spec.node_pools if inv.context is not None else ()
    nodes = []
    for name in ("n1", "n2", None):
        if pools:
            nodes += [NodeType(p.labels, True, name, p.taints) for p in pools]
            continue
        for pool, zone, gpu in itertools.product(
            ("cpu", "gpu", "spot", "other", None), ("1", "2", "other", None), ("x", None)
        ):
            labels = {k: v for k, v in (("pool", pool), ("zone", zone), ("gpu", gpu)) if v}
            nodes.append(NodeType(labels, False, name, ()))
    cons = {str(w.ref): constraint(w) for w in inv.workloads}
    fits = {k: {i for i, n in enumerate(nodes) if n.admits(c)} for k, c in cons.items()}
    # a workload no node takes is on no node (it would stay Pending)
    return {a: {b for b in cons if b != a and fits[a] & fits[b]} for a in cons}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(placement_spec(), min_size=2, max_size=4),
    pools=st.booleans(),
    which=st.integers(0, 3),
    how=st.integers(0, 5),
)
def test_placement_is_exact_and_widening_never_removes_a_path(
    specs: list[Doc], pools: bool, which: int, how: int
) -> None:
    catalogue = load_catalogue(load_attack())
    prefix = [PROPERTY_POOLS] if pools else []
    docs = prefix + [placed_pod(i, s) for i, s in enumerate(specs)]
    before = token_reach(docs, catalogue)
    assert before == brute_force(docs)
    wider = widened(specs[which % len(specs)], how)
    if wider is None:
        return
    # Every widening only adds nodes, a workload no node takes included: it is on no node
    # (it would stay Pending), so a widening that lets a node take it adds that node.
    specs = [wider if i == which % len(specs) else s for i, s in enumerate(specs)]
    more = prefix + [placed_pod(i, s) for i, s in enumerate(specs)]
    after = token_reach(more, catalogue)
    assert after == brute_force(more)
    for source, reached in before.items():
        assert reached <= after[source], (source, how)
    techniques = {
        str(w.ref): set(w.technique_ids()) for w in analyze(docs, entries=["cluster"]).workloads
    }
    for w in analyze(more, entries=["cluster"]).workloads:
        assert techniques[str(w.ref)] <= set(w.technique_ids())


def test_input_order_does_not_change_the_report() -> None:
    docs = [
        *GPU_CLUSTER,
        pod(
            "agent", "ops", kind="DaemonSet", privileged=True, tolerations=[{"operator": "Exists"}]
        ),
    ]
    outputs = set()
    rng = random.Random(16)
    for _ in range(3):
        shuffled = docs[:]
        rng.shuffle(shuffled)
        ctx = json.loads(json.dumps(shuffled[shuffled.index(GPU_CLUSTER[0])]))
        ctx["spec"]["nodePools"].reverse()  # the pools' order says nothing either
        shuffled[shuffled.index(GPU_CLUSTER[0])] = ctx
        report = analyze(shuffled)
        outputs.add(EXPORTERS["json"].export(report))
    assert len(outputs) == 1


def test_the_graph_grows_linearly_with_placed_workloads(catalogue: Catalogue) -> None:
    def cluster(n: int) -> list[Doc]:
        docs: list[Doc] = [
            context(CPU_POOL, GPU_POOL, {"name": "spare", "labels": {"pool": "spare"}})
        ]
        for i in range(n):
            spec = (ON_GPU, {"nodeSelector": {"pool": "cpu"}}, {}, {"nodeName": f"w{i % 7}"})[i % 4]
            docs.append(pod(f"p{i}", f"ns{i % 5}", privileged=True, **spec))
        return docs

    small = len(AttackGraph(extract(load(*cluster(200))), catalogue).edges())
    large = len(AttackGraph(extract(load(*cluster(400))), catalogue).edges())
    # every escape reaches a few node classes and every class many tokens: grouped, the
    # edges double with the workloads (pairwise, they would quadruple)
    assert 1.9 <= large / small <= 2.1


def test_bad_placement_input_names_file_line_and_field(tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  affinity:\n    nodeAffinity:\n"
        "      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n"
        "          - matchExpressions:\n              - {key: a, operator: Within, values: [x]}\n"
        "  containers: [{name: c, image: x}]\n",
        encoding="utf-8",
    )
    with pytest.raises(AttackmapError) as bad:
        load(path)
    assert bad.value.line == 10
    assert str(bad.value.field).endswith("nodeSelectorTerms[0].matchExpressions[0].operator")
    pools = tmp_path / "pools.yaml"
    pools.write_text(
        "apiVersion: attackmap/v1\nkind: ClusterContext\nmetadata: {name: c}\nspec:\n"
        "  nodePools: [{name: cpu}, {name: cpu}]\n",
        encoding="utf-8",
    )
    with pytest.raises(AttackmapError, match="pool name 'cpu' appears more than once") as twice:
        load(pools)
    assert twice.value.path == str(pools)


STUCK = pod(
    "stuck",
    privileged=True,
    nodeSelector={"pool": "gpu"},
    **affinity([{"key": "pool", "operator": "In", "values": ["cpu"]}]),
)
PENDING = (
    "; it would stay Pending: attackmap places it on no node (its escapes reach no node, no "
    "node holds its token or containers) and keeps its own steps"
)


def test_a_workload_no_node_takes_runs_on_none_keeps_its_own_steps_and_says_so(
    catalogue: Catalogue,
) -> None:
    # pool=gpu and pool In [cpu]: Kubernetes leaves it Pending, so no node holds it
    docs = [STUCK, pod("a", nodeSelector={"pool": "a"}), pod("b", nodeSelector={"pool": "b"})]
    assert runs_on(docs)["Pod/app/stuck"] == ()
    assert token_reach(docs, catalogue)["Pod/app/stuck"] == set()
    report = analyze(docs)
    (w,) = [w for w in report.workloads if str(w.ref) == "Pod/app/stuck"]
    expected = (
        "placement: nodeSelector pool=gpu; required nodeAffinity (1 term) contradicts itself: "
        "no node can satisfy it" + PENDING
    )
    assert expected in w.warnings
    # its own steps stay (the escape itself), what needs a node does not follow
    ids = set(w.technique_ids())
    assert "T1611" in ids
    steps = {s.id for t in w.techniques for p in t.paths for s in p.steps}
    assert not {"node-tokens", "node-identity", "node-root-container-exec"} & steps
    details = {
        (f.fact, f.detail)
        for t in w.techniques
        for p in t.paths
        for s in p.steps
        for f in s.facts
        if f.fact.startswith("runs_on:")
    }
    assert details == {("runs_on:none", expected)}
    # nobody reaches its token or its containers through a node either
    graph = AttackGraph(extract(load(*docs, pod("c", privileged=True))), catalogue)
    reached = graph.reachable_from("state:exec@Pod/app/c[c]")
    assert "state:sa_token@Pod/app/stuck" not in reached
    assert "state:exec@Pod/app/stuck[c]" not in reached
    # with pools: the web pod selects a pool nobody declared
    pools = [context(CPU_POOL, GPU_POOL), pod("web", nodeSelector={"pool": "edge"})]
    (w,) = analyze(pools).workloads
    assert w.warnings == (
        "placement: nodeSelector pool=edge; not on cpu: nodeSelector pool=edge, gpu: "
        "nodeSelector pool=edge: fits no node of the ClusterContext's nodePools" + PENDING,
    )


@pytest.mark.parametrize("pools", [False, True])
def test_making_an_unschedulable_pod_schedulable_removes_no_technique(pools: bool) -> None:
    """The rule that replaced the monotonicity exception: an unschedulable pod is on no
    node, so the widening that lets a node take it (here: the contradicting term dropped)
    only adds nodes, for it and for everyone who may share them."""
    prefix = [context(CPU_POOL, GPU_POOL)] if pools else []
    others = [pod("gpu", privileged=True, **ON_GPU), pod("web", privileged=True)]
    stuck = json.loads(json.dumps(STUCK))
    stuck["spec"]["tolerations"] = [GPU_TOLERATION]
    schedulable = json.loads(json.dumps(stuck))
    del schedulable["spec"]["affinity"]
    before = analyze([*prefix, stuck, *others], entries=["cluster"])
    after = analyze([*prefix, schedulable, *others], entries=["cluster"])
    assert runs_on([*prefix, stuck, *others])["Pod/app/stuck"] == ()
    assert runs_on([*prefix, schedulable, *others])["Pod/app/stuck"] != ()
    gained = False
    for w in after.workloads:
        old = set(before.workload(w.ref).technique_ids())
        assert old <= set(w.technique_ids()), w.ref
        gained |= old < set(w.technique_ids())
    assert gained  # placed on a node, its escape reaches the node's tokens and containers
    steps = {
        s.id for t in after.workload("Pod/app/stuck").techniques for p in t.paths for s in p.steps
    }
    assert {"node-tokens", "node-root-container-exec"} <= steps


def test_node_states_are_linked_per_class(catalogue: Catalogue) -> None:
    """Escapes link to their workload's classes, node steps to their own, a deployed pod
    to every class; the grouped edges agree with predecessors (as in test_engine)."""
    deployer = pod("ops", "app", sa="ops", **ON_GPU)
    rights = secret_reader("ops", "app")
    rights[1]["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]
    docs = [*GPU_CLUSTER, deployer, *rights]
    graph = AttackGraph(extract(load(*docs)), catalogue)
    classes = {"Pod/app/web": {"cpu"}, "Pod/nim/llm": {"gpu"}}
    seen = set()
    for inst in graph.iter_instances():
        node_states = [s for s in inst.step.granted_states if catalogue.state(s).scope == "node"]
        if not node_states:
            continue
        scope = inst.scope.scope
        if scope.level == "container":
            where = classes[str(scope.workload)]
        elif scope.level == "node":
            where = {scope.node}
        else:  # a pod the attacker deploys goes where it likes
            where = {"cpu", "gpu"}
        seen.add(scope.level)
        succ = {n for n in graph.successors(inst.node) if n.startswith("state:")}
        assert succ == {f"state:{s}@node:{c}" for s in node_states for c in where}, inst.id
    assert seen == {"container", "node", "workload", "cluster"}
    edges = graph.edges()
    for node in graph.nodes():
        assert graph.predecessors(node) == sorted(a for a, b in edges if b == node)


def placed_cluster() -> list[Doc]:
    """The GPU cluster with an all-tolerating DaemonSet, a pod pinned to a GPU node, one
    without a token, and a ServiceAccount that can create pods (reaches every class)."""
    deployer = pod("ops", "app", sa="ops", **ON_GPU)
    rights = secret_reader("ops", "app")
    rights[1]["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]
    return [
        {**GPU_CLUSTER[0], "spec": {"nodePools": [CPU_POOL, {**GPU_POOL, "nodes": ["g1", "g2"]}]}},
        *GPU_CLUSTER[1:],
        pod(
            "agent", "ops", kind="DaemonSet", privileged=True, tolerations=[{"operator": "Exists"}]
        ),
        pod("pinned", "nim", privileged=True, nodeName="g1"),
        pod("quiet", "app", automountServiceAccountToken=False),
        deployer,
        *rights,
    ]


def test_paths_over_node_classes_are_the_plain_shortest_paths(catalogue: Catalogue) -> None:
    from tests.graph.test_engine import reference_paths

    graph = AttackGraph(extract(load(*placed_cluster())), catalogue)
    assert set(graph.fb.placement.names) == {"cpu", "gpu", "gpu/g1"}
    starts = [
        graph.entry_node(w.key, e)
        for w in graph.fb.workloads
        for e in ("external", "cluster", "image")
    ]
    compared = 0
    for sink in graph.sinks():
        found = {
            start: tuple(i.id for i in steps)
            for start, steps in graph.paths_to_sink(sink, starts).items()
        }
        assert found == reference_paths(graph, sink, starts), sink
        compared += len(found)
    assert compared > 100


@pytest.mark.parametrize("token", [False, True])
def test_techniques_with_a_patched_workload_keep_its_node_classes(
    catalogue: Catalogue, token: bool
) -> None:
    from dataclasses import replace

    from tests.graph.test_engine import full_graph_techniques

    fb = extract(load(*placed_cluster()))
    graph = AttackGraph(fb, catalogue)
    for wf in fb.workloads:
        pod_facts = wf.pod | {"sa_token"} if token else wf.pod - {"sa_token"}
        patched = replace(wf, pod=pod_facts)
        expected = full_graph_techniques(fb, catalogue, wf.key, patched)
        assert graph.techniques_with(patched, ("external", "cluster", "image")) == expected, wf.key


def test_too_many_possible_nodes_fall_back_to_any_node_with_a_warning() -> None:
    # 8 label keys with 2 values each: (2 + 2)^8 = 65,536 possible nodes, past the limit
    docs = [pod(f"p{i}", nodeSelector={f"k{i}": "a"}) for i in range(8)]
    docs += [pod(f"q{i}", nodeSelector={f"k{i}": "b"}) for i in range(8)]
    placement = _place(docs)
    assert placement.names == (ANY_NODE,)
    assert placement.warnings == (
        "placement: the manifests' nodeSelector/nodeAffinity/nodeName values combine into more "
        "than 4096 possible nodes; attackmap assumes any workload may share a node with any "
        "other",
    )
    assert placement.warnings[0] in analyze(docs).warnings


def test_prefer_no_schedule_does_not_keep_a_pod_away() -> None:
    soft = {"name": "soft", "taints": [{"key": "spot", "effect": "PreferNoSchedule"}]}
    hard = {"name": "hard", "taints": [{"key": "spot", "effect": "NoSchedule"}]}
    assert _place([context(soft, hard), pod("p")]).of("Pod/app/p") == ("soft",)
