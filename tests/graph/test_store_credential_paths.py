"""Issue 16, items 2 and 3: paths that leave a workload through shared storage and stolen
credentials, asserted step by step with their evidence.

Each scenario is the smallest cluster that shows the hop: a batch Job and a NIMService on
one ReadWriteMany claim (code execution when the NIMService runs the model's own code,
tampering otherwise), an NGC key in a literal variable (the organisation's private models),
the nim-llm chart's multi-node LeaderWorkerSet (its SSH key reaches the workers), registry
credentials (an implanted image in the pods that pull from that registry) and a
ServiceAccount token Secret (that account's rights)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import shared_path

from attackmap.attack import load_attack
from attackmap.graph import Report, analyze
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import AttackGraph, _PathTable
from attackmap.graph._facts import extract
from attackmap.model import load

Doc = dict[str, Any]


def corpus(name: str) -> Path:
    """A NIM manifest of ``../shared/corpus/nim``; skips the test where it is absent."""
    return shared_path("corpus", "nim", name)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def claim() -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "models", "namespace": "nim"},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Ti"}}},
    }


def batch_job(read_only: bool = False) -> Doc:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "convert", "namespace": "nim"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,  # its own token is no shortcut
                    "containers": [
                        {
                            "name": "convert",
                            "image": "registry.example.com/tools/convert:1.0",
                            "volumeMounts": [
                                {"name": "models", "mountPath": "/work", "readOnly": read_only}
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "models", "persistentVolumeClaim": {"claimName": "models"}}
                    ],
                }
            }
        },
    }


def no_ingress_to_nim() -> Doc:
    """The NIMService's pods take no connections: the store is the Job's only way in (the
    pod network would otherwise reach the NIMService too, issue 16 item 1)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "llm-deny-ingress", "namespace": "nim"},
        "spec": {"podSelector": {"matchLabels": {"app": "llm"}}, "policyTypes": ["Ingress"]},
    }


def nim_service(*env: Doc) -> Doc:
    return {
        "apiVersion": "apps.nvidia.com/v1alpha1",
        "kind": "NIMService",
        "metadata": {"name": "llm", "namespace": "nim"},
        "spec": {
            "image": {"repository": "nvcr.io/nim/meta/llama-3.1-8b-instruct", "tag": "1.3.3"},
            "authSecret": "ngc-api-secret",
            "env": list(env),
            "storage": {"readOnly": True, "pvc": {"name": "models"}},
            "expose": {"service": {"type": "ClusterIP", "port": 8000}},
        },
    }


TRUST = {"name": "NIM_TRUST_CUSTOM_CODE", "value": "1"}
JOB = "Job/nim/convert"
NIM = "NIMService/nim/llm"


def paths(rep: Report, workload: str, technique: str) -> list[list[str]]:
    """The paths of ``technique`` in ``workload``'s findings, as ``step@scope`` lists."""
    (w,) = [w for w in rep.workloads if str(w.ref) == workload]
    return [
        [f"{s.id}@{s.scope}" for s in p.steps]
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
    ]


def origins(rep: Report, workload: str, technique: str) -> list[str | None]:
    """Where the paths of ``technique`` in ``workload``'s findings start, when elsewhere."""
    (w,) = [w for w in rep.workloads if str(w.ref) == workload]
    return [p.origin for t in w.techniques if t.technique.id == technique for p in t.paths]


def step_in(rep: Report, workload: str, step: str) -> Any:
    """The first path step ``step`` (``id@scope``) in ``workload``'s findings."""
    (w,) = [w for w in rep.workloads if str(w.ref) == workload]
    return next(
        s for t in w.techniques for p in t.paths for s in p.steps if f"{s.id}@{s.scope}" == step
    )


def shortest(docs: list[Doc] | Path, catalogue: Catalogue, start: str, goal: str) -> list[str]:
    """The step instances of the deterministic shortest path from ``start`` to ``goal``."""
    inv = load(docs) if isinstance(docs, Path) else load(*docs)
    graph = AttackGraph(extract(inv), catalogue)
    found = _PathTable(graph, goal).path(start)
    assert found is not None, f"{goal} not reachable from {start}"
    return [i.id for i in found]


# -- shared storage ----------------------------------------------------------------------


def test_a_writable_batch_job_runs_code_in_the_nimservice_that_trusts_model_code(
    catalogue: Catalogue,
) -> None:
    """The NIMService imports the model's own code (NIM_TRUST_CUSTOM_CODE=1) from the claim
    the Job writes: a foothold in the Job is code execution in the NIMService, whose token
    it then reads."""
    docs = [claim(), batch_job(), nim_service(TRUST), no_ingress_to_nim()]
    rep = analyze(docs, entries=["cluster"])
    assert paths(rep, JOB, "T1080") == [
        [
            f"exploit-cluster-service@{JOB}[convert]",
            f"shared-store-code-exec@{JOB}[convert]",
        ]
    ]
    # what the code then does happens in the NIMService: its findings, through the Job
    assert paths(rep, JOB, "T1528") == []
    assert paths(rep, NIM, "T1528") == [
        [
            f"exploit-cluster-service@{JOB}[convert]",
            f"shared-store-code-exec@{JOB}[convert]",
            f"steal-sa-token@{NIM}[llm-ctr]",
        ]
    ]
    assert origins(rep, NIM, "T1528") == [JOB]
    hop = step_in(rep, JOB, f"shared-store-code-exec@{JOB}[convert]")
    (fact,) = [f for f in hop.facts if f.fact == "shared_store:write_code"]
    assert fact.field == "containers[convert].volumeMounts[models]"
    assert fact.detail == (
        "PVC nim/models at /work; NIMService/nim/llm [llm-ctr] runs code from it: "
        "NIM_TRUST_CUSTOM_CODE=1: the model's own Python modules are imported "
        "(env[NIM_TRUST_CUSTOM_CODE])"
    )
    assert (fact.path, fact.line) == ("<object>", None)  # documents given as data
    # the exact hop in the graph: Job entry -> exec in the NIMService's container
    assert shortest(
        docs, catalogue, f"state:entry:cluster@{JOB}", f"state:exec@{NIM}[llm-ctr]"
    ) == [
        f"exploit-cluster-service@{JOB}[convert]",
        f"shared-store-code-exec@{JOB}[convert]",
    ]


def test_without_a_code_loader_the_batch_job_tampers_with_the_nimservice_model(
    catalogue: Catalogue,
) -> None:
    """The same store, a NIMService that only reads weights: tampering (T1565.001), the
    NIMService's store in the attacker's hands (model_store_write), no code execution."""
    docs = [claim(), batch_job(), nim_service(), no_ingress_to_nim()]
    rep = analyze(docs, entries=["cluster"])
    assert paths(rep, JOB, "T1565.001") == [
        [f"exploit-cluster-service@{JOB}[convert]", f"shared-store-tamper@{JOB}[convert]"]
    ]
    assert paths(rep, JOB, "T1080") == []
    (nim,) = [w for w in rep.workloads if str(w.ref) == NIM]
    at_nim = {(s.id, s.scope) for t in nim.techniques for p in t.paths for s in p.steps[2:]}
    # The NIMService's findings: only what is done to its model (ATLAS: poisoning, its
    # architecture, corruption, at the workload's scope), all through the Job's write;
    # nothing runs in its container.
    assert at_nim == {
        (step, NIM)
        for step in ("poison-served-model", "modify-model-architecture", "corrupt-model")
    }
    assert {t.technique.id for t in nim.techniques} == {
        "AML.T0018.000",
        "AML.T0018.001",
        "AML.T0076",
    }
    assert {
        (p.origin, p.entry, *(f"{s.id}@{s.scope}" for s in p.steps[:2]))
        for t in nim.techniques
        for p in t.paths
    } == {
        (
            JOB,
            "cluster",
            f"exploit-cluster-service@{JOB}[convert]",
            f"shared-store-tamper@{JOB}[convert]",
        )
    }
    assert shortest(
        docs, catalogue, f"state:entry:cluster@{JOB}", f"state:model_store_write@{NIM}"
    ) == [f"exploit-cluster-service@{JOB}[convert]", f"shared-store-tamper@{JOB}[convert]"]
    graph = AttackGraph(extract(load(*docs)), catalogue)
    assert f"state:exec@{NIM}[llm-ctr]" not in graph.reachable_from(f"state:entry:cluster@{JOB}")


def test_a_read_only_batch_job_reaches_neither() -> None:
    rep = analyze([claim(), batch_job(read_only=True), nim_service(TRUST)], entries=["cluster"])
    for technique in ("T1080", "T1565.001"):
        assert paths(rep, JOB, technique) == []
    # it still reads the NIMService's model
    assert paths(rep, JOB, "T1005") == [
        [f"exploit-cluster-service@{JOB}[convert]", f"shared-store-model-theft@{JOB}[convert]"]
    ]


def test_the_nimcache_job_shares_its_pvc_with_the_nimservices_using_it() -> None:
    """A NIMCache's caching Job writes the claim every NIMService naming the cache reads:
    the NIM Operator's own multi-node sample (an RWX NIMCache, NIM_TRUST_CUSTOM_CODE=1)
    gives code execution in the leader and the workers from the caching Job."""
    rep = analyze(
        corpus("operator-serving-advanced-multi-node-multi-node-nimservice.yaml"),
        entries=["cluster"],
    )
    cache = "NIMCache/nim-service/deepseek-r1-nimcache"
    assert paths(rep, cache, "T1080") == [
        [
            f"exploit-cluster-service@{cache}[nim-cache-ctr]",
            f"shared-store-code-exec@{cache}[nim-cache-ctr]",
        ]
    ]
    hop = step_in(rep, cache, f"shared-store-code-exec@{cache}[nim-cache-ctr]")
    (fact,) = [f for f in hop.facts if f.fact == "shared_store:write_code"]
    assert fact.detail.startswith(
        "PVC nim-service/deepseek-r1-nimcache-pvc at /model-store; "
        "NIMService/nim-service/deepseek-r1#leader [deepseek-r1-ctr] runs code from it"
    )
    assert fact.detail.endswith("(and NIMService/nim-service/deepseek-r1#worker)")
    # the NIMCache document: line 4 of the sample (its apiVersion)
    assert (Path(fact.path).name, fact.line) == (
        "operator-serving-advanced-multi-node-multi-node-nimservice.yaml",
        4,
    )


# -- stolen credentials ------------------------------------------------------------------


def ngc_pod(value: str) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "llm", "namespace": "nim"},
        "spec": {
            "containers": [
                {
                    "name": "llm",
                    "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3",
                    "env": [{"name": "NGC_API_KEY", "value": value}],
                }
            ],
        },
    }


def test_an_ngc_key_in_a_literal_variable_pulls_the_organisations_private_models() -> None:
    rep = analyze(ngc_pod("nvapi-" + "A" * 40), entries=["cluster"])
    pod = "Pod/nim/llm"
    assert paths(rep, pod, "T1530") == [
        [
            f"exploit-cluster-service@{pod}[llm]",
            f"env-credentials@{pod}[llm]",
            f"model-registry-pull@{pod}",
        ]
    ]
    pull = step_in(rep, pod, f"model-registry-pull@{pod}")
    (fact,) = [f for f in pull.facts if f.fact == "credential:ngc"]
    assert (fact.field, fact.detail) == ("containers[llm].env[NGC_API_KEY]", "NGC_API_KEY")
    assert "nvapi-" not in rep.model_dump_json()


def test_a_service_account_that_reads_the_nim_namespace_secrets_pulls_the_models() -> None:
    """The NGC key never enters the monitoring pod: its ServiceAccount reads it from the
    Secret the NIM pod takes NGC_API_KEY from."""
    manifests = Path(__file__).parent / "manifests" / "steps" / "api-model-registry-pull"
    rep = analyze(manifests / "fires.yaml", entries=["cluster"])
    pod = "Pod/ops/monitor"
    assert paths(rep, pod, "T1530") == [
        [
            f"exploit-cluster-service@{pod}[monitor]",
            f"steal-sa-token@{pod}[monitor]",
            f"use-sa-token@{pod}",
            f"api-model-registry-pull@{pod}",
        ]
    ]
    pull = step_in(rep, pod, f"api-model-registry-pull@{pod}")
    (fact,) = [f for f in pull.facts if f.fact == "credential:readable_model_key"]
    assert (fact.field, fact.detail) == (
        "ServiceAccount monitor",
        "may read Secret nim/ngc-api (NGC_API_KEY)",
    )


def test_a_database_password_pulls_no_models() -> None:
    doc = ngc_pod("hunter2hunter2")
    doc["spec"]["containers"][0]["env"][0]["name"] = "DB_PASSWORD"
    assert paths(analyze(doc, entries=["cluster"]), "Pod/nim/llm", "T1530") == []


LWS_NAME = "nim-deploy-multinode-lws.yaml"
LEADER = "LeaderWorkerSet/default/my-nim#leader"
WORKER = "LeaderWorkerSet/default/my-nim#worker"


WORKERS_DENY: Doc = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "workers-deny", "namespace": "default"},
    "spec": {
        "podSelector": {"matchExpressions": [{"key": "nim-llm-role", "operator": "DoesNotExist"}]},
        "policyTypes": ["Ingress"],
    },
}


def test_the_lws_ssh_key_reaches_the_workers(catalogue: Catalogue) -> None:
    """The nim-llm chart's multi-node render: the leader and the workers mount Secret
    my-nim-nim-llm-ssh-pk, the workers run sshd. A foothold in the leader logs in to the
    workers with the key (T1021.004)."""
    rep = analyze(corpus(LWS_NAME), entries=["cluster"])
    assert paths(rep, LEADER, "T1021.004") == [
        [
            f"exploit-cluster-service@{LEADER}[nim-leader]",
            f"env-credentials@{LEADER}[nim-leader]",
            f"ssh-key-lateral@{LEADER}",
        ]
    ]
    hop = step_in(rep, LEADER, f"ssh-key-lateral@{LEADER}")
    (fact,) = [f for f in hop.facts if f.fact == "credential:ssh_peer"]
    assert fact.field == "containers[nim-leader].volumeMounts[ssh-pk]"
    assert (Path(fact.path).name, fact.line) == (LWS_NAME, 114)  # the LeaderWorkerSet
    assert fact.detail == (
        f"SSH key Secret default/my-nim-nim-llm-ssh-pk, mounted by {WORKER} [nim-worker] "
        "which serves SSH"
    )
    assert shortest(
        corpus(LWS_NAME),
        catalogue,
        f"state:entry:cluster@{LEADER}",
        f"state:exec@{WORKER}[nim-worker]",
    ) == [
        f"exploit-cluster-service@{LEADER}[nim-leader]",
        f"env-credentials@{LEADER}[nim-leader]",
        f"ssh-key-lateral@{LEADER}",
    ]
    # the key is used where it is held: the leader's finding; the workers' key does not
    # reach the leader (it serves no SSH)
    assert paths(rep, WORKER, "T1021.004") == []
    assert not [
        s
        for w in rep.workloads
        for t in w.techniques
        for p in t.paths
        for s in p.steps
        if s.id == "ssh-key-lateral" and s.scope == WORKER
    ]
    # What the login does happens in the workers: their findings. Here the cluster reaches
    # them directly, by shorter paths; when a NetworkPolicy admits nobody to the workers
    # (the leader's template alone carries the nim-llm-role label), the key is the way in.
    rep = analyze([corpus(LWS_NAME), WORKERS_DENY], entries=["cluster"])
    login = [
        f"exploit-cluster-service@{LEADER}[nim-leader]",
        f"env-credentials@{LEADER}[nim-leader]",
        f"ssh-key-lateral@{LEADER}",
    ]
    assert paths(rep, WORKER, "T1528") == [[*login, f"steal-sa-token@{WORKER}[nim-worker]"]]
    assert paths(rep, WORKER, "T1496.001") == [[*login, f"gpu-compute-hijack@{WORKER}[nim-worker]"]]
    (worker,) = [w for w in rep.workloads if str(w.ref) == WORKER]
    assert {p.origin for t in worker.techniques for p in t.paths} == {LEADER}


def test_the_nim_operator_multi_node_key_reaches_its_workers() -> None:
    """A NIMService with multiNode: the operator mounts Secret <name>-ssh-pk into the
    leader and the workers and renders no command; the workers' image runs sshd for
    mpirun, which attackmap assumes and says."""
    rep = analyze(
        corpus("operator-serving-advanced-multi-node-multi-node-nimservice.yaml"),
        entries=["cluster"],
    )
    leader, worker = (f"NIMService/nim-service/deepseek-r1#{c}" for c in ("leader", "worker"))
    assert paths(rep, leader, "T1021.004") == [
        [
            f"exploit-cluster-service@{leader}[deepseek-r1-ctr]",
            f"env-credentials@{leader}[deepseek-r1-ctr]",
            f"ssh-key-lateral@{leader}",
        ]
    ]
    hop = step_in(rep, leader, f"ssh-key-lateral@{leader}")
    (fact,) = [f for f in hop.facts if f.fact == "credential:ssh_peer"]
    assert fact.detail == (
        f"SSH key Secret nim-service/deepseek-r1-ssh-pk, mounted by {worker} "
        "[deepseek-r1-ctr] which serves SSH"
    )
    entry = step_in(rep, worker, f"cluster-remote-service@{worker}[deepseek-r1-ctr]")
    (served,) = [f for f in entry.facts if f.fact == "remote_service"]
    assert (served.field, served.detail) == (
        "spec.multiNode",
        "multi-node NIM worker: the image runs sshd (2222) for mpirun",
    )


REGCRED = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "regcred", "namespace": "ci"},
    "type": "kubernetes.io/dockerconfigjson",
    # {"auths": {"registry.example.com": {"auth": "<redacted>"}}}
    "data": {
        ".dockerconfigjson": "eyJhdXRocyI6IHsicmVnaXN0cnkuZXhhbXBsZS5jb20iOiB7ImF1dGgiOiAiPHJlZGFjdGVkPiJ9fX0="
    },
}


def workload(kind: str, name: str, ns: str, container: Doc, **spec: Any) -> Doc:
    return {
        "apiVersion": "v1" if kind == "Pod" else "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {"containers": [container], **spec}
        if kind == "Pod"
        else {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], **spec},
            },
        },
    }


def test_registry_credentials_implant_an_image_the_server_will_run(catalogue: Catalogue) -> None:
    docs = [
        REGCRED,
        workload(
            "Pod",
            "builder",
            "ci",
            {
                "name": "kaniko",
                "image": "gcr.io/kaniko-project/executor:v1.23.0",
                "volumeMounts": [{"name": "cfg", "mountPath": "/kaniko/.docker"}],
            },
            volumes=[{"name": "cfg", "secret": {"secretName": "regcred"}}],
        ),
        workload(
            "Deployment",
            "server",
            "serving",
            {"name": "server", "image": "registry.example.com/serving/server:2.0"},
        ),
    ]
    builder, server = "Pod/ci/builder", "Deployment/serving/server"
    rep = analyze(docs, entries=["cluster"])
    assert paths(rep, builder, "T1525") == [
        [
            f"exploit-cluster-service@{builder}[kaniko]",
            f"file-credentials@{builder}[kaniko]",
            f"registry-implant-image@{builder}",
        ]
    ]
    implant = step_in(rep, builder, f"registry-implant-image@{builder}")
    (fact,) = [f for f in implant.facts if f.fact == "credential:registry_push"]
    assert fact.detail == (
        f"Secret ci/regcred: credentials for registry.example.com (its data); {server} pull from it"
    )
    assert shortest(
        docs, catalogue, f"state:entry:cluster@{builder}", f"state:exec@{server}[server]"
    ) == [
        f"exploit-cluster-service@{builder}[kaniko]",
        f"file-credentials@{builder}[kaniko]",
        f"registry-implant-image@{builder}",
        f"malicious-image@{server}[server]",
    ]


def test_a_token_secret_gives_its_service_accounts_rights(catalogue: Catalogue) -> None:
    docs = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "deployer", "namespace": "ci"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "deployer-token",
                "namespace": "ci",
                "annotations": {"kubernetes.io/service-account.name": "deployer"},
            },
            "type": "kubernetes.io/service-account-token",
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "deployer-admin"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}],
        },
        workload(
            "Pod",
            "runner",
            "ci",
            {
                "name": "runner",
                "image": "registry.example.com/ci/runner:3.1",
                "volumeMounts": [{"name": "t", "mountPath": "/var/run/deployer"}],
            },
            automountServiceAccountToken=False,
            volumes=[{"name": "t", "secret": {"secretName": "deployer-token"}}],
        ),
    ]
    runner = "Pod/ci/runner"
    assert shortest(
        docs,
        catalogue,
        f"state:entry:cluster@{runner}",
        "state:api_access@ServiceAccount/ci/deployer",
    ) == [
        f"exploit-cluster-service@{runner}[runner]",
        f"file-credentials@{runner}[runner]",
        f"secret-token-identity@{runner}",
        "use-sa-token@ServiceAccount/ci/deployer",
    ]
    graph = AttackGraph(extract(load(*docs)), catalogue)
    assert "state:cluster_admin@cluster" in graph.reachable_from(f"state:entry:cluster@{runner}")
    # without the token Secret the runner has no identity to use
    docs[1]["type"] = "Opaque"
    graph = AttackGraph(extract(load(*docs)), catalogue)
    assert "state:cluster_admin@cluster" not in graph.reachable_from(
        f"state:entry:cluster@{runner}"
    )


def test_more_access_never_removes_a_shared_store_technique() -> None:
    """Monotonicity on the new facts: a writable mount, a code loader and a key never
    take a technique away from what the read-only, loader-free variant reaches."""
    base = analyze([claim(), batch_job(read_only=True), nim_service()], entries=["cluster"])
    more = analyze([claim(), batch_job(), nim_service(TRUST)], entries=["cluster"])
    for w in base.workloads:
        (m,) = [x for x in more.workloads if x.ref == w.ref]
        assert set(w.technique_ids()) <= set(m.technique_ids())


def test_input_order_does_not_change_the_shared_store_paths() -> None:
    docs = [claim(), batch_job(), nim_service(TRUST)]
    first = analyze(copy.deepcopy(docs), entries=["cluster"]).model_dump_json()
    assert (
        analyze(list(reversed(copy.deepcopy(docs))), entries=["cluster"]).model_dump_json() == first
    )


def stored_edges(graph: AttackGraph) -> int:
    """The edges the graph keeps: explicit ones, one per step referring to a group, one per
    group member (what a relation costs, whatever the number of pairs it stands for)."""
    explicit = sum(len(v) for v in graph._succ.values())
    refs = sum(len(v) for v in graph._refs.values())
    members = sum(len(f.members) for f in graph._fanouts.values())
    return explicit + refs + members


def shared_cluster(n: int) -> list[Doc]:
    """``n`` writers (Jobs) and ``n`` Triton servers on one claim, and ``n`` servers each
    with a host directory below /data that one node agent writes whole."""
    docs: list[Doc] = [claim()]
    for i in range(n):
        job = batch_job()
        job["metadata"]["name"] = f"convert-{i}"
        docs.append(job)
        docs.append(
            workload(
                "Deployment",
                f"triton-{i}",
                "nim",
                {
                    "name": "triton",
                    "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
                    "args": ["--model-repository=/models"],
                    "volumeMounts": [{"name": "m", "mountPath": "/models", "readOnly": True}],
                },
                volumes=[{"name": "m", "persistentVolumeClaim": {"claimName": "models"}}],
            )
        )
        docs.append(
            workload(
                "Deployment",
                f"cache-{i}",
                "nim",
                {
                    "name": "server",
                    "image": "registry.example.com/s:1",
                    "volumeMounts": [{"name": "h", "mountPath": "/model-store"}],
                },
                volumes=[{"name": "h", "hostPath": {"path": f"/data/nim/{i}"}}],
            )
        )
    docs.append(
        workload(
            "Deployment",
            "agent",
            "kube-system",
            {"name": "agent", "image": "x", "volumeMounts": [{"name": "d", "mountPath": "/d"}]},
            volumes=[{"name": "d", "hostPath": {"path": "/data"}}],
        )
    )
    return docs


def test_shared_store_edges_grow_linearly(catalogue: Catalogue) -> None:
    """Doubling the workloads on one claim (every writer reaches every loader: n² pairs)
    at most doubles the edges kept; the pairs themselves quadruple."""
    small, large = (AttackGraph(extract(load(*shared_cluster(n))), catalogue) for n in (30, 60))
    assert stored_edges(large) <= 2.1 * stored_edges(small)
    pairs = [
        sum(
            1
            for a, b in g.edges()
            if a.startswith("step:shared-store-code-exec@") and b.startswith("state:exec@")
        )
        for g in (small, large)
    ]
    assert pairs == [30 * 30, 60 * 60]  # each Job reaches each Triton server
