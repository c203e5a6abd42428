"""Tailored admission policies (``harden(..., admission=...)``), verified with real CEL.

Four workloads, as issue 22 asks: the nim-llm Helm render, a NIMService (rendered to the
Deployment the operator makes), the GPU Operator's device plugin DaemonSet (privileged and
hostPath, needs an audit log proves) and our own NIM with a SYS_ADMIN preprocessing step
(a need, plus a seccomp recording). For each, the policies read back from the *emitted
files* are evaluated with cel-python against:

* the original pod: denied, and for every control hardening applied, by a rule keeping it;
* the hardened pod: admitted;
* the hardened pod with one applied control left out (that privilege re-added), one at a
  time: denied, and only by the rules that keep that control;
* hand-made widenings of the hardened pod (a new container, hostPID, a hostPath...): denied.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cel_helpers as cel
import jsonschema
import pytest
import yaml
from kyverno_schema import CLUSTER_POLICY, semantic_errors
from tests.conftest import SHARED
from vap_schema import BINDING, POLICY

import attackmap
from attackmap import pss
from attackmap.cli import main
from attackmap.errors import HardenError
from attackmap.harden import HardenResult, harden
from attackmap.harden._admission import KYVERNO_FILE, NAMESPACE_FILE, VAP_FILE
from attackmap.harden._profiles import SPO_FILE
from attackmap.harden._tailored import _NOT_POD, widen

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
NIM_DEFAULT = REPO / "examples" / "nim" / "nim-deploy-default.yaml"
SYSADMIN = DATA / "nim-preprocess-sysadmin.yaml"
PINNED = DATA / "nim-pinned-memory.yaml"
RECORDING = DATA / "preprocess-syscalls.txt"
DEVICE_PLUGIN = SHARED / "corpus" / "nim" / "gpu-operator-state-device-plugin-0500_daemonset.yaml"
OPERATOR_SAMPLE = SHARED / "corpus" / "nim" / "operator-serving-standalone-basic-llm.yaml"
GOALS = ["T1611", "T1552.001", "T1528"]
# the scenarios pre-cache the NIM model: NGC_API_KEY may go (docs/harden.md, NIM specifics)
ALLOW = "remove-credential-env"
PRE = "Deployment/nim-pre/nim-preprocess"
DP = "DaemonSet/gpu-operator/nvidia-device-plugin-daemonset"


def _audit(path: Path, out: Path, owner_kind: str) -> Path:
    """An audit log of the workload's pod created in a namespace that only audits baseline:
    the annotation is the API server's own text, from attackmap's Pod Security evaluator
    (upstream parity: tests/pss), so the needs are exactly the pod's baseline violations."""
    (w,) = attackmap.load(path).workloads
    result = pss.evaluate(w, "baseline")
    assert not result.allowed
    labels = dict(w.pod_template["metadata"].get("labels") or {})
    owner = w.ref.name
    if owner_kind == "ReplicaSet":
        labels["pod-template-hash"] = "5d8f7c9b4"
        owner += "-5d8f7c9b4"
    event = {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Event",
        "level": "Request",
        "auditID": "22222222-0000-4000-8000-000000000001",
        "stage": "ResponseComplete",
        "verb": "create",
        "requestURI": f"/api/v1/namespaces/{w.namespace}/pods",
        "user": {"username": f"system:serviceaccount:kube-system:{owner_kind.lower()}-controller"},
        "objectRef": {
            "apiVersion": "v1",
            "resource": "pods",
            "namespace": w.namespace,
            "name": f"{owner}-x7k2p",
        },
        "requestObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{owner}-x7k2p",
                "namespace": w.namespace,
                "labels": labels,
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": owner_kind, "name": owner, "controller": True}
                ],
            },
            "spec": w.pod_template["spec"],
        },
        "responseStatus": {"code": 201},
        "annotations": {
            "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
            "pod-security.kubernetes.io/audit-violations": "would violate"
            + result.message.removeprefix("violates"),
        },
        "requestReceivedTimestamp": "2026-03-10T14:02:11.000000Z",
        "stageTimestamp": "2026-03-10T14:02:11.100000Z",
    }
    out.write_text(json.dumps(event) + "\n")
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admission")


def _nim_default(work: Path) -> HardenResult:
    return harden(
        NIM_DEFAULT, goals=GOALS, allow=ALLOW, level="baseline", admission=["vap", "kyverno"]
    )


def _nim_restricted(work: Path) -> HardenResult:
    # restricted and T1485: every container control (caps, escalation, non-root, seccomp,
    # read-only model store) is applied, so each has its mutation case
    return harden(
        NIM_DEFAULT,
        goals=[*GOALS, "T1485"],
        allow=ALLOW,
        level="restricted",
        admission=["vap", "kyverno"],
    )


def _nimservice(work: Path) -> HardenResult:
    if not OPERATOR_SAMPLE.is_file():
        pytest.skip(f"reference corpus not available: {OPERATOR_SAMPLE}")
    return harden(
        OPERATOR_SAMPLE,
        goals=GOALS,
        allow=ALLOW,
        level="baseline",
        render_deployment=True,
        admission=["vap", "kyverno"],
    )


def _nimservice_operator(work: Path) -> HardenResult:
    # not rendered: the policy is read off the pods the operator renders (attackmap's model)
    return harden(
        DATA / "nimservice-standalone.yaml", goals=GOALS, allow=ALLOW, admission=["vap", "kyverno"]
    )


def _device_plugin(work: Path) -> HardenResult:
    if not DEVICE_PLUGIN.is_file():
        pytest.skip(f"reference corpus not available: {DEVICE_PLUGIN}")
    # the operator fills namespace and image at run time; the asset says so in the fields
    text = DEVICE_PLUGIN.read_text()
    text = text.replace('namespace: "FILLED BY THE OPERATOR"', "namespace: gpu-operator")
    text = text.replace(
        'image: "FILLED BY THE OPERATOR"', 'image: "nvcr.io/nvidia/k8s-device-plugin:v0.17.3"'
    )
    manifest = work / "device-plugin.yaml"
    manifest.write_text(text)
    log = _audit(manifest, work / "device-plugin-audit.jsonl", "DaemonSet")
    return harden(
        manifest,
        goals=GOALS,
        allow=ALLOW,
        level="baseline",
        audit=log,
        admission=["vap", "kyverno"],
    )


def _sysadmin(work: Path) -> HardenResult:
    log = _audit(SYSADMIN, work / "sysadmin-audit.jsonl", "ReplicaSet")
    return harden(
        SYSADMIN,
        goals=GOALS,
        allow=ALLOW,
        level="baseline",
        audit=log,
        admission=["vap", "kyverno"],
        seccomp={f"{PRE}:preprocess": RECORDING},
    )


def _pinned(work: Path) -> HardenResult:
    log = _audit(PINNED, work / "pinned-audit.jsonl", "ReplicaSet")
    return harden(
        PINNED, goals=GOALS, allow=ALLOW, level="baseline", audit=log, admission=["vap", "kyverno"]
    )


SCENARIOS: dict[str, Callable[[Path], HardenResult]] = {
    "nim-helm": _nim_default,
    "nim-helm-restricted": _nim_restricted,
    "pinned-memory": _pinned,
    "nimservice": _nimservice,
    "nimservice-operator": _nimservice_operator,
    "device-plugin": _device_plugin,
    "sysadmin-preprocess": _sysadmin,
}
_CACHE: dict[str, HardenResult] = {}


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest, work: Path) -> HardenResult:
    name = str(request.param)
    if name not in _CACHE:
        _CACHE[name] = SCENARIOS[name](work)
    return _CACHE[name]


def _by_message(result: HardenResult, workload: str) -> dict[str, str]:
    assert result.admission is not None
    return {r.message: r.id for r in result.admission.policy(workload).rules}


@pytest.mark.parametrize("engine", ["vap", "kyverno"])
def test_cases_judged_as_expected(scenario: HardenResult, engine: str) -> None:
    adm = scenario.admission
    assert adm is not None and adm.cases
    files = scenario.files()
    read = cel.vap_validations if engine == "vap" else cel.kyverno_validations
    validations = read(files[VAP_FILE if engine == "vap" else KYVERNO_FILE])
    assert set(validations) == {p.workload for p in adm.policies}
    for case in adm.cases:
        ids = _by_message(scenario, case.workload)
        denied = {ids[m] for m in cel.denials(validations[case.workload], case.pod)}
        if case.admitted:
            assert not denied, f"{case.workload} {case.name}: denied by {sorted(denied)}"
        else:
            assert denied, f"{case.workload} {case.name}: admitted"
            assert denied <= set(case.denied_by), (case.name, denied, case.denied_by)


def test_original_denied_for_every_applied_pod_control(scenario: HardenResult) -> None:
    """The original pod is denied by a rule keeping each control hardening applied, with
    that rule's message (which names the field)."""
    adm = scenario.admission
    assert adm is not None
    validations = cel.vap_validations(scenario.files()[VAP_FILE])
    for policy in adm.policies:
        originals = [c for c in adm.cases if c.workload == policy.workload and c.name == "original"]
        if not originals:
            continue  # rendered from a NIMService: no original of this kind
        messages = set(cel.denials(validations[policy.workload], originals[0].pod))
        for change in scenario.changes:
            name, _, target = change.control.rpartition("@")
            if target != policy.workload or name.split(":")[0] in _NOT_POD:
                continue
            keeping = {r.message for r in policy.keeping(name)}
            assert keeping, f"no rule keeps {change.control}"
            assert messages & keeping, f"original not denied for {change.control}"
        for m in messages:
            assert m.startswith(f"{policy.workload}: spec.") or "metadata.annotations" in m


def test_every_removed_privilege_has_its_mutation(scenario: HardenResult) -> None:
    """Each control hardening applied to a pod field is re-added alone in one case (the
    mutation test), so no removed privilege goes unchecked; network/cluster controls are
    not pod fields and are reported as kept elsewhere."""
    adm = scenario.admission
    assert adm is not None
    for change in scenario.changes:
        name, _, target = change.control.rpartition("@")
        if name.split(":")[0] in _NOT_POD:
            assert any(change.control in k for p in adm.paths for k in p.kept_by) or not any(
                change.control in p.controls for p in adm.paths
            )
            continue
        cases = [c for c in adm.cases if c.workload == target and c.name == f"without {name}"]
        assert len(cases) == 1, f"no mutation case for {change.control}"
        assert not cases[0].admitted


def _hardened(result: HardenResult, workload: str) -> dict[str, Any]:
    assert result.admission is not None
    (case,) = [c for c in result.admission.cases if c.workload == workload and c.name == "hardened"]
    return copy.deepcopy(case.pod)


def _first(pod: dict[str, Any], privileged: bool = False) -> dict[str, Any]:
    """The first container that is not privileged (or, with ``privileged``, one that is)."""
    for key in ("containers", "initContainers"):
        for c in pod["spec"].get(key, []):
            is_priv = (c.get("securityContext") or {}).get("privileged") is True
            if is_priv == privileged:
                return dict(c)
    raise AssertionError("no such container")


def _set(pod: dict[str, Any], name: str, **fields: Any) -> None:
    for key in ("containers", "initContainers"):
        for c in pod["spec"].get(key, []):
            if c["name"] == name:
                c.setdefault("securityContext", {}).update(fields)


WIDENINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "a new privileged container": lambda p: p["spec"]["containers"].append(
        {"name": "debug", "image": "busybox", "securityContext": {"privileged": True}}
    ),
    "an ephemeral container": lambda p: (
        p["spec"]
        .setdefault("ephemeralContainers", [])
        .append({"name": "debugger", "image": "busybox"})
    ),
    "hostPID": lambda p: p["spec"].update(hostPID=True),
    "hostNetwork": lambda p: p["spec"].update(hostNetwork=True),
    "a hostPath of /etc": lambda p: (
        p["spec"].setdefault("volumes", []).append({"name": "etc", "hostPath": {"path": "/etc"}})
    ),
    "SYS_PTRACE added": lambda p: _set(p, _first(p)["name"], capabilities={"add": ["SYS_PTRACE"]}),
    "privileged: true": lambda p: _set(p, _first(p)["name"], privileged=True),
    "procMount Unmasked": lambda p: _set(p, _first(p)["name"], procMount="Unmasked"),
    "SELinux type spc_t": lambda p: _set(p, _first(p)["name"], seLinuxOptions={"type": "spc_t"}),
    "a Windows host process": lambda p: _set(
        p, _first(p)["name"], windowsOptions={"hostProcess": True}
    ),
    "an unsafe sysctl": lambda p: (
        p["spec"]
        .setdefault("securityContext", {})
        .update(sysctls=[{"name": "kernel.core_pattern", "value": "|/tmp/x"}])
    ),
}


def _add_host_port(pod: dict[str, Any]) -> None:
    name = _first(pod)["name"]
    for key in ("containers", "initContainers"):
        for c in pod["spec"].get(key, []):
            if c["name"] == name:
                c.setdefault("ports", []).append({"containerPort": 9999, "hostPort": 9999})


WIDENINGS["a hostPort"] = _add_host_port


@pytest.mark.parametrize("widening", sorted(WIDENINGS))
def test_hand_widenings_denied(scenario: HardenResult, widening: str) -> None:
    validations = cel.vap_validations(scenario.files()[VAP_FILE])
    for workload, pairs in validations.items():
        pod = _hardened(scenario, workload)
        assert not cel.denials(pairs, pod)
        WIDENINGS[widening](pod)
        assert cel.denials(pairs, pod), f"{workload}: {widening} admitted"


def test_kyverno_policy_structure(scenario: HardenResult) -> None:
    """The Kyverno CLI is not installed: the emitted ClusterPolicy is checked against the
    parts of Kyverno's ClusterPolicy schema it uses (tests/harden/kyverno_schema.py)."""
    files = scenario.files()
    policies = [
        d
        for name in (KYVERNO_FILE, NAMESPACE_FILE)  # the tailored policies and the guards
        for d in cel.documents(files[name])
        if d["kind"] == "ClusterPolicy"
    ]
    assert len(policies) >= len(scenario.admission.policies if scenario.admission else ())
    for doc in policies:
        jsonschema.validate(doc, CLUSTER_POLICY)
        assert not semantic_errors(doc)
    bad = cel.documents(scenario.files()[KYVERNO_FILE])[0]
    bad["spec"]["rules"][-1]["validate"]["failureActon"] = "Enforce"  # misspelt: pruned
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, CLUSTER_POLICY)


def test_vap_structure(scenario: HardenResult) -> None:
    """Every ValidatingAdmissionPolicy and binding emitted (tailored and guards) against the
    admissionregistration.k8s.io/v1 fields (tests/harden/vap_schema.py); each binding names
    an emitted policy and each policy has a binding."""
    files = scenario.files()
    docs = [
        d
        for name in (VAP_FILE, NAMESPACE_FILE)
        for d in cel.documents(files[name])
        if d["kind"].startswith("ValidatingAdmissionPolicy")
    ]
    policies = {d["metadata"]["name"] for d in docs if d["kind"] == "ValidatingAdmissionPolicy"}
    bound = {d["spec"]["policyName"] for d in docs if d["kind"] != "ValidatingAdmissionPolicy"}
    assert policies and policies == bound
    for d in docs:
        jsonschema.validate(d, POLICY if d["kind"] == "ValidatingAdmissionPolicy" else BINDING)
    bad = next(d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding")
    bad["spec"]["validationAction"] = bad["spec"].pop("validationActions")  # misspelt
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, BINDING)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def test_kyverno_mutation_brings_the_original_to_the_injected_fields(
    scenario: HardenResult,
) -> None:
    """The mutate rule's strategic-merge patch, applied (by name, as its ``(name)`` anchor
    says) to the original pod, satisfies every rule about what it injects."""
    adm = scenario.admission
    assert adm is not None
    for doc in cel.documents(scenario.files()[KYVERNO_FILE]):
        workload = doc["metadata"]["annotations"].get("attackmap.io/workload")
        mutate = [r for r in doc["spec"]["rules"] if "mutate" in r]
        originals = [c for c in adm.cases if c.workload == workload and c.name == "original"]
        if not workload or not mutate or not originals:
            continue
        pod = copy.deepcopy(originals[0].pod)
        patch = mutate[0]["mutate"]["patchStrategicMerge"]["spec"]
        for key, entries in patch.items():
            for entry in entries:
                (c,) = [c for c in pod["spec"][key] if c["name"] == entry["(name)"]]
                c.setdefault("securityContext", {})
                _merge(c["securityContext"], entry["securityContext"])
        injected = {"seccompProfile", "capabilities.drop", "allowPrivilegeEscalation"}
        policy = adm.policy(workload)
        for rule in policy.rules:
            if rule.id.split(":")[0] in injected:
                assert cel.holds(rule.expression, pod), rule.id


def test_namespace_levels_and_guard(scenario: HardenResult) -> None:
    """Each namespace enforces the lowest level its tailored pods reach; a privileged one is
    paired with a guard admitting only the tailored workloads' pods."""
    adm = scenario.admission
    assert adm is not None
    files = scenario.files()
    namespaces = {
        d["metadata"]["name"]: d["metadata"]["labels"]
        for d in cel.documents(files[NAMESPACE_FILE])
        if d["kind"] == "Namespace"
    }
    guards = cel.guard_validations(files[NAMESPACE_FILE])
    for policy in adm.policies:
        labels = namespaces[policy.namespace]
        assert labels["pod-security.kubernetes.io/enforce"] == policy.level
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        pod = _hardened(scenario, policy.workload)
        (w,) = list(attackmap.load(yaml.safe_dump(pod)).workloads)
        assert pss.lowest_level(w) == policy.level
        if policy.level != "privileged":
            assert policy.namespace not in guards
            continue
        assert not cel.denials(guards[policy.namespace], pod)
        stranger = copy.deepcopy(pod)
        stranger["metadata"]["labels"] = {"app": "stranger"}
        assert cel.denials(guards[policy.namespace], stranger)


def test_paths_kept_by_the_policy() -> None:
    """ "hardened + policy": each goal path hardening broke names the policy rule keeping it."""
    result = _CACHE.get("nim-helm") or _nim_default(Path("."))
    adm = result.admission
    assert adm is not None
    policy = adm.policy("StatefulSet/default/my-nim")
    goals = {p.path.split(" ")[0] for p in adm.paths}
    assert goals == {"T1528", "T1552.001"}  # what the Helm default exposes (test_harden.py)
    for p in adm.paths:
        assert p.kept_by and all(k.startswith(f"{policy.name}: ") for k in p.kept_by)
        for control in p.controls:
            rules = {f"{policy.name}: {r.id}" for r in policy.keeping(control.rpartition("@")[0])}
            assert rules <= set(p.kept_by)


def test_paths_kept_under_a_parent_goal() -> None:
    """--goal T1552 covers T1552.001: its paths hardening broke are listed as kept by the
    policy as they are under --goal T1552.001 (they were left out: goal ids compared exactly)."""
    result = harden(
        NIM_DEFAULT, goals=["T1552", "T1528"], allow=ALLOW, level="baseline", admission=["vap"]
    )
    adm = result.admission
    assert adm is not None
    goals = {p.path.split(" ")[0] for p in adm.paths}
    assert "T1552.001" in goals, goals
    assert all(p.kept_by for p in adm.paths)


def test_side_by_side_privileged_namespace_with_tailored_policy_exposes_less(
    tmp_path: Path,
) -> None:
    """The forum thread's point, on our NIM that pins memory: IPC_LOCK is beyond baseline,
    so its namespace must enforce ``privileged``; yet with the tailored policy it admits
    fewer techniques than a ``restricted`` pod that keeps its token and NGC key. IPC_LOCK
    opens no escape in the catalogue, and hardening removed the token and the key, which
    restricted does not govern and the tailored policy keeps removed."""
    result = _CACHE.get("pinned-memory") or _pinned(tmp_path)
    adm = result.admission
    assert adm is not None
    (row,) = adm.comparisons
    assert row.level == "privileged"
    assert [n.need for n in result.needs] == ["cap:IPC_LOCK"]
    assert "T1611" in row.pss_alone and "T1611" not in row.tailored
    assert {"T1528", "T1552.001"} <= set(row.restricted_alone)
    assert not {"T1528", "T1552.001"} & set(row.tailored)
    assert set(row.tailored) < set(row.restricted_alone) < set(row.pss_alone)
    md = result.files()["ADMISSION.md"]
    assert "| technique | PSS privileged alone | PSS restricted alone |" in md


def test_side_by_side_sysadmin_step_says_what_stays_open(tmp_path: Path) -> None:
    """The SYS_ADMIN step really mounts (its recording shows mount): AppArmor RuntimeDefault
    would break it, so it is not applied (a need from the recording) and T1611 by mount
    stays, said as such; the tailored policy still admits less than privileged alone."""
    result = _CACHE.get("sysadmin-preprocess") or _sysadmin(tmp_path)
    adm = result.admission
    assert adm is not None
    (row,) = adm.comparisons
    assert "T1611" in row.tailored and set(row.tailored) < set(row.pss_alone)
    assert {n.need for n in result.needs} == {"cap:SYS_ADMIN", "syscall:mount"}
    assert any(c.control.startswith("apparmor-runtime-default@") for c in result.conflicts)
    (w,) = result.verification.workloads
    t1611 = [b for b in w.blocked if b.startswith("T1611")]
    assert t1611 and all("escape-sys-admin-mount" in b and "need syscall:mount" in b for b in t1611)


def _docs_table(name: str) -> list[str]:
    text = (REPO / "docs" / "harden.md").read_text()
    start = f"<!-- side-by-side: {name} -->\n"
    body = text.split(start, 1)[1].split("<!-- end side-by-side -->", 1)[0]
    return body.strip().splitlines()


@pytest.mark.parametrize(
    ("name", "scenario_name"),
    [("nim-preprocess-sysadmin", "sysadmin-preprocess"), ("nim-pinned-memory", "pinned-memory")],
)
def test_docs_tables_are_current(name: str, scenario_name: str, tmp_path: Path) -> None:
    from attackmap.harden._tailored import comparison_table

    result = _CACHE.get(scenario_name) or SCENARIOS[scenario_name](tmp_path)
    assert result.admission is not None
    (row,) = result.admission.comparisons
    assert _docs_table(name) == comparison_table(result.admission, row), (
        "docs/harden.md is out of date: paste the table from ADMISSION.md"
    )


def test_widen_reaches_exactly_the_level() -> None:
    (w,) = attackmap.load(str(SYSADMIN)).workloads
    for level in ("privileged", "baseline", "restricted"):
        wide = widen(w.pod_template, level)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": wide["spec"]}
        (ww,) = attackmap.load(yaml.safe_dump(pod)).workloads
        assert pss.lowest_level(ww) == level


def test_profile_injection_three_ways(tmp_path: Path) -> None:
    result = _CACHE.get("sysadmin-preprocess") or _sysadmin(tmp_path)
    (profile,) = result.profiles
    assert profile.container == "preprocess"
    files = result.files()
    # 1. the manifest: the container's seccompProfile is the operator's path
    (w,) = [w for w in attackmap.load(result.to_yaml()).workloads if str(w.ref) == PRE]
    c = w.pod.container("preprocess")
    assert c is not None and c.seccomp_profile is not None
    assert (c.seccomp_profile.type, c.seccomp_profile.localhost_profile) == (
        "Localhost",
        f"operator/{profile.name}.json",
    )
    # 2. the security-profiles-operator objects
    docs = {d["kind"]: d for d in cel.documents(files[SPO_FILE])}
    spo = docs["SeccompProfile"]["spec"]
    assert spo["defaultAction"] == "SCMP_ACT_ERRNO" and "defaultErrnoRet" not in spo
    allowed = {n for r in spo["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    assert {"mount", "umount2"} <= allowed and "unshare" not in allowed
    binding = docs["ProfileBinding"]["spec"]
    assert binding["profileRef"] == {"kind": "SeccompProfile", "name": profile.name}
    assert binding["image"] == "registry.example.com/ml/nim-preprocess:1.4.0"
    ns = [d for d in cel.documents(files[NAMESPACE_FILE]) if d["kind"] == "Namespace"]
    assert "spo.x-k8s.io/enable-binding" in ns[0]["metadata"]["labels"]
    # 3. the plain file, where the kubelet reads Localhost profiles from
    plain = json.loads(files[f"seccomp/operator/{profile.name}.json"])
    assert plain == profile.profile
    # the analysis resolves it (as the kubelet would, from the seccomp root): bpf, which
    # RuntimeDefault allows with SYS_ADMIN, is not in the recording, so no escape by bpf
    hardened = result.to_yaml()
    unresolved = attackmap.analyze(hardened, goals=["T1611"])
    root = tmp_path / "kubelet-seccomp"
    for name, text in files.items():
        if name.startswith("seccomp/"):
            target = root / name.removeprefix("seccomp/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    resolved = attackmap.analyze(hardened, goals=["T1611"], seccomp_root=root)

    def steps(report: attackmap.Report) -> set[str]:
        return {s.id for t in report.workload(PRE).techniques for p in t.paths for s in p.steps}

    assert "escape-bpf" in steps(unresolved) and "escape-bpf" not in steps(resolved)
    assert any("ESCAPE-RELEVANT syscall mount" in n for n in result.notes)


def test_deterministic(tmp_path: Path) -> None:
    """Same input, same bytes (audit logs written to two different places)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _sysadmin(tmp_path / "a"), _sysadmin(tmp_path / "b")
    strip = str(tmp_path)
    assert {k: v.replace(strip + "/a", "") for k, v in first.files().items()} == {
        k: v.replace(strip + "/b", "") for k, v in second.files().items()
    }


def test_cli_writes_policies_and_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _audit(SYSADMIN, tmp_path / "audit.jsonl", "ReplicaSet")
    out = tmp_path / "out"
    code = main(
        [
            "harden",
            str(SYSADMIN),
            "--audit",
            str(log),
            "--admission",
            "vap",
            "--seccomp-recording",
            f"{PRE}:preprocess={RECORDING}",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err  # the SYS_ADMIN need keeps the level below baseline: said, not hidden
    assert "Traceback" not in err
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {VAP_FILE, NAMESPACE_FILE, SPO_FILE, "ADMISSION.md", "HARDENING.md"} <= names
    assert KYVERNO_FILE not in names
    assert any(n.startswith("seccomp/operator/") and n.endswith(".json") for n in names)


def test_cli_bad_recording_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["harden", str(SYSADMIN), "--seccomp-recording", f"Deployment/nim-pre/nope={RECORDING}"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no such workload" in err and "Traceback" not in err


def test_library_refuses_unknown_engine() -> None:
    with pytest.raises(HardenError, match="unknown admission engine"):
        harden(SYSADMIN, goals=GOALS, allow=ALLOW, admission="opa")


PLAIN = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nim-plain
  namespace: nim-pre
spec:
  selector:
    matchLabels: {app: nim-plain}
  template:
    metadata:
      labels: {app: nim-plain}
    spec:
      securityContext: {runAsUser: 1000, runAsNonRoot: true}
      containers:
        - name: nim-llm
          image: nvcr.io/nim/meta/llama3-8b-instruct:1.0.3
          resources:
            limits: {nvidia.com/gpu: 1}
"""


def test_shared_namespace_exempts_by_runtime_class_with_a_cluster_wide_guard(
    tmp_path: Path,
) -> None:
    """The SYS_ADMIN NIM shares its namespace with a NIM that reaches a stricter level and
    runs under a RuntimeClass of its own: the namespace keeps the stricter level, the
    RuntimeClass is exempted in a PodSecurityConfiguration, and a cluster-wide guard admits
    that RuntimeClass only for the tailored workload."""
    text = SYSADMIN.read_text().replace(
        "      securityContext:\n        runAsUser: 1000",
        "      runtimeClassName: nvidia-preprocess\n      securityContext:\n        runAsUser: 1000",
        1,
    )
    manifest = tmp_path / "shared-namespace.yaml"
    manifest.write_text(text + PLAIN)
    single = tmp_path / "single.yaml"
    single.write_text(text)
    log = _audit(single, tmp_path / "audit.jsonl", "ReplicaSet")
    result = harden(
        manifest, goals=GOALS, allow=ALLOW, level="baseline", audit=log, admission=["vap"]
    )
    adm = result.admission
    assert adm is not None
    levels = {p.workload: p.level for p in adm.policies}
    plain = "Deployment/nim-pre/nim-plain"
    assert levels[PRE] == "privileged" and levels[plain] != "privileged"
    files = result.files()
    (ns,) = [d for d in cel.documents(files[NAMESPACE_FILE]) if d["kind"] == "Namespace"]
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == levels[plain]
    config = yaml.safe_load(files["attackmap-admission-podsecurity.yaml"])
    assert config["exemptions"] == {"runtimeClasses": ["nvidia-preprocess"]}
    # the API server's decision (attackmap.pss, reading the emitted configuration): the
    # SYS_ADMIN pod is admitted only as exempt
    tailored = _hardened(result, PRE)
    psc = pss.AdmissionPolicy.from_config(config)
    assert pss.admits(tailored, labels, psc).exempt == "runtimeClass"
    assert not pss.admits(tailored, labels).allowed  # without the exemption: refused
    # the cluster-wide guard
    guard = [
        d
        for d in cel.documents(files[NAMESPACE_FILE])
        if d["kind"] == "ValidatingAdmissionPolicy" and "runtimeclass" in d["metadata"]["name"]
    ]
    (g,) = guard
    assert "namespaceSelector" not in g["spec"]["matchConstraints"]
    pairs = [(v["expression"], v["message"]) for v in g["spec"]["validations"]]
    assert not cel.denials(pairs, tailored)
    elsewhere = copy.deepcopy(tailored)
    elsewhere["metadata"]["namespace"] = "team-b"
    assert cel.denials(pairs, elsewhere)
    stranger = copy.deepcopy(tailored)
    stranger["metadata"]["labels"] = {"app": "stranger"}
    assert cel.denials(pairs, stranger)
    assert not cel.denials(pairs, _hardened(result, plain))  # no runtimeClass: not its business


GUARANTEES = REPO / "tests" / "guarantees"


@pytest.mark.parametrize(
    "manifest", ["secret-leak.yaml", "secret-leak-harden.yaml", "secret-leak-shapes.yaml"]
)
def test_admission_files_hold_no_secret(
    manifest: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The policies, profiles and ADMISSION.md are attackmap's own files: none of the
    secrets of docs/security.md's leak fixtures (``LEAK0001``..., ``SHAPELEAK01``..., their
    base64 forms) may appear in them; only the rewritten manifests keep the user's values."""
    out = tmp_path / "out"
    path = GUARANTEES / manifest
    argv = ["harden", str(path), "--goal", "T1611,T1552.001", "--level", "restricted"]
    argv += ["--admission", "vap", "--admission", "kyverno", "--out", str(out)]
    assert main(argv) in (0, 1)
    capsys.readouterr()
    written = {str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file()}
    assert "ADMISSION.md" in written and VAP_FILE in written
    for name, text in written.items():
        if name == path.name:
            continue
        for form in ("LEAK", "TEVBSz"):
            assert form not in text, f"{name} contains {form}"


def test_profiles_without_admission(tmp_path: Path) -> None:
    """A recording alone: the manifest gets its Localhost profile and the SPO objects and
    kubelet file are written; no policy, and the note says how to enable the binding."""
    result = harden(
        SYSADMIN, goals=GOALS, allow=ALLOW, seccomp={f"{PRE}:preprocess": str(RECORDING)}
    )
    assert result.admission is None
    files = result.files()
    assert SPO_FILE in files and VAP_FILE not in files and "ADMISSION.md" not in files
    assert any(n.startswith("seccomp/operator/") for n in files)
    assert any("spo.x-k8s.io/enable-binding" in n and "nim-pre" in n for n in result.notes)


def test_cli_without_out_says_where_the_policies_go(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harden", str(NIM_DEFAULT), "--admission", "vap"]) in (0, 1)
    out, err = capsys.readouterr()
    assert "ValidatingAdmissionPolicy" not in out  # stdout stays the hardened manifests
    assert "written with --out-dir DIR" in err
