"""Shared test fixtures.

``../shared`` (reference data beside the repository) is optional: users' clones lack it, so
tests that need it use the ``shared_dir`` fixture and are skipped, with a reason, without it.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ``../shared``; skips the calling test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path} (../shared is absent in this clone)")
    return path


@pytest.fixture
def shared_dir() -> Path:
    return shared_path()


#: A ClusterContext of two node pools: CPU, and GPU nodes tainted for GPU pods only.
NODE_POOLS_CONTEXT = {
    "apiVersion": "attackmap/v1",
    "kind": "ClusterContext",
    "metadata": {"name": "pools"},
    "spec": {
        "nodePools": [
            {"name": "cpu", "labels": {"pool": "cpu"}},
            {
                "name": "gpu",
                "labels": {"pool": "gpu", "nvidia.com/gpu.present": "true"},
                "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
            },
        ]
    },
}


def synthetic_cluster(root: Path, workloads: int, seed: int, *, node_pools: bool = False) -> Path:
    """``root`` filled by ``benchmarks/synth.py`` (namespaces with cross-namespace RBAC,
    network reach, shared model stores); with ``node_pools``, beside it a ClusterContext
    of :data:`NODE_POOLS_CONTEXT`."""
    import yaml

    _synth().generate(root, workloads, seed=seed)
    if node_pools:
        (root / "context.yaml").write_text(yaml.safe_dump(NODE_POOLS_CONTEXT), encoding="utf-8")
    return root


@functools.cache
def _synth() -> Any:
    """``benchmarks/synth.py``, a script beside the benchmarks (not a package)."""
    spec = importlib.util.spec_from_file_location(
        "_attackmap_synth", REPO_ROOT / "benchmarks" / "synth.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module
