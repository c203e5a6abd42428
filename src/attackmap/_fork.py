"""Work split over forked processes that share this process's memory copy-on-write.

One cluster's analysis builds what every workload needs (the inventory, the fact base,
the attack graph) once; :func:`fork_map` then forks children that inherit all of it and
each compute a part, which they send back pickled. The parent computes the first part
itself and returns the parts in order, so the result is what one process would compute.

Forking is refused (:func:`fork_refusal`) where it is not safe or not cheap: off Linux,
inside a worker process (never nest), and while another thread runs (a forked child
inherits the locks that thread may hold: a Rich spinner's console, a logging handler).
Callers then compute every part here; the result is the same.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from attackmap.errors import AttackmapError

__all__ = ["ForkError", "available_cpus", "fork_map", "fork_refusal"]

T = TypeVar("T")
R = TypeVar("R")


class ForkError(AttackmapError):
    """A forked worker ended without sending its part (killed, out of memory)."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a forked worker (the ``__cause__`` of the
    exception :func:`fork_map` raises again here)."""

    def __str__(self) -> str:
        return str(self.args[0])


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - Linux has sched_getaffinity


def fork_refusal() -> str | None:
    """Why this process must not fork workers now, or None when it may."""
    if sys.platform != "linux":
        return f"forking worker processes is only done on Linux, not {sys.platform}"
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        return "this is a worker process already (worker pools are never nested)"
    others = _other_threads()
    if others:
        return f"other threads run ({', '.join(others)}): a forked child could inherit a lock they hold"
    return None


def _other_threads() -> list[str]:
    """The names of the threads running besides this one."""
    me = threading.current_thread()
    return sorted(t.name for t in threading.enumerate() if t is not me)


def fork_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(item) for item in items]``, the items after the first computed in forked
    children (one each) while this process computes the first. Every result must pickle.

    Raises what ``fn`` raised, in this process (the first failed item's, in item order;
    the worker's traceback as its cause); :class:`ForkError` when a child ended without
    a result. Children still running then are stopped: no partial result, no hang.
    Callers check :func:`fork_refusal` first.
    """
    if len(items) <= 1:
        return [fn(item) for item in items]
    import multiprocessing

    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Any]] = []
    try:
        for item in items[1:]:
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(fn, item, send), daemon=True)
            child.start()
            send.close()  # the child holds the only writing end: a dead child reads as EOF
            children.append((child, receive))
        results = [fn(items[0])]
        for i, (child, receive) in enumerate(children, start=1):
            results.append(_receive(child, receive, i))
        return results
    finally:
        for child, receive in children:
            receive.close()
            if child.is_alive():
                child.kill()
            child.join()


def _child(fn: Callable[[T], R], item: T, send: Any) -> None:
    """In a forked child: ``fn(item)``, sent back as ``("ok", result)`` or the error."""
    # The objects inherited from the parent go to the permanent generation (an O(1) splice
    # of the collector's lists): a collection in the child never walks them, so it never
    # writes their headers and the pages stay shared.
    gc.freeze()
    try:
        message: tuple[str, Any, str] = ("ok", fn(item), "")
    except BaseException as e:  # every failure goes back to the parent
        message = ("error", e, traceback.format_exc())
    try:
        send.send(message)
    except Exception as e:  # a result or an exception that does not pickle
        what = "the result" if message[0] == "ok" else f"{type(message[1]).__name__}: {message[1]}"
        text = message[2] or traceback.format_exc()
        send.send(("error", RuntimeError(f"{what} (does not pickle: {e})"), text))
    send.close()


def _receive(child: Any, receive: Any, index: int) -> Any:
    try:
        status, value, text = receive.recv()
    except EOFError:
        child.join()
        raise ForkError(
            f"analysis worker {index} (pid {child.pid}) ended with exit code "
            f"{child.exitcode} before sending its results",
            hint="it may have run out of memory: analyse in one process (--workers 1, workers=1)",
        ) from None
    if status == "error":
        raise value from RemoteTraceback(text)
    return value
