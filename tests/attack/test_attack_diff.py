"""Release diffs: the real 17.1 -> 18.1 change, and each kind of change on edited bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attack_helpers import WriteBundle, find

from attackmap.attack import diff, load_attack


def test_17_1_to_18_1_adds_container_cli(bundle_17: Path, bundle_18: Path) -> None:
    result = diff(load_attack(bundle_17, platform=None), load_attack(bundle_18, platform=None))
    assert (result.old_version, result.new_version, result.platform) == (
        "17.1",
        "18.1",
        "Containers",
    )
    assert [c.id for c in result.added] == ["T1059.013"]
    assert result.added[0].name == "Container CLI/API"
    assert not (result.removed or result.revoked or result.deprecated)


def test_each_kind_of_change(
    slice_objects: list[dict[str, Any]], write_bundle: WriteBundle
) -> None:
    old = load_attack(write_bundle(slice_objects, "enterprise-attack-18.1.json"), platform=None)
    new_objects = slice_objects
    # T1611 revoked by T1610; T1612 deprecated; T1613 renamed; T1609 loses Containers;
    # T1610 gains a tactic; T1552.007 removed; T1168 (revoked) brought back as a live Containers one
    escape = find(new_objects, "T1611")
    escape["revoked"] = True
    deploy = find(new_objects, "T1610")
    new_objects.append(
        {
            "type": "relationship",
            "id": "relationship--00000000-0000-4000-8000-000000000001",
            "relationship_type": "revoked-by",
            "source_ref": escape["id"],
            "target_ref": deploy["id"],
            "created": "2025-01-01T00:00:00.000Z",
            "modified": "2025-01-01T00:00:00.000Z",
        }
    )
    find(new_objects, "T1612")["x_mitre_deprecated"] = True
    find(new_objects, "T1613")["name"] = "Container Discovery"
    find(new_objects, "T1609")["x_mitre_platforms"] = ["Linux"]
    deploy["kill_chain_phases"].append(
        {"kill_chain_name": "mitre-attack", "phase_name": "persistence"}
    )
    gone = find(new_objects, "T1552.007")
    new_objects.remove(gone)
    back = find(new_objects, "T1168")
    back.update(revoked=False, x_mitre_platforms=["Containers"])
    new = load_attack(write_bundle(new_objects, "enterprise-attack-19.0.json"), platform=None)

    result = diff(old, new, "Containers")
    assert [(c.id, c.replacement) for c in result.revoked] == [("T1611", "T1610")]
    assert [c.id for c in result.deprecated] == ["T1612"]
    assert [(c.id, c.old, c.new) for c in result.renamed] == [
        ("T1613", ("Container and Resource Discovery",), ("Container Discovery",))
    ]
    assert [(c.id, c.new) for c in result.platform_changes] == [("T1609", ("Linux",))]
    assert [(c.id, c.new) for c in result.tactic_changes] == [
        ("T1610", ("execution", "persistence", "defense-evasion"))
    ]
    assert [c.id for c in result.removed] == ["T1552.007"]
    assert [c.id for c in result.added] == ["T1168"]
    assert diff(old, old).is_empty()
