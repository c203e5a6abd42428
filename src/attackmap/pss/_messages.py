"""Parse the API server's Pod Security strings back into violations.

Accepted inputs (anything before ``PodSecurity "`` is ignored):

* an audit annotation ``pod-security.kubernetes.io/audit-violations`` value or a warning:
  ``would violate PodSecurity "<level>:<version>": <reason> (<detail>), <reason> (<detail>)``;
* a denial (HTTP 403) message:
  ``pods "x" is forbidden: violates PodSecurity "<level>:<version>": ...``.

Details can contain commas and parentheses, so the list is split on the closed set of
reason strings the checks produce (``_table.CHECK_TABLE``), with backtracking: a detail ends at
the first ``)`` that leaves its quotes paired and after which the rest of the text parses as ``, <known reason>...`` or ends.
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


def _balanced_quotes(detail: str) -> bool:
    """Details quote values in pairs (Go escapes a quote inside a value as ``\\"``)."""
    return (detail.count('"') - detail.count('\\"')) % 2 == 0


def _split(text: str, rank: dict[str, int], *, unknown: bool) -> list[tuple[str, str]] | None:
    """``[(reason, detail), ...]`` for ``r1 (d1), r2, r3 (d3)``, or None if it does not parse.

    The API server reports each check at most once, in a fixed order (``rank``: reason ->
    position of its check), so a split whose known reasons are not strictly in that order is
    rejected: this disambiguates details that quote reason-like text.
    """
    Items = list[tuple[str, str]]
    memo: dict[tuple[int, int], Items | None] = {}

    def after_item(reason: str, detail: str, end: int, last: int) -> Items | None:
        if end == len(text):
            return [(reason, detail)]
        if text.startswith(", ", end):
            rest = parse(end + 2, last)
            if rest is not None:
                return [(reason, detail), *rest]
        return None

    def item(reason: str, start: int, last: int) -> Items | None:
        if reason in REASONS:
            position = rank.get(reason, len(rank))
            if position <= last:
                return None
            last = position
        end = start + len(reason)
        if text.startswith(" (", end):
            close = text.find(")", end + 2)
            while close != -1:
                detail = text[end + 2 : close]
                if _balanced_quotes(detail):
                    found = after_item(reason, detail, close + 1, last)
                    if found is not None:
                        return found
                close = text.find(")", close + 1)
        return after_item(reason, "", end, last)

    def parse(start: int, last: int) -> Items | None:
        key = (start, last)
        if key in memo:
            return memo[key]
        memo[key] = None  # guards against cycles
        result = None
        for reason in _BY_LENGTH:
            if text.startswith(reason, start):
                result = item(reason, start, last)
                if result is not None:
                    break
        if result is None and unknown:  # a reason attackmap does not know: up to " (" or ", "
            stop = [i for i in (text.find(" (", start), text.find(", ", start)) if i != -1]
            end = min(stop) if stop else len(text)
            if end > start:
                result = item(text[start:end], start, last)
        memo[key] = result
        return result

    return parse(0, -1)


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
    active = active_checks(level, minor_of(version))
    rank = {reason: active.index(_check_id(reason, active)) for reason in REASONS
            if _check_id(reason, active) in active}  # fmt: skip
    # a split into known reasons only is preferred to one with unknown reasons
    items = _split(body, rank, unknown=False) or _split(body, rank, unknown=True)
    if items is None:
        raise PSSError(f"cannot parse Pod Security violations: {body[:120]!r}")
    return [
        Violation(
            check=_check_id(reason, active),
            reason=reason,
            detail=detail,
            containers=containers_named(detail),
        )
        for reason, detail in items
    ]
