"""The picture of a workload's paths as the HTML report and the notebook embed it: the
pure-Python SVG of :mod:`._svg` inline, in a figure that scrolls sideways when wide."""

from __future__ import annotations

from typing import TYPE_CHECKING

from attackmap.exporters._svg import workload_svg

if TYPE_CHECKING:
    from attackmap.graph import WorkloadAnalysis


def paths_figure(wa: WorkloadAnalysis) -> str:
    """A ``<figure>`` holding ``wa``'s paths as inline SVG (entry → steps → technique)."""
    return (
        '<figure class="paths" style="margin:.5em 0;overflow-x:auto">'
        f"{workload_svg(wa)}<figcaption>Attack paths: entry points, step instances, "
        "techniques and the controls that break every path to them</figcaption></figure>"
    )
