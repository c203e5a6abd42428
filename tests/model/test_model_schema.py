"""The checked-in ClusterContext JSON Schema is the one the model generates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]  # no stubs in the venv; only validate() is used

from attackmap.model import cluster_context_schema

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schema" / "cluster-context-v1.json"


def test_schema_file_is_generated_from_the_model() -> None:
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == cluster_context_schema(), (
        "regenerate docs/schema/cluster-context-v1.json from attackmap.model.cluster_context_schema()"
    )


def test_example_validates() -> None:
    example = {
        "apiVersion": "attackmap/v1",
        "kind": "ClusterContext",
        "metadata": {"name": "gpu-prod"},
        "spec": {
            "kubernetesVersion": "1.31",
            "containerRuntime": {"name": "containerd", "version": "1.7.22", "lowLevel": "runc"},
            "kernelVersion": "6.8.0",
            "nvidia": {
                "containerToolkit": "1.17.3",
                "gpuOperator": "24.9.1",
                "devicePlugin": "0.17.0",
                "cdi": False,
            },
            "kubelet": {"seccompDefault": False},
            "appArmor": True,
        },
    }
    jsonschema.validate(example, cluster_context_schema())
