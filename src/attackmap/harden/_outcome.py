"""What :func:`attackmap.harden.harden` returns: :class:`HardenResult`, and its text forms
(the YAML stream, a control-by-control diff, ``HARDENING.md``, the output directory's files).

Apart from the smaller result models in ``_result`` so that the modules that build parts of
it (profiles, admission policies) can use those without importing the whole result.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from attackmap.harden._admission import AdmissionResult
from attackmap.harden._needs import Need
from attackmap.harden._profiles import InjectedProfile
from attackmap.harden._redact import scrub, secret_values
from attackmap.harden._render import dump_plain
from attackmap.harden._result import AppliedControl, Conflict, OutputFile, Verification
from attackmap.harden._source import join


class HardenResult(BaseModel):
    """What :func:`harden` produced and proved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    documents: tuple[OutputFile, ...]
    """One per input file, same base name."""
    added: tuple[str, ...]
    """New objects (NetworkPolicies, ServiceAccounts, Namespaces...), one YAML text each."""
    changes: tuple[AppliedControl, ...]
    verification: Verification
    needs: tuple[Need, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    notes: tuple[str, ...] = ()
    context: str | None = None
    """The patched ClusterContext (YAML) when a control changed it."""
    profiles: tuple[InjectedProfile, ...] = ()
    """Localhost seccomp profiles generated from recordings and set in the manifests."""
    admission: AdmissionResult | None = None
    """The tailored admission policies and their verification cases (``admission=``)."""

    @property
    def verified(self) -> bool:
        return self.verification.verified

    def to_yaml(self) -> str:
        """All hardened documents and the added objects, one YAML stream."""
        return to_yaml(self)

    def to_diff(self) -> str:
        """What changed and why, control by control (unified diffs)."""
        return to_diff(self)

    def summary(self) -> str:
        """The ``HARDENING.md`` text."""
        return summary_markdown(self)

    def files(self) -> dict[str, str]:
        """File name -> text for an output directory (inputs' base names, added, summary;
        with profiles ``seccomp/operator/<name>.json``, a path below the directory)."""
        return output_files(self)


# -- text forms ------------------------------------------------------------------------------

ADDED_FILE = "attackmap-added.yaml"
SUMMARY_FILE = "HARDENING.md"
CONTEXT_FILE = "attackmap-context.yaml"


def to_yaml(result: HardenResult) -> str:
    """Every hardened document, then the added objects, as one multi-document stream."""
    parts = [f.text for f in result.documents]
    if result.added:
        parts.append(join("# Added by attackmap harden\n", list(result.added)))
    out = ""
    for part in parts:
        if out and not out.endswith("\n"):
            out += "\n"
        if out:
            out += "---\n"
        out += part
    return out


def _secrets(result: HardenResult) -> frozenset[str]:
    """The secret values of the inputs (see ``_redact``), for scrubbing free text."""
    return secret_values([*(f.original for f in result.documents), *result.added])


def to_diff(result: HardenResult) -> str:
    """Per control: why, what changed, and the unified diff of that control alone (secret
    values redacted, see ``_redact``)."""
    lines: list[str] = []
    for c in result.changes:
        lines.append(f"# control {c.control}: {c.title}")
        if c.reason:
            lines.append(f"#   why: {c.reason}")
        for change in c.changes:
            lines.append(f"#   - {change}")
        if c.diff:
            lines.append(c.diff.rstrip("\n"))
        lines.append("")
    for conflict in result.conflicts:
        lines.append(f"# not applied: {conflict}")
    return scrub("\n".join(lines).rstrip("\n") + "\n", _secrets(result)) if lines else ""


def summary_markdown(result: HardenResult) -> str:
    """``HARDENING.md``: controls with reasons, goals verified, PSS before/after, what remains
    (any secret value of the inputs redacted, see ``_redact``)."""
    v = result.verification
    md = ["# Hardening summary (attackmap harden)", ""]
    md.append(
        f"Goals: {', '.join(v.goals)}"
        + (f"; Pod Security level asked: {v.level}" if v.level else "")
    )
    md.append("")
    md.append(
        f"**Verified: {'yes' if v.verified else 'no'}** (re-analysis of the written manifests)."
    )
    md.append("")
    md.append("## Controls applied")
    md.append("")
    if not result.changes:
        md.append("None were needed.")
    for c in result.changes:
        md.append(f"- `{c.control}` — {c.title}. Why: {c.reason or 'n/a'}.")
        for change in c.changes:
            md.append(f"  - {change}")
    md.append("")
    md.append("## Verification per workload")
    md.append("")
    md.append("| workload | goals before | goals after | PSS before | PSS after |")
    md.append("|---|---|---|---|---|")
    for w in v.workloads:
        md.append(
            f"| {w.workload} | {', '.join(w.goals_before) or '-'} | {', '.join(w.goals_after) or 'none'} "
            f"| {w.pss_before} | {w.pss_after} |"
        )
    md.append("")
    for w in v.workloads:
        if w.blocked:
            md.append(f"Why goals stay reachable for {w.workload}:")
            md.extend(f"- {b}" for b in w.blocked)
            md.append("")
        if w.removed_by_level:
            md.append(
                f"The level's controls also removed for {w.workload}: {', '.join(w.removed_by_level)}"
            )
            md.append("")
    md.append("## Remaining reachable techniques")
    md.append("")
    for w in v.workloads:
        md.append(f"- {w.workload}: {', '.join(w.techniques_after) or 'none'}")
    md.append("")
    if result.needs:
        md.append("## Audited needs kept")
        md.append("")
        md.extend(f"- {n.workload}: {n.label()} — {n.detail}" for n in result.needs)
        md.append("")
    if result.conflicts:
        md.append("## Conflicts")
        md.append("")
        md.extend(f"- {c}" for c in result.conflicts)
        md.append("")
    if result.admission is not None:
        md.append("## Admission")
        md.append("")
        md.append(
            "Tailored admission policies (" + ", ".join(result.admission.engines) + "), namespace "
            "Pod Security labels and what keeps each broken path: see ADMISSION.md."
        )
        md.append("")
    if result.notes:
        md.append("## Notes")
        md.append("")
        md.extend(f"- {n}" for n in result.notes)
        md.append("")
    return scrub("\n".join(md), _secrets(result))


def output_files(result: HardenResult) -> dict[str, str]:
    """File name -> text for ``--out-dir DIR`` (sorted)."""
    files = {f.name: f.text for f in result.documents}
    if result.added:
        files[ADDED_FILE] = join("# Added by attackmap harden\n", list(result.added))
    if result.context:
        files[CONTEXT_FILE] = result.context
    if result.profiles:
        from attackmap.harden._profiles import SPO_FILE, kubelet_files, spo_documents

        files[SPO_FILE] = "---\n".join(dump_plain(d) for d in spo_documents(result.profiles))
        files.update(kubelet_files(result.profiles))
    if result.admission is not None:
        from attackmap.harden._tailored import ADMISSION_SUMMARY, admission_markdown

        files.update(result.admission.files)
        files[ADMISSION_SUMMARY] = scrub(admission_markdown(result.admission), _secrets(result))
    files[SUMMARY_FILE] = summary_markdown(result)
    return dict(sorted(files.items()))
