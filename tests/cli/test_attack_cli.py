"""``attackmap attack ...`` through ``attackmap.cli.main``: output, exit codes, errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from attackmap.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
SLICE_DIR = REPO_ROOT / "data" / "attack"
SHARED_ATTACK = REPO_ROOT.parent / "shared" / "attack"


def shared_bundle(version: str) -> Path:
    path = SHARED_ATTACK / f"enterprise-attack-{version}.json"
    if not path.exists():
        pytest.skip(f"reference data not available: {path} (../shared is absent in this clone)")
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ATTACKMAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ATTACKMAP_ATTACK_BUNDLE", raising=False)
    yield


def test_info_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "info"]) == 0
    out = capsys.readouterr().out
    assert "ATT&CK 18.1 (slice, bundled)" in out
    assert "48 techniques (19 sub-techniques) for Containers, 32 mitigations" in out
    assert "privilege-escalation" in out and "TA0004" in out


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "info", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["version"], info["techniques"], info["source"]["origin"]) == (
        "18.1",
        48,
        "bundled",
    )
    by_tactic = {t["shortname"]: t["techniques"] for t in info["tactics"]}
    assert next(iter(by_tactic)) == "reconnaissance" and by_tactic["privilege-escalation"] == 11


def test_info_reports_the_env_source(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    copy = shutil.copytree(SLICE_DIR, tmp_path / "mine")
    monkeypatch.setenv("ATTACKMAP_ATTACK_BUNDLE", str(copy))
    assert main(["attack", "info", "--format", "json"]) == 0
    source = json.loads(capsys.readouterr().out)["source"]
    assert (source["origin"], source["path"]) == ("env", str(copy.resolve()))


@pytest.mark.parametrize("content", [None, b"garbage", b'{"type": "bundle", "objects": []}'])
def test_bad_bundle_exits_2_with_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    path = tmp_path / "enterprise-attack.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["attack", "info", "--bundle", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and "Traceback" not in err
    assert main(["attack", "diff", str(path), str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_tampered_default_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = shutil.copytree(SLICE_DIR, tmp_path / "slice")
    (copy / "LICENSE.txt").write_text("no licence\n")
    monkeypatch.setenv("ATTACKMAP_ATTACK_BUNDLE", str(copy))
    assert main(["attack", "info"]) == 2
    assert "checksum mismatch" in capsys.readouterr().err


def test_diff_reports_container_cli_added(capsys: pytest.CaptureFixture[str]) -> None:
    old, new = shared_bundle("17.1"), shared_bundle("18.1")
    args = ["attack", "diff", str(old), str(new), "--platform", "Containers"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "added" in out and "T1059.013" in out and "Container CLI/API" in out
    assert main([*args, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in result["added"]] == ["T1059.013"]


def test_diff_without_changes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "diff", str(SLICE_DIR), str(SLICE_DIR)]) == 0
    assert "no changes" in capsys.readouterr().out


def test_build_slice_and_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = shared_bundle("18.1")
    out = tmp_path / "slice"
    assert main(["attack", "build-slice", "--from", str(source), "--out", str(out)]) == 0
    # the bundled slice's own count (it grows with EXTRA_TECHNIQUES; the manifests match below)
    count = json.loads((SLICE_DIR / "MANIFEST.json").read_bytes())["slice_object_count"]
    assert f"{count} of 24771 objects" in capsys.readouterr().out
    assert (out / "MANIFEST.json").read_bytes() == (SLICE_DIR / "MANIFEST.json").read_bytes()
    # update from a local copy named like a release (the file name carries the version)
    release = tmp_path / "enterprise-attack-18.1.json"
    release.write_bytes((out / "enterprise-attack-containers.json").read_bytes())
    assert main(["attack", "update", "--from", release.as_uri()]) == 0
    assert "installed ATT&CK 18.1" in capsys.readouterr().out
    assert main(["attack", "info", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["origin"] == "cache"


def test_build_slice_without_licence_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "enterprise-attack-18.1.json"
    shutil.copyfile(SLICE_DIR / "enterprise-attack-containers.json", bundle)
    assert main(["attack", "build-slice", "--from", str(bundle), "--out", str(tmp_path / "o")]) == 2
    assert "licence" in capsys.readouterr().err
    code = main(
        ["attack", "build-slice", "--from", str(bundle), "--out", str(tmp_path / "o"),
         "--license", str(SLICE_DIR / "LICENSE.txt")]
    )  # fmt: skip
    assert code == 0


def test_update_failure_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "enterprise-attack-18.1.json"
    assert main(["attack", "update", "--from", missing.as_uri()]) == 2
    err = capsys.readouterr().err
    assert "download failed" in err and "bundled slice still the default" in err


def test_usage_error_exits_2() -> None:
    assert main(["attack"]) == 2
    assert main(["attack", "info", "--format", "xml"]) == 2
