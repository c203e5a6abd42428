"""Work split over forked processes that share this process's memory copy-on-write.

One cluster's analysis builds what every workload needs (the inventory, the fact base,
the attack graph) once; :func:`fork_map` then forks children that inherit all of it and
each compute a part, which they send back pickled. The parent computes the first part
itself and returns the parts in order, so the result is what one process would compute.

Forking is refused (:func:`fork_refusal`) where it is not safe or not cheap: off Linux,
inside a worker process (never nest), and while another thread runs (a forked child
inherits the locks that thread may hold: a Rich spinner's console, a logging handler).
Callers then compute every part here; the result is the same. So does :func:`fork_map`
when the system refuses a new process or pipe (out of processes, memory or descriptors).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from attackmap.errors import AttackmapError

__all__ = [
    "MAX_HANDOUT",
    "MAX_WORKERS",
    "Exchange",
    "ForkError",
    "auto_workers",
    "available_cpus",
    "available_memory",
    "cgroup_cpus",
    "cgroup_memory",
    "fork_exchange",
    "fork_handout",
    "fork_map",
    "fork_refusal",
    "pool_worker_start",
    "resident_memory",
]

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8
"""At most this many processes for ``auto``: each worker of a large cluster holds hundreds of
megabytes of its own (docs/scaling.md), and the parse pool stops at the same number."""

logger = logging.getLogger(__name__)


class ForkError(AttackmapError):
    """A forked worker ended without sending its part (killed, out of memory)."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a forked worker (the ``__cause__`` of the
    exception :func:`fork_map` raises again here)."""

    def __str__(self) -> str:
        return str(self.args[0])


def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask, not the machine's count, and no
    more than its control group's CPU quota allows (:func:`cgroup_cpus`).

    A container limited to 2 CPUs on a 64-CPU node sees all 64 in its affinity mask; eight
    parse or analysis workers there would share 2 CPUs' time, each with its own memory."""
    # Linux has sched_getaffinity
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpus()
    return cpus if quota is None else max(1, min(cpus, quota))


def cgroup_cpus(root: Path = Path("/")) -> int | None:
    """The CPUs this process's control group may use by its CPU quota, rounded up
    (``cpu.max`` 150000/100000 is 2), the smallest quota of its group and the groups above
    it; None without a quota (or off Linux, or where it cannot be read).

    cgroup v2 (``cpu.max``, the unified hierarchy) and v1 (``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us``, the ``cpu`` controller's hierarchy) as ``/proc/self/cgroup``
    and ``/proc/self/mountinfo`` place them. ``root`` is where those paths start (tests).
    """
    limits = [
        cpus
        for group, v2 in _cgroup_groups(root, "cpu")
        if (cpus := _quota(group, ("cpu.max",) if v2 else _V1_CPU_FILES)) is not None
    ]
    return min(limits) if limits else None


def cgroup_memory(root: Path = Path("/")) -> int | None:
    """The bytes this process's control group may still take before its memory limit: the
    least, over its group and the groups above it, of the limit less what the group uses
    (the page cache it could drop not counted); None without a limit (or off Linux, or
    where it cannot be read).

    cgroup v2 (``memory.max`` and ``memory.current``) and v1 (``memory.limit_in_bytes`` and
    ``memory.usage_in_bytes``, the ``memory`` controller's hierarchy), found as for
    :func:`cgroup_cpus`. A container's memory limit is one of these; the machine's free
    memory (``/proc/meminfo``) does not show it."""
    left = [
        room
        for group, v2 in _cgroup_groups(root, "memory")
        if (room := _room(group, _V2_MEMORY_FILES if v2 else _V1_MEMORY_FILES)) is not None
    ]
    return min(left) if left else None


def available_memory(root: Path = Path("/")) -> int | None:
    """The bytes of memory this process can still take: the kernel's estimate of what can
    be allocated without swapping (``MemAvailable``), no more than its control group's
    limit leaves (:func:`cgroup_memory`); None where neither can be read (not Linux)."""
    found = []
    try:
        with open(root / "proc/meminfo", encoding="ascii", errors="replace") as meminfo:
            for line in itertools.islice(meminfo, _MEMINFO_LINES):
                name, _, value = line.partition(":")
                if name == "MemAvailable":
                    number, _, unit = value.strip().partition(" ")
                    if unit == "kB" and number.isdigit():
                        found.append(int(number) * 1024)
                    break
    except OSError:
        pass
    group = cgroup_memory(root)
    if group is not None:
        found.append(group)
    return min(found) if found else None


def resident_memory(root: Path = Path("/")) -> int | None:
    """This process's resident bytes (``/proc/self/statm``), None where it cannot be read."""
    try:
        fields = (root / "proc/self/statm").read_text(encoding="ascii").split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


#: At most this many lines of ``/proc/self/cgroup`` are read (v1 has one per hierarchy).
_CGROUP_LINES = 64
#: ``MemAvailable`` is near the top of ``/proc/meminfo``; no more lines are read.
_MEMINFO_LINES = 64
_OCTAL = re.compile(r"\\([0-7]{3})")
_V1_CPU_FILES = ("cpu.cfs_quota_us", "cpu.cfs_period_us")
#: (limit, usage, the ``memory.stat`` line of the page cache the group could drop)
_V2_MEMORY_FILES = ("memory.max", "memory.current", "inactive_file")
_V1_MEMORY_FILES = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
#: ``memory.stat`` has a few dozen lines; no more than this many are read.
_STAT_LINES = 128
#: cgroup v1 writes "no limit" as the largest multiple of the page size below 2**63.
_V1_NO_LIMIT = 1 << 62


def _cgroup_groups(root: Path, controller: str) -> list[tuple[Path, bool]]:
    """The directories of this process's control group and of each group above it within
    the mounted hierarchy that holds ``controller``'s files, from its own up, each with
    whether it is cgroup v2's (every v2 line, and each v1 line naming ``controller``)."""
    try:
        groups = (root / "proc/self/cgroup").read_text(encoding="utf-8", errors="replace")
        mounts = (root / "proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found: list[tuple[Path, bool]] = []
    for line in groups.splitlines()[:_CGROUP_LINES]:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2
            mount = _cgroup_mount(mounts, "cgroup2", None)
        elif controller in controllers.split(","):  # v1
            mount = _cgroup_mount(mounts, "cgroup", controller)
        else:
            continue
        if mount is not None:
            found.extend((group, controllers == "") for group in _up_from(root, mount, path))
    return found


def _cgroup_mount(mounts: str, fstype: str, controller: str | None) -> tuple[str, str] | None:
    """(the hierarchy's root inside the mount, the mount point) of the first ``fstype``
    mount (for v1, the one with ``controller`` among its options), from ``mountinfo``."""
    for line in mounts.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 5 or len(fields) < dash + 4 or fields[dash + 1] != fstype:
            continue
        if controller is not None and controller not in fields[dash + 3].split(","):
            continue
        return _unescape(fields[3]), _unescape(fields[4])
    return None


def _unescape(field: str) -> str:
    """A ``mountinfo`` path field: space, tab, newline and backslash are octal escapes."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def _up_from(root: Path, mount: tuple[str, str], path: str) -> list[Path]:
    """The directories of the group at ``path`` and of each group above it within the
    mounted hierarchy, from its own up."""
    inside, point = mount
    if inside != "/":  # the mount shows a subtree: our group's path is relative to its root
        if path != inside and not path.startswith(inside.rstrip("/") + "/"):
            return []  # not under it: the files there are another group's
        path = path[len(inside) :]
    parts = [p for p in path.split("/") if p]
    if ".." in parts:  # a group outside this cgroup namespace: only the mount's own
        parts = []
    base = root / point.lstrip("/")
    return [base.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _quota(group: Path, files: tuple[str, ...]) -> int | None:
    try:
        if len(files) == 1:  # v2: "max 100000" or "QUOTA PERIOD"
            quota_text, _, period_text = (group / files[0]).read_text().strip().partition(" ")
            if quota_text == "max":
                return None
        else:  # v1: -1 is no quota
            quota_text = (group / files[0]).read_text().strip()
            period_text = (group / files[1]).read_text().strip()
        quota, period = int(quota_text), int(period_text or "100000")
    except (OSError, ValueError):
        return None
    if quota <= 0 or period <= 0:
        return None
    return max(1, -(-quota // period))


def _room(group: Path, files: tuple[str, str, str]) -> int | None:
    """A group's memory limit less its usage (bytes, at least 0), the page cache it could
    drop (its inactive file pages) not counted as used; None without a limit."""
    try:
        limit_text = (group / files[0]).read_text().strip()
        if limit_text == "max":  # v2: no limit
            return None
        limit, used = int(limit_text), int((group / files[1]).read_text().strip())
    except (OSError, ValueError):
        return None
    if limit <= 0 or limit >= _V1_NO_LIMIT:
        return None
    try:
        with open(group / "memory.stat", encoding="ascii", errors="replace") as stat:
            for line in itertools.islice(stat, _STAT_LINES):
                name, _, value = line.partition(" ")
                if name == files[2] and value.strip().isdigit():
                    used -= min(used, int(value))
                    break
    except OSError:
        pass
    return max(0, limit - used)


WORKER_SHARE = 0.9
"""What ``auto`` takes each forked worker to need, as a share of this process's resident
memory when it forks: the pages of what it reads (CPython writes the reference count of
every object it reads, so each page it reads becomes its own) and what its run of the
analysis makes. Measured with the CLI's JSON on the synthetic clusters, a second process
added 0.59 of the first's resident memory at the fork at 1k workloads (52 of 88 MB), 0.88
at 10k (376 of 425 MB); the library's report (manifests kept), 0.58 and 0.72
(docs/scaling.md)."""

GROWTH_SHARE = 0.5
"""What ``auto`` takes this process to still grow by after it forks, as a share of its
resident memory then (the paths found, the report's records): 0.26 at 1k, 0.46 at 10k
with the CLI's JSON; 0.19 and 0.29 with the library's report, 0.23 at 100k."""


def auto_workers(resident: int | None = None) -> int:
    """How many processes ``workers="auto"`` means: the available CPUs, at most
    :data:`MAX_WORKERS`; given ``resident`` (this process's resident bytes, what the
    workers will share), no more than the memory available holds (:func:`available_memory`,
    :data:`WORKER_SHARE` per worker, :data:`GROWTH_SHARE` for this one: estimates, measured
    on synthetic clusters), so that ``auto`` does not fork into an out-of-memory kill what
    one process would finish."""
    cpus = min(available_cpus(), MAX_WORKERS)
    if cpus == 1 or not resident or resident <= 0:
        return cpus
    free = available_memory()
    if free is None:
        return cpus
    fit = 1 + max(0, int((free - GROWTH_SHARE * resident) // (WORKER_SHARE * resident)))
    if fit >= cpus:
        return cpus
    logger.warning(
        "workers=auto: %d process%s instead of %d: %s of memory available, each worker "
        "needs about %s (a number of workers instead of auto overrides this)",
        fit,
        "" if fit == 1 else "es",
        cpus,
        _megabytes(free),
        _megabytes(WORKER_SHARE * resident),
    )
    return fit


def _megabytes(size: float) -> str:
    return f"{size / 2**20:,.0f} MB"


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


def fork_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    handed: Callable[[Sequence[T]], None] | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, the items after the first computed in forked
    children (one each) while this process computes the first. Every result must pickle.
    ``handed`` is called here with the items the children took, once they are forked and
    before this process computes the first (to let go of what only they need).

    Raises what ``fn`` raised, in this process (the first failed item's, in item order;
    the worker's traceback as its cause); :class:`ForkError` when a child ended without
    a result. Children still running then are stopped: no partial result, no hang. Where
    forking is refused (:func:`fork_refusal`), or the system refuses a process or a pipe,
    the items are computed here instead (callers check :func:`fork_refusal` first to cut
    the work into as many items as processes will run).
    """
    if len(items) <= 1 or fork_refusal() is not None:
        return [fn(item) for item in items]

    children: list[tuple[Any, Any]] = []
    try:
        _start(children, items[1:], lambda item, send: (_child, (fn, item, send, os.getpid())))
        if handed is not None and children:
            handed(items[1 : 1 + len(children)])
        results = [fn(items[0])]
        for i, (child, receive) in enumerate(children, start=1):
            results.append(_receive(child, receive, i))
        results.extend(fn(item) for item in items[1 + len(children) :])
        return results
    finally:
        _stop(children)


def _start(
    children: list[tuple[Any, Any]],
    items: Sequence[T],
    target: Callable[[T, Any], tuple[Callable[..., None], tuple[Any, ...]]],
    *,
    duplex: bool = False,
) -> None:
    """Fork a child per item, each with ``target(item, its end of a pipe)`` (the function
    it runs and its arguments), appending (child, this end) to ``children`` before it
    starts (so that :func:`_stop` stops it whatever interrupts this); stop at the first
    pipe or process the system refuses (the rest are computed here). A child first closes
    the ends of this process's pipes it inherited (its own and its elder siblings'), so
    that this process closing its end is an end of input there."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for item in items:
        try:
            here, there = context.Pipe(duplex=duplex)
        except OSError as e:
            logger.debug("computing the other parts here: no pipe for a worker (%s)", e)
            break
        run, args = target(item, there)
        ours = [end for _child, end in children] + [here]
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # (as it is: the child's)
        child = context.Process(target=_in_child, args=(mask, ours, run, args), daemon=True)
        children.append((child, here))
        try:
            # an interrupt while it forks comes once the child is known (its pid set)
            signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
            child.start()
        except OSError as e:
            children.pop()
            here.close()
            there.close()
            logger.debug("computing the other parts here: no worker process (%s)", e)
            break
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        there.close()  # the child holds the only other end: a dead child reads as EOF


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
"""Held back while a child is forked (:func:`_start`)."""


def _in_child(
    mask: set[signal.Signals], ours: list[Any], run: Callable[..., None], args: tuple[Any, ...]
) -> None:
    """A forked child's start: Ctrl-C left to the parent (a terminal sends it to every
    process of the group; the parent stops its children, and each would otherwise print
    its own ``KeyboardInterrupt`` traceback), the parent's signal mask back, the ends of
    the parent's pipes closed, then ``run``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    for end in ours:
        end.close()
    run(*args)


def _stop(children: list[tuple[Any, Any]]) -> None:
    """Close the pipes of ``children``, kill those still running and wait for those that
    started."""
    for child, here in children:
        here.close()
        if child.pid is None:  # never started (interrupted before)
            continue
        if child.is_alive():
            child.kill()
        child.join()
    children.clear()


def fork_handout(
    fn: Callable[[int, int], R],
    count: int,
    processes: int,
    *,
    taken: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(worker, i) for i in range(count)]`` in ``processes`` processes that each take
    the next item as soon as they are free: for items whose cost is not known before they
    run (a static split leaves one process working while the others wait).

    This process (worker 0) computes item 0 first, so a caller may stream it; the
    forked children (:func:`fork_map`: workers 1, 2, ...) and then this process take the
    items after it, one at a time, in order, from a pipe of tickets (no lock a killed
    child could hold). ``worker`` says which process computes an item (a caller keeps a
    file per process). Results are returned in item order. ``taken`` is called here with
    each item another process took, before this process computes its next one and at the
    end (to let go of what only the taker needs). An item that fails stops every process
    from taking more; errors, refusals and processes the system does not give are
    :func:`fork_map`'s (the items nobody took are computed here). As many items as
    processes: one each, as :func:`fork_map` hands them (``taken`` before item 0).
    At most :data:`MAX_HANDOUT` items.
    """
    if count > MAX_HANDOUT:
        raise ValueError(f"at most {MAX_HANDOUT} items are handed out, not {count}")
    if count <= 0:
        return []
    processes = max(1, min(processes, count))
    if processes == 1 or fork_refusal() is not None:
        return [fn(0, i) for i in range(count)]
    if processes == count:

        def handed(items: Sequence[int]) -> None:
            if taken is not None:
                for i in items:
                    taken(i)

        return fork_map(lambda i: fn(i, i), range(count), handed=handed)
    import multiprocessing

    try:
        failed = multiprocessing.get_context("fork").RawValue("b", 0)
        tickets, writer = os.pipe()
    except OSError as e:  # no shared memory or pipe
        logger.debug("computing every item here: %s", e)
        return [fn(0, i) for i in range(count)]
    try:
        # every ticket before any process reads: at most a page, which a pipe always holds
        # (never waiting: a pipe that holds less leaves the items to this process)
        tickets_bytes = b"".join(i.to_bytes(4, "little") for i in range(1, count))
        try:
            os.set_blocking(writer, False)
            written = os.write(writer, tickets_bytes)
        except OSError as e:  # (BlockingIOError: the pipe holds less)
            written = -1
            logger.debug("computing every item here: the tickets do not fit a pipe (%s)", e)
        finally:
            os.close(writer)
        if written != len(tickets_bytes):
            return [fn(0, i) for i in range(count)]

        def take() -> int:
            if failed.value:
                return count
            ticket = os.read(tickets, 4)  # a whole ticket: reads of a pipe are atomic
            return int.from_bytes(ticket, "little") if len(ticket) == 4 else count

        def work(worker: int) -> list[tuple[int, R]]:
            try:
                done = [(0, fn(0, 0))] if worker == 0 else []
                last = 0  # the last item this process took: those after it, others took
                while (i := take()) < count:
                    if worker == 0 and taken is not None:
                        for other in range(last + 1, i):
                            taken(other)
                    done.append((i, fn(worker, i)))
                    last = i
                if worker == 0 and taken is not None:
                    for other in range(last + 1, count):
                        taken(other)
                return done
            except BaseException:
                failed.value = 1  # the others stop taking items: the error comes sooner
                raise

        results: dict[int, R] = {}
        for part in fork_map(work, range(processes)):
            results.update(part)
        return [results[i] for i in range(count)]
    finally:
        os.close(tickets)


class Exchange:
    """Two rounds over items, each item's both rounds in one process, with this process
    replying to each item's first round between them (:func:`fork_exchange`)::

        with fork_exchange(first, second, items) as exchange:
            made = exchange.made()              # [first(item) for item in items]
            exchange.reply(replies)             # a reply per item; the others' second rounds begin
            mine = second(items[0], replies[0]) # this process's own, while they run
            others = exchange.results()         # [second(item, reply) for the items after the first]

    The items after the first go to forked children (one each), which keep what their
    first round made for their second: only ``first``'s results, the replies and
    ``second``'s results travel (they must pickle). This process computes the first item's
    rounds itself (its caller does the second). Errors, refusals and processes the system
    does not give are :func:`fork_map`'s: the items no child took have both rounds
    computed here (their second in :meth:`results`). Leaving the ``with`` block stops the
    children still running: no partial result, no hang.
    """

    def __init__(
        self, first: Callable[[T], Any], second: Callable[[T, Any], Any], items: Sequence[T]
    ) -> None:
        self._first, self._second, self._items = first, second, items
        self._children: list[tuple[Any, Any]] = []
        self._replies: list[Any] | None = None

    def __enter__(self) -> Exchange:
        items = self._items
        refusal = fork_refusal() if len(items) > 1 else None
        if refusal is not None:
            logger.debug("computing every part here: %s", refusal)
        if len(items) <= 1 or refusal is not None:
            return self
        first, second, parent = self._first, self._second, os.getpid()
        try:
            _start(
                self._children,
                items[1:],
                lambda item, there: (_exchange_child, (first, second, item, there, parent)),
                duplex=True,
            )
        except BaseException:
            _stop(self._children)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        _stop(self._children)

    @property
    def forked(self) -> int:
        """How many items went to forked children (the first ones after the first)."""
        return len(self._children)

    def made(self) -> list[Any]:
        """Each item's first round, in order (the first computed here)."""
        children, items = self._children, self._items
        made = [self._first(items[0])] if items else []
        made += [_receive(child, here, i) for i, (child, here) in enumerate(children, start=1)]
        made += [self._first(item) for item in items[1 + len(children) :]]
        return made

    def reply(self, replies: Sequence[Any]) -> None:
        """Send each item's reply (in item order; the first item's is the caller's own)."""
        if len(replies) != len(self._items):
            raise ValueError(f"{len(replies)} replies for {len(self._items)} items")
        self._replies = list(replies)
        for (_child, here), reply in zip(self._children, replies[1:], strict=False):
            with contextlib.suppress(OSError):  # it ended: results() says how
                here.send(reply)

    def results(self) -> list[Any]:
        """The second round of each item after the first, in order."""
        if self._replies is None:
            raise RuntimeError("results() before reply()")
        children, items = self._children, self._items
        results = [_receive(child, here, i) for i, (child, here) in enumerate(children, start=1)]
        taken = 1 + len(children)
        results += [
            self._second(item, reply)
            for item, reply in zip(items[taken:], self._replies[taken:], strict=True)
        ]
        return results


def fork_exchange(
    first: Callable[[T], Any], second: Callable[[T, Any], Any], items: Sequence[T]
) -> Exchange:
    """Two rounds over ``items`` with this process's replies between them, the items after
    the first in forked children that keep what their first round made
    (:class:`Exchange`)."""
    return Exchange(first, second, items)


def _exchange_child(
    first: Callable[[T], R], second: Callable[[T, Any], Any], item: T, conn: Any, parent: int
) -> None:
    """In a forked child: :func:`fork_exchange`'s two rounds of ``item``, each result
    sent back as :func:`_child` sends one, the reply to the first awaited between them."""
    _die_with(parent)
    try:
        if _compute_and_send(conn, first, item):
            try:
                reply = conn.recv()
            except (EOFError, OSError):  # the parent gave up (an error there)
                return
            _compute_and_send(conn, second, item, reply)
    except BrokenPipeError:
        pass  # the parent is gone (interrupted, killed): nobody to tell
    finally:
        conn.close()


def _compute_and_send(send: Any, fn: Callable[..., Any], *args: Any) -> bool:
    """``fn(*args)`` sent as ``("ok", result)``, or its failure as :func:`_send_error`
    sends it (also a result that does not pickle); whether it was a result."""
    try:
        result = fn(*args)
    except BaseException as e:  # every failure goes back to the parent
        _send_error(send, e, traceback.format_exc())
        return False
    try:
        send.send(("ok", result))
    except BrokenPipeError:
        raise
    except Exception as e:  # a result that does not pickle
        error = RuntimeError(f"the result does not pickle: {e}")
        _send_error(send, error, traceback.format_exc())
        return False
    return True


MAX_HANDOUT = 1024
""":func:`fork_handout`'s limit: its tickets (4 bytes each) are written before any process
reads them, into a pipe, which holds at least a page (4 KiB; one page is all a new pipe
gets once its user is past ``fs.pipe-user-pages-soft``)."""


def _child(fn: Callable[[T], R], item: T, send: Any, parent: int) -> None:
    """In a forked child: ``fn(item)``, sent back as ``("ok", result)``; or, on failure,
    ``("error", traceback, summary)`` then the exception itself (``None`` when it does not
    pickle), so that the parent has the worker's traceback even when the exception cannot
    travel or cannot be rebuilt there."""
    _die_with(parent)
    try:
        _compute_and_send(send, fn, item)
    except BrokenPipeError:
        pass  # the parent is gone (interrupted, killed): nobody to tell
    finally:
        send.close()


def _send_error(send: Any, error: BaseException, text: str) -> None:
    send.send(("error", text, f"{type(error).__name__}: {error}"))
    try:
        send.send(error)
    except BrokenPipeError:
        raise
    except Exception:  # it does not pickle
        send.send(None)


def pool_worker_start(parent: int) -> None:
    """A process pool's worker's start (``ProcessPoolExecutor(initializer=...)``, forked
    from ``parent``): it ends with ``parent`` (:func:`_die_with`) and leaves Ctrl-C to it,
    as :func:`_in_child` does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)


def _die_with(parent: int) -> None:
    """Have the kernel stop this child when the process that forked it ends (killed or
    crashed before it could stop its workers): an orphan would compute its whole part for
    nobody."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - Linux has prctl
        return
    if os.getppid() != parent:  # it ended before prctl took effect
        os._exit(1)


def _receive(child: Any, receive: Any, index: int) -> Any:
    try:
        message = receive.recv()
    except (EOFError, OSError):  # nothing, or a message cut short: the worker ended
        child.join()
        raise ForkError(
            f"analysis worker {index} (pid {child.pid}) ended with exit code "
            f"{child.exitcode} before sending its results",
            hint="it may have run out of memory: analyse in one process (--workers 1, workers=1)",
        ) from None
    if message[0] == "ok":
        return message[1]
    _status, text, summary = message
    try:
        error = receive.recv()
    except Exception:  # cut short, or it pickled but cannot be rebuilt here (another __init__)
        error = None
    if not isinstance(error, BaseException):
        error = RuntimeError(summary)
    raise error from RemoteTraceback(text)
