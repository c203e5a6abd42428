"""Evaluate a pod (template) against a Pod Security level and version, like the API server.

Which checks run: at ``baseline`` the baseline checks that exist at that version; at
``restricted`` those minus the baseline checks a restricted check overrides at that version,
then the restricted checks. Results are ordered like the API server's: baseline check ids
sorted, then restricted ids sorted. ``privileged`` runs nothing.
"""

from __future__ import annotations

from functools import cache

from attackmap.pss._checks import CHECK_FUNCTIONS
from attackmap.pss._models import CheckDescriptor, PSSResult, Violation
from attackmap.pss._pod import Pod, build_pod, pod_template_of
from attackmap.pss._table import CHECK_TABLE, CheckInfo
from attackmap.pss._versions import LEVELS, minor_of, parse_level, parse_version

_INFO: dict[str, CheckInfo] = {info.id: info for info in CHECK_TABLE}


@cache
def active_checks(level: str, minor: int) -> tuple[str, ...]:
    """Ids of the checks that run for ``level`` at version ``v1.<minor>``, in message order."""
    if level == "privileged":
        return ()

    def ids(lvl: str) -> list[str]:
        return sorted(i.id for i in CHECK_TABLE if i.level == lvl and i.revisions[0] <= minor)

    baseline = ids("baseline")
    if level == "baseline":
        return tuple(baseline)
    restricted = ids("restricted")
    overridden = {base for r in restricted for base, since in _INFO[r].overrides if since <= minor}
    return tuple([b for b in baseline if b not in overridden] + restricted)


def format_message(level: str, version: str, violations: tuple[Violation, ...]) -> str:
    """The API server's message: ``violates PodSecurity "l:v": r1 (d1), r2 (d2)``."""
    if not violations:
        return ""
    parts = [f"{v.reason} ({v.detail})" if v.detail else v.reason for v in violations]
    return f'violates PodSecurity "{level}:{version}": ' + ", ".join(parts)


def evaluate_pod(pod: Pod, level: str, version: str) -> PSSResult:
    """Evaluate an already built pod view (level and version already validated)."""
    minor = minor_of(version)
    violations = []
    for check_id in active_checks(level, minor):
        finding = CHECK_FUNCTIONS[check_id](pod, minor)
        if finding is not None:
            violations.append(
                Violation(
                    check=check_id,
                    reason=finding.reason,
                    detail=finding.detail,
                    containers=tuple(dict.fromkeys(finding.containers)),
                )
            )
    found = tuple(violations)
    return PSSResult(
        allowed=not found,
        level=level,
        version=version,
        violations=found,
        message=format_message(level, version, found),
    )


def evaluate(pod_or_workload: object, level: str, version: str = "latest") -> PSSResult:
    """Evaluate a Pod, a workload's pod template or a model ``Workload`` (see package docs)."""
    level = parse_level(level)
    version = parse_version(version)
    template, path, _kind = pod_template_of(pod_or_workload)
    return evaluate_pod(build_pod(template, path), level, version)


def lowest_level(pod_or_workload: object, version: str = "latest") -> str:
    """The strictest level the pod passes: ``restricted``, ``baseline`` or ``privileged``."""
    return lowest_and_next(pod_or_workload, version)[0]


def lowest_and_next(
    pod_or_workload: object, version: str = "latest"
) -> tuple[str, PSSResult | None]:
    """:func:`lowest_level`, and :func:`evaluate`'s result at the next stricter level (which
    the pod fails; ``None`` when it passes ``restricted``): the levels are tried strictest
    first, so that one is evaluated on the way."""
    version = parse_version(version)
    template, path, _kind = pod_template_of(pod_or_workload)
    pod = build_pod(template, path)
    failed: PSSResult | None = None
    for level in ("restricted", "baseline"):
        result = evaluate_pod(pod, level, version)
        if result.allowed:
            return level, failed
        failed = result
    return "privileged", failed


def checks() -> tuple[CheckDescriptor, ...]:
    """Descriptors of every check, baseline first, each group sorted by id."""
    out = []
    for info in sorted(CHECK_TABLE, key=lambda i: (LEVELS.index(i.level), i.id)):
        overridden_by = [
            (r.id, since) for r in CHECK_TABLE for base, since in r.overrides if base == info.id
        ]
        levels = ("baseline", "restricted") if info.level == "baseline" else ("restricted",)
        out.append(
            CheckDescriptor(
                id=info.id,
                level=info.level,
                levels=levels if not overridden_by or overridden_by[0][1] > 0 else ("baseline",),
                title=info.title,
                reasons=tuple(info.reason.split("|")),
                versions=tuple(f"v1.{m}" for m in info.revisions),
                overrides=tuple((base, f"v1.{since}") for base, since in info.overrides),
                fields=info.fields,
            )
        )
    return tuple(out)
