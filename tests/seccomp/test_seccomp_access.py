"""open_syscalls: seccomp filter ∧ capabilities, for every kind of configured seccomp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.errors import SeccompError
from attackmap.seccomp import (
    ESCAPE_GROUPS,
    ESCAPE_SYSCALLS,
    REQUIRED_CAPABILITIES,
    SeccompSpec,
    SyscallAccess,
    apparmor_effect,
    load_profile,
    open_syscalls,
    syscall_access,
)

DATA = Path(__file__).parent / "data"
NONE: frozenset[str] = frozenset()
RUNTIME_DEFAULT = SeccompSpec(type="RuntimeDefault")

LEFT_OUT = (
    "mount",
    "umount2",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "open_by_handle_at",
    "init_module",
    "finit_module",
    "ptrace",
    "keyctl",
)


def _access(spec: SeccompSpec, *caps: str, **kw: object) -> SyscallAccess:
    return open_syscalls(profile=spec, capabilities=frozenset(caps), privileged=False, **kw)  # type: ignore[arg-type]  # kw are open_syscalls keywords


def test_escape_syscalls_are_grouped_once_with_capabilities() -> None:
    grouped = [n for g in ESCAPE_GROUPS for n in g.syscalls]
    assert sorted(grouped) == sorted(ESCAPE_SYSCALLS)
    assert len(set(ESCAPE_SYSCALLS)) == len(ESCAPE_SYSCALLS)
    assert set(REQUIRED_CAPABILITIES) == set(ESCAPE_SYSCALLS)
    assert all(g.rationale for g in ESCAPE_GROUPS)


# --- the scenario the engine relies on ------------------------------------------------


def test_done_when_sys_admin_runtime_default_apparmor_unconfined_mounts() -> None:
    access = _access(RUNTIME_DEFAULT, "SYS_ADMIN", kernel="6.8")
    assert access.usable("mount")
    assert access.warnings == ()
    effect = apparmor_effect(
        "Unconfined", None, kubernetes_version="1.31", node_apparmor=True, privileged=False
    )
    assert not effect.denies_mount


def test_done_when_localhost_profile_leaving_escapes_out(tmp_path: Path) -> None:
    reference = load_profile(DATA / "ig-advise.json")
    kept = sorted((set(reference.names()) | set(ESCAPE_SYSCALLS)) - set(LEFT_OUT))
    root = tmp_path / "seccomp"
    (root / "profiles").mkdir(parents=True)
    (root / "profiles" / "nim.json").write_text(
        json.dumps(
            {
                "defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": [{"names": kept, "action": "SCMP_ACT_ALLOW"}],
            }
        )
    )
    spec = SeccompSpec(type="Localhost", localhost_profile="profiles/nim.json")
    access = open_syscalls(
        profile=spec,
        capabilities=frozenset(
            {"SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "DAC_READ_SEARCH", "BPF", "PERFMON"}
        ),
        privileged=False,
        kernel="6.8",
        seccomp_root=root,
    )
    assert access.profile == "Localhost profiles/nim.json"
    assert access.warnings == ()
    assert not any(access.usable(n) for n in LEFT_OUT)
    assert set(LEFT_OUT) <= access.denied
    assert access.usable("fsopen")  # kept in the profile, SYS_ADMIN held: still open
    effect = apparmor_effect(
        "RuntimeDefault", None, kubernetes_version="1.31", node_apparmor=True, privileged=False
    )
    assert effect.denies_mount


# --- RuntimeDefault ------------------------------------------------------------------


def test_runtime_default_without_capabilities() -> None:
    access = _access(RUNTIME_DEFAULT, kernel="6.8")
    # ptrace family allowed by the filter (kernel >= 4.8) but SYS_PTRACE is missing
    assert access.allowed_set == {
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "name_to_handle_at",
    }
    assert access.usable_set == {"name_to_handle_at"}
    assert access.conditional == frozenset()
    clone = access.verdict("clone")
    assert clone.seccomp == "denied"
    assert "without namespace flags" in clone.note


@pytest.mark.parametrize(
    ("cap", "opened"),
    [
        (
            "SYS_ADMIN",
            {
                "mount",
                "umount2",
                "unshare",
                "setns",
                "fsopen",
                "fsconfig",
                "fsmount",
                "fspick",
                "open_tree",
                "move_mount",
                "mount_setattr",
                "clone",
                "clone3",
                "bpf",
                "perf_event_open",
            },
        ),
        ("BPF", {"bpf"}),
        ("PERFMON", {"perf_event_open"}),
        ("SYS_MODULE", {"init_module", "finit_module", "delete_module"}),
        ("DAC_READ_SEARCH", {"open_by_handle_at"}),
        ("SYS_PTRACE", {"ptrace", "process_vm_readv", "process_vm_writev"}),
        ("SYS_BOOT", {"reboot"}),
        ("SYS_CHROOT", {"chroot"}),
    ],
)
def test_runtime_default_capability_matrix(cap: str, opened: set[str]) -> None:
    access = _access(RUNTIME_DEFAULT, cap, kernel="6.8")
    assert access.usable_set - {"name_to_handle_at"} == opened


def test_runtime_default_never_opens_some_syscalls() -> None:
    access = open_syscalls(
        profile=RUNTIME_DEFAULT, capabilities=frozenset({"ALL"}), privileged=False, kernel="6.8"
    )
    never = {
        "keyctl",
        "add_key",
        "request_key",
        "kexec_load",
        "kexec_file_load",
        "pivot_root",
        "userfaultfd",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "swapon",
    }
    assert access.denied == never
    assert not (access.usable_set & never)


def test_kernel_below_4_8_needs_sys_ptrace_for_ptrace() -> None:
    assert not _access(RUNTIME_DEFAULT, kernel="4.4").allowed("ptrace")
    assert _access(RUNTIME_DEFAULT, "SYS_PTRACE", kernel="4.4").usable("ptrace")


def test_unknown_kernel_assumes_the_permissive_outcome_and_says_so() -> None:
    access = _access(RUNTIME_DEFAULT)
    assert access.allowed("ptrace")
    assert len(access.warnings) == 1
    assert "ptrace" in access.warnings[0]
    # with SYS_PTRACE the kernel does not matter: no warning
    assert _access(RUNTIME_DEFAULT, "SYS_PTRACE").warnings == ()


def test_capabilities_with_cap_prefix_are_accepted() -> None:
    assert _access(RUNTIME_DEFAULT, "cap_sys_admin", kernel="6.8").usable("mount")


# --- Unconfined, unset, privileged ---------------------------------------------------


def test_unconfined_allows_everything_capabilities_still_count() -> None:
    access = _access(SeccompSpec(type="Unconfined"))
    assert access.allowed_set == set(ESCAPE_SYSCALLS)
    assert not access.usable("mount")
    assert access.usable("unshare")  # user namespaces: the CVE-2022-0492 precondition
    assert access.usable("keyctl")
    assert access.usable("io_uring_setup")


def test_unset_is_unconfined_unless_kubelet_seccomp_default() -> None:
    unset = _access(SeccompSpec())
    assert unset.profile == "Unconfined (unset)"
    assert unset.allowed("unshare")
    defaulted = _access(SeccompSpec(kubelet_seccomp_default=True), kernel="6.8")
    assert defaulted.profile.startswith("RuntimeDefault")
    assert not defaulted.allowed("unshare")


def test_privileged_is_not_filtered_and_holds_every_capability(tmp_path: Path) -> None:
    access = open_syscalls(profile=RUNTIME_DEFAULT, capabilities=NONE, privileged=True)
    assert access.usable_set == set(ESCAPE_SYSCALLS)
    assert access.profile == "none (privileged)"
    # even a missing Localhost profile is irrelevant: the runtime loads none
    missing = SeccompSpec(type="Localhost", localhost_profile="nope.json")
    assert (
        open_syscalls(
            profile=missing, capabilities=NONE, privileged=True, seccomp_root=tmp_path
        ).warnings
        == ()
    )


# --- Localhost resolution ------------------------------------------------------------


@pytest.mark.parametrize(
    ("localhost", "root", "reason"),
    [
        ("profiles/missing.json", True, "not found"),
        ("profiles/nim.json", False, "no seccomp root given"),
        ("../etc/profile.json", True, "not a relative path"),
        ("/etc/profile.json", True, "not a relative path"),
        (None, True, "without localhostProfile"),
    ],
)
def test_unresolvable_localhost_is_permissive_and_flagged(
    tmp_path: Path, localhost: str | None, root: bool, reason: str
) -> None:
    spec = SeccompSpec(type="Localhost", localhost_profile=localhost)
    access = open_syscalls(
        profile=spec, capabilities=NONE, privileged=False, seccomp_root=tmp_path if root else None
    )
    assert access.allowed_set == set(ESCAPE_SYSCALLS)
    assert len(access.warnings) == 1
    assert reason in access.warnings[0]
    assert "treated as Unconfined" in access.warnings[0]


def test_malformed_localhost_profile_raises(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text((DATA / "bad-action.json").read_text())
    spec = SeccompSpec(type="Localhost", localhost_profile="bad.json")
    with pytest.raises(SeccompError, match="unknown seccomp action"):
        open_syscalls(profile=spec, capabilities=NONE, privileged=False, seccomp_root=tmp_path)


# --- actions, argument filters, moby conditions in Localhost profiles ----------------


def test_actions_log_and_notify_permit_trace_denies() -> None:
    access = syscall_access(
        load_profile(DATA / "oci-nim.json"), capabilities=frozenset({"SYS_PTRACE"})
    )
    assert access.verdict("ptrace").seccomp == "allowed"  # SCMP_ACT_LOG
    assert access.usable("ptrace")
    assert access.usable("keyctl")  # SCMP_ACT_NOTIFY: the agent is assumed to allow
    assert access.verdict("userfaultfd").seccomp == "denied"  # SCMP_ACT_TRACE, no tracer
    assert access.verdict("bpf").action.value == "SCMP_ACT_ERRNO"
    assert access.verdict("mount").seccomp == "denied"  # default action


def test_blocklist_profile_with_argument_filtered_denial_is_conditional() -> None:
    access = syscall_access(
        load_profile(DATA / "oci-blocklist.json"), capabilities=frozenset({"SYS_ADMIN"})
    )
    assert access.denied == {"mount", "umount2", "kexec_load"}
    assert access.conditional == {"unshare"}
    assert access.usable("unshare")  # conditional counts as allowed
    assert access.usable("setns")


def test_allow_rule_with_arguments_is_conditional() -> None:
    profile = load_profile(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {
                    "names": ["keyctl"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}],
                },
                {
                    "names": ["clone"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 0x10000000, "op": "SCMP_CMP_EQ"}],
                },
            ],
        }
    )
    access = syscall_access(profile, capabilities=NONE)
    assert access.conditional == {"keyctl", "clone"}  # clone admits CLONE_NEWUSER here
    assert access.usable("keyctl")


def test_moby_conditions_in_a_localhost_profile() -> None:
    profile = load_profile(DATA / "moby-custom.json")
    plain = syscall_access(profile, capabilities=NONE, kernel="5.4")
    assert not plain.allowed("mount")
    assert not plain.allowed("ptrace")  # minKernel 5.10
    assert not plain.allowed("clone")  # only without namespace flags
    admin = syscall_access(profile, capabilities=frozenset({"SYS_ADMIN"}), kernel="5.15")
    assert admin.usable("mount")
    assert admin.allowed("ptrace")
    assert admin.usable("clone")


def test_unknown_architecture_is_an_error() -> None:
    with pytest.raises(SeccompError, match="unsupported architecture"):
        _access(RUNTIME_DEFAULT, arch="vax")


def test_verdict_of_a_non_escape_syscall() -> None:
    with pytest.raises(KeyError):
        _access(RUNTIME_DEFAULT).usable("read")


def test_access_is_deterministic_and_serialisable() -> None:
    a = _access(RUNTIME_DEFAULT, "SYS_ADMIN", kernel="6.8").model_dump_json()
    b = _access(RUNTIME_DEFAULT, "SYS_ADMIN", kernel="6.8").model_dump_json()
    assert a == b
    assert [v["name"] for v in json.loads(a)["syscalls"]] == list(ESCAPE_SYSCALLS)
