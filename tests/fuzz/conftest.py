"""Hypothesis profiles for the property and fuzz tests in this folder.

* no profile given (``make test``, CI): hypothesis' ``default`` profile; each test here
  asks for a small budget through :func:`fuzz_helpers.budget` (the folder's CI share
  stays well under 30 s);
* ``--hypothesis-profile=fuzz`` (``make fuzz``): a long, randomised run; the number of
  examples per test is ``ATTACKMAP_FUZZ_EXAMPLES`` (default 5000), and the atheris
  campaign (``test_atheris.py``) runs ``ATTACKMAP_FUZZ_SECONDS`` (default 60) per target.

The profiles are registered here (an initial conftest of ``pytest tests/fuzz``, so it
exists before hypothesis' plugin loads ``--hypothesis-profile``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("ATTACKMAP_FUZZ_EXAMPLES", "5000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@pytest.fixture(autouse=True)
def _restore_attackmap_logger() -> Iterator[None]:
    """``cli.main`` points the ``attackmap`` logger at a capsys buffer; undo it."""
    logger = logging.getLogger("attackmap")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
