"""The ptrace read check between two containers of a pod (``may_read_proc``): the cases
``tests/graph/test_credential_paths.py`` (reading) and ``tests/graph/test_pid_peer_exec.py``
(taking over: the check, then a writable root filesystem) share, where both agree.
Each is (the first container's securityContext, the other's, whether the check passes)."""

from __future__ import annotations

from typing import Any

PTRACE_CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"runAsUser": 1000}, {"runAsUser": 1000}, True),
    # the ptrace check refuses another user without a way to uid 0
    ({"runAsUser": 1001, "allowPrivilegeEscalation": False}, {"runAsUser": 1000}, False),
    # a setuid binary regains uid 0, whose CAP_SETUID and CAP_SETGID take the peer's ids
    ({"runAsUser": 1001}, {"runAsUser": 1000}, True),
    # root takes the peer's user and group as its file-system ids (setfsuid, setfsgid)
    ({"runAsUser": 0}, {"runAsUser": 1000}, True),
    ({"runAsUser": 0, "capabilities": {"drop": ["SETUID"]}}, {"runAsUser": 1000}, False),
    # the groups the manifests set differ: CAP_SETGID takes the peer's (setfsgid)
    ({"runAsUser": 0, "capabilities": {"drop": ["SETGID"]}}, {"runAsUser": 1000}, True),
    (
        {"runAsUser": 0, "runAsGroup": 0, "capabilities": {"drop": ["SETGID"]}},
        {"runAsUser": 1000, "runAsGroup": 1000},
        False,
    ),
    ({"runAsUser": 0, "runAsGroup": 0}, {"runAsUser": 1000, "runAsGroup": 1000}, True),
    (
        {"runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": False},
        {"runAsUser": 1000, "runAsGroup": 2000},
        False,  # the same user in another group: refused
    ),
    ({"runAsUser": 1000, "runAsGroup": 1000}, {"runAsUser": 1000, "runAsGroup": 2000}, True),
    # the peer's user left to the image may be another than root: root takes it
    ({"runAsUser": 0}, {"capabilities": {"add": ["NET_ADMIN"]}}, True),
    (
        {"runAsUser": 0, "capabilities": {"drop": ["SETUID"]}},
        {"capabilities": {"add": ["NET_ADMIN"]}},
        False,
    ),
    # a root peer: through a setuid binary, no CAP_SETUID needed (but no capability
    # the peer holds may be missing)
    (
        {"runAsUser": 1000, "capabilities": {"drop": ["SETUID"]}},
        {"runAsUser": 0, "capabilities": {"drop": ["SETUID"]}},
        True,
    ),
    ({"runAsUser": 1000, "capabilities": {"drop": ["SETUID"]}}, {"runAsUser": 0}, False),
    (
        {"runAsUser": 1000, "runAsNonRoot": True, "allowPrivilegeEscalation": False},
        {"runAsUser": 0},
        False,
    ),
    ({"runAsUser": 0, "capabilities": {"add": ["SYS_PTRACE"]}}, {"runAsUser": 1000}, True),
    ({"runAsUser": 0}, {"runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}, False),
]
