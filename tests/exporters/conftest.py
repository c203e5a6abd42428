"""Fixtures of the exporter tests (see exporter_helpers for the manifests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exporter_helpers import DEFAULT_MANIFEST, GOALS, LB_MANIFEST, analyze_in_repo

import attackmap
from attackmap.graph import Report


@pytest.fixture(scope="session")
def default_report() -> Report:
    return analyze_in_repo(DEFAULT_MANIFEST, goals=GOALS)


@pytest.fixture(scope="session")
def lb_report() -> Report:
    if not LB_MANIFEST.exists():
        pytest.skip(f"reference data not available: {LB_MANIFEST} (../shared is absent)")
    return attackmap.analyze(str(LB_MANIFEST), goals=GOALS)


@pytest.fixture(scope="session")
def leak_report() -> Report:
    return analyze_in_repo("tests/exporters/data/secret-leak.yaml")


@pytest.fixture(params=["default", "loadbalancer-ingress"])
def report(request: pytest.FixtureRequest) -> Iterator[Report]:
    """Both manifests: the example always, the corpus file when ../shared is present."""
    name = "default_report" if request.param == "default" else "lb_report"
    yield request.getfixturevalue(name)
