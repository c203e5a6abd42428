"""The ``RuntimeDefault`` and ``Unconfined`` profiles.

``RuntimeDefault`` is the container runtime's default profile (moby's, which containerd
and CRI-O follow closely), read from attackmap's own derived table
``data/seccomp/runtime-default.json`` (built by ``scripts/build_seccomp_data.py``). In
short, under it:

* ~360 syscalls are allowed unconditionally;
* ``mount``, ``umount2``, ``unshare``, ``setns``, the new mount API, ``bpf``,
  ``perf_event_open``, ``clone3`` and namespace-creating ``clone`` need CAP_SYS_ADMIN;
  ``bpf`` also opens with CAP_BPF and ``perf_event_open`` with CAP_PERFMON;
  modules need CAP_SYS_MODULE, ``open_by_handle_at`` CAP_DAC_READ_SEARCH, ``reboot``
  CAP_SYS_BOOT, ``chroot`` CAP_SYS_CHROOT;
* without CAP_SYS_ADMIN, ``clone`` is allowed only without namespace flags (an argument
  filter) and ``clone3`` fails with ENOSYS (so libc falls back to ``clone``);
* ``ptrace``, ``process_vm_readv``/``writev`` are allowed on kernels >= 4.8 (before
  that only with CAP_SYS_PTRACE);
* some syscalls exist only on some architectures (``arch_prctl`` on amd64/x32...);
* never allowed: ``keyctl``, ``add_key``, ``request_key``, ``kexec_load``,
  ``kexec_file_load``, ``pivot_root``, ``userfaultfd``, ``io_uring_*``, ``swapon``...
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from attackmap._resources import data_dir
from attackmap.errors import SeccompError
from attackmap.seccomp._profile import (
    Action,
    ArgCondition,
    RuleCondition,
    SeccompProfile,
    SyscallRule,
)

__all__ = ["runtime_default_profile", "unconfined_profile"]

TABLE = "seccomp/runtime-default.json"


def _rule(name: str, cond: dict[str, Any]) -> SyscallRule:
    return SyscallRule(
        names=(name,),
        action=Action(cond["action"]),
        errno_ret=cond.get("errnoRet"),
        args=tuple(
            ArgCondition(index=a["index"], op=a["op"], value=a["value"], value_two=a["valueTwo"])
            for a in cond.get("args", [])
        ),
        includes=RuleCondition(
            caps=tuple(cond.get("caps", [])),
            arches=tuple(cond.get("arches", [])),
            min_kernel=cond.get("minKernel"),
        ),
        excludes=RuleCondition(
            caps=tuple(cond.get("withoutCaps", [])),
            arches=tuple(cond.get("notArches", [])),
            min_kernel=cond.get("belowKernel"),
        ),
    )


@cache
def runtime_default_profile() -> SeccompProfile:
    """The runtime default profile (from the packaged derived table)."""
    resource = data_dir().joinpath(TABLE)
    try:
        table = json.loads(resource.read_text(encoding="utf-8"))
        rules = tuple(
            _rule(name, cond) for name, conds in table["syscalls"].items() for cond in conds
        )
        default = table["default"]
        return SeccompProfile(
            format="runtime-default",
            name="RuntimeDefault",
            default_action=Action(default["action"]),
            default_errno_ret=default.get("errnoRet"),
            syscalls=rules,
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SeccompError(
            f"the packaged RuntimeDefault table is unreadable: {e}",
            path=f"attackmap/data/{TABLE}",
            hint="reinstall attackmap or re-run scripts/build_seccomp_data.py",
        ) from e


def unconfined_profile() -> SeccompProfile:
    """No filter: every syscall allowed."""
    return SeccompProfile(format="unconfined", name="Unconfined", default_action=Action.ALLOW)
