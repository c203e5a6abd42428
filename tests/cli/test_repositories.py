"""A repository as users have one: charts, kustomizations, values, patches, broken files.

Before: one non-Kubernetes file aborted the run (exit 2, no report): a chart's
``Chart.yaml`` ("kind: required field missing"), an un-rendered template ("mapping keys
must be scalars"), a ``kustomization.yaml``; ``analyze chart/`` never rendered the chart
the README suggests it reads; two identical copies of an object were "duplicate object".
The renderers are fakes on ``PATH``: the test checks what attackmap runs and reads back.
"""

from __future__ import annotations

import itertools
import json
import stat
from pathlib import Path

import pytest

from attackmap.cli import main
from attackmap.model import _render, load

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: ns}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: main
          image: nginx
          securityContext: {{privileged: {privileged}}}
"""
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      containers:
        - name: x
          image: {{ .Values.image }}
"""


def _chart(root: Path) -> Path:
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: nginx\n")
    (chart / "templates" / "deploy.yaml").write_text(TEMPLATE)
    return chart


def _fake(bin_dir: Path, name: str, output: str, log: Path) -> None:
    """An executable ``name`` that records its arguments in ``log`` and prints ``output``."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    body = output.replace("'", "'\\''")
    script.write_text(f"#!/bin/sh\necho \"$@\" >> '{log}'\nprintf '%s' '{body}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _report(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> dict:
    assert main(["-q", "analyze", *argv, "--format", "json"]) == code, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _workloads(report: dict) -> list[str]:
    return [f"{w['ref']['kind']}/{w['ref']['name']}" for w in report["workloads"]]


def test_chart_files_given_one_by_one_are_skipped_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a pre-commit hook passes: every changed YAML file, a chart's included."""
    chart = _chart(tmp_path)
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.format(name="app", privileged="true"))
    (tmp_path / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    files = [
        chart / "Chart.yaml",
        chart / "values.yaml",
        chart / "templates" / "deploy.yaml",
        tmp_path / "kustomization.yaml",
        tmp_path / "app.yaml",
    ]
    report = _report(capsys, [str(f) for f in files])
    assert _workloads(report) == ["Deployment/app"]
    reasons = {Path(s["source"]["path"]).name: s["reason"] for s in report["skipped"]}
    assert reasons["Chart.yaml"].startswith("Helm chart metadata, not a Kubernetes object")
    assert reasons["values.yaml"].startswith("Helm chart values")
    assert reasons["deploy.yaml"].startswith("a template of the Helm chart")
    assert reasons["kustomization.yaml"].startswith("a kustomization")
    assert all("render it" in r for r in reasons.values())
    sarif = tmp_path / "report.sarif"  # the format code scanning reads lists them too
    assert main(["-q", "analyze", *map(str, files), "-o", str(sarif)]) == 0
    notes = json.loads(sarif.read_text())["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert sum(n["message"]["text"].startswith("skipped: ") for n in notes) == 4


def test_a_report_written_into_an_input_directory_is_named_when_read_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `analyze repo/ -o repo/report.json`, run again: the report is not a manifest
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.format(name="app", privileged="false"))
    first = _report(capsys, [str(tmp_path)])
    (tmp_path / "report.json").write_text(json.dumps(first))
    again = _report(capsys, [str(tmp_path)])
    assert _workloads(again) == _workloads(first) == ["Deployment/app"]
    assert [(Path(s["source"]["path"]).name, s["reason"]) for s in again["skipped"]] == [
        ("report.json", f"an attackmap report ({first['schema']}), not a Kubernetes object")
    ]
    (tmp_path / "report.json").write_text('{"schema": "other/v1"}')  # not ours: as before
    (reason,) = [s["reason"] for s in _report(capsys, [str(tmp_path)])["skipped"]]
    assert reason.startswith("not a Kubernetes object (no apiVersion and no kind)")


def test_a_go_template_outside_a_chart_is_skipped_but_broken_yaml_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tpl.yaml").write_text(TEMPLATE)
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.format(name="app", privileged="false"))
    report = _report(capsys, [str(tmp_path)])
    assert _workloads(report) == ["Deployment/app"]
    assert [s["reason"][:13] for s in report["skipped"]] == ["a Go template"]
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: [\n")
    assert main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml:" in err and "Traceback" not in err


def test_a_chart_directory_is_rendered_with_helm_values_and_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = _chart(tmp_path)
    log = tmp_path / "helm.log"
    rendered = "---\n# Source: demo/templates/deploy.yaml\n" + DEPLOYMENT.format(
        name="release-name", privileged="true"
    )
    _fake(tmp_path / "bin", "helm", rendered, log)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    values = tmp_path / "prod.yaml"
    values.write_text("image: nginx:1\n")
    argv = [str(chart), "--values", str(values), "--set", "a=b", "--set", "c=d"]
    report = _report(capsys, argv)
    assert _workloads(report) == ["Deployment/release-name"]
    assert "T1611" in {t["id"] for t in report["workloads"][0]["techniques"]}
    assert report["workloads"][0]["source"]["path"] == f"{chart} (helm template)"
    assert log.read_text() == f"template {chart} --values {values} --set a=b --set c=d\n"


def test_a_chart_in_a_repository_is_rendered_once_not_read_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _chart(tmp_path / "charts")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(DEPLOYMENT.format(name="app", privileged="false"))
    log = tmp_path / "helm.log"
    _fake(tmp_path / "bin", "helm", DEPLOYMENT.format(name="rendered", privileged="false"), log)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    report = _report(capsys, [str(tmp_path)])
    assert _workloads(report) == ["Deployment/app", "Deployment/rendered"]
    assert log.read_text().count("template") == 1


def test_a_failing_renderer_is_an_error_with_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = _chart(tmp_path)
    (tmp_path / "bin").mkdir()
    helm = tmp_path / "bin" / "helm"
    helm.write_text("#!/bin/sh\necho 'Error: template: demo: nil pointer' >&2\nexit 1\n")
    helm.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert main(["analyze", str(chart)]) == 2
    err = capsys.readouterr().err
    assert f"error: {chart}: cannot render the Helm chart" in err
    assert "nil pointer" in err and "Traceback" not in err


def test_without_helm_a_chart_says_how_to_render_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = _chart(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["analyze", str(chart)]) == 2  # nothing else to analyse: an error
    err = capsys.readouterr().err
    assert "helm is not on PATH" in err and f"helm template {chart} | attackmap analyze -" in err
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.format(name="app", privileged="false"))
    report = _report(capsys, [str(tmp_path)])  # with something else: skipped, listed
    assert _workloads(report) == ["Deployment/app"]
    assert [s["source"]["path"] for s in report["skipped"]] == [str(chart)]
    assert "helm is not on PATH" in report["skipped"][0]["reason"]


def test_a_kustomization_is_rendered_once_with_its_overlay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base, overlay = tmp_path / "base", tmp_path / "overlays" / "prod"
    base.mkdir()
    overlay.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    (base / "app.yaml").write_text(DEPLOYMENT.format(name="app", privileged="false"))
    (overlay / "kustomization.yaml").write_text(
        "resources: [../../base]\npatches: [{path: patch.yaml}]\n"
    )
    (overlay / "patch.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\n")
    log = tmp_path / "kubectl.log"
    _fake(tmp_path / "bin", "kubectl", DEPLOYMENT.format(name="app", privileged="true"), log)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    report = _report(capsys, [str(tmp_path)])
    assert _workloads(report) == ["Deployment/app"]
    assert log.read_text() == f"kustomize {overlay}\n"  # the base only through its overlay
    # the patch given alone (a pre-commit hook) is not a whole object
    report = _report(capsys, [str(overlay / "patch.yaml")])
    assert report["skipped"][0]["reason"].startswith("a kustomize patch")


def test_files_of_one_kustomization_given_one_by_one_read_it_once_per_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pre-commit hook passes every changed file of a kustomize directory: each asks
    whether it is one of the kustomization's patches, and the kustomization is read once
    per load (it was read once per file), and never rendered (only a directory is)."""
    names = [f"app-{i}.yaml" for i in range(20)]
    for name in names:
        (tmp_path / name).write_text(DEPLOYMENT.format(name=name[:-5], privileged="false"))
    (tmp_path / "patch.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\n")
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{', '.join(names)}]\npatches: [{{path: patch.yaml}}]\n"
    )
    log = tmp_path / "kubectl.log"
    _fake(tmp_path / "bin", "kubectl", "", log)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    reads: list[Path] = []
    patch_files = _render._patch_files

    def counted(kustomization: Path) -> set[str]:
        reads.append(kustomization)
        return patch_files(kustomization)

    monkeypatch.setattr(_render, "_patch_files", counted)
    files = [tmp_path / n for n in [*names, "patch.yaml", "kustomization.yaml"]]
    for _ in range(2):  # a new load reads it again (it may have changed)
        inventory = load(*files)
        assert len(inventory.workloads) == 20
        assert sorted(s.reason.split(" (")[0] for s in inventory.skipped) == [
            "a kustomization, not a Kubernetes object",
            "a kustomize patch, not a whole object",
        ]
    assert reads == [tmp_path / "kustomization.yaml"] * 2
    assert not log.exists()


def test_identical_copies_are_one_object_in_every_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DEPLOYMENT.format(name="app", privileged="true")
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(text)
    outputs = set()
    for order in itertools.permutations(["a.yaml", "b.yaml"]):
        report = _report(capsys, [str(tmp_path / n) for n in order])
        assert _workloads(report) == ["Deployment/app"]
        assert report["workloads"][0]["source"]["path"] == str(tmp_path / "a.yaml")
        outputs.add(json.dumps(report))
    assert len(outputs) == 1


def test_keep_going_reports_a_bad_file_and_analyses_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.format(name="app", privileged="true"))
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: 3\n")
    (tmp_path / "broken.yaml").write_text("a: [\n")
    assert main(["analyze", str(tmp_path)]) == 2  # without --keep-going: an error, no report
    assert capsys.readouterr().out == ""
    out = tmp_path / "report.json"
    argv = ["analyze", str(tmp_path), "--keep-going", "--fail-on", "T1611", "-o", str(out)]
    assert main(argv) == 2  # the report is written, but not all of the input was read
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'bad.yaml'}:4: spec:" in err
    assert f"error: {tmp_path / 'broken.yaml'}:" in err
    assert "2 input error(s) skipped by --keep-going" in err
    report = json.loads(out.read_text())
    assert _workloads(report) == ["Deployment/app"]
    assert sorted(Path(s["source"]["path"]).name for s in report["skipped"]) == [
        "bad.yaml",
        "broken.yaml",
    ]
    assert all(s["reason"].startswith("input error: ") for s in report["skipped"])


def test_two_different_copies_of_a_workload_are_both_analysed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: "duplicate object Deployment/ns/app", exit 2 even with --keep-going
    (tmp_path / "dev.yaml").write_text(DEPLOYMENT.format(name="app", privileged="false"))
    (tmp_path / "prod.yaml").write_text(DEPLOYMENT.format(name="app", privileged="true"))
    assert main(["analyze", str(tmp_path), "--format", "json", "--fail-on", "T1611"]) == 1
    out, err = capsys.readouterr()
    escapes = {
        w["ref"]["origin"]: any(t["id"] == "T1611" for t in w["techniques"])
        for w in json.loads(out)["workloads"]
    }
    assert escapes == {str(tmp_path / "dev.yaml"): False, str(tmp_path / "prod.yaml"): True}
    assert f"fail-on: Deployment/ns/app ({tmp_path / 'prod.yaml'}): T1611" in err
    assert "defined differently at" in err


def test_two_different_copies_of_a_service_stay_an_error_with_keep_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata: {{name: app, namespace: ns}}\n" + (
        "spec: {{type: {type}, selector: {{app: app}}, ports: [{{port: 80}}]}}\n"
    )
    (tmp_path / "dev.yaml").write_text(service.format(type="ClusterIP"))
    (tmp_path / "prod.yaml").write_text(service.format(type="LoadBalancer"))
    assert main(["analyze", str(tmp_path), "--keep-going"]) == 2
    err = capsys.readouterr().err
    assert "duplicate object Service/ns/app" in err and "the two copies differ" in err


def test_the_table_lists_what_was_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    chart = _chart(tmp_path)
    app = tmp_path / "app.yaml"
    app.write_text(DEPLOYMENT.format(name="app", privileged="false"))
    assert main(["analyze", str(app), str(chart / "values.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"skipped 1 object(s) or file(s), not analysed:\n  {chart / 'values.yaml'}: Helm" in out


def test_what_if_keeps_the_skipped_files(tmp_path: Path) -> None:
    import attackmap

    chart = _chart(tmp_path)
    app = tmp_path / "app.yaml"
    app.write_text(DEPLOYMENT.format(name="app", privileged="true"))
    report = attackmap.analyze([app, chart / "values.yaml", chart / "Chart.yaml"])
    after = report.apply(["unprivileged"])
    assert after.skipped == report.skipped and len(report.skipped) == 2
    assert "T1611" not in after.workload("Deployment/ns/app").technique_ids()
