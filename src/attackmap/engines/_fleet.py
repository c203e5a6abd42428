"""A fleet cut into tasks, and the tasks' reports joined exactly.

One task per cluster, or, for a cluster given ``shards=n``, one task per shard: every
shard task loads the same inputs and builds the same attack graph, then analyses only its
run of the workloads (``attackmap.analyze(..., shard=(i, n))``). A workload's analysis
depends on the whole graph and on nothing else, so each shard's workload analyses are
exactly the whole-cluster report's, and the join is a merge: the workloads in report
order beside the cluster-wide parts every shard computed alike (versions, entries,
skipped objects, warnings; checked equal). The document's tables (steps, facts, evidence,
files, controls) are numbered when the joined report is written, in order of first use,
as for a report made in one process, so the joined document is byte-identical.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from attackmap._gc import paused
from attackmap._version import __version__
from attackmap.engines.interface import Engine, EngineError
from attackmap.errors import AttackmapError, InputError

if TYPE_CHECKING:
    from attackmap.graph import Report


@dataclass(frozen=True)
class ShardTask:
    """One task: a cluster's inputs and analysis options, and which shard of it
    (``(0, 1)``: the whole cluster)."""

    cluster: int
    source: Any
    options: tuple[tuple[str, Any], ...]
    shard: tuple[int, int]
    version: str
    #: the host and working directory of the process that made the task: where its
    #: relative paths were meant (a Dask worker elsewhere resolves them in its own)
    where: tuple[str, str] | None = None


def task_origin() -> tuple[str, str]:
    """This process's host and working directory (:attr:`ShardTask.where`)."""
    import os
    import platform

    return platform.node(), os.getcwd()


def run_task(task: ShardTask) -> Report:
    """Analyse one task (in a worker): the shard's report, without its attack graph when
    it travels back (a report pickles as data)."""
    from attackmap.graph import analyze

    if task.version != __version__:
        raise EngineError(
            f"this worker runs attackmap {__version__}, the client "
            f"{task.version}: reports of different versions cannot be joined",
            hint="install the same attackmap on the client and every worker",
        )
    shard = task.shard if task.shard[1] > 1 else None
    try:
        missing = _missing_root(task.source)
        if missing is not None:  # (with keep_going, analyze would skip it: nothing left)
            raise InputError("no such file or directory", path=missing)
        return analyze(task.source, **dict(task.options), shard=shard)
    except InputError as e:
        if e.message == "no such file or directory" and task.where is not None:
            here = task_origin()
            if here != task.where:  # a worker elsewhere: say where each side looked
                e.hint = (
                    f"the task ran on {here[0]} in {here[1]}; the client named it on "
                    f"{task.where[0]} in {task.where[1]}: every worker must see the inputs at "
                    "the paths the client names (a shared filesystem, absolute paths)"
                )
        raise


def _missing_root(source: Any) -> str | None:
    """The path a cluster given as one path names, where nothing is found (a path
    missing here, a dangling symlink); else ``None``."""
    import os

    from attackmap.model._loader import _looks_like_text

    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and source != "-" and not _looks_like_text(source)
    ):
        path = os.fspath(source)
        if not os.path.exists(path):
            return str(path)
    return None


@dataclass(frozen=True)
class TaskResult:
    """What a task sends back: which task it was (its cluster, its shard) and its report,
    or, with ``keep_going``, its input error. An engine may hand results back in any
    order; :func:`analyze_fleet` places each by what it says it is."""

    cluster: int
    shard: tuple[int, int]
    report: Report | AttackmapError


def run_tagged(task: ShardTask) -> TaskResult:
    """:func:`run_task` (in a worker), its result tagged with the task's cluster and shard;
    with ``keep_going`` among the options, an input error is returned in the report's
    place (a cluster that cannot be analysed at all, a path with no manifests, leaves the
    other clusters' reports). An engine's own error (another attackmap on the worker) is
    raised: no cluster can be analysed there."""
    try:
        report: Report | AttackmapError = run_task(task)
    except EngineError:
        raise
    except AttackmapError as e:
        if not dict(task.options).get("keep_going"):
            raise
        report = e
    return TaskResult(task.cluster, task.shard, report)


def join(reports: Iterable[Report]) -> Report:
    """The shard reports of one cluster (any order) as one report, exactly the report of
    the whole cluster analysed in one process."""
    from attackmap.graph import Report

    try:
        reports = list(reports)
    except TypeError as e:
        raise EngineError(f"expected a list of reports, got {type(reports).__name__}") from e
    if not reports:
        raise EngineError("no shard reports to join")
    for report in reports:
        if not isinstance(report, Report):
            raise EngineError(f"expected a list of reports, got {type(report).__name__} in it")
    _check_shards(reports)
    origins = {getattr(r, "_origin", None) for r in reports}  # (None: a pickle of before)
    if len(origins) > 1:
        raise EngineError(
            "the shards are not of one cluster analysed with the same options: what they read "
            "(the documents, the context) or their options (entry points, goals, ...) differ",
            hint="join the n reports of analyze(source, shard=(i, n)) of one source, options alike",
        )
    first = reports[0]
    if len(reports) == 1:
        return first
    shared = ("attack_version", "atlas_version", "entries", "skipped", "warnings")
    for other in reports[1:]:
        differ = [name for name in shared if getattr(other, name) != getattr(first, name)]
        if differ:
            raise EngineError(
                f"the shards of one cluster disagree on {', '.join(differ)}: they did not "
                "analyse the same inputs with the same attackmap",
                hint="make sure no input changes during the run and that every worker has "
                "the same attackmap and ATT&CK bundle",
            )
    # the collector paused: sorting allocates a key per workload, enough for the first full
    # collection since the shards' reports were made, which walks all of them (after a
    # 10k-workload analysis, 100,000 new tuples set off one of 3.9 s; the join of a 100k
    # cluster's two shards took 107 s)
    with paused():
        # a stable sort: within one shard, workloads are in report order already
        workloads = sorted(
            (w for r in reports for w in r.workloads), key=lambda w: w.ref.sort_key()
        )
        for a, b in itertools.pairwise(workloads):
            if a.ref == b.ref:
                raise EngineError(f"two shards analysed {a.ref}: the shards overlap")
        joined = first.model_copy(update={"workloads": tuple(workloads)})
        joined._shard = None  # the whole cluster's
        joined._origin = None
        return joined


def _check_shards(reports: Sequence[Report]) -> None:
    """Refuse shard reports that are not every shard of one split once (each report of
    ``analyze(..., shard=(i, n))`` says which it is): a missing shard would leave its
    workloads out of the joined report without a word. Reports that say nothing (made
    otherwise, or read back) are joined as given."""
    shards = [r.shard for r in reports]
    if all(s is None for s in shards):
        return
    counts = {s[1] for s in shards if s is not None}
    found = sorted(s[0] for s in shards if s is not None)
    if None in shards or len(counts) != 1 or found != list(range(counts.pop())):
        said = ", ".join("whole" if s is None else f"{s[0]} of {s[1]}" for s in shards)
        raise EngineError(
            f"the reports to join are not every shard of one split once: {said}",
            hint="join the n reports of analyze(..., shard=(i, n)) for i in range(n)",
        )


def _placed(
    results: Any, tasks: Sequence[ShardTask]
) -> dict[tuple[int, tuple[int, int]], Report | AttackmapError]:
    """Each task's report (or input error) by its cluster and shard, from what an engine's
    ``map`` returned: one :class:`TaskResult` per task, in any order. Anything else (too
    few or too many results, one twice, something that is no task's result) is the
    engine's error: no report may go to another cluster, or go missing, without a word."""
    try:
        found = list(results)
    except TypeError as e:
        raise EngineError(
            f"the engine's map returned {type(results).__name__}, not a list of results",
            field="engine",
        ) from e
    if len(found) != len(tasks):
        raise EngineError(
            f"the engine's map returned {len(found)} results for {len(tasks)} tasks",
            field="engine",
            hint="an engine's map(fn, items) returns fn(item) for every item",
        )
    placed: dict[tuple[int, tuple[int, int]], Report | AttackmapError] = {}
    wanted = {(t.cluster, t.shard) for t in tasks}
    for result in found:
        if not isinstance(result, TaskResult) or (result.cluster, result.shard) not in wanted:
            raise EngineError(
                f"the engine's map returned {type(result).__name__}, not a task's result",
                field="engine",
                hint="an engine's map(fn, items) returns fn(item) for every item",
            )
        key = (result.cluster, result.shard)
        if key in placed:
            raise EngineError(
                f"the engine's map returned the result of cluster {key[0]}'s shard "
                f"{key[1][0]} of {key[1][1]} twice",
                field="engine",
            )
        placed[key] = result.report
    return placed


def _reads_stdin(source: Any) -> bool:
    """Whether a cluster's source reads standard input (``-``, or a list naming it)."""
    if isinstance(source, str):
        return source == "-"
    return isinstance(source, list | tuple) and any(isinstance(s, str) and s == "-" for s in source)


def _check_options(options: dict[str, Any]) -> None:
    """Refuse an option ``analyze`` does not take, before any task is sent (each would
    fail alike, on every worker)."""
    import inspect

    from attackmap.graph import analyze

    taken = set(inspect.signature(analyze).parameters) - {"source", "shard", "workers"}
    for name in sorted(options):
        if name not in taken:
            raise EngineError(
                f"unknown option {name!r}",
                field=name,
                hint="analyze's keywords: " + ", ".join(sorted(taken)),
            )


#: At most this many shards per cluster: each builds the cluster's whole graph (one per
#: process or Dask worker is where they pay); far more only multiplies that work.
MAX_SHARDS = 1024


@overload
def analyze_fleet(
    clusters: Sequence[Any],
    *,
    client: Any = None,
    engine: Engine | None = None,
    workers: int | Literal["auto"] | None = None,
    shards: int = 1,
    keep_going: Literal[False] = False,
    **options: Any,
) -> list[Report]: ...


@overload
def analyze_fleet(
    clusters: Sequence[Any],
    *,
    client: Any = None,
    engine: Engine | None = None,
    workers: int | Literal["auto"] | None = None,
    shards: int = 1,
    keep_going: bool,
    **options: Any,
) -> list[Report | AttackmapError]: ...


def analyze_fleet(
    clusters: Sequence[Any],
    *,
    client: Any = None,
    engine: Engine | None = None,
    workers: int | Literal["auto"] | None = None,
    shards: int = 1,
    keep_going: bool = False,
    **options: Any,
) -> list[Report] | list[Report | AttackmapError]:
    """One report per cluster of ``clusters``, in their order, each byte-for-byte the
    report :func:`attackmap.analyze` makes of it.

    Each cluster is what ``analyze`` takes as its source (a path, a list of paths, YAML
    text, mappings); ``options`` are ``analyze``'s keyword arguments, the same for every
    cluster (``attack``: a bundle path, or ``None`` for the bundled one, is read by each
    worker). Where the tasks run: ``client``, a ``dask.distributed.Client`` (the ``dask``
    extra; its workers must see the inputs the clusters name); else ``engine``; else a
    :class:`~attackmap.engines.LocalEngine` of ``workers`` processes (default 1: here;
    ``"auto"``: the CPUs this process may use, at most 8). ``shards``: tasks per cluster;
    each loads the cluster and builds its graph, then analyses a run of its workloads (pays
    where the per-workload analysis outweighs the graph: ``docs/scaling.md``).
    ``keep_going``: ``analyze``'s (bad files and objects skipped, in each report's
    ``skipped``), and a cluster that cannot be analysed at all (a path with no manifests,
    a task whose worker process died: where the engine has ``settle``) has its
    :class:`~attackmap.errors.AttackmapError` in its place in the list, the other
    clusters' reports beside it; without it, that error is raised.
    """
    from attackmap.engines._local import LocalEngine

    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise EngineError(f"shards must be a positive integer, got {shards!r}", field="shards")
    if shards > MAX_SHARDS:
        raise EngineError(
            f"at most {MAX_SHARDS} shards per cluster, got {shards}",
            field="shards",
            hint="each shard builds the whole cluster's graph: one per process is where they pay",
        )
    if isinstance(clusters, (str, bytes)) or not isinstance(clusters, Sequence):
        raise EngineError(
            "clusters must be a list of sources, one per cluster",
            field="clusters",
            hint="analyze_fleet(['cluster-a/', 'cluster-b/']); for one cluster, a list of one",
        )
    if "shard" in options:
        raise EngineError("pass shards=n, not shard=", field="shard")
    _check_options(options)
    if client is not None and engine is not None:
        raise EngineError("pass a client or an engine, not both", field="client")
    if workers is not None and (client is not None or engine is not None):
        raise EngineError(
            "workers are the local engine's processes: an engine or a Dask client has its own",
            field="workers",
        )
    if client is not None:
        from attackmap.engines._dask import DaskEngine

        engine = DaskEngine(client)
    elif engine is None:
        if workers == "auto":
            from attackmap._fork import auto_workers

            workers = auto_workers()  # (a task's memory is not known before it runs)
        engine = LocalEngine(1 if workers is None else workers)
    elif not callable(getattr(engine, "map", None)):
        raise EngineError(
            f"engine must have a map(fn, items) method, got {type(engine).__name__}",
            field="engine",
        )
    if not isinstance(keep_going, bool):
        raise EngineError(f"expected True or False, got {keep_going!r}", field="keep_going")
    readers = [c for c in clusters if _reads_stdin(c)]
    here = isinstance(engine, LocalEngine) and engine.workers == 1  # ("auto" on one CPU too)
    if readers and (len(readers) > 1 or shards > 1 or not here):
        raise EngineError(
            "stdin is read once, by one task: with shards, workers, an engine or more "
            "clusters reading it, the others would find it read",
            field="clusters",
            hint="save the manifests to a file and name it",
        )
    opts = tuple(sorted({**options, "keep_going": keep_going}.items()))
    where = task_origin()
    tasks = [
        ShardTask(c, source, opts, (i, shards), __version__, where)
        for c, source in enumerate(clusters)
        for i in range(shards)
    ]
    settle = getattr(engine, "settle", None)
    if keep_going and callable(settle):
        # a task whose worker died: its cluster's error, the others' reports kept
        found = list(settle(run_tagged, tasks))
        if len(found) == len(tasks):
            found = [
                TaskResult(t.cluster, t.shard, r) if isinstance(r, EngineError) else r
                for t, r in zip(tasks, found, strict=True)
            ]
        placed = _placed(found, tasks)
    else:
        placed = _placed(engine.map(run_tagged, tasks), tasks)
    joined: list[Report | AttackmapError] = []
    for c in range(len(clusters)):
        parts = [placed[(c, (i, shards))] for i in range(shards)]
        # the shards of a cluster read the same inputs: the first shard's error is the
        # cluster's (they fail alike)
        failed = [p for p in parts if isinstance(p, AttackmapError)]
        joined.append(failed[0] if failed else join(cast("list[Report]", parts)))
    if not keep_going:
        return cast("list[Report]", joined)
    errors = {e.summary() for e in joined if isinstance(e, AttackmapError)}
    if (
        len(clusters) > 1
        and len(errors) == 1
        and all(isinstance(e, AttackmapError) for e in joined)
        and not any(isinstance(e, EngineError) for e in joined)  # (deaths are each task's)
    ):
        # every cluster failed alike: not a cluster's inputs but an option every task
        # takes (an unknown entry point or goal, a missing seccomp root or context)
        raise cast(AttackmapError, joined[0])
    return joined
