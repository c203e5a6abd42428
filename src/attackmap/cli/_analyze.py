"""``attackmap analyze``: reachable techniques, paths and the controls that break them."""

from __future__ import annotations

import argparse
import logging
import re
from dataclasses import dataclass
from typing import Any

from attackmap.attack._models import parent_id
from attackmap.cli._output import print_table, status, write_stream, write_text
from attackmap.errors import AttackmapError

log = logging.getLogger("attackmap.cli")

EXAMPLES = """\
examples:
  attackmap analyze nim.yaml                                 every entry point, a table
  attackmap analyze chart/ --entry external --format json    internet-facing paths, JSON
  attackmap analyze nim.yaml --format json --pretty          JSON indented for people
  attackmap analyze nim.yaml --goal T1611,T1552.001          + the smallest control set
  attackmap analyze nim.yaml --context cluster.yaml --seccomp-root /var/lib/kubelet/seccomp
  attackmap analyze nim.yaml --fail-on T1611                 exit 1 when T1611 is reachable
  attackmap analyze nim.yaml --fail-on high                  exit 1 on high or critical
"""


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_parser(sub: Any) -> None:
    from attackmap.exporters import EXPORTERS

    formats = sorted({"table", *EXPORTERS})
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
    p.add_argument(
        "--attack", metavar="BUNDLE", help="an ATT&CK bundle or slice directory (default: bundled)"
    )
    p.add_argument(
        "--format", choices=formats, default="table", help="output format (default: table)"
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write the output to FILE")
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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import attackmap
    from attackmap.exporters import exporter

    kb = attackmap.load_attack(args.attack)
    fail_on = _fail_on(args.fail_on, kb)  # refuse typos before doing any work
    paths = ["-" if p == "-" else p for p in args.paths]
    with status(f"analysing {len(paths)} input(s)", quiet=args.quiet):
        report = attackmap.analyze(
            paths,
            entries=args.entry,
            context=args.context,
            attack=kb,
            seccomp_root=args.seccomp_root,
            goals=args.goal,
            assume_kernel_exploit=args.assume_kernel_exploit,
            namespace=args.namespace,
        )
    if args.format == "json" or (
        args.format == "table" and args.output and args.output.endswith(".json")
    ):
        # streamed one workload at a time: a 10,000-workload report is ~0.5 GB of text
        write_stream(lambda stream: report.write_json(stream, pretty=args.pretty), args.output)
    elif args.format == "table":
        if args.output:
            write_text(_plain(report), args.output)
        else:
            _print(report)
    else:
        write_text(exporter(args.format).export(report), args.output)
    if not report.workloads:
        log.warning("no workloads in %s: nothing to analyse", ", ".join(args.paths))
    elif not any(w.techniques for w in report.workloads):
        log.warning("no paths from the entry points %s", ", ".join(report.entries))
    return 1 if fail_on is not None and fail_on.matches(report) else 0


@dataclass(frozen=True)
class _FailOn:
    """What ``--fail-on`` asks for, validated against the ATT&CK knowledge base."""

    techniques: frozenset[str]
    tactics: frozenset[str]
    level: str | None
    severities: Any

    def matches(self, report: Any) -> bool:
        from attackmap._severity import Severities

        for w in report.workloads:
            for t in w.techniques:
                tid = t.technique.id
                # A parent id also matches its sub-techniques (T1552 matches T1552.007,
                # AML.T0018 matches AML.T0018.000).
                if tid in self.techniques or parent_id(tid) in self.techniques:
                    return True
                if self.tactics & set(t.technique.tactics):
                    return True
                if self.level is not None and Severities.at_least(
                    self.severities.of(tid, t.technique.tactics), self.level
                ):
                    return True
        return False


def _fail_on(values: list[str] | None, kb: Any) -> _FailOn | None:
    if not values:
        return None
    from attackmap._severity import LEVELS, load_severities

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
        severities=load_severities(kb) if level else None,
    )


def _rows(report: Any) -> list[tuple[str, str, str, str, str, str]]:
    from attackmap.exporters._common import tactic_label

    rows = []
    for w in report.workloads:
        for t in w.techniques:
            shortest = t.paths[0]
            route = " > ".join(f"{s.id}" for s in shortest.steps)
            rows.append(
                (
                    str(w.ref),
                    f"{t.technique.id} {t.technique.name}",
                    ", ".join(tactic_label(t.technique, x) for x in t.technique.tactics),
                    shortest.entry,
                    route,
                    ", ".join(c.split("@")[0] for c in shortest.broken_by) or "-",
                )
            )
    return rows


def _print(report: Any) -> None:
    columns = ("workload", "technique", "tactics", "entry", "shortest path", "broken by")
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
        print(f"skipped {len(report.skipped)} object(s) of unsupported kinds (see --format json)")


def _plain(report: Any) -> str:
    lines = ["\t".join(r) for r in _rows(report)]
    # the report's warnings after the rows, as comment lines a TSV reader can skip
    lines += [f"# warning: {warning}" for warning in report.warnings]
    return "\n".join(["workload\ttechnique\ttactics\tentry\tshortest path\tbroken by", *lines])
