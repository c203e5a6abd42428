"""Fixtures for the ATT&CK knowledge-base tests: isolated cache/env, bundles to load."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from attack_helpers import SLICE_FILE, Obj, WriteBundle, shared_bundle


@pytest.fixture(autouse=True)
def isolated_attack_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No user cache, no env override: every test starts from the bundled default."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ATTACKMAP_CACHE_DIR", str(cache))
    monkeypatch.delenv("ATTACKMAP_ATTACK_BUNDLE", raising=False)
    yield cache


@pytest.fixture
def bundle_18() -> Path:
    return shared_bundle("18.1")


@pytest.fixture
def bundle_17() -> Path:
    return shared_bundle("17.1")


@pytest.fixture(scope="session")
def _slice_objects() -> list[Obj]:
    objects: list[Obj] = json.loads(SLICE_FILE.read_bytes())["objects"]
    return objects


@pytest.fixture
def slice_objects(_slice_objects: list[Obj]) -> list[Obj]:
    """A private deep copy of the committed slice's objects, free to mutate."""
    return copy.deepcopy(_slice_objects)


@pytest.fixture
def write_bundle(tmp_path: Path) -> WriteBundle:
    """Write ``objects`` as a bundle file; ``collection=`` adds an x-mitre-collection with that
    version (as official releases carry), ``stix21`` marks objects 2.1, ``gz`` compresses."""

    def write(
        objects: list[Obj],
        name: str = "bundle.json",
        *,
        collection: str | None = None,
        stix21: bool = False,
        gz: bool = False,
    ) -> Path:
        objs = copy.deepcopy(objects)
        if collection is not None:
            objs.append(
                {
                    "type": "x-mitre-collection",
                    "id": "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019",
                    "name": "Enterprise ATT&CK",
                    "x_mitre_version": collection,
                    "created": "2018-01-17T12:56:55.080Z",
                    "modified": "2025-10-28T12:00:00.000Z",
                }
            )
        if stix21:
            for obj in objs:
                obj["spec_version"] = "2.1"
        data = json.dumps({"type": "bundle", "id": "bundle--test", "objects": objs}).encode()
        path = tmp_path / name
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        return path

    return write
