"""docs/seccomp.md's generated table matches the data it is generated from."""

from __future__ import annotations

from pathlib import Path

from attackmap.seccomp import ESCAPE_GROUPS, REQUIRED_CAPABILITIES, SeccompSpec, open_syscalls

REPO_ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN GENERATED: escape-table -->"
END = "<!-- END GENERATED: escape-table -->"


def escape_table() -> str:
    """The markdown table docs/seccomp.md must hold between the markers."""
    access = {
        caps: open_syscalls(
            profile=SeccompSpec(type="RuntimeDefault"),
            capabilities=frozenset(caps),
            privileged=False,
            kernel="6.8",
        )
        for caps in [(), ("SYS_ADMIN",)]
    }
    lines = [
        "| group | syscall | kernel wants (any of) | RuntimeDefault, no caps | RuntimeDefault + SYS_ADMIN |",
        "|---|---|---|---|---|",
    ]
    for group in ESCAPE_GROUPS:
        for name in group.syscalls:
            needs = " or ".join(REQUIRED_CAPABILITIES[name]) or "—"
            lines.append(
                f"| {group.name} | `{name}` | {needs} | {access[()].verdict(name).seccomp} "
                f"| {access[('SYS_ADMIN',)].verdict(name).seccomp} |"
            )
    return "\n".join(lines)


def test_docs_table_is_current() -> None:
    text = (REPO_ROOT / "docs" / "seccomp.md").read_text(encoding="utf-8")
    body = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert body == escape_table(), "regenerate the table in docs/seccomp.md"


def test_docs_name_every_group() -> None:
    text = (REPO_ROOT / "docs" / "seccomp.md").read_text(encoding="utf-8")
    assert all(f"**{g.name}**" in text for g in ESCAPE_GROUPS)
