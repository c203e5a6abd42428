"""``credential-env-from-secret``: a literal credential in a pod's env moves into a Secret
reference, and the workload keeps its variable (issue 20, item 5).

Before, the only control for a literal ``NGC_API_KEY`` was ``remove-credential-env``,
which stops a NIM from downloading its model. A key written in the pod template is also
readable by whoever may read the pod through the API (``api-read-pod-spec-credentials``,
T1552.007); moving it into ``valueFrom.secretKeyRef`` breaks that step and keeps the
variable. The Secret itself is not written (it would hold the value): a note says how
to create it, as a comment atop the YAML and on stderr.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import attackmap
from attackmap.cli import main
from attackmap.harden import harden

FIRES = (
    Path(__file__).resolve().parents[1]
    / "graph"
    / "manifests"
    / "steps"
    / "api-read-pod-spec-credentials"
    / "fires.yaml"
)
TARGET = "Deployment/nim/llm"
CONTROL = f"credential-env-from-secret@{TARGET}"


def _steps(report: attackmap.Report, technique: str) -> set[str]:
    return {
        s.id
        for w in report.workloads
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
        for s in p.steps
    }


def test_the_control_breaks_the_pod_spec_read_and_keeps_the_variable() -> None:
    before = attackmap.analyze(FIRES)
    paths = [
        p
        for t in before.workload(TARGET).techniques
        if t.technique.id == "T1552.007"
        for p in t.paths
        if p.steps[-1].id == "api-read-pod-spec-credentials"
    ]
    assert paths and all(CONTROL in p.broken_by for p in paths)
    after = before.apply([CONTROL])
    assert "api-read-pod-spec-credentials" not in _steps(after, "T1552.007")
    # the variable is still there, now from the Secret; a foothold in the container still
    # reads its environment (that takes remove-credential-env, asked for by name)
    (container,) = after._require_analyzer().inventory.workload(TARGET).pod.containers
    (env,) = container.env
    assert (env.name, env.source, env.ref_name, env.ref_key) == (
        "NGC_API_KEY",
        "secret",
        "llm-credentials",
        "NGC_API_KEY",
    )
    assert "env-credentials" in _steps(after, "T1552.001")


def test_harden_prefers_it_and_proves_it_by_re_analysis() -> None:
    result = harden(FIRES, goals="T1552.007")
    assert [c.control for c in result.changes] == [CONTROL]
    (text,) = result.documents
    docs = list(yaml.safe_load_all(text.text))
    (deployment,) = (d for d in docs if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {
            "name": "NGC_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": "llm-credentials", "key": "NGC_API_KEY"}},
        }
    ]
    assert "nvapi-" not in text.text  # the value has left the manifest
    # the written text, read again: the goal is closed, the NIM still gets its key
    again = attackmap.analyze(text.text)
    assert "T1552.007" not in again.workload(TARGET).technique_ids()
    assert any(n.startswith(f"{CONTROL}: NGC_API_KEY now read from Secret") for n in result.notes)


def test_stdout_carries_the_note_as_a_comment_and_stderr_as_a_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["harden", str(FIRES), "--goal", "T1552.007"]) == 0
    out, err = capsys.readouterr()
    note = (
        f"{CONTROL}: NGC_API_KEY now read from Secret llm-credentials, which attackmap does "
        "not write (it would hold the value): create it before applying (kubectl -n nim "
        "create secret generic llm-credentials --from-literal=NGC_API_KEY=<value of "
        "NGC_API_KEY in the input>); until it exists the pod does not start "
        "(CreateContainerConfigError)"
    )
    assert out.startswith(f"# attackmap harden: {note}\n")
    assert f"note: {note}" in err
    assert "secretKeyRef:" in out and "name: NGC_API_KEY" in out
