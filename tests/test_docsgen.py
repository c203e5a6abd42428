"""attackmap._docsgen: the generated reference tables agree with the engine."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from attackmap._docsgen import (
    capability_matrix,
    generate,
    load_nim_options,
    nim_option_steps,
    step_breakers,
    step_witnesses,
)
from attackmap.attack import load_attack
from attackmap.errors import MappingError
from attackmap.graph import Catalogue, analyze, load_catalogue
from attackmap.model import LINUX_CAPABILITIES

REPO = Path(__file__).resolve().parents[1]
NIM = REPO / "examples" / "nim" / "nim-deploy-default.yaml"
STEP_MANIFESTS = REPO / "tests" / "graph" / "manifests" / "steps"


@functools.cache
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


@functools.cache
def breakers() -> dict[str, tuple[str, ...]]:
    return step_breakers(catalogue())


def _pod(caps: list[str], **container: object) -> str:
    sc = {"capabilities": {"add": caps}, "runAsUser": 0, **container}
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nim:1", "securityContext": sc}]},
    }
    return yaml.safe_dump(doc)


def _techniques(tmp_path: Path, text: str) -> dict[str, set[str]]:
    path = tmp_path / "pod.yaml"
    path.write_text(text, encoding="utf-8")
    report = analyze(path)
    return {
        t.technique.id: {s.id for p in t.paths for s in p.steps}
        for w in report.workloads
        for t in w.techniques
    }


def test_generate_is_deterministic_and_complete() -> None:
    first = generate()
    assert first == generate()
    assert set(first) == {
        "index.md",
        "techniques.md",
        "capabilities.md",
        "controls.md",
        "atlas.md",
        "pss-checks.md",
        "nim-options.md",
        "catalogue.md",
    }
    catalogue_md = first["catalogue.md"]
    for step in catalogue().steps:
        assert f"### `{step.id}`" in catalogue_md
    for control in catalogue().controls:
        assert f"`{control.id}`" in first["controls.md"]
    for cap in LINUX_CAPABILITIES:
        assert f"| `{cap}` |" in first["capabilities.md"]


def test_every_step_has_a_witness_that_fires_it() -> None:
    witnesses = step_witnesses(catalogue())
    assert set(witnesses) == {s.id for s in catalogue().steps}
    assert all(witnesses.values())


def test_capability_matrix_names_the_escape_capabilities() -> None:
    matrix = capability_matrix(catalogue())
    assert set(matrix) == set(LINUX_CAPABILITIES)
    steps = {cap: {u.step for u in uses} for cap, uses in matrix.items()}
    assert {"escape-sys-admin-mount", "escape-bpf"} <= steps["SYS_ADMIN"]
    assert "escape-module-load" in steps["SYS_MODULE"]
    assert "escape-open-by-handle" in steps["DAC_READ_SEARCH"]
    unshare = next(u for u in matrix["SYS_ADMIN"] if u.step == "escape-cgroup-unshare")
    assert unshare.seccomp == ("RuntimeDefault",)  # Unconfined lets unshare through anyway
    for cap in ("NET_BIND_SERVICE", "CHOWN", "DAC_OVERRIDE"):
        assert steps[cap] == set(), cap


def test_capabilities_with_no_step_change_nothing_in_the_engine(tmp_path: Path) -> None:
    # The "no step" rows, checked by analysis: adding every one of them at once to a root
    # container reaches exactly what the container reached without them.
    idle = [c for c, uses in capability_matrix(catalogue()).items() if not uses]
    assert "NET_BIND_SERVICE" in idle
    assert _techniques(tmp_path, _pod(idle)) == _techniques(tmp_path, _pod([]))


def test_capabilities_with_steps_are_found_by_the_engine(tmp_path: Path) -> None:
    reached = _techniques(tmp_path, _pod(["SYS_ADMIN"], seccompProfile={"type": "Unconfined"}))
    assert "escape-sys-admin-mount" in reached["T1611"]


def test_step_breakers_cover_the_engine_broken_by() -> None:
    # Every control the engine reports breaking a path (on the per-step manifests that fire
    # each step, and the NIM example) is one the catalogue-level table names for a step of
    # that path.
    table = breakers()
    manifests = [*sorted(STEP_MANIFESTS.glob("*/fires*.yaml")), NIM]
    assert len(manifests) > 20
    checked = 0
    for path in manifests:
        report = analyze(path)
        for w in report.workloads:
            for t in w.techniques:
                for p in t.paths:
                    allowed = {c for s in p.steps for c in table[s.id]}
                    for control in p.broken_by:
                        base = control.split("@")[0].split(":")[0]
                        assert base in allowed, (path.parent.name, t.technique.id, control)
                        checked += 1
    assert checked > 100


def test_each_control_breaks_some_step() -> None:
    used = {c for cs in breakers().values() for c in cs}
    assert used == {c.id for c in catalogue().controls}


def test_nim_options_derive_their_techniques() -> None:
    options = {o.option: o for o in load_nim_options()}
    lb = nim_option_steps(catalogue(), options["expose.service.type: LoadBalancer"])
    assert "exploit-external-service" in {s.id for s, _ in lb}
    multi = {s.id for s, _ in nim_option_steps(catalogue(), options["multiNode"])}
    assert {"cluster-remote-service", "file-credentials"} <= multi
    host = {s.id for s, _ in nim_option_steps(catalogue(), options["persistence.hostPath"])}
    assert {"escape-host-write", "write-model-store"} <= host
    for option in options.values():
        assert nim_option_steps(catalogue(), option)


def _write_options(tmp_path: Path, facts: list[str]) -> Path:
    entry = {"option": "x", "where": "helm: x", "facts": facts, "note": "n"}
    (tmp_path / "nim-options.yaml").write_text(yaml.safe_dump({"options": [entry]}))
    return tmp_path


def test_nim_options_refuse_unknown_facts(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="unknown fact 'no_such_fact'") as e:
        load_nim_options(_write_options(tmp_path, ["no_such_fact"]))
    assert e.value.path == "mappings/nim-options.yaml"


def test_nim_option_enabling_nothing_is_refused(tmp_path: Path) -> None:
    (option,) = load_nim_options(_write_options(tmp_path, ["cap_drop:NET_RAW"]))
    with pytest.raises(MappingError, match="enables no attack step"):
        nim_option_steps(catalogue(), option)
