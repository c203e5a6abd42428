"""RBAC rights that the catalogue follows to their consequences (issue 17): DaemonSets,
impersonation limited by ``resourceNames``, ``escalate`` on a role bound to oneself and
``bind`` in a namespace. Each test names a manifest of its own (``manifests/steps/...``
or built here) that the analysis before issue 17 got wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import attackmap
from attackmap.graph import Report

STEPS = Path(__file__).resolve().parent / "manifests" / "steps"


def _paths(report: Report, technique: str) -> set[tuple[str, ...]]:
    """The step ids of every reported path to ``technique``, over all workloads."""
    return {
        tuple(s.id for s in p.steps)
        for w in report.workloads
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
    }


def _ends_with(report: Report, technique: str, *steps: str) -> bool:
    return any(p[-len(steps) :] == steps for p in _paths(report, technique))


def _docs(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d]


# -- DaemonSets ---------------------------------------------------------------------------


def test_creating_a_daemonset_is_a_container_service_on_every_node() -> None:
    report = attackmap.analyze(STEPS / "deploy-daemonset" / "fires.yaml")
    assert _ends_with(report, "T1543.005", "use-sa-token", "deploy-daemonset")
    # the namespace admits privileged pods: the DaemonSet's pods are root on the nodes
    assert _ends_with(report, "T1611", "deploy-daemonset", "deploy-privileged-pod")


def test_patching_a_daemonset_deploys_without_any_create_right() -> None:
    """patch on daemonsets alone: no create right, yet the rewritten template runs on
    every node, so the namespace's admission decides what it may do."""
    report = attackmap.analyze(STEPS / "deploy-daemonset" / "fires-patch.yaml")
    assert _ends_with(report, "T1543.005", "deploy-daemonset")
    assert _ends_with(report, "T1611", "deploy-daemonset", "deploy-privileged-pod")
    text = (STEPS / "deploy-daemonset" / "fires-patch.yaml").read_text()
    baseline = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "nim", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
    }
    enforced = attackmap.analyze([*_docs(text), baseline])
    assert _ends_with(enforced, "T1543.005", "deploy-daemonset")
    assert "T1611" not in {t.technique.id for w in enforced.workloads for t in w.techniques}
