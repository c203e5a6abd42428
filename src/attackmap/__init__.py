"""attackmap: which ATT&CK (Containers) and ATLAS techniques a Kubernetes GPU workload exposes.

The public API is exactly what this module exports (``__all__``); subpackages
``attackmap.attack``, ``attackmap.pss``, ``attackmap.seccomp``, ``attackmap.audit`` and
``attackmap.exporters`` are public too. Everything ``_``-prefixed is private.

Names are imported lazily so that ``import attackmap`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from attackmap.errors import AttackmapError

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "analyze": "attackmap.graph",
    "Report": "attackmap.graph",
    "load_report": "attackmap.graph",
    "load_attack": "attackmap.attack",
    "AttackKB": "attackmap.attack",
    "load": "attackmap.model",
    "example_manifest": "attackmap._resources",
    "Inventory": "attackmap.model",
    "Workload": "attackmap.model",
    "ClusterContext": "attackmap.model",
}

__all__ = [
    "AttackKB",
    "AttackmapError",
    "ClusterContext",
    "Inventory",
    "Report",
    "Workload",
    "__version__",
    "analyze",
    "example_manifest",
    "load",
    "load_attack",
    "load_report",
]

if TYPE_CHECKING:
    from attackmap._resources import example_manifest as example_manifest
    from attackmap.attack import AttackKB as AttackKB
    from attackmap.attack import load_attack as load_attack
    from attackmap.graph import Report as Report
    from attackmap.graph import analyze as analyze
    from attackmap.graph import load_report as load_report
    from attackmap.model import ClusterContext as ClusterContext
    from attackmap.model import Inventory as Inventory
    from attackmap.model import Workload as Workload
    from attackmap.model import load as load


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'attackmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
