#!/usr/bin/env python3
"""Derive ``data/seccomp/runtime-default.json`` from the runtime's default seccomp profile.

Reads the container runtime's default profile (moby's ``default.json``; by default
``../shared/reference/seccomp-runtime-default.json``) and writes attackmap's own compact
table: one line per syscall listing the conditions under which the runtime default allows
(or explicitly refuses) it. The table is inverted by syscall, capabilities lose their
``CAP_`` prefix, and moby's ``includes``/``excludes`` become flat condition keys:

=============  ==============================================================
``action``     the seccomp action (``SCMP_ACT_*``)
``errnoRet``   errno returned by an ``SCMP_ACT_ERRNO`` rule, when not the default
``args``       argument conditions (``index``, ``op``, ``value``, ``valueTwo``)
``caps``       the rule applies only if the container holds *all* these capabilities
``withoutCaps`` the rule applies only if the container holds *none* of these
``arches``     the rule applies only on these (Go) architectures
``notArches``  the rule does not apply on these architectures
``minKernel``  the rule applies only on kernels at least this version
``belowKernel`` the rule applies only on kernels older than this version
=============  ==============================================================

``archMap`` (sub-architectures) and comments are dropped. The output is deterministic:
running the script twice on the same input gives the same bytes (a test checks that the
committed table is what the script derives from the reference).

usage: scripts/build_seccomp_data.py [SOURCE] [--out FILE] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "seccomp-runtime-default.json"
DEFAULT_OUT = ROOT / "data" / "seccomp" / "runtime-default.json"
FORMAT = 1


def _strip_cap(cap: str) -> str:
    cap = cap.upper()
    return cap[4:] if cap.startswith("CAP_") else cap


def _condition(rule: dict[str, Any]) -> dict[str, Any]:
    cond: dict[str, Any] = {"action": rule["action"]}
    if "errnoRet" in rule:
        cond["errnoRet"] = rule["errnoRet"]
    if rule.get("args"):
        cond["args"] = [
            {
                "index": a["index"],
                "op": a["op"],
                "value": a["value"],
                "valueTwo": a.get("valueTwo", 0),
            }
            for a in rule["args"]
        ]
    includes = rule.get("includes") or {}
    excludes = rule.get("excludes") or {}
    if includes.get("caps"):
        cond["caps"] = sorted(_strip_cap(c) for c in includes["caps"])
    if excludes.get("caps"):
        cond["withoutCaps"] = sorted(_strip_cap(c) for c in excludes["caps"])
    if includes.get("arches"):
        cond["arches"] = sorted(includes["arches"])
    if excludes.get("arches"):
        cond["notArches"] = sorted(excludes["arches"])
    if includes.get("minKernel"):
        cond["minKernel"] = includes["minKernel"]
    if excludes.get("minKernel"):
        cond["belowKernel"] = excludes["minKernel"]
    return cond


def derive(source: bytes, source_name: str) -> str:
    """The derived table (JSON text) for the default profile ``source``."""
    profile = json.loads(source)
    table: dict[str, list[dict[str, Any]]] = {}
    for rule in profile["syscalls"]:
        names = rule.get("names") or [rule["name"]]
        cond = _condition(rule)
        for name in names:
            table.setdefault(name, [])
            if cond not in table[name]:
                table[name].append(cond)
    default: dict[str, Any] = {"action": profile["defaultAction"]}
    if "defaultErrnoRet" in profile:
        default["errnoRet"] = profile["defaultErrnoRet"]
    lines = [
        "{",
        f'"comment": "Derived by scripts/build_seccomp_data.py from {source_name}; do not edit.",',
        f'"format": {FORMAT},',
        f'"source": {{"name": {json.dumps(source_name)}, '
        f'"sha256": "{hashlib.sha256(source).hexdigest()}"}},',
        f'"default": {json.dumps(default, sort_keys=True)},',
        '"syscalls": {',
    ]
    names = sorted(table)
    for i, name in enumerate(names):
        conds = sorted(table[name], key=lambda c: json.dumps(c, sort_keys=True))
        sep = "," if i < len(names) - 1 else ""
        lines.append(f"{json.dumps(name)}: {json.dumps(conds, sort_keys=True)}{sep}")
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the committed table differs")
    args = parser.parse_args(argv)
    if not args.source.exists():
        sys.stderr.write(f"{args.source}: not found\n")
        return 2
    text = derive(args.source.read_bytes(), args.source.name)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.out}: out of date; run {Path(__file__).name}\n")
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {args.out} ({len(json.loads(text)['syscalls'])} syscalls)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
