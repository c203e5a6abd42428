"""Access to the packaged data (``data/``) and mappings (``mappings/``).

Both folders live at the top of the repository for review and are packaged into the
wheel as ``attackmap/data`` and ``attackmap/mappings``; they are always read through
:mod:`importlib.resources`, never through paths relative to the source tree.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def data_dir() -> Traversable:
    """The packaged ``data/`` folder."""
    return resources.files("attackmap").joinpath("data")


def mappings_dir() -> Traversable:
    """The packaged ``mappings/`` folder."""
    return resources.files("attackmap").joinpath("mappings")
