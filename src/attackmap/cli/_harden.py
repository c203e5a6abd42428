"""``attackmap harden``: apply the minimal controls for the goals, keep audited needs, verify."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attackmap.cli._output import ExamplesFormatter, add_out_dir, add_output, output_format

#: ``-o FILE`` extensions
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".diff": "diff", ".patch": "diff"}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "harden",
        help="apply the minimal controls for goal techniques and verify by re-analysis",
        description=(
            "Apply the graph engine's minimal control set for the goal techniques (and a Pod "
            "Security level's controls), keep every privilege the audit log shows as needed, "
            "and verify the result by re-analysis. Exit 0 verified, 1 a goal or the level "
            "stays reachable (the summary says why), 2 bad input."
        ),
        epilog=(
            "examples:\n"
            "  attackmap harden nim.yaml                      break every path to T1611\n"
            "  attackmap harden nim.yaml --goal T1611,T1552.001 --format diff\n"
            "  attackmap harden deploy/ --level restricted --audit audit.log --out-dir hardened/\n"
            "  attackmap harden nim.yaml --admission vap --seccomp-recording rec.yaml --out-dir out/"
        ),
        formatter_class=ExamplesFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="manifest files or directories")
    p.add_argument("--goal", default="T1611", help="comma-separated technique ids (default T1611)")
    p.add_argument("--level", choices=("baseline", "restricted"), default="baseline")
    p.add_argument("--audit", nargs="+", metavar="LOG", help="API-server audit logs (JSON lines)")
    p.add_argument("--context", metavar="FILE", help="ClusterContext file")
    add_out_dir(p, "write one file per input, attackmap-added.yaml, HARDENING.md")
    p.add_argument(
        "--format",
        choices=("yaml", "diff"),
        default=None,
        help="format without --out-dir (default: from the extension of -o FILE, else yaml)",
    )
    add_output(p, "the hardened YAML (or the diff)")
    p.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CONTROL",
        help="apply CONTROL although it stops the workload unless something is done first "
        "(remove-credential-env: pre-cache the NIM's model); never chosen otherwise",
    )
    p.add_argument(
        "--render-deployment",
        action="store_true",
        help="replace each NIMService by the Deployment the operator renders (see docs/harden.md)",
    )
    p.add_argument(
        "--admission",
        action="append",
        choices=("vap", "kyverno"),
        help="also emit a tailored admission policy per workload (ValidatingAdmissionPolicy or "
        "Kyverno ClusterPolicy), namespace Pod Security labels and ADMISSION.md; repeatable",
    )
    p.add_argument(
        "--seccomp-recording",
        action="append",
        metavar="[WORKLOAD[:CONTAINER]=]FILE",
        help="a seccomp recording (security-profiles-operator, Inspektor Gadget, or syscall "
        "names) for Kind/namespace/name[:container] (every workload without the prefix): its "
        "generated Localhost profile is set in the manifest and emitted for the kubelet and "
        "the security-profiles-operator; repeatable",
    )
    p.set_defaults(run=run)


def _recordings(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    out: dict[str, str] = {}
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or "/" not in key:
            key, path = "*", value
        out[key] = path
    return out


def run(args: argparse.Namespace) -> int:
    from attackmap.cli._inputs import own_allocator
    from attackmap.cli._output import write_files, write_text
    from attackmap.harden import harden

    fmt = output_format(args.format, args.output, SUFFIXES, "yaml")
    goals = [g.strip() for g in str(args.goal).split(",") if g.strip()]
    own_allocator(args.paths)
    result = harden(
        args.paths,
        goals=goals,
        level=args.level,
        audit=args.audit,
        context=args.context,
        render_deployment=args.render_deployment,
        allow=[a.strip() for value in args.allow for a in value.split(",") if a.strip()],
        admission=args.admission,
        seccomp=_recordings(args.seccomp_recording),
    )
    if args.out_dir:
        out = Path(args.out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            from attackmap.errors import HardenError

            raise HardenError(f"cannot create output directory: {e.strerror}", path=out) from e
        files = result.files()
        for name in files:
            if "/" in name:  # seccomp/operator/<profile>.json: the kubelet's layout
                try:
                    (out / name).parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    from attackmap.errors import HardenError

                    raise HardenError(
                        f"cannot create output directory: {e.strerror}", path=(out / name).parent
                    ) from e
        # all or nothing on a full disk: every file is written before any is replaced
        write_files(
            {
                out / name: text if text.endswith("\n") else text + "\n"
                for name, text in files.items()
            }
        )
    else:
        # what changes the workload's behaviour is never silent: a comment atop the YAML too
        head = "".join(f"# attackmap harden: {n}\n" for n in result.notes)
        write_text(head + (result.to_diff() if fmt == "diff" else result.to_yaml()), args.output)
        if result.admission is not None or result.profiles:
            print(
                "the admission policies, seccomp profiles and ADMISSION.md are written with "
                "--out-dir DIR",
                file=sys.stderr,
            )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    v = result.verification
    for w in v.workloads:
        for reason in w.blocked:
            print(f"{w.workload}: {reason}", file=sys.stderr)
    for c in result.conflicts:
        print(str(c), file=sys.stderr)
    if not v.level_met:
        print(f"Pod Security level {v.level} not met by every workload", file=sys.stderr)
    return 0 if result.verified else 1
