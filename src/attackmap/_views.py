"""The seam between data and its views: how a report asks for its notebook display.

Data modules (the report) must not import the exporters that render them: exporters
depend on the report, never the reverse (``tests/test_layering.py`` checks the import
graph). A notebook still shows a report as HTML through ``_repr_html_``; that method calls
:func:`notebook_html`, which looks up the HTML exporter by module name when it is called.
This leaf module imports nothing of attackmap, so the seam adds no edge to the graph.
"""

from __future__ import annotations

import importlib

_HTML_VIEW = "attackmap.exporters._html"


def notebook_html(obj: object) -> str:
    """``obj`` (a report, a workload's analysis or a path) as the HTML exporter draws it."""
    view = importlib.import_module(_HTML_VIEW)
    html: str = view.notebook_html(obj)
    return html
