"""The shortcuts that keep large logs fast give the same answers as the full checks:
the analysis' technique and Pod Security pre-tests never skip an event that has something
to say, and the reader's direct UTF-8 decoding reads every line as ``json.loads`` does."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from attackmap.audit import ApiRequest, AuditEvent, analyze_audit, pod_security, read
from attackmap.audit._evidence import may_evidence, techniques_of
from attackmap.audit._extract import psa_annotated

CLUSTER = Path(__file__).parent / "data" / "cluster.jsonl"

RESOURCES = [
    ("", "pods"),
    ("", "secrets"),
    ("", "events"),
    ("events.k8s.io", "events"),
    ("", "configmaps"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("batch", "cronjobs"),
    ("batch", "jobs"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("", "rolebindings"),
    ("", "nodes"),
]
SUBRESOURCES = ["", "exec", "attach", "portforward", "log", "status"]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
USERS = ["alice", "system:serviceaccount:nim:nim-llm", "system:kube-scheduler"]
PRIVILEGED_POD = {
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": "nim"},
    "spec": {"hostPID": True, "containers": [{"name": "c"}]},
}
BINDING = {"kind": "RoleBinding", "roleRef": {"kind": "ClusterRole", "name": "admin"}}


def one_event(obj: dict[str, Any]) -> AuditEvent:
    return next(iter(read(io.BytesIO(json.dumps(obj).encode()))))


def test_may_evidence_never_skips_a_request_that_evidences_a_technique() -> None:
    fired: set[str] = set()
    for (group, resource), sub, verb, user, body in itertools.product(
        RESOURCES, SUBRESOURCES, VERBS, USERS, [None, PRIVILEGED_POD, BINDING]
    ):
        obj: dict[str, Any] = {
            "verb": verb,
            "stage": "ResponseComplete",
            "user": {"username": user},
            "objectRef": {
                "resource": resource,
                "apiGroup": group,
                "namespace": "nim",
                "subresource": sub,
            },
        }
        if body is not None:
            obj["requestObject"] = body
        event = one_event(obj)
        req = ApiRequest(
            verb=verb, api_group=group, resource=resource, subresource=sub, namespace="nim"
        )
        hits = techniques_of(event, req, allowed=True)
        if hits:
            assert may_evidence(resource, sub, verb), (resource, sub, verb, hits)
            fired.update(h.technique for h in hits)
    # the grid reaches every rule, so the check above covers all of them
    assert fired == {"T1053.007", "T1070", "T1098.006", "T1552.007", "T1572", "T1609", "T1610"}
    assert not may_evidence("configmaps", "", "get")
    assert not may_evidence("pods", "log", "get")


@pytest.mark.parametrize(
    "key, value",
    [
        ("pod-security.kubernetes.io/enforce-policy", "restricted:latest"),
        ("pod-security.kubernetes.io/audit-violations", 'would violate PodSecurity "x": y'),
        ("pod-security.kubernetes.io/exempt", "namespace"),
        ("pod-security-webhook.kubernetes.io/enforce-policy", "baseline:v1.30"),
        ("my-webhook/audit-violations", 'would violate PodSecurity "restricted:latest": z'),
        ("my-webhook/exempt", "user"),
        ("hook.example.com/pod-security.kubernetes.io/enforce-policy", "baseline:latest"),
    ],
)
def test_psa_annotated_whenever_pod_security_finds_annotations(key: str, value: str) -> None:
    annotations = {"authorization.k8s.io/decision": "allow", key: value}
    event = one_event({"verb": "create", "annotations": annotations})
    assert pod_security(event) is not None
    assert psa_annotated(event.annotations)


def test_psa_not_annotated_for_authorization_only() -> None:
    event = one_event(json.loads(CLUSTER.read_text().splitlines()[0]))
    keys = {k: v for k, v in event.annotations.items() if k.startswith("authorization.")}
    assert not psa_annotated(keys)


LINES = [
    b"",
    b"   ",
    b'\t{"verb":"get"}',
    b' {"verb":"get"}',
    '{"verb":"get"}'.encode("utf-16"),
    '{"verb":"get"}'.encode("utf-16-le"),
    '{"verb":"get"}'.encode("utf-32"),
    b'\xef\xbb\xbf{"verb":"get"}',
    b"{\x00",
    b"{\x00}",
    b"{",
    b'{"verb":"get","x":"\xff"}',
    b'{"verb":"get","x":"\\ud800"}',
    b'{"verb":"get"} trailing',
    b'{"verb":"get"}   ',
]


@pytest.mark.parametrize("line", LINES)
def test_reader_decodes_each_line_as_json_loads_does(line: bytes) -> None:
    expected: str | None = None
    try:
        if line.strip():  # blank lines are skipped, not bad
            json.loads(line + b"\n")  # as the reader sees it
    except UnicodeDecodeError as e:
        expected = f"not UTF-8: {e.reason}"
    except ValueError as e:
        expected = f"not JSON: {e}"
    reader = read(io.BytesIO(line + b"\n"))
    events = list(reader)
    reasons = [b.reason for b in reader.stats.bad_locations]
    if expected is None:
        assert reasons == [] or reasons == ["not an audit event: no verb and no stage"]
        assert len(events) + len(reasons) <= 1
    else:
        assert reasons == [expected]


def test_summary_is_the_same_from_bytes_and_text() -> None:
    data = CLUSTER.read_bytes()
    from_bytes = analyze_audit(read(io.BytesIO(data)))
    from_text = analyze_audit(read(io.StringIO(data.decode())))
    assert from_bytes.model_dump() == from_text.model_dump()
