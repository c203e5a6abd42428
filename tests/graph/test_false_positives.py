"""Issue 17, "false positives": techniques reported that cannot happen.

Each test analyses a small manifest of its own; each failed before its fix.
"""

from __future__ import annotations

from typing import Any

from attackmap.graph import Report, analyze


def _pod(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "nim", "labels": {"app": "app"}},
        "spec": {"containers": [{"name": "app", "image": "x", **container}], **spec},
    }


def _caps(*add: str) -> dict[str, Any]:
    return {"securityContext": {"capabilities": {"drop": ["ALL"], "add": list(add)}}}


def _steps(rep: Report, technique: str = "T1611") -> set[str]:
    return {
        s.id
        for w in rep.workloads
        for t in w.techniques
        if t.technique.id == technique
        for p in t.paths
        for s in p.steps
    }


# -- CAP_BPF alone -------------------------------------------------------------------------


def test_cap_bpf_alone_is_no_escape() -> None:
    """Tracing programs need CAP_BPF and CAP_PERFMON; CAP_BPF alone loads none."""
    assert _steps(analyze([_pod(_caps("BPF"))])) == set()


def test_cap_bpf_with_perfmon_reads_the_host_and_sys_admin_writes_it() -> None:
    assert "escape-bpf-read" in _steps(analyze([_pod(_caps("BPF", "PERFMON"))]))
    assert "escape-bpf" not in _steps(analyze([_pod(_caps("BPF", "PERFMON"))]))
    assert "escape-bpf" in _steps(analyze([_pod(_caps("SYS_ADMIN"))]))


# -- credential names ----------------------------------------------------------------------


def _env(*names: str) -> dict[str, Any]:
    return {"env": [{"name": n, "value": f"/secrets/{n.lower()}"} for n in names]}


def test_names_holding_a_path_are_no_credentials() -> None:
    paths = _env("NGC_API_KEY_FILE", "HF_TOKEN_PATH", "SSH_KEY_PATH", "AWS_WEB_IDENTITY_TOKEN_FILE")
    assert "env-credentials" not in _steps(analyze([_pod(paths)]), "T1552.001")
    real = _env("NGC_API_KEY_FILE", "NGC_API_KEY")
    assert "env-credentials" in _steps(analyze([_pod(real)]), "T1552.001")
