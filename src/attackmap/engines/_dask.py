"""The Dask engine: tasks on a ``dask.distributed`` cluster (the ``dask`` extra).

Each task runs ``attackmap`` on a worker, so every worker needs the same attackmap
installed and must see the inputs the tasks name (a shared filesystem, or inputs passed
as data through the Python API). Only the results travel back: each a report without its
attack graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from attackmap._gc import paused
from attackmap.engines.interface import EngineError

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'attackmap[dask]' (dask and dask.distributed)"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise EngineError(
            "the dask engine needs dask.distributed, which is not installed",
            field="--engine",
            hint=INSTALL_HINT,
        ) from e
    return distributed


_SCHEDULER_HINT = (
    "start one with `dask scheduler` and workers with `dask worker ADDRESS` "
    "(each with attackmap installed), then pass its tcp://HOST:PORT"
)


def _check_port(distributed: Any, scheduler: str) -> None:
    """Raise ``ValueError`` for a TCP or TLS address whose port no connection can use
    (outside 1-65535): distributed would try it until its connect timeout (30 s by
    default) and then report a timeout, not the address."""
    scheme, location = distributed.comm.parse_address(scheduler)
    if scheme not in ("tcp", "tls"):
        return
    _host, port = distributed.comm.addressing.parse_host_port(location)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range (1-65535)")


class DaskEngine:
    """Runs tasks through ``client`` (a ``dask.distributed.Client``), one Dask task each."""

    name = "dask"

    def __init__(self, client: Any) -> None:
        distributed = _distributed()
        if not isinstance(client, distributed.Client):
            raise EngineError(
                f"client must be a dask.distributed.Client, got {type(client).__name__}",
                field="client",
            )
        self.client = client

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if not items:
            return []
        # pure=False: two tasks with equal arguments are still two tasks (never merged)
        futures = self.client.map(fn, list(items), pure=False)
        # the results are unpickled here (shard reports: millions of objects, no cycles):
        # with the collector running, that took 5x the CPU (docs/scaling.md)
        with paused():
            return list(self.client.gather(futures))


@contextmanager
def connect(scheduler: str | None, workers: int | None = None) -> Iterator[DaskEngine]:
    """A :class:`DaskEngine` on the scheduler at ``scheduler`` (``tcp://host:8786``), or,
    without one, on a cluster of ``workers`` local processes started for the run and
    stopped after it."""
    distributed = _distributed()
    if scheduler is None:
        with (
            distributed.LocalCluster(
                n_workers=workers or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield DaskEngine(client)
        return
    try:
        _check_port(distributed, scheduler)
        client = distributed.Client(scheduler)  # within distributed.comm.timeouts.connect
    except (OSError, TimeoutError, ValueError) as e:
        raise EngineError(
            f"cannot reach the Dask scheduler at {scheduler}: {e}",
            field="--scheduler",
            hint=_SCHEDULER_HINT,
        ) from e
    with client:
        yield DaskEngine(client)
