"""Containers built once per content in a load: equal containers are one object, and
what a container is made of (its kind, the pod's securityContext, its AppArmor
annotation, a typed value) keeps apart the ones that differ."""

from __future__ import annotations

from typing import Any

import attackmap
from attackmap.model._k8s import K8sPodTemplate
from attackmap.model._workload import Container, build_pod

Doc = dict[str, Any]


def pod(name: str, *, spec: Doc | None = None, annotations: Doc | None = None, **c: Any) -> Doc:
    container = {"name": "main", "image": "registry.example/app:1", **c}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "app", "annotations": annotations or {}},
        "spec": {"containers": [container], **(spec or {})},
    }


def containers(*docs: Doc) -> dict[str, Container]:
    return {w.ref.name: w.pod.containers[0] for w in attackmap.load(*docs).workloads}


def test_equal_containers_are_one_object() -> None:
    found = containers(pod("a"), pod("b"), pod("c", spec={"hostNetwork": True}))
    assert found["a"] is found["b"]
    assert found["a"] is found["c"]  # the pod differs, not what the container reads


def test_what_a_container_reads_keeps_containers_apart() -> None:
    runs_as_root = {"securityContext": {"runAsUser": 0}}
    found = containers(
        pod("plain"),
        pod("pod-sc", spec=runs_as_root),
        pod(
            "annotated",
            annotations={"container.apparmor.security.beta.kubernetes.io/main": "unconfined"},
        ),
        pod("other-annotation", annotations={"example.com/note": "x"}),
        pod("port-int", ports=[{"containerPort": 80}]),
        pod("port-int-again", ports=[{"containerPort": 80}]),
    )
    assert found["pod-sc"] is not found["plain"]
    assert found["pod-sc"].run_as_user == 0 and found["plain"].run_as_user is None
    assert found["annotated"] is not found["plain"]
    assert found["annotated"].apparmor_profile is not None
    assert found["other-annotation"] is found["plain"]
    assert found["port-int"] is found["port-int-again"]
    assert found["port-int"] is not found["plain"]
    # the same mapping as an init container and as the regular one: two kinds
    same = {"name": "main", "image": "registry.example/app:1"}
    (both,) = attackmap.load(pod("init", spec={"initContainers": [same]})).workloads
    init, regular = both.pod.containers
    assert (init.kind, regular.kind) == ("init", "regular")
    assert init is not found["plain"]
    assert regular == found["plain"]  # another load: equal, its own object
    assert regular is not found["plain"]  # (the memo lasts one load)
    assert init != regular


def test_a_memo_builds_the_pod_it_builds_without_one() -> None:
    template: Doc = {
        "metadata": {
            "annotations": {"container.apparmor.security.beta.kubernetes.io/b": "runtime/default"}
        },
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{"name": "a", "image": "x", "restartPolicy": "Always"}],
            "containers": [
                {
                    "name": "b",
                    "image": "x",
                    "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                },
                {"name": "c", "image": "y", "env": [{"name": "TOKEN", "value": "x"}]},
            ],
        },
    }
    parsed = K8sPodTemplate.model_validate(template)
    memo: dict[bytes, Container] = {}
    first = build_pod(parsed, template["spec"], memo)
    assert first == build_pod(parsed, template["spec"])
    assert len(memo) == 3
    again = build_pod(parsed, template["spec"], memo)
    assert all(x is y for x, y in zip(first.containers, again.containers, strict=True))
    assert len(memo) == 3


def test_typed_values_keep_containers_apart() -> None:
    """The key is the JSON text of what the container reads: 1, 1.5, "1" and True are
    different keys, so no two different values share a container."""
    found = containers(
        pod("cpu-1", resources={"limits": {"cpu": 1}}),
        pod("cpu-1.5", resources={"limits": {"cpu": 1.5}}),
        pod("cpu-'1'", resources={"limits": {"cpu": "1"}}),
        pod("tty", tty=True),
        pod("no-tty", tty=False),
    )
    assert found["cpu-1"] is not found["cpu-1.5"]
    assert found["cpu-1"].resources != found["cpu-1.5"].resources
    assert found["cpu-1"] is not found["cpu-'1'"]  # two keys (equal or not, each its own)
    assert found["tty"] is not found["no-tty"]
