"""Jupyter rendering of Report, WorkloadAnalysis and Path: collapsible paths, a matrix by
tactic, and an SVG of the paths when Graphviz's ``dot`` is on PATH (pure HTML otherwise)."""

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
    assert "<svg" not in html
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


def test_svg_drawn_when_dot_is_available(
    default_report: Report, monkeypatch: pytest.MonkeyPatch, tmp_path: FsPath
) -> None:
    # a stand-in for Graphviz: checks it received DOT on stdin and answers with an SVG
    fake = tmp_path / "dot"
    fake.write_text(
        "#!/bin/sh\n"
        'read -r first; case "$first" in digraph*) ;; *) exit 3;; esac\n'
        "cat >/dev/null\n"
        'echo \'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>\'\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    w = default_report.workloads[0]
    assert w._repr_html_().count("<svg") == 1
    html = w.techniques[0].paths[0]._repr_html_()
    assert "<svg" in html and "<?xml" not in html


def test_failing_dot_falls_back_to_html(
    default_report: Report, monkeypatch: pytest.MonkeyPatch, tmp_path: FsPath
) -> None:
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    html = default_report.workloads[0].techniques[0].paths[0]._repr_html_()
    assert "<svg" not in html and "broken by" in html
