"""``attackmap analyze``: reachable techniques, paths and the controls that break them."""

from __future__ import annotations

import argparse
import logging
import os
import re
import stat
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from attackmap.attack._models import parent_id, within_goals
from attackmap.cli._inputs import add_input_options, own_allocator, report_input_errors
from attackmap.cli._output import (
    Content,
    add_out_dir,
    add_output,
    check_destination,
    output_format,
    print_table,
    status,
    write_files,
    write_stream,
    write_text,
)
from attackmap.errors import AttackmapError

log = logging.getLogger("attackmap.cli")

CONFIG = ".attackmap.yaml"

EXAMPLES = """\
examples:
  attackmap analyze nim.yaml                                 every entry point, a table
  attackmap analyze chart/ --entry external --format json    internet-facing paths, JSON
  attackmap analyze nim.yaml --format json --pretty          JSON indented for people
  attackmap analyze nim.yaml -o attackmap.sarif              the format from the extension
  attackmap analyze nim.yaml --goal T1611,T1552.001          + the smallest control set
  attackmap analyze nim.yaml --context cluster.yaml --seccomp-root /var/lib/kubelet/seccomp
  attackmap analyze nim.yaml --fail-on T1611                 exit 1 when T1611 is reachable
  attackmap analyze nim.yaml --fail-on high                  exit 1 on high or critical
  attackmap analyze deploy/ --baseline main.json --fail-on high   only what is new
  attackmap analyze big/ --workers auto -o big.json  one cluster, its workloads on every CPU
  attackmap analyze prod/ stage/ --out-dir reports/          a fleet: reports/prod.json ...
  attackmap analyze prod/ stage/ --out-dir reports/ --engine dask --scheduler tcp://sched:8786
"""


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


#: ``-o FILE`` extensions beside each exporter's own ``suffix`` (docs/ci.md lists them all)
EXTRA_SUFFIXES = {
    ".stix.json": "stix",
    ".navigator.json": "navigator",
    ".layer.json": "navigator",
    ".atlas.json": "navigator-atlas",
    ".navigator-atlas.json": "navigator-atlas",
    ".sarif.json": "sarif",
    ".htm": "html",
    ".markdown": "markdown",
    ".gv": "dot",
    ".tsv": "table",
    ".txt": "table",
    ".mermaid": "mermaid",
    ".png": "png",  # the dot exporter drawn by Graphviz (cli/_png.py)
}


def report_suffixes() -> dict[str, str]:
    """Extension -> format for ``analyze -o FILE``: each exporter's ``suffix`` (a suffix
    several exporters share, ``.json``, belongs to the one of that name) and
    :data:`EXTRA_SUFFIXES`."""
    from attackmap.exporters import SUFFIXES

    suffixes: dict[str, str] = {}
    for name, suffix in sorted(SUFFIXES.items()):
        if suffix not in suffixes or suffix == f".{name}":
            suffixes[suffix] = name
    return suffixes | EXTRA_SUFFIXES


def add_parser(sub: Any) -> None:
    from attackmap.exporters import SUFFIXES

    formats = sorted({"table", "png", *SUFFIXES})
    p = sub.add_parser(
        "analyze",
        help="reachable ATT&CK and ATLAS techniques, paths and the controls that break them",
        description="Analyse manifests: which ATT&CK (Containers) techniques an attacker "
        "reaches from each entry point, by which paths, and which controls break each path.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="manifest files or directories, - for stdin"
    )
    p.add_argument(
        "--entry",
        type=_csv,
        default=None,
        metavar="LIST",
        help="where the attacker starts: external,cluster,image (default: all)",
    )
    p.add_argument(
        "--context", metavar="FILE", help="a ClusterContext document (versions, runtime, kernel)"
    )
    p.add_argument(
        "--seccomp-root", metavar="DIR", help="the kubelet's seccomp root for Localhost profiles"
    )
    p.add_argument(
        "--goal",
        type=_csv,
        default=None,
        metavar="LIST",
        help="techniques to find a minimal control set for, e.g. T1611,T1552.001",
    )
    p.add_argument(
        "--assume-kernel-exploit",
        action="store_true",
        help="every foothold can exploit the kernel (T1068)",
    )
    p.add_argument(
        "--namespace", metavar="NS", help="namespace for objects that name none (default: default)"
    )
    add_input_options(p)
    p.add_argument(
        "--attack", metavar="BUNDLE", help="an ATT&CK bundle or slice directory (default: bundled)"
    )
    p.add_argument(
        "--format",
        choices=formats,
        default=None,
        help="output format (default: from the extension of -o FILE, else table)",
    )
    add_output(p, "the report")
    p.add_argument(
        "--pretty",
        action="store_true",
        help="indent the JSON report (--format json, or -o FILE.json) by 2 (default: compact, "
        "one line; the same document, keys sorted either way); sarif, navigator and stix are "
        "always indented",
    )
    p.add_argument(
        "--fail-on",
        type=_csv,
        default=None,
        metavar="LIST",
        help="exit 1 when any of these techniques (ATT&CK T1611, ATLAS AML.T0018; a parent "
        "matches its sub-techniques), tactics (privilege-escalation, ai-model-access) or "
        "severities (info, low, medium, high, critical: that level or above) is reachable",
    )
    p.add_argument(
        "--baseline",
        metavar="OLD.json",
        help="a saved JSON report: report (and fail on) only the findings it does not have",
    )
    engine = p.add_argument_group(
        "engines", "where the analysis runs; every engine writes the same report (docs/scaling.md)"
    )
    engine.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: this machine, in this process or --workers processes (default); dask: "
        "the workers of a Dask cluster (--scheduler; needs the dask extra)",
    )
    engine.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="local, one cluster: processes that search its paths (a share of the sinks each), "
        "then analyse its workloads (auto: the CPUs available, at most 8, as many as memory holds, from 100 workloads); local, a fleet or --shards: "
        "processes that run whole tasks; dask without --scheduler: the processes of a Dask "
        "cluster started for the run (default 1: this process; auto: the CPUs available, at "
        "most 8)",
    )
    engine.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the Dask scheduler, tcp://HOST:PORT (--engine dask); its workers need attackmap "
        "and must see the input paths",
    )
    engine.add_argument(
        "--shards",
        type=_positive,
        default=1,
        metavar="N",
        help="tasks per cluster: each loads the cluster, builds its graph and analyses 1/N of "
        "its workloads; the joined report is byte-identical (default 1)",
    )
    add_out_dir(
        p,
        "a fleet: each PATH is one cluster, its report written to DIR/NAME.EXT (NAME: the "
        "path's last part, EXT from --format, default json)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help=f"settings and accepted findings (default: the first {CONFIG} in the working "
        "directory or above; flags win over it)",
    )
    p.set_defaults(run=run)


def _workers(value: str) -> int | str:
    """``--workers``: a positive integer or ``auto``."""
    return "auto" if value == "auto" else _positive(value)


def _positive(value: str) -> int:
    # ASCII digits only: int() also takes "1_0", " 3" and other scripts' digits ("٣")
    number = int(value) if value.isascii() and value.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


#: Formats that draw the whole attack graph, which only an analysis in this process keeps.
WHOLE_GRAPH_FORMATS = ("dot", "graphml", "png")


def _forks(args: argparse.Namespace) -> bool:
    """Whether ``--workers`` counts the forked workers of one cluster's analysis (one
    cluster, the local engine, one shard), not the processes of an engine's tasks."""
    return args.out_dir is None and args.engine == "local" and args.shards == 1


def _check_engine(args: argparse.Namespace, fmt: str) -> bool:
    """Refuse engine flags that contradict each other; whether the reports come from
    other processes (then they hold no attack graph; forked workers of one analysis
    send back workload analyses, and the report here keeps its graph)."""
    if args.scheduler is not None and args.engine != "dask":
        raise AttackmapError(
            "--scheduler is for --engine dask", field="--scheduler", hint="add --engine dask"
        )
    if args.out_dir is not None and args.output is not None:
        raise AttackmapError(
            "--out-dir writes one report per cluster; -o writes one report",
            field="--out-dir",
            hint="leave out -o (the format comes from --format)",
        )
    if args.out_dir is not None and args.baseline is not None:
        raise AttackmapError(
            "--baseline compares one report, --out-dir writes one per cluster",
            field="--baseline",
            hint="compare each cluster's report with its own baseline in a separate run",
        )
    if not _forks(args) and args.workers == "auto":
        from attackmap._fork import auto_workers

        args.workers = auto_workers()  # the processes of the pool or the Dask cluster
    elsewhere = args.engine == "dask" or (not _forks(args) and (args.workers or 1) > 1)
    if "-" in args.paths and (elsewhere or args.shards > 1):
        raise AttackmapError(
            "stdin is read once, by one task: --shards, --engine dask and --workers for a "
            "fleet read files",
            field="-",
            hint="save the manifests to a file and name it",
        )
    if elsewhere and fmt in WHOLE_GRAPH_FORMATS:
        # what sends the analysis elsewhere: the flag to change
        flag = "--engine" if args.engine == "dask" else "--workers"
        raise AttackmapError(
            f"--format {fmt} draws the whole attack graph, which stays in the worker that built it",
            field=flag,
            hint=(
                "run it with the local engine, or write json and draw the paths (svg, mermaid)"
                if flag == "--engine"
                else "run it with --workers 1 (a fleet or shards then run in this process), "
                "or write json and draw the paths (svg, mermaid)"
            ),
        )
    return elsewhere


def _cluster_names(paths: list[str]) -> list[str]:
    """The report name of each cluster of a fleet: its path's last part (``.yaml``,
    ``.yml`` and ``.json`` left out); every name must be different."""
    names: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        if path == "-":
            raise AttackmapError(
                "a cluster of --out-dir cannot be stdin", field="--out-dir", hint="name files"
            )
        name = Path(path).name
        for suffix in (".yaml", ".yml", ".json"):
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
        if not name or name in (".", ".."):
            name = Path(path).resolve().name or "cluster"
        if name in seen:
            raise AttackmapError(
                f"two clusters would write the report {name}: {seen[name]} and {path}",
                field="--out-dir",
                hint="give the cluster directories different names",
            )
        seen[name] = path
        names.append(name)
    return names


def _suffix(fmt: str) -> str:
    from attackmap.exporters import SUFFIXES

    return {"table": ".tsv", "png": ".png"}.get(fmt) or SUFFIXES[fmt]


def run(args: argparse.Namespace) -> int:
    import attackmap
    from attackmap._config import Config, find_config, load_config

    fleet = args.out_dir is not None
    fmt = output_format(args.format, args.output, report_suffixes(), "json" if fleet else "table")
    elsewhere = _check_engine(args, fmt)
    # where the report goes, checked before the analysis (minutes for a large cluster)
    if args.output is not None and args.output != "-":
        check_destination(args.output, [p for p in args.paths if p != "-"])
    if fleet:  # every cluster there before the first is analysed (minutes at 10k)
        for path in args.paths:
            if path != "-" and not os.path.lexists(path):
                raise AttackmapError("no such file or directory", path=path)
    if fleet and os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise AttackmapError(
            "cannot create the directory: a file of that name exists",
            path=args.out_dir,
            field="--out-dir",
        )
    if fmt == "png":
        from attackmap.cli._png import require_dot

        require_dot()  # before the analysis: say how to get Graphviz at once
    found = args.config or find_config()
    config = load_config(found) if found else Config()
    if found:
        log.info("settings from %s", found)
    kb = attackmap.load_attack(args.attack)
    fail_on = _fail_on(args.fail_on or list(config.fail_on or ()), kb)  # typos: before any work
    for accepted in config.accept:
        kb.technique(accepted.technique)  # an unknown id raises with suggestions
    paths = ["-" if p == "-" else p for p in args.paths]
    own_allocator(paths)
    clusters: list[Any] = list(paths) if fleet else [paths]
    names = _cluster_names(paths) if fleet else [""]
    options: dict[str, Any] = {
        "entries": args.entry or config.entries,
        "context": args.context or config.context_path(),
        # workers elsewhere read the bundle themselves (the knowledge base is not shipped)
        "attack": args.attack if elsewhere else kb,
        "seccomp_root": args.seccomp_root,
        "goals": args.goal,
        "assume_kernel_exploit": args.assume_kernel_exploit,
        "namespace": args.namespace,
        "helm_values": args.values,
        "helm_set": args.set,
        "keep_going": args.keep_going,
    }
    forks = _forks(args)
    analysing = status(f"analysing {len(paths)} input(s)", quiet=args.quiet)
    if _streams(args, fmt, config):
        return _stream(paths, options, args, config, fail_on, analysing)
    with analysing:
        if forks:
            analysis = attackmap.analyze(paths, workers=args.workers or 1, **options)
            reports = [analysis]
        else:
            # --keep-going: a cluster that cannot be analysed at all (no manifests) has its
            # error in its place, the other clusters' reports beside it
            each = {k: v for k, v in options.items() if k != "keep_going"}
            if args.engine == "dask":
                from attackmap.engines._dask import connect

                with connect(args.scheduler, args.workers) as engine:
                    reports = attackmap.analyze_fleet(
                        clusters,
                        engine=engine,
                        shards=args.shards,
                        keep_going=args.keep_going,
                        **each,
                    )
            else:
                reports = attackmap.analyze_fleet(
                    clusters,
                    workers=args.workers,
                    shards=args.shards,
                    keep_going=args.keep_going,
                    **each,
                )
    if not fleet:
        if isinstance(reports[0], AttackmapError):
            raise reports[0]
        return _deliver(reports[0], fmt, args.output, args, config, fail_on)
    out_dir = Path(args.out_dir)
    # every cluster's report written before any replaces its file: a failure (a full
    # disk, a directory in the way) leaves the directory as it was, not half new
    staged: dict[str | Path, Content] = {}
    written: list[tuple[str, Any, Any, str, list[Any]]] = []
    for name, analysed in zip(names, reports, strict=True):
        output = str(out_dir / f"{name}{_suffix(fmt)}")
        if isinstance(analysed, AttackmapError):  # --keep-going: said after the writing
            written.append((name, analysed, analysed, output, []))
            continue
        report, expired = _leave_out(analysed, config, args.baseline)
        staged[output] = _file_content(report, fmt, args)
        written.append((name, report, analysed, output, expired))
    try:
        if staged:  # (no cluster analysed: no directory made for nothing)
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise AttackmapError(
                    f"cannot create the directory: {e.strerror or e}",
                    path=out_dir,
                    field="--out-dir",
                ) from e
        write_files(staged)
    except AttackmapError:  # the reports not written: the clusters not analysed still said
        for name, report, _analysed, output, _expired in written:
            if isinstance(report, AttackmapError):
                _not_analysed(name, report, output)
        raise
    codes = [
        _not_analysed(name, report, output)
        if isinstance(report, AttackmapError)
        else _verdict(report, analysed, output, args, config, expired, fail_on, cluster=name)
        for name, report, analysed, output, expired in written
    ]
    return max(codes)


def _not_analysed(name: str, error: AttackmapError, output: str) -> int:
    """Say that a cluster of a fleet could not be analysed (``--keep-going`` wrote the
    others' reports); exit code 2."""
    print(error.diagnostics(), file=sys.stderr)
    stale = " (an earlier run's report is there, left as it was)" if os.path.isfile(output) else ""
    print(f"{name}: not analysed: no report written to {output}{stale}", file=sys.stderr)
    return 2


def _streams(args: argparse.Namespace, fmt: str, config: Any) -> bool:
    """Whether the report is written as it is made (:func:`_stream`): one cluster's JSON
    document analysed here, into a file (replaced only once complete: the analysis runs
    while it is written, and an error half-way must leave no half document, which stdout,
    a pipe or a device would keep), and nothing else needs the report's objects
    (accepted findings and a baseline leave findings out of the report before it is
    written)."""
    return (
        _forks(args)
        and fmt == "json"
        and _regular_file(args.output)
        and args.baseline is None
        and not config.accept
    )


def _regular_file(output: str | None) -> bool:
    """Whether ``output`` names a file that is written whole and renamed into place: a
    path, not stdout, and not an existing special file (a FIFO, ``/dev/stdout``), which
    :func:`write_files` writes in place."""
    if output is None or output == "-":
        return False
    try:
        return stat.S_ISREG(os.stat(output).st_mode)
    except FileNotFoundError:
        return True  # a new file
    except OSError:
        return False  # the write says what is wrong with it


def _stream(
    paths: list[str],
    options: dict[str, Any],
    args: argparse.Namespace,
    config: Any,
    fail_on: _FailOn | None,
    analysing: AbstractContextManager[object],
) -> int:
    """Analyse one cluster and write its JSON report as it is made (no report object:
    ``ReportWriter``), then say what it found; the exit code it asks for. The same document
    and the same messages as :func:`_deliver` of the report, for a fraction of the memory."""
    from attackmap.graph._analysis import report_writer

    written = []

    def write(stream: TextIO) -> None:
        written.append(writer.write(stream.write, pretty=args.pretty, spool=spool))

    output = args.output
    spool = os.path.dirname(os.path.abspath(output))  # the workers' parts: on its disk
    with analysing:
        writer = report_writer(paths, workers=args.workers or 1, **options)
        write_files({output: write})
    return _verdict(written[0], written[0], output, args, config, [], fail_on)


def _deliver(
    report: Any,
    fmt: str,
    output: str | None,
    args: argparse.Namespace,
    config: Any,
    fail_on: _FailOn | None,
) -> int:
    """Write one cluster's report and say what it found; the exit code it asks for."""
    from attackmap.exporters import exporter

    analysed = report
    report, expired = _leave_out(report, config, args.baseline)
    if fmt == "png":
        from attackmap.cli._png import write_png

        write_png(exporter("dot").export(report), output)  # (never to a terminal)
    elif output is not None and output != "-":
        write_files({output: _file_content(report, fmt, args)})
    elif fmt == "json":  # stdout from here on
        write_stream(lambda stream: report.write_json(stream, pretty=args.pretty))
    elif fmt == "table" and output is None:
        _print(report)
        print(summary(report))
    else:
        write_text(_plain(report) if fmt == "table" else exporter(fmt).export(report))
    return _verdict(report, analysed, output, args, config, expired, fail_on)


def _file_content(report: Any, fmt: str, args: argparse.Namespace) -> Content:
    """What :func:`_deliver` writes of ``report`` into a file, for :func:`write_files`."""
    from attackmap.exporters import exporter

    if fmt == "json":
        # streamed one workload at a time: a 10,000-workload report is ~0.5 GB of text
        return lambda stream: report.write_json(stream, pretty=args.pretty)
    if fmt == "png":
        from attackmap.cli._png import png_content

        return png_content(exporter("dot").export(report))
    text = _plain(report) if fmt == "table" else exporter(fmt).export(report)
    return text if text.endswith("\n") else text + "\n"  # (as write_text ends it)


def _verdict(
    report: Any,
    analysed: Any,
    output: str | None,
    args: argparse.Namespace,
    config: Any,
    expired: list[Any],
    fail_on: _FailOn | None,
    cluster: str | None = None,
) -> int:
    """Say what a written report (``analysed``, before accepted and baseline findings
    were left out) found; the exit code it asks for. ``report`` may be a ``Report`` or
    the ``ReportOutline`` of a streamed one: only workloads' refs and techniques, entries
    and skipped objects are read. ``cluster``: a fleet's cluster, named in the
    ``--fail-on`` lines (``-q`` prints no summary line to tell them apart)."""
    if output and not args.quiet:  # the file holds the data; the log says what it is
        print(f"{output}: {summary(report)}", file=sys.stderr)
    if not analysed.workloads:
        log.warning("no workloads in %s: nothing to analyse", output or ", ".join(args.paths))
    elif not any(w.techniques for w in analysed.workloads):
        log.warning("no paths from the entry points %s", ", ".join(report.entries))
    if report_input_errors(report.skipped):
        return 2  # the report is written, but the input was not all read
    for accepted in expired:
        print(f"error: {config.path}: the acceptance of {accepted} has expired", file=sys.stderr)
    if expired:
        return 1
    if fail_on is None:
        return 0
    tripped = fail_on.tripped(report)
    head = "fail-on:" if cluster is None else f"fail-on: {cluster}:"
    for workload, t, why in tripped:
        print(
            f"{head} {workload}: {t.technique.id} {t.technique.name} "
            f"(severity {t.severity}; matched by {why})",
            file=sys.stderr,
        )
    if tripped:
        print(
            f"{head} {len(tripped)} finding(s) match --fail-on {','.join(fail_on.values)}",
            file=sys.stderr,
        )
    return 1 if tripped else 0


def _leave_out(report: Any, config: Any, baseline: str | None) -> tuple[Any, list[Any]]:
    """``report`` without the findings ``config`` accepts (those whose acceptance has not
    expired) and those ``baseline`` already has, each named in its warnings; and the
    expired acceptances (their findings stay)."""
    if not config.accept and baseline is None:
        return report, []
    from attackmap.graph._compare import document_findings, read_report, report_findings, without

    today = datetime.now(UTC).date()
    present = report_findings(report)
    drop: set[tuple[str, str]] = set()
    notes: list[str] = []
    expired = []
    for accepted in config.accept:
        if accepted.expired(today):
            expired.append(accepted)
            notes.append(f"acceptance expired: {accepted}")
            continue
        techniques = present.get(accepted.workload, frozenset())
        if any(
            t == accepted.technique or t.split(".")[0] == accepted.technique for t in techniques
        ):
            drop.add((accepted.workload, accepted.technique))
            notes.append(f"accepted, not shown: {accepted}")
        else:
            notes.append(f"accepted but not reachable (remove it from {CONFIG}?): {accepted}")
    if baseline is not None:
        old = document_findings(read_report(baseline), baseline)
        known = {(w, t) for w, ts in present.items() for t in ts if t in old.get(w, ())}
        drop |= known
        notes.append(f"baseline {baseline}: {len(known)} finding(s) it already has are not shown")
    if not notes:
        return report, expired
    return without(report, drop, notes), expired


@dataclass(frozen=True)
class _FailOn:
    """What ``--fail-on`` asks for, validated against the ATT&CK knowledge base."""

    techniques: frozenset[str]
    tactics: frozenset[str]
    level: str | None
    values: tuple[str, ...]

    def tripped(self, report: Any) -> list[tuple[str, Any, str]]:
        """Each (workload, finding, why) that ``--fail-on`` matches, in report order."""
        from attackmap._severity import Severities

        out = []
        for w in report.workloads:
            for t in w.techniques:
                tid = t.technique.id
                # A parent id also matches its sub-techniques, as a goal does (T1552 matches
                # T1552.007, AML.T0018 matches AML.T0018.000).
                if within_goals(tid, self.techniques):
                    why = tid if tid in self.techniques else parent_id(tid)
                elif hit := sorted(self.tactics & set(t.technique.tactics)):
                    why = f"tactic {', '.join(hit)}"
                elif self.level is not None and Severities.at_least(t.severity, self.level):
                    why = f"severity {self.level} or above"
                else:
                    continue
                out.append((str(w.ref), t, why))
        return out


def _fail_on(values: list[str] | None, kb: Any) -> _FailOn | None:
    if not values:
        return None
    from attackmap._severity import LEVELS

    techniques: set[str] = set()
    tactics: set[str] = set()
    levels: list[str] = []
    # ATT&CK's tactics and ATLAS's (several share a name: `impact` matches both frameworks)
    known_tactics = {t.shortname for t in (*kb.tactics(), *kb.atlas.tactics())}
    for value in values:
        if re.fullmatch(r"(?i)(AML\.)?T\d{4}(\.\d{3})?", value):
            techniques.add(kb.technique(value).id)  # unknown ids raise with suggestions
        elif value.lower() in LEVELS:
            levels.append(value.lower())
        elif value.lower() in known_tactics:
            tactics.add(value.lower())
        else:
            raise AttackmapError(
                f"{value!r} is neither an ATT&CK or ATLAS technique, a tactic nor a severity",
                field="--fail-on",
                hint=f"tactics: {', '.join(sorted(known_tactics))}; severities: {', '.join(LEVELS)}",
            )
    level = min(levels, key=LEVELS.index) if levels else None
    return _FailOn(
        techniques=frozenset(techniques),
        tactics=frozenset(tactics),
        level=level,
        values=tuple(values),
    )


COLUMNS = (
    "workload",
    "technique",
    "severity",
    "tactics",
    "entry",
    "shortest path",
    "broken on every path by",
)


def _rows(report: Any) -> list[tuple[str, ...]]:
    from attackmap.attack._models import tactic_label

    rows: list[tuple[str, ...]] = []
    for w in report.workloads:
        for t in w.techniques:
            shortest = t.paths[0]
            route = " > ".join(f"{s.id}" for s in shortest.steps)
            more = f" (+{len(t.paths) - 1} more)" if len(t.paths) > 1 else ""
            rows.append(
                (
                    str(w.ref),
                    f"{t.technique.id} {t.technique.name}",
                    t.severity,
                    ", ".join(tactic_label(t.technique, x) for x in t.technique.tactics),
                    shortest.start,
                    route + more,
                    # every path, not only the shortest: a control that breaks one path
                    # leaves the technique reachable by the others
                    ", ".join(c.split("@")[0] for c in t.broken_by) or "-",
                )
            )
    return rows


def _print(report: Any) -> None:
    columns = COLUMNS
    print_table(
        columns,
        _rows(report),
        title=f"attackmap — ATT&CK {report.attack_version}"
        + (f", ATLAS {report.atlas_version}" if report.atlas_version else "")
        + f", entries: {', '.join(report.entries)}",
    )
    for w in report.workloads:
        for m in w.minimal_controls:
            controls = ", ".join(m.controls) or "(nothing to do)"
            print(f"{w.ref}: minimal controls for {', '.join(m.goals)}: {controls}")
        for warning in w.warnings:
            print(f"{w.ref}: warning: {warning}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    if report.skipped:
        print(f"skipped {len(report.skipped)} object(s) or file(s), not analysed:")
    for s in report.skipped:
        what = f"{s.kind}/{s.name}: " if s.kind and s.name else ""
        print(f"  {s.source}: {what}{s.reason}")


def summary(report: Any) -> str:
    """The table's last line (and, with ``-o FILE``, a line on stderr): workloads,
    techniques reachable, the highest severity (each finding's), what was skipped."""
    from attackmap._severity import LEVELS

    ids = {t.technique.id for w in report.workloads for t in w.techniques}
    found = sum(len(w.techniques) for w in report.workloads)
    n = len(report.workloads)
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    head = f"{n} workload{'' if n == 1 else 's'}, "
    if not found:
        return head + "no technique reachable" + skipped
    highest = max((t.severity for w in report.workloads for t in w.techniques), key=LEVELS.index)
    kinds = f" ({len(ids)} distinct)" if len(ids) != found else ""
    return f"{head}{found} technique(s) reachable{kinds}, highest severity: {highest}{skipped}"


def _plain(report: Any) -> str:
    lines = ["\t".join(r) for r in _rows(report)]
    # the report's warnings after the rows, as comment lines a TSV reader can skip
    lines += [f"# warning: {warning}" for warning in report.warnings]
    lines += [f"# skipped: {s.source}: {s.reason}" for s in report.skipped]
    return "\n".join(["\t".join(COLUMNS), *lines])
