"""Parse the API server's Pod Security strings back into violations.

Accepted inputs (anything before ``PodSecurity "`` is ignored):

* an audit annotation ``pod-security.kubernetes.io/audit-violations`` value or a warning:
  ``would violate PodSecurity "<level>:<version>": <reason> (<detail>), <reason> (<detail>)``;
* a denial (HTTP 403) message:
  ``pods "x" is forbidden: violates PodSecurity "<level>:<version>": ...``.

Details can contain commas and parentheses, so the list is split on the closed set of
reason strings the checks produce (``_table.CHECK_TABLE``), with backtracking: a detail ends at
the first ``)`` after which the rest of the text parses as ``, <known reason>...`` or ends.
A reason outside the set (a newer API server) is kept with check id ``unknown``.
"""

from __future__ import annotations

import re

from attackmap.errors import PSSError
from attackmap.pss._evaluate import active_checks
from attackmap.pss._models import Violation
from attackmap.pss._table import CHECK_TABLE
from attackmap.pss._versions import minor_of, parse_policy

UNKNOWN_CHECK = "unknown"

# reason string -> check ids producing it (several when baseline and restricted share one)
REASONS: dict[str, tuple[str, ...]] = {}
for _info in CHECK_TABLE:
    for _reason in _info.reason.split("|"):
        REASONS[_reason] = (*REASONS.get(_reason, ()), _info.id)
del _info, _reason

_BY_LENGTH = sorted(REASONS, key=len, reverse=True)
_POLICY = re.compile(r'PodSecurity "([^"]*)": ')
_CONTAINERS = re.compile(r'(?<![\w.])containers? ("[^"]*"(?:, "[^"]*")*)')
_QUOTED = re.compile(r'"([^"]*)"')


def containers_named(detail: str) -> tuple[str, ...]:
    """Container names a detail string names (``container "a"``, ``containers "a", "b"``)."""
    names: dict[str, None] = {}
    for match in _CONTAINERS.finditer(detail):
        for name in _QUOTED.findall(match.group(1)):
            names[name] = None
    return tuple(names)


def _split(text: str) -> list[tuple[str, str]] | None:
    """``[(reason, detail), ...]`` for ``r1 (d1), r2, r3 (d3)``, or None if it does not parse."""
    memo: dict[int, list[tuple[str, str]] | None] = {}

    def after_item(reason: str, detail: str, end: int) -> list[tuple[str, str]] | None:
        if end == len(text):
            return [(reason, detail)]
        if text.startswith(", ", end):
            rest = parse(end + 2)
            if rest is not None:
                return [(reason, detail), *rest]
        return None

    def item(reason: str, start: int) -> list[tuple[str, str]] | None:
        end = start + len(reason)
        if text.startswith(" (", end):
            close = text.find(")", end + 2)
            while close != -1:
                found = after_item(reason, text[end + 2 : close], close + 1)
                if found is not None:
                    return found
                close = text.find(")", close + 1)
        return after_item(reason, "", end)

    def parse(start: int) -> list[tuple[str, str]] | None:
        if start in memo:
            return memo[start]
        memo[start] = None  # guards against cycles
        result = None
        for reason in _BY_LENGTH:
            if text.startswith(reason, start):
                result = item(reason, start)
                if result is not None:
                    break
        if result is None:  # a reason attackmap does not know: up to " (" or ", "
            stop = [i for i in (text.find(" (", start), text.find(", ", start)) if i != -1]
            end = min(stop) if stop else len(text)
            if end > start:
                result = item(text[start:end], start)
        memo[start] = result
        return result

    return parse(0)


def _check_id(reason: str, active: tuple[str, ...]) -> str:
    candidates = REASONS.get(reason, ())
    for check_id in candidates:
        if check_id in active:
            return check_id
    return candidates[0] if candidates else UNKNOWN_CHECK


def parse_policy_of(text: str) -> tuple[str, str]:
    """The ``(level, version)`` a Pod Security message names; :class:`PSSError` if none."""
    match = _POLICY.search(text)
    if match is None:
        raise PSSError(
            "not a Pod Security message (no 'PodSecurity \"<level>:<version>\": ')",
            hint="pass an audit-violations annotation value, a warning or a denial message",
        )
    return parse_policy(match.group(1))


def parse_violations(text: str) -> list[Violation]:
    """The violations an API-server Pod Security string reports, in its order."""
    level, version = parse_policy_of(text)
    match = _POLICY.search(text)
    assert match is not None  # parse_policy_of succeeded
    body = text[match.end() :].rstrip()
    if not body:
        return []
    items = _split(body)
    if items is None:
        raise PSSError(f"cannot parse Pod Security violations: {body[:120]!r}")
    active = active_checks(level, minor_of(version))
    return [
        Violation(
            check=_check_id(reason, active),
            reason=reason,
            detail=detail,
            containers=containers_named(detail),
        )
        for reason, detail in items
    ]
