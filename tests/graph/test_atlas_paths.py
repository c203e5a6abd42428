"""MITRE ATLAS on a NIM deployment (issue 18's "done when"): the AI techniques an open
deployment reaches, with their paths and the controls that break them, and none of them once
the model store is read-only, the image pinned by digest and ingress isolated."""

from __future__ import annotations

from pathlib import Path

import pytest

from attackmap.graph import Report, analyze

MANIFESTS = Path(__file__).resolve().parent / "manifests" / "atlas"
NIM = "NIMService/nim/llama"
#: poisoning, inference API access, cost harvesting (the issue's three), and the registry
#: supply chain a digest closes
THE_THREE = ("AML.T0018.000", "AML.T0040", "AML.T0034")


@pytest.fixture(scope="module")
def open_report() -> Report:
    return analyze(MANIFESTS / "nim-open.yaml")


@pytest.fixture(scope="module")
def closed_report() -> Report:
    return analyze(MANIFESTS / "nim-closed.yaml")


def _routes(report: Report, tid: str) -> dict[tuple[str, ...], tuple[str, ...]]:
    finding = report.workload(NIM).finding(tid)
    assert finding is not None, f"{tid} not reported"
    return {
        (p.entry, *(s.id for s in p.steps)): tuple(c.split("@")[0] for c in p.broken_by)
        for p in finding.paths
    }


def test_open_deployment_reports_the_ai_techniques(open_report: Report) -> None:
    w = open_report.workload(NIM)
    for tid in (*THE_THREE, "AML.T0010.004"):
        finding = w.finding(tid)
        assert finding is not None and finding.paths, tid
        assert finding.technique.framework == "atlas"
    # The public LoadBalancer with no NetworkPolicy: anyone on the internet uses the model.
    api = _routes(open_report, "AML.T0040")
    assert set(api[("external", "inference-api-external")]) == {
        "internal-service-only",
        "isolate-ingress",
    }
    cost = _routes(open_report, "AML.T0034")
    assert ("external", "inference-api-external", "ai-cost-harvesting") in cost
    # Code execution through the exposed server, then the writable store: the read-only
    # store breaks the path as well as keeping the attacker out.
    poison = _routes(open_report, "AML.T0018.000")
    path = ("external", "exploit-external-service", "write-model-store", "poison-served-model")
    assert "read-only-model-store" in poison[path]
    registry = _routes(open_report, "AML.T0010.004")
    assert registry[("image", "ai-registry-supply-chain")] == ("pin-image-digest",)


def test_hardened_deployment_reports_none_of_them(closed_report: Report) -> None:
    reached = set(closed_report.workload(NIM).technique_ids())
    assert not reached & {*THE_THREE, "AML.T0010.004", "AML.T0029", "AML.T0024.002"}
    # what the three changes do not touch stays: code run from a malicious image can still
    # read the (read-only) weights
    assert "AML.T0035" in reached


def test_applying_the_three_controls_gives_the_hardened_result(open_report: Report) -> None:
    """The controls' patches (read-only store, digest, ingress policy) applied to the open
    manifest remove the same techniques the hand-written hardened manifest does."""
    after = open_report.apply(
        [f"{c}@{NIM}" for c in ("read-only-model-store", "pin-image-digest", "isolate-ingress")]
    )
    reached = set(after.workload(NIM).technique_ids())
    assert not reached & {*THE_THREE, "AML.T0010.004"}


def test_both_frameworks_side_by_side(open_report: Report) -> None:
    frameworks = {t.technique.framework for t in open_report.workload(NIM).techniques}
    assert frameworks == {"attack", "atlas"}
    assert open_report.atlas_version == "5.6.0"
    doc = open_report.to_dict()
    assert doc["atlas"] == {"version": "5.6.0"}
    by_id = {tid: t["framework"] for tid, t in doc["techniques"].items()}  # report/v2: stated once
    assert by_id["T1190"] == "attack" and by_id["AML.T0040"] == "atlas"


def _gpu_pod(image: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "srv", "namespace": "ml", "labels": {"app": "srv"}},
        "spec": {
            "containers": [
                {
                    "name": "srv",
                    "image": image,
                    "ports": [{"containerPort": 8080}],
                    "resources": {"limits": {"nvidia.com/gpu": 1}},
                }
            ]
        },
    }


def test_an_unknown_model_server_is_said_not_assessed() -> None:
    """A GPU server attackmap cannot recognise gets no ATLAS API techniques (no guess), and
    the report says they were not assessed rather than staying silent."""
    unknown = analyze([_gpu_pod("registry.example.com/acme/llm-server:2")]).workloads[0]
    assert not {t for t in unknown.technique_ids() if t.startswith("AML.T004")}
    assert any("not assessed" in w and "AML.T0040" in w for w in unknown.warnings)
    known = analyze([_gpu_pod("vllm/vllm-openai:v0.6.3")]).workloads[0]
    assert "AML.T0040" in known.technique_ids()
    assert not any("not assessed" in w for w in known.warnings)
