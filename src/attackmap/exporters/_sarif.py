"""``sarif``: SARIF 2.1.0 for code scanning (GitHub and others).

* one **rule** per attack step used in a reported path (id = step id); its help lists the
  controls that break the step's paths and links to the technique's page: attack.mitre.org
  for ATT&CK, atlas.mitre.org for ATLAS (``AML.T…``; tag ``mitre-atlas``);
* one **result** per reachable technique per workload, on the shortest path: ``ruleId`` is
  the path's last step (the one that uses the technique); the location is the manifest file
  and line of the fact that enables the path's *first* step (what to change first), or the
  workload itself when that fact has no file;
* ``properties.security-severity`` (GitHub's convention, a numeric string) on each result and
  on the rule it names, from the technique's severity (``mappings/severity.yaml``), and a
  ``level`` that follows it: ``error`` for high and critical, ``warning`` for medium,
  ``note`` for low and info (info carries no security-severity);
* the message names the controls that break *every* listed path to the technique;
* ``partialFingerprints`` are stable per (workload, technique) so alerts keep their
  identity across runs;
* the report's warnings (an input without workloads, dangling references) are the run's
  ``invocations[0].toolExecutionNotifications`` (level ``warning``), followed by what was
  skipped (level ``note``: ``skipped: path:line: reason``).
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from attackmap import __version__
from attackmap._jsontext import dumps
from attackmap.attack._models import framework_of
from attackmap.exporters._common import (
    FRAMEWORK_SOURCE,
    attack_url,
    catalogue,
    control_info,
    control_name,
    first_location,
    framework_label,
    route,
)

if TYPE_CHECKING:
    from attackmap.graph import Catalogue, Report, TechniqueFinding, WorkloadAnalysis

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning reads ``properties.security-severity`` as a number in a string and
# "translates numerical scores as follows: over 9.0 is critical, 7.0 to 8.9 is high, 4.0 to
# 6.9 is medium and 3.9 or less is low" (docs.github.com, code-security/code-scanning/
# integrating-with-code-scanning/sarif-support-for-code-scanning, reportingDescriptor
# object). One value inside each band; info has none (the alert keeps the SARIF level).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


class SarifExporter:
    name = "sarif"
    suffix = ".sarif"
    description = "SARIF 2.1.0: one result per reachable technique per workload"

    def export(self, report: Report) -> str:
        return dumps(sarif_log(report), pretty=True)  # = json.dumps(indent=2), 2-3x faster


def artifact_uri(path: str) -> str:
    """A SARIF ``artifactLocation.uri``: relative paths stay relative (POSIX, %-encoded),
    absolute ones become ``file://`` URIs."""
    posix = path.replace("\\", "/")
    if PurePosixPath(posix).is_absolute():
        return "file://" + quote(posix)
    return quote(posix)


def sarif_log(report: Report) -> dict[str, Any]:
    """The SARIF log as a dict."""
    cat = catalogue(report)
    results = [
        _result(w, t)
        for w in sorted(report.workloads, key=lambda w: w.ref.sort_key())
        for t in w.techniques
        if t.paths
    ]
    steps: dict[str, tuple[str, set[str]]] = {}  # step id -> (technique, controls)
    for w in report.workloads:
        for t in w.techniques:
            for p in t.paths:
                for s in p.steps:
                    entry = steps.setdefault(s.id, (s.technique, set()))
                    entry[1].update(control_name(c) for c in p.broken_by)
    # a rule is the last step of its results' paths, whose technique is the result's: every
    # result of a rule has the same severity, the rule's
    severity = {
        t.paths[0].steps[-1].id: t.severity
        for w in report.workloads
        for t in w.techniques
        if t.paths
    }
    rules = [_rule(cat, sid, *steps[sid], severity.get(sid)) for sid in sorted(steps)]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "attackmap",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "results": results,
        "properties": {
            "attackVersion": report.attack_version,
            **({"atlasVersion": report.atlas_version} if report.atlas_version else {}),
            "entries": list(report.entries),
        },
    }
    notifications = [{"level": "warning", "message": {"text": w}} for w in report.warnings]
    notifications += [
        {"level": "note", "message": {"text": f"skipped: {s.source}: {s.reason}"}}
        for s in report.skipped
    ]
    if notifications:
        run["invocations"] = [
            {"executionSuccessful": True, "toolExecutionNotifications": notifications}
        ]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rule(
    cat: Catalogue, step_id: str, technique: str, controls: set[str], severity: str | None
) -> dict[str, Any]:
    try:
        step = cat.step(step_id)
        title, rationale = step.title, " ".join(step.rationale.split())
    except KeyError:
        title, rationale = step_id, step_id
    link = attack_url(technique)
    label = framework_label(technique)
    text = [f"{title} ({label} {technique}: {link}).", rationale, ""]
    md = [f"**{title}** ({label} [{technique}]({link}))", "", rationale, ""]
    if controls:
        text.append("Controls that break paths through this step:")
        md.append("Controls that break paths through this step:")
    for info in (control_info(cat, c) for c in sorted(controls)):
        text.append(f"- {info.id}: {info.title}" + "".join(f" ({m})" for m in info.mitigations))
        mits = "".join(f" ([{m}]({attack_url(m)}))" for m in info.mitigations)
        md.append(f"- `{info.id}`: {info.title}{mits}")
    return {
        "id": step_id,
        "name": "".join(part.capitalize() for part in step_id.split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": rationale},
        "helpUri": link,
        "help": {"text": "\n".join(text).strip(), "markdown": "\n".join(md).strip()},
        "properties": {
            "tags": ["security", FRAMEWORK_SOURCE[framework_of(technique)], technique],
            **_security_severity(severity),
        },
    }


def _security_severity(severity: str | None) -> dict[str, str]:
    score = SECURITY_SEVERITY.get(severity or "")
    return {"security-severity": score} if score else {}


def _result(w: WorkloadAnalysis, t: TechniqueFinding) -> dict[str, Any]:
    path = t.paths[0]
    where = first_location(path, str(w.ref))
    uri, line = where if where else (w.source.path, w.source.line)
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(uri)}}
    if line is not None:
        physical["region"] = {"startLine": line}
    # every listed path, not only the shortest: a control that breaks the shortest path
    # alone leaves the technique reachable by another
    controls = ", ".join(control_name(c) for c in t.broken_by) or "no single control"
    more = f" and {len(t.paths) - 1} more path(s)" if len(t.paths) > 1 else ""
    message = (
        f"{w.ref}: {t.technique.id} {t.technique.name} ({t.severity}) is reachable "
        f"({route(path)}{more}); broken on every path by: {controls}."
    )
    key = f"{w.ref}|{t.technique.id}"
    return {
        "ruleId": path.steps[-1].id,
        "level": LEVEL.get(t.severity, "warning"),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": physical,
                "logicalLocations": [{"name": str(w.ref), "kind": "resource"}],
            }
        ],
        "partialFingerprints": {
            "attackmapFinding/v1": hashlib.sha256(key.encode()).hexdigest()[:32]
        },
        "properties": {
            "technique": t.technique.id,
            "framework": t.technique.framework,
            "tactics": list(t.technique.tactics),
            "workload": str(w.ref),
            "paths": len(t.paths),
            "severity": t.severity,
            **_security_severity(t.severity),
        },
    }
