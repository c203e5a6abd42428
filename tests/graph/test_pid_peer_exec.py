"""Issue 17: code execution in another container of the pod through a shared PID namespace
(``shared-pid-peer-exec``, T1080): writing its root filesystem through /proc/<pid>/root.

Before, a shared PID namespace led only to the other containers' credentials; a foothold in
one container never reached execution in another."""

from __future__ import annotations

from typing import Any

import pytest

from attackmap.attack import load_attack
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import AttackGraph
from attackmap.graph._facts import extract
from attackmap.graph._relations import RELATIONS
from attackmap.model import load

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(load_attack())


def container(name: str, **sc: Any) -> Doc:
    doc: Doc = {"name": name, "image": "ubuntu"}
    if sc:
        doc["securityContext"] = sc
    return doc


def pod(name: str, *containers: Doc, share: bool = True) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "nim"},
        "spec": {"shareProcessNamespace": share, "containers": list(containers)},
    }


def reaches(doc: Doc, catalogue: Catalogue, source: str, target: str) -> bool:
    graph = AttackGraph(extract(load(doc)), catalogue)
    name = doc["metadata"]["name"]
    return f"state:exec@Pod/nim/{name}[{target}]" in graph.reachable_from(
        f"state:exec@Pod/nim/{name}[{source}]"
    )


def test_the_kubehound_pods_take_over_their_own_peers_only(catalogue: Catalogue) -> None:
    """SHARE_PS_NAMESPACE.yaml: two pods of root containers (the images decide); each
    container reaches the others of its pod, never those of the other pod."""
    docs = [
        pod("pod1", container("a"), container("b"), container("c")),
        pod("pod2", container("d"), container("e")),
    ]
    fb = extract(load(*docs))
    pod1 = next(w for w in fb.workloads if w.key == "Pod/nim/pod1")
    assert all("pid_peer:exec" in c.facts for c in pod1.containers)
    targets = RELATIONS["pid_namespace_peers"](fb, pod1, "a")
    assert targets == (("Pod/nim/pod1", "b"), ("Pod/nim/pod1", "c"))
    graph = AttackGraph(fb, catalogue)
    reached = graph.reachable_from("state:exec@Pod/nim/pod1[a]")
    assert "state:exec@Pod/nim/pod1[c]" in reached
    assert "state:exec@Pod/nim/pod2[d]" not in reached


@pytest.mark.parametrize(
    ("writer", "peer", "takes_over"),
    [
        ({}, {}, True),  # the images decide: root in both
        ({"runAsUser": 1000}, {"runAsUser": 1000}, True),  # the peer's own files
        # the ptrace check refuses another user without a way to uid 0
        ({"runAsUser": 1001, "allowPrivilegeEscalation": False}, {"runAsUser": 1000}, False),
        # a setuid binary regains uid 0, whose CAP_SETUID and CAP_SETGID take the peer's ids
        ({"runAsUser": 1001}, {"runAsUser": 1000}, True),
        # root takes the peer's user and group as its file-system ids (setfsuid, setfsgid)
        ({"runAsUser": 0}, {"runAsUser": 1000}, True),
        ({"runAsUser": 0, "capabilities": {"drop": ["SETUID"]}}, {"runAsUser": 1000}, False),
        ({"runAsUser": 0, "capabilities": {"drop": ["SETGID"]}}, {"runAsUser": 1000}, False),
        ({"runAsUser": 0, "capabilities": {"add": ["SYS_PTRACE"]}}, {"runAsUser": 1000}, True),
        ({"runAsUser": 0}, {"runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}, False),
        ({}, {"readOnlyRootFilesystem": True}, False),  # nothing to write
        ({"readOnlyRootFilesystem": True}, {}, True),  # the writer's own root does not matter
        (
            {"runAsUser": 1000, "allowPrivilegeEscalation": False},
            {"runAsUser": 1000},
            True,  # the same user, no privilege needed
        ),
    ],
)
def test_which_container_may_take_over_which(
    catalogue: Catalogue, writer: Doc, peer: Doc, takes_over: bool
) -> None:
    doc = pod("p", container("app", **writer), container("peer", **peer))
    (w,) = extract(load(doc)).workloads
    app = next(c for c in w.containers if c.name == "app")
    assert ("pid_peer:exec" in app.facts) is takes_over
    assert reaches(doc, catalogue, "app", "peer") is takes_over


def test_without_a_shared_pid_namespace_nothing_moves(catalogue: Catalogue) -> None:
    doc = pod("p", container("app"), container("peer"), share=False)
    assert not reaches(doc, catalogue, "app", "peer")


def test_an_init_container_is_no_target(catalogue: Catalogue) -> None:
    doc = pod("p", container("app"))
    doc["spec"]["initContainers"] = [container("init")]
    (w,) = extract(load(doc)).workloads
    assert not any("pid_peer:exec" in c.facts for c in w.containers)


def _techniques(doc: Doc) -> set[str]:
    from attackmap import analyze

    return {t.technique.id for w in analyze([doc]).workloads for t in w.techniques}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # root with the runtime's default capabilities takes the other's user first: the
        # takeover a shared user gave stays (it was lost before setfsuid was modelled)
        ({"runAsUser": 1000}, {"runAsUser": 0}),
        ({"runAsUser": 1000, "allowPrivilegeEscalation": False}, {"runAsUser": 0}),
        ({"runAsUser": 1001, "allowPrivilegeEscalation": False}, {"runAsUser": 1001}),
        ({"runAsUser": 1001, "allowPrivilegeEscalation": False}, {"runAsUser": 0}),
        ({"runAsUser": 0, "capabilities": {"drop": ["SETUID"]}}, {"runAsUser": 0}),
    ],
)
def test_more_privilege_in_one_container_removes_no_technique(
    before: Doc, after: Doc, catalogue: Catalogue
) -> None:
    peer = container("peer", runAsUser=1000)
    low = pod("p", container("app", **before), peer)
    high = pod("p", container("app", **after), peer)
    assert _techniques(low) <= _techniques(high)
    if reaches(low, catalogue, "app", "peer"):
        assert reaches(high, catalogue, "app", "peer")
    assert "T1080" in _techniques(high)
