"""Engines: where analyses run, and the exact join of their results.

* :func:`analyze_fleet` — one report per cluster of a fleet, one task per cluster or per
  shard of a large cluster, each report equal to :func:`attackmap.analyze`'s;
* :class:`LocalEngine` — this process or a local process pool (the default);
* :class:`DaskEngine` — a ``dask.distributed`` cluster (the ``dask`` extra);
* :class:`Engine` — what an engine is (``map(fn, items)``), for another scheduler;
* :func:`join` — shard reports of one cluster as one report.

How to run it and what it costs: ``docs/scaling.md``.
"""

from __future__ import annotations

from attackmap.engines._dask import DaskEngine
from attackmap.engines._fleet import analyze_fleet, join
from attackmap.engines._local import LocalEngine
from attackmap.engines.interface import Engine, EngineError

__all__ = ["DaskEngine", "Engine", "EngineError", "LocalEngine", "analyze_fleet", "join"]
