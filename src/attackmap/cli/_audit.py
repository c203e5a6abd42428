"""``attackmap audit LOG...``: what workloads and principals did, from API-server audit logs."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from attackmap.cli._output import add_output, output_format, print_table, progress, write_text
from attackmap.errors import AuditError

if TYPE_CHECKING:
    from attackmap.audit import AuditSummary, ReadStats

log = logging.getLogger("attackmap.cli.audit")

FORMATS = ("table", "json", "rbac")
#: ``-o FILE`` extensions: JSON, the proposed RBAC objects as YAML, a table
SUFFIXES = {".json": "json", ".yaml": "rbac", ".yml": "rbac", ".txt": "table", ".tsv": "table"}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="summarise Kubernetes audit logs per workload and principal",
        description=(
            "Read Kubernetes API-server audit logs (JSON lines, .gz, a directory of rotated "
            "files, or - for stdin) and report, per workload and principal: Pod Security "
            "checks violated, denials, API permissions used with a minimal Role proposal, "
            "and ATT&CK techniques evidenced (each citing file:line and auditID). Lines "
            "that are not audit events are skipped and counted on stderr."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  attackmap audit /var/log/kubernetes/audit/          rotated logs, oldest first\n"
            "  attackmap audit audit.log.gz --format json\n"
            "  attackmap audit audit.log --format rbac > roles.yaml minimal Roles as YAML\n"
            "  attackmap audit audit.log --workload deploy/         map ServiceAccounts to workloads"
        ),
    )
    parser.add_argument("logs", nargs="+", metavar="LOG", help="audit log file, directory or -")
    parser.add_argument(
        "--workload",
        metavar="PATH",
        help="manifests whose workloads are matched to the ServiceAccounts seen in the log",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="table (default), json, or rbac (the proposed RBAC objects as YAML)",
    )
    add_output(parser)
    parser.set_defaults(run=run)


def _sa_workloads(path: str) -> dict[str, list[str]]:
    """ServiceAccount principal -> workload refs, from the manifests at ``path``."""
    try:
        # imported by name: attackmap.model is a sibling stage, loaded only for --workload
        load = importlib.import_module("attackmap.model").load
    except (ImportError, AttributeError) as e:
        raise AuditError(
            "--workload needs attackmap.model.load, which this build does not provide",
            path=path,
        ) from e
    mapping: dict[str, list[str]] = defaultdict(list)
    for w in load(path).workloads:
        sa = f"system:serviceaccount:{w.namespace}:{w.pod.service_account_name}"
        mapping[sa].append(str(w.ref))
    return dict(mapping)


def _json(summary: AuditSummary, stats: ReadStats) -> str:
    data = {
        "read": stats.model_dump(mode="json"),
        "summary": summary.model_dump(mode="json"),
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def _rbac_yaml(summary: AuditSummary) -> str:
    import yaml

    docs = [obj for p in summary.principals for obj in p.proposal]
    return yaml.safe_dump_all(docs, sort_keys=True, default_flow_style=False) if docs else ""


def _tables(summary: AuditSummary, output: str | None = None) -> None:
    """The three tables, on the terminal or (``output``) as tab-separated text in a file."""
    parts: list[str] = []

    def table(columns: list[str], rows: Any, *, title: str) -> None:
        if output is None:
            print_table(columns, rows, title=title)
        else:
            parts.extend([f"# {title}", "\t".join(columns), *("\t".join(r) for r in rows), ""])

    table(
        ["workload", "service account", "enforce", "needs", "checks violated", "denied"],
        (
            [
                w.ref,
                w.service_account.removeprefix("system:serviceaccount:"),
                ", ".join(w.enforce_policies),
                w.required_level or "?",
                ", ".join(sorted({v.check for v in w.violations})),
                str(sum(d.count for d in w.denials)),
            ]
            for w in summary.workloads
        ),
        title="Workloads (Pod Security, from audit annotations and denials)",
    )
    table(
        ["principal", "kind", "requests", "denied", "techniques", "proposal"],
        (
            [
                p.principal,
                p.kind,
                str(sum(r.count for r in p.requests)),
                str(sum(d.count for d in p.denials)),
                ", ".join(sorted({t.technique for t in p.techniques})),
                ", ".join(
                    f"{o['kind']} {o['metadata'].get('namespace', '*')}"
                    for o in p.proposal
                    if o["kind"] in ("Role", "ClusterRole")
                ),
            ]
            for p in summary.principals
        ),
        title="Principals (API use; see --format rbac for the proposed Roles)",
    )
    table(
        ["technique", "principal", "what", "outcome", "count", "first evidence"],
        (
            [
                f"{t.technique} {t.name}",
                t.principal,
                t.what + (f" ({', '.join(t.names)})" if t.names else ""),
                "allowed" if t.allowed else "refused",
                str(t.count),
                str(t.evidence[0]),
            ]
            for t in summary.techniques
        ),
        title="ATT&CK techniques evidenced",
    )
    if output is not None:
        write_text("\n".join(parts), output)


def run(args: argparse.Namespace) -> int:
    fmt = output_format(args.format, args.output, SUFFIXES, "table")
    from attackmap.audit import AuditReader, analyze_audit

    mapping = _sa_workloads(args.workload) if args.workload else None
    reader = AuditReader(*args.logs)
    events = progress(reader, "reading audit events", quiet=args.quiet)
    summary = analyze_audit(events, workloads=mapping)
    stats = reader.stats
    if stats.bad_lines:
        log.warning(
            "%d of %d line(s) were not audit events and were skipped", stats.bad_lines, stats.lines
        )
    if stats.events == 0:
        if stats.bad_lines:
            raise AuditError(
                "no audit events could be read",
                path=", ".join(stats.files) or None,
                hint="expected one audit.k8s.io/v1 Event JSON object per line",
            )
        log.warning("no audit events in %s", ", ".join(stats.files) or "the input")
    if fmt == "json":
        write_text(_json(summary, stats), args.output)
    elif fmt == "rbac":
        write_text(_rbac_yaml(summary), args.output)
    else:
        _tables(summary, args.output)
    return 0
