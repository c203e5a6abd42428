"""The table ends with one line a reader (or a CI log) takes in at once: how many workloads,
how many techniques, the highest severity (issue 20, item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

import attackmap
from attackmap.cli import main

NIM = Path(__file__).resolve().parents[2] / "examples" / "nim" / "nim-deploy-default.yaml"
PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: ml}
spec:
  containers: [{name: c, image: cuda, securityContext: {privileged: true}}]
"""


def _last_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    main(argv)
    return capsys.readouterr().out.rstrip("\n").splitlines()[-1]


def test_the_table_ends_with_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = len(attackmap.analyze(NIM).workloads[0].techniques)
    # mappings/severity.yaml: credential-access (T1552.001, T1528) is high, nothing critical
    assert _last_line(capsys, ["analyze", str(NIM)]) == (
        f"1 workload, {found} technique(s) reachable, highest severity: high"
    )
    pod = tmp_path / "pod.yaml"
    pod.write_text(PRIVILEGED)
    # T1611 (escape to host) is critical; the two workloads reach some of the same
    # techniques, so the number of distinct ones is given too
    line = _last_line(capsys, ["analyze", str(NIM), str(pod)])
    assert line.startswith("2 workloads, ") and line.endswith("highest severity: critical")
    assert "distinct)" in line
    empty = tmp_path / "sa.yaml"
    empty.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n")
    assert _last_line(capsys, ["analyze", str(empty)]) == "0 workloads, no technique reachable"


FORMATS_BY_FILE = [
    "report.json",
    "report.sarif",
    "report.html",
    "report.md",
    "report.stix.json",
    "report.navigator.json",
    "report.atlas.json",
    "graph.dot",
    "graph.graphml",
    "paths.svg",
    "paths.mmd",
    "report.tsv",
]


@pytest.mark.parametrize("name", FORMATS_BY_FILE)
def test_with_o_the_summary_is_on_stderr_for_every_format(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: only the terminal table said what was found; `-o report.sarif` printed nothing
    out_file = tmp_path / name
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: nginx\n")
    assert main(["analyze", str(NIM), str(chart / "values.yaml"), "-o", str(out_file)]) == 0
    out, err = capsys.readouterr()
    assert out == ""  # stdout stays free of anything but data
    found = len(attackmap.analyze(NIM).workloads[0].techniques)
    assert err.splitlines()[-1] == (
        f"{out_file}: 1 workload, {found} technique(s) reachable, highest severity: high, 1 skipped"
    )
    assert out_file.stat().st_size > 0


def test_data_on_stdout_gets_no_summary_and_quiet_silences_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(NIM), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "technique(s) reachable" not in out + err
    assert main(["--quiet", "analyze", str(NIM), "-o", str(tmp_path / "r.json")]) == 0
    assert capsys.readouterr() == ("", "")


def test_the_table_counts_what_was_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("image: nginx\n")
    sa = tmp_path / "sa.yaml"
    sa.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n")
    assert _last_line(capsys, ["analyze", str(sa), str(values)]) == (
        "0 workloads, no technique reachable, 1 skipped"
    )
