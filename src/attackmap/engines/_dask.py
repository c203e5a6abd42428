"""The Dask engine: tasks on a ``dask.distributed`` cluster (the ``dask`` extra).

Each task runs ``attackmap`` on a worker, so every worker needs the same attackmap
installed and must see the inputs the tasks name (a shared filesystem, or inputs passed
as data through the Python API). Only the results travel back: each a report without its
attack graph.
"""

from __future__ import annotations

import logging
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


def _check_address(distributed: Any, scheduler: str) -> None:
    """Raise ``ValueError`` for an address the CLI cannot connect to: another protocol than
    TCP (TLS needs a security configuration, UCX its own package: a
    ``dask.distributed.Client`` made for them goes to the Python API), no port, or a port
    no connection can use (outside 1-65535, which distributed would try until its connect
    timeout, 30 s by default, and then report as a timeout)."""
    scheme, location = distributed.comm.parse_address(scheduler)
    if scheme != "tcp":
        raise ValueError(
            f"the CLI connects to tcp:// schedulers, not {scheme}:// (pass a "
            "dask.distributed.Client made for it to attackmap.engines.analyze_fleet)"
        )
    _host, _, port = location.rpartition(":")
    if not _host or not port.isascii() or not port.isdigit():
        raise ValueError(f"expected tcp://HOST:PORT, got {scheduler!r}")
    if not 0 < int(port) < 65536:
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

    def settle(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R | EngineError]:
        """:meth:`map`, but a task the cluster gave up on because its workers died
        (``KilledWorker``: killed, out of memory, after distributed's allowed failures) has
        an :class:`EngineError` in its place, the other tasks' results beside it (a
        fleet's ``keep_going``). Any exception ``fn`` raises is raised, in task order."""
        distributed = _distributed()
        if not items:
            return []
        futures = self.client.map(fn, list(items), pure=False)
        distributed.wait(futures)
        out: list[R | EngineError] = []
        for item, future in zip(items, futures, strict=True):
            if _killed(distributed, future):
                # a task beside the one that killed the worker (queued on it) is given up
                # on too: each runs again alone, and is lost only if it kills again
                future = self.client.submit(fn, item, pure=False)
                distributed.wait([future])
                if _killed(distributed, future):
                    out.append(
                        EngineError(
                            "the Dask workers that ran it ended (killed, or out of memory)",
                            field="--engine",
                            hint="give the workers more memory (dask worker --memory-limit)",
                        )
                    )
                    continue
            with paused():  # (see map; another error, or a cancelled task, is raised)
                out.append(future.result())
        return out


def _killed(distributed: Any, future: Any) -> bool:
    """Whether the cluster gave up on ``future`` because its workers died."""
    return future.status == "error" and isinstance(future.exception(), distributed.KilledWorker)


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
                # the scheduler's HTTP server (health and metrics, kept without the
                # dashboard) on a free port of this machine alone: by default on every
                # interface's 8787, with a warning where that port is taken
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                # a task's input error is the run's error, said once by attackmap: not
                # also logged by each worker with its traceback
                silence_logs=logging.CRITICAL,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield DaskEngine(client)
        return
    try:
        _check_address(distributed, scheduler)
        _probe(distributed, scheduler)
        client = distributed.Client(scheduler)  # within distributed.comm.timeouts.connect
    except (OSError, TimeoutError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or "timed out"
        raise EngineError(
            f"cannot reach the Dask scheduler at {scheduler}: {reason}",
            field="--scheduler",
            hint=_SCHEDULER_HINT,
        ) from e
    with client:
        # a scheduler without workers would hold the tasks, silently, until one joins
        wait = _timeout_s("distributed.comm.timeouts.connect")
        try:
            client.wait_for_workers(1, timeout=wait)
        except (OSError, TimeoutError) as e:
            raise EngineError(
                f"the Dask scheduler at {scheduler} has no workers (none joined in {wait:g} s)",
                field="--scheduler",
                hint="start workers with `dask worker ADDRESS` (each with attackmap installed)",
            ) from e
        yield DaskEngine(client)


def _probe(distributed: Any, scheduler: str) -> None:
    """Raise ``OSError`` unless a Dask scheduler answers at ``scheduler`` (a ``tcp://``
    address), before a client is made: a refused connection is said at once, where a
    client retries it until its connect timeout (30 s by default); a service that is no
    scheduler (the dashboard's HTTP port, given by mistake) is said too, where a client
    waited on it without end or failed with a traceback; and a client that fails to
    connect leaves its IO loop's thread running in the process, which then never forks
    (:func:`attackmap._fork.fork_refusal`: a notebook's later ``analyze(..., workers=2)``
    ran in one process).

    A Dask server speaks first: its handshake, one message of distributed's TCP framing
    (its length, 8 bytes, then that many bytes). The probe answers with the same message
    (a handshake of the same options), so the scheduler logs no half-made connection."""
    import socket
    import struct

    _scheme, location = distributed.comm.parse_address(scheduler)
    host, port = distributed.comm.addressing.parse_host_port(location)
    wait = _timeout_s("distributed.comm.timeouts.connect")
    with socket.create_connection((host, port), timeout=wait) as conn:
        try:
            head = _received(conn, 8)
            (size,) = struct.unpack("Q", head)
            if not 0 < size <= _MAX_HANDSHAKE:
                raise OSError(f"the service at {location} is not a Dask scheduler")
            conn.sendall(head + _received(conn, size))
        except TimeoutError as e:
            raise OSError(
                f"no Dask scheduler answered in {wait:g} s (another service listens there: "
                "the scheduler's port is 8786 by default, its dashboard's 8787)"
            ) from e


#: The longest handshake the probe reads (a scheduler's is a few hundred bytes).
_MAX_HANDSHAKE = 1 << 16


def _received(conn: Any, size: int) -> bytes:
    """``size`` bytes from socket ``conn`` (``OSError`` where it closes first)."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("the connection closed before a Dask scheduler's handshake")
        data += chunk
    return data


def _timeout_s(key: str) -> float:
    """Dask's configured duration ``key`` in seconds."""
    import dask

    return float(dask.utils.parse_timedelta(dask.config.get(key), default="seconds"))
