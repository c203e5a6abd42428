"""The analysis API: entries, minimal control sets, what-if apply, the Pod Security trade-off."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attackmap
from attackmap.errors import AttackmapError
from attackmap.graph._analysis import _hitting_set

REPO = Path(__file__).resolve().parents[2]
NIM = REPO / "examples" / "nim" / "nim-deploy-default.yaml"

PRIVILEGED = """
apiVersion: v1
kind: Pod
metadata: {name: gpu-debug, namespace: ml}
spec:
  hostPID: true
  containers:
  - name: shell
    image: ubuntu
    securityContext: {privileged: true}
    resources: {limits: {nvidia.com/gpu: 1}}
"""


def _techniques(report: attackmap.Report) -> set[str]:
    return {t.technique.id for w in report.workloads for t in w.techniques}


def test_entries_restrict_where_paths_start() -> None:
    image = attackmap.analyze(PRIVILEGED, entries=["image"])
    external = attackmap.analyze(PRIVILEGED, entries=["external"])
    assert "T1611" in _techniques(image)
    assert _techniques(external) == set()  # no Service, no hostNetwork: unreachable from outside
    for w in image.workloads:
        for t in w.techniques:
            assert {p.entry for p in t.paths} == {"image"}


def test_unknown_entry_is_refused() -> None:
    with pytest.raises(AttackmapError, match="unknown entry point"):
        attackmap.analyze(PRIVILEGED, entries=["satellite"])


def test_minimal_controls_are_verified_by_reanalysis() -> None:
    report = attackmap.analyze(PRIVILEGED, entries=["image"], goals=["T1611"])
    (minimal,) = report.workloads[0].minimal_controls
    assert minimal.goals == ("T1611",)
    assert minimal.unreachable_after and minimal.unbroken_paths == 0
    # Privileged + hostPID: both escape vectors need privileged; one control suffices.
    assert minimal.controls == ("unprivileged@Pod/ml/gpu-debug",)
    after = report.apply(minimal.controls)
    assert "T1611" not in after.workloads[0].technique_ids()


def test_minimal_controls_on_demand_matches_report() -> None:
    report = attackmap.analyze(NIM, goals=["T1528", "T1552.001"])
    (in_report,) = report.workloads[0].minimal_controls
    on_demand = report.minimal_controls(report.workloads[0].ref, ["T1552.001", "T1528"])
    assert on_demand.controls == in_report.controls
    # A malicious image still reads what the pod is given: paths that no control breaks
    # are counted, not hidden.
    assert in_report.unbroken_paths == 0
    patched = report.apply(in_report.controls)
    assert not {"T1528", "T1552.001"} & set(patched.workloads[0].technique_ids())


def test_goal_that_no_control_breaks_is_reported_as_remaining() -> None:
    report = attackmap.analyze(NIM, entries=["image"], goals=["T1496.001"])
    (minimal,) = report.workloads[0].minimal_controls
    assert not minimal.unreachable_after
    assert minimal.unbroken_paths >= 1


def test_apply_rejects_unknown_or_untargeted_controls() -> None:
    report = attackmap.analyze(PRIVILEGED)
    # a bare control applies where it breaks a path (tests/test_library_ergonomics.py)
    bare, targeted = report.apply(["unprivileged"]), report.apply(["unprivileged@Pod/ml/gpu-debug"])
    assert bare.to_json() == targeted.to_json()
    with pytest.raises(AttackmapError, match="unknown control"):
        report.apply(["make-it-safe@Pod/ml/gpu-debug"])


def test_apply_needs_manifests_not_an_inventory() -> None:
    report = attackmap.analyze(attackmap.load(PRIVILEGED))
    with pytest.raises(AttackmapError, match="needs the manifests"):
        report.apply(["unprivileged@Pod/ml/gpu-debug"])


def test_pss_tradeoff_measures_what_the_next_level_removes() -> None:
    report = attackmap.analyze(PRIVILEGED)
    pss = report.workloads[0].pss
    assert pss is not None
    assert (pss.lowest_level, pss.next_level) == ("privileged", "baseline")
    assert set(pss.next_violations) == {"hostNamespaces", "privileged"}
    assert "unprivileged@Pod/ml/gpu-debug" in pss.controls
    assert pss.removes is not None and "T1611" in pss.removes
    # GPU hijacking stays: baseline does not take GPUs away.
    assert "T1496.001" not in pss.removes


def test_pss_tradeoff_for_nim_default_is_measured() -> None:
    pss = attackmap.analyze(NIM).workloads[0].pss
    assert pss is not None and pss.lowest_level == "baseline" and pss.next_level == "restricted"
    assert set(pss.next_violations) >= {"allowPrivilegeEscalation", "runAsNonRoot"}
    assert pss.removes is not None


def test_report_json_is_deterministic_and_names_the_schema() -> None:
    a = attackmap.analyze(NIM).to_json()
    b = attackmap.analyze(NIM).to_json()
    assert a == b
    assert json.loads(a)["schema"] == "attackmap.report/v2"  # compact or indented


# -- issue 17: wider exposure (Istio routes, SSH ports) never removes a technique ----------


def _exposure_docs(service_type: str, privileged: bool, policy: bool) -> list[dict[str, object]]:
    pod: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "llm", "namespace": "nim", "labels": {"app": "llm"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "nvcr.io/nim/meta/llama3:1.0",
                    "ports": [{"containerPort": 8000}],
                    "securityContext": {"privileged": privileged},
                }
            ]
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "llm", "namespace": "nim"},
        "spec": {"type": service_type, "selector": {"app": "llm"}, "ports": [{"port": 8000}]},
    }
    docs: list[dict[str, object]] = [pod, service]
    if policy:  # admits only the ingress gateway's namespace (a peer)
        docs.append(
            {
                "apiVersion": "cilium.io/v2",
                "kind": "CiliumNetworkPolicy",
                "metadata": {"name": "gw", "namespace": "nim"},
                "spec": {
                    "endpointSelector": {},
                    "ingress": [
                        {
                            "fromEndpoints": [
                                {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "istio-system"}}
                            ]
                        }
                    ],
                },
            }
        )
    return docs


_WIDER = {
    "virtual-service": {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "llm", "namespace": "nim"},
        "spec": {"hosts": ["llm.example.com"], "gateways": ["istio-system/public"], "http": [{"route": [{"destination": {"host": "llm"}}]}]},
    },
    "ssh-service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "ssh", "namespace": "nim"},
        "spec": {"type": "NodePort", "selector": {"app": "llm"}, "ports": [{"port": 2222}]},
    },
}  # fmt: skip


@pytest.mark.parametrize("wider", sorted(_WIDER))
@pytest.mark.parametrize("service_type", ["ClusterIP", "LoadBalancer"])
@pytest.mark.parametrize("privileged", [False, True])
@pytest.mark.parametrize("policy", [False, True])
def test_wider_exposure_never_removes_a_technique(
    wider: str, service_type: str, privileged: bool, policy: bool
) -> None:
    docs = _exposure_docs(service_type, privileged, policy)
    entries = ["external", "cluster", "image"]
    before = _techniques(attackmap.analyze(docs, entries=entries))
    after = _techniques(attackmap.analyze([*docs, _WIDER[wider]], entries=entries))
    assert before <= after
    if wider == "virtual-service" and service_type == "ClusterIP":
        assert "T1190" in after  # through the gateway, the policy admitting it or not


def test_a_large_cluster_lets_its_graph_go_and_builds_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above PSS_TRADEOFF_MAX_WORKLOADS the analysis drops its graph once the paths are
    found (memory), unless it has goals (their minimal controls' patched graphs are
    spliced from it); the report's paths are the same, and the graph, minimal controls and
    apply() work on the graph built again."""
    from attackmap.graph import _analysis

    kept = attackmap.analyze(NIM, goals=["T1528"])
    monkeypatch.setattr(_analysis, "PSS_TRADEOFF_MAX_WORKLOADS", 0)
    with_goals = attackmap.analyze(NIM, goals=["T1528"])
    assert with_goals._analyzer._graph is not None  # type: ignore[union-attr]
    released = attackmap.analyze(NIM)
    assert getattr(released._analyzer, "_graph", "missing") is None  # let go
    assert [w.minimal_controls for w in with_goals.workloads] == [
        w.minimal_controls for w in kept.workloads
    ]

    def paths(report: attackmap.Report) -> list[tuple[object, ...]]:
        return [
            (str(w.ref), t.technique.id, p.key, p.broken_by, p.steps)
            for w in report.workloads
            for t in w.techniques
            for p in t.paths
        ]

    assert paths(released) == paths(kept)
    graph, before = released.attack_graph, kept.attack_graph
    assert graph is not None and before is not None
    assert graph.nodes() == before.nodes() and graph.edges() == before.edges()
    ref = released.workloads[0].ref
    assert released.minimal_controls(ref, ["T1611"]) == kept.minimal_controls(ref, ["T1611"])
    (minimal,) = kept.workloads[0].minimal_controls
    assert paths(released.apply(minimal.controls)) == paths(kept.apply(minimal.controls))


def _first_hitting_set(sets: list[frozenset[str]]) -> tuple[str, ...] | None:
    """The reference: of the smallest size (at most 6), the first combination of the sorted
    controls, in ``itertools.combinations`` order, that meets every set."""
    universe = sorted(set().union(*sets))
    for size in range(1, min(len(universe), 6) + 1):
        for combo in itertools.combinations(universe, size):
            if all(s & set(combo) for s in sets):
                return combo
    return None


@given(
    st.lists(
        st.frozensets(st.sampled_from([f"c{i:02d}@W" for i in range(14)]), min_size=1),
        min_size=1,
        max_size=12,
    )
)
@settings(max_examples=300, deadline=None)
def test_the_exact_hitting_set_is_the_first_smallest_combination(
    sets: list[frozenset[str]],
) -> None:
    # Minimal controls pick, among the smallest control sets that break every path, the
    # first in the order of the sorted controls' combinations; the search that prunes
    # what cannot meet every set must find that same one (the report depends on it).
    expected = _first_hitting_set(sets)
    chosen, exact = _hitting_set(sets)
    if expected is not None:
        assert (chosen, exact) == (expected, True)
    else:  # no cover of 6 or fewer: the greedy one, which meets every set
        assert not exact and all(s & set(chosen) for s in sets)
