"""Namespace labels, PodSecurityConfiguration exemptions, admits() and the pod envelope."""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.errors import PSSError
from attackmap.pss import AdmissionPolicy, NamespacePolicy, admits, most_permissive_admitted

L = "pod-security.kubernetes.io/"
PRIVILEGED_POD: dict[str, Any] = {
    "kind": "Pod",
    "metadata": {"name": "x", "namespace": "nim"},
    "spec": {"containers": [{"name": "c", "securityContext": {"privileged": True}}]},
}
CONFIG: dict[str, Any] = {
    "apiVersion": "pod-security.admission.config.k8s.io/v1",
    "kind": "PodSecurityConfiguration",
    "defaults": {"enforce": "baseline", "enforce-version": "v1.29", "audit": "restricted"},
    "exemptions": {
        "usernames": ["admin"],
        "namespaces": ["gpu-operator"],
        "runtimeClasses": ["kata"],
    },
}


def test_labels_resolve_like_the_api_server() -> None:
    policy = NamespacePolicy.from_labels({f"{L}enforce": "restricted", f"{L}warn": "baseline",
                                         f"{L}warn-version": "v1.30"})  # fmt: skip
    assert str(policy.enforce) == "restricted:latest"
    assert str(policy.warn) == "baseline:v1.30"
    assert str(policy.audit) == "privileged:latest"
    bad = NamespacePolicy.from_labels({f"{L}enforce": "strict", f"{L}audit": "nope",
                                      f"{L}enforce-version": "1.2"})  # fmt: skip
    assert str(bad.enforce) == "restricted:latest"  # invalid enforce fails closed
    assert bad.audit.level == "privileged"  # invalid audit fails open
    assert len(bad.errors) == 3


def test_label_level_keeps_default_version() -> None:
    defaults = AdmissionPolicy.from_config(CONFIG).defaults
    assert str(defaults.enforce) == "baseline:v1.29"
    policy = NamespacePolicy.from_labels({f"{L}enforce": "restricted"}, defaults)
    assert str(policy.enforce) == "restricted:v1.29"


def test_admission_configuration_wrapper() -> None:
    wrapped = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AdmissionConfiguration",
        "plugins": [{"name": "Other"}, {"name": "PodSecurity", "configuration": CONFIG}],
    }
    assert AdmissionPolicy.from_config(wrapped) == AdmissionPolicy.from_config(CONFIG)
    with pytest.raises(PSSError) as e:
        AdmissionPolicy.from_config(
            {**wrapped, "plugins": [{"name": "PodSecurity", "path": "/etc/psa.yaml"}]}
        )
    assert e.value.field == "plugins[0].path"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"defaults": {"enforce": "strict"}}, "defaults.enforce"),
        ({"defaults": {"audit-version": "2"}}, "defaults.audit-version"),
        ({"exemptions": {"usernames": "admin"}}, "exemptions.usernames"),
        ({"apiVersion": "v1"}, "apiVersion"),
    ],
)
def test_bad_config(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PSSError) as e:
        AdmissionPolicy.from_config({**CONFIG, **change})
    assert e.value.field == field


def test_admits_enforce_and_exemptions() -> None:
    cfg = AdmissionPolicy.from_config(CONFIG)
    denied = admits(PRIVILEGED_POD, {}, cfg)  # default enforce baseline:v1.29
    assert not denied.allowed and denied.exempt is None
    assert denied.result is not None and denied.result.violations[0].check == "privileged"
    assert admits(PRIVILEGED_POD, {f"{L}enforce": "privileged"}, cfg).allowed
    assert admits(PRIVILEGED_POD, {}, cfg, username="admin").exempt == "user"
    assert admits(PRIVILEGED_POD, {}, cfg, namespace="gpu-operator").exempt == "namespace"
    kata = {**PRIVILEGED_POD, "spec": {**PRIVILEGED_POD["spec"], "runtimeClassName": "kata"}}
    assert admits(kata, {}, cfg).exempt == "runtimeClass"


def test_controller_pods_are_created_by_the_controller() -> None:
    deployment = {"kind": "Deployment", "metadata": {"namespace": "nim"},
                  "spec": {"template": PRIVILEGED_POD}}  # fmt: skip
    cfg = AdmissionPolicy.from_config(CONFIG)
    assert not admits(deployment, {}, cfg, username="admin").allowed  # not the pod's creator
    exempt_controller = cfg.model_copy(
        update={"exempt_usernames": ("system:serviceaccount:kube-system:replicaset-controller",)}
    )
    assert admits(deployment, {}, exempt_controller).exempt == "user"


def test_most_permissive_admitted() -> None:
    restricted = most_permissive_admitted({f"{L}enforce": "restricted"})
    assert restricted.level == "restricted" and not restricted.privileged
    assert (
        not restricted.host_path and not restricted.run_as_root and not restricted.any_volume_type
    )
    baseline = most_permissive_admitted({f"{L}enforce": "baseline"})
    assert baseline.run_as_root and baseline.privilege_escalation and baseline.any_volume_type
    assert not baseline.privileged and not baseline.host_path and not baseline.added_capabilities
    assert most_permissive_admitted({}).privileged  # no labels: privileged
    cfg = AdmissionPolicy.from_config(CONFIG)
    envelope = most_permissive_admitted({f"{L}enforce": "restricted"}, cfg)
    assert envelope.exempt == "runtimeClass" and envelope.runtime_class == "kata"
    assert envelope.privileged and envelope.host_path
