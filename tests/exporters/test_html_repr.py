"""Jupyter rendering of Report, WorkloadAnalysis and Path: collapsible paths, a matrix by
tactic, and each workload's paths drawn as inline SVG in pure Python (Graphviz never runs)."""

from __future__ import annotations

import os
import stat
from html import escape
from pathlib import Path as FsPath

import pytest

from attackmap.graph import Report


def test_report_repr_html_without_graphviz(
    default_report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    html = default_report._repr_html_()
    assert html.count("<svg") == len(default_report.workloads)
    assert "<details>" in html and "Reachable techniques by tactic" in html
    for tid in default_report.workloads[0].technique_ids():
        assert tid in html


def test_workload_and_path_repr_html(
    default_report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    w = default_report.workloads[0]
    assert str(w.ref) in w._repr_html_()
    path = w.techniques[0].paths[0]
    html = path._repr_html_()
    assert all(escape(s.title) in html for s in path.steps)
    assert "broken by" in html


def test_graphviz_is_never_run(
    default_report: Report, monkeypatch: pytest.MonkeyPatch, tmp_path: FsPath
) -> None:
    # a `dot` that would leave a mark: the notebook's pictures are drawn without it
    mark = tmp_path / "ran"
    fake = tmp_path / "dot"
    fake.write_text(f"#!/bin/sh\ntouch {mark}\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    w = default_report.workloads[0]
    assert w._repr_html_().count("<svg") == 1
    html = w.techniques[0].paths[0]._repr_html_()
    assert "broken by" in html
    assert not mark.exists()
