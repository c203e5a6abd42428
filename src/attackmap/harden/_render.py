"""The NIMService -> Deployment rendering offered when a NIMService cannot be hardened (the
result's text forms live with :class:`~attackmap.harden.HardenResult` in ``_outcome``)."""

from __future__ import annotations

from typing import Any

from attackmap.harden._source import SourceFile, dump, yaml_rt

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
