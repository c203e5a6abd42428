"""Pod Security joined to the graph: what the next stricter level would buy, and cost.

For a workload, :func:`pss_tradeoff` evaluates the lowest Pod Security level it passes
(exactly as the API server, via :mod:`attackmap.pss`), the checks it would violate at the
next stricter level, the catalogue controls that fix those checks (controls name the
Pod Security checks they correspond to), and — by fact-level re-analysis with those
controls applied — which reachable techniques the stricter level would remove.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from attackmap.graph._facts import WorkloadFacts
from attackmap.model import Workload

if TYPE_CHECKING:
    from attackmap.graph._catalogue import Catalogue
    from attackmap.graph._engine import AttackGraph


PSSLevels = tuple[str, tuple[str, ...] | None]
"""The lowest Pod Security level a workload passes, and the checks it breaks at the next
stricter one (sorted; ``None`` when it passes ``restricted``): :func:`pss_levels`."""


def pss_levels(workload: Workload) -> PSSLevels:
    """The :data:`PSSLevels` of ``workload``, evaluated as the API server does."""
    from attackmap.pss._evaluate import lowest_and_next

    # the workload's result at the next level: evaluated on the way to its lowest
    lowest, result = lowest_and_next(workload)
    if result is None:
        return lowest, None
    return lowest, tuple(sorted({v.check for v in result.violations}))


class Analyzer(Protocol):
    """What the trade-off needs of the analysis that calls it (which stands after it)."""

    @property
    def catalogue(self) -> "Catalogue": ...
    @property
    def graph(self) -> "AttackGraph": ...
    @property
    def entries(self) -> tuple[str, ...]: ...
    def patched_workload(self, wf: WorkloadFacts, controls: Iterable[str]) -> WorkloadFacts: ...
    def pss_levels_of(self, wf: WorkloadFacts) -> PSSLevels: ...


_NEXT = {"privileged": "baseline", "baseline": "restricted"}
# Capabilities Pod Security baseline allows to be added (capabilities_baseline).
_BASELINE_CAPS = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)

PSS_TRADEOFF_MAX_WORKLOADS = 500
"""Above this many workloads the per-workload re-analysis is skipped (``removes`` is null).
Each re-analysis searches the part of the graph the workload reaches (when the stricter
level removes a technique, that is all of it), so the total still grows as N x reach:
1,000 workloads take ~2x the analysis time with it, 300 ~1.5x (docs/performance.md)."""


class PSSTradeoff(BaseModel):
    """The lowest level a workload passes and what the next stricter one would change.

    ``next_violations``: the checks the workload breaks at ``next_level`` (what it would
    have to give up); ``controls``: catalogue controls that fix them; ``removes``: the
    techniques no longer reachable with them applied (``None`` when not computed);
    ``unfixed``: violated checks no catalogue control corresponds to.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lowest_level: str
    next_level: str | None
    next_violations: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    removes: tuple[str, ...] | None = None
    unfixed: tuple[str, ...] = ()


def _controls_for(
    analyzer: Analyzer, wf: WorkloadFacts, checks: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """Control ids (``control[:arg]@workload``) fixing ``checks``, and checks left unfixed."""
    base = set(wf.pod)
    for cf in wf.containers:
        base |= cf.facts
    chosen: set[str] = set()
    unfixed: list[str] = []
    for check in checks:
        fixes = [c for c in analyzer.catalogue.controls if check in c.pss_checks]
        plain = [c for c in fixes if c.parameter is None]
        ids: list[str] = []
        if plain:
            ids = [c.id for c in plain]
        else:
            for c in fixes:
                pattern = (c.for_each or "")[5:]
                if pattern.startswith("cap"):
                    # Capabilities: the added ones Pod Security objects to.
                    args = [
                        f[8:]
                        for f in base
                        if f.startswith("cap_add:")
                        and (check != "capabilities_baseline" or f[8:] not in _BASELINE_CAPS)
                    ]
                else:
                    args = list(c.args_for(base))
                ids.extend(f"{c.id}:{a}" for a in sorted(args))
        if ids:
            chosen.update(f"{i}@{wf.key}" for i in ids)
        else:
            unfixed.append(check)
    return sorted(chosen), unfixed


def pss_tradeoff(
    analyzer: Analyzer, wf: WorkloadFacts, techniques: tuple[str, ...], reanalyse: bool
) -> PSSTradeoff:
    """The trade-off for ``wf`` whose reachable techniques are ``techniques``."""
    lowest, checks = analyzer.pss_levels_of(wf)
    nxt = _NEXT.get(lowest)
    if nxt is None or checks is None:
        return PSSTradeoff(lowest_level=lowest, next_level=None, removes=())
    controls, unfixed = _controls_for(analyzer, wf, checks)
    removes: tuple[str, ...] | None = None
    if reanalyse:
        # Only the workload changes: search the analysis graph with its patched scopes
        # instead of building the graph of a patched cluster (which cost O(cluster) per
        # workload). Stops as soon as every technique is found again.
        patched = analyzer.patched_workload(wf, controls)
        after = analyzer.graph.techniques_with(patched, analyzer.entries, techniques)
        removes = tuple(sorted(set(techniques) - after))
    return PSSTradeoff(
        lowest_level=lowest,
        next_level=nxt,
        next_violations=checks,
        controls=tuple(controls),
        removes=removes,
        unfixed=tuple(unfixed),
    )
