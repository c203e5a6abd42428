"""Shared exporter helpers: fixed release timestamps, ATT&CK links."""

from __future__ import annotations

import json

import pytest
from exporter_helpers import REPO_ROOT

from attackmap.exporters._common import (
    FALLBACK_TIMESTAMP,
    RELEASE_TIMESTAMPS,
    attack_url,
    release_timestamp,
)

SHARED_ATTACK = REPO_ROOT.parent / "shared" / "attack"


@pytest.mark.parametrize("version", sorted(RELEASE_TIMESTAMPS))
def test_release_timestamps_are_the_latest_modified_of_the_release(version: str) -> None:
    bundle = SHARED_ATTACK / f"enterprise-attack-{version}.json"
    if not bundle.exists():
        pytest.skip(f"reference data not available: {bundle} (../shared is absent)")
    objects = json.loads(bundle.read_text())["objects"]
    kinds = {"attack-pattern", "course-of-action", "x-mitre-tactic", "relationship"}
    latest = max(o.get("modified", "") for o in objects if o["type"] in kinds)
    assert RELEASE_TIMESTAMPS[version] == latest


def test_unknown_release_gets_a_constant_timestamp() -> None:
    assert release_timestamp("99.0") == FALLBACK_TIMESTAMP


def test_attack_urls() -> None:
    assert attack_url("T1552.001") == "https://attack.mitre.org/techniques/T1552/001/"
    assert attack_url("M1048") == "https://attack.mitre.org/mitigations/M1048/"
