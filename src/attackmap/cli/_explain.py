"""``attackmap explain ID``: a technique, a step or a control, from the catalogue."""

from __future__ import annotations

import argparse
import difflib
from typing import TYPE_CHECKING, Any

from attackmap.cli._output import ExamplesFormatter, add_output, write_text
from attackmap.errors import AttackmapError

if TYPE_CHECKING:
    from attackmap.attack import AttackKB
    from attackmap.graph import Catalogue

EXAMPLES = """\
examples:
  attackmap explain T1611                  steps reaching Escape to Host, their facts, controls
  attackmap explain T1552                  a parent technique: the steps of its sub-techniques
  attackmap explain AML.T0018              an ATLAS technique: Manipulate AI Model
  attackmap explain escape-sys-admin-mount a step: requirements, grants, rationale, controls
  attackmap explain drop-capability        a control: facts removed, mitigations, steps broken
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="explain an ATT&CK technique, attack step or control from the catalogue",
        description="Explain a technique (the steps reaching it, the facts each needs, the "
        "controls that break each step, ATT&CK mitigations, references), an attack step or a "
        "control, from the catalogue under mappings/.",
        epilog=EXAMPLES,
        formatter_class=ExamplesFormatter,
    )
    p.add_argument(
        "ident", metavar="ID", help="technique (T1611, ATLAS AML.T0040), step id or control id"
    )
    add_output(p, "the explanation")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from attackmap._docsgen import step_breakers
    from attackmap.attack import load_attack
    from attackmap.graph import load_catalogue

    kb = load_attack()
    cat = load_catalogue(kb)
    ident = args.ident.strip()
    breakers = step_breakers(cat)
    if (ident.upper().startswith("T") and ident[1:2].isdigit()) or ident.upper().startswith(
        "AML.T"
    ):
        text = _technique(kb, cat, ident.upper(), breakers)
    elif ident in {s.id for s in cat.steps}:
        text = _step(kb, cat, ident, breakers)
    elif ident.split(":")[0] in {c.id for c in cat.controls}:
        text = _control(kb, cat, ident.split(":")[0], breakers)
    else:
        names = [s.id for s in cat.steps] + [c.id for c in cat.controls]
        close = difflib.get_close_matches(ident, names, n=3)
        raise AttackmapError(
            f"{ident!r} is neither a technique id, a step id nor a control id",
            hint=f"did you mean {', '.join(close)}?"
            if close
            else "see docs/reference/catalogue.md",
        )
    write_text(text, args.output)
    return 0


def _requires(step: Any) -> str:
    text = ", ".join(step.requires.all)
    if step.requires.any:
        text += "; one of " + ", ".join(step.requires.any)
    return text


def _technique(kb: AttackKB, cat: Catalogue, tid: str, breakers: dict[str, tuple[str, ...]]) -> str:
    from attackmap._severity import load_severities

    t = kb.technique(tid)  # raises AttackKBError (with a hint) for an unknown id
    steps = [s for s in cat.steps if s.technique == tid or s.technique.startswith(tid + ".")]
    sev = load_severities(kb).of(t.id, t.tactics)
    lines = [
        f"{t.id} {t.name}",
        f"  {'ATLAS' if t.framework == 'atlas' else 'ATT&CK'} tactics: {', '.join(t.tactics)}; "
        f"severity: {sev}; platforms: {', '.join(t.platforms)}",
        f"  {t.url}",
        "",
    ]
    if not steps:
        lines.append("No attack step reaches it (see docs/coverage.md for the reason).")
    else:
        lines.append(
            f"Steps reaching it ({len(steps)}; broken by: controls that alone stop the step"
            " in some configuration that fires it):"
        )
    for s in steps:
        lines += [
            f"- {s.id}: {s.title}" + (f" [{s.technique}]" if s.technique != tid else ""),
            f"    requires: {_requires(s)}",
            f"    broken by: {', '.join(breakers[s.id]) or 'no control (break an earlier step)'}",
        ]
    mitigations = kb.mitigations_for(tid)
    lines += ["", f"{'ATLAS' if t.framework == 'atlas' else 'ATT&CK'} mitigations:"]
    lines += [f"- {m.id} {m.name}" for m in mitigations] or ["- none listed"]
    refs = sorted({r for s in steps for r in s.references} | {t.url})
    lines += ["", "References:", *(f"- {r}" for r in refs)]
    return "\n".join(lines)


def _step(kb: AttackKB, cat: Catalogue, sid: str, breakers: dict[str, tuple[str, ...]]) -> str:
    s = cat.step(sid)
    t = kb.technique(s.technique)
    lines = [
        f"{s.id}: {s.title}",
        f"  technique: {t.id} {t.name} ({', '.join(t.tactics)}); scope: {s.scope}",
        f"  requires: {_requires(s)}",
        f"  grants: {', '.join(s.grants) or 'nothing further'}"
        + (f" (to the targets of relation {s.target})" if s.target else ""),
        "",
        " ".join(s.rationale.split()),
        "",
        "Controls that can break it:",
    ]
    for cid in breakers[sid]:
        c = cat.control(cid)
        lines.append(f"- {cid}: {c.title} (removes {', '.join(c.removes)})")
    if not breakers[sid]:
        lines.append("- none: it follows from an earlier step; break that one")
    lines += ["", "References:", *(f"- {r}" for r in s.references)]
    return "\n".join(lines)


def _control(kb: AttackKB, cat: Catalogue, cid: str, breakers: dict[str, tuple[str, ...]]) -> str:
    c = cat.control(cid)
    broken = [s for s in cat.steps if cid in breakers[s.id]]
    lines = [
        f"{c.id}: {c.title}",
        f"  removes: {', '.join(c.removes) or '-'}; adds: {', '.join(c.adds) or '-'}",
        "  mitigations (ATT&CK, ATLAS): "
        + (", ".join(f"{m} {kb.mitigation(m).name}" for m in c.mitigations) or "-"),
        f"  Pod Security checks: {', '.join(c.pss_checks) or '-'}",
        f"  patch: {c.patch.get('op')}",
        "",
        " ".join(c.rationale.split()),
        "",
        f"Steps it can break ({len(broken)}):",
    ]
    lines += [f"- {s.id} ({s.technique} {kb.technique(s.technique).name})" for s in broken]
    return "\n".join(lines)
