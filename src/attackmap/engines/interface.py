"""What an engine is: something that runs one function over a list of tasks.

An engine knows nothing of attack graphs: :mod:`attackmap.engines._fleet` cuts a fleet
into tasks (one per cluster, or per shard of a large cluster), an engine runs them where it
runs things (this process, a local process pool, a Dask cluster) and hands the results
back in the order of the tasks, and the fleet module joins them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from attackmap.errors import AttackmapError

T = TypeVar("T")
R = TypeVar("R")


class EngineError(AttackmapError):
    """An engine could not run: its optional dependency is missing, its scheduler cannot
    be reached, or its workers run another attackmap."""


class Engine(Protocol):
    """Runs ``fn`` over ``items``; ``fn(item)`` for every item, once (in the order of
    ``items``, or in any other: :func:`~attackmap.engines.analyze_fleet` places each result
    by the task it names). ``fn`` and every item must pickle (a process pool or a remote
    worker runs them); an exception raised by ``fn`` is raised by ``map``."""

    name: str

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]: ...


# An engine may also have ``settle(fn, items) -> list[R | EngineError]``: ``map``'s
# results, but a task whose worker died (killed, out of memory) an ``EngineError`` in its
# place (``LocalEngine.settle``, ``DaskEngine.settle``). ``analyze_fleet(...,
# keep_going=True)`` uses it where there is one: such a task is its cluster's error.
