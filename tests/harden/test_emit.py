"""The patched text is always YAML: when ruamel.yaml misplaces a comment, the document is
emitted again without its comments (it made `volumeMounts:   -` of the GPU Operator's
driver DaemonSet, which attackmap's own re-read refused at the input's path)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from attackmap.cli import main
from attackmap.harden import _source

SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "nim"
DRIVER = SHARED / "gpu-operator-state-driver-0500_daemonset.yaml"


def test_a_document_the_emitter_breaks_is_emitted_without_comments(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    doc = _source.yaml_rt().load("kind: Pod  # a comment\nmetadata: {name: p}\nspec: {a: [1, 2]}\n")
    broken = iter(["spec:   -\n  - a\n"])  # what ruamel produced for the driver DaemonSet
    real = _source._emit
    monkeypatch.setattr(_source, "_emit", lambda d: next(broken, None) or real(d))
    with caplog.at_level(logging.WARNING, logger="attackmap"):
        text = _source.dump(doc)
    assert yaml.safe_load(text) == {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"a": [1, 2]}}
    assert "# a comment" not in text
    assert "Pod/p lost its comments" in caplog.text


def test_an_unbroken_document_keeps_its_comments() -> None:
    doc = _source.yaml_rt().load("kind: Pod  # a comment\nmetadata: {name: p}\n")
    assert "# a comment" in _source.dump(doc)


@pytest.mark.skipif(not DRIVER.is_file(), reason=f"reference corpus not available: {DRIVER}")
def test_harden_of_the_gpu_driver_daemonset_is_valid_yaml(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["harden", str(DRIVER), "--level", "baseline"])
    out, err = capsys.readouterr()
    assert code != 2, err  # was: "invalid YAML: block sequence entries are not allowed"
    assert "Traceback" not in err
    assert "DaemonSet" in [d["kind"] for d in yaml.safe_load_all(out) if d]


def test_documents_that_start_on_the_marker_line_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--- {apiVersion: v1, ...}` (a document on the marker's line) was refused by harden
    # with "invalid YAML: but found another document"; inventory reads it
    f = tmp_path / "inline.yaml"
    pod = "{apiVersion: v1, kind: Pod, metadata: {name: %s, namespace: nim}, spec: {containers: [{name: c, image: x%s}]}}\n"
    f.write_text(
        "--- " + pod % ("a", ", securityContext: {privileged: true}") + "--- " + pod % ("b", "")
    )
    assert main(["harden", str(f), "--goal", "T1611"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert [d["metadata"]["name"] for d in docs] == ["a", "b"]
    assert docs[0]["spec"]["containers"][0]["securityContext"]["privileged"] is False
