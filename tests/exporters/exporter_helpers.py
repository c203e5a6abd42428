"""Helpers of the exporter tests. Reports they render: the NIM Helm default (always present, analysed with a
repository-relative path so outputs are the same in every clone) and, when ../shared is
there, the load-balancer + ingress render from the corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import attackmap
from attackmap.graph import Report

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MANIFEST = "examples/nim/nim-deploy-default.yaml"
LB_MANIFEST = (
    REPO_ROOT.parent / "shared" / "corpus" / "nim" / "nim-deploy-loadbalancer-ingress.yaml"
)
GOALS = ("T1611", "T1552.001")


def analyze_in_repo(manifest: str, **kwargs: Any) -> Report:
    """``attackmap.analyze`` with the repository root as working directory."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        return attackmap.analyze(manifest, **kwargs)
