"""``attackmap diff``: techniques gained and lost per workload between two saved reports."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from attackmap.cli._output import ExamplesFormatter, add_output, output_format, write_text

EXAMPLES = """\
examples:
  attackmap diff main.json pr.json                      what the change gains and loses
  attackmap diff main.json pr.json -o comment.md        a pull-request comment (markdown)
  attackmap diff main.json pr.json --fail-on-gained     exit 1 when a technique is gained
"""

SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "table"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "diff",
        help="techniques gained and lost per workload between two saved reports",
        description="Compare two JSON reports (attackmap analyze -o report.json): per "
        "workload, the ATT&CK techniques reachable in NEW and not in OLD (gained) and the "
        "other way round (lost). Reads only each workload's ref and technique ids, so "
        "reports of other attackmap versions compare.",
        epilog=EXAMPLES,
        formatter_class=ExamplesFormatter,
    )
    p.add_argument("old", metavar="OLD", help="the earlier report (JSON)")
    p.add_argument("new", metavar="NEW", help="the later report (JSON)")
    p.add_argument(
        "--format",
        choices=("table", "json", "markdown"),
        default=None,
        help="table (default), json, or markdown for a pull-request comment",
    )
    add_output(p, "the comparison")
    p.add_argument(
        "--fail-on-gained", action="store_true", help="exit 1 when NEW gains any technique"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from attackmap.graph._compare import diff, document_findings, read_report

    fmt = output_format(args.format, args.output, SUFFIXES, "table")
    old, new = read_report(args.old), read_report(args.new)
    changes = diff(document_findings(old, args.old), document_findings(new, args.new))
    name = _names()
    if fmt == "json":
        text = json.dumps(
            {
                "schema": "attackmap.diff/v1",
                "old": args.old,
                "new": args.new,
                "workloads": [
                    {
                        "workload": c.workload,
                        "status": c.status,
                        "gained": [{"id": t, "name": name(t)} for t in c.gained],
                        "lost": [{"id": t, "name": name(t)} for t in c.lost],
                    }
                    for c in changes
                ],
            },
            indent=2,
            sort_keys=True,
        )
    elif fmt == "markdown":
        text = _markdown(changes, name)
    else:
        text = _text(changes, name, args.old, args.new)
    write_text(text, args.output)
    return 1 if args.fail_on_gained and any(c.gained for c in changes) else 0


def _names() -> Callable[[str], str]:
    """Technique id -> name from the ATT&CK knowledge base ("" when it does not know it)."""
    from attackmap.attack import load_attack
    from attackmap.errors import AttackmapError

    kb = load_attack()

    def name(tid: str) -> str:
        try:
            return kb.technique(tid).name
        except AttackmapError:
            return ""

    return name


def _totals(changes: Any) -> tuple[int, int]:
    return sum(len(c.gained) for c in changes), sum(len(c.lost) for c in changes)


def _text(changes: Any, name: Callable[[str], str], old: str, new: str) -> str:
    gained, lost = _totals(changes)
    if not changes:
        return f"{old} -> {new}: no change in reachable techniques"
    lines = [f"{old} -> {new}: {gained} technique(s) gained, {lost} lost"]
    for c in changes:
        lines.append(f"{c.workload} ({c.status})")
        lines += [f"  + {t} {name(t)}".rstrip() for t in c.gained]
        lines += [f"  - {t} {name(t)}".rstrip() for t in c.lost]
    return "\n".join(lines)


def _markdown(changes: Any, name: Callable[[str], str]) -> str:
    gained, lost = _totals(changes)
    if not changes:
        return "### attackmap: no change in reachable ATT&CK techniques"

    def cell(ids: tuple[str, ...]) -> str:
        return "<br>".join(f"{t} {name(t)}".rstrip() for t in ids) or "-"

    lines = [
        f"### attackmap: {gained} ATT&CK or ATLAS technique(s) gained, {lost} lost",
        "",
        "| workload | | gained | lost |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{c.workload}` | {c.status} | {cell(c.gained)} | {cell(c.lost)} |" for c in changes
    ]
    return "\n".join(lines)
