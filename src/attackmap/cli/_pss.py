"""``attackmap pss``: Pod Security of every workload, as the API server would decide it.

Exit codes: 0 every workload passes, 1 at least one violates (for CI), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from attackmap.cli._inputs import add_input_options, own_allocator, report_input_errors
from attackmap.cli._output import (
    TABLE_OR_JSON,
    ExamplesFormatter,
    add_output,
    output_format,
    print_table,
    write_text,
)

if TYPE_CHECKING:
    from attackmap.model import Workload
    from attackmap.pss import PSSResult


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pss",
        help="Pod Security Standards verdicts per workload (exit 1 on violations)",
        description=(
            "Evaluate every workload's pod template against a Pod Security Standards level "
            "and version exactly as the Kubernetes API server does, with its reasons and "
            "details. Exit 0 when every workload passes, 1 when any violates, 2 on bad input."
        ),
        epilog=(
            "examples:\n"
            "  attackmap pss manifests/                       restricted, latest version\n"
            "  attackmap pss nim.yaml --level baseline --version v1.30\n"
            "  helm template nim-llm/ | attackmap pss - --format json"
        ),
        formatter_class=ExamplesFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="manifest files, directories or -")
    parser.add_argument(
        "--level",
        choices=("baseline", "restricted"),
        default="restricted",
        help="level to evaluate (default: restricted)",
    )
    parser.add_argument(
        "--version",
        dest="policy_version",
        default="latest",
        metavar="VERSION",
        help='policy version: "latest" (default) or "v1.N"',
    )
    add_input_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default=None)
    add_output(parser)
    parser.set_defaults(run=run)


def _ref(workload: Workload) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "kind": workload.ref.kind,
        "namespace": workload.ref.namespace,
        "name": workload.ref.name,
    }
    if workload.ref.component:
        ref["component"] = workload.ref.component
    return ref


def to_json(results: list[tuple[Workload, PSSResult]]) -> str:
    """The JSON report (sorted keys; workloads in inventory order, which is sorted)."""
    doc = {
        "workloads": [
            {
                "ref": _ref(workload),
                "level": result.level,
                "version": result.version,
                "allowed": result.allowed,
                "violations": [
                    {
                        "check": v.check,
                        "reason": v.reason,
                        "detail": v.detail,
                        "containers": list(v.containers),
                    }
                    for v in result.violations
                ],
            }
            for workload, result in results
        ]
    }
    return json.dumps(doc, indent=2, sort_keys=True)


def run(args: argparse.Namespace) -> int:
    from attackmap.model._loader import read_and_load
    from attackmap.pss import evaluate
    from attackmap.pss._versions import parse_version

    fmt = output_format(args.format, args.output, TABLE_OR_JSON, "table")
    version = parse_version(args.policy_version)  # bad version: PSSError before reading
    # as analyze and inventory: nothing to evaluate is exit 2
    own_allocator(args.paths)
    _documents, inventory = read_and_load(
        *args.paths, helm_values=args.values, helm_set=args.set, keep_going=args.keep_going
    )
    workloads = sorted(inventory.workloads, key=lambda w: w.ref.sort_key())
    results = [(w, evaluate(w, args.level, version)) for w in workloads]
    if not workloads:
        print("no workloads found", file=sys.stderr)
    if fmt == "json":
        write_text(to_json(results), args.output)
    else:
        rows = []
        for workload, result in results:
            if result.allowed:
                rows.append((str(workload.ref), "pass", "", ""))
            for v in result.violations:
                rows.append((str(workload.ref), "FAIL", v.reason, v.detail))
        title = f"Pod Security {args.level}:{version}"
        if args.output:
            lines = [title] + ["\t".join(row) for row in rows]
            write_text("\n".join(lines), args.output)
        else:
            print_table(("workload", "verdict", "reason", "detail"), rows, title=title)
    if report_input_errors(inventory.skipped):
        return 2
    return 0 if all(result.allowed for _, result in results) else 1
