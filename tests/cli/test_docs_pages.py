"""Every command of docs/ci.md and every Python block of docs/python.md runs, in order,
and both pages are in the site's navigation (issue 20, "Done when").

The CI page's commands run in a directory holding ``deploy/nim.yaml`` (the NIM example)
and ``deploy/chart/`` (a Helm chart), with a stand-in ``helm`` on ``PATH`` that prints a
rendered Deployment; the page's ``.attackmap.yaml`` block is written where the page shows
it, so the configuration example is exercised too.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from attackmap.cli import main

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
RENDERED = """\
---
# Source: demo/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: release-name-demo, namespace: default}
spec:
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers: [{name: demo, image: "nginx:1.2"}]
"""


PULL_REQUEST = """\
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: ml}
spec:
  containers: [{name: c, image: "nvcr.io/nvidia/cuda:12.4.0", securityContext: {privileged: true}}]
"""


def _blocks(page: str, language: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [body for lang, body in BLOCK.findall(text) if lang == language]


def test_both_pages_are_in_the_site_navigation() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)  # noqa: S506  # BaseLoader: strings only
    pages = {v for item in config["nav"] for v in item.values() if isinstance(v, str)}
    assert {"ci.md", "python.md"} <= pages
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/ci.md" in readme and "docs/python.md" in readme


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    chart = tmp_path / "deploy" / "chart"
    (chart / "templates").mkdir(parents=True)
    shutil.copy(
        REPO / "examples" / "nim" / "nim-deploy-default.yaml", tmp_path / "deploy" / "nim.yaml"
    )
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: {tag: '1.0'}\n")
    (chart / "values-prod.yaml").write_text("image: {tag: '1.1'}\n")
    (chart / "templates" / "deploy.yaml").write_text("metadata: {name: {{ .Release.Name }}}\n")
    helm = tmp_path / "bin" / "helm"
    helm.parent.mkdir()
    helm.write_text(f"#!/bin/sh\ncat <<'EOF'\n{RENDERED}EOF\n")
    helm.chmod(helm.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helm.parent}:/usr/bin:/bin")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_command_of_the_ci_page_runs(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (DOCS / "ci.md").read_text(encoding="utf-8")
    ran = 0
    for language, body in BLOCK.findall(text):
        if language == "yaml" and body.startswith("# .attackmap.yaml"):
            (repository / ".attackmap.yaml").write_text(body)
            continue
        if language != "sh":
            continue
        for line in body.splitlines():
            argv = shlex.split(line, comments=True)
            if not argv:
                continue
            assert argv[0] == "attackmap", line
            if argv[-2:] == ["-o", "pr.json"]:  # the pull request adds a workload
                (repository / "deploy" / "debug.yaml").write_text(PULL_REQUEST)
            code = main(argv[1:])
            _, err = capsys.readouterr()
            assert code in (0, 1), f"{line}: exit {code}\n{err}"
            assert "Traceback" not in err
            if "-o" in argv:
                assert (repository / argv[argv.index("-o") + 1]).stat().st_size > 0, line
            ran += 1
    assert ran >= 10
    # what the page says about them
    report = (repository / "report.json").read_text()
    assert "accepted, not shown: T1552.001@StatefulSet/default/my-nim" in report
    comment = (repository / "comment.md").read_text()
    assert "| `Pod/ml/debug` | added |" in comment and "T1611 Escape to Host" in comment


def test_every_python_block_of_the_guide_runs(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, object] = {"__name__": "guide"}
    blocks = _blocks("python.md", "python")
    assert len(blocks) >= 7
    for block in blocks:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(compile(block, "docs/python.md", "exec"), namespace)  # noqa: S102  # the page's own code
        assert out.getvalue(), block  # each block shows something
    assert namespace["hardened_yaml"]
    assert (repository / "report.json").stat().st_size > 0
