"""``navigator-atlas``: the report's ATLAS techniques as a layer for the ATLAS Navigator.

The ATLAS Navigator (https://mitre-atlas.github.io/atlas-navigator/) is a fork of the ATT&CK
Navigator and reads the same layer format; the layer is built and scored exactly as the
ATT&CK one (:mod:`._navigator`: one entry per technique and tactic, score = number of paths,
comments list the paths and the controls that break them), with the ATLAS techniques
(``AML.T…``) only and the fields ATLAS's own layers use. Checked against MITRE's
``mitre-atlas/atlas-navigator-data`` (``tools/generate_navigator_layer.py`` and the layers in
``dist/``, ATLAS data 5.5.0):

* ``domain`` is ``atlas-atlas`` (the Navigator's config name of the ATLAS domain);
* ``versions`` are ``{"layer": "4.3", "navigator": "4.6.4"}``: no ``attack`` version, the
  ATLAS release is the metadata entry ``atlas_data_version``;
* tactics are the ATLAS tactic names lower-cased with hyphens (``ai-model-access``), as the
  ATLAS STIX data's ``x_mitre_shortname``;
* no platform filter (ATLAS techniques have the single platform ``ATLAS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attackmap._jsontext import dumps
from attackmap.exporters._navigator import _layer

if TYPE_CHECKING:
    from attackmap.graph import Report

DOMAIN = "atlas-atlas"
LAYER_VERSION = "4.3"
NAVIGATOR_VERSION = "4.6.4"


class NavigatorAtlasExporter:
    name = "navigator-atlas"
    suffix = ".json"
    description = "an ATLAS Navigator layer of the ATLAS techniques, scored by the number of paths"

    def export(self, report: Report) -> str:
        return dumps(atlas_layer(report), pretty=True)


def atlas_layer(report: Report) -> dict[str, Any]:
    """The ATLAS layer for the whole report."""
    layer = _layer(report, report.workloads, "attackmap: reachable ATLAS techniques", "atlas")
    layer["versions"] = {"layer": LAYER_VERSION, "navigator": NAVIGATOR_VERSION}
    layer["domain"] = DOMAIN
    del layer["filters"]
    layer["metadata"] = [m for m in layer["metadata"] if m["name"] != "attack_version"]
    layer["metadata"].insert(
        1, {"name": "atlas_data_version", "value": report.atlas_version or "unknown"}
    )
    return layer
