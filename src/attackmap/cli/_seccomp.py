"""``attackmap seccomp``: which escape-relevant syscalls a profile leaves open; generate one.

Two forms (``summary`` is the main one and the default, so its word may be left out)::

    attackmap seccomp [summary] PROFILE [--caps SYS_ADMIN,...] [--privileged] [--kernel 6.8]
                                        [--arch x86_64] [--format table|json] [-o FILE]
    attackmap seccomp generate OBSERVED [--arch x86_64] [-o FILE]

``PROFILE`` is a profile file (OCI/Kubernetes JSON, moby, security-profiles-operator
``SeccompProfile``, Inspektor Gadget output) or one of the words ``RuntimeDefault`` /
``Unconfined``. ``OBSERVED`` is a recorded profile or a text file of syscall names. A file
literally named ``summary`` or ``generate`` is given as ``./summary``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, Literal

from attackmap.cli._output import TABLE_OR_JSON, add_output, output_format, print_table, write_text

USAGE = """\
attackmap seccomp [summary] PROFILE [--caps CAPS] [--privileged] [--kernel VERSION]
                         [--arch ARCH] [--format {table,json}] [-o FILE]
       attackmap seccomp generate OBSERVED [--arch ARCH] [-o FILE]"""

EPILOG = """\
forms:
  summary (default)  which escape-relevant syscalls PROFILE leaves open, given capabilities
  generate           a least-privilege Localhost profile from recorded syscalls

examples:
  attackmap seccomp RuntimeDefault --caps SYS_ADMIN
  attackmap seccomp profiles/nim.json --kernel 6.8 --format json
  attackmap seccomp generate recording.yaml -o profiles/nim.json
"""

_ACTIONS = ("summary", "generate")
_WORDS: dict[str, Literal["RuntimeDefault", "Unconfined"]] = {
    "runtimedefault": "RuntimeDefault",
    "unconfined": "Unconfined",
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "seccomp",
        help="escape-relevant syscalls a seccomp profile leaves open; generate profiles",
        description=(
            "Summarise which escape-relevant syscalls a seccomp profile lets a container make "
            "(seccomp filter and capabilities), or generate a least-privilege Localhost "
            "profile from recorded syscalls."
        ),
        usage=USAGE,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "target",
        metavar="PROFILE",
        help="profile file, RuntimeDefault or Unconfined (or the word summary/generate)",
    )
    parser.add_argument("observed", nargs="?", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument(
        "--caps",
        default="",
        metavar="CAPS",
        help="comma-separated capabilities held (SYS_ADMIN, CAP_BPF, ALL...)",
    )
    parser.add_argument(
        "--privileged", action="store_true", help="the container is privileged (no seccomp)"
    )
    parser.add_argument(
        "--kernel", metavar="VERSION", help="node kernel, e.g. 6.8 (default: unknown)"
    )
    parser.add_argument("--arch", default="x86_64", help="node architecture (default: x86_64)")
    parser.add_argument("--format", choices=("table", "json"), default=None)
    add_output(parser)
    parser.add_argument("--out", dest="output", metavar="FILE", help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def _usage_error(message: str) -> int:
    sys.stderr.write(f"attackmap seccomp: error: {message}\n")
    return 2


def run(args: argparse.Namespace) -> int:
    if args.target == "generate":
        if args.observed is None:
            return _usage_error("generate needs OBSERVED (a recording or a list of names)")
        if args.caps or args.privileged or args.kernel or args.format is not None:
            return _usage_error("generate takes only OBSERVED, --arch and -o")
        return _run_generate(args.observed, args.arch, args.output)
    if args.target == "summary":
        if args.observed is None:
            return _usage_error("summary needs PROFILE")
        profile = args.observed
    else:
        if args.observed is not None:
            return _usage_error(f"unexpected argument {args.observed!r}")
        profile = args.target
    return _run_summary(args, profile)


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        sys.stderr.write(f"warning: {warning}\n")


def _run_generate(observed: str, arch: str, output: str | None) -> int:
    from pathlib import Path

    from attackmap.seccomp import generate_profile

    generated = generate_profile(Path(observed), arch=arch)
    _warn(generated.warnings)
    write_text(generated.to_json(), output)
    return 0


def _run_summary(args: argparse.Namespace, target: str) -> int:
    from attackmap.errors import SeccompError
    from attackmap.model import LINUX_CAPABILITIES
    from attackmap.seccomp import (
        SeccompSpec,
        load_profile,
        open_syscalls,
        syscall_access,
    )

    caps = frozenset(
        c.strip().upper().removeprefix("CAP_") for c in args.caps.split(",") if c.strip()
    )
    unknown = sorted(caps - set(LINUX_CAPABILITIES) - {"ALL"})
    if unknown:
        raise SeccompError(
            f"unknown capability {', '.join(unknown)}",
            field="--caps",
            hint="Linux capability names, e.g. SYS_ADMIN,NET_RAW (CAP_ prefix optional)",
        )
    if "ALL" in caps:
        caps = frozenset(LINUX_CAPABILITIES)
    if args.kernel is not None and not re.fullmatch(r"\d+(\.\d+){0,2}([.+~-].*)?", args.kernel):
        raise SeccompError(
            f"cannot read kernel version {args.kernel!r}",
            field="--kernel",
            hint="e.g. 6.8 or 5.15.0-91-generic",
        )
    word = _WORDS.get(target.lower())
    if word is not None:
        access = open_syscalls(
            profile=SeccompSpec(type=word),
            capabilities=caps,
            privileged=args.privileged,
            kernel=args.kernel,
            arch=args.arch,
        )
    else:
        access = syscall_access(
            load_profile(target),
            capabilities=caps,
            privileged=args.privileged,
            kernel=args.kernel,
            arch=args.arch,
            label=target,
        )
    if output_format(args.format, args.output, TABLE_OR_JSON, "table") == "json":
        data = access.model_dump(mode="json")
        data["usable"] = sorted(access.usable_set)
        data["conditional"] = sorted(access.conditional)
        write_text(json.dumps(data, indent=2), args.output)
        return 0
    _warn(access.warnings)
    rows = [
        (
            v.name,
            v.group,
            v.seccomp,
            " or ".join(v.required_capabilities) or "-",
            "yes" if v.capability_held else "no",
            "YES" if v.usable else "no",
        )
        for v in access.syscalls
    ]
    columns = ("syscall", "group", "seccomp", "needs", "held", "usable")
    title = (
        f"{access.profile}: {len(access.usable_set)} of {len(access.syscalls)} "
        f"escape-relevant syscalls usable"
    )
    if args.output:
        lines = [title, "\t".join(columns), *("\t".join(r) for r in rows)]
        write_text("\n".join(lines), args.output)
    else:
        print_table(columns, rows, title=title)
    return 0
