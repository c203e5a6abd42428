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
from attackmap.seccomp._profile import Action, SeccompProfile

__all__ = ["runtime_default_profile", "unconfined_profile"]

TABLE = "seccomp/runtime-default.json"


def _rule(name: str, cond: dict[str, Any]) -> dict[str, Any]:
    """One condition of the table as the fields of a
    :class:`~attackmap.seccomp.SyscallRule` (an empty ``includes``/``excludes`` left out:
    the model's shared default)."""
    rule: dict[str, Any] = {"names": (name,), "action": cond["action"]}
    if "errnoRet" in cond:
        rule["errno_ret"] = cond["errnoRet"]
    if "args" in cond:
        rule["args"] = [
            {"index": a["index"], "op": a["op"], "value": a["value"], "value_two": a["valueTwo"]}
            for a in cond["args"]
        ]
    for side, caps, arches, kernel in (
        ("includes", "caps", "arches", "minKernel"),
        ("excludes", "withoutCaps", "notArches", "belowKernel"),
    ):
        if caps in cond or arches in cond or kernel in cond:
            rule[side] = {
                "caps": cond.get(caps, ()),
                "arches": cond.get(arches, ()),
                "min_kernel": cond.get(kernel),
            }
    return rule


@cache
def runtime_default_profile() -> SeccompProfile:
    """The runtime default profile (from the packaged derived table)."""
    resource = data_dir().joinpath(TABLE)
    try:
        table = json.loads(resource.read_text(encoding="utf-8"))
        default = table["default"]
        # one validation of the whole profile (pydantic-core walks the ~440 rules), not a
        # validating constructor call per rule and condition (~1,300 calls, ~10 ms a start)
        return SeccompProfile.model_validate(
            {
                "format": "runtime-default",
                "name": "RuntimeDefault",
                "default_action": default["action"],
                "default_errno_ret": default.get("errnoRet"),
                "syscalls": [
                    _rule(name, cond) for name, conds in table["syscalls"].items() for cond in conds
                ],
            }
        )
    except (OSError, ValueError, KeyError, TypeError) as e:  # ValidationError is a ValueError
        raise SeccompError(
            f"the packaged RuntimeDefault table is unreadable: {e}",
            path=f"attackmap/data/{TABLE}",
            hint="reinstall attackmap or re-run scripts/build_seccomp_data.py",
        ) from e


def unconfined_profile() -> SeccompProfile:
    """No filter: every syscall allowed."""
    return SeccompProfile(format="unconfined", name="Unconfined", default_action=Action.ALLOW)
