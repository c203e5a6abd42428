"""Seccomp and AppArmor: which escape-relevant syscalls a container can really make.

* :func:`load_profile` reads OCI/Kubernetes, moby, security-profiles-operator and
  Inspektor Gadget profiles into a frozen :class:`SeccompProfile`;
* :func:`runtime_default_profile` is the runtime's ``RuntimeDefault`` profile;
* :func:`open_syscalls` (the engine's entry point) tells, for each of
  :data:`ESCAPE_SYSCALLS`, whether seccomp lets it through and whether the container holds
  the capability the kernel then checks: :class:`SyscallAccess`;
* :func:`apparmor_effect` says what a container's AppArmor profile denies;
* :func:`generate_profile` turns recorded syscalls into a least-privilege Localhost profile.

See ``docs/seccomp.md`` for the model and its assumptions.
"""

from __future__ import annotations

from attackmap.errors import SeccompError
from attackmap.seccomp._access import (
    SeccompSpec,
    SyscallAccess,
    SyscallVerdict,
    open_syscalls,
    seccomp_status,
    syscall_access,
)
from attackmap.seccomp._apparmor import (
    AppArmorEffect,
    apparmor_effect,
    normalize_apparmor_annotation,
)
from attackmap.seccomp._generate import (
    RUNTIME_START_SYSCALLS,
    GeneratedProfile,
    generate_profile,
)
from attackmap.seccomp._profile import (
    Action,
    ArgCondition,
    RuleCondition,
    SeccompProfile,
    SyscallRule,
    load_profile,
)
from attackmap.seccomp._runtime_default import runtime_default_profile, unconfined_profile
from attackmap.seccomp._syscalls import (
    ESCAPE_GROUPS,
    ESCAPE_SYSCALLS,
    REQUIRED_CAPABILITIES,
    EscapeGroup,
)

__all__ = [
    "ESCAPE_GROUPS",
    "ESCAPE_SYSCALLS",
    "REQUIRED_CAPABILITIES",
    "RUNTIME_START_SYSCALLS",
    "Action",
    "AppArmorEffect",
    "ArgCondition",
    "EscapeGroup",
    "GeneratedProfile",
    "RuleCondition",
    "SeccompError",
    "SeccompProfile",
    "SeccompSpec",
    "SyscallAccess",
    "SyscallRule",
    "SyscallVerdict",
    "apparmor_effect",
    "generate_profile",
    "load_profile",
    "normalize_apparmor_annotation",
    "open_syscalls",
    "runtime_default_profile",
    "seccomp_status",
    "syscall_access",
    "unconfined_profile",
]
