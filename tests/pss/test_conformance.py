"""Upstream conformance: every Pod Security fixture gives the API server's verdict.

The 4,537 fixtures of k8s.io/pod-security-admission (``../shared/conformance/pss``, indexed by
``INDEX.tsv``) cover baseline and restricted, v1.0-v1.37, a pass and fail set per check. A
fixture passes when ``evaluate(pod, level, version).allowed`` matches ``expected`` and, for a
fail, the message contains ``expect_error_substring``.

Fixtures marked ``fail_requires_api_error`` (procMount: Unmasked with ``hostUsers: true``) are
pods that API validation rejects upstream as well. Pod Security itself still evaluates them
and denies them, so attackmap evaluates them like the rest and asserts the same "fail" verdict
and substring (documented in docs/pss.md): attackmap does not reimplement API validation.

The round-trip test checks that ``parse_violations(result.message)`` recovers every check,
reason, detail and container of every failing fixture.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from attackmap.pss import evaluate, parse_violations

PSS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "pss"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Fixture:
    file: str
    level: str
    version: str
    check: str
    expected: str  # "pass" | "fail"
    substring: str
    api_error: bool

    def load(self) -> dict[str, Any]:
        return _load(self.file)


@cache
def _load(file: str) -> dict[str, Any]:
    with (PSS_DIR / file).open(encoding="utf-8") as f:
        doc: dict[str, Any] = yaml.load(f, Loader=LOADER)  # noqa: S506 - a safe loader
    return doc


def _fixtures() -> list[Fixture]:
    index = PSS_DIR / "INDEX.tsv"
    if not index.exists():
        return []
    with index.open(encoding="utf-8", newline="") as f:
        return [
            Fixture(
                file=row["file"],
                level=row["level"],
                version=row["version"],
                check=row["check"],
                expected=row["expected"],
                substring=row["expect_error_substring"],
                api_error=row["fail_requires_api_error"] == "true",
            )
            for row in csv.DictReader(f, delimiter="\t")
        ]


FIXTURES = _fixtures()
SKIP = pytest.mark.skipif(not FIXTURES, reason=f"reference data not available: {PSS_DIR}")
PARAMS = FIXTURES or [None]


def _ids(fx: Fixture | None) -> str:
    return fx.file if fx else "absent"


@SKIP
def test_index_is_complete() -> None:
    assert len(FIXTURES) == 4537
    assert {fx.expected for fx in FIXTURES} == {"pass", "fail"}
    assert sum(fx.api_error for fx in FIXTURES) == 12


@SKIP
@pytest.mark.parametrize("fx", PARAMS, ids=_ids)
def test_fixture_verdict(fx: Fixture) -> None:
    result = evaluate(fx.load(), fx.level, fx.version)
    assert result.level == fx.level and result.version == fx.version
    if fx.expected == "pass":
        assert result.allowed, result.message
        assert result.message == "" and result.violations == ()
    else:
        assert not result.allowed
        assert fx.substring in result.message
        assert result.message.startswith(f'violates PodSecurity "{fx.level}:{fx.version}": ')


@SKIP
@pytest.mark.parametrize("fx", [f for f in FIXTURES if f.expected == "fail"] or [None], ids=_ids)
def test_message_round_trip(fx: Fixture) -> None:
    result = evaluate(fx.load(), fx.level, fx.version)
    parsed = parse_violations(result.message)
    assert parsed == list(result.violations)


@SKIP
def test_failing_check_is_named() -> None:
    """The check a fail fixture targets is among the violations (ids match CHECKS.json)."""
    mismatched = []
    for fx in FIXTURES:
        if fx.expected != "fail":
            continue
        checks = {v.check for v in evaluate(fx.load(), fx.level, fx.version).violations}
        # at restricted, a baseline check may be reported by the restricted check overriding it
        aliases = {
            "hostPathVolumes": "restrictedVolumes",
            "seccompProfile_baseline": "seccompProfile_restricted",
            "capabilities_baseline": "capabilities_restricted",
            "procMount": "procMount_restricted",
        }
        if fx.check not in checks and aliases.get(fx.check) not in checks:
            mismatched.append((fx.file, sorted(checks)))
    assert mismatched == []
