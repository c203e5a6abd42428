"""No output format ever contains a secret value from the manifests."""

from __future__ import annotations

import base64

import pytest

from attackmap.exporters import EXPORTERS
from attackmap.exporters._html import path_html, report_html, workload_html
from attackmap.graph import Report

SECRET = "SECRET123"
FORMS = (
    SECRET,
    "nvapi-SECRET123",
    base64.b64encode(b"nvapi-SECRET123").decode(),
    base64.b64encode(SECRET.encode()).decode(),
    "U0VDUkVUMTIz",
)


def _assert_clean(text: str) -> None:
    for form in FORMS:
        assert form not in text


def test_the_manifest_is_worth_leaking(leak_report: Report) -> None:
    # the secret-bearing workload is analysed and reaches credential techniques
    (w,) = leak_report.workloads
    assert "T1552.001" in w.technique_ids()
    facts = {f.fact for t in w.techniques for p in t.paths for s in p.steps for f in s.facts}
    assert "env:credential" in facts


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_no_exporter_leaks_secret_values(fmt: str, leak_report: Report) -> None:
    _assert_clean(EXPORTERS[fmt].export(leak_report))


def test_jupyter_views_do_not_leak(leak_report: Report) -> None:
    (w,) = leak_report.workloads
    _assert_clean(report_html(leak_report, svg=False))
    _assert_clean(workload_html(w, svg=False))
    _assert_clean(path_html(w.techniques[0].paths[0], svg=False))
