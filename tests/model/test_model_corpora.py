"""Every document of the reference corpora loads; workload counts match an independent walk.

The expected counts come from a deliberately simple, separate reading of the files (plain
``yaml.safe_load_all`` after Helm-style document splitting) and a table of how many pod
templates each kind yields — not from the loader under test.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import shared_path

from attackmap.errors import InputError
from attackmap.model import load

_ONE = {
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
    "Job", "CronJob", "PodTemplate", "NIMCache", "InferenceService",
}  # fmt: skip
_WORKLOAD_GROUPS = {
    "Pod": "v1", "PodTemplate": "v1", "ReplicationController": "v1", "Deployment": "apps/",
    "StatefulSet": "apps/", "DaemonSet": "apps/", "ReplicaSet": "apps/", "Job": "batch/",
    "CronJob": "batch/", "NIMCache": "apps.nvidia.com/", "NIMService": "apps.nvidia.com/",
    "InferenceService": "serving.kserve.io/", "LeaderWorkerSet": "leaderworkerset.x-k8s.io/",
    "MPIJob": "kubeflow.org/",
}  # fmt: skip


def _documents(path: Path) -> Iterator[Any]:
    text = path.read_text(encoding="utf-8")
    for chunk in re.split(r"(?m)^---", text):  # Helm's splitter, tolerant of '---apiVersion'
        for doc in yaml.load_all(chunk, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if (
                isinstance(doc, dict)
                and doc.get("kind") == "List"
                and isinstance(doc.get("items"), list)
            ):
                yield from doc["items"]
            elif doc is not None:
                yield doc


def _pod_templates(doc: Any) -> int:
    if not isinstance(doc, dict):
        return 0
    kind, api = doc.get("kind"), str(doc.get("apiVersion", ""))
    prefix = _WORKLOAD_GROUPS.get(str(kind))
    if prefix is None or not (
        api == prefix
        or api.startswith(prefix)
        or (prefix == "apps/" and api.startswith("extensions/"))
    ):
        return 0
    if kind in _ONE:
        return 1
    spec = doc.get("spec") or {}
    if kind == "NIMService":
        return 2 if spec.get("multiNode") else 1
    if kind == "LeaderWorkerSet":
        return 2 if (spec.get("leaderWorkerTemplate") or {}).get("leaderTemplate") else 1
    if kind == "MPIJob":
        return len(spec.get("mpiReplicaSpecs") or {})
    return 0


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(
        p for p in root.glob(pattern) if p.is_file() and p.suffix in (".yaml", ".yml", ".json")
    )


def _duplicates(path: Path) -> dict[tuple[Any, Any, Any], list[Any]]:
    """The objects defined more than once, with every copy."""
    found: dict[tuple[Any, Any, Any], list[Any]] = {}
    for d in _documents(path):
        if isinstance(d, dict):
            meta = d.get("metadata") or {}
            found.setdefault((d.get("kind"), meta.get("namespace"), meta.get("name")), []).append(d)
    return {k: v for k, v in found.items() if len(v) > 1}


def _distinct_templates(path: Path) -> int:
    """Pod templates of ``path``, identical copies of an object counted once."""
    distinct: list[Any] = []
    for d in _documents(path):
        if d not in distinct:
            distinct.append(d)
    return sum(_pod_templates(d) for d in distinct)


def _check_corpus(files: list[Path]) -> int:
    total = 0
    for f in files:
        expected = sum(_pod_templates(d) for d in _documents(f))
        inv = load(f)
        assert len(inv.workloads) == expected, f
        total += expected
    return total


def test_nim_corpus() -> None:
    files = _files(shared_path("corpus", "nim"), "*.yaml")
    assert len(files) >= 100
    total = _check_corpus(files)
    assert total > 80
    skipped = {s.kind for f in files for s in load(f).skipped}
    assert skipped >= {"ClusterServingRuntime", "ServiceMonitor", "HorizontalPodAutoscaler", None}


def test_kubehound_corpus() -> None:
    files = _files(shared_path("corpus", "kubehound"), "*.yaml")
    assert _check_corpus(files) >= len(files) - 8


def test_kubescape_corpus() -> None:
    files = _files(shared_path("corpus", "kubescape"), "*/*/input/*")
    assert len(files) > 400
    workload_copies = 0
    for f in files:
        duplicates = _duplicates(f)
        if any(not _pod_templates(copies[0]) for copies in duplicates.values()):
            # a few fixtures list alternative versions of the *same* object in one file;
            # for an object that is not a workload (a Role...) that is an error, as the
            # loader says; Kubescape evaluates them one by one, so do we.
            with pytest.raises(InputError, match="duplicate object"):
                load(f)
            for i, doc in enumerate(_documents(f)):
                assert len(load(doc).workloads) == _pod_templates(doc), (f, i)
        elif duplicates:
            # versions of one workload: each distinct copy is a workload of its own, named
            # by its document (docs/model.md, "Objects defined twice")
            inv = load(f)
            assert len(inv.workloads) == _distinct_templates(f), f
            differing = {
                (k, n) for (k, _, n), copies in duplicates.items() if copies[1:] != copies[:-1]
            }
            assert {(w.ref.kind, w.ref.name) for w in inv.workloads if w.ref.origin} == differing
            workload_copies += 1
        else:
            expected = sum(_pod_templates(d) for d in _documents(f))
            assert len(load(f).workloads) == expected, f
    assert workload_copies > 0  # the corpus holds such files: the branch is exercised


def test_pss_conformance_fixtures() -> None:
    root = shared_path("conformance", "pss")
    with (root / "INDEX.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    errors = 0
    for row in rows:
        f = root / row["file"]
        try:
            inv = load(f)
        except InputError:
            assert row["fail_requires_api_error"], f  # only API-invalid fixtures may fail
            errors += 1
            continue
        assert len(inv.workloads) == sum(_pod_templates(d) for d in _documents(f)), f
    assert len(rows) > 4000


def test_nim_default_chart_facts() -> None:
    inv = load(shared_path("corpus", "nim", "nim-deploy-default.yaml"), namespace="nim")
    (w,) = inv.workloads
    assert str(w.ref) == "StatefulSet/nim/my-nim"
    assert [g.route for g in w.pod.gpu_access] == ["resource"]
    (c,) = w.pod.containers
    ngc = next(e for e in c.env if e.name == "NGC_API_KEY")
    assert (ngc.source, ngc.ref_name) == ("secret", "ngc-api")
    dshm = next(v for v in w.pod.volumes if v.medium == "Memory")
    assert dshm.type == "emptyDir" and dshm.size_limit is None
    assert w.service_account is not None
    assert (w.service_account.ref.name, w.service_account.automount) == ("default", True)
    assert w.exposure.level == "cluster"
    assert {r.service_type for r in w.exposure.routes} == {"ClusterIP"}
    assert (
        w.source.helm_source == "nim-llm/templates/statefulset.yaml"
        or w.source.helm_source is not None
    )


def test_nim_loadbalancer_ingress_is_external() -> None:
    inv = load(
        shared_path("corpus", "nim", "nim-deploy-loadbalancer-ingress.yaml"), namespace="nim"
    )
    assert [w.exposure.level for w in inv.workloads] == ["external"]


def test_nim_service_rendered_like_the_operator() -> None:
    """The NIMService sample renders to what operator-rendered-basic-llm.yaml shows."""
    nim = shared_path("corpus", "nim")
    cr = load(nim / "operator-serving-standalone-basic-llm.yaml").workload(
        "NIMService/nim-service/meta-llama-3-2-1b-instruct"
    )
    hand = load(nim / "operator-rendered-basic-llm.yaml").workload(
        "Deployment/nim-service/meta-llama-3-2-1b-instruct"
    )
    assert cr is not None and hand is not None
    assert [str(r) for r in cr.owner_chain][:2] == [
        "NIMService/nim-service/meta-llama-3-2-1b-instruct",
        "Deployment/nim-service/meta-llama-3-2-1b-instruct",
    ]
    (a,), (b,) = cr.pod.containers, hand.pod.containers
    for field in (
        "run_as_user",
        "run_as_group",
        "privileged",
        "capabilities",
        "ports",
        "volume_mounts",
        "resources",
        "allow_privilege_escalation",
    ):
        assert getattr(a, field) == getattr(b, field), field
    assert sorted(e.name for e in a.env) == sorted(e.name for e in b.env)
    # the sample also creates the NIMCache PVC, so its access mode is linked in; the
    # hand rendering omits the NIMCache objects
    assert [v.model_copy(update={"access_modes": ()}) for v in cr.pod.volumes] == list(
        hand.pod.volumes
    )
    assert cr.pod.fs_group == hand.pod.fs_group == 2000
    assert cr.pod.service_account_name == hand.pod.service_account_name
    assert cr.exposure.level == hand.exposure.level == "cluster"
    assert cr.service_account is not None and hand.service_account is not None
    assert [r.resource_names for r in cr.service_account.permissions] == [("nonroot",)]
    assert {r.kind for r in cr.rendered} == {
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
    }


def test_nim_service_hostpath_loadbalancer_matches_hand_rendering() -> None:
    nim = shared_path("corpus", "nim")
    hand_file = nim / "operator-rendered-hostpath-loadbalancer.yaml"
    header = "\n".join(
        line[4:] for line in hand_file.read_text().splitlines() if line.startswith("#   ")
    )
    cr_text = header[header.index("apiVersion:") :]
    (cr,) = load(cr_text).workloads
    hand = load(hand_file).workload("Deployment/nim-service/llama-hostpath-lb")
    assert hand is not None
    assert cr.pod.volumes == hand.pod.volumes
    assert cr.pod.containers[0].ports == hand.pod.containers[0].ports
    assert cr.exposure.level == hand.exposure.level == "external"
