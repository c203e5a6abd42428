"""The escape-relevant syscalls, grouped by what an attacker does with them.

For each syscall: the group, and the capabilities the *kernel* checks once seccomp has
let the call through (any one of them suffices; none listed = no capability needed for
the use that matters to an escape). The assumptions behind the capability column:

* ``unshare``/``clone``/``clone3``: creating a *user* namespace needs no capability
  (where the node allows unprivileged user namespaces, the default on most
  distributions); inside it the process holds every capability over the new namespaces,
  which is what the unprivileged cgroup ``release_agent`` escape (CVE-2022-0492) uses.
  Other namespaces need CAP_SYS_ADMIN. So the capability column is empty for them.
* ``bpf``: unprivileged BPF is assumed disabled (``kernel.unprivileged_bpf_disabled``
  is 1 or 2 on current distributions): CAP_BPF or CAP_SYS_ADMIN.
* ``perf_event_open``: ``kernel.perf_event_paranoid`` is assumed >= 2 (the default), so
  kernel profiling needs CAP_PERFMON or CAP_SYS_ADMIN.
* ``ptrace``/``process_vm_*``: tracing processes of another user, or of the host with
  ``hostPID``, needs CAP_SYS_PTRACE; same-user processes in the container need nothing
  but give no escape.
* ``userfaultfd``, ``io_uring_*``, ``keyctl``/``add_key``/``request_key``: no capability;
  they matter as kernel attack surface (exploit primitives, non-namespaced keyrings).
  (``vm.unprivileged_userfaultfd=0`` limits unprivileged userfaultfd to user-mode
  faults since 5.11; we do not count on it.)
"""

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ESCAPE_GROUPS",
    "ESCAPE_SYSCALLS",
    "REQUIRED_CAPABILITIES",
    "EscapeGroup",
    "group_of",
]


class EscapeGroup(BaseModel):
    """A family of escape-relevant syscalls and why it matters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    syscalls: tuple[str, ...]
    rationale: str


ESCAPE_GROUPS: tuple[EscapeGroup, ...] = (
    EscapeGroup(
        name="mount",
        syscalls=(
            "mount",
            "umount2",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "open_tree",
            "move_mount",
            "mount_setattr",
            "pivot_root",
            "chroot",
        ),
        rationale=(
            "mount the host's block devices, procfs/sysfs or a cgroup v1 hierarchy (release_agent "
            "escape), move or re-root mount trees; the new mount API is the same power as mount"
        ),
    ),
    EscapeGroup(
        name="namespaces",
        syscalls=("unshare", "setns", "clone", "clone3"),
        rationale=(
            "enter the host's namespaces (nsenter with hostPID) or create user namespaces to "
            "gain capabilities inside them (CVE-2022-0492); clone/clone3 mean clone with "
            "namespace flags"
        ),
    ),
    EscapeGroup(
        name="kernel_modules",
        syscalls=("init_module", "finit_module", "delete_module"),
        rationale="load (or unload) code into the host kernel: full host compromise",
    ),
    EscapeGroup(
        name="process_access",
        syscalls=("ptrace", "process_vm_writev", "process_vm_readv"),
        rationale=(
            "read or inject into other processes' memory; with hostPID, host processes "
            "(code execution on the host)"
        ),
    ),
    EscapeGroup(
        name="file_handles",
        syscalls=("open_by_handle_at", "name_to_handle_at"),
        rationale=(
            "open host files by inode handle through any bind mount from the host "
            '("Shocker"; Kubernetes bind-mounts /etc/hosts and /dev/termination-log)'
        ),
    ),
    EscapeGroup(
        name="kernel_attack_surface",
        syscalls=(
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
        ),
        rationale=(
            "large, frequently exploited kernel interfaces and exploit primitives "
            "(eBPF verifier bugs, perf bugs, userfaultfd race widening, io_uring bugs); "
            "BPF with capabilities also reads host memory and traffic"
        ),
    ),
    EscapeGroup(
        name="keyrings",
        syscalls=("keyctl", "add_key", "request_key"),
        rationale=(
            "kernel keyrings are not namespaced: other containers' and the host's keys "
            "(e.g. Kerberos, encryption keys); a recurring source of kernel bugs"
        ),
    ),
    EscapeGroup(
        name="host_control",
        syscalls=("kexec_load", "kexec_file_load", "reboot", "swapon"),
        rationale=(
            "replace the running kernel, reboot or halt the node, or take over swap "
            "(host denial of service, reading other processes' swapped memory)"
        ),
    ),
)

# The order of the issue that specified them (stable; reports follow it).
ESCAPE_SYSCALLS: tuple[str, ...] = (
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
    "ptrace",
    "process_vm_writev",
    "process_vm_readv",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "pivot_root",
    "chroot",
    "swapon",
    "reboot",
)

_SYS_ADMIN = ("SYS_ADMIN",)

# syscall -> capabilities of which the kernel wants one (empty: none); see module docstring.
REQUIRED_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "mount": _SYS_ADMIN,
    "umount2": _SYS_ADMIN,
    "fsopen": _SYS_ADMIN,
    "fsconfig": _SYS_ADMIN,
    "fsmount": _SYS_ADMIN,
    "fspick": _SYS_ADMIN,
    "open_tree": _SYS_ADMIN,
    "move_mount": _SYS_ADMIN,
    "mount_setattr": _SYS_ADMIN,
    "pivot_root": _SYS_ADMIN,
    "swapon": _SYS_ADMIN,
    "setns": _SYS_ADMIN,
    "unshare": (),
    "clone": (),
    "clone3": (),
    "chroot": ("SYS_CHROOT",),
    "init_module": ("SYS_MODULE",),
    "finit_module": ("SYS_MODULE",),
    "delete_module": ("SYS_MODULE",),
    "ptrace": ("SYS_PTRACE",),
    "process_vm_writev": ("SYS_PTRACE",),
    "process_vm_readv": ("SYS_PTRACE",),
    "open_by_handle_at": ("DAC_READ_SEARCH",),
    "name_to_handle_at": (),
    "bpf": ("BPF", "SYS_ADMIN"),
    "perf_event_open": ("PERFMON", "SYS_ADMIN"),
    "userfaultfd": (),
    "io_uring_setup": (),
    "io_uring_enter": (),
    "io_uring_register": (),
    "keyctl": (),
    "add_key": (),
    "request_key": (),
    "kexec_load": ("SYS_BOOT",),
    "kexec_file_load": ("SYS_BOOT",),
    "reboot": ("SYS_BOOT",),
}

_NOTES: dict[str, str] = {
    "unshare": "no capability for CLONE_NEWUSER (then all namespaces inside it); others need SYS_ADMIN",
    "clone": "with namespace flags; no capability for CLONE_NEWUSER, others need SYS_ADMIN",
    "clone3": "with namespace flags; no capability for CLONE_NEWUSER, others need SYS_ADMIN",
    "setns": "joining the host's namespaces also needs hostPID (or a host process's ns files)",
    "ptrace": "SYS_PTRACE for other users' or host processes (with hostPID)",
    "bpf": "assumes unprivileged BPF is disabled (kernel.unprivileged_bpf_disabled >= 1)",
    "perf_event_open": "assumes kernel.perf_event_paranoid >= 2",
    "userfaultfd": "kernel exploit primitive; vm.unprivileged_userfaultfd not assumed",
}


def group_of(name: str) -> str:
    """The :data:`ESCAPE_GROUPS` name of an escape-relevant syscall."""
    for group in ESCAPE_GROUPS:
        if name in group.syscalls:
            return group.name
    raise KeyError(f"{name!r} is not an escape-relevant syscall")


def note_of(name: str) -> str:
    """The assumption behind the capability requirement of ``name`` ("" if none)."""
    return _NOTES.get(name, "")
