"""AttackKB queries on the bundled slice (the default knowledge base)."""

from __future__ import annotations

import logging

import pydantic
import pytest

import attackmap
from attackmap.attack import AttackKB, Mitigation, Tactic, Technique, load_attack, within_goals
from attackmap.attack._bundle import EXTRA_TECHNIQUES
from attackmap.errors import AttackKBError


@pytest.fixture
def kb() -> AttackKB:
    return load_attack()


def test_done_criteria(kb: AttackKB) -> None:
    assert kb.version == "18.1"
    assert len(kb.techniques(platform="Containers")) == 48
    assert kb.technique("T1611").name == "Escape to Host"
    assert [m.id for m in kb.mitigations_for("T1611")] == [
        "M1026",
        "M1038",
        "M1042",
        "M1048",
        "M1051",
    ]


def test_top_level_lazy_export_is_the_same_function() -> None:
    assert attackmap.load_attack is load_attack
    assert attackmap.AttackKB is AttackKB


def test_load_is_cached_and_immutable(kb: AttackKB) -> None:
    assert load_attack() is kb
    tech = kb.technique("T1611")
    with pytest.raises(pydantic.ValidationError):
        tech.name = "changed"  # type: ignore[misc]  # frozen model: the assignment must fail


@pytest.mark.parametrize("ident", ["T1611", "t1611", " T1611 "])
def test_technique_ids_are_normalised(kb: AttackKB, ident: str) -> None:
    assert kb.technique(ident).id == "T1611"


def test_subtechnique_and_parent(kb: AttackKB) -> None:
    sub = kb.technique("t1053.007")
    assert (sub.name, sub.is_subtechnique) == ("Container Orchestration Job", True)
    parent = kb.parent("T1053.007")
    assert parent is not None and parent.id == "T1053"
    assert kb.parent("T1053") is None
    # in the Containers slice only the Containers sub-technique of T1053 is present
    assert [t.id for t in kb.subtechniques("T1053")] == ["T1053.007"]


def test_technique_fields(kb: AttackKB) -> None:
    tech = kb.technique("T1611")
    assert tech.tactics == ("privilege-escalation",)
    assert "Containers" in tech.platforms
    assert tech.url == "https://attack.mitre.org/techniques/T1611"
    assert tech.stix_id.startswith("attack-pattern--")
    assert (tech.revoked, tech.deprecated, tech.description) == (False, False, None)
    assert tech.version


def test_tactics_follow_matrix_order(kb: AttackKB) -> None:
    names = [t.shortname for t in kb.tactics()]
    assert names[:3] == ["reconnaissance", "resource-development", "initial-access"]
    assert names[-1] == "impact" and len(names) == 14
    assert all(isinstance(t, Tactic) for t in kb.tactics())
    # multi-tactic techniques list their tactics in that order
    rank = {name: i for i, name in enumerate(names)}
    for tech in kb.techniques():
        assert list(tech.tactics) == sorted(tech.tactics, key=rank.__getitem__)


def test_techniques_sorted_and_platform_filter(kb: AttackKB) -> None:
    everything = kb.techniques()
    assert [t.id for t in everything] == sorted(t.id for t in everything)
    containers = kb.techniques(platform="Containers")
    # T1059 is kept only as the parent of T1059.013 (it is not tagged Containers), the
    # EXTRA_TECHNIQUES because the catalogue cites them outside the matrix, with the
    # parents of those that are sub-techniques (T1021 of T1021.004, T1565 of T1565.001)
    outside = {t.id for t in everything} - {t.id for t in containers}
    parents = {t.split(".")[0] for t in EXTRA_TECHNIQUES if "." in t} - {t.id for t in containers}
    assert parents == {"T1021", "T1565"}
    assert outside == {"T1059", *EXTRA_TECHNIQUES, *parents}
    assert kb.techniques(platform="Windows") != ()
    assert kb.techniques(platform="No Such Platform") == ()


def test_techniques_by_tactic(kb: AttackKB) -> None:
    escalation = kb.techniques_by_tactic("privilege-escalation")
    assert "T1611" in [t.id for t in escalation]
    assert all("privilege-escalation" in t.tactics for t in escalation)
    assert kb.techniques_by_tactic("TA0004") == escalation
    with pytest.raises(AttackKBError) as err:
        kb.techniques_by_tactic("privilege-escalaton")
    assert "privilege-escalation" in (err.value.hint or "")


def test_mitigations_are_inverse_of_techniques_mitigated_by(kb: AttackKB) -> None:
    pairs = {(t.id, m.id) for t in kb.techniques() for m in kb.mitigations_for(t.id)}
    inverse = {(t.id, m.id) for m in kb.mitigations() for t in kb.techniques_mitigated_by(m.id)}
    assert pairs == inverse
    # 32 of the Containers techniques, and M1057 (Data Loss Prevention) of T1005
    assert len(kb.mitigations()) == 33
    assert [t.id for t in kb.techniques_mitigated_by("M1057")] == ["T1005"]
    isolation = kb.mitigation("m1048")
    assert isinstance(isolation, Mitigation)
    assert isolation.name == "Application Isolation and Sandboxing"
    assert "T1611" in [t.id for t in kb.techniques_mitigated_by("M1048")]


def test_revoked_id_resolves_with_warning(kb: AttackKB, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="attackmap"):
        tech = kb.technique("T1168")
    assert tech.id == "T1053"
    assert "T1168" in caplog.text and "revoked" in caplog.text
    status = kb.status("t1168")
    assert (status.state, status.replacement, status.name) == (
        "revoked",
        "T1053",
        "Local Job Scheduling",
    )


def test_status_of_live_unknown_and_mitigation_ids(kb: AttackKB) -> None:
    assert kb.status("T1611").state == "live"
    assert kb.status("M1048").state == "live"
    assert kb.status("T9999").state == "unknown"
    assert kb.status("M9999").state == "unknown"
    assert kb.is_known("T1168") and kb.is_known("T1611") and not kb.is_known("T1003")


def test_unknown_technique_suggests_close_ids(kb: AttackKB) -> None:
    with pytest.raises(AttackKBError) as err:
        kb.technique("T1612.001")
    assert "T1612.001" in err.value.message
    assert err.value.hint is not None and "T1562.001" in err.value.hint
    with pytest.raises(AttackKBError, match="not an ATT&CK technique id"):
        kb.technique("escape")


def test_unknown_mitigation(kb: AttackKB) -> None:
    with pytest.raises(AttackKBError, match="unknown ATT&CK mitigation M0999"):
        kb.mitigation("M0999")


def test_technique_id_given_as_mitigation(kb: AttackKB) -> None:
    # T1612 is a live technique: the error says the id is not a mitigation's (it said
    # "ATT&CK mitigation T1612 (Build Image on Host) is live; pick a current mitigation")
    with pytest.raises(AttackKBError, match="'T1612' is not an ATT&CK mitigation id") as e:
        kb.mitigation("T1612")
    assert "M1048" in (e.value.hint or "")


def test_every_technique_is_a_frozen_model(kb: AttackKB) -> None:
    assert all(isinstance(t, Technique) for t in kb.techniques())
    assert hash(kb.technique("T1611")) == hash(kb.technique("T1611"))


@pytest.mark.parametrize(
    ("technique", "goals", "reached"),
    [
        ("T1552.001", ("T1552",), True),
        ("T1552", ("T1552",), True),
        ("AML.T0018.000", ("T1611", "AML.T0018"), True),
        ("T1552", ("T1552.001",), False),  # the parent is not every way of doing it
        ("T1552.001", ("T1552.007",), False),
        ("AML.T0018", ("T0018",), False),
        ("T1611", (), False),
    ],
)
def test_within_goals(technique: str, goals: tuple[str, ...], reached: bool) -> None:
    assert within_goals(technique, goals) is reached
