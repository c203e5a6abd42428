"""``analyze(..., workers=N)``: the workloads' analyses in processes forked once the fact
base and the attack graph are built; the report is the one process's, byte for byte.

The clusters are generated (``benchmarks/synth.py``, plus node pools in a ClusterContext):
GPU operator DaemonSets escaping to tainted GPU nodes, cross-namespace RBAC, network reach
(what crosses the runs of workloads the workers analyse).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import synthetic_cluster

import attackmap
from attackmap import _fork
from attackmap._fork import (
    ForkError,
    RemoteTraceback,
    fork_exchange,
    fork_handout,
    fork_map,
    fork_refusal,
)
from attackmap.cli import main
from attackmap.errors import AttackmapError
from attackmap.graph import _analysis, _engine

OPTIONS: dict[str, Any] = {"goals": ["T1611", "T1552"]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers") / "cluster"
    return synthetic_cluster(root, 24, seed=31, node_pools=True)


@pytest.fixture(scope="module")
def whole(cluster: Path) -> attackmap.Report:
    """The report of one process: what every count of workers must make."""
    return attackmap.analyze(cluster, **OPTIONS)


def _equal(a: attackmap.Report, b: attackmap.Report) -> None:
    """The same report: the same document, and equal as objects (two analyses differ
    only in the analyser each report keeps)."""
    assert a.to_json() == b.to_json()
    for name in type(a).model_fields:
        assert getattr(a, name) == getattr(b, name), name


class _Pids:
    """Records which process analysed each run of workloads (a file per process, so
    that forked children report too): a report's (``Analyzer._analyses``) or a written
    document's (``ReportWriter._run``, the CLI's JSON)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, fail: str = "") -> None:
        self.root = root
        self.parent = os.getpid()
        analyses = _analysis.Analyzer._analyses
        elements = _analysis.ReportWriter._run

        def record(run: Any) -> None:
            here = os.getpid()
            (root / f"{here}-{uuid.uuid4().hex}").write_text(str(len(run)), encoding="utf-8")
            if fail == "raise" and here != self.parent:
                raise AttackmapError("boom in a worker", hint="a test")
            if fail == "exit" and here != self.parent:
                os._exit(3)
            if fail == "parent" and here == self.parent:
                raise ValueError("boom here")

        def analyses_run(analyzer: Any, scoped: Any, raw: Any, run: Any) -> Any:
            record(run)
            return analyses(analyzer, scoped, raw, run)

        def elements_run(writer: Any, run: Any, *args: Any, **kwargs: Any) -> None:
            record(run)
            elements(writer, run, *args, **kwargs)

        monkeypatch.setattr(_analysis.Analyzer, "_analyses", analyses_run)
        monkeypatch.setattr(_analysis.ReportWriter, "_run", elements_run)

    def runs(self) -> list[tuple[int, int]]:
        """(process id, workloads it analysed) of each run, in no order."""
        return [
            (int(p.name.partition("-")[0]), int(p.read_text(encoding="utf-8")))
            for p in self.root.iterdir()
        ]

    def processes(self) -> dict[int, int]:
        """The workloads each process analysed, by process id (a process may take several
        runs: with goals, runs are handed out as processes free up)."""
        total: dict[int, int] = {}
        for pid, count in self.runs():
            total[pid] = total.get(pid, 0) + count
        return total


@pytest.fixture
def pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _Pids:
    (tmp_path / "pids").mkdir()
    return _Pids(tmp_path / "pids", monkeypatch)


class _Searches:
    """Records which process searched the paths to which sinks (a file per search)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, fail: str = "") -> None:
        self.root = root
        self.parent = os.getpid()
        original = _engine.AttackGraph.sink_paths

        def sink_paths(graph: Any, entries: Any, wanted: Any = None, sinks: Any = None) -> Any:
            here = os.getpid()
            run = sorted(sinks) if sinks is not None else graph.sinks()
            (root / f"{here}-{uuid.uuid4().hex}").write_text("\n".join(run), encoding="utf-8")
            if fail == "raise" and here != self.parent:
                raise AttackmapError("boom in a search", hint="a test")
            return original(graph, entries, wanted, sinks)

        monkeypatch.setattr(_engine.AttackGraph, "sink_paths", sink_paths)

    def clear(self) -> None:
        shutil.rmtree(self.root)
        self.root.mkdir()

    def runs(self) -> list[tuple[int, list[str]]]:
        """(process id, sinks it searched) of each search, in no order."""
        return [
            (int(p.name.partition("-")[0]), p.read_text(encoding="utf-8").split("\n"))
            for p in self.root.iterdir()
        ]


@pytest.fixture
def searches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _Searches:
    (tmp_path / "searches").mkdir()
    return _Searches(tmp_path / "searches", monkeypatch)


@pytest.fixture(scope="module")
def analyzer(cluster: Path) -> _analysis.Analyzer:
    """The analyser of the one-process report, its graph kept."""
    report = attackmap.analyze(cluster, **OPTIONS)
    assert report._analyzer is not None
    return report._analyzer


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> _analysis.Analyzer:
    """A second generated cluster (other seed, no node pools)."""
    root = synthetic_cluster(tmp_path_factory.mktemp("second") / "cluster", 40, seed=7)
    report = attackmap.analyze(root)
    assert report._analyzer is not None
    return report._analyzer


def _ids(raw: dict[str, list[tuple[str, str, tuple[Any, ...]]]]) -> list[Any]:
    """The paths with each step instance as itself (its identity: the same objects)."""
    return [(w, [(e, s, [id(i) for i in steps]) for e, s, steps in ps]) for w, ps in raw.items()]


@pytest.mark.parametrize("workers", [2, 3, 100])
@pytest.mark.parametrize("which", ["analyzer", "second"])
def test_the_forked_search_finds_the_paths_of_one_process(
    request: pytest.FixtureRequest, searches: _Searches, which: str, workers: int
) -> None:
    analyzer: _analysis.Analyzer = request.getfixturevalue(which)
    graph = analyzer.graph
    keys = sorted(graph.workloads)
    searches.clear()
    one = analyzer._raw_paths(graph, keys)
    graph.drop_caches()
    assert searches.runs() == [(searches.parent, graph.sinks())]
    searches.clear()
    forked = analyzer._raw_paths(graph, keys, workers=workers)
    graph.drop_caches()
    assert list(forked) == list(one) == keys
    assert _ids(forked) == _ids(one)  # the same instances, in the same order
    assert sum(len(p) for p in one.values()) > 100
    runs = searches.runs()
    # each sink searched once, by one process of as many as asked (there are fewer sinks
    # than 100), this one among them; the sinks of one hub table in one run
    searched = [s for _, run in runs for s in run]
    assert sorted(searched) == graph.sinks()
    assert len({pid for pid, _ in runs}) == len(runs) == min(workers, len(runs)) > 1
    assert searches.parent in {pid for pid, _ in runs}
    hubs = {s: tuple(sorted(graph._hub_tails(s))) for s in graph.sinks()}
    assert len({h for h in hubs.values() if h}) >= 2
    for hub in {h for h in hubs.values() if h}:
        sharing = {s for s, h in hubs.items() if h == hub}
        assert sum(1 for _, run in runs if sharing & set(run)) == 1
    if workers == 2:  # about equal work: the step instances ending at each run's sinks
        work = [sum(len(graph.predecessors(s)) for s in run) for _, run in runs]
        assert max(work) < 1.5 * min(work)


def test_the_forked_search_of_some_workloads(analyzer: _analysis.Analyzer) -> None:
    graph = analyzer.graph
    keys = sorted(graph.workloads)[3:9]
    one = analyzer._raw_paths(graph, reversed(keys))
    forked = analyzer._raw_paths(graph, reversed(keys), workers=2)
    graph.drop_caches()
    assert list(forked) == keys and _ids(forked) == _ids(one)


def test_an_error_in_a_search_worker_is_raised_here(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pids: _Pids
) -> None:
    _Searches(tmp_path, monkeypatch, fail="raise")
    with pytest.raises(AttackmapError, match="boom in a search") as raised:
        attackmap.analyze(cluster, workers=2)
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "boom in a search" in str(raised.value.__cause__)
    assert not multiprocessing.active_children()
    assert pids.runs() == []  # no analysis started


def test_a_refused_fork_searches_here(
    analyzer: _analysis.Analyzer, searches: _Searches, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = analyzer.graph
    keys = sorted(graph.workloads)
    searches.clear()
    one = analyzer._raw_paths(graph, keys)
    graph.drop_caches()
    monkeypatch.setattr(_fork, "fork_refusal", lambda: "a test")
    forked = analyzer._raw_paths(graph, keys, workers=3)
    graph.drop_caches()
    assert _ids(forked) == _ids(one)
    runs = searches.runs()  # the whole search, then three runs of sinks: all here
    assert {pid for pid, _ in runs} == {searches.parent} and len(runs) == 4


def test_the_cluster_has_what_crosses_runs(whole: attackmap.Report) -> None:
    # without these, a worker that saw only its own workloads' part of the graph would pass
    steps = {s.id for w in whole.workloads for t in w.techniques for p in t.paths for s in p.steps}
    assert {"node-tokens", "reach-pod-network"} <= steps
    assert any(
        s.workload is not None and s.workload.split("/")[1] != w.ref.namespace
        for w in whole.workloads
        for t in w.techniques
        for p in t.paths
        for s in p.steps
    )
    assert any(w.minimal_controls and w.minimal_controls[0].controls for w in whole.workloads)
    assert any(w.pss is not None for w in whole.workloads)
    assert any(w.warnings for w in whole.workloads) or whole.warnings


@pytest.mark.parametrize("workers", [2, 3, 100])
def test_workers_make_the_one_process_report(
    cluster: Path, whole: attackmap.Report, pids: _Pids, searches: _Searches, workers: int
) -> None:
    report = attackmap.analyze(cluster, workers=workers, **OPTIONS)
    _equal(report, whole)
    processes = pids.processes()
    # the path search forked workers of its own (the analysis' search goals' paths)
    assert 1 <= len({pid for pid, _ in searches.runs()} - set(processes)) <= workers - 1
    # with goals, a run per workload here (up to 32 per process), handed out to at most
    # as many processes as workloads, this one among them; each workload analysed once
    assert len(pids.runs()) == len(whole.workloads)
    assert 2 <= len(processes) <= min(workers, len(whole.workloads))
    assert pids.parent in processes
    assert sum(processes.values()) == len(whole.workloads)


@pytest.mark.parametrize("workers", [2, 3])
def test_without_goals_a_run_per_process(
    cluster: Path, pids: _Pids, searches: _Searches, workers: int
) -> None:
    one = attackmap.analyze(cluster)
    for record in pids.root.iterdir():  # the analysis in one process
        record.unlink()
    _equal(attackmap.analyze(cluster, workers=workers), one)
    processes = pids.processes()
    assert len(pids.runs()) == len(processes) == workers  # a run each: paths predict the work
    assert pids.parent in processes and sum(processes.values()) == len(one.workloads)


def test_one_worker_forks_nothing(
    cluster: Path, whole: attackmap.Report, pids: _Pids, searches: _Searches
) -> None:
    _equal(attackmap.analyze(cluster, workers=1, **OPTIONS), whole)
    assert pids.runs() == [(pids.parent, len(whole.workloads))]
    assert {pid for pid, _ in searches.runs()} == {searches.parent}


def test_the_report_keeps_its_analyser(cluster: Path, whole: attackmap.Report) -> None:
    report = attackmap.analyze(cluster, workers=2, **OPTIONS)
    assert report.attack_graph is not None
    ref = whole.workloads[0].ref
    assert report.minimal_controls(ref, "T1611") == whole.minimal_controls(ref, "T1611")
    control = next(c for w in whole.workloads for c in w.minimal_controls[0].controls)
    _equal(report.apply([control]), whole.apply([control]))


def test_the_pod_security_threshold_path(
    cluster: Path, pids: _Pids, monkeypatch: pytest.MonkeyPatch
) -> None:
    # above the threshold the analysis lets its graph go once the paths are found, before
    # the workers are forked
    monkeypatch.setattr(_analysis, "PSS_TRADEOFF_MAX_WORKLOADS", 10)
    one = attackmap.analyze(cluster, **OPTIONS)
    two = attackmap.analyze(cluster, workers=2, **OPTIONS)
    _equal(two, one)
    assert two.attack_graph is not None  # built again on demand
    assert len(pids.processes()) == 2  # the first analysis here, the second here and in one more


def test_a_shard_in_workers(cluster: Path, whole: attackmap.Report) -> None:
    one = attackmap.analyze(cluster, shard=(1, 2), **OPTIONS)
    _equal(attackmap.analyze(cluster, shard=(1, 2), workers=2, **OPTIONS), one)


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_clusters(tmp_path: Path, pids: _Pids, count: int) -> None:
    role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n"
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n"
    text = role + ("---\n" + pod if count else "")
    one = attackmap.analyze(text)
    _equal(attackmap.analyze(text, workers=3), one)
    assert len(one.workloads) == count
    # both here: never more processes than workloads
    assert pids.runs() == [(pids.parent, count)] * 2


def test_no_fork_while_another_thread_runs(
    cluster: Path, whole: attackmap.Report, pids: _Pids, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="spinner")
    other.start()
    try:
        with caplog.at_level("DEBUG", logger="attackmap.graph._analysis"):
            report = attackmap.analyze(cluster, workers=2, **OPTIONS)
        assert fork_refusal() is not None
    finally:
        stop.set()
        other.join()
    _equal(report, whole)
    assert pids.runs() == [(pids.parent, len(whole.workloads))]
    assert "in one process: other threads run (spinner)" in caplog.text


def test_a_worker_process_forks_no_workers() -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert "worker process already" in str(pool.apply(fork_refusal))


def test_an_error_in_a_worker_is_raised_here(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Pids(tmp_path, monkeypatch, fail="raise")
    with pytest.raises(AttackmapError, match="boom in a worker") as raised:
        attackmap.analyze(cluster, workers=2)
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "boom in a worker" in str(raised.value.__cause__)  # the worker's traceback
    assert raised.value.hint == "a test"
    assert not multiprocessing.active_children()


def test_a_worker_that_dies_is_an_error(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Pids(tmp_path, monkeypatch, fail="exit")
    with pytest.raises(ForkError, match="ended with exit code 3 before sending its results"):
        attackmap.analyze(cluster, workers=3)
    assert not multiprocessing.active_children()


def test_an_error_here_stops_the_workers(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Pids(tmp_path, monkeypatch, fail="parent")
    with pytest.raises(ValueError, match="boom here"):
        attackmap.analyze(cluster, workers=2)
    assert not multiprocessing.active_children()


def test_fork_map_in_order() -> None:
    assert fork_map(_square_and_pid, []) == []
    handed: list[list[int]] = []
    results = fork_map(_square_and_pid, [1, 2, 3, 4], handed=lambda xs: handed.append(list(xs)))
    assert [r for r, _ in results] == [1, 4, 9, 16]
    assert len({pid for _, pid in results}) == 4 and results[0][1] == os.getpid()
    assert handed == [[2, 3, 4]]


class _Rounds:
    """Two rounds of :func:`fork_exchange` that record where each ran: the first keeps a
    value in its process for the second (a forked child's own copy of ``kept``)."""

    def __init__(self, fail: str = "") -> None:
        self.kept: dict[int, int] = {}
        self.fail = fail
        self.here = os.getpid()

    def first(self, x: int) -> tuple[int, int]:
        if self.fail == "first" and x == 2:
            raise AttackmapError("boom in a first round", hint="a test")
        self.kept[x] = x * x
        return x * x, os.getpid()

    def second(self, x: int, reply: int) -> tuple[int, int, int]:
        if self.fail == "second" and x == 2:
            raise ValueError("boom in a second round")
        if self.fail == "exit" and x == 2:
            os._exit(5)
        return self.kept.pop(x) + reply, os.getpid(), x


def test_fork_exchange_keeps_each_items_rounds_in_one_process(no_hang: None) -> None:
    rounds = _Rounds()
    with fork_exchange(rounds.first, rounds.second, [1, 2, 3]) as exchange:
        made = exchange.made()
        assert [m for m, _pid in made] == [1, 4, 9]
        pids = [pid for _m, pid in made]
        assert pids[0] == os.getpid() and len(set(pids)) == 3
        total = sum(m for m, _pid in made)
        exchange.reply([total * 10 + i for i in range(3)])
        mine = rounds.second(1, total * 10)  # the first item's second round: the caller's
        others = exchange.results()
    # each item's second round ran where its first did, with what that one kept
    assert [mine, *others] == [(141, pids[0], 1), (145, pids[1], 2), (151, pids[2], 3)]
    assert rounds.kept == {}  # this process kept and took only its own item's
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("why", ["refused", "no process"])
def test_fork_exchange_without_children_computes_here(
    monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    if why == "refused":
        monkeypatch.setattr(_fork, "fork_refusal", lambda: "a test")
    else:

        def start(self: Any) -> None:
            raise OSError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", start)
    rounds = _Rounds()
    with fork_exchange(rounds.first, rounds.second, [1, 2, 3]) as exchange:
        assert exchange.made() == [(1, rounds.here), (4, rounds.here), (9, rounds.here)]
        exchange.reply([0, 10, 20])
        assert exchange.results() == [(14, rounds.here, 2), (29, rounds.here, 3)]
    assert rounds.kept == {1: 1}  # the first item's, for the caller's own second round


def test_fork_exchange_errors(no_hang: None) -> None:
    with (
        pytest.raises(AttackmapError, match="boom in a first round") as raised,
        fork_exchange(*_first_and_second("first"), [1, 2, 3]) as exchange,
    ):
        exchange.made()
    assert isinstance(raised.value.__cause__, RemoteTraceback) and raised.value.hint == "a test"
    with (
        pytest.raises(ValueError, match="boom in a second round") as raised_here,
        fork_exchange(*_first_and_second("second"), [1, 2, 3]) as exchange,
    ):
        exchange.made()
        exchange.reply([0, 0, 0])
        exchange.results()
    assert "boom in a second round" in str(raised_here.value.__cause__)  # its traceback
    with (
        pytest.raises(ForkError, match="ended with exit code 5"),
        fork_exchange(*_first_and_second("exit"), [1, 2, 3]) as exchange,
    ):
        exchange.made()
        exchange.reply([0, 0, 0])
        exchange.results()
    with fork_exchange(*_first_and_second(""), [1, 2, 3]) as exchange:
        exchange.made()
        with pytest.raises(ValueError, match="2 replies for 3 items"):
            exchange.reply([0, 0])
        with pytest.raises(RuntimeError, match="before reply"):
            exchange.results()
    # an error here, between the rounds: the children waiting for a reply are stopped
    with pytest.raises(KeyError), fork_exchange(*_first_and_second(""), [1, 2, 3]) as exchange:
        exchange.made()
        raise KeyError("boom here")
    assert not multiprocessing.active_children()


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail, not hang, a test whose children wait for a parent that never answers."""

    def timed_out(_signum: int, _frame: Any) -> None:
        raise TimeoutError("a forked child or this process waited for the other")

    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_fork_exchange_children_end_when_this_process_closes_their_pipes(no_hang: None) -> None:
    # a child inherits this process's ends of its pipe and its elder siblings': closed
    # there first thing, so that closing them here (an error between the rounds, without
    # the kill) ends its wait for a reply
    with fork_exchange(*_first_and_second(""), [1, 2, 3, 4]) as exchange:
        exchange.made()
        children = list(exchange._children)
        (eldest, its_end), *younger = children
        its_end.close()  # the younger ones inherited this end too: closed there
        eldest.join(30)
        assert eldest.exitcode == 0, eldest  # ended by itself, not killed
        for _child, here in younger:
            here.close()
        for child, _here in younger:
            child.join(30)
            assert child.exitcode == 0, child
    assert not multiprocessing.active_children()


def _mask(_x: int) -> set[signal.Signals]:
    return signal.pthread_sigmask(signal.SIG_BLOCK, ())


def test_interrupts_are_held_only_while_a_child_forks() -> None:
    before = _mask(0)
    assert signal.SIGINT not in before
    # the children run with this process's mask, which is this process's again after
    assert fork_map(_mask, [0, 1, 2]) == [before] * 3
    assert _mask(0) == before


@pytest.mark.parametrize("when", ["before the second forks", "as the first forks"])
def test_an_interrupt_while_forking_stops_every_child(
    monkeypatch: pytest.MonkeyPatch, no_hang: None, when: str
) -> None:
    """Ctrl-C before a child is forked, or once it is (before ``start`` returns): the
    children forked are stopped, none is waited for that never started."""
    real, started = multiprocessing.context.ForkProcess.start, []

    def start(self: Any) -> None:
        if when.startswith("before") and started:
            raise KeyboardInterrupt
        started.append(1)
        real(self)
        if when.startswith("as"):
            raise KeyboardInterrupt

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", start)
    for fork in (
        lambda: fork_exchange(*_first_and_second(""), [1, 2, 3]).__enter__(),
        lambda: fork_map(_square_and_pid, [1, 2, 3]),
    ):
        started.clear()
        with pytest.raises(KeyboardInterrupt):
            fork()
        assert len(started) == 1
        assert not multiprocessing.active_children()


def _one_process_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system starts the first forked process, then refuses (EAGAIN)."""
    started: list[int] = []
    real = multiprocessing.context.ForkProcess.start

    def start(self: Any) -> None:
        if started:
            raise OSError(11, "Resource temporarily unavailable")
        started.append(1)
        real(self)

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", start)


def test_fork_exchange_with_some_children(monkeypatch: pytest.MonkeyPatch, no_hang: None) -> None:
    """The system gives one process of three: its item goes there, the others stay here."""
    _one_process_given(monkeypatch)
    rounds = _Rounds()
    with fork_exchange(rounds.first, rounds.second, [1, 2, 3, 4]) as exchange:
        made = exchange.made()
        exchange.reply([0, 10, 20, 30])
        results = exchange.results()
    assert [m for m, _pid in made] == [1, 4, 9, 16]
    assert [r for r, _pid, _x in results] == [14, 29, 46]
    pids = [pid for _m, pid in made]
    assert pids[1] != rounds.here and pids[0] == pids[2] == pids[3] == rounds.here
    assert [pid for _r, pid, _x in results] == pids[1:]
    assert not multiprocessing.active_children()


def test_fork_exchange_results_that_do_not_pickle(no_hang: None) -> None:
    def first(x: int) -> Any:
        return threading.Lock() if x == 2 else x

    def second(x: int, reply: Any) -> Any:
        return threading.Lock() if x == 3 else x

    with (
        pytest.raises(RuntimeError, match="the result does not pickle"),
        fork_exchange(first, second, [1, 2, 3]) as exchange,
    ):
        exchange.made()
    with (
        pytest.raises(RuntimeError, match="the result does not pickle"),
        fork_exchange(lambda x: x, second, [1, 2, 3]) as exchange,
    ):
        exchange.made()
        exchange.reply([0, 0, 0])
        exchange.results()
    assert not multiprocessing.active_children()


def _first_and_second(fail: str) -> tuple[Any, Any]:
    rounds = _Rounds(fail)
    return rounds.first, rounds.second


def test_fork_handout_in_order() -> None:
    assert fork_handout(lambda worker, i: i, 0, 2) == []
    results = fork_handout(lambda worker, i: (i * i, worker, os.getpid()), 6, 3)
    assert [r for r, _w, _p in results] == [0, 1, 4, 9, 16, 25]
    assert results[0][1:] == (0, os.getpid())  # the first item is this process's
    for _r, worker, pid in results:  # worker 0 is this process
        assert (worker == 0) == (pid == os.getpid())


def test_fork_handout_gives_the_next_item_to_the_process_that_is_free(tmp_path: Path) -> None:
    """Item 1 waits until the last item is done: only a process taking items as it frees
    up finishes (a split made in advance into runs, item 1's run holding others, waits)."""
    done = tmp_path / "last-done"
    count = 8
    taken: list[int] = []

    def work(worker: int, i: int) -> int:
        if i == 1:
            for _ in range(600):
                if done.exists():
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the last item was never done")
        if i == count - 1:
            done.touch()
        return os.getpid()

    pids = fork_handout(work, count, 2, taken=taken.append)
    here = os.getpid()
    slow = pids[1]  # the process that took item 1 (after item 0, if it is this one)
    assert all(pid != slow for pid in pids[2:])
    assert len(set(pids)) == 2 and pids[0] == here
    # this process learned of each item the other took, in order
    assert taken == [i for i, pid in enumerate(pids) if pid != here]


def test_fork_handout_without_a_process_computes_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        multiprocessing.context.ForkProcess,
        "start",
        lambda self: (_ for _ in ()).throw(OSError(11, "Resource temporarily unavailable")),
    )
    taken: list[int] = []
    results = fork_handout(lambda worker, i: (i, worker, os.getpid()), 5, 2, taken=taken.append)
    assert results == [(i, 0, os.getpid()) for i in range(5)] and taken == []


def test_an_item_that_fails_stops_the_others_taking_items(tmp_path: Path) -> None:
    # a worker's first item fails at once: this process stops taking items at its next
    # one, instead of computing all that are left before the error is raised
    count = 40
    mine: list[int] = []

    def work(worker: int, i: int) -> int:
        if worker:
            raise AttackmapError("boom in a worker", hint="a test")
        mine.append(i)
        time.sleep(0.05)
        return i

    with pytest.raises(AttackmapError, match="boom in a worker"):
        fork_handout(work, count, 2)
    assert len(mine) < count // 2, mine


def test_as_many_items_as_processes_are_handed_at_once() -> None:
    # one item each, as fork_map hands them: this process lets go of the others' before
    # it computes its own
    taken: list[int] = []
    seen: list[list[int]] = []

    def work(worker: int, i: int) -> tuple[int, int]:
        if i == 0:
            seen.append(list(taken))
        return worker, os.getpid()

    results = fork_handout(work, 3, 3, taken=taken.append)
    assert seen == [[1, 2]] and [w for w, _pid in results] == [0, 1, 2]
    assert len({pid for _w, pid in results}) == 3


def test_more_items_than_a_handout_takes_are_refused_and_never_asked(
    cluster: Path, whole: attackmap.Report, pids: _Pids, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="at most 1024 items"):
        fork_handout(lambda worker, i: i, _fork.MAX_HANDOUT + 1, 2)
    # many processes with goals: never more runs than a handout takes
    monkeypatch.setattr(_fork, "MAX_HANDOUT", 5)
    monkeypatch.setattr(_analysis, "MAX_HANDOUT", 5)
    _equal(attackmap.analyze(cluster, workers=3, **OPTIONS), whole)
    assert len(pids.runs()) == 5


def test_a_pipe_that_holds_less_than_the_tickets(monkeypatch: pytest.MonkeyPatch) -> None:
    # a pipe of one page (a user past fs.pipe-user-pages-soft) with a smaller one forced:
    # the tickets do not fit, and this process computes every item instead of waiting
    import fcntl

    real = os.pipe

    def small() -> tuple[int, int]:
        r, w = real()
        fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: one page, the smallest
        return r, w

    def slow_here(worker: int, i: int) -> tuple[int, int]:
        if not worker:
            time.sleep(0.002)  # the other process takes items meanwhile
        return i, worker

    def timed_out(*args: object) -> None:
        raise AssertionError("fork_handout waited on a full pipe")

    monkeypatch.setattr(_fork.os, "pipe", small)
    previous = signal.signal(signal.SIGALRM, timed_out)
    try:
        signal.alarm(30)
        results = fork_handout(slow_here, 1024, 2)  # 4,092 bytes of tickets: they fit
        assert [i for i, _w in results] == list(range(1024))
        assert {w for _i, w in results} == {0, 1}
        monkeypatch.setattr(_fork, "MAX_HANDOUT", 2000)
        results = fork_handout(slow_here, 1100, 2)  # 4,396 bytes: they do not
        assert results == [(i, 0) for i in range(1100)]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_an_error_in_a_handed_out_item_is_raised_here() -> None:
    def work(worker: int, i: int) -> int:
        if worker:
            raise AttackmapError("boom in a worker", hint="a test")
        time.sleep(0.2)  # the worker takes an item meanwhile
        return i

    with pytest.raises(AttackmapError, match="boom in a worker"):
        fork_handout(work, 4, 2)
    assert not multiprocessing.active_children()


def test_this_process_lets_go_of_the_paths_the_workers_took(
    cluster: Path, whole: attackmap.Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = os.getpid()
    raws: list[dict[str, Any]] = []  # the paths this process holds, at each of its runs
    mine: list[str] = []  # the workloads it analysed
    original = _analysis.Analyzer._analyses

    def analyses(analyzer: Any, scoped: Any, raw: Any, run: Any) -> Any:
        if os.getpid() == here:
            assert {wf.key for wf in run} <= set(raw)  # its run's paths are here
            raws.append(raw)
            mine.extend(wf.key for wf in run)
        return original(analyzer, scoped, raw, run)

    monkeypatch.setattr(_analysis.Analyzer, "_analyses", analyses)
    _equal(attackmap.analyze(cluster, workers=3, **OPTIONS), whole)
    assert raws and all(raw is raws[0] for raw in raws)
    assert 1 <= len(mine) < len(whole.workloads)
    # each run's paths went: this process's as it analysed them, the workers' as it
    # learned they took them (without that, theirs would still be here)
    assert raws[0] == {}


def test_without_goals_this_process_holds_only_its_runs_paths(
    cluster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a run per process: the workers' paths go before this process analyses its own
    here = os.getpid()
    seen: list[tuple[int, int]] = []  # (paths of workloads held, workloads of its run)
    original = _analysis.Analyzer._analyses

    def analyses(analyzer: Any, scoped: Any, raw: Any, run: Any) -> Any:
        if os.getpid() == here:
            seen.append((len(raw), len(run)))
        return original(analyzer, scoped, raw, run)

    monkeypatch.setattr(_analysis.Analyzer, "_analyses", analyses)
    one = attackmap.analyze(cluster)
    seen.clear()
    _equal(attackmap.analyze(cluster, workers=3), one)
    ((held, mine),) = seen
    assert held == mine < len(one.workloads)


def test_an_exception_that_does_not_pickle() -> None:
    with pytest.raises(RuntimeError, match="_Unpicklable: cannot be pickled") as raised:
        fork_map(_unpicklable, [0, 1])
    assert "_Unpicklable" in str(raised.value.__cause__)  # the worker's traceback


class _NotRebuilt(Exception):
    """Pickles, but its ``__init__`` takes other arguments than it gives ``Exception``."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a} and {b}")


def _not_rebuilt(x: int) -> int:
    if x:
        raise _NotRebuilt("one", "two")
    return x


def test_an_exception_that_cannot_be_rebuilt_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import copyreg

    # as pickle leaves it: a process that imported dask.distributed pickles every exception
    # class that existed then by their attributes (tblib), which rebuilds this one
    monkeypatch.delitem(copyreg.dispatch_table, _NotRebuilt, raising=False)
    with pytest.raises(RuntimeError, match="_NotRebuilt: one and two") as raised:
        fork_map(_not_rebuilt, [0, 1])
    assert "_NotRebuilt" in str(raised.value.__cause__)  # the worker's traceback


def _lock(x: int) -> Any:
    return threading.Lock()


def test_a_result_that_does_not_pickle() -> None:
    with pytest.raises(RuntimeError, match="the result does not pickle") as raised:
        fork_map(_lock, [0, 1])
    assert "lock" in str(raised.value.__cause__)  # where pickling it failed, in the worker


def test_without_a_process_the_parts_are_computed_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system refusing a process (EAGAIN, ENOMEM) leaves the work to this one."""
    _one_process_given(monkeypatch)
    handed: list[list[int]] = []
    results = fork_map(_square_and_pid, [1, 2, 3, 4], handed=lambda xs: handed.append(list(xs)))
    assert handed == [[2]]  # only what a worker took
    assert [r for r, _ in results] == [1, 4, 9, 16]
    pids = [pid for _, pid in results]
    assert pids[1] != os.getpid() and pids[0] == pids[2] == pids[3] == os.getpid()


def test_a_message_cut_short_is_a_fork_error() -> None:
    """A worker killed while it sends (the pipe holds part of the message) reads as an
    error of its own, with the way out, not a raw OSError."""

    class Child:
        pid, exitcode = 4242, -9

        def join(self) -> None:
            pass

    class Receive:
        def recv(self) -> Any:
            raise OSError("got end of file during message")

    with pytest.raises(ForkError, match="ended with exit code -9") as raised:
        _fork._receive(Child(), Receive(), 1)
    assert "--workers 1" in str(raised.value.hint)


def test_auto_is_the_cpus_up_to_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fork, "available_cpus", lambda: 64)
    assert _fork.auto_workers() == _fork.MAX_WORKERS == 8
    monkeypatch.setattr(_fork, "available_cpus", lambda: 2)
    assert _fork.auto_workers() == 2


def test_a_worker_ends_with_the_process_that_forked_it(tmp_path: Path) -> None:
    """The parent killed outright (no chance to stop its workers): the kernel stops them."""
    import subprocess
    import time

    pid_file = tmp_path / "worker.pid"
    script = (
        "import os, signal, time\n"
        "from attackmap._fork import fork_map\n"
        "def part(i):\n"
        "    if i:\n"
        f"        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "        time.sleep(60)\n"
        "    else:\n"
        f"        while not os.path.exists({str(pid_file)!r}): time.sleep(0.01)\n"
        "        time.sleep(0.2)\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "fork_map(part, [0, 1])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert done.returncode == -9
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(worker):
        time.sleep(0.05)
    assert not _running(worker)


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped by init, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


class _Unpicklable(Exception):
    def __reduce__(self) -> Any:
        raise TypeError("cannot be pickled")


def _unpicklable(x: int) -> int:
    if x:
        raise _Unpicklable("cannot be pickled")
    return x


@pytest.mark.parametrize(
    ("weights", "n", "sizes"),
    [
        ([1, 1, 1, 9], 2, [3, 1]),  # the heavy last item alone
        ([9, 1, 1, 1], 2, [1, 3]),
        ([1] * 6, 3, [2, 2, 2]),
        ([5, 1, 1], 3, [1, 1, 1]),  # never an empty run while there are items
        ([100, 1, 1, 1], 4, [1, 1, 1, 1]),
        ([1, 1, 1, 1, 100], 2, [4, 1]),
        ([2, 3], 1, [2]),
        ([], 1, [0]),
    ],
)
def test_runs_of_about_equal_work(weights: list[int], n: int, sizes: list[int]) -> None:
    items = list(range(len(weights)))
    runs = _analysis._balanced_runs(items, weights, n)
    assert [len(r) for r in runs] == sizes
    assert [x for r in runs for x in r] == items  # contiguous, in order


@pytest.mark.parametrize("bad", [0, -1, True, "two", 1.5])
def test_a_bad_worker_count_is_refused(bad: Any) -> None:
    with pytest.raises(AttackmapError, match="workers must be a positive integer or 'auto'"):
        attackmap.analyze(attackmap.example_manifest(), workers=bad)


@pytest.mark.parametrize(("least", "expected"), [(25, 1), (24, 2)])
def test_auto_forks_from_a_number_of_workloads(
    cluster: Path,
    whole: attackmap.Report,
    pids: _Pids,
    monkeypatch: pytest.MonkeyPatch,
    least: int,
    expected: int,
) -> None:
    monkeypatch.setattr(_analysis, "FORK_MIN_WORKLOADS", least)  # the cluster has 24
    monkeypatch.setattr(_fork, "available_cpus", lambda: 2)
    _equal(attackmap.analyze(cluster, workers="auto", **OPTIONS), whole)
    assert len(pids.processes()) == expected


@pytest.mark.parametrize("goals", [True, False])
@pytest.mark.parametrize(("room", "expected"), [(3.0, 3), (1.9, 2), (0.5, 1)])
def test_auto_forks_no_more_workers_than_the_memory_holds(
    cluster: Path,
    whole: attackmap.Report,
    pids: _Pids,
    monkeypatch: pytest.MonkeyPatch,
    room: float,
    expected: int,
    goals: bool,
) -> None:
    """``auto`` weighs this process's memory once the analysis is built (with goals, as
    it will be when its processes fork: :data:`GOAL_FORK_GROWTH` larger): here ``room``
    workers' worth is available (besides this process's own growth)."""
    monkeypatch.setattr(_analysis, "FORK_MIN_WORKLOADS", 10)
    monkeypatch.setattr(_fork, "available_cpus", lambda: 3)
    seen: list[int] = []
    counted = _analysis.GOAL_FORK_GROWTH if goals else 1.0

    def available() -> int:
        here = _fork.resident_memory()
        assert here is not None
        seen.append(here)
        share = _fork.GROWTH_SHARE + (room - 0.05) * _fork.WORKER_SHARE
        return int(here * counted * share)

    monkeypatch.setattr(_fork, "available_memory", available)
    options = OPTIONS if goals else {}
    report = attackmap.analyze(cluster, workers="auto", **options)
    if goals:
        _equal(report, whole)
    assert len(seen) == 1
    assert len(pids.processes()) == expected


# -- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def written(cluster: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("one") / "one.json"
    assert main(["analyze", str(cluster), "--workers", "1", "-o", str(out), "-q"]) == 0
    return out.read_text(encoding="utf-8")


def test_the_cli_forks_with_workers_auto(
    cluster: Path, written: str, pids: _Pids, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_analysis, "FORK_MIN_WORKLOADS", 10)
    monkeypatch.setattr(_fork, "available_cpus", lambda: 2)
    default, auto = tmp_path / "default.json", tmp_path / "auto.json"
    assert main(["analyze", str(cluster), "-o", str(default), "-q"]) == 0
    assert [pid for pid, _ in pids.runs()] == [pids.parent]  # by default, one process
    assert main(["analyze", str(cluster), "--workers", "auto", "-o", str(auto), "-q"]) == 0
    assert default.read_text(encoding="utf-8") == auto.read_text(encoding="utf-8") == written
    assert len(pids.runs()) == 3


def test_the_cli_says_when_memory_holds_fewer_workers_than_auto_asks(
    cluster: Path,
    written: str,
    pids: _Pids,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(_analysis, "FORK_MIN_WORKLOADS", 10)
    monkeypatch.setattr(_fork, "available_cpus", lambda: 2)
    monkeypatch.setattr(_fork, "available_memory", lambda: 0)
    out = tmp_path / "auto.json"
    assert main(["analyze", str(cluster), "--workers", "auto", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == written
    assert [pid for pid, _ in pids.runs()] == [pids.parent]
    err = capsys.readouterr().err
    assert "workers=auto: 1 process instead of 2: 0 MB of memory available" in err
    assert "Traceback" not in err


def test_cli_workers_count_forked_workers_for_one_cluster(
    cluster: Path, written: str, pids: _Pids, tmp_path: Path
) -> None:
    out = tmp_path / "three.json"
    assert main(["analyze", str(cluster), "--workers", "3", "-o", str(out), "-q"]) == 0
    assert out.read_text(encoding="utf-8") == written
    assert len(pids.runs()) == 3


def test_cli_workers_and_shards_run_shard_tasks(
    cluster: Path, written: str, pids: _Pids, tmp_path: Path
) -> None:
    # --shards: --workers counts the processes of the local engine's pool, as before;
    # each task analyses its shard in its own process (never forks inside a pool worker)
    out = tmp_path / "shards.json"
    argv = ["analyze", str(cluster), "--workers", "2", "--shards", "2", "-o", str(out), "-q"]
    assert main(argv) == 0
    assert out.read_text(encoding="utf-8") == written
    runs = pids.runs()
    assert len(runs) == 2 and pids.parent not in dict(runs)


def test_cli_workers_auto_with_shards_sizes_the_pool(
    cluster: Path, written: str, pids: _Pids, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_fork, "available_cpus", lambda: 2)
    out = tmp_path / "shards.json"
    argv = ["analyze", str(cluster), "--workers", "auto", "--shards", "2", "-o", str(out), "-q"]
    assert main(argv) == 0
    assert out.read_text(encoding="utf-8") == written
    assert len(pids.runs()) == 2 and pids.parent not in dict(pids.runs())  # a pool of 2


def test_cli_workers_draw_the_whole_graph(
    cluster: Path, pids: _Pids, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the report comes back to the process that built the graph: dot draws it
    one, two = tmp_path / "one.dot", tmp_path / "two.dot"
    assert main(["analyze", str(cluster), "--workers", "1", "-o", str(one), "-q"]) == 0
    assert main(["analyze", str(cluster), "--workers", "2", "-o", str(two), "-q"]) == 0
    assert one.read_text(encoding="utf-8") == two.read_text(encoding="utf-8")
    sizes = sorted(n for _, n in pids.runs())  # one run, then two
    assert len(sizes) == 3 and sizes[0] + sizes[1] == sizes[2] == 24


def test_cli_workers_read_stdin(
    cluster: Path, pids: _Pids, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(p for p in cluster.glob("*.yaml") if p.name != "context.yaml")
    text = "\n---\n".join(p.read_text(encoding="utf-8") for p in files)
    out = []
    for workers in ("1", "2"):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        assert main(["analyze", "-", "--workers", workers, "--format", "json"]) == 0
        out.append(capsys.readouterr().out)
    assert out[0] == out[1] and '"workloads"' in out[0]
    assert len(pids.runs()) == 3  # one process, then two


def test_reports_of_workers_pickle_as_data(cluster: Path, whole: attackmap.Report) -> None:
    report = attackmap.analyze(cluster, workers=2, **OPTIONS)
    copy = pickle.loads(pickle.dumps(report))  # noqa: S301 - our own report, pickled here
    _equal(copy, whole)


@pytest.fixture(autouse=True)
def _no_children_left() -> Iterator[None]:
    yield
    assert not multiprocessing.active_children()


@pytest.fixture(autouse=True)
def _threads_of_other_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads that tests before this one left running (Dask's IO loop, in the same
    pytest-xdist worker) do not count: the tests here start the threads they mean."""
    before = set(threading.enumerate())
    real = _fork._other_threads
    monkeypatch.setattr(
        _fork, "_other_threads", lambda: [n for n in real() if n not in {t.name for t in before}]
    )
