"""Peer tools' own test cases, measured: does attackmap flag what their fixtures expect?

Two corpora under ``../shared/corpus`` (the tests skip, with the reason, without them):

* **Kubescape** (regolibrary rule fixtures): each case is a rule's input with the rule's
  own expected result. The expected verdict is the fixture's: ``expected.json`` lists at
  least one alert (the case fails the rule) or is empty (it passes) — never attackmap's
  output. For every rule attackmap models, :data:`PREDICATES` says what in attackmap's
  report counts as "attackmap flags what this rule flags"; a case is flagged when the
  predicate holds for some workload of the case (a failed case bundles several objects
  and needs only one alert). Rules attackmap does not model are listed, each with the
  reason, under ``kubescape.not_modelled`` in ``mappings/peer-cases.yaml`` (a test checks
  every rule of the corpus is on exactly one side).
* **KubeHound** (attack fixtures): each manifest's expected edge (``INDEX.tsv``) is
  mapped to the attackmap move that makes it (``kubehound.edges`` in
  ``mappings/peer-cases.yaml``: a technique reached by named steps); the unit is one pod
  (a file with no pod is one unit). Negatives — ``NONE`` rows and the
  ``-fail`` pods of the ROLE_BIND files — must reach none of the post-foothold moves.

Every case where attackmap's verdict differs from the fixture is listed, with the reason
(and, for what an issue-17 item is fixing, ``fixed_by``), in ``mappings/peer-cases.yaml``
and rendered into ``docs/coverage.md``; the tests assert the computed disagreements are
exactly that list, and that precision and recall over the modelled Kubescape rules reach
:data:`THRESHOLD`.

What a predicate reads: every step on every path of the workload's report, with the facts
that enabled it (``PathStep.facts``: the fact a step needs and the manifest fact it comes
from, ``cap_usable:SYS_ADMIN <- cap_add:SYS_ADMIN``). The analysis runs with every entry
point (``external``, ``cluster``, ``image``), once per case.

Print the per-rule table (precision, recall, disagreements)::

    PYTHONPATH=src python tests/graph/test_peer_cases.py
"""

from __future__ import annotations

import csv
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from attackmap.attack import load_attack
from attackmap.errors import AttackmapError
from attackmap.graph import Report, WorkloadAnalysis, analyze, load_catalogue
from attackmap.graph._docs import PeerCases, PeerEdge, load_peer_cases

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
KUBESCAPE = CORPUS / "kubescape"
KUBEHOUND = CORPUS / "kubehound"

THRESHOLD = 0.97

pytestmark = pytest.mark.skipif(
    not (KUBESCAPE / "INDEX.tsv").is_file() or not (KUBEHOUND / "INDEX.tsv").is_file(),
    reason=f"peer corpora not available: {CORPUS} (../shared is absent in this clone)",
)

# The issue-17 items a disagreement may be waiting for (``fixed_by`` in peer-cases.yaml).
ISSUE_17_ITEMS = frozenset(
    {
        "Sandboxed runtimes",
        "CAP_BPF alone",
        "Writable hostPath and the user",
        "Credential names",
        "Impersonation constrained by resourceNames",
        "escalate and bind",
        "DaemonSets",
        "shareProcessNamespace",
        "Exposure kinds",
        "CNI policies",
        "Credentials in values",
        "Sensitive host paths",
        "Runtime socket directories",
        "SSH into a pod",
        "ENDPOINT_EXPLOIT with an image entry",
        "GPU nodes where the NVIDIA runtime is the default",
        "Cloud instance metadata",
        "RBAC-only inputs",
    }
)


# -- what a workload's report says ------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """A step on some path of the workload's report, with one fact that enabled it.

    ``fact`` is what the step needs (``host_mount:write``), ``base`` the manifest fact it
    comes from (``hostpath:/etc:rw``; ``base == fact`` for a fact read directly), ``field``
    the manifest field cited for it. A step that needs no fact has one use with ``""``.
    """

    step: str
    technique: str
    fact: str
    base: str
    field: str


@dataclass(frozen=True)
class View:
    """Everything a predicate may read about one workload."""

    name: str
    techniques: frozenset[str]
    uses: frozenset[Use]

    @property
    def steps(self) -> frozenset[str]:
        return frozenset(u.step for u in self.uses)

    def cites(
        self,
        base: str,
        *,
        fact: str | None = None,
        steps: Iterable[str] | None = None,
        technique: str | None = None,
        field: str | None = None,
    ) -> bool:
        """Some step (of ``steps``, of ``technique``) was enabled by a manifest fact
        matching the glob ``base`` (through a needed fact matching ``fact``; with a cited
        field matching the glob ``field``)."""
        wanted = frozenset(steps) if steps is not None else None
        return any(
            fnmatchcase(u.base, base)
            and (fact is None or fnmatchcase(u.fact, fact))
            and (wanted is None or u.step in wanted)
            and (technique is None or u.technique == technique)
            and (field is None or fnmatchcase(u.field, field))
            for u in self.uses
        )


def view(w: WorkloadAnalysis) -> View:
    uses: set[Use] = set()
    for t in w.techniques:
        for p in t.paths:
            for s in p.steps:
                if not s.facts:
                    uses.add(Use(s.id, s.technique, "", "", ""))
                for f in s.facts:
                    fact, _, base = f.fact.partition(" <- ")
                    uses.add(Use(s.id, s.technique, fact, base or fact, f.field))
    return View(str(w.ref), frozenset(w.technique_ids()), frozenset(uses))


# -- Kubescape: what each modelled rule reads from attackmap's report ----------------------

Predicate = Callable[[View], bool]

ESCAPE = "T1611"
EXPOSURE_STEPS = ("exploit-external-service", "external-remote-service")


def privileged_container(v: View) -> bool:
    """rule-privileged-container flags ``privileged: true`` or an added CAP_SYS_ADMIN:
    an escape (T1611) enabled by ``privileged`` or by the SYS_ADMIN capability."""
    return v.cites("privileged", technique=ESCAPE) or v.cites(
        "*", fact="cap_usable:SYS_ADMIN", technique=ESCAPE
    )


def insecure_capabilities(v: View) -> bool:
    """An added capability is what some step needs (``cap_usable:X <- cap_add:X``)."""
    return any(
        u.fact.startswith("cap_usable:") and u.base == "cap_add:" + u.fact.partition(":")[2]
        for u in v.uses
    )


def host_pid(v: View) -> bool:
    """A step enabled by ``hostPID: true`` (nsenter, ptrace of host processes, reading
    their environment and tokens under /proc, killing them)."""
    return v.cites("host_pid")


def host_ipc(v: View) -> bool:
    """A step enabled by ``hostIPC: true`` (the node's shared memory and IPC objects)."""
    return v.cites("host_ipc")


def host_pid_or_ipc(v: View) -> bool:
    """A step enabled by ``hostPID`` or by ``hostIPC``."""
    return host_pid(v) or host_ipc(v)


def host_network(v: View) -> bool:
    """A step enabled by ``hostNetwork: true`` (the kubelet's port, the node's address)."""
    return v.cites("host_network") or v.cites("route:host", field="*hostNetwork")


def host_port(v: View) -> bool:
    """A step enabled by a ``hostPort`` (the container served on the node's address)."""
    return v.cites("route:host", field="*hostPort")


def any_hostpath(v: View) -> bool:
    """A step enabled by a hostPath volume (``hostpath:<path>:ro|rw``)."""
    return v.cites("hostpath:*")


def writable_hostpath(v: View) -> bool:
    """A step enabled by a writable hostPath volume (``hostpath:<path>:rw``)."""
    return v.cites("hostpath:*:rw")


def runtime_socket(v: View) -> bool:
    """Container runtime control from a mounted runtime socket (T1059.013)."""
    return "runtime-socket-cli" in v.steps


def token_mounted(v: View) -> bool:
    """The ServiceAccount token is mounted and stolen (T1528 ``steal-sa-token``)."""
    return "steal-sa-token" in v.steps


def token_with_rights(v: View) -> bool:
    """A mounted token whose ServiceAccount holds some right a step uses (``rbac:*``)."""
    return token_mounted(v) and v.cites("*", fact="rbac:*")


# Steps an RBAC right enables that take nothing over: listing resources, deleting events.
NOT_TAKEOVER = frozenset({"api-discovery", "api-delete-events"})


def workload_rbac(v: View) -> bool:
    """The workload's own token takes something over: a step enabled by an RBAC right of
    its ServiceAccount (create pods, read secrets, bind roles, exec, impersonate ...),
    discovery and event deletion aside."""
    return any(u.fact.startswith("rbac:") and u.step not in NOT_TAKEOVER for u in v.uses)


def exposed_to_internet(v: View) -> bool:
    """Exploitable from outside the cluster (T1190/T1133 from the ``external`` entry)
    through a Service, Ingress or Gateway route (``route:*``) — not through hostNetwork or
    a hostPort (``route:host``: C-0041 and C-0044)."""
    return any(
        u.step in EXPOSURE_STEPS and u.base.startswith("route:") and u.base != "route:host"
        for u in v.uses
    )


def no_network_policy(v: View) -> bool:
    """No NetworkPolicy selects the pod, for ingress or for egress: steps enabled by
    ``netpol:ingress_open`` and by ``netpol:egress_open``. Both Kubescape rules pass a pod
    that any policy selects (their fixtures ``only-egress-policy``, ``cnp-only-egress``,
    ``mixed-np-cnp``), whatever the policy allows."""
    return v.cites("netpol:ingress_open") and v.cites("netpol:egress_open")


def env_credentials(v: View) -> bool:
    """Credentials in the environment: a T1552.001 step enabled by an environment fact
    (``env:*``; today ``env-credentials``)."""
    return v.cites("env:*", technique="T1552.001")


def secret_files(v: View) -> bool:
    """A Secret mounted as files (T1552.001 ``file-credentials``)."""
    return "file-credentials" in v.steps


def credential_paths(v: View) -> bool:
    """A hostPath read for the credentials in it: a T1552.001 step enabled by the hostPath,
    or one enabled by ``host_mount:sensitive_read`` (credentials and keys of the host).
    Writing through the mount (``host_mount:write``) is C-0045's concern, not this one."""
    return v.cites("hostpath:*", technique="T1552.001") or v.cites(
        "hostpath:*", fact="host_mount:sensitive_read"
    )


def ssh(v: View) -> bool:
    """SSH into the pod (T1133, from outside or from the cluster)."""
    return "T1133" in v.techniques


def no_memory_limit(v: View) -> bool:
    """Endpoint DoS (T1499) enabled by a container without a memory limit."""
    return v.cites("limits:no_memory", steps=("endpoint-dos",))


def no_cpu_limit(v: View) -> bool:
    """Endpoint DoS (T1499) enabled by a container without a CPU limit."""
    return v.cites("limits:no_cpu", steps=("endpoint-dos",))


def no_limit(v: View) -> bool:
    """Endpoint DoS (T1499) enabled by a container without a CPU or memory limit."""
    return no_memory_limit(v) or no_cpu_limit(v)


def writable_root_filesystem(v: View) -> bool:
    """A step enabled by a root filesystem mounted read-write (``rootfs:rw``: the
    container's programs or model files changed in place)."""
    return v.cites("rootfs:rw")


PREDICATES: dict[str, Predicate] = {
    "rule-privilege-escalation": privileged_container,
    "insecure-capabilities": insecure_capabilities,
    "host-pid-ipc-privileges": host_pid_or_ipc,
    "host-ipc-privileges": host_ipc,
    "host-pid-privileges": host_pid,
    "host-network-access": host_network,
    "container-hostPort": host_port,
    "alert-rw-hostpath": writable_hostpath,
    "alert-any-hostpath": any_hostpath,
    "containers-mounting-docker-socket": runtime_socket,
    "automount-service-account": token_mounted,
    "serviceaccount-token-mount": token_with_rights,
    "exposure-to-internet": exposed_to_internet,
    "exposure-to-internet-via-gateway-api": exposed_to_internet,
    "exposure-to-internet-via-istio-ingress": exposed_to_internet,
    "exposed-sensitive-interfaces-v1": exposed_to_internet,
    "ingress-and-egress-blocked": no_network_policy,
    "ensure_network_policy_configured_in_labels": no_network_policy,
    "rule-credentials-in-env-var": env_credentials,
    "rule-secrets-in-env-var": env_credentials,
    "workload-mounted-secrets": secret_files,
    "alert-mount-potential-credentials-paths": credential_paths,
    "rule-can-ssh-to-pod-v1": ssh,
    "workload-with-cluster-takeover-roles": workload_rbac,
    "workload-with-administrative-roles": workload_rbac,
    "immutable-container-filesystem": writable_root_filesystem,
    "resource-policies": no_limit,
    "resources-memory-limits": no_memory_limit,
    "resources-cpu-limits": no_cpu_limit,
}


# -- the peer-cases data ------------------------------------------------------------------


@functools.cache
def peer_cases() -> PeerCases:
    return load_peer_cases(load_catalogue(load_attack()))


def listed(corpus: str) -> dict[str, str]:
    """case -> attackmap's verdict (``flags``/``quiet``) for every listed disagreement."""
    entries = peer_cases().kubescape if corpus == "kubescape" else peer_cases().kubehound
    return {d.case: d.attackmap for d in entries.disagreements}


# -- Kubescape cases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    rule: str
    name: str
    expected: bool  # the fixture fails the rule (expected.json lists an alert)
    index_expected: bool  # INDEX.tsv's expected_failed, cross-checked
    inputs: tuple[Path, ...]

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.name}"


def case_inputs(folder: Path) -> tuple[Path, ...]:
    """The files Kubescape's test runner reads (``input/``); a case without ``input/``
    keeps its objects beside ``expected.json`` (three cases)."""
    inp = folder / "input"
    if inp.is_dir():
        return tuple(sorted(p for p in inp.iterdir() if p.is_file()))
    skip = {"expected.json", "expected-filter.json", "data.json"}
    return tuple(sorted(p for p in folder.iterdir() if p.is_file() and p.name not in skip))


@functools.cache
def kubescape_cases() -> tuple[Case, ...]:
    with (KUBESCAPE / "INDEX.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    cases = []
    for r in rows:
        folder = KUBESCAPE / r["rule"] / r["case"]
        alerts = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        cases.append(
            Case(
                rule=r["rule"],
                name=r["case"],
                expected=bool(alerts),
                index_expected=r["expected_failed"] == "true",
                inputs=case_inputs(folder),
            )
        )
    return tuple(cases)


@functools.cache
def analyse(inputs: tuple[Path, ...]) -> tuple[View, ...] | None:
    """Every workload of the inputs, analysed together with every entry point; ``None``
    when attackmap refuses the input (no modelled case may be refused: see the test)."""
    try:
        rep: Report = analyze([str(p) for p in inputs])
    except AttackmapError:
        return None
    return tuple(view(w) for w in rep.workloads)


@functools.cache
def kubescape_verdicts() -> dict[str, tuple[Case, bool]]:
    """case id -> (case, attackmap flags it) for every case of a modelled rule."""
    out: dict[str, tuple[Case, bool]] = {}
    for case in kubescape_cases():
        predicate = PREDICATES.get(case.rule)
        if predicate is not None:
            out[case.id] = (case, any(predicate(v) for v in analyse(case.inputs) or ()))
    return out


@dataclass(frozen=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, expected: bool, flagged: bool) -> Score:
        return Score(
            self.tp + (expected and flagged),
            self.fp + (flagged and not expected),
            self.fn + (expected and not flagged),
            self.tn + (not expected and not flagged),
        )

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def scores(verdicts: Iterable[tuple[str, bool, bool]]) -> tuple[dict[str, Score], Score]:
    """(group, expected, flagged) triples -> per-group and overall scores."""
    per: dict[str, Score] = {}
    total = Score()
    for group, expected, flagged in verdicts:
        per[group] = per.get(group, Score()).add(expected, flagged)
        total = total.add(expected, flagged)
    return per, total


def excluded(corpus: str) -> frozenset[str]:
    """The listed disagreements excluded from the adjusted scores (``exclude``, each with
    its reason and reference in ``mappings/peer-cases.yaml``)."""
    entries = peer_cases().kubescape if corpus == "kubescape" else peer_cases().kubehound
    return frozenset(d.case for d in entries.disagreements if d.exclude is not None)


def kubescape_scores(adjusted: bool = False) -> tuple[dict[str, Score], Score]:
    """Per-rule and overall scores; ``adjusted``: without the excluded cases."""
    out = excluded("kubescape") if adjusted else frozenset()
    return scores(
        (c.rule, c.expected, f) for k, (c, f) in kubescape_verdicts().items() if k not in out
    )


def kubehound_score(adjusted: bool = False) -> Score:
    out = excluded("kubehound") if adjusted else frozenset()
    return scores(("kubehound", e, f) for u, e, f in kubehound_verdicts() if u not in out)[1]


def disagreements(verdicts: Iterable[tuple[str, bool, bool]]) -> dict[str, str]:
    """unit id -> attackmap's verdict (``flags``/``quiet``) where it differs."""
    return {u: "flags" if f else "quiet" for u, expected, f in verdicts if expected != f}


def kubescape_disagreements() -> dict[str, str]:
    return disagreements((k, c.expected, f) for k, (c, f) in kubescape_verdicts().items())


# -- KubeHound ----------------------------------------------------------------------------


def made(edge: PeerEdge, v: View) -> bool:
    """attackmap makes the KubeHound edge's move (``mappings/peer-cases.yaml``): reaches
    its technique by one of its steps, or has a step enabled by its manifest field
    (SHARE_PS_NAMESPACE: whatever the fact is called, the field names it)."""
    if edge.field is not None:
        return v.cites("*", field=f"*{edge.field}*")
    return any(u.technique == edge.technique and u.step in edge.steps for u in v.uses)


# The one edge *into* a container: a negative may make it (attackmap's cluster entry
# reaches every pod no NetworkPolicy isolates), and must make none of the others.
ENTRY_EDGE = "ENDPOINT_EXPLOIT"


@dataclass(frozen=True)
class Unit:
    file: str
    workload: str | None  # the pod's name; None for a file without one
    edges: tuple[str, ...]  # expected edges; () for a negative

    @property
    def id(self) -> str:
        return f"{self.file}#{self.workload}" if self.workload else self.file


def edges_of(row: dict[str, str]) -> tuple[str, ...]:
    """The edge names of an INDEX.tsv row (``NONE ...`` -> no edge)."""
    text = re.sub(r"\([^)]*\)", "", row["expected_edge"])  # drop the remarks
    if text.startswith("NONE"):
        return ()
    return tuple(e.strip() for e in text.split(";"))


@functools.cache
def kubehound_units() -> tuple[tuple[Unit, View | None], ...]:
    with (KUBEHOUND / "INDEX.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    units: list[tuple[Unit, View | None]] = []
    for row in rows:
        edges = edges_of(row)
        views = analyse((KUBEHOUND / row["file"],)) or ()
        if not views:
            units.append((Unit(row["file"], None, edges), None))
        for v in views:
            pod = v.name.rsplit("/", 1)[1]
            expected = () if pod.endswith("-fail") else edges
            units.append((Unit(row["file"], pod, expected), v))
    return tuple(units)


def kubehound_flagged(unit: Unit, v: View | None) -> bool:
    """A positive makes every expected move; a negative makes any move but the entry."""
    if v is None:
        return False
    edges = peer_cases().kubehound.edges
    if unit.edges:
        return all(made(edges[e], v) for e in unit.edges)
    return any(made(m, v) for e, m in edges.items() if e != ENTRY_EDGE)


def kubehound_verdicts() -> list[tuple[str, bool, bool]]:
    return [(u.id, bool(u.edges), kubehound_flagged(u, v)) for u, v in kubehound_units()]


# -- tests --------------------------------------------------------------------------------


def test_every_rule_is_modelled_or_excused() -> None:
    rules = {c.rule for c in kubescape_cases()}
    kubescape = peer_cases().kubescape
    assert set(kubescape.modelled) == set(PREDICATES)
    assert set(kubescape.modelled) | set(kubescape.not_modelled) == rules


def test_expected_verdicts_are_the_fixtures() -> None:
    """expected.json decides; INDEX.tsv's column says the same."""
    for case in kubescape_cases():
        assert case.expected == case.index_expected, case.id
        assert case.inputs, case.id


def test_no_case_is_refused() -> None:
    """A refused input would count as "attackmap is quiet"; none of the compared is."""
    refused = [
        c.id for c in kubescape_cases() if c.rule in PREDICATES and analyse(c.inputs) is None
    ]
    refused += [p.name for p in sorted(KUBEHOUND.glob("*.yaml")) if analyse((p,)) is None]
    assert refused == []


def test_kubescape_disagreements_are_listed() -> None:
    assert kubescape_disagreements() == listed("kubescape")


def test_kubehound_disagreements_are_listed() -> None:
    assert disagreements(kubehound_verdicts()) == listed("kubehound")


def test_kubehound_edges_are_all_mapped() -> None:
    named = {e for u, _ in kubehound_units() for e in u.edges}
    assert named <= set(peer_cases().kubehound.edges)
    assert ENTRY_EDGE in named


def test_fixed_by_names_an_issue_17_item() -> None:
    for corpus in (peer_cases().kubescape, peer_cases().kubehound):
        for d in corpus.disagreements:
            assert d.fixed_by is None or d.fixed_by in ISSUE_17_ITEMS, d


def as_recorded(score: Score) -> dict[str, int]:
    return {"tp": score.tp, "fp": score.fp, "fn": score.fn, "tn": score.tn}


def test_the_recorded_scores_are_the_measured_ones() -> None:
    """docs/coverage.md shows the scores recorded in peer-cases.yaml: they must be what
    the analysis gives now, raw and adjusted, for both corpora."""
    ks, kh = peer_cases().kubescape.measured, peer_cases().kubehound.measured
    assert ks.raw.model_dump() == as_recorded(kubescape_scores()[1])
    assert ks.adjusted.model_dump() == as_recorded(kubescape_scores(adjusted=True)[1])
    assert kh.raw.model_dump() == as_recorded(kubehound_score())
    assert kh.adjusted.model_dump() == as_recorded(kubehound_score(adjusted=True))


def test_an_excluded_case_is_a_listed_disagreement_only() -> None:
    """Exclusion takes a reviewed disagreement out of the adjusted scores, never a case
    attackmap agrees on (that would shrink the denominator for free)."""
    assert excluded("kubescape") <= set(kubescape_disagreements())
    assert excluded("kubehound") <= set(disagreements(kubehound_verdicts()))


def test_kubescape_precision_and_recall() -> None:
    """Issue 17's target, on the adjusted scores: every compared case but the reviewed
    exclusions (a disagreement listed without ``exclude`` counts against attackmap)."""
    _, total = kubescape_scores(adjusted=True)
    assert total.precision >= THRESHOLD, total
    assert total.recall >= THRESHOLD, total


@pytest.mark.xfail(
    strict=True,
    reason="issue 17's target on the fixtures' own verdicts is not met: the remaining "
    "disagreements are reviewed as fixture or rule errors (mappings/peer-cases.yaml), which "
    "only the adjusted scores leave out",
)
def test_kubescape_raw_precision_and_recall() -> None:
    """The same target on the raw scores (every fixture's own expected verdict): kept as a
    strict expected failure so that meeting it, or the exclusions growing, is noticed."""
    _, total = kubescape_scores()
    assert total.precision >= THRESHOLD, total
    assert total.recall >= THRESHOLD, total


# -- the table ------------------------------------------------------------------------------


def table() -> str:
    per, total = kubescape_scores()
    lines = [
        f"{'kubescape rule':46} {'cases':>5} {'tp':>3} {'fp':>3} {'fn':>3} {'tn':>3} "
        f"{'prec':>5} {'rec':>5}"
    ]
    for rule in sorted(per):
        s = per[rule]
        n = s.tp + s.fp + s.fn + s.tn
        lines.append(
            f"{rule:46} {n:5} {s.tp:3} {s.fp:3} {s.fn:3} {s.tn:3} "
            f"{s.precision:5.2f} {s.recall:5.2f}"
        )
    n = total.tp + total.fp + total.fn + total.tn
    lines.append(
        f"{'overall (' + str(len(per)) + ' rules)':46} {n:5} {total.tp:3} {total.fp:3} "
        f"{total.fn:3} {total.tn:3} {total.precision:5.2f} {total.recall:5.2f}"
    )
    _, adj = kubescape_scores(adjusted=True)
    lines.append(
        f"{'  adjusted, without the excluded cases':46} "
        f"{adj.tp + adj.fp + adj.fn + adj.tn:5} {adj.tp:3} {adj.fp:3} "
        f"{adj.fn:3} {adj.tn:3} {adj.precision:5.2f} {adj.recall:5.2f}"
    )
    # What the numbers become once every disagreement marked fixed_by is fixed (and the
    # fixes change nothing else): an estimate for the lead, not a measurement.
    pending = {d.case for d in peer_cases().kubescape.disagreements if d.fixed_by}
    _, after = scores(
        (c.rule, c.expected, c.expected if k in pending else f)
        for k, (c, f) in kubescape_verdicts().items()
    )
    lines.append(
        f"{'  projected, every fixed_by item landed':46} {n:5} {after.tp:3} {after.fp:3} "
        f"{after.fn:3} {after.tn:3} {after.precision:5.2f} {after.recall:5.2f}"
    )
    _, kh = scores(("kubehound", e, f) for _, e, f in kubehound_verdicts())
    lines.append(
        f"{'KubeHound (pods)':46} {kh.tp + kh.fp + kh.fn + kh.tn:5} {kh.tp:3} {kh.fp:3} "
        f"{kh.fn:3} {kh.tn:3} {kh.precision:5.2f} {kh.recall:5.2f}"
    )
    for corpus, found in (
        ("kubescape", kubescape_disagreements()),
        ("kubehound", disagreements(kubehound_verdicts())),
    ):
        entries = peer_cases().kubescape if corpus == "kubescape" else peer_cases().kubehound
        fixed = {d.case: d.fixed_by for d in entries.disagreements}
        out = {d.case: d.exclude for d in entries.disagreements if d.exclude}
        lines.append("")
        lines.append(f"{corpus} disagreements ({len(found)}):")
        for case, verdict in sorted(found.items()):
            note = fixed.get(case)
            status = (
                f"fixed by {note!r}"
                if note
                else f"excluded ({out[case]})"
                if case in out
                else "kept"
                if case in fixed
                else "NOT LISTED"
            )
            lines.append(f"  {case:70} attackmap {verdict:5}  {status}")
        for case in sorted(set(fixed) - set(found)):
            lines.append(f"  {case:70} listed, now agrees")
    return "\n".join(lines)


if __name__ == "__main__":
    if not (KUBESCAPE / "INDEX.tsv").is_file():
        sys.exit(f"peer corpora not available: {CORPUS}")
    print(table())
