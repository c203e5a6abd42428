"""Issue 17: code execution in another container of the pod through a shared PID namespace
(``shared-pid-peer-exec``, T1080): writing its root filesystem through /proc/<pid>/root.

Before, a shared PID namespace led only to the other containers' credentials; a foothold in
one container never reached execution in another."""

from __future__ import annotations

from typing import Any

import pytest
from tests.graph.ptrace_cases import PTRACE_CASES

from attackmap.attack import load_attack
from attackmap.graph._catalogue import Catalogue, load_catalogue
from attackmap.graph._engine import AttackGraph
from attackmap.graph._facts import DEFAULT_CAPABILITIES, extract
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
        *PTRACE_CASES,
        ({}, {}, True),  # the images decide: root in both
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
        # (app, peer) before, then with one of them given more privilege
        # root with the runtime's default capabilities takes the other's user first: the
        # takeover a shared user gave stays (it was lost before setfsuid was modelled)
        (({"runAsUser": 1000}, {"runAsUser": 1000}), ({"runAsUser": 0}, {"runAsUser": 1000})),
        (
            ({"runAsUser": 1000, "allowPrivilegeEscalation": False}, {"runAsUser": 1000}),
            ({"runAsUser": 0}, {"runAsUser": 1000}),
        ),
        (
            ({"runAsUser": 1001, "allowPrivilegeEscalation": False}, {"runAsUser": 1000}),
            ({"runAsUser": 1001}, {"runAsUser": 1000}),
        ),
        (
            ({"runAsUser": 0, "capabilities": {"drop": ["SETUID"]}}, {"runAsUser": 1000}),
            ({"runAsUser": 0}, {"runAsUser": 1000}),
        ),
        # the peer raised to root: the app reaches uid 0 through a setuid binary, and needs
        # no CAP_SETUID for the same user
        (
            (
                {"runAsUser": 1000, "capabilities": {"drop": ["SETUID"]}},
                {
                    "runAsUser": 1000,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            ),
            (
                {"runAsUser": 1000, "capabilities": {"drop": ["SETUID"]}},
                {
                    "runAsUser": 0,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            ),
        ),
        # a peer whose user the image decides may be another than root
        (
            (
                {"runAsUser": 1000, "allowPrivilegeEscalation": False},
                {"capabilities": {"add": ["NET_ADMIN"]}},
            ),
            ({"runAsUser": 0}, {"capabilities": {"add": ["NET_ADMIN"]}}),
        ),
    ],
)
def test_more_privilege_in_one_container_removes_no_technique(
    before: tuple[Doc, Doc], after: tuple[Doc, Doc], catalogue: Catalogue
) -> None:
    low = pod("p", container("app", **before[0]), container("peer", **before[1]))
    high = pod("p", container("app", **after[0]), container("peer", **after[1]))
    assert _techniques(low) <= _techniques(high)
    assert reaches(high, catalogue, "app", "peer")


# -- the model against a small model of the kernel's check ---------------------------------
#
# A container's security context in the lattice below: its user (runAsUser), whether
# allowPrivilegeEscalation is left true, its capabilities, privileged. The groups are left
# to the images (they may be the same). The kernel's PTRACE_MODE_READ_FSCREDS check, as
# ptrace(2) gives it: CAP_SYS_PTRACE, or the caller's file-system user and group equal to
# the target's and, when that user is root, the target's permitted capabilities within
# the caller's effective ones. A process that reaches uid 0 (runAsUser 0, a setuid binary
# while escalation is allowed, privileged) may setfsuid/setfsgid to any user and group
# with CAP_SETUID/CAP_SETGID; a process of another user than root holds no capability.

_USERS = (1000, 0)
_CAPS = ("drop ALL", "drop SETUID", "drop SETGID", "default", "add SYS_PTRACE")
_LATTICE = [
    (user, escalation, caps, privileged)
    for user in _USERS
    for escalation in (False, True)
    for caps in _CAPS
    for privileged in (False, True)
    if escalation or not privileged  # the API refuses privileged without escalation
]


def _context(ctx: tuple[int, bool, str, bool]) -> dict[str, Any]:
    user, escalation, caps, privileged = ctx
    sc: dict[str, Any] = {"runAsUser": user, "allowPrivilegeEscalation": escalation}
    verb, _, cap = caps.partition(" ")
    if verb in ("drop", "add"):
        sc["capabilities"] = {verb: [cap]}
    if privileged:
        sc["privileged"] = True
    return sc


def _kernel_caps(ctx: tuple[int, bool, str, bool]) -> frozenset[str]:
    """The capabilities of the container's processes as root."""
    from attackmap.graph._facts import LINUX_CAPABILITIES

    _user, _escalation, caps, privileged = ctx
    verb, _, cap = caps.partition(" ")
    if privileged:
        return frozenset(LINUX_CAPABILITIES)
    if verb == "drop":
        return frozenset() if cap == "ALL" else DEFAULT_CAPABILITIES - {cap}
    return DEFAULT_CAPABILITIES | ({cap} if verb == "add" else set())


def _kernel_reads(r: tuple[int, bool, str, bool], p: tuple[int, bool, str, bool]) -> bool:
    if r[0] != 0 and r[0] == p[0]:
        return True  # the same user, not root: the target holds no capability
    if not (r[0] == 0 or r[1] or r[3]):
        return False  # no way to uid 0
    caps = _kernel_caps(r)
    if "SYS_PTRACE" in caps:
        return True
    if p[0] == 0:
        return _kernel_caps(p) <= caps
    return "SETUID" in caps  # (the groups left to the images: setfsgid or the same)


def test_the_ptrace_check_is_the_kernels_over_every_pair_of_contexts() -> None:
    """Every ordered pair of 30 contexts in one pod: ``pid_peer:exec`` (a container may
    write the other's root filesystem: the check, then uid 0 or the other's own user) and
    ``pid_peer:env_credential`` (it may read the other's environment) where the kernel's
    check passes, and nowhere else (where the kernel's check is monotone, so are the facts)."""
    pairs = [(a, b) for a in _LATTICE for b in _LATTICE]
    docs = []
    for i, (a, b) in enumerate(pairs):
        peer = container("b", **_context(b))
        peer["env"] = [{"name": "HF_TOKEN", "value": "hf_abcdefghijklmnopqrstuvwxyzABCD"}]
        docs.append(pod(f"p{i}", container("a", **_context(a)), peer))
    wrong = []
    for w in extract(load(*docs)).workloads:
        a, b = pairs[int(w.key.rpartition("/p")[2])]
        facts = {c.name: c.facts for c in w.containers}
        reads = _kernel_reads(a, b)
        writes = reads and (a[0] == 0 or a[1] or a[3] or a[0] == b[0])
        if ("pid_peer:env_credential" in facts["a"]) is not reads:
            wrong.append(("reads", a, b, reads))
        if ("pid_peer:exec" in facts["a"]) is not writes:
            wrong.append(("writes", a, b, writes))
    assert not wrong, wrong[:10]


# -- the check itself against processes the kernel would run -------------------------------
#
# Independent of the rule's reasoning: every concrete user and group an image may choose
# where the manifests leave them (runAsNonRoot: never uid 0), every credential state a
# process of the reader can reach (its own; uid 0 through a setuid binary where escalation
# is allowed; then any file-system user with CAP_SETUID and any group with CAP_SETGID),
# and the kernel's comparison: CAP_SYS_PTRACE in the reader's effective set, or equal
# file-system user and group with the peer's permitted capabilities within the reader's
# effective ones (a process of another user than root holds none).

# the runtime's default capability set (containerd's and Docker's): the data the rule reads
_RUNTIME_DEFAULT = DEFAULT_CAPABILITIES
_CANDIDATE_USERS = (0, 1000, 1001)
_CANDIDATE_GROUPS = (0, 1000, 2000)
_MODES = (  # (allowPrivilegeEscalation, capabilities, privileged)
    (False, "drop ALL", False),
    (False, "drop SETUID", False),
    (False, "drop SETGID", False),
    (False, "default", False),
    (True, "default", False),
    (True, "drop SETUID", False),
    (True, "default", True),
    (False, "only SYS_PTRACE", False),  # drop ALL, add SYS_PTRACE
    (False, "add SYS_PTRACE", False),
)
# the file-system capabilities a change of the file-system user away from 0 clears
_FS_CAPS = frozenset(
    {
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "LINUX_IMMUTABLE",
        "MAC_OVERRIDE",
        "MKNOD",
    }
)
_WIDE = [
    (user, group, mode)
    for user in (None, "non-root", 0, 1000, 1001)
    for group in (None, 1000, 2000)
    for mode in _MODES
]


def _wide_context(ctx: tuple[Any, Any, tuple[bool, str, bool]]) -> dict[str, Any]:
    user, group, (escalation, caps, privileged) = ctx
    sc: dict[str, Any] = {"allowPrivilegeEscalation": escalation}
    if user == "non-root":
        sc["runAsNonRoot"] = True
    elif user is not None:
        sc["runAsUser"] = user
    if group is not None:
        sc["runAsGroup"] = group
    verb, _, cap = caps.partition(" ")
    if verb == "drop":
        sc["capabilities"] = {"drop": [cap]}
    elif verb == "add":
        sc["capabilities"] = {"add": [cap]}
    elif verb == "only":
        sc["capabilities"] = {"drop": ["ALL"], "add": [cap]}
    if privileged:
        sc["privileged"] = True
    return sc


def _bounding(ctx: tuple[Any, Any, tuple[bool, str, bool]]) -> frozenset[str]:
    from attackmap.graph._facts import LINUX_CAPABILITIES

    _user, _group, (_escalation, caps, privileged) = ctx
    if privileged:
        return frozenset(LINUX_CAPABILITIES)
    verb, _, cap = caps.partition(" ")
    if verb == "drop":
        return frozenset() if cap == "ALL" else _RUNTIME_DEFAULT - {cap}
    if verb == "only":
        return frozenset({cap})
    return _RUNTIME_DEFAULT | ({cap} if verb == "add" else set())


def _processes(ctx: tuple[Any, Any, tuple[bool, str, bool]]) -> list[tuple[int, int]]:
    """The (uid, gid) the container's process may run as."""
    user, group, _mode = ctx
    users = [u for u in _CANDIDATE_USERS if u != 0] if user == "non-root" else None
    return [
        (u, g)
        for u in (users if users is not None else [user] if user is not None else _CANDIDATE_USERS)
        for g in ([group] if group is not None else _CANDIDATE_GROUPS)
    ]


def _credentials(
    ctx: tuple[Any, Any, tuple[bool, str, bool]], uid: int, gid: int
) -> set[tuple[int, int, frozenset[str]]]:
    """The (file-system uid, gid, effective capabilities) a process of (uid, gid) reaches."""
    bounding = _bounding(ctx)
    escalation = ctx[2][0] or ctx[2][2]
    roots = [gid] if uid == 0 or escalation else []  # uid 0: held, or a setuid binary
    states = {(uid, gid, bounding if uid == 0 else frozenset())}
    for g in roots:
        users = _CANDIDATE_USERS if "SETUID" in bounding else (0,)
        groups = _CANDIDATE_GROUPS if "SETGID" in bounding else (g,)
        for u in users:
            for fg in groups:
                states.add((u, fg, bounding if u == 0 else bounding - _FS_CAPS))
    return states


def _kernel_passes(reader: Any, peer: Any, *, environ: bool = False) -> bool:
    """The ptrace check (and, with ``environ``, the mode 0400 of /proc/<pid>/environ,
    owned by the peer's user) for some choice of the images and some reachable state."""
    for uid, gid in _processes(reader):
        for fsuid, fsgid, caps in _credentials(reader, uid, gid):
            for puid, pgid in _processes(peer):
                permitted = _bounding(peer) if puid == 0 else frozenset()
                checked = "SYS_PTRACE" in caps or (
                    (fsuid, fsgid) == (puid, pgid) and permitted <= caps
                )
                opens = fsuid == puid or bool(caps & {"DAC_OVERRIDE", "DAC_READ_SEARCH"})
                if checked and (opens or not environ):
                    return True
    return False


def test_the_check_is_the_kernels_over_users_and_groups_left_to_the_images() -> None:
    from attackmap.graph._facts import may_read_proc

    docs = [pod(f"p{i}", container("c", **_wide_context(ctx))) for i, ctx in enumerate(_WIDE)]
    found = {}
    for w in extract(load(*docs)).workloads:
        found[int(w.key.rpartition("/p")[2])] = (w.shape.containers[0], w.containers[0].facts)
    wrong = []
    for i, reader in enumerate(_WIDE):
        for j, peer in enumerate(_WIDE):
            for environ in (False, True):
                model = may_read_proc(*found[i], *found[j], environ=environ)
                if model is not _kernel_passes(reader, peer, environ=environ):
                    wrong.append((reader, peer, environ, model))
    assert not wrong, (len(wrong), wrong[:6])
