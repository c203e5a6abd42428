"""Properties of model + engine, over generated deployments.

* **Monotonicity**: adding one privilege (a capability, a hostPath, a writable hostPath,
  host namespaces, privileged, a wider exposure, an RBAC verb, a weaker seccomp profile,
  a mounted token, privilege escalation, root, a writable root filesystem, a GPU, the
  node's kernel instead of a gVisor sandbox, the node's user namespace instead of the
  pod's own) never removes a reachable technique; read backwards, removing one (running in
  a sandbox, ``hostUsers: false``) never adds any.
* **Determinism**: permuting the input documents or the keys of every mapping gives
  byte-identical output in every format; permuting documents inside one stream changes
  nothing but the source locations.

That every ``broken_by`` control really breaks its path, by re-analysis, is proven in
``tests/graph/test_proofs.py`` (not repeated here).
"""

from __future__ import annotations

import json
import random
from typing import Any

import yaml
from fuzz_helpers import (
    CAPABILITIES,
    CLUSTER_CONTEXT,
    EXPOSURES,
    HOST_PATHS,
    RESOURCES,
    SECCOMP,
    VERBS,
    Privileges,
    budget,
    manifests,
    raised,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attackmap.exporters import EXPORTERS
from attackmap.graph import Report, analyze

privileges = st.builds(
    Privileges,
    capabilities=st.frozensets(st.sampled_from(CAPABILITIES), max_size=3),
    privileged=st.booleans(),
    host_pid=st.booleans(),
    host_network=st.booleans(),
    host_ipc=st.booleans(),
    host_paths=st.frozensets(st.sampled_from(HOST_PATHS), max_size=2),
    writable_host_paths=st.booleans(),
    exposure=st.integers(0, len(EXPOSURES) - 1),
    rbac=st.frozensets(st.tuples(st.sampled_from(RESOURCES), st.sampled_from(VERBS)), max_size=4),
    seccomp=st.integers(0, len(SECCOMP) - 1),
    automount_token=st.booleans(),
    allow_privilege_escalation=st.booleans(),
    run_as_root=st.booleans(),
    writable_root=st.booleans(),
    gpu=st.booleans(),
    host_kernel=st.booleans(),
    host_users=st.booleans(),
)


@st.composite
def one_more_privilege(draw: st.DrawFn) -> tuple[Privileges, Privileges, str]:
    base = draw(privileges)
    dimension = draw(
        st.sampled_from(
            [
                "capabilities",
                "privileged",
                "host_pid",
                "host_network",
                "host_ipc",
                "host_paths",
                "writable_host_paths",
                "exposure",
                "rbac",
                "seccomp",
                "automount_token",
                "allow_privilege_escalation",
                "run_as_root",
                "writable_root",
                "gpu",
                "host_kernel",
                "host_users",
            ]
        )
    )
    current = getattr(base, dimension)
    if dimension == "capabilities":
        value: Any = draw(st.sampled_from(CAPABILITIES))
    elif dimension == "host_paths":
        value = draw(st.sampled_from(HOST_PATHS))
    elif dimension == "rbac":
        value = (draw(st.sampled_from(RESOURCES)), draw(st.sampled_from(VERBS)))
    elif dimension == "exposure":
        value = draw(st.integers(current, len(EXPOSURES) - 1))
    elif dimension == "seccomp":
        value = draw(st.integers(current, len(SECCOMP) - 1))
    else:
        value = True
    return base, raised(base, dimension, value), f"{dimension}+={value!r}"


def _reachable(report: Report) -> set[tuple[str, str]]:
    return {(str(w.ref), t) for w in report.workloads for t in w.technique_ids()}


@settings(max_examples=budget(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_more_privilege())
def test_adding_a_privilege_never_removes_a_technique(
    case: tuple[Privileges, Privileges, str],
) -> None:
    less, more, change = case
    before = _reachable(analyze([*manifests(less), CLUSTER_CONTEXT]))
    after = _reachable(analyze([*manifests(more), CLUSTER_CONTEXT]))
    assert before <= after, f"{change} removed {sorted(before - after)}"


def _shuffled_keys(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _shuffled_keys(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [_shuffled_keys(v, rng) for v in value]
    return value


def _exports(report: Report) -> dict[str, str]:
    return {name: exporter.export(report) for name, exporter in sorted(EXPORTERS.items())}


cluster = st.lists(privileges, min_size=1, max_size=3)


@settings(max_examples=budget(6), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster, st.randoms(use_true_random=False))
def test_permuting_documents_and_keys_gives_byte_identical_output(
    workloads: list[Privileges], rng: random.Random
) -> None:
    docs = [d for i, p in enumerate(workloads) for d in manifests(p, name=f"w{i}")]
    docs.append(CLUSTER_CONTEXT)
    permuted = [_shuffled_keys(d, rng) for d in docs]
    rng.shuffle(permuted)
    # each document is its own source, so its location (<object>, document 0) is the same
    first = _exports(analyze(list(docs)))
    second = _exports(analyze(list(permuted)))
    assert first == second


def _without_locations(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_locations(v) for k, v in value.items() if k not in ("line", "document")}
    if isinstance(value, list):
        return [_without_locations(v) for v in value]
    return value


@settings(max_examples=budget(6), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster, st.randoms(use_true_random=False))
def test_reordering_one_stream_changes_only_source_locations(
    workloads: list[Privileges], rng: random.Random
) -> None:
    docs = [d for i, p in enumerate(workloads) for d in manifests(p, name=f"w{i}")]
    permuted = [_shuffled_keys(d, rng) for d in docs]
    rng.shuffle(permuted)
    text = "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)
    text2 = "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in permuted)
    a = json.loads(EXPORTERS["json"].export(analyze(text)))
    b = json.loads(EXPORTERS["json"].export(analyze(text2)))
    assert _without_locations(a) == _without_locations(b)
    # and the same stream twice is byte-identical
    assert EXPORTERS["json"].export(analyze(text2)) == EXPORTERS["json"].export(analyze(text2))
