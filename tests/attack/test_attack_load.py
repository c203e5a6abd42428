"""Choosing and checking the ATT&CK source: bundled slice, env var, cache, files, tampering."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from attack_helpers import SLICE_DIR, WriteBundle, find

from attackmap.attack import load_attack
from attackmap.errors import AttackKBError


def test_default_is_the_bundled_slice() -> None:
    kb = load_attack()
    assert (kb.source.origin, kb.source.kind, kb.source.platform) == (
        "bundled",
        "slice",
        "Containers",
    )
    assert kb.source.path.endswith("data/attack")


def test_slice_directory_elsewhere_loads(tmp_path: Path) -> None:
    copy = shutil.copytree(SLICE_DIR, tmp_path / "slice")
    kb = load_attack(copy)
    assert (kb.source.origin, kb.source.path) == ("argument", str(copy.resolve()))
    assert len(kb.techniques(platform="Containers")) == 48


@pytest.mark.parametrize("damage", ["modified", "truncated"])
def test_tampered_slice_is_refused(tmp_path: Path, damage: str) -> None:
    copy = shutil.copytree(SLICE_DIR, tmp_path / "slice")
    target = copy / "enterprise-attack-containers.json"
    data = target.read_bytes()
    if damage == "modified":
        data = data.replace(b'"Escape to Host"', b'"Escape to Hosts"')
    else:
        data = data[: len(data) // 2]
    target.write_bytes(data)
    with pytest.raises(AttackKBError) as err:
        load_attack(copy)
    assert "checksum mismatch" in err.value.message
    assert err.value.path == f"{copy.resolve()}/enterprise-attack-containers.json"


def test_slice_without_licence_or_manifest_is_refused(tmp_path: Path) -> None:
    copy = shutil.copytree(SLICE_DIR, tmp_path / "slice")
    (copy / "LICENSE.txt").unlink()
    with pytest.raises(AttackKBError, match="missing or unreadable"):
        load_attack(copy)
    (copy / "MANIFEST.json").write_text("{}")
    with pytest.raises(AttackKBError, match="not a valid slice manifest"):
        load_attack(copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AttackKBError, match="not found"):
        load_attack(empty)


def test_env_var_overrides_default(
    monkeypatch: pytest.MonkeyPatch,
    slice_objects: list[dict[str, object]],
    write_bundle: WriteBundle,
) -> None:
    bundle = write_bundle(slice_objects, "enterprise-attack-17.9.json")
    monkeypatch.setenv("ATTACKMAP_ATTACK_BUNDLE", str(bundle))
    kb = load_attack()
    assert (kb.source.origin, kb.source.kind, kb.version) == ("env", "bundle", "17.9")
    monkeypatch.setenv("ATTACKMAP_ATTACK_BUNDLE", str(bundle.parent / "missing.json"))
    with pytest.raises(AttackKBError, match=r"ATTACKMAP_ATTACK_BUNDLE") as err:
        load_attack()
    assert err.value.path == str(bundle.parent / "missing.json")


@pytest.mark.parametrize(("stix21", "gz"), [(False, True), (True, False), (True, True)])
def test_stix21_and_gzip_bundles(
    slice_objects: list[dict[str, object]], write_bundle: WriteBundle, stix21: bool, gz: bool
) -> None:
    name = "enterprise-attack.json.gz" if gz else "enterprise-attack.json"
    kb = load_attack(write_bundle(slice_objects, name, collection="18.1", stix21=stix21, gz=gz))
    assert kb.version == "18.1"  # from the x-mitre-collection object, as in official releases
    assert kb.technique("T1611").name == "Escape to Host"
    assert len(kb.techniques(platform="Containers")) == 48


def test_bundle_is_sliced_on_load_to_the_platform(
    slice_objects: list[dict[str, object]], write_bundle: WriteBundle
) -> None:
    find(slice_objects, "T1611")["x_mitre_platforms"] = ["Windows"]
    path = write_bundle(slice_objects, "enterprise-attack-18.1.json")
    assert not load_attack(path).is_known("T1611")
    assert load_attack(path, platform=None).technique("T1611").platforms == ("Windows",)


def test_descriptions_come_with_full_bundles(bundle_18: Path) -> None:
    kb = load_attack(bundle_18)
    assert (kb.version, kb.source.kind) == ("18.1", "bundle")
    description = kb.technique("T1611").description
    assert description is not None and "container" in description


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable JSON STIX bundle"),
        (b"\x1f\x8b\x08garbage", "not a readable JSON STIX bundle"),
        (b'{"type": "bundle", "objects": [', "not a readable JSON STIX bundle"),
        (b"[1, 2]", "not a STIX bundle"),
        (b'{"type": "bundle", "objects": [{"no": "type"}]}', "no valid objects list"),
        (b'{"type": "bundle", "id": "bundle--x", "objects": []}', "no ATT&CK techniques"),
    ],
)
def test_garbage_bundles_are_refused_with_path(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "enterprise-attack-18.1.json"
    path.write_bytes(content)
    with pytest.raises(AttackKBError, match=message) as err:
        load_attack(path)
    assert err.value.path == str(path.resolve())


def test_replaced_file_is_read_again(
    slice_objects: list[dict[str, object]], write_bundle: WriteBundle
) -> None:
    path = write_bundle(slice_objects, "enterprise-attack-18.1.json")
    first = load_attack(path)
    assert load_attack(path) is first
    find(slice_objects, "T1611")["name"] = "Escape to the Host"
    write_bundle(slice_objects, "enterprise-attack-18.1.json")
    assert load_attack(path).technique("T1611").name == "Escape to the Host"


def test_corrupt_cache_pointer_is_an_error(isolated_attack_env: Path) -> None:
    isolated_attack_env.joinpath("attack").mkdir(parents=True)
    isolated_attack_env.joinpath("attack", "current.json").write_text(json.dumps({"nodir": 1}))
    with pytest.raises(AttackKBError, match="pointer is corrupt"):
        load_attack()


def test_default_load_stays_light() -> None:
    """`import mitreattack` (numpy, PIL, openpyxl) costs ~0.35 s: the hot path must not."""
    code = (
        "import sys, attackmap; attackmap.load_attack(); "
        "print(sorted(m for m in ('mitreattack', 'stix2', 'numpy', 'pooch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bundles_read_from_disk_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `attack info/diff --bundle` read a bundle whole and inflated a .gz whole: a 200 MB
    # file or a gzip bomb took its size in memory (only `attack update` was bounded)
    import gzip

    from attackmap.attack import _bundle
    from attackmap.cli import main

    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(_bundle.MAX_BUNDLE_BYTES + 1)  # sparse: refused by its size, unread
    assert main(["attack", "info", "--bundle", str(big)]) == 2
    assert "the bundle is more than the 128 MiB limit" in capsys.readouterr().err
    monkeypatch.setattr(_bundle, "MAX_BUNDLE_BYTES", 1024 * 1024)
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b" " * (4 * 1024 * 1024)))
    with pytest.raises(AttackKBError, match="decompresses to more than"):
        _bundle.read_bundle(bomb)
