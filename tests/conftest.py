"""Shared test fixtures.

``../shared`` (reference data beside the repository) is optional: users' clones lack it, so
tests that need it use the ``shared_dir`` fixture and are skipped, with a reason, without it.
"""

from __future__ import annotations

from pathlib import Path

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
