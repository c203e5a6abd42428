"""``stix``: a STIX 2.1 bundle for threat-intelligence platforms (OpenCTI, MISP...).

* each analysed workload is an ``infrastructure`` object;
* each reached technique is the ATT&CK ``attack-pattern`` under its real STIX id (an
  abbreviated copy: name, ATT&CK reference, kill-chain phases), so a platform that holds
  ATT&CK merges it with its own;
* each reached ATLAS technique (``AML.T…``) is an ``attack-pattern`` with the external
  reference ATLAS's own STIX data uses (``source_name: mitre-atlas``, the ATLAS id, its
  atlas.mitre.org page) and ``mitre-atlas`` kill-chain phases; ATLAS publishes no stable STIX
  ids (its generator draws new ones per build), so the id is a UUIDv5 of the ATLAS id
  (``attackmap.attack._atlas.STIX_NAMESPACE``) and platforms merge on the external reference;
* a ``related-to`` relationship links a workload to each technique reachable in it (the
  description lists the paths);
* each control that breaks a path is a ``course-of-action`` (its ATT&CK and ATLAS
  mitigations as external references) that ``mitigates`` the techniques whose paths it breaks;
* a ``report`` object refers to all of them; its description holds the report's warnings
  (an input without workloads, dangling references) and what was skipped (``skipped:
  path:line: reason``), when there are any;
* a ``note`` on the report lists what was skipped, one ``path:line: reason`` per line
  (``abstract``: how many), when anything was.

Ids are UUIDv5 of stable names; every ``created``/``modified``/``published`` is the fixed
timestamp of the ATT&CK release in use (never "now"), so identical input gives identical
bytes.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from attackmap import __version__
from attackmap._jsontext import dumps
from attackmap.attack._models import framework_of, tactic_rank
from attackmap.exporters._common import (
    FRAMEWORK_SOURCE,
    attack_url,
    catalogue,
    control_info,
    control_name,
    release_timestamp,
    route,
    skipped_lines,
    skipped_summary,
)

if TYPE_CHECKING:
    from attackmap.attack import Technique
    from attackmap.graph import Report

NAMESPACE = uuid.UUID("0b3c5a1e-9a57-5d8e-a4f4-6174746b6d61")  # attackmap's own namespace


def _id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}:{name}')}"


class StixExporter:
    name = "stix"
    suffix = ".json"
    description = "a STIX 2.1 bundle: workloads, ATT&CK/ATLAS attack-patterns, courses of action"

    def export(self, report: Report) -> str:
        return dumps(stix_bundle(report), pretty=True)  # = json.dumps(indent=2), 2-3x faster


def stix_bundle(report: Report) -> dict[str, Any]:
    """The bundle as a dict."""
    ts = release_timestamp(report.attack_version)
    cat = catalogue(report)
    identity = _id("identity", "attackmap")
    common = {"spec_version": "2.1", "created": ts, "modified": ts, "created_by_ref": identity}
    objects: dict[str, dict[str, Any]] = {
        identity: {
            "type": "identity",
            "id": identity,
            "spec_version": "2.1",
            "created": ts,
            "modified": ts,
            "name": "attackmap",
            "identity_class": "system",
        }
    }
    techniques: dict[str, Technique] = {}
    mitigates: dict[str, set[str]] = {}  # control -> technique ids
    for w in report.workloads:
        infra = _id("infrastructure", str(w.ref))
        objects[infra] = {
            "type": "infrastructure",
            "id": infra,
            **common,
            "name": str(w.ref),
            "description": f"Kubernetes {w.ref.kind} analysed by attackmap {__version__} "
            f"(source: {w.source}).",
        }
        for t in w.techniques:
            techniques[t.technique.id] = t.technique
            rel = _id("relationship", f"{w.ref}|related-to|{t.technique.id}")
            lines = [
                f"{route(p)} (broken by: {', '.join(sorted(p.broken_by)) or '-'})" for p in t.paths
            ]
            objects[rel] = {
                "type": "relationship",
                "id": rel,
                **common,
                "relationship_type": "related-to",
                "source_ref": infra,
                "target_ref": t.technique.stix_id,
                "description": f"{t.technique.id} is reachable in {w.ref}:\n" + "\n".join(lines),
            }
            for p in t.paths:
                for c in p.broken_by:
                    mitigates.setdefault(control_name(c), set()).add(t.technique.id)
    for tech in techniques.values():
        source = FRAMEWORK_SOURCE[tech.framework]
        objects[tech.stix_id] = {
            "type": "attack-pattern",
            "id": tech.stix_id,
            "spec_version": "2.1",
            "created": ts,
            "modified": ts,
            "name": tech.name,
            "external_references": [
                {
                    "source_name": source,
                    "external_id": tech.id,
                    "url": tech.url or attack_url(tech.id),
                }
            ],
            "kill_chain_phases": [
                {"kill_chain_name": source, "phase_name": tactic}
                for tactic in (
                    tech.tactics
                    if tech.framework == "atlas"  # already in ATLAS matrix order
                    else sorted(tech.tactics, key=tactic_rank)
                )
            ],
        }
    for name in sorted(mitigates):
        info = control_info(cat, name)
        coa = _id("course-of-action", name)
        refs = [{"source_name": "attackmap", "external_id": name}]
        refs += [
            {
                "source_name": FRAMEWORK_SOURCE[framework_of(m)],
                "external_id": m,
                "url": attack_url(m),
            }
            for m in info.mitigations
        ]
        objects[coa] = {
            "type": "course-of-action",
            "id": coa,
            **common,
            "name": info.title,
            "description": info.rationale or info.title,
            "external_references": refs,
        }
        for tid in sorted(mitigates[name]):
            rel = _id("relationship", f"{name}|mitigates|{tid}")
            objects[rel] = {
                "type": "relationship",
                "id": rel,
                **common,
                "relationship_type": "mitigates",
                "source_ref": coa,
                "target_ref": techniques[tid].stix_id,
            }
    ids = sorted(objects)
    summary = _id("report", "|".join(ids))
    objects[summary] = {
        "type": "report",
        "id": summary,
        **common,
        "name": f"attackmap: {len(report.workloads)} workload(s), ATT&CK {report.attack_version}"
        + (f", ATLAS {report.atlas_version}" if report.atlas_version else ""),
        "report_types": ["threat-report"],
        "published": ts,
        "object_refs": ids,
    }
    notes = [f"warning: {w}" for w in report.warnings]
    notes += [f"skipped: {s}" for s in skipped_lines(report)]
    if notes:
        objects[summary]["description"] = "\n".join(notes)
    skipped = skipped_lines(report)
    if skipped:
        note = _id("note", "|".join(skipped))
        objects[note] = {
            "type": "note",
            "id": note,
            **common,
            "abstract": skipped_summary(report),
            "content": "\n".join(skipped),
            "object_refs": [summary],
        }
    return {
        "type": "bundle",
        "id": _id("bundle", summary),
        "objects": [objects[k] for k in sorted(objects)],
    }
