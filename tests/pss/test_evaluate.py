"""evaluate(), lowest_level() and CHECKS on hand-made pods and workloads."""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.errors import PSSError
from attackmap.pss import CHECKS, NEWEST_VERSION, evaluate, lowest_level
from attackmap.pss._evaluate import lowest_and_next

RESTRICTED_SC = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod(**spec: Any) -> dict[str, Any]:
    spec.setdefault("containers", [{"name": "app", "image": "nim"}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def restricted_pod(**spec: Any) -> dict[str, Any]:
    spec.setdefault("containers", [{"name": "app", "securityContext": dict(RESTRICTED_SC)}])
    return pod(**spec)


def test_privileged_message_is_the_api_servers() -> None:
    p = pod(containers=[{"name": "a", "securityContext": {"privileged": True}},
                        {"name": "b", "securityContext": {"privileged": True}}])  # fmt: skip
    result = evaluate(p, "baseline", "v1.29")
    assert not result.allowed
    assert result.message == (
        'violates PodSecurity "baseline:v1.29": privileged '
        '(containers "a", "b" must not set securityContext.privileged=true)'
    )
    assert [v.containers for v in result.violations] == [("a", "b")]


def test_order_baseline_then_restricted_sorted_by_id() -> None:
    p = pod(hostPID=True, hostNetwork=True,
            containers=[{"name": "a", "ports": [{"containerPort": 8000}]}])  # fmt: skip
    result = evaluate(p, "restricted")
    assert [v.check for v in result.violations] == [
        "hostNamespaces", "hostPorts",  # baseline, sorted
        "allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot",
        "seccompProfile_restricted",
    ]  # fmt: skip
    # hostNetwork defaults hostPort to containerPort (API-server defaulting)
    assert result.violations[0].detail == "hostNetwork, hostPID"
    assert result.violations[1].detail == 'container "a" uses hostPort 8000'


def test_containers_visited_init_regular_ephemeral() -> None:
    p = pod(
        initContainers=[{"name": "i", "securityContext": {"privileged": True}}],
        containers=[{"name": "c", "securityContext": {"privileged": True}}],
        ephemeralContainers=[{"name": "e", "securityContext": {"privileged": True}}],
    )
    assert evaluate(p, "baseline").violations[0].containers == ("i", "c", "e")


def test_volume_without_source_is_emptydir() -> None:
    assert evaluate(restricted_pod(volumes=[{"name": "scratch"}]), "restricted").allowed
    result = evaluate(
        restricted_pod(volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "restricted"
    )
    assert result.violations[0].detail == 'volume "h" uses restricted volume type "hostPath"'


def test_capability_strings_are_raw() -> None:
    """PSA compares strings: CAP_SYS_ADMIN is not SYS_ADMIN, and not a default capability."""
    p = pod(containers=[{"name": "a", "securityContext": {"capabilities": {"add": ["CAP_CHOWN"]}}}])
    assert not evaluate(p, "baseline").allowed
    ok = pod(containers=[{"name": "a", "securityContext": {"capabilities": {"add": ["CHOWN"]}}}])
    assert evaluate(ok, "baseline").allowed


def test_versions_change_verdicts() -> None:
    sysctl = pod(securityContext={"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096"}]})
    assert not evaluate(sysctl, "baseline", "v1.31").allowed
    assert evaluate(sysctl, "baseline", "v1.32").allowed
    userns = restricted_pod(hostUsers=False, securityContext={"runAsUser": 0})
    userns["spec"]["containers"][0]["securityContext"].pop("runAsNonRoot")
    assert {v.check for v in evaluate(userns, "restricted", "v1.34").violations} == {
        "runAsNonRoot", "runAsUser"
    }  # fmt: skip
    assert evaluate(userns, "restricted", "v1.35").allowed
    # versions newer than attackmap knows are evaluated as the newest, printed as given
    result = evaluate(pod(hostPID=True), "baseline", "v1.99")
    assert result.message.startswith('violates PodSecurity "baseline:v1.99"')


def test_privileged_level_allows_everything() -> None:
    assert evaluate(pod(hostPID=True), "privileged").allowed


@pytest.mark.parametrize(
    "workload",
    [
        {"kind": "Deployment", "spec": {"template": {"spec": {"hostPID": True, "containers": []}}}},
        {
            "kind": "CronJob",
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostPID": True}}}}},
        },
        {"kind": "PodTemplate", "template": {"spec": {"hostPID": True}}},
    ],
    ids=["deployment", "cronjob", "podtemplate"],
)
def test_workload_templates(workload: dict[str, Any]) -> None:
    assert evaluate(workload, "baseline").violations[0].check == "hostNamespaces"


def test_duck_typed_workload() -> None:
    class Workload:
        def __init__(self) -> None:
            self.pod_template = {"metadata": {}, "spec": {"hostIPC": True}}

    assert evaluate(Workload(), "baseline").violations[0].detail == "hostIPC"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"hostPID": "yes"}, "spec.hostPID"),
        ({"containers": [{"name": "a", "securityContext": {"privileged": "true"}}]},
         "spec.containers[0].securityContext.privileged"),
        ({"containers": [{"name": "a", "securityContext": {"runAsUser": True}}]},
         "spec.containers[0].securityContext.runAsUser"),
        ({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": "ALL"}}}]},
         "spec.containers[0].securityContext.capabilities.add"),
        ({"volumes": ["x"]}, "spec.volumes[0]"),
    ],
)  # fmt: skip
def test_bad_types_raise_with_field_path(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(PSSError) as e:
        evaluate(pod(**spec), "baseline")
    assert e.value.field == field


def test_bad_workload_path() -> None:
    with pytest.raises(PSSError) as e:
        evaluate({"kind": "Deployment", "spec": {"template": []}}, "baseline")
    assert e.value.field == "spec.template"
    with pytest.raises(PSSError) as e:
        evaluate({"kind": "Deployment", "spec": {"template": {"spec": {"hostPID": 1}}}}, "baseline")
    assert e.value.field == "spec.template.spec.hostPID"


@pytest.mark.parametrize(("level", "version"), [("strict", "latest"), ("baseline", "1.29"),
                                                ("baseline", "v2.0"), ("baseline", "v1.01")])  # fmt: skip
def test_bad_level_or_version(level: str, version: str) -> None:
    with pytest.raises(PSSError):
        evaluate(pod(), level, version)


def test_lowest_level() -> None:
    assert lowest_level(restricted_pod()) == "restricted"
    assert lowest_level(pod()) == "baseline"
    assert lowest_level(pod(hostNetwork=True)) == "privileged"


def test_check_descriptors() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids)) == 19
    by_id = {c.id: c for c in CHECKS}
    assert by_id["hostPathVolumes"].levels == ("baseline",)  # restrictedVolumes replaces it
    assert by_id["capabilities_baseline"].levels == ("baseline", "restricted")  # < v1.22
    assert by_id["sysctls"].versions[-1] == NEWEST_VERSION
    assert by_id["restrictedVolumes"].overrides == (("hostPathVolumes", "v1.0"),)
    assert all(c.fields and c.reasons for c in CHECKS)


@pytest.mark.parametrize(
    "manifest",
    [
        restricted_pod(),
        pod(),
        pod(hostNetwork=True),
        pod(containers=[{"name": "a", "securityContext": {"privileged": True}}]),
    ],
    ids=["restricted", "baseline", "privileged", "privileged-container"],
)
def test_lowest_and_next_is_evaluate_at_the_next_level(manifest: dict[str, Any]) -> None:
    # the analysis' Pod Security trade-off takes the next level's violations from here
    lowest, result = lowest_and_next(manifest)
    assert lowest == lowest_level(manifest)
    nxt = {"privileged": "baseline", "baseline": "restricted"}.get(lowest)
    if nxt is None:
        assert result is None
    else:
        assert result is not None and not result.allowed
        assert result == evaluate(manifest, nxt)
