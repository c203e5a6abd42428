"""attackmap.harden on real NIM manifests: goals unreachable after, PSS level, audited needs."""

from __future__ import annotations

from pathlib import Path

import pytest

import attackmap
from attackmap import pss
from attackmap.errors import HardenError
from attackmap.harden import HardenResult, harden

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
NIM_DEFAULT = REPO / "examples" / "nim" / "nim-deploy-default.yaml"
NIMSERVICE = DATA / "nimservice-standalone.yaml"
GOALS = ["T1611", "T1552.001", "T1528"]
# T1552.001 on a NIM needs NGC_API_KEY gone: asked for by name (tests/cli/test_harden_nim_working.py)
ALLOW = "remove-credential-env"
STS = "StatefulSet/default/my-nim"


def _reanalyse(result: HardenResult) -> attackmap.Report:
    return attackmap.analyze(result.to_yaml())


def test_nim_default_goals_unreachable_and_baseline() -> None:
    before = attackmap.analyze(str(NIM_DEFAULT))
    assert {"T1552.001", "T1528"} <= set(before.workload(STS).technique_ids())
    result = harden(NIM_DEFAULT, goals=GOALS, allow=ALLOW, level="baseline")
    assert result.verified
    after = _reanalyse(result)  # independent re-analysis of the emitted YAML
    for w in after.workloads:
        assert not set(w.technique_ids()) & set(GOALS), w.ref
    inventory = attackmap.load(result.to_yaml())
    for pod in inventory.workloads:
        assert pss.evaluate(pod, "baseline").allowed
    controls = {c.control.split("@")[0] for c in result.changes}
    assert controls == {"disable-token-automount", "remove-credential-env"}


def test_parent_goal_covers_its_sub_techniques() -> None:
    # A goal names a technique with every way of doing it: T1552 is reached by T1552.001
    # (NGC_API_KEY in the environment, the token file) and must be broken like it.
    before = attackmap.analyze(str(NIM_DEFAULT), goals=["T1552"])
    reached = [t for t in before.workload(STS).technique_ids() if t.startswith("T1552.")]
    assert reached, "the NIM reaches no sub-technique of T1552"
    (minimal,) = before.workload(STS).minimal_controls
    assert minimal.goals == ("T1552",) and minimal.controls
    result = harden(NIM_DEFAULT, goals=["T1552"], allow=ALLOW)
    (row,) = [w for w in result.verification.workloads if w.workload == STS]
    assert row.goals_before == ("T1552",)
    assert result.verified and row.goals_after == ()
    after = _reanalyse(result)
    assert not [t for t in after.workload(STS).technique_ids() if t.startswith("T1552")]


def test_output_keeps_comments_and_untouched_documents() -> None:
    result = harden(NIM_DEFAULT, goals=GOALS, allow=ALLOW, level="baseline")
    (out,) = result.documents
    original = NIM_DEFAULT.read_text()
    assert out.name == NIM_DEFAULT.name
    # unchanged documents are byte-identical; comments of the changed one survive
    configmap = original.split("\n---\n")[0]
    assert out.text.startswith(configmap)
    assert "# Source: nim-llm/templates/deployment.yaml" in out.text
    assert "NGC_API_KEY" not in out.text.split("kind: Service")[0].split("kind: StatefulSet")[1]
    # key order kept: the container's keys come in the input's order
    sts = out.text.split("kind: StatefulSet")[1]
    assert sts.index("imagePullPolicy") < sts.index("env:") < sts.index("livenessProbe")


def test_diff_shows_each_control_with_its_change() -> None:
    result = harden(NIM_DEFAULT, goals=GOALS, allow=ALLOW)
    diff = result.to_diff()
    assert "# control disable-token-automount@StatefulSet/default/my-nim" in diff
    assert "+      automountServiceAccountToken: false" in diff
    assert "-            - name: NGC_API_KEY" in diff
    assert harden(NIM_DEFAULT, goals=GOALS, allow=ALLOW).to_diff() == diff  # deterministic


def test_restricted_applies_level_controls_and_reports_removed_techniques() -> None:
    result = harden(NIM_DEFAULT, goals=["T1611"], level="restricted")
    assert result.verified
    (w,) = result.verification.workloads
    assert (w.pss_before, w.pss_after) == ("baseline", "restricted")
    applied = {c.control.split("@")[0] for c in result.changes}
    assert {"drop-all-capabilities", "run-as-non-root", "seccomp-runtime-default"} <= applied
    inventory = attackmap.load(result.to_yaml())
    assert pss.lowest_level(inventory.workload(STS)) == "restricted"


def test_audited_capability_need_blocks_restricted() -> None:
    result = harden(
        NIM_DEFAULT,
        goals=GOALS,
        allow=ALLOW,
        level="restricted",
        audit=DATA / "audit-net-raw.jsonl",
    )
    (need,) = result.needs
    assert need.need == "cap:NET_RAW" and need.evidence.endswith("audit-net-raw.jsonl:1")
    assert not result.verification.level_met and not result.verified
    (conflict,) = result.conflicts
    assert conflict.blocks == "level restricted"
    assert conflict.control == f"drop-all-capabilities@{STS}"
    assert "need cap:NET_RAW" in str(conflict) and "blocks level restricted" in str(conflict)
    assert all(not c.control.startswith("drop-all") for c in result.changes)
    # goals are still met: the need does not stand in their way
    assert not any(w.goals_after for w in result.verification.workloads)


def test_audited_api_access_blocks_token_goal() -> None:
    result = harden(NIM_DEFAULT, goals=GOALS, allow=ALLOW, audit=DATA / "audit-api-access.jsonl")
    (w,) = result.verification.workloads
    assert w.goals_after == ("T1528",)
    assert any("kept by need api-access" in b for b in w.blocked)
    assert not any(c.control.startswith("disable-token-automount") for c in result.changes)


def test_nimservice_reports_blocked_goals_honestly() -> None:
    result = harden(NIMSERVICE, goals=GOALS, allow=ALLOW, level="baseline")
    assert not result.verified
    (w,) = result.verification.workloads
    assert set(w.goals_after) == {"T1528", "T1552.001"}
    assert any(
        "NIMService spec cannot express" in b and "render_deployment" in b for b in w.blocked
    )
    # what a NIMService can take is applied, and its document keeps its comments
    assert "# the operator injects it as NGC_API_KEY" in result.documents[0].text


def test_nimservice_rendered_deployment_reaches_goals() -> None:
    result = harden(NIMSERVICE, goals=GOALS, allow=ALLOW, level="baseline", render_deployment=True)
    assert result.verified, result.summary()
    after = _reanalyse(result)
    assert [str(w.ref) for w in after.workloads] == ["Deployment/nim-service/llama-3-2-1b"]
    assert not set(after.workloads[0].technique_ids()) & set(GOALS)
    assert any("replaced by the Deployment" in n for n in result.notes)


def test_shared_operator_sample(shared_dir: Path) -> None:
    path = shared_dir / "corpus" / "nim" / "operator-serving-standalone-basic-llm.yaml"
    result = harden(path, goals=GOALS, allow=ALLOW, render_deployment=True)
    by = {w.workload: w for w in result.verification.workloads}
    assert not by["Deployment/nim-service/meta-llama-3-2-1b-instruct"].goals_after
    cache = by["NIMCache/nim-service/meta-llama-3-2-1b-instruct"]
    assert cache.goals_after and any("by design" in b for b in cache.blocked)
    attackmap.load(result.to_yaml())  # NetworkPolicy names stay unique


def test_shared_corpus_default(shared_dir: Path) -> None:
    result = harden(
        shared_dir / "corpus" / "nim" / "nim-deploy-default.yaml", goals=GOALS, allow=ALLOW
    )
    assert result.verified


def test_bad_input() -> None:
    with pytest.raises(HardenError):
        harden(DATA / "missing.yaml", goals=GOALS, allow=ALLOW)
    with pytest.raises(HardenError):
        harden(NIM_DEFAULT, goals=GOALS, allow=ALLOW, level="strict")
