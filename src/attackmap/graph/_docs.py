"""Documentation generated from data: ``docs/facts.md`` (the fact vocabulary) and
``docs/coverage.md`` (which ATT&CK Containers techniques and which MITRE ATLAS techniques the
catalogue reaches, and why the others cannot be reached from manifests; where attackmap's verdicts differ from peer
tools' own test cases, and why). Tests check the committed files equal the generated text;
regenerate with ``python -m attackmap.graph._docs``.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable
from typing import Any, Literal

import yaml
from pydantic import Field

from attackmap._resources import mappings_dir
from attackmap.attack import AttackKB
from attackmap.attack._models import framework_of, tactic_rank
from attackmap.errors import MappingError
from attackmap.graph._catalogue import (
    Catalogue,
    Step,
    _Frozen,
    _validate,
    load_atlas_coverage,
    load_coverage,
)
from attackmap.graph._facts import (
    FACT_FAMILIES,
    HOST_CREDENTIAL_FILES,
    HOST_CREDENTIAL_LEAVES,
    RBAC_RIGHTS,
)
from attackmap.graph._facts_ai import MODEL_SERVER_IMAGES, SERVING_KINDS
from attackmap.model._workload import CREDENTIAL_SHAPES

PEER_CASES_FILE = "mappings/peer-cases.yaml"


class PeerDisagreement(_Frozen):
    """A peer's test case where attackmap's verdict differs from the fixture's.

    ``exclude`` (with a ``reference`` backing the reason) takes the case out of the
    adjusted scores: ``fixture`` when the fixture's expectation is wrong by the semantics
    the reference states, ``rule`` when the rule measures something attackmap deliberately
    does not claim. A case without it counts against attackmap in both scores."""

    case: str = Field(min_length=1)
    attackmap: Literal["flags", "quiet"]  # attackmap's verdict (the fixture says the other)
    reason: str = Field(min_length=1)
    fixed_by: str | None = None  # the change expected to remove the disagreement
    exclude: Literal["fixture", "rule"] | None = None
    reference: str | None = Field(default=None, pattern=r"^https://")


class PeerScore(_Frozen):
    """A confusion matrix of attackmap's verdicts against the fixtures' (flagged = the
    fixture fails the rule, or expects the edge)."""

    tp: int = Field(ge=0)
    fp: int = Field(ge=0)
    fn: int = Field(ge=0)
    tn: int = Field(ge=0)

    @property
    def cases(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


class PeerMeasured(_Frozen):
    """The scores last measured (``tests/graph/test_peer_cases.py`` recomputes them and
    fails when they differ): ``raw`` over every compared case, ``adjusted`` without the
    excluded ones."""

    raw: PeerScore
    adjusted: PeerScore


class PeerEdge(_Frozen):
    """The attackmap move that makes a KubeHound edge: ``technique`` reached by one of
    ``steps``, or (``field``) a step enabled by that manifest field."""

    upstream: str = Field(min_length=1)  # the technique KubeHound names
    technique: str | None = None
    steps: tuple[str, ...] = ()
    field: str | None = None
    note: str = ""


class KubescapeCases(_Frozen):
    source: str
    modelled: dict[str, str]  # rule -> what in attackmap's report counts as flagging it
    not_modelled: dict[str, str]  # rule -> why attackmap has nothing to say about it
    disagreements: tuple[PeerDisagreement, ...]
    measured: PeerMeasured


class KubehoundCases(_Frozen):
    source: str
    edges: dict[str, PeerEdge]
    disagreements: tuple[PeerDisagreement, ...]
    measured: PeerMeasured


class PeerCases(_Frozen):
    """``mappings/peer-cases.yaml``: what is compared with peer tools' test cases and every
    case where attackmap disagrees (held against a fresh analysis by
    ``tests/graph/test_peer_cases.py``)."""

    kubescape: KubescapeCases
    kubehound: KubehoundCases


def load_peer_cases(catalogue: Catalogue, root: Traversable | None = None) -> PeerCases:
    """Read and validate ``mappings/peer-cases.yaml``: each rule modelled or excused (not
    both), each case listed once, each KubeHound edge mapped to steps of the catalogue
    that reach its technique (or to a manifest field)."""
    node = (root or mappings_dir()) / "peer-cases.yaml"
    try:
        data: Any = yaml.safe_load(node.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise MappingError(f"cannot read the peer cases: {e}", path=PEER_CASES_FILE) from e
    if not isinstance(data, dict):
        raise MappingError("expected a mapping", path=PEER_CASES_FILE)
    peers: PeerCases = _validate(PeerCases, data, PEER_CASES_FILE, "peer-cases")
    both = sorted(set(peers.kubescape.modelled) & set(peers.kubescape.not_modelled))
    if both:
        raise MappingError(
            f"rules both modelled and not: {', '.join(both)}",
            path=PEER_CASES_FILE,
            field="kubescape",
        )
    for corpus in ("kubescape", "kubehound"):
        seen: set[str] = set()
        for i, d in enumerate(getattr(peers, corpus).disagreements):
            if d.case in seen:
                raise MappingError(
                    f"{d.case} is listed twice",
                    path=PEER_CASES_FILE,
                    field=f"{corpus}.disagreements[{i}]",
                )
            seen.add(d.case)
            where = f"{corpus}.disagreements[{i}]"
            if d.exclude is not None and d.reference is None:
                raise MappingError(
                    f"{d.case}: an excluded case needs a reference for its reason",
                    path=PEER_CASES_FILE,
                    field=where,
                )
            if d.exclude is not None and d.fixed_by is not None:
                raise MappingError(
                    f"{d.case}: a case to be fixed is not excluded",
                    path=PEER_CASES_FILE,
                    field=where,
                )
    steps = {s.id: s for s in catalogue.steps}
    for name, edge in peers.kubehound.edges.items():
        where = f"kubehound.edges.{name}"
        if (edge.field is None) == (edge.technique is None) or bool(edge.steps) != bool(
            edge.technique
        ):
            raise MappingError(
                "expected either technique and steps, or field", path=PEER_CASES_FILE, field=where
            )
        for sid in edge.steps:
            step = steps.get(sid)
            if step is None or step.technique != edge.technique:
                raise MappingError(
                    f"{sid} is not a step of {edge.technique}", path=PEER_CASES_FILE, field=where
                )
    return peers


_EXCLUDED = {"fixture": "excluded: fixture", "rule": "excluded: rule"}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def peer_cases_markdown(catalogue: Catalogue) -> list[str]:
    """The "Peer test cases" section of ``docs/coverage.md``."""
    peers = load_peer_cases(catalogue)
    ks, kh = peers.kubescape, peers.kubehound

    def disagreements(
        items: tuple[PeerDisagreement, ...], positive: str, negative: str
    ) -> list[str]:
        rows = [
            "| case | the fixture | attackmap | scores | why |",
            "|---|---|---|---|---|",
        ]
        for d in sorted(items, key=lambda d: d.case):
            fixture = negative if d.attackmap == "flags" else positive
            why = _cell(d.reason) + (f" *Fixed by: {d.fixed_by}.*" if d.fixed_by else "")
            if d.reference:
                why += f" <{d.reference}>"
            excluded = _EXCLUDED.get(d.exclude or "", "counted")
            rows.append(f"| `{d.case}` | {fixture} | {d.attackmap} | {excluded} | {why} |")
        return rows

    def scores(m: PeerMeasured, unit: str) -> list[str]:
        return [
            f"| scores ({unit}) | cases | tp | fp | fn | tn | precision | recall |",
            "|---|---|---|---|---|---|---|---|",
            *(
                f"| {name} | {s.cases} | {s.tp} | {s.fp} | {s.fn} | {s.tn} | "
                f"{s.precision:.2f} | {s.recall:.2f} |"
                for name, s in (
                    ("raw: every compared case", m.raw),
                    ("adjusted: without the excluded cases", m.adjusted),
                )
            ),
        ]

    lines = [
        "## Peer test cases",
        "",
        "Peer tools' own test cases, analysed by attackmap (`tests/graph/test_peer_cases.py`, "
        "which prints precision and recall per rule when run as a script). The expected "
        "verdict is each fixture's; every case where attackmap's differs is listed below "
        "with the reason, and the test fails when the list and the analysis disagree. "
        "*Fixed by* names the change expected to remove a disagreement. A disagreement "
        "reviewed as the fixture's error (*fixture*: its expectation contradicts the "
        "semantics the reference states) or as outside what attackmap claims (*rule*: the "
        "rule measures something else) is excluded from the adjusted scores, with the "
        "reference for the reason; the raw scores count every case. The test recomputes "
        "both and asserts the adjusted Kubescape precision and recall reach 0.97. The data "
        f"live in `{PEER_CASES_FILE}`.",
        "",
        "### Kubescape rule fixtures",
        "",
        _cell(ks.source),
        "",
        f"**{len(ks.modelled)} rules** are compared; a case is flagged when, for some "
        "workload of the case, attackmap reports:",
        "",
        "| rule | attackmap flags it when it reports |",
        "|---|---|",
    ]
    lines += [f"| `{r}` | {_cell(ks.modelled[r])} |" for r in sorted(ks.modelled)]
    lines += [
        "",
        f"**{len(ks.not_modelled)} rules** are not compared:",
        "",
        "| rule | why not |",
        "|---|---|",
    ]
    lines += [f"| `{r}` | {_cell(ks.not_modelled[r])} |" for r in sorted(ks.not_modelled)]
    lines += ["", *scores(ks.measured, "cases of the compared rules"), ""]
    lines += [f"**{len(ks.disagreements)} disagreements:**", ""]
    lines += disagreements(ks.disagreements, "fails the rule", "passes")
    lines += [
        "",
        "### KubeHound attack fixtures",
        "",
        _cell(kh.source),
        "",
        "| edge | KubeHound | attackmap | note |",
        "|---|---|---|---|",
    ]
    for name in sorted(kh.edges):
        e = kh.edges[name]
        move = (
            f"{e.technique} by {', '.join(f'`{s}`' for s in e.steps)}"
            if e.technique
            else f"a step enabled by `{e.field}`"
        )
        lines.append(f"| {name} | {e.upstream} | {move} | {_cell(e.note)} |")
    lines += ["", *scores(kh.measured, "pods"), ""]
    lines += [f"**{len(kh.disagreements)} disagreements:**", ""]
    lines += disagreements(kh.disagreements, "expects the edge", "expects none")
    lines.append("")
    return lines


def coverage_markdown(kb: AttackKB, catalogue: Catalogue) -> str:
    """``docs/coverage.md``: every Containers technique by tactic, with its steps or reason."""
    cov = load_coverage(kb, catalogue)
    techniques = sorted(kb.techniques(platform="Containers"), key=lambda t: t.id)
    lines = [
        "# ATT&CK Containers coverage",
        "",
        "Generated from `mappings/` and the bundled ATT&CK "
        f"{kb.version} by `attackmap.graph._docs.coverage_markdown`; do not edit.",
        "",
        f"**{len(cov.reached)} of {len(techniques)}** Containers techniques are reachable by "
        "some attack step. A parent technique counts as reached through its sub-techniques "
        "(its steps are those of the sub-techniques). The others need evidence that "
        "manifests do not carry; the reasons live in `mappings/coverage.yaml`.",
        "",
    ]
    tactics = sorted(
        {tac for t in techniques for tac in t.tactics},
        key=tactic_rank,
    )
    for tactic in tactics:
        lines += [f"## {tactic}", "", "| technique | name | reached by |", "|---|---|---|"]
        for t in techniques:
            if tactic not in t.tactics:
                continue
            if t.id in cov.reached:
                how = ", ".join(f"`{s}`" for s in cov.reached[t.id])
            else:
                how = "not reached: " + " ".join(cov.reasons[t.id].split())
            lines.append(f"| {t.id} | {t.name} | {how} |")
        lines.append("")
    outside: dict[str, list[Step]] = {}
    for step in catalogue.steps:
        if framework_of(step.technique) == "attack" and (
            "Containers" not in kb.technique(step.technique).platforms
        ):
            outside.setdefault(step.technique, []).append(step)
    if outside:
        lines += [
            "## Techniques outside the Containers matrix",
            "",
            "Enterprise ATT&CK techniques of other platforms that a step cites, each with the "
            "step's platform note; the bundled slice keeps exactly these "
            "(`attackmap.attack._bundle.EXTRA_TECHNIQUES`).",
            "",
            "| technique | name | platforms | reached by | why outside the matrix |",
            "|---|---|---|---|---|",
        ]
        for tid in sorted(outside):
            t = kb.technique(tid)
            steps = ", ".join(f"`{s.id}`" for s in outside[tid])
            notes = sorted({" ".join((s.platform_note or "").split()) for s in outside[tid]})
            lines.append(
                f"| {tid} | {t.name} | {', '.join(t.platforms)} | {steps} | {' '.join(notes)} |"
            )
        lines.append("")
    lines += atlas_coverage_markdown(kb, catalogue)
    lines += peer_cases_markdown(catalogue)
    return "\n".join(lines)


def atlas_coverage_markdown(kb: AttackKB, catalogue: Catalogue) -> list[str]:
    """The ATLAS section of ``docs/coverage.md``: every live ATLAS technique by ATLAS tactic,
    with its steps, its own reason, or its tactic's reason."""
    cov = load_atlas_coverage(kb, catalogue)
    atlas = kb.atlas
    techniques = atlas.techniques()
    lines = [
        "# MITRE ATLAS coverage",
        "",
        f"The AI-system half of the threat model, against the bundled ATLAS {atlas.version} "
        "(`data/atlas/`): what an attacker does to the model a workload serves. "
        f"**{len(cov.reached)} of {len(techniques)}** ATLAS techniques are reachable by some "
        "attack step (`mappings/steps/atlas.yaml`; a parent counts as reached through its "
        "sub-techniques). Most of the others act on the model's inputs, its training data or "
        "an application's agents, which a deployment's manifests do not describe; the reasons "
        "live in `mappings/coverage-atlas.yaml`, per technique where one is needed and "
        "otherwise per tactic (a sub-technique has its parent's tactics).",
        "",
        "## Reached",
        "",
        "| technique | name | ATLAS tactics | reached by |",
        "|---|---|---|---|",
    ]
    for tid in sorted(cov.reached):
        t = atlas.technique(tid)
        steps = ", ".join(f"`{s}`" for s in cov.reached[tid])
        lines.append(f"| {tid} | {t.name} | {', '.join(t.tactics)} | {steps} |")
    lines += [
        "",
        "## Not reached, with a reason of their own",
        "",
        "| technique | name | why not |",
        "|---|---|---|",
    ]
    for tid in sorted(cov.reasons):
        lines.append(f"| {tid} | {atlas.technique(tid).name} | {cov.reasons[tid]} |")
    lines += ["", "## Not reached, by tactic", ""]
    for tactic in atlas.tactics():
        rest = [
            t
            for t in techniques
            if tactic.shortname in t.tactics and t.id not in cov.reached and t.id not in cov.reasons
        ]
        if not rest:
            continue
        reason = cov.tactic_reasons[tactic.shortname]
        lines += [
            f"### {tactic.name} ({tactic.id}, `{tactic.shortname}`)",
            "",
            reason,
            "",
            ", ".join(f"{t.id} {t.name}" for t in rest) + ".",
            "",
        ]
    return lines


def facts_markdown() -> str:
    """``docs/facts.md``: the fact vocabulary (:data:`FACT_FAMILIES`) and RBAC rights."""
    lines = [
        "# Facts",
        "",
        "The vocabulary attack steps and controls speak (`mappings/`), produced by",
        "`attackmap/graph/_facts.py` from Kubernetes fields. Generated from `FACT_FAMILIES`",
        "and `RBAC_RIGHTS` by `attackmap.graph._docs.facts_markdown`; do not edit.",
        "",
        "*Base* facts are read from the manifests and the ClusterContext (controls edit them);",
        "*derived* facts are recomputed from base facts, each with the base facts it came",
        "from (`because`), which is how a control is found to break a step. `*` stands for",
        "an argument.",
        "",
        "| fact | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {v} |" for k, v in FACT_FAMILIES.items()]
    lines += [
        "",
        "## RBAC rights (`rbac:<right>`)",
        "",
        "A right holds when some rule of the ServiceAccount's bindings allows one of its",
        "(verb, resource, API group) alternatives; `cluster_admin`, `bind_roles`,",
        "`bind_roles_namespaced` and `impersonate_admin` are computed from the rules as a",
        "whole. A rule limited by `resourceNames` grants nothing here, except for",
        "`impersonate_serviceaccounts` (the ServiceAccounts it names) and `impersonate_admin`.",
        "",
        "| right | any of (verb resource group) |",
        "|---|---|",
    ]
    for right, alts in RBAC_RIGHTS.items():
        shown = ", ".join(f"`{v} {r} {g or 'core'}`" for v, r, g in alts)
        lines.append(f"| `{right}` | {shown} |")
    lines += [
        "",
        "## Credential shapes (`env:credential`)",
        "",
        "A literal env value shaped like one of these is a credential whatever the variable's",
        "name. The value is matched and dropped: the model keeps `credential_kind`, the",
        "evidence names the variable and the kind, `pod_template` holds `<redacted:KIND>`.",
        "From `CREDENTIAL_SHAPES` in `attackmap/model/_workload.py`.",
        "",
        "| kind | starts with | what it is |",
        "|---|---|---|",
    ]
    for kind, starts, _, why in CREDENTIAL_SHAPES:
        shown = ", ".join(f"`{s}`" for s in starts)
        lines.append(f"| `{kind}` | {shown} | {why} |")
    lines += [
        "",
        "## Host credential files (`host_mount:credential_files`)",
        "",
        "A hostPath of one of these, of something inside it or of one of its parents exposes",
        "it (read-only mounts too). `~/` is every home directory (`/root`, `/home/*`, and `/`",
        "for users given none), `*` one path component. From `HOST_CREDENTIAL_FILES` in",
        "`attackmap/graph/_facts.py`.",
        "",
        "| path | what it holds |",
        "|---|---|",
    ]
    lines += [f"| `{path}` | {why} |" for path, why in HOST_CREDENTIAL_FILES]
    lines += [
        "",
        "These are files, not directories: a hostPath *below* one of them names a directory",
        "the layout does not have and exposes none of the credentials (`HOST_CREDENTIAL_LEAVES`):",
        ", ".join(f"`{leaf}`" for leaf in HOST_CREDENTIAL_LEAVES) + ".",
    ]
    lines += [
        "",
        "## Model server images (`ai:inference_api`, `ai:output_scores`)",
        "",
        "A long-running container with a declared port whose image reference",
        "(`registry/repository`, lower-cased) contains one of these serves a model's inference",
        "API (`ai:inference_api`); so does the first container of a "
        + ", ".join(f"`{k}`" for k in SERVING_KINDS)
        + ", whatever its image. From `MODEL_SERVER_IMAGES` in",
        "`attackmap/graph/_facts_ai.py`. An image attackmap does not know gives no AI facts:",
        "name it here (with a test) to have its API analysed.",
        "",
        "| image contains | returns log-probabilities or embeddings (`ai:output_scores`) |",
        "|---|---|",
    ]
    lines += [f"| `{p}` | {'yes' if scores else 'no'} |" for p, scores in MODEL_SERVER_IMAGES]
    lines.append("")
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - a maintainer's regeneration helper
    from pathlib import Path

    from attackmap.attack import load_attack
    from attackmap.graph._catalogue import load_catalogue

    kb = load_attack()
    docs = Path(__file__).resolve().parents[3] / "docs"
    (docs / "coverage.md").write_text(coverage_markdown(kb, load_catalogue(kb)), encoding="utf-8")
    (docs / "facts.md").write_text(facts_markdown(), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
