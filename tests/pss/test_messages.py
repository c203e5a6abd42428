"""parse_violations() and parse_policy() on API-server strings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.errors import PSSError
from attackmap.pss import evaluate, parse_policy, parse_violations

AUDIT_SAMPLE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "audit-sample.jsonl"
)
VIOLATIONS_KEY = "pod-security.kubernetes.io/audit-violations"


def test_audit_sample() -> None:
    if not AUDIT_SAMPLE.exists():
        pytest.skip(f"reference data not available: {AUDIT_SAMPLE}")
    values = []
    for line in AUDIT_SAMPLE.read_text(encoding="utf-8").splitlines():
        annotations = json.loads(line).get("annotations", {})
        if VIOLATIONS_KEY in annotations:
            values.append(annotations[VIOLATIONS_KEY])
    assert values
    first = parse_violations(values[0])
    assert [v.check for v in first] == ["capabilities_restricted", "seccompProfile_restricted"]
    assert (
        first[0].detail == 'container "nim-llm" must set securityContext.capabilities.drop=["ALL"]'
    )
    assert all(v.containers == ("nim-llm",) for v in first)
    for value in values:  # every annotation parses and names only known checks
        assert all(v.check != "unknown" for v in parse_violations(value))


def test_details_with_commas_and_parentheses() -> None:
    """An annotation value that looks like the next violation does not split the detail."""
    trap = "odd), (x, y"
    pod = {
        "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": trap}},
        "spec": {"hostNetwork": True, "hostPID": True,
                 "containers": [{"name": "a", "securityContext": {"privileged": True}}]},
    }  # fmt: skip
    result = evaluate(pod, "baseline", "v1.29")
    text = f'pods "x" is forbidden: {result.message}'
    parsed = parse_violations(text)
    assert [v.check for v in parsed] == ["appArmorProfile", "hostNamespaces", "privileged"]
    assert parsed[0].detail == (
        "annotation must not set AppArmor profile type to "
        '"container.apparmor.security.beta.kubernetes.io/a="odd), (x, y""'
    )
    assert parsed[1].detail == "hostNetwork, hostPID"
    assert parsed == list(result.violations)


def test_reason_without_detail_and_unknown_reason() -> None:
    parsed = parse_violations(
        'would violate PodSecurity "restricted:latest": privileged, some future check (x (y)), '
        "runAsUser=0 (pod must not set runAsUser=0)"
    )
    assert [(v.check, v.reason, v.detail) for v in parsed] == [
        ("privileged", "privileged", ""),
        ("unknown", "some future check", "x (y)"),
        ("runAsUser", "runAsUser=0", "pod must not set runAsUser=0"),
    ]


def test_shared_reason_resolved_by_level_and_version() -> None:
    detail = 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'
    assert parse_violations(f'violates PodSecurity "baseline:latest": {detail}')[0].check == (
        "seccompProfile_baseline"
    )
    assert parse_violations(f'violates PodSecurity "restricted:v1.19": {detail}')[0].check == (
        "seccompProfile_restricted"
    )
    assert parse_violations(f'violates PodSecurity "restricted:v1.18": {detail}')[0].check == (
        "seccompProfile_baseline"
    )


def test_round_trip_multi_violation_message() -> None:
    pod = {"spec": {"hostPID": True, "securityContext": {"sysctls": [{"name": "a.b"}, {"name": "c.d"}]},
                    "volumes": [{"name": "v", "nfs": {"server": "s", "path": "/"}}],
                    "containers": [{"name": "a", "securityContext": {
                        "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]},
                        "seLinuxOptions": {"type": "spc_t", "user": "u"}}}]}}  # fmt: skip
    result = evaluate(pod, "restricted")
    assert len(result.violations) >= 6
    assert parse_violations(result.message) == list(result.violations)


def test_not_a_pod_security_message() -> None:
    with pytest.raises(PSSError):
        parse_violations('pods "x" is forbidden: exceeded quota')


def test_parse_policy() -> None:
    assert parse_policy("baseline:v1.29") == ("baseline", "v1.29")
    assert parse_policy("restricted:latest") == ("restricted", "latest")
    for bad in ("baseline", "strict:latest", "baseline:1.29"):
        with pytest.raises(PSSError):
            parse_policy(bad)
