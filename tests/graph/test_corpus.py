"""The graph on real manifests: KubeHound's attack fixtures, NVIDIA NIM deployments, the
GPU Operator's operands and Kubescape's rule inputs (all under ``../shared/corpus``).

KubeHound's ``INDEX.tsv`` names the edge each fixture must produce. The tests here pin
the exact final steps from an ``image`` foothold; the verdict of every KubeHound pod and
every Kubescape rule fixture, with the disagreements and their reasons, is measured by
``test_peer_cases.py`` (data: ``mappings/peer-cases.yaml``, rendered in docs/coverage.md).

* ``CE_NET_MITM`` (NET_ADMIN): upstream has no such edge ("not found"). NET_ADMIN acts on
  the pod's own network namespace, not the host's: attackmap finds no T1611 for it.
* ``ENDPOINT_EXPLOIT``: upstream's T1210 is not a Containers technique; the pod is
  privileged with hostPID, so attackmap reaches T1611 from it.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pytest

from attackmap.errors import AttackmapError
from attackmap.graph import Report, WorkloadAnalysis, analyze

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpus"
KUBEHOUND = CORPUS / "kubehound"
NIM = CORPUS / "nim"

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"reference corpus not available: {CORPUS} (../shared absent)"
)


@functools.cache
def run(path: Path, entries: tuple[str, ...] = ("image",)) -> Report:
    return analyze(path, entries=list(entries))


def index() -> list[dict[str, str]]:
    if not KUBEHOUND.is_dir():
        return []
    with (KUBEHOUND / "INDEX.tsv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def final_steps(w: WorkloadAnalysis, technique: str) -> set[str]:
    finding = w.finding(technique)
    return {p.steps[-1].id for p in finding.paths} if finding else set()


# -- KubeHound ---------------------------------------------------------------------------

ESCAPES = {
    # fixture -> the step that must reach T1611 for it (upstream's edge)
    "CE_MODULE_LOAD.yaml": {"escape-module-load"},
    "CE_NSENTER.yaml": {"escape-nsenter"},
    "CE_PRIV_MOUNT.yaml": {"escape-privileged-mount"},
    "CE_SYS_PTRACE.yaml": {"escape-ptrace-host"},
    "CE_UMH_CORE_PATTERN.yaml": {"escape-core-pattern"},
    "CE_VAR_LOG_SYMLINK.yaml": {"escape-var-log-symlink"},
    "EXPLOIT_HOST_READ_TRAVERSE.yaml": {"escape-host-read"},
    "EXPLOIT_HOST_WRITE.yaml": {"escape-host-write"},
}


def test_index_escapes_are_all_covered() -> None:
    rows = index()
    marked = {
        r["file"]
        for r in rows
        if r["expected_edge"].startswith(("CE_", "EXPLOIT_HOST_"))
        and "T1611" in r["expected_attack_technique"]
    }
    assert marked == set(ESCAPES)


@pytest.mark.parametrize("fixture", sorted(ESCAPES))
def test_kubehound_escape_reaches_t1611(fixture: str) -> None:
    rep = run(KUBEHOUND / fixture)
    (w,) = rep.workloads
    found = final_steps(w, "T1611")
    assert ESCAPES[fixture] <= found, found


def test_net_mitm_is_not_an_escape() -> None:
    (w,) = run(KUBEHOUND / "CE_NET_MITM.yaml").workloads
    assert "T1611" not in w.technique_ids()


def test_control_pod_reaches_only_what_any_default_pod_does() -> None:
    """Upstream: zero edges. attackmap: no escape, no API rights beyond discovery of its
    own permissions; what remains follows from Kubernetes defaults, each justified."""
    (w,) = run(KUBEHOUND / "CONTROL_POD.yaml").workloads
    justified = {
        "T1204.003": {"malicious-image"},  # the entry itself
        "T1528": {"steal-sa-token"},  # token automounted by default
        "T1550.001": {"use-sa-token"},
        "T1069": {"permission-discovery"},  # SelfSubjectRulesReview needs no rights
        "T1046": {"network-discovery"},  # no egress NetworkPolicy
        "T1496.002": {"bandwidth-hijack"},
        "T1498": {"network-dos"},
        "T1499": {"endpoint-dos"},  # no resource limits
        "T1036.005": {"container-implant-program"},  # readOnlyRootFilesystem not set
    }
    assert set(w.technique_ids()) == set(justified)
    for tid, steps in justified.items():
        assert final_steps(w, tid) == steps, tid


RBAC_EXPECT = {
    "POD_EXEC.yaml": {"T1609": "exec-into-pod"},
    "POD_PATCH.yaml": {"T1609": "patch-workload"},
    "POD_CREATE.yaml": {"T1610": "deploy-pod"},
    "TOKEN_LIST.yaml": {"T1552.007": "api-read-secrets", "T1528": "steal-sa-token"},
    "TOKEN_BRUTEFORCE.yaml": {"T1552.007": "api-read-secrets", "T1528": "steal-sa-token"},
}


@pytest.mark.parametrize("fixture", sorted(RBAC_EXPECT))
def test_kubehound_rbac_edges(fixture: str) -> None:
    (w,) = run(KUBEHOUND / fixture).workloads
    for tid, step in RBAC_EXPECT[fixture].items():
        assert step in final_steps(w, tid), (tid, w.technique_ids())


ROLE_BIND_FILES = sorted(
    f"ROLE_BIND_{n}.yaml" for n in ("CRB_CR", "RB_CR-SA", "RB_R-SA", "RB_R-UG", "ALL")
)


@pytest.mark.parametrize("fixture", ROLE_BIND_FILES)
def test_kubehound_role_bind(fixture: str) -> None:
    """Exploitable bindings reach T1098.006; the ``-fail`` variants (a RoleBinding cannot
    grant ClusterRoleBinding creation; a ClusterRoleBinding cannot refer to a Role) do not."""
    for w in run(KUBEHOUND / fixture).workloads:
        name = w.ref.name
        reached = "T1098.006" in w.technique_ids()
        if name.startswith("rolebind-pod-"):
            assert reached != name.endswith("-fail"), (name, w.technique_ids())
        else:
            assert not reached, name
        # Only cluster-wide binding rights give cluster-admin (and with it T1611) by the
        # workload's own binding; admin of a namespace may then act as a more powerful
        # ServiceAccount of it, whose own binding step is another workload's (issue 17).
        cluster_wide = name in ("rolebind-pod-crb-cr-crb-cr", "rolebind-pod-crb-cr-rb-cr")
        finding = w.finding("T1098.006")
        own = {
            p.steps[-1].id
            for p in (finding.paths if finding else ())
            if p.steps[-1].workload == str(w.ref)
        }
        assert ("bind-cluster-role" in own) == cluster_wide, name


# -- NIM -----------------------------------------------------------------------------------


def test_nim_default() -> None:
    path = NIM / "nim-deploy-default.yaml"
    (cluster,) = run(path, ("cluster",)).workloads
    assert final_steps(cluster, "T1190") == {"exploit-cluster-service"}
    (external,) = run(path, ("external",)).workloads
    assert "T1190" not in external.technique_ids()  # ClusterIP only
    assert external.technique_ids() == ()
    (image,) = run(path, ("image",)).workloads
    assert "env-credentials" in final_steps(image, "T1552.001")  # NGC_API_KEY
    assert "steal-sa-token" in final_steps(image, "T1528")  # default SA token
    assert "gpu-compute-hijack" in final_steps(image, "T1496.001")
    assert "endpoint-dos" in final_steps(image, "T1499")
    endpoint = next(p for p in image.finding("T1499").paths)  # type: ignore[union-attr]  # asserted above
    facts = {f.fact for s in endpoint.steps for f in s.facts}
    assert "shm:unbounded" in facts  # /dev/shm Memory emptyDir without sizeLimit
    assert "T1611" not in image.technique_ids()


def test_nim_loadbalancer_is_public() -> None:
    (w,) = run(NIM / "nim-deploy-loadbalancer-ingress.yaml", ("external",)).workloads
    assert final_steps(w, "T1190") == {"exploit-external-service"}


GPU_OPERANDS = sorted(p.name for p in NIM.glob("gpu-operator-state-*daemonset.yaml"))


@pytest.mark.parametrize("fixture", GPU_OPERANDS)
def test_gpu_operator_operands_escape_by_several_vectors(fixture: str) -> None:
    for w in run(NIM / fixture).workloads:
        vectors = final_steps(w, "T1611")
        assert {"escape-privileged-mount", "escape-module-load"} <= vectors, vectors
        assert len(vectors) >= 4, vectors


def test_gpu_operator_host_pid_operands_nsenter() -> None:
    for name in ("container-toolkit", "driver"):
        (w,) = run(NIM / f"gpu-operator-state-{name}-0500_daemonset.yaml").workloads
        assert "escape-nsenter" in final_steps(w, "T1611")


# -- every document analyses ------------------------------------------------------------


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    files = sorted((NIM).glob("*.yaml")) + sorted(KUBEHOUND.glob("*.yaml"))
    files += sorted(p for p in (CORPUS / "kubescape").rglob("*") if p.suffix in (".yaml", ".json"))
    return files


@pytest.mark.parametrize(
    "path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)) if CORPUS.is_dir() else ""
)
def test_corpus_file_analyses(path: Path) -> None:
    """Every file analyses, or is refused with an AttackmapError (never another exception)."""
    try:
        rep = analyze(path)
    except AttackmapError as e:
        assert e.path is not None or e.message, e
        return
    assert rep.to_json()
