"""The MITRE ATT&CK knowledge base attackmap maps onto.

``load_attack()`` gives an immutable :class:`AttackKB` over one ATT&CK Enterprise release:
by default the facts-only Containers slice bundled in ``data/attack/`` (ATT&CK 18.1), or any
Enterprise STIX 2.0/2.1 bundle (sliced on load). ``diff`` compares releases, ``update``
installs a newer official release as the default, ``build_slice`` writes a slice.
"""

from __future__ import annotations

from attackmap.attack._diff import AttackDiff, Change, diff
from attackmap.attack._kb import AttackKB
from attackmap.attack._load import ENV_BUNDLE, ENV_CACHE, cache_dir, load_attack
from attackmap.attack._models import AttackSource, Mitigation, Status, Tactic, Technique
from attackmap.attack._slice import SliceManifest, build_slice
from attackmap.attack._update import UpdateResult, update

__all__ = [
    "ENV_BUNDLE",
    "ENV_CACHE",
    "AttackDiff",
    "AttackKB",
    "AttackSource",
    "Change",
    "Mitigation",
    "SliceManifest",
    "Status",
    "Tactic",
    "Technique",
    "UpdateResult",
    "build_slice",
    "cache_dir",
    "diff",
    "load_attack",
    "update",
]
