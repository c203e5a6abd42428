"""The committed slice: rebuilt byte-identically, facts only, faithful to the full bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stix2
from attack_helpers import SLICE_DIR, SLICE_FILE, WriteBundle

from attackmap.attack import build_slice, load_attack
from attackmap.attack._bundle import EXTRA_TECHNIQUES
from attackmap.errors import AttackKBError

PROSE_FIELDS = {"description", "x_mitre_detection", "x_mitre_contributors", "x_mitre_aliases"}


def test_rebuild_is_byte_identical(bundle_18: Path, tmp_path: Path) -> None:
    manifest = build_slice(bundle_18, tmp_path / "out")
    for name in ("enterprise-attack-containers.json", "LICENSE.txt", "MANIFEST.json"):
        assert (tmp_path / "out" / name).read_bytes() == (SLICE_DIR / name).read_bytes(), name
    assert manifest.source.file == "enterprise-attack-18.1.json"
    assert manifest.source.object_count == 24771
    assert manifest.attack_version == "18.1"


def test_slice_answers_like_the_full_bundle(bundle_18: Path) -> None:
    sliced = load_attack()
    full = load_attack(bundle_18, platform=None)  # every technique, no slicing
    containers = full.techniques(platform="Containers")
    assert len(containers) == 48
    assert [t.id for t in sliced.techniques(platform="Containers")] == [t.id for t in containers]
    for tech in containers:
        mine = sliced.technique(tech.id)
        assert (mine.name, mine.tactics, mine.platforms) == (
            tech.name,
            tech.tactics,
            tech.platforms,
        )
        assert sliced.mitigations_for(tech.id) == full.mitigations_for(tech.id)
        expected_subs = [
            s.id
            for s in full.subtechniques(tech.id)
            if "Containers" in s.platforms or s.id in EXTRA_TECHNIQUES
        ]
        assert [s.id for s in sliced.subtechniques(tech.id)] == expected_subs
        parent = full.parent(tech.id)
        assert sliced.parent(tech.id) == (
            parent.model_copy(update={"description": None}) if parent else None
        )
    assert sliced.tactics() == full.tactics()


def test_slice_holds_facts_only() -> None:
    objects = json.loads(SLICE_FILE.read_bytes())["objects"]
    for obj in objects:
        assert not PROSE_FIELDS & obj.keys(), obj["id"]
        for ref in obj.get("external_references", []):
            assert ref["source_name"] == "mitre-attack" and "description" not in ref
    marking = next(o for o in objects if o["type"] == "marking-definition")
    assert "The MITRE Corporation" in marking["definition"]["statement"]
    types = {o["type"] for o in objects}
    assert types == {
        "attack-pattern", "course-of-action", "identity", "marking-definition",
        "relationship", "x-mitre-matrix", "x-mitre-tactic",
    }  # fmt: skip
    kinds = {o["relationship_type"] for o in objects if o["type"] == "relationship"}
    assert kinds == {"mitigates", "subtechnique-of", "revoked-by"}
    assert [o["id"] for o in objects] == sorted(o["id"] for o in objects)


def test_slice_is_valid_stix() -> None:
    bundle = stix2.parse(SLICE_FILE.read_text(), allow_custom=True, version="2.0")
    assert len(bundle.objects) == len(json.loads(SLICE_FILE.read_bytes())["objects"])


def test_licence_ships_next_to_the_slice() -> None:
    text = (SLICE_DIR / "LICENSE.txt").read_text()
    assert "copyright designation" in text
    assert "© 2025 The MITRE Corporation. This work is reproduced and distributed" in text
    manifest = json.loads((SLICE_DIR / "MANIFEST.json").read_bytes())
    assert set(manifest["files"]) == {"LICENSE.txt", "enterprise-attack-containers.json"}


def test_build_is_deterministic_and_needs_the_licence(
    tmp_path: Path, slice_objects: list[dict[str, object]], write_bundle: WriteBundle
) -> None:
    bundle = write_bundle(slice_objects, "enterprise-attack-18.1.json")
    with pytest.raises(AttackKBError, match="licence") as err:
        build_slice(bundle, tmp_path / "a")
    assert err.value.path == str(tmp_path / "LICENSE.txt")
    licence = SLICE_DIR / "LICENSE.txt"
    build_slice(bundle, tmp_path / "a", license_file=licence)
    build_slice(bundle, tmp_path / "b", license_file=licence)
    for name in ("enterprise-attack-containers.json", "MANIFEST.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # slicing the slice keeps every object
    again = json.loads((tmp_path / "a" / "enterprise-attack-containers.json").read_bytes())
    assert len(again["objects"]) == len(slice_objects)


def test_build_needs_a_version(
    tmp_path: Path, slice_objects: list[dict[str, object]], write_bundle: WriteBundle
) -> None:
    bundle = write_bundle(slice_objects, "bundle.json")
    with pytest.raises(AttackKBError, match="cannot tell the ATT&CK release"):
        build_slice(bundle, tmp_path / "out", license_file=SLICE_DIR / "LICENSE.txt")


def test_the_slice_keeps_the_extra_techniques_and_a_build_without_them_is_refused(
    tmp_path: Path, slice_objects: list[dict[str, object]], write_bundle: WriteBundle
) -> None:
    # the catalogue cites techniques outside the Containers matrix (T1552.005 is IaaS; T1210
    # pod to pod, the shared-storage and credential steps cite Enterprise ones): the bundled
    # slice keeps them and says so; a bundle that lacks one cannot make a usable slice
    manifest = json.loads((SLICE_DIR / "MANIFEST.json").read_bytes())
    assert (
        manifest["extra_techniques"]
        == list(EXTRA_TECHNIQUES)
        == ["T1005", "T1021.004", "T1080", "T1210", "T1530", "T1552.005", "T1565.001"]
    )
    assert load_attack().technique("T1552.005").platforms == ("IaaS",)
    assert "Containers" not in load_attack().technique("T1210").platforms
    without = [
        o
        for o in slice_objects
        if not any(r.get("external_id") == "T1552.005" for r in o.get("external_references", ()))
    ]
    bundle = write_bundle(without, "enterprise-attack-18.1.json")
    licence = SLICE_DIR / "LICENSE.txt"
    with pytest.raises(AttackKBError, match=r"extra techniques not in this bundle .*T1552\.005"):
        build_slice(bundle, tmp_path / "out", license_file=licence)
    assert not (tmp_path / "out").exists()
    build_slice(bundle, tmp_path / "out", license_file=licence, extra=())  # named: none
