"""``attackmap docs``: regenerate the reference pages (``docs/reference/``) from the data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from attackmap.cli._output import ExamplesFormatter, add_out_dir, write_files, write_text
from attackmap.errors import AttackmapError

EXAMPLES = """\
examples:
  attackmap docs --out-dir docs/reference/          regenerate the committed reference pages
  attackmap docs --out-dir docs/reference/ --check  exit 1 when the committed pages drifted
  attackmap docs --list                         the page names and nothing else
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "docs",
        help="regenerate the reference pages (coverage, capabilities, controls...) from data",
        description="Write the reference pages generated from mappings/, the ATT&CK knowledge "
        "base and the Pod Security checks: techniques by tactic, capability x technique, "
        "control x technique x mitigation x check, Pod Security check x technique, NIM "
        "option x technique, and the rule catalogue.",
        epilog=EXAMPLES,
        formatter_class=ExamplesFormatter,
    )
    add_out_dir(p, "output directory (required: the pages are never written to a default place)")
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a page in DIR differs from the generated one",
    )
    p.add_argument("--list", action="store_true", help="print the page names and exit")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from attackmap._docsgen import generate

    pages = generate()
    if args.list:
        write_text("".join(f"{name}\n" for name in pages))  # `> /dev/full`: exit 2
        return 0
    if not args.out_dir:
        raise AttackmapError(
            "say where the reference pages go",
            field="--out-dir",
            hint="attackmap docs --out-dir docs/reference/ (or --list to name the pages)",
        )
    out = Path(args.out_dir)
    if args.check:
        stale = [n for n, text in pages.items() if _read(out / n) != text]
        for name in stale:
            print(
                f"{out / name}: out of date (run: attackmap docs --out-dir {args.out_dir})",
                file=sys.stderr,
            )
        return 1 if stale else 0
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AttackmapError(f"cannot write the reference pages: {e.strerror}", path=out) from e
    write_files({out / name: text for name, text in pages.items()})  # all or none replaced
    if not args.quiet:
        print(f"wrote {len(pages)} page(s) to {out}", file=sys.stderr)
    return 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
