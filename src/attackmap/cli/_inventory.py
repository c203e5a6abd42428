"""``attackmap inventory PATH...``: the security-relevant facts of each workload."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from attackmap.cli._inputs import add_input_options, own_allocator, report_input_errors
from attackmap.cli._output import TABLE_OR_JSON, ExamplesFormatter, add_output, output_format


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inventory",
        help="list each workload's security-relevant facts",
        description="Read manifests and print, per workload, the facts attackmap analyses.",
        epilog=(
            "examples:\n"
            "  attackmap inventory manifests/                 security facts per workload\n"
            "  attackmap inventory nim.yaml --context cluster.yaml --format json"
        ),
        formatter_class=ExamplesFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, directories or - (stdin)")
    parser.add_argument("--namespace", help="namespace for objects without one (default: default)")
    parser.add_argument("--context", metavar="FILE", help="a ClusterContext file")
    add_input_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default=None)
    add_output(parser)
    parser.set_defaults(run=run)


def _workload_json(w: Any) -> dict[str, Any]:
    data: dict[str, Any] = w.model_dump(mode="json", exclude={"pod_template"})
    return data


def write_json(inventory: Any, stream: TextIO) -> None:
    """Write the inventory as deterministic JSON (workloads without raw pod templates), one
    workload at a time: the bytes of ``json.dumps(payload, indent=2, sort_keys=True)``
    without holding the whole document (a file of 20,000 pods is 89 MB of JSON, which as
    one string and its dicts took 761 MB)."""
    sections: tuple[tuple[str, Iterable[Any]], ...] = (
        ("skipped", (s.model_dump(mode="json") for s in inventory.skipped)),
        ("warnings", (x.model_dump(mode="json") for x in inventory.warnings)),
        ("workloads", (_workload_json(w) for w in inventory.workloads)),
    )
    stream.write("{\n")
    for i, (key, items) in enumerate(sections):
        stream.write(f'  "{key}": ')
        first = True
        for item in items:
            text = json.dumps(item, indent=2, sort_keys=True, default=sorted)
            stream.write("[\n" if first else ",\n")
            stream.write("\n".join("    " + line for line in text.split("\n")))
            first = False
        stream.write("[]" if first else "\n  ]")
        stream.write(",\n" if i < len(sections) - 1 else "\n")
    stream.write("}\n")


def render_json(inventory: Any) -> str:
    """:func:`write_json` as one string."""
    out = io.StringIO()
    write_json(inventory, out)
    return out.getvalue()


def _row(w: Any) -> list[str]:
    pod = w.pod
    flags = [
        name
        for name, on in (
            ("hostNetwork", pod.host_network),
            ("hostPID", pod.host_pid),
            ("hostIPC", pod.host_ipc),
            ("privileged", any(c.privileged for c in pod.containers)),
        )
        if on
    ]
    added = sorted({cap for c in pod.containers for cap in c.capabilities.add})
    host_paths = sorted({v.path or "" for v in pod.volumes if v.type == "hostPath"})
    sa = w.service_account
    sa_text = f"{sa.ref.name}{' (token)' if sa.automount else ''}" if sa else "-"
    return [
        str(w.ref),
        w.exposure.level,
        ", ".join(flags) or "-",
        ", ".join(added) or "-",
        ", ".join(host_paths) or "-",
        "yes" if pod.gpu_access else "-",
        sa_text + (f" [{len(sa.permissions)} rules]" if sa and sa.permissions else ""),
    ]


def run(args: argparse.Namespace) -> int:
    from attackmap.cli._output import print_table, write_stream, write_text
    from attackmap.model._loader import SKIPPED_FILE, read_and_load

    fmt = output_format(args.format, args.output, TABLE_OR_JSON, "table")
    own_allocator(args.paths)
    _documents, inventory = read_and_load(  # as analyze: nothing to list is an error
        *args.paths,
        namespace=args.namespace,
        context=args.context,
        helm_values=args.values,
        helm_set=args.set,
        keep_going=args.keep_going,
    )
    failed = 2 if report_input_errors(inventory.skipped) else 0
    if fmt == "json":
        write_stream(lambda stream: write_json(inventory, stream), args.output)
        return failed
    if args.output:
        lines = ["\t".join(_row(w)) for w in inventory.workloads]
        write_text("\n".join(lines), args.output)
        return failed
    print_table(
        ("workload", "exposure", "host", "added caps", "hostPath", "gpu", "service account"),
        (_row(w) for w in inventory.workloads),
        title=f"{len(inventory.workloads)} workloads",
    )
    for s in inventory.skipped:
        print(f"skipped: {s.source}: {s.kind or '?'}/{s.name or '?'}: {s.reason}", file=sys.stderr)
    for warning in inventory.warnings:
        if not warning.message.startswith(SKIPPED_FILE):  # logged as the file was skipped
            print(f"warning: {warning}", file=sys.stderr)
    return failed
