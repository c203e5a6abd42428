"""The local engine: this process, or a pool of worker processes on this machine."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from attackmap._gc import paused
from attackmap.engines.interface import EngineError

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class LocalEngine:
    """``workers`` processes: 1 runs every task here, in order; more fork a pool (the
    workers inherit what this process has imported and loaded), except where forking is
    refused (:func:`attackmap._fork.fork_refusal`: another thread runs, a Dask client's or
    a notebook's; this is a worker process already; not Linux), where every task runs here,
    as ``analyze(..., workers=N)`` does."""

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
        from attackmap._fork import fork_refusal

        refusal = fork_refusal()
        if refusal is not None:  # as analyze(workers=N): every task here, the same results
            logger.debug("running %d tasks in this process: %s", len(items), refusal)
            return [fn(item) for item in items]
        from concurrent.futures.process import BrokenProcessPool

        pool = _pool(min(self.workers, len(items)))
        try:
            # every task submitted: the workers are forked now, with the collector as it is
            # here (a worker runs many tasks of a fleet: its collector stays as it was)
            results = pool.map(fn, items)
            # the results arrive pickled (shard reports: millions of objects, no cycles):
            # with the collector running, unpickling one took 5x the CPU (docs/scaling.md)
            with paused():
                found = list(results)
        except BrokenProcessPool as e:
            _stop(pool)
            raise EngineError(
                "a worker process of the local engine ended without its result "
                "(killed, or out of memory)",
                field="workers",
                hint="analyse with fewer processes (--workers 1, workers=1)",
            ) from e
        except BaseException:  # an error, an interrupt, SIGTERM: not waiting for the rest
            _stop(pool)
            raise
        pool.shutdown(wait=True)
        return found

    def settle(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R | EngineError]:
        """:meth:`map`, but a task whose worker process dies (killed, out of memory) has an
        :class:`EngineError` in its place, the other tasks' results beside it (a fleet's
        ``keep_going``). A death breaks the whole pool: the tasks it had not finished run
        again, one at a time, each in a process of its own, so that only the task that
        kills its process again is lost (and one that died of the others' memory
        finishes). Any exception ``fn`` raises is raised, as by :meth:`map`."""
        from attackmap._fork import fork_refusal

        if self.workers == 1 or len(items) <= 1 or fork_refusal() is not None:
            return list(self.map(fn, items))  # here: a death is this process's
        done, lost = self._round(fn, items, range(len(items)), self.workers)
        for i in lost:
            again, dead = self._round(fn, items, [i], 1)
            done.update(again)
            if dead:
                done[i] = EngineError(
                    "a worker process ended while analysing it (killed, or out of memory)",
                    field="workers",
                    hint="analyse it alone, with --workers 1, or on a machine with more memory",
                )
        return [done[i] for i in range(len(items))]

    def _round(
        self, fn: Callable[[T], R], items: Sequence[T], indices: Iterable[int], workers: int
    ) -> tuple[dict[int, R | EngineError], list[int]]:
        """The tasks ``indices`` of ``items`` in a pool of ``workers`` processes: the
        results of those finished, by index, and the indices of those the pool lost when a
        worker died (none when none did)."""
        from concurrent.futures.process import BrokenProcessPool

        wanted = list(indices)
        pool = _pool(min(workers, len(wanted)))
        done: dict[int, R | EngineError] = {}
        lost: list[int] = []
        try:
            futures = {}
            for i in wanted:
                try:
                    futures[i] = pool.submit(fn, items[i])
                except BrokenProcessPool:  # a worker died already: the rest are not taken
                    lost.append(i)
            with paused():  # (the results arrive pickled: see map)
                for i, future in futures.items():
                    try:
                        done[i] = future.result()
                    except BrokenProcessPool:
                        lost.append(i)
        except BaseException:
            _stop(pool)
            raise
        lost.sort()
        if lost:
            _stop(pool)
        else:
            pool.shutdown(wait=True)
        return done, lost


def _pool(workers: int) -> Any:
    """A pool of ``workers`` forked processes, each ending with this one (killed: no orphan
    computes its tasks) and leaving Ctrl-C to it. (Imported here: a one-process run, the
    CLI's default, starts no pool machinery.)"""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from attackmap._fork import pool_worker_start

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=pool_worker_start,
        initargs=(os.getpid(),),
    )


def _stop(pool: Any) -> None:
    """Stop ``pool``'s workers now (``shutdown`` would wait for the tasks they run; the
    executor has no public way to stop them before Python 3.14: its ``_processes``)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join()
    # its workers gone, the pool's thread ends at once, its call queue's feeder joined:
    # waited for, so that neither outlives the call (another thread running, this process
    # would fork no more: attackmap._fork.fork_refusal). Bounded: on Python 3.11 a feeder
    # blocked on a full pipe (tasks of large data) never ends, nor the thread joining it.
    if manager is not None:
        manager.join(timeout=_THREAD_WAIT)


#: How long :func:`_stop` waits for a stopped pool's thread (seconds).
_THREAD_WAIT = 30.0
