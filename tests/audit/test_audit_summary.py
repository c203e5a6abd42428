"""``analyze_audit``: Pod Security per workload, API use and proposals per principal,
techniques evidenced; plus the extraction helpers it relies on."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from attackmap.audit import (
    AuditSummary,
    analyze_audit,
    pod_security,
    propose_rbac,
    read,
    workload_of,
)
from attackmap.pss import CHECKS, evaluate

DATA = Path(__file__).parent / "data"
CLUSTER = DATA / "cluster.jsonl"
REASONS = {c.id: set(c.reasons) for c in CHECKS}


@pytest.fixture(scope="module")
def summary() -> AuditSummary:
    return analyze_audit(read(CLUSTER))


def event_line(n: int) -> dict[str, Any]:
    return json.loads(CLUSTER.read_text().splitlines()[n - 1])


def one_event(obj: dict[str, Any]) -> Any:
    return next(iter(read(io.BytesIO(json.dumps(obj).encode()))))


# --------------------------------------------------------------------------- Pod Security


def test_sample_violations_parse_back_to_their_check_ids(shared_dir: Path) -> None:
    path = shared_dir / "reference" / "audit-sample.jsonl"
    summary = analyze_audit(read(path))
    deployment = summary.workload("Deployment/nim/llama3-8b-instruct")
    debug = summary.workload("Pod/nim/nim-debug")
    assert deployment is not None and debug is not None
    for w in (deployment, debug):
        for v in w.violations:
            assert v.reason in REASONS[v.check], v  # the check that produces this reason
    assert {v.check for v in deployment.violations} == {
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "runAsNonRoot",
        "seccompProfile_restricted",
    }
    assert sorted(v.check for v in debug.violations if v.mode == "enforce") == [
        "hostNamespaces",
        "hostPathVolumes",
        "privileged",
    ]
    assert deployment.required_level == "baseline" and debug.required_level == "privileged"
    # every reason string in the raw log is accounted for
    texts = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        texts += [*event["annotations"].values(), event["responseStatus"].get("message", "")]
    raw = "\n".join(texts)
    for w in (deployment, debug):
        for v in w.violations:
            assert f"{v.reason} ({v.detail})" in raw


@pytest.mark.parametrize(
    "spec",
    [
        {"hostNetwork": True, "containers": [{"name": "a", "image": "i"}]},
        {
            "securityContext": {"sysctls": [{"name": "net.core.somaxconn", "value": "1"}]},
            "containers": [
                {
                    "name": "a",
                    "image": "i",
                    "ports": [{"containerPort": 80, "hostPort": 80}],
                    "securityContext": {
                        "privileged": True,
                        "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]},
                        "procMount": "Unmasked",
                        "seLinuxOptions": {"type": "spc_t"},
                        "seccompProfile": {"type": "Unconfined"},
                        "runAsUser": 0,
                    },
                },
                {"name": "b, (tricky)", "image": "i", "securityContext": {"runAsNonRoot": False}},
            ],
            "volumes": [{"name": "h", "hostPath": {"path": "/var/run"}}, {"name": "n", "nfs": {}}],
        },
        {
            "containers": [
                {
                    "name": "a",
                    "image": "i",
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "runAsNonRoot": True,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                }
            ]
        },
    ],
)
def test_violations_round_trip_through_the_audit_log(spec: dict[str, Any]) -> None:
    """What the evaluator reports, written as the API server writes it, reads back exactly."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "nim"}}
    pod["spec"] = spec
    audit = evaluate(pod, "restricted", "latest")
    enforce = evaluate(pod, "baseline", "v1.30")
    event = event_line(23)
    event["apiVersion"] = "audit.k8s.io/v1"
    event["objectRef"]["name"] = "p"
    event["requestObject"] = pod
    if not audit.allowed:  # the API server omits the annotation when nothing is violated
        event["annotations"]["pod-security.kubernetes.io/audit-violations"] = (
            "would " + audit.message
        )
    if enforce.allowed:
        event["responseStatus"] = {"metadata": {}, "code": 201}
    else:
        event["responseStatus"]["message"] = f'pods "p" is forbidden: {enforce.message}'
    summary = analyze_audit(read(io.BytesIO(json.dumps(event).encode())))
    workload = summary.workload("Pod/nim/p")
    assert workload is not None
    got = [(v.check, v.containers) for v in workload.violations if v.mode == "audit"]
    assert sorted(got) == sorted((v.check, v.containers) for v in audit.violations)
    got = [(v.check, v.containers) for v in workload.violations if v.mode == "enforce"]
    assert sorted(got) == sorted((v.check, v.containers) for v in enforce.violations)


def test_webhook_prefixed_keys_count_only_with_pod_security_values() -> None:
    record = pod_security(one_event(event_line(14)))
    assert record is not None
    assert record.enforce_policy == "baseline:v1.29"  # "other-webhook.../enforce-policy" ignored
    assert record.audit_policy == "restricted:v1.29"
    event = event_line(14)
    event["annotations"] = {"my-webhook.example.com/audit-violations": "3 findings"}
    assert pod_security(one_event(event)) is None
    event["annotations"] = {"psa.example.com/pod-security.kubernetes.io/exempt": "user"}
    record = pod_security(one_event(event))
    assert record is not None and record.exempt == "user"


def test_workload_attribution(summary: AuditSummary) -> None:
    # ReplicaSet-owned pod -> Deployment (pod-template-hash stripped), its SA from the spec
    deployment = summary.workload("Deployment/nim/nim-privileged")
    assert deployment is not None
    assert deployment.service_account == "system:serviceaccount:nim:nim-llm"
    assert deployment.enforce_policies == ("privileged:latest",)
    assert deployment.required_level == "privileged"
    assert {"privileged", "hostNamespaces"} <= {v.check for v in deployment.violations}
    # DaemonSet-owned pod, exempt by namespace
    driver = summary.workload("DaemonSet/gpu-operator/nvidia-driver-daemonset")
    assert driver is not None and driver.exemptions == ("namespace",)
    # the SA lists the workloads running as it
    sa = summary.principal("system:serviceaccount:nim:nim-llm")
    assert sa is not None and sa.workloads == ("Deployment/nim/nim-privileged",)
    # subresource requests are not about a workload
    assert workload_of(one_event(event_line(7))) is None


def test_extra_workload_mapping_is_merged() -> None:
    refs = {"system:serviceaccount:monitoring:prometheus": ["Deployment/monitoring/prometheus"]}
    summary = analyze_audit(read(CLUSTER), workloads=refs)
    prometheus = summary.principal("system:serviceaccount:monitoring:prometheus")
    assert prometheus is not None and prometheus.workloads == ("Deployment/monitoring/prometheus",)


# --------------------------------------------------------------------------- API use and RBAC


def test_requests_denials_and_impersonation(summary: AuditSummary) -> None:
    sa = summary.principal("system:serviceaccount:nim:nim-llm")
    assert sa is not None
    uses = {(r.namespace, r.resource, r.verb): r.count for r in sa.requests}
    # lines 1-2 (one request) + line 22 (alice impersonating the SA); the watch once
    assert uses == {("nim", "configmaps", "get"): 2, ("nim", "configmaps", "watch"): 1,
                    ("nim", "secrets", "get"): 1}  # fmt: skip
    assert sa.impersonated_by == ("alice@example.com",)
    assert [(d.kind, d.namespace, d.resource, d.verb) for d in sa.denials] == [
        ("rbac", "kube-system", "secrets", "list")
    ]
    assert ("kube-system", "secrets", "list") not in uses  # denied requests are not granted
    alice = summary.principal("alice@example.com")
    assert alice is not None
    assert [(d.kind, d.reason) for d in alice.denials] == [("pod-security", "baseline:v1.28")]
    # discovery (/apis, /version) is skipped
    assert summary.skipped_requests == 2
    assert not any(r.resource == "" for p in summary.principals for r in p.requests)


def test_proposal_for_a_service_account(summary: AuditSummary) -> None:
    sa = summary.principal("system:serviceaccount:nim:nim-llm")
    assert sa is not None
    role, binding = sa.proposal
    assert role["kind"] == "Role" and role["metadata"] == {
        "name": "attackmap:nim:nim-llm",
        "namespace": "nim",
    }
    # watch expands to get, list, watch; get and watch on configmaps merge into one rule
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
    ]
    assert binding["kind"] == "RoleBinding"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "nim-llm", "namespace": "nim"}
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "attackmap:nim:nim-llm",
    }


def test_cluster_wide_and_cluster_scoped_use_needs_a_cluster_role(summary: AuditSummary) -> None:
    prom = summary.principal("system:serviceaccount:monitoring:prometheus")
    assert prom is not None
    kinds = [(o["kind"], o["metadata"].get("namespace")) for o in prom.proposal]
    assert kinds == [
        ("ClusterRole", None),
        ("ClusterRoleBinding", None),
        ("Role", "nim"),
        ("RoleBinding", "nim"),
    ]
    cluster_role = prom.proposal[0]
    assert cluster_role["rules"] == [
        {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    ]


def test_builtin_identities_get_no_proposal() -> None:
    assert propose_rbac("system:node:gpu-node-1", [("", "", "nodes", "get")]) == []
    assert propose_rbac("system:kube-scheduler", [("", "", "pods", "list")]) == []
    assert propose_rbac("alice@example.com", []) == []
    user = propose_rbac("alice@example.com", [("nim", "apps", "deployments", "patch")])
    assert user[1]["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice@example.com"}
    ]


def test_proposal_is_deterministic() -> None:
    requests = [
        ("nim", "apps", "deployments", "patch"),
        ("nim", "", "pods", "get"),
        ("nim", "", "services", "get"),
        ("default", "", "pods", "watch"),
    ]
    a = propose_rbac("system:serviceaccount:nim:x", requests)
    b = propose_rbac("system:serviceaccount:nim:x", list(reversed(requests)))
    assert json.dumps(a) == json.dumps(b)
    assert [o["metadata"]["namespace"] for o in a] == ["default", "default", "nim", "nim"]
    assert a[2]["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
    ]


# --------------------------------------------------------------------------- techniques


def test_techniques_cite_line_and_audit_id(summary: AuditSummary) -> None:
    found = {(t.technique, t.principal, t.allowed): t for t in summary.techniques}
    expected = {
        ("T1609", "alice@example.com", True): 7,
        ("T1572", "alice@example.com", True): 8,
        ("T1098.006", "mallory@example.com", True): 9,
        ("T1070", "mallory@example.com", True): 10,
        ("T1552.007", "mallory@example.com", True): 11,
        ("T1053.007", "mallory@example.com", True): 12,
        ("T1610", "system:serviceaccount:kube-system:replicaset-controller", True): 13,
        ("T1610", "system:serviceaccount:kube-system:daemon-set-controller", True): 15,
        ("T1552.007", "system:serviceaccount:nim:nim-llm", True): 5,
        ("T1552.007", "system:serviceaccount:nim:nim-llm", False): 6,
        ("T1610", "alice@example.com", False): 23,
    }
    assert set(found) == set(expected)
    for key, line in expected.items():
        first = found[key].evidence[0]
        assert first.line == line and first.file == str(CLUSTER)
        assert first.audit_id == event_line(line)["auditID"]
    assert "cluster-admin" in found[("T1098.006", "mallory@example.com", True)].what


def test_control_plane_secret_reads_are_not_evidence() -> None:
    event = event_line(5)
    for user in ("system:kube-controller-manager", "system:node:gpu-node-1",
                 "system:serviceaccount:kube-system:namespace-controller"):  # fmt: skip
        event["user"] = {"username": user}
        assert analyze_audit(read(io.BytesIO(json.dumps(event).encode()))).techniques == ()


def test_summary_is_deterministic() -> None:
    a = analyze_audit(read(CLUSTER)).model_dump_json()
    b = analyze_audit(read(CLUSTER)).model_dump_json()
    assert a == b
