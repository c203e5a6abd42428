"""Access to the packaged data (``data/``) and mappings (``mappings/``).

Both folders live at the top of the repository for review and are packaged into the
wheel as ``attackmap/data`` and ``attackmap/mappings``; they are always read through
:mod:`importlib.resources`, never through paths relative to the source tree.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from attackmap.errors import AttackmapError


def data_dir() -> Traversable:
    """The packaged ``data/`` folder."""
    return resources.files("attackmap").joinpath("data")


def example_manifest(name: str = "nim-deploy-default.yaml") -> Path:
    """The path of an example manifest shipped with attackmap (``data/examples/``; a copy
    of ``examples/nim/`` checked by a test), so that a notebook finds its input from any
    directory: ``attackmap.analyze(attackmap.example_manifest())``."""
    folder = data_dir().joinpath("examples")
    known = sorted(e.name for e in folder.iterdir() if e.name.endswith(".yaml"))
    if name not in known:
        raise AttackmapError(f"no example manifest {name!r}", hint=f"one of {', '.join(known)}")
    return Path(str(folder.joinpath(name)))  # wheels install as files: a real path


def mappings_dir() -> Traversable:
    """The packaged ``mappings/`` folder."""
    return resources.files("attackmap").joinpath("mappings")
