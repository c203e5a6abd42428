"""Every control listed in ``broken_by`` is proven: applying it to the manifests and
re-analysing removes the path.

The proof is exact at the level of step instances (``<step>@<scope>``): a path survives a
control only if every one of its step instances still exists in the re-analysed graph, so
a proven control leaves at least one of them without an instance. Each distinct
(workload, control) is applied once and checked against every path that lists it.

Sampled: the whole KubeHound corpus, the GPU Operator operands and a fixed set of NIM
deployments (chart defaults, hostPath, LoadBalancer, operator-rendered, multi-node),
plus the per-step manifests of ``manifests/steps`` and Hypothesis-generated pods.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attackmap.errors import AttackmapError
from attackmap.graph import Report, analyze

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpus"
STEPS = Path(__file__).resolve().parent / "manifests" / "steps"
PROOFS = Path(__file__).resolve().parent / "manifests" / "proofs"

NIM_SAMPLE = (
    "nim-deploy-default.yaml",
    "nim-deploy-hostpath.yaml",
    "nim-deploy-loadbalancer-ingress.yaml",
    "nim-deploy-multinode-lws.yaml",
    "operator-rendered-basic-llm.yaml",
    "operator-rendered-hostpath-loadbalancer.yaml",
    "gpu-operator-state-driver-0500_daemonset.yaml",
    "gpu-operator-state-device-plugin-0500_daemonset.yaml",
)


def unproven(report: Report) -> list[str]:
    """Every (path, control) where applying the control leaves all the path's step
    instances in place, as readable strings (empty: everything is proven)."""
    claims: dict[tuple[str, str], list[tuple[str, ...]]] = defaultdict(list)
    for w in report.workloads:
        for t in w.techniques:
            for p in t.paths:
                instances = tuple(f"{s.id}@{s.scope}" for s in p.steps)
                for control in p.broken_by:
                    claims[(str(w.ref), control)].append(instances)
    failures: list[str] = []
    checked = 0
    for (workload, control), paths in sorted(claims.items()):
        after = report.apply([control])
        analyzer = after._analyzer
        assert analyzer is not None
        alive = analyzer.graph.instances
        for instances in paths:
            checked += 1
            if all(i in alive for i in instances):
                failures.append(f"{workload}: {control} does not break {' > '.join(instances)}")
    assert checked == sum(len(v) for v in claims.values())
    return failures


def count_claims(report: Report) -> int:
    return sum(len(p.broken_by) for w in report.workloads for t in w.techniques for p in t.paths)


def corpus(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference corpus not available: {path} (../shared absent)")
    return path


def kubehound_files() -> list[Any]:
    folder = CORPUS / "kubehound"
    if not folder.is_dir():  # one skipped case with the reason, not an empty parameter set
        reason = f"reference corpus not available: {folder} (../shared absent)"
        return [pytest.param("absent", marks=pytest.mark.skip(reason=reason))]
    return sorted(p.name for p in folder.glob("*.yaml"))


@pytest.mark.parametrize("name", kubehound_files())
def test_kubehound_broken_by_is_proven(name: str) -> None:
    rep = analyze(corpus("kubehound", name))
    assert unproven(rep) == []
    if rep.workloads:
        assert count_claims(rep) > 0  # the property is not vacuous


@pytest.mark.parametrize("name", NIM_SAMPLE)
def test_nim_broken_by_is_proven(name: str) -> None:
    assert unproven(analyze(corpus("nim", name))) == []


def test_kubescape_sample_broken_by_is_proven() -> None:
    root = corpus("kubescape")
    sample = sorted(root.glob("*/*/input/*.yaml"))[::10]
    assert sample
    for path in sample:
        try:
            rep = analyze(path)
        except AttackmapError:  # rejected inputs are covered by test_corpus
            continue
        assert unproven(rep) == [], path


@pytest.mark.parametrize("step", sorted(p.name for p in STEPS.iterdir() if p.is_dir()))
def test_step_manifests_broken_by_is_proven(step: str) -> None:
    import yaml

    opts_path = STEPS / step / "options.yaml"
    opts: dict[str, Any] = yaml.safe_load(opts_path.read_text()) if opts_path.exists() else {}
    opts.pop("quiet", None)
    for fires in sorted((STEPS / step).glob("fires*.yaml")):
        assert unproven(analyze(fires, **opts)) == [], fires.name


# -- review fixtures: controls whose declared effect used to differ from their patch ------


def claims_by_final_step(rep: Report, workload: str) -> dict[str, set[str]]:
    """final step id -> every control claimed by a path ending there."""
    out: dict[str, set[str]] = defaultdict(set)
    for w in rep.workloads:
        if str(w.ref) != workload:
            continue
        for t in w.techniques:
            for p in t.paths:
                out[p.steps[-1].id].update(c.split("@")[0] for c in p.broken_by)
    return out


@pytest.mark.parametrize("name", sorted(p.name for p in PROOFS.glob("*.yaml")))
def test_review_fixture_broken_by_is_proven(name: str) -> None:
    rep = analyze(PROOFS / name)
    assert count_claims(rep) > 0
    assert unproven(rep) == []


def test_isolate_ingress_not_claimed_over_a_permissive_policy() -> None:
    rep = analyze(PROOFS / "permissive-netpol.yaml")
    web = claims_by_final_step(rep, "Deployment/app/web")
    assert "internal-service-only" in web["exploit-external-service"]
    # never on web itself (its paths may go on to the open pod, where it is proven)
    claimed = {c for w in rep.workloads for t in w.techniques for p in t.paths for c in p.broken_by}
    assert "isolate-ingress@Deployment/app/web" not in claimed
    assert "isolate-ingress@Deployment/other/open" in claimed
    # a pod no policy selects still gets it, and it is proven above
    other = claims_by_final_step(rep, "Deployment/other/open")
    assert "isolate-ingress" in other["exploit-cluster-service"]


def test_dedicated_service_account_keeps_group_rights() -> None:
    rep = analyze(PROOFS / "group-rbac.yaml")
    web = claims_by_final_step(rep, "Deployment/app/web")
    assert "dedicated-service-account" in web["exec-into-pod"]
    assert "dedicated-service-account" not in web["api-read-secrets"]
    assert "disable-token-automount" in web["api-read-secrets"]


def test_ephemeral_containers_are_patched() -> None:
    rep = analyze(PROOFS / "ephemeral.yaml")
    e = claims_by_final_step(rep, "Pod/app/e")
    assert "unprivileged" in e["escape-privileged-mount"]
    after = rep.apply(["unprivileged@Pod/app/e", "remove-hostpath:/var/log@Pod/app/e"])._analyzer
    assert after is not None
    assert not [i for i in after.graph.instances if i.startswith("escape-")]


def test_projected_token_needs_its_volume_removed() -> None:
    rep = analyze(PROOFS / "projected-token.yaml")
    p = claims_by_final_step(rep, "Pod/app/p")
    assert "disable-token-automount" in p["steal-sa-token"]
    after = rep.apply(["disable-token-automount@Pod/app/p"])._analyzer
    assert after is not None
    assert "steal-sa-token@Pod/app/p[c]" not in after.graph.instances


def test_no_privilege_escalation_skips_containers_that_refuse_it() -> None:
    rep = analyze(PROOFS / "forced-escalation.yaml")
    f = claims_by_final_step(rep, "Pod/app/f")
    assert "escape-sys-admin-mount" in f
    assert all("no-privilege-escalation" not in controls for controls in f.values())
    analyzer = rep._analyzer
    assert analyzer is not None
    (wf,) = analyzer.fb.workloads
    facts = {c.name: c.facts for c in wf.containers}
    assert "allow_privilege_escalation:forced" in facts["literal"]
    assert "allow_privilege_escalation" in facts["short"]


def test_enforce_baseline_keeps_a_restricted_namespace() -> None:
    rep = analyze(PROOFS / "restricted-namespace.yaml")
    ci = claims_by_final_step(rep, "Deployment/loose/ci")
    assert "enforce-baseline-namespaces" in ci["deploy-privileged-pod"]
    after = rep.apply(["enforce-baseline-namespaces@Deployment/loose/ci"])._analyzer
    assert after is not None
    labels = {str(n.ref.name): n.labels for n in after.inventory.namespaces}
    assert labels["secure"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["secure"]["pod-security.kubernetes.io/enforce-version"] == "v1.30"
    assert labels["loose"]["pod-security.kubernetes.io/enforce"] == "baseline"


# -- generated pods ------------------------------------------------------------------------

CAPS = ("SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "DAC_READ_SEARCH", "BPF", "NET_ADMIN")
HOST_PATHS = ("/", "/etc", "/var/log", "/var/lib/kubelet/pods", "/proc/sys", "/opt/data")


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    sc: dict[str, Any] = {}
    if draw(st.booleans()):
        sc["privileged"] = draw(st.booleans())
    caps: list[str] = draw(st.lists(st.sampled_from(CAPS), max_size=2, unique=True))
    add_caps: bool = draw(st.booleans())
    if caps or add_caps:
        sc["capabilities"] = {"add": caps}
        if draw(st.booleans()):
            sc["capabilities"]["drop"] = ["ALL"]
    if draw(st.booleans()):
        sc["runAsUser"] = draw(st.sampled_from([0, 1000]))
    if draw(st.booleans()):
        sc["allowPrivilegeEscalation"] = draw(st.booleans())
    seccomp = draw(st.sampled_from([None, "RuntimeDefault", "Unconfined"]))
    if seccomp:
        sc["seccompProfile"] = {"type": seccomp}
    apparmor = draw(st.sampled_from([None, "RuntimeDefault", "Unconfined"]))
    if apparmor:
        sc["appArmorProfile"] = {"type": apparmor}
    container: dict[str, Any] = {"name": "app", "image": "nvcr.io/nim/x:1", "securityContext": sc}
    spec: dict[str, Any] = {"containers": [container]}
    paths = draw(st.lists(st.sampled_from(HOST_PATHS), max_size=2, unique=True))
    if paths:
        spec["volumes"] = [{"name": f"h{i}", "hostPath": {"path": p}} for i, p in enumerate(paths)]
        container["volumeMounts"] = [
            {"name": f"h{i}", "mountPath": f"/h{i}", "readOnly": draw(st.booleans())}
            for i in range(len(paths))
        ]
    if draw(st.booleans()):
        spec["hostPID"] = True
    if draw(st.booleans()):
        spec["automountServiceAccountToken"] = draw(st.booleans())
    if draw(st.booleans()):
        container["resources"] = {"limits": {"nvidia.com/gpu": 1, "cpu": "1", "memory": "1Gi"}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "gen", "namespace": "nim"},
        "spec": spec,
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(pods())
def test_generated_pods_broken_by_is_proven(pod: dict[str, Any]) -> None:
    assert unproven(analyze(pod, entries=["image"])) == []


def test_an_unrelated_control_leaves_the_path() -> None:
    """The check can fail: a control that is not in broken_by keeps the instances alive."""
    rep = analyze(STEPS / "escape-privileged-mount" / "fires.yaml", entries=["image"])
    (w,) = rep.workloads
    finding = w.finding("T1611")
    assert finding is not None
    path = next(p for p in finding.paths if p.steps[-1].id == "escape-privileged-mount")
    control = f"shm-size-limit@{w.ref}"
    assert control not in path.broken_by
    assert f"unprivileged@{w.ref}" in path.broken_by
    after = rep.apply([control])._analyzer
    assert after is not None
    assert all(f"{s.id}@{s.scope}" in after.graph.instances for s in path.steps)
    fixed = rep.apply([f"unprivileged@{w.ref}"])._analyzer
    assert fixed is not None
    assert not all(f"{s.id}@{s.scope}" in fixed.graph.instances for s in path.steps)


def test_cluster_controls_are_proven_with_a_context_argument() -> None:
    """A ClusterContext given as ``context=`` (the CLI's --context) is patched too."""
    gpu_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "a"},
        "spec": {
            "containers": [
                {"name": "c", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}}
            ]
        },
    }
    context = {
        "apiVersion": "attackmap/v1",
        "kind": "ClusterContext",
        "metadata": {"name": "c"},
        "spec": {"nvidia": {"containerToolkit": "1.16.1"}},
    }
    rep = analyze(gpu_pod, context=context, entries=["image"])
    claims = claims_by_final_step(rep, "Pod/a/p")
    assert "upgrade-nvidia-container-toolkit" in claims["nvidia-toolkit-cve-image"]
    assert unproven(rep) == []


def test_a_gateway_route_exposes_through_any_allowed_peer() -> None:
    rep = analyze(PROOFS / "gateway-route.yaml")
    web = claims_by_final_step(rep, "Deployment/app/web")
    assert "internal-service-only" in web["exploit-external-service"]
    assert "isolate-ingress" not in web["exploit-external-service"]


def test_deploy_takes_the_token_of_an_unused_service_account() -> None:
    rep = analyze(PROOFS / "unused-admin-service-account.yaml")
    steps = {
        f"{s.id}@{s.scope}"
        for w in rep.workloads
        for t in w.techniques
        for p in t.paths
        for s in p.steps
    }
    assert "use-sa-token@ServiceAccount/app/admin" in steps
    assert "T1098.006" in rep.workloads[0].technique_ids()


def test_cni_policies_and_istio_routes_are_claimed_and_proven() -> None:
    rep = analyze(PROOFS / "cni-istio.yaml")
    web = claims_by_final_step(rep, "Deployment/app/web")
    assert web["exploit-external-service"] == {"internal-service-only"}  # the VirtualService
    llm = claims_by_final_step(rep, "Deployment/nim/llm")
    assert "exploit-external-service" not in llm and "exploit-cluster-service" in llm
    ssh = claims_by_final_step(rep, "Pod/hpc/ssh")
    assert ssh["external-remote-service"] == {"internal-service-only"}
    assert any("HTTP match (L7) not modelled" in w for w in rep.warnings)
