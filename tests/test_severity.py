"""attackmap._severity: the severity table behind ``--fail-on SEVERITY``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from attackmap._resources import mappings_dir
from attackmap._severity import LEVELS, Severities, load_severities
from attackmap.attack import load_attack
from attackmap.errors import MappingError


def test_levels_and_lookup_order() -> None:
    kb = load_attack()
    sev = load_severities(kb)
    t1611 = kb.technique("T1611")
    assert sev.of("T1611", t1611.tactics) == "critical"  # own entry
    assert sev.of("T1098.006", ()) == "critical"
    assert sev.of("T1496.001", ("impact",)) == "medium"  # inherits the parent's entry
    t = kb.technique("T1552.001")
    assert sev.of(t.id, t.tactics) == "high"  # credential-access
    assert sev.of("T9999", ()) == "info"
    assert Severities.at_least("critical", "high")
    assert not Severities.at_least("low", "medium")
    assert LEVELS[0] == "info" and LEVELS[-1] == "critical"


def _table(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load((mappings_dir() / "severity.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    (tmp_path / "severity.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"techniques": {"T1611": "severe"}}, "'severe' is not one of"),
        ({"techniques": {"T9999": "high"}}, "T9999 is not a live ATT&CK technique"),
        ({"tactics": {"no-such-tactic": "high"}}, "unknown ATT&CK tactic"),
        ({"levels": ["low", "high"]}, "levels must be"),
    ],
)
def test_bad_tables_are_refused(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(MappingError, match=message) as e:
        load_severities(load_attack(), _table(tmp_path, **changes))
    assert e.value.path == "mappings/severity.yaml"
