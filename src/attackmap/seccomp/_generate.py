"""A least-privilege ``Localhost`` profile from observed syscalls.

Input: what a recorder saw — a security-profiles-operator ``SeccompProfile`` (from a
``ProfileRecording``), Inspektor Gadget ``advise seccomp-profile`` output, or plain names
(a list, or text with one or more names per line, ``#`` comments allowed).

Output: ``defaultAction: SCMP_ACT_ERRNO`` (``defaultErrnoRet: 1``, EPERM) allowing the
observed syscalls plus :data:`RUNTIME_START_SYSCALLS`, the calls the runtime (runc/crun)
and the dynamic loader make between installing the filter and the workload's first own
call: the ``execve`` itself, credential changes (the filter is installed before the
runtime drops privileges when ``no_new_privs`` is off, the Kubernetes default), the
loader's mappings and the libc/Go runtime set-up. The start set deliberately holds no
escape-relevant syscall: one is allowed only if it was observed, and then it is reported
in :attr:`GeneratedProfile.warnings`. ``clone`` is allowed only without namespace flags
(the argument filter ``RuntimeDefault`` uses) and ``clone3``, whose flags seccomp cannot
see, is answered with ``ENOSYS`` so that libc falls back to ``clone``.

If a container does not start with the generated profile, record again including the
runtime's start (security-profiles-operator's ``baseProfileName``).
"""

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from attackmap.errors import SeccompError
from attackmap.seccomp._access import native_arch
from attackmap.seccomp._document import read_text
from attackmap.seccomp._profile import SeccompProfile, profiles_in
from attackmap.seccomp._syscalls import ESCAPE_GROUPS, ESCAPE_SYSCALLS, group_of

__all__ = ["RUNTIME_START_SYSCALLS", "GeneratedProfile", "generate_profile"]

# Needed on every architecture to start a process under runc/crun (see module docstring).
RUNTIME_START_SYSCALLS: tuple[str, ...] = (
    "brk",
    "capget",
    "capset",
    "chdir",
    "close",
    "close_range",
    "dup3",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fchdir",
    "fchown",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getpid",
    "getppid",
    "getrandom",
    "gettid",
    "getuid",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "openat",
    "prctl",
    "pread64",
    "prlimit64",
    "read",
    "readlinkat",
    "rseq",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_getaffinity",
    "sched_yield",
    "set_robust_list",
    "set_tid_address",
    "setgid",
    "setgroups",
    "setuid",
    "sigaltstack",
    "statx",
    "tgkill",
    "write",
)
# Only on x86 (legacy entry points the loader and libc still use there).
_X86_START = ("access", "arch_prctl", "dup2", "epoll_create1", "open", "stat")

_ARCHITECTURES = {
    "amd64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "x86": ("SCMP_ARCH_X86",),
    "arm64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
    "arm": ("SCMP_ARCH_ARM",),
    "ppc64le": ("SCMP_ARCH_PPC64LE",),
    "s390x": ("SCMP_ARCH_S390X", "SCMP_ARCH_S390"),
    "riscv64": ("SCMP_ARCH_RISCV64",),
}
_NAMESPACE_MASK = 0x7E020000  # CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET}
_ENOSYS = 38
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

Observed = SeccompProfile | Mapping[str, Any] | str | os.PathLike[str] | Iterable[str]


class GeneratedProfile(BaseModel):
    """A generated Localhost profile and what the generator had to say about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: dict[str, Any]
    escape_syscalls_observed: tuple[str, ...]
    warnings: tuple[str, ...]

    def to_json(self) -> str:
        """The profile as deterministic JSON text (2-space indent, trailing newline)."""
        return json.dumps(self.profile, indent=2) + "\n"


def _names_from_text(text: str, path: str | None) -> list[str]:
    names = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        for word in re.split(r"[\s,]+", line.strip()):
            if not word:
                continue
            if not _NAME.match(word):
                raise SeccompError(
                    f"not a syscall name: {word!r}",
                    path=path,
                    line=lineno,
                    hint="give one syscall name per line (or a recorded profile)",
                )
            names.append(word)
    return names


def _looks_like_profile(text: str) -> bool:
    head = text.lstrip()
    return head.startswith(("{", "[")) or bool(
        re.search(r"^\s*(apiVersion|kind|defaultAction|spec)\s*:", text, re.MULTILINE)
    )


def _observed(observed: Observed, warnings: list[str]) -> set[str]:
    profiles: list[SeccompProfile]
    if isinstance(observed, SeccompProfile):
        profiles = [observed]
    elif isinstance(observed, Mapping):
        profiles = profiles_in(observed)
    elif isinstance(observed, str | os.PathLike):
        if isinstance(observed, str) and ("\n" in observed or observed.lstrip().startswith("{")):
            text, path = observed, None
        else:
            path = os.fspath(observed)
            text = read_text(Path(path))
        if not _looks_like_profile(text):
            return set(_names_from_text(text, path))
        profiles = profiles_in(text if path is None else Path(path))
    else:
        names = list(observed)
        for name in names:
            if not isinstance(name, str) or not _NAME.match(name):
                raise SeccompError(f"not a syscall name: {name!r}")
        return set(names)
    if not profiles:
        raise SeccompError("no recorded profile in the input")
    seen: set[str] = set()
    for profile in profiles:
        label = profile.name or profile.path or "the recorded profile"
        if profile.default_action.permits:
            raise SeccompError(
                f"{label} is not a recording: its default action "
                f"{profile.default_action.value} lets every syscall through",
                path=profile.path,
                field="defaultAction",
                hint="give the ALLOW list a recorder produced (SPO, Inspektor Gadget)",
            )
        if profile.base_profile_name:
            warnings.append(
                f"{label}: base profile {profile.base_profile_name!r} is not resolved; "
                "its syscalls are not included (the runtime start set is)"
            )
        for rule in profile.syscalls:
            if not rule.action.permits:
                continue
            if rule.args:
                warnings.append(
                    f"{label}: argument filter on {', '.join(rule.names)} dropped "
                    "(the syscalls are allowed unconditionally)"
                )
            seen.update(rule.names)
    return seen


def generate_profile(observed: Observed, *, arch: str = "x86_64") -> GeneratedProfile:
    """A Localhost profile allowing ``observed`` ∪ the runtime start set, nothing else.

    ``observed`` is a :class:`SeccompProfile`, a profile mapping, a path (a recorded
    profile in JSON/YAML, or a text file of names), profile text, or syscall names; a
    ``str`` is text when it spans several lines or starts with ``{``, else a path.
    """
    native = native_arch(arch)
    if native not in _ARCHITECTURES:
        raise SeccompError(f"cannot generate a profile for architecture {arch!r}", field="arch")
    warnings: list[str] = []
    seen = _observed(observed, warnings)
    if not seen:
        raise SeccompError("no observed syscalls", hint="record the workload first")
    start = set(RUNTIME_START_SYSCALLS)
    if native in ("amd64", "x86"):
        start.update(_X86_START)
    escapes = tuple(n for n in ESCAPE_SYSCALLS if n in seen)
    plain = sorted((seen | start) - {"clone", "clone3"})
    rules: list[dict[str, Any]] = [{"names": plain, "action": "SCMP_ACT_ALLOW"}]
    if "clone" in seen:
        rules.append(
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [
                    {
                        "index": 1 if native == "s390x" else 0,
                        "value": _NAMESPACE_MASK,
                        "valueTwo": 0,
                        "op": "SCMP_CMP_MASKED_EQ",
                    }
                ],
            }
        )
    if "clone3" in seen:
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": _ENOSYS})
    rationale = {g.name: g.rationale for g in ESCAPE_GROUPS}
    for name in escapes:
        if name == "clone":
            warnings.append(
                "clone was observed: allowed only without namespace flags (as RuntimeDefault)"
            )
        elif name == "clone3":
            warnings.append(
                "clone3 was observed: answered with ENOSYS so libc falls back to clone "
                "(seccomp cannot see clone3's flags)"
            )
        else:
            group = group_of(name)
            warnings.append(
                f"ESCAPE-RELEVANT syscall {name} was observed and is ALLOWED "
                f"({group}: {rationale[group]}); check the recording before deploying"
            )
    profile: dict[str, Any] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": list(_ARCHITECTURES[native]),
        "syscalls": rules,
    }
    return GeneratedProfile(
        profile=profile,
        escape_syscalls_observed=escapes,
        warnings=tuple(warnings),
    )
