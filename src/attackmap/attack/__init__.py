"""The MITRE ATT&CK knowledge base attackmap maps onto.

``load_attack()`` gives an immutable :class:`AttackKB` over one ATT&CK Enterprise release:
by default the facts-only Containers slice bundled in ``data/attack/`` (ATT&CK 18.1), or any
Enterprise STIX 2.0/2.1 bundle (sliced on load). ``diff`` compares releases, ``update``
installs a newer official release as the default, ``build_slice`` writes a slice.

``load_atlas()`` gives the :class:`AtlasKB` over MITRE ATLAS (the bundled facts-only slice in
``data/atlas/``, ATLAS 5.6.0); an ``AttackKB`` answers ATLAS ids (``AML.T0040``) through it, so
one knowledge base object serves both frameworks. ``build_atlas_slice`` writes that slice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from attackmap.attack._atlas import AtlasKB, build_atlas_slice, load_atlas
from attackmap.attack._kb import AttackKB
from attackmap.attack._load import ENV_BUNDLE, ENV_CACHE, cache_dir, load_attack
from attackmap.attack._models import (
    AttackSource,
    Framework,
    Mitigation,
    Status,
    Tactic,
    Technique,
    framework_of,
    within_goals,
)

if TYPE_CHECKING:
    from attackmap.attack._diff import AttackDiff, Change, diff
    from attackmap.attack._slice import SliceManifest, build_slice
    from attackmap.attack._update import UpdateResult, update

# Imported on first use: diff, slicing and updating (urllib, tempfile...) are not needed to
# load the knowledge base, and analysis starts faster without them.
_LAZY = {
    "AttackDiff": "_diff",
    "Change": "_diff",
    "diff": "_diff",
    "SliceManifest": "_slice",
    "build_slice": "_slice",
    "UpdateResult": "_update",
    "update": "_update",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'attackmap.attack' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"attackmap.attack.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ENV_BUNDLE",
    "ENV_CACHE",
    "AtlasKB",
    "AttackDiff",
    "AttackKB",
    "AttackSource",
    "Change",
    "Framework",
    "Mitigation",
    "SliceManifest",
    "Status",
    "Tactic",
    "Technique",
    "UpdateResult",
    "build_atlas_slice",
    "build_slice",
    "cache_dir",
    "diff",
    "framework_of",
    "load_atlas",
    "load_attack",
    "update",
    "within_goals",
]
