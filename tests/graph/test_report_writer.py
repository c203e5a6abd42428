"""``ReportWriter``: the report's document written as the analysis makes it, without the
report's objects (the CLI's ``--format json``). It must write ``Report.write_json``'s text
byte for byte: compact and pretty, with and without goals, either side of the Pod Security
re-analysis threshold, in one process and with forked workers writing runs of workloads.
"""

from __future__ import annotations

import gc
import io
import json
import multiprocessing
import os
import weakref
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import synthetic_cluster

import attackmap
from attackmap import _fork
from attackmap.cli import _analyze as cli_analyze
from attackmap.cli import main
from attackmap.errors import AttackmapError
from attackmap.graph import _analysis
from attackmap.graph._analysis import ReportWriter, ranked_paths, report_writer
from attackmap.graph._engine import AttackGraph

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "tests" / "graph" / "manifests").rglob("*.yaml"))
GOALS = ["T1611", "T1552"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("writer") / "cluster"
    return synthetic_cluster(root, 30, seed=7, node_pools=True)


def _document(report: attackmap.Report, *, pretty: bool) -> str:
    stream = io.StringIO()
    report.write_json(stream, pretty=pretty)
    return stream.getvalue()


def _written(source: Any, *, pretty: bool = False, **options: Any) -> tuple[str, Any]:
    stream = io.StringIO()
    outline = report_writer(source, **options).write(stream.write, pretty=pretty)
    return stream.getvalue(), outline


def _outline_of(report: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (str(w.ref), [(t.technique.id, t.severity) for t in w.techniques]) for w in report.workloads
    ]


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("goals", [None, GOALS])
@pytest.mark.parametrize("threshold", ["reanalysed", "above"])
def test_the_written_document_is_the_reports(
    cluster: Path, monkeypatch: pytest.MonkeyPatch, workers: int, goals: Any, threshold: str
) -> None:
    if threshold == "above":  # no Pod Security re-analysis, the graph let go before (C)
        monkeypatch.setattr(_analysis, "PSS_TRADEOFF_MAX_WORKLOADS", 10)
    report = attackmap.analyze(cluster, goals=goals)
    techniques = [t for w in report.workloads for t in w.techniques]
    # what the element text has to get right
    assert any(t.truncated for t in techniques) and any(t.broken_by for t in techniques)
    assert any(p.origin for t in techniques for p in t.paths)
    assert any(w.warnings for w in report.workloads)
    assert any(w.pss is not None and w.pss.removes for w in report.workloads) == (
        threshold == "reanalysed"
    )
    if goals:
        assert any(w.minimal_controls[0].controls for w in report.workloads)
    for pretty in (False, True):
        text, outline = _written(cluster, pretty=pretty, goals=goals, workers=workers)
        assert text == _document(report, pretty=pretty), f"pretty={pretty}"
        assert _outline_of(outline) == _outline_of(report)
        assert (outline.entries, outline.skipped, outline.warnings) == (
            report.entries,
            report.skipped,
            report.warnings,
        )


def test_every_graph_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(MANIFESTS) > 50
    for path in MANIFESTS:
        text, _outline = _written(str(path), goals=GOALS)
        assert text == _document(attackmap.analyze(str(path), goals=GOALS), pretty=False), path


def test_a_cluster_without_workloads() -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
    text, outline = _written(service, workers=2)
    assert text == _document(attackmap.analyze(service), pretty=False)
    assert outline.workloads == () and outline.warnings


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)


def test_written_piece_by_piece(cluster: Path) -> None:
    sink = _Recorder()
    writer = report_writer(cluster)
    outline = writer.write(sink.write)
    # one write per workload element and per steps row: the document is never whole
    elements = [text for text in sink.writes if '"minimal_controls":' in text]
    assert len(elements) == len(outline.workloads) > 1
    assert all(text.count('"minimal_controls":') == 1 for text in elements)
    rows = [text for text in sink.writes if '"step":' in text]
    assert len(rows) == len(json.loads("".join(sink.writes))["steps"]) > 1
    with pytest.raises(RuntimeError, match="once"):
        writer.write(sink.write)


def test_a_writer_lets_the_input_documents_go(cluster: Path) -> None:
    # the parsed documents serve Report.apply() alone; a writer has no apply()
    assert attackmap.analyze(cluster)._analyzer.documents
    assert report_writer(cluster)._analyzer.documents is None


def _live_workloads(under: Path) -> list[Any]:
    """The workload models alive that were read from files under ``under``."""
    from attackmap.model import Workload

    gc.collect()
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, Workload) and o.source.path.startswith(str(under))
    ]


@pytest.mark.parametrize("goals", [None, GOALS])
def test_a_writer_lets_the_manifests_go_before_the_graph_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, goals: list[str] | None
) -> None:
    """A writer's analysis keeps the facts: no workload model, inventory or document is
    alive once the facts are taken, so the graph and the search reuse their memory; the
    document is the report's."""
    root = synthetic_cluster(tmp_path / "cluster", 12, seed=3, node_pools=True)
    built = AttackGraph.__init__
    alive: list[int] = []

    def graph_init(graph: AttackGraph, *args: Any, **kwargs: Any) -> None:
        if not alive:  # the analysis graph: the first built
            alive.append(len(_live_workloads(root)))
        built(graph, *args, **kwargs)

    monkeypatch.setattr(AttackGraph, "__init__", graph_init)
    writer = report_writer(root, goals=goals)
    analyzer = writer._analyzer
    assert alive == [0]
    assert analyzer.fb.workloads and all(wf.manifest is None for wf in analyzer.fb.workloads)
    assert analyzer.documents is None
    with pytest.raises(AttackmapError, match="kept the facts of its manifests"):
        analyzer.inventory  # noqa: B018
    with pytest.raises(AttackmapError, match="kept its facts, not its manifest"):
        analyzer.fb.workloads[0].workload  # noqa: B018
    monkeypatch.setattr(AttackGraph, "__init__", built)
    stream = io.StringIO()
    writer.write(stream.write)
    assert stream.getvalue() == _document(attackmap.analyze(root, goals=goals), pretty=False)
    # a report keeps them (apply(), harden), as the check above would have seen
    report = attackmap.analyze(root)
    assert all(wf.manifest is not None for wf in report._analyzer.fb.workloads)
    assert len(_live_workloads(root)) == len(report.workloads) == 12


def _plain_analyzer(cluster: Path) -> _analysis.Analyzer:
    return _analysis.Analyzer(
        attackmap.load(cluster),
        kb=attackmap.load_attack(),
        catalogue=_analysis.load_catalogue(attackmap.load_attack()),
        entries=_analysis.ENTRY_KINDS,
        seccomp_root=None,
        assume_kernel_exploit=False,
        goals=(),
        documents=None,
        namespace=None,
    )


def test_the_writers_path_rows_are_plain_tuples_like_the_ranked_paths(cluster: Path) -> None:
    # The rows are made as the ranked paths (plain 3-tuples) are let go: of the same
    # size they take the blocks those leave (a NamedTuple's instance takes a slot more,
    # another pymalloc size class: at 10k workloads 38 MB of new pools beside 58 MB free).
    writer = _plain_analyzer(cluster).report_writer()
    assert writer._prepared is not None
    _tables, workloads, _reached = writer._prepared
    rows = [p for _wf, found in workloads for _tid, _truncated, paths in found for p in paths]
    assert rows and {type(p) for p in rows} == {tuple} and {len(p) for p in rows} == {3}


def test_the_ranking_is_the_reports(cluster: Path) -> None:
    # the step instances the writer makes, and their order, come from ranked_paths alone:
    # the same as the report's steps table
    report = attackmap.analyze(cluster)
    analyzer = _plain_analyzer(cluster)
    chosen, raw, _scoped, _parts = analyzer._paths(None, 1)
    order: dict[str, None] = {}
    for wf in chosen:
        ranked = ranked_paths(wf.key, raw[wf.key])
        finding = report.workload(wf.key)
        assert [(tid, truncated, len(kept)) for tid, truncated, kept in ranked] == [
            (t.technique.id, t.truncated, len(t.paths)) for t in finding.techniques
        ]
        for _tid, _truncated, kept in ranked:
            for _entry, _origin, steps in kept:
                order.update(dict.fromkeys(s.id for s in steps))
    assert list(order) == [s.key for s in report.step_instances()]


def test_a_worker_that_fails_writes_nothing(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    parent = os.getpid()
    original = ReportWriter._run

    def failing(writer: Any, run: Any, *args: Any, **kwargs: Any) -> None:
        if os.getpid() != parent:
            raise AttackmapError("boom in a worker")
        original(writer, run, *args, **kwargs)

    monkeypatch.setattr(ReportWriter, "_run", failing)
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    assert main(["analyze", str(cluster), "--workers", "2", "-o", str(out), "-q"]) == 2
    assert "boom in a worker" in capsys.readouterr().err
    assert list(out.parent.iterdir()) == []  # neither the report nor a temporary file


# -- the CLI ---------------------------------------------------------------------------------


def _cli(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--pretty", "--goal", "T1611"],
        ["--fail-on", "high"],
        ["--fail-on", "T1611,privilege-escalation", "--workers", "2"],
    ],
)
def test_the_cli_streams_the_same_output(
    cluster: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    extra: list[str],
) -> None:
    """The streamed JSON and the report's: the same document, the same summary line and
    messages, the same exit code."""
    results = []
    for streamed in (True, False):
        monkeypatch.setattr(cli_analyze, "_streams", lambda *a, streamed=streamed: streamed)
        out = tmp_path / f"{streamed}.json"
        code, _stdout, stderr = _cli(["analyze", str(cluster), "-o", str(out), *extra], capsys)
        results.append((code, out.read_text(encoding="utf-8"), stderr.replace(str(out), "OUT")))
    assert results[0] == results[1]
    code, document, stderr = results[0]
    assert json.loads(document)["workloads"]
    assert code == (1 if "--fail-on" in extra else 0)
    if "--fail-on" in extra:
        assert "fail-on:" in stderr
    assert "OUT: 30 workloads," in stderr


def test_only_a_file_is_streamed(tmp_path: Path) -> None:
    """The analysis runs while a streamed document is written, so an error half-way would
    leave half a document where nothing replaces it whole: stdout, a pipe, a device."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "old.json").write_text("{}")
    (tmp_path / "dir").mkdir()
    streams = cli_analyze._regular_file
    assert streams(str(tmp_path / "new.json")) and streams(str(tmp_path / "old.json"))
    for target in (None, "-", str(fifo), os.devnull, str(tmp_path / "dir")):
        assert not streams(target), target


def test_a_failure_on_stdout_writes_nothing(
    cluster: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """To stdout the report is made first, then written: a failing analysis leaves no
    half document there."""

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AttackmapError("boom")

    # a workload's analysis fails: while it is written when streamed (after the head),
    # before anything is written when the report is made first
    monkeypatch.setattr(_analysis.Analyzer, "_element", boom)
    monkeypatch.setattr(_analysis.Analyzer, "_analyses", boom)
    code, stdout, stderr = _cli(["analyze", str(cluster), "--format", "json"], capsys)
    assert code == 2 and "boom" in stderr
    assert stdout == ""


def test_accepted_findings_need_the_report(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    config = tmp_path / ".attackmap.yaml"
    config.write_text(
        "accept:\n- finding: T1611@Deployment/ns-000/app-0000\n  reason: reviewed\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(
        _analysis, "report_writer", lambda *a, **k: pytest.fail("streamed with accepted findings")
    )
    out = tmp_path / "r.json"
    code, _out, stderr = _cli(
        ["analyze", str(cluster), "-o", str(out), "--config", str(config)], capsys
    )
    assert code == 0, stderr
    assert out.stat().st_size > 0


def test_the_workers_temporary_files_go_where_asked(cluster: Path, tmp_path: Path) -> None:
    """Beside the output (the CLI's choice: its disk, not a memory-backed /tmp); a
    directory that cannot hold them is an input error naming it."""
    writer = attackmap.graph._analysis.report_writer(cluster, workers=2)
    if writer._processes < 2:
        pytest.skip("forking is refused in this test process (another thread runs)")
    missing = tmp_path / "missing"
    with pytest.raises(AttackmapError) as caught:
        writer.write(io.StringIO().write, spool=missing)
    assert caught.value.path == str(missing) and "temporary files" in str(caught.value)


def test_the_cli_streams_json_and_falls_back_where_the_report_is_needed(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    made = []
    report = _analysis.Analyzer.report

    def counted(analyzer: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return report(analyzer, *args, **kwargs)

    monkeypatch.setattr(_analysis.Analyzer, "report", counted)
    out = tmp_path / "report.json"
    assert _cli(["analyze", str(cluster), "-o", str(out)], capsys)[0] == 0
    assert made == []  # streamed: no report made
    expected = out.read_text(encoding="utf-8")
    # a baseline leaves out what it has: the report is made, then written
    assert (
        main(["analyze", str(cluster), "-o", str(tmp_path / "b.json"), "--baseline", str(out)]) == 0
    )
    # another format, and a fleet, are exported from the report
    assert main(["analyze", str(cluster), "-o", str(tmp_path / "r.sarif"), "-q"]) == 0
    assert main(["analyze", str(cluster), "--out-dir", str(tmp_path / "fleet"), "-q"]) == 0
    assert len(made) == 3
    assert (tmp_path / "fleet" / "cluster.json").read_text(encoding="utf-8") == expected


def test_workers_make_steps_and_write_runs(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two processes, each makes a part of the step instances and writes a run of
    workloads (a file per call and process, so forked children report too)."""
    step_row, run = _analysis.Analyzer._step_row, ReportWriter._run

    def record(phase: str) -> None:
        (tmp_path / f"{phase}-{os.getpid()}").touch()

    def recorded_step(analyzer: Any, *args: Any) -> Any:
        record("step")
        return step_row(analyzer, *args)

    def recorded_run(writer: Any, *args: Any, **kwargs: Any) -> None:
        record("run")
        run(writer, *args, **kwargs)

    monkeypatch.setattr(_analysis.Analyzer, "_step_row", recorded_step)
    monkeypatch.setattr(ReportWriter, "_run", recorded_run)
    text, _outline = _written(cluster, goals=GOALS, workers=2)
    assert text == _document(attackmap.analyze(cluster, goals=GOALS), pretty=False)
    for phase in ("step", "run"):
        pids = {p.name.partition("-")[2] for p in tmp_path.glob(f"{phase}-*")}
        assert len(pids) == 2 and str(os.getpid()) in pids, phase


def test_without_goals_each_process_searches_and_writes_a_run(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without goals the processes fork once: each searches, ranks and makes the steps of
    a run of the workloads, then writes their elements (a file per call and process)."""
    run_rows, run = _analysis.Analyzer._run_rows, ReportWriter._run
    searched: list[str] = []  # the workloads this process searched

    def recorded_rows(analyzer: Any, workloads: Any, **kwargs: Any) -> Any:
        (tmp_path / f"search-{os.getpid()}").write_text(str(len(workloads)), encoding="utf-8")
        if os.getpid() == here:
            searched.extend(wf.key for wf in workloads)
        return run_rows(analyzer, workloads, **kwargs)

    def recorded_run(writer: Any, *args: Any, **kwargs: Any) -> None:
        (tmp_path / f"run-{os.getpid()}").touch()
        run(writer, *args, **kwargs)

    here = os.getpid()
    monkeypatch.setattr(_analysis.Analyzer, "_run_rows", recorded_rows)
    monkeypatch.setattr(ReportWriter, "_run", recorded_run)
    report = attackmap.analyze(cluster)
    for pretty in (False, True):
        for p in tmp_path.glob("*-*"):
            p.unlink()
        searched.clear()
        text, _outline = _written(cluster, pretty=pretty, workers=2)
        assert text == _document(report, pretty=pretty)
        searches = {p.name.partition("-")[2]: p for p in tmp_path.glob("search-*")}
        runs = {p.name.partition("-")[2] for p in tmp_path.glob("run-*")}
        assert len(searches) == 2 and str(here) in searches and runs == set(searches)
        counts = [int(p.read_text(encoding="utf-8")) for p in searches.values()]
        assert sum(counts) == len(report.workloads) and min(counts) > 0
        # this process searched the first run: the first workloads in report order
        first = [str(w.ref) for w in report.workloads[: len(searched)]]
        assert searched == first


def test_a_worker_that_fails_in_its_search_writes_nothing(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    parent = os.getpid()
    original = _analysis.Analyzer._run_rows

    def failing(analyzer: Any, run: Any, **kwargs: Any) -> Any:
        if os.getpid() != parent:
            raise AttackmapError("boom in a search")
        return original(analyzer, run, **kwargs)

    monkeypatch.setattr(_analysis.Analyzer, "_run_rows", failing)
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    assert main(["analyze", str(cluster), "--workers", "2", "-o", str(out), "-q"]) == 2
    assert "boom in a search" in capsys.readouterr().err
    assert list(out.parent.iterdir()) == []  # neither the report nor a temporary file


def test_each_process_lets_the_graph_go_before_making_its_steps(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # above the Pod Security threshold, each process lets go of the graph once its (last)
    # run is searched: holding it while the steps and rows are made was the peak
    monkeypatch.setattr(_analysis, "PSS_TRADEOFF_MAX_WORKLOADS", 10)
    steps = _analysis.Analyzer._first_used_steps

    def recorded(analyzer: Any, *args: Any) -> Any:
        held = analyzer._graph is not None
        (tmp_path / f"{os.getpid()}-{held}").touch()
        return steps(analyzer, *args)

    monkeypatch.setattr(_analysis.Analyzer, "_first_used_steps", recorded)
    _text, outline = _written(cluster, workers=2)
    assert len(outline.workloads) > 10
    seen = {p.name for p in tmp_path.iterdir()}
    assert len(seen) == 2 and all(name.endswith("-False") for name in seen), seen


def test_the_processes_inherit_the_searches_every_run_shares(cluster: Path) -> None:
    writer = report_writer(cluster, workers=2)
    if writer._runs is None:
        pytest.skip("forking is refused in this test process (another thread runs)")
    graph = writer._analyzer._graph
    assert graph is not None
    assert {"doors", "local_preds", "prefixes", "nodes_of"} <= set(graph.memo)
    assert set(graph.memo["prefixes"]) == set(writer._analyzer.entries)


@pytest.mark.parametrize("fork", ["refused", "one process of two", "one process of three"])
def test_runs_no_process_was_forked_for_are_searched_here_with_one_graph(
    cluster: Path, monkeypatch: pytest.MonkeyPatch, fork: str
) -> None:
    """Forking refused when the writer writes (a thread started since it was made), or
    the system giving fewer processes: the runs left are searched here, with the graph
    and searches made for all (none built again), and the document is the same."""
    monkeypatch.setattr(_analysis, "PSS_TRADEOFF_MAX_WORKLOADS", 10)  # the graph let go
    expected = _document(attackmap.analyze(cluster), pretty=False)
    writer = report_writer(cluster, workers=3 if fork.endswith("three") else 2)
    if writer._runs is None:
        pytest.skip("forking is refused in this test process (another thread runs)")
    if fork == "refused":
        monkeypatch.setattr(_fork, "fork_refusal", lambda: "a thread runs (a test)")
    else:  # the system gives one process (of two: none forked; of three: one)
        real, started = multiprocessing.context.ForkProcess.start, []

        def start(process: Any) -> None:
            if started or fork.endswith("two"):
                raise OSError(11, "Resource temporarily unavailable")
            started.append(1)
            real(process)

        monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", start)
    built: list[int] = []
    init = AttackGraph.__init__

    def counted(graph: AttackGraph, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        init(graph, *args, **kwargs)

    monkeypatch.setattr(AttackGraph, "__init__", counted)
    stream = io.StringIO()
    writer.write(stream.write)
    assert stream.getvalue() == expected
    assert built == []
    assert writer._analyzer._graph is None  # let go once every run here was searched
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("fail", ["worker exits writing", "here, between the rounds"])
def test_a_failure_in_the_second_round_writes_nothing(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, fail: str
) -> None:
    parent = os.getpid()
    if fail.startswith("worker"):
        run = ReportWriter._run

        def dying(writer: Any, *args: Any, **kwargs: Any) -> None:
            if os.getpid() != parent:
                os._exit(7)
            run(writer, *args, **kwargs)

        monkeypatch.setattr(ReportWriter, "_run", dying)
        message = "ended with exit code 7"
    else:

        def numbered(writer: Any, parts: Any) -> Any:
            raise AttackmapError("boom between the rounds")

        monkeypatch.setattr(ReportWriter, "_numbered", numbered)
        message = "boom between the rounds"
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    assert main(["analyze", str(cluster), "--workers", "2", "-o", str(out), "-q"]) == 2
    assert message in capsys.readouterr().err
    assert list(out.parent.iterdir()) == []  # neither the report nor a temporary file
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("how", ["report", "writer"])
def test_minimal_controls_let_their_patched_graphs_go(
    cluster: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # Each workload's minimal controls are checked on a graph of the patched cluster; its
    # searches refer back to it (a cycle), and the analysis pauses the cyclic collector:
    # kept, one graph per workload and check was held to the end (24 GB at 1k workloads).
    # The collector stays off here, so that only reference counting can free them.
    # Patched graphs are spliced from the cluster's (AttackGraph.spliced), or built.
    made: list[weakref.ref[AttackGraph]] = []
    init, splice = AttackGraph.__init__, AttackGraph.spliced

    def recording(graph: AttackGraph, *args: Any, **kwargs: Any) -> None:
        init(graph, *args, **kwargs)
        made.append(weakref.ref(graph))

    def spliced(graph: AttackGraph, *args: Any) -> AttackGraph | None:
        found = splice(graph, *args)
        if found is not None:
            made.append(weakref.ref(found))
        return found

    monkeypatch.setattr(AttackGraph, "__init__", recording)
    monkeypatch.setattr(AttackGraph, "spliced", spliced)
    enabled = gc.isenabled()
    gc.disable()
    try:
        if how == "report":
            kept: Any = attackmap.analyze(cluster, goals=GOALS)
        else:
            kept, _outline = _written(cluster, goals=GOALS)
        alive = [r for r in made if r() is not None]
    finally:
        if enabled:
            gc.enable()
    assert len(made) > 10  # the cluster's graph, and the patched ones
    assert len(alive) <= 1, f"{len(alive)} of {len(made)} graphs still held"
    assert kept


_PRIVILEGED_POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: ml}}
spec:
  hostPID: true
  containers:
  - name: shell
    image: ubuntu
    securityContext: {{privileged: true{caps}}}
"""


def _step_instances(report: attackmap.Report) -> dict[tuple[str, str | None], Any]:
    return {
        (s.id, s.workload): ([(f.fact, f.path, f.line) for f in s.facts], s.broken_by)
        for s in report.step_instances()
    }


def test_instances_of_a_step_keep_what_their_own_facts_decide(tmp_path: Path) -> None:
    # What the instances of one step share (the facts they cite, the controls that stop
    # them) is made once per step and base facts: pods a and c are the same pod, b adds
    # SYS_ADMIN, one fact more, with which escape-bpf still fires once unprivileged. Each
    # instance, reported or written, is what the analysis of its pod alone makes: its own
    # facts and their evidence, its own controls at its own workload.
    files = {}
    for name, caps in (("a", ""), ("b", ", capabilities: {add: [SYS_ADMIN]}"), ("c", "")):
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(_PRIVILEGED_POD.format(name=name, caps=caps))
    sources = [str(f) for f in files.values()]
    reported = _step_instances(attackmap.analyze(sources, entries=["image"]))
    text, _outline = _written(sources, entries=["image"], workers=1)
    written = _step_instances(attackmap.Report.from_json(text))
    assert written == reported
    for name, file in files.items():
        key = f"Pod/ml/{name}"
        alone = {
            k: v
            for k, v in _step_instances(attackmap.analyze(str(file), entries=["image"])).items()
            if k[1] == key
        }
        assert alone == {k: v for k, v in reported.items() if k[1] == key}
        assert all(path == str(file) for facts, _b in alone.values() for _f, path, _l in facts)
    assert reported["escape-bpf", "Pod/ml/a"][1] == ("unprivileged@Pod/ml/a",)
    assert reported["escape-bpf", "Pod/ml/b"][1] == ()
    assert reported["escape-bpf", "Pod/ml/c"][1] == ("unprivileged@Pod/ml/c",)
    facts_a, facts_b = (reported["escape-bpf", f"Pod/ml/{n}"][0] for n in "ab")
    assert {f for f, _p, _l in facts_b} - {f for f, _p, _l in facts_a} == {
        "syscall:bpf <- cap_add:SYS_ADMIN"
    }


def test_the_tables_rows_go_before_the_workloads_are_written(cluster: Path) -> None:
    """The facts and evidence tables (and their files) serve the tables' rows alone: they
    go before the ``workloads`` elements, which refer to steps and controls."""
    from attackmap.graph._report import DocumentTables, finding_rows, write_document

    report = attackmap.analyze(cluster)
    tables = DocumentTables.of(report)
    assert tables.facts and tables.evidence and tables.files
    held: list[tuple[int, int, int]] = []

    def workloads(item: Any) -> None:
        held.append((len(tables.facts), len(tables.evidence), len(tables.files)))
        for w in report.workloads:
            item(tables.workload_text(w, finding_rows(w), pretty=False))

    stream = io.StringIO()
    write_document(stream.write, report, tables, workloads, pretty=False)
    assert held == [(0, 0, 0)]
    assert stream.getvalue() == _document(report, pretty=False)
