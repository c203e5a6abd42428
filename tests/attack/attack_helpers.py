"""Helpers shared by the ATT&CK tests (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_ATTACK = REPO_ROOT.parent / "shared" / "attack"
SLICE_DIR = REPO_ROOT / "data" / "attack"
SLICE_FILE = SLICE_DIR / "enterprise-attack-containers.json"

Obj = dict[str, Any]
WriteBundle = Callable[..., Path]


def shared_bundle(version: str) -> Path:
    """A bundle of ../shared/attack; skips the calling test when ../shared is absent."""
    path = SHARED_ATTACK / f"enterprise-attack-{version}.json"
    if not path.exists():
        pytest.skip(f"reference data not available: {path} (../shared is absent in this clone)")
    return path


def find(objects: list[Obj], attack_id: str, type_: str = "attack-pattern") -> Obj:
    """The object of ``type_`` whose ATT&CK id is ``attack_id``."""
    for obj in objects:
        refs = obj.get("external_references", [])
        if obj["type"] == type_ and refs and refs[0].get("external_id") == attack_id:
            return obj
    raise KeyError(attack_id)
