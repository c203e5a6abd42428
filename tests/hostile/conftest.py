"""Each test starts with the ``attackmap`` logger as the library leaves it.

``attackmap.cli.main`` points the logger at the ``sys.stderr`` of the moment (a capsys
buffer that is closed once its test ends); restoring it keeps later library calls from
logging into a closed stream.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_attackmap_logger() -> Iterator[None]:
    logger = logging.getLogger("attackmap")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers[:] = []
    logger.propagate = True
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
