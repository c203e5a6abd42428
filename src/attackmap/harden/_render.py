"""Rendering a :class:`HardenResult`: YAML, a control-by-control diff, ``HARDENING.md``;
and the NIMService -> Deployment rendering offered when a NIMService cannot be hardened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attackmap.harden._redact import scrub, secret_values
from attackmap.harden._source import SourceFile, dump, join, yaml_rt

if TYPE_CHECKING:
    from attackmap.harden import HardenResult

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


# -- NIMService -> Deployment ------------------------------------------------------------------


def _deployment(workload: Any, doc: Any) -> list[Any]:
    ref = workload.ref
    labels = dict((workload.pod_template.get("metadata") or {}).get("labels") or {})
    selector = {k: v for k, v in labels.items() if k in ("app", "app.kubernetes.io/name")} or labels
    meta = {
        "name": ref.name,
        "namespace": ref.namespace,
        "labels": labels,
        "annotations": {"attackmap.io/rendered-from": str(ref)},
    }
    template = dict(workload.pod_template)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": workload.replicas or 1,
            "selector": {"matchLabels": selector},
            "template": template,
        },
    }
    out = [deployment]
    service = ((doc.get("spec") or {}).get("expose") or {}).get("service") or {}
    ports = [
        p.get("containerPort")
        for c in template.get("spec", {}).get("containers", [])
        for p in c.get("ports") or []
    ]
    port = service.get("port") or (ports[0] if ports else 8000)
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": ref.name, "namespace": ref.namespace, "labels": labels},
            "spec": {
                "type": str(service.get("type") or "ClusterIP"),
                "selector": selector,
                "ports": [{"name": "api", "port": port, "targetPort": port}],
            },
        }
    )
    return out


def render_nimservices(
    files: list[SourceFile], inventory: Any
) -> tuple[list[SourceFile], list[str]]:
    """Replace every NIMService document by the Deployment + Service the operator renders."""
    notes: list[str] = []
    out: list[SourceFile] = []
    y = yaml_rt()
    for f in files:
        chunks: list[str] = []
        changed = False
        for chunk, doc in zip(f.chunks, f.docs, strict=True):
            if doc.get("kind") != "NIMService":
                chunks.append(chunk)
                continue
            meta = doc.get("metadata") or {}
            ref = f"NIMService/{meta.get('namespace') or 'default'}/{meta.get('name')}"
            workload = inventory.workload(ref)
            if workload is None:
                chunks.append(chunk)
                continue
            changed = True
            rendered = _deployment(workload, doc)
            chunks.extend(dump(y.load(dump_plain(d))) for d in rendered)
            notes.append(
                f"{ref} replaced by the Deployment and Service the NIM Operator renders for it "
                "(the operator no longer manages it; its Role/ServiceAccount are not emitted)"
            )
        if changed:
            docs = [y.load(c) for c in chunks]
            f = SourceFile(path=f.path, name=f.name, head=f.head, chunks=chunks, docs=docs)
        out.append(f)
    return out, notes


def dump_plain(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, width=4096))
