"""The local engine: this process, or a pool of worker processes on this machine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from attackmap._gc import paused
from attackmap.engines.interface import EngineError

T = TypeVar("T")
R = TypeVar("R")


class LocalEngine:
    """``workers`` processes: 1 runs every task here, in order; more fork a pool (the
    workers inherit what this process has imported and loaded)."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise EngineError(
                f"workers must be a positive integer, got {workers!r}", field="workers"
            )
        self.workers = workers

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.workers == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        # imported here: a one-process run (the CLI's default) starts no pool machinery
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(items)),
            mp_context=multiprocessing.get_context("fork"),
        ) as pool:
            # every task submitted: the workers are forked now, with the collector as it is
            # here (a worker runs many tasks of a fleet: its collector stays as it was)
            results = pool.map(fn, items)
            # the results arrive pickled (shard reports: millions of objects, no cycles):
            # with the collector running, unpickling one took 5x the CPU (docs/scaling.md)
            with paused():
                return list(results)
