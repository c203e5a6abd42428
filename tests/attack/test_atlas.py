"""The bundled MITRE ATLAS slice: rebuilt byte-identically, checked on load, faithful to the
upstream ATLAS.yaml, answered through the same knowledge base as ATT&CK; and the catalogue
refuses unknown or deprecated ATLAS ids."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from attack_helpers import REPO_ROOT

from attackmap._resources import data_dir
from attackmap.attack import AtlasKB, AttackKB, build_atlas_slice, load_atlas, load_attack
from attackmap.attack._atlas import read_atlas_slice
from attackmap.attack._models import AttackSource
from attackmap.attack._slice import read_slice
from attackmap.cli import main
from attackmap.errors import AttackKBError, MappingError
from attackmap.graph import load_catalogue

ATLAS_DIR = REPO_ROOT / "data" / "atlas"
SHARED_ATLAS = REPO_ROOT.parent / "shared" / "atlas" / "ATLAS.yaml"
MAPPINGS = REPO_ROOT / "mappings"
ATLAS_ID = re.compile(r"\bAML\.(?:T|M|TA)\d{4}(?:\.\d{3})?\b")


@pytest.fixture
def atlas_yaml() -> Path:
    if not SHARED_ATLAS.exists():
        pytest.skip(f"reference data not available: {SHARED_ATLAS} (../shared is absent)")
    return SHARED_ATLAS


def test_rebuild_is_byte_identical(atlas_yaml: Path, tmp_path: Path) -> None:
    manifest = build_atlas_slice(atlas_yaml, tmp_path / "out")
    for name in ("atlas.json", "LICENSE.txt", "MANIFEST.json"):
        assert (tmp_path / "out" / name).read_bytes() == (ATLAS_DIR / name).read_bytes(), name
    # the provenance ../shared/atlas/README.md states
    assert manifest.source.sha256 == (
        "8a5693df51135721796607b8f29cba8ed33d745d5592ed80efbaaab0fba978f2"
    )
    assert (manifest.atlas_version, manifest.tactics, manifest.techniques) == ("5.6.0", 16, 170)
    assert manifest.mitigations == 35


def test_cli_build_slice_takes_atlas_yaml(atlas_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "atlas"
    assert main(["attack", "build-slice", "--from", str(atlas_yaml), "--out-dir", str(out)]) == 0
    assert (out / "atlas.json").read_bytes() == (ATLAS_DIR / "atlas.json").read_bytes()


def test_slice_answers_like_the_upstream_file(atlas_yaml: Path) -> None:
    upstream = yaml.load(atlas_yaml.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    matrix = upstream["matrices"][0]
    atlas = load_atlas()
    tactic_name = {t["id"]: t["name"] for t in matrix["tactics"]}
    assert [t.id for t in atlas.tactics()] == [t["id"] for t in matrix["tactics"]]
    by_id = {t["id"]: t for t in matrix["techniques"]}
    assert {t.id for t in atlas.techniques()} == set(by_id)
    for tid, raw in by_id.items():
        mine = atlas.technique(tid)
        assert mine.name == raw["name"]
        # a sub-technique has its parent's tactics (as ATLAS's STIX and Navigator data do)
        source = by_id[raw["subtechnique-of"]] if "subtechnique-of" in raw else raw
        expected = [tactic_name[x].lower().replace(" ", "-") for x in source["tactics"]]
        assert sorted(mine.tactics) == sorted(expected)
        assert mine.is_subtechnique == ("subtechnique-of" in raw)
        assert mine.url == f"https://atlas.mitre.org/techniques/{tid}"
    for raw in matrix["mitigations"]:
        for use in raw["techniques"]:
            assert raw["id"] in {m.id for m in atlas.mitigations_for(use["id"])}


def test_slice_holds_facts_only() -> None:
    text = (ATLAS_DIR / "atlas.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert set(data) == {"id", "version", "tactics", "techniques", "mitigations"}
    assert '"description"' not in text and "case-stud" not in text


def test_licence_ships_next_to_the_slice() -> None:
    text = (ATLAS_DIR / "LICENSE.txt").read_text(encoding="utf-8")
    assert "Apache License" in text and "MITRE" in text


def test_tampered_slice_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "atlas"
    shutil.copytree(ATLAS_DIR, copy)
    path = copy / "atlas.json"
    path.write_text(path.read_text().replace("Poison AI Model", "Harmless"), encoding="utf-8")
    with pytest.raises(AttackKBError, match="checksum mismatch"):
        load_atlas(copy)
    (copy / "MANIFEST.json").unlink()
    with pytest.raises(AttackKBError, match="not an ATLAS slice directory"):
        load_atlas(copy)


def test_attack_kb_answers_atlas_ids() -> None:
    kb = load_attack()
    tech = kb.technique("aml.t0018.000")
    assert (tech.id, tech.name, tech.framework) == ("AML.T0018.000", "Poison AI Model", "atlas")
    assert kb.parent("AML.T0018.000") == kb.technique("AML.T0018")
    assert kb.status("AML.T0040").state == "live"
    assert kb.status("AML.T0999").state == "unknown"
    assert kb.mitigation("AML.M0005").name == "Control Access to AI Models and Data at Rest"
    assert kb.tactic("AML.TA0000").shortname == "ai-model-access"
    assert "AML.M0019" in {m.id for m in kb.mitigations_for("AML.T0040")}
    assert kb.technique("T1611").framework == "attack"  # ATT&CK unchanged
    with pytest.raises(AttackKBError, match="is not an ATLAS technique id"):
        kb.technique("AML.T0041.9")
    with pytest.raises(AttackKBError, match=re.escape("unknown ATLAS technique AML.T0400")) as e:
        kb.technique("AML.T0400")
    assert "did you mean" in str(e.value.hint)
    with pytest.raises(AttackKBError, match=re.escape("unknown ATLAS mitigation AML.M0999")):
        kb.mitigation("AML.M0999")


def test_every_atlas_id_in_mappings_is_live_in_the_bundled_release() -> None:
    atlas = load_atlas()
    found: dict[str, str] = {}
    for path in sorted(MAPPINGS.rglob("*.yaml")):
        for ident in ATLAS_ID.findall(path.read_text(encoding="utf-8")):
            found.setdefault(ident, str(path.relative_to(REPO_ROOT)))
    assert len(found) > 20  # the catalogue, its controls, severities and coverage reasons
    for ident, where in sorted(found.items()):
        if ident.startswith("AML.TA"):
            atlas.tactic(ident)
        else:
            assert atlas.status(ident).state == "live", f"{ident} in {where}"


def _kb_with_atlas(edit: dict[str, bool]) -> AttackKB:
    """The bundled ATT&CK KB carrying an ATLAS KB in which the ids of ``edit`` are deprecated."""
    _, facts = read_atlas_slice(ATLAS_DIR, "atlas")
    for t in facts["techniques"]:
        t["deprecated"] = edit.get(t["id"], t["deprecated"])
    source = AttackSource(origin="argument", path="x", kind="slice", sha256="0", platform=None)
    atlas = AtlasKB(facts, source=source)
    manifest, bundle = read_slice(data_dir().joinpath("attack"), "attack")
    return AttackKB(
        bundle.objects,
        version=manifest.attack_version,
        source=load_attack().source,
        descriptions=False,
        atlas=atlas,
    )


def _mappings_with(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, root)
    steps = root / "steps" / "atlas.yaml"
    text = steps.read_text(encoding="utf-8")
    assert old in text
    steps.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


def test_catalogue_refuses_an_unknown_atlas_id(tmp_path: Path) -> None:
    root = _mappings_with(tmp_path, "technique: AML.T0029", "technique: AML.T0929")
    with pytest.raises(MappingError, match=re.escape("unknown ATLAS technique AML.T0929")) as e:
        load_catalogue(load_attack(), root)
    assert e.value.path is not None and "atlas.yaml" in str(e.value.path)


def test_catalogue_refuses_a_deprecated_atlas_id() -> None:
    kb = _kb_with_atlas({"AML.T0029": True})
    assert kb.status("AML.T0029").state == "deprecated"
    with pytest.raises(MappingError, match=re.escape("ATLAS technique AML.T0029 is deprecated")):
        load_catalogue(kb, MAPPINGS)


def test_catalogue_refuses_an_unknown_atlas_mitigation(tmp_path: Path) -> None:
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, root)
    controls = root / "controls" / "container.yaml"
    text = controls.read_text(encoding="utf-8").replace("AML.M0005", "AML.M0095", 1)
    controls.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=re.escape("ATLAS mitigation AML.M0095 is unknown")):
        load_catalogue(load_attack(), root)


def test_attack_info_shows_both_releases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "info"]) == 0
    out = capsys.readouterr().out
    assert "ATT&CK 18.1 (slice, bundled)" in out
    assert "ATLAS 5.6.0 (slice, bundled)" in out
    assert "ai-model-access" in out
    assert main(["attack", "info", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["version"], info["atlas"]["version"]) == ("18.1", "5.6.0")
    assert info["atlas"]["techniques"] == 170
    assert [t["id"] for t in info["atlas"]["tactics"]][:4] == [
        "AML.TA0002",
        "AML.TA0003",
        "AML.TA0004",
        "AML.TA0000",
    ]


def test_a_file_that_is_not_atlas_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "ATLAS.yaml"
    bad.write_text("id: ATLAS\nversion: 1.0.0\nmatrices:\n- id: x\n  tactics: []\n")
    (tmp_path / "LICENSE").write_text("Apache License\n")
    with pytest.raises(AttackKBError, match="not an ATLAS distribution file") as e:
        build_atlas_slice(bad, tmp_path / "out")
    assert e.value.path is not None and "ATLAS.yaml" in str(e.value.path)
    with pytest.raises(AttackKBError, match="not an ATLAS distribution file"):
        load_atlas(bad)
    assert (
        main(["attack", "build-slice", "--from", str(bad), "--out-dir", str(tmp_path / "o")]) == 2
    )
