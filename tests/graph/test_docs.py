"""Generated docs match the data; the coverage reasons are validated."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from attackmap.attack import AttackKB, load_attack
from attackmap.errors import MappingError
from attackmap.graph import Catalogue, load_catalogue
from attackmap.graph._catalogue import load_coverage
from attackmap.graph._docs import (
    coverage_markdown,
    facts_markdown,
    load_peer_cases,
)
from attackmap.graph._facts import FACT_FAMILIES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kb() -> AttackKB:
    return load_attack()


@pytest.fixture(scope="module")
def catalogue(kb: AttackKB) -> Catalogue:
    return load_catalogue(kb)


def test_coverage_md_is_generated(kb: AttackKB, catalogue: Catalogue) -> None:
    committed = (REPO / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert committed == coverage_markdown(kb, catalogue), (
        "docs/coverage.md is stale: run python -m attackmap.graph._docs"
    )


def test_facts_md_is_generated() -> None:
    committed = (REPO / "docs" / "facts.md").read_text(encoding="utf-8")
    assert committed == facts_markdown(), (
        "docs/facts.md is stale: run python -m attackmap.graph._docs"
    )
    for family in FACT_FAMILIES:
        assert f"`{family}`" in committed


def test_coverage_target(kb: AttackKB, catalogue: Catalogue) -> None:
    cov = load_coverage(kb, catalogue)
    containers = {t.id for t in kb.techniques(platform="Containers")}
    assert set(cov.reached) | set(cov.reasons) == containers
    assert not set(cov.reached) & set(cov.reasons)
    assert len(cov.reached) >= 40


def _with_coverage(tmp_path: Path, entries: list[dict[str, str]]) -> Path:
    root = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", root)
    (root / "coverage.yaml").write_text(yaml.safe_dump({"not_reached": entries}), encoding="utf-8")
    return root


def _current() -> list[dict[str, str]]:
    data = yaml.safe_load((REPO / "mappings" / "coverage.yaml").read_text(encoding="utf-8"))
    return list(data["not_reached"])


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("reached-and-excused", "is reached by"),
        ("missing", "neither reached nor explained"),
        ("not-containers", "not an ATT&CK Containers technique"),
        ("duplicate", "duplicate"),
    ],
)
def test_bad_coverage_is_refused(
    change: str, fragment: str, tmp_path: Path, kb: AttackKB, catalogue: Catalogue
) -> None:
    entries = _current()
    if change == "reached-and-excused":
        entries.append({"technique": "T1611", "reason": "x"})
    elif change == "missing":
        entries = entries[1:]
    elif change == "not-containers":
        entries.append({"technique": "T1003", "reason": "x"})
    else:
        entries.append(dict(entries[0]))
    with pytest.raises(MappingError) as err:
        load_coverage(kb, catalogue, root=_with_coverage(tmp_path, entries))
    assert err.value.path == "mappings/coverage.yaml"
    assert fragment in err.value.message


def test_peer_cases_load(catalogue: Catalogue) -> None:
    peers = load_peer_cases(catalogue)
    assert peers.kubescape.modelled and peers.kubescape.not_modelled
    assert "ROLE_BIND" in peers.kubehound.edges
    assert "## Peer test cases" in coverage_markdown(load_attack(), catalogue)
    assert all(d.reference for d in peers.kubescape.disagreements if d.exclude)
    assert peers.kubescape.measured.adjusted.cases <= peers.kubescape.measured.raw.cases


def _with_peer_cases(tmp_path: Path, data: dict[str, Any]) -> Path:
    root = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", root)
    (root / "peer-cases.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("both", "both modelled and not"),
        ("twice", "listed twice"),
        ("unknown-step", "is not a step of T1611"),
        ("wrong-technique", "is not a step of T1609"),
        ("field-and-technique", "either technique and steps, or field"),
        ("bad-verdict", "Input should be 'flags' or 'quiet'"),
        ("unknown-key", "Extra inputs are not permitted"),
        ("excluded-without-reference", "needs a reference"),
        ("excluded-and-fixed", "a case to be fixed is not excluded"),
        ("reference-not-a-url", "String should match pattern"),
        ("bad-exclusion", "Input should be 'fixture' or 'rule'"),
        ("no-measured", "Field required"),
    ],
)
def test_bad_peer_cases_are_refused(
    change: str, fragment: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    data = yaml.safe_load((REPO / "mappings" / "peer-cases.yaml").read_text(encoding="utf-8"))
    ks, kh = data["kubescape"], data["kubehound"]
    if change == "both":
        ks["not_modelled"]["insecure-capabilities"] = "x"
    elif change == "twice":
        ks["disagreements"].append(dict(ks["disagreements"][0]))
    elif change == "unknown-step":
        kh["edges"]["CE_NSENTER"]["steps"] = ["escape-nowhere"]
    elif change == "wrong-technique":
        kh["edges"]["POD_EXEC"]["steps"] = ["deploy-pod"]
    elif change == "field-and-technique":
        kh["edges"]["POD_EXEC"]["field"] = "spec.hostPID"
    elif change == "bad-verdict":
        kh["disagreements"][0]["attackmap"] = "maybe"
    elif change == "excluded-without-reference":
        del ks["disagreements"][0]["reference"]
    elif change == "excluded-and-fixed":
        ks["disagreements"][0]["fixed_by"] = "CNI policies"
    elif change == "reference-not-a-url":
        ks["disagreements"][0]["reference"] = "the rule's source"
    elif change == "bad-exclusion":
        ks["disagreements"][0]["exclude"] = "disagree"
    elif change == "no-measured":
        del kh["measured"]
    else:
        ks["disagreements"][0]["why"] = "x"
    with pytest.raises(MappingError) as err:
        load_peer_cases(catalogue, root=_with_peer_cases(tmp_path, data))
    assert err.value.path == "mappings/peer-cases.yaml"
    assert fragment in err.value.message
