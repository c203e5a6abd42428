"""Which escape-relevant syscalls a container can make: seccomp filter ∧ capabilities.

:func:`open_syscalls` is the function the attack-graph engine calls. It resolves the
container's configured seccomp (:class:`SeccompSpec`) to a profile and, for every
syscall of :data:`~attackmap.seccomp.ESCAPE_SYSCALLS`, decides:

1. **seccomp**: ``allowed`` (unconditionally), ``conditional`` (allowed only when an
   argument filter matches; counted as allowed, since the attacker picks the arguments,
   but reported) or ``denied`` (an ERRNO/KILL/TRAP/TRACE action).
2. **capability**: whether the container holds one of the capabilities the kernel checks
   once the filter let the call through (:data:`REQUIRED_CAPABILITIES`).
3. **usable** = not denied ∧ capability held.

Rule evaluation follows the runtime: moby ``includes``/``excludes`` select the rules that
apply to this container (capabilities, architecture, kernel version), then for one
syscall an unconditional permitting rule wins, then a permitting rule with argument
conditions (``conditional``), then an unconditional denying rule, then the default
action (``conditional`` when the default permits but a denying rule with arguments
exists). ``clone`` means *clone with namespace flags*: a permitting rule whose argument
filter rules out every ``CLONE_NEW*`` flag (RuntimeDefault without CAP_SYS_ADMIN) does
not open it.

Conservative choices (an analysis should rather over- than under-report a path):

* an unknown kernel version is assumed to satisfy a permitting rule's kernel condition
  and not a denying rule's (RuntimeDefault's ``ptrace`` from 4.8);
* ``SCMP_ACT_LOG``/``SCMP_ACT_NOTIFY`` permit; ``SCMP_ACT_TRACE`` denies (no tracer);
* privileged containers are not filtered at all and hold every capability;
* a ``Localhost`` profile that cannot be found (no seccomp root given, a missing file, a
  path leaving the root) counts as ``Unconfined`` and the reason is in
  :attr:`SyscallAccess.warnings` (a malformed file raises :class:`SeccompError`: the
  runtime would refuse to start the container);
* unset means ``Unconfined`` unless the kubelet runs with ``seccompDefault``.
"""

from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict

from attackmap.errors import SeccompError
from attackmap.seccomp._profile import (
    Action,
    ArgCondition,
    SeccompProfile,
    SyscallRule,
    load_profile,
    parse_kernel,
)
from attackmap.seccomp._runtime_default import runtime_default_profile, unconfined_profile
from attackmap.seccomp._syscalls import (
    ESCAPE_SYSCALLS,
    REQUIRED_CAPABILITIES,
    group_of,
    note_of,
)

__all__ = [
    "SeccompSpec",
    "SyscallAccess",
    "SyscallVerdict",
    "native_arch",
    "open_syscalls",
    "seccomp_status",
    "syscall_access",
]

SeccompType = Literal["RuntimeDefault", "Localhost", "Unconfined"]
SeccompStatus = Literal["allowed", "conditional", "denied"]

# uname -m / Go / OCI names -> the runtime's "native" arch names used in includes.arches
_ARCHES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "x86",
    "i686": "x86",
    "386": "x86",
    "x86": "x86",
    "armv7l": "arm",
    "arm": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}

# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (CLONE_NEWTIME is clone3-only)
CLONE_NAMESPACE_FLAGS = (
    0x00020000,
    0x02000000,
    0x04000000,
    0x08000000,
    0x10000000,
    0x20000000,
    0x40000000,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SeccompSpec(_Frozen):
    """A container's configured seccomp, as Kubernetes states it.

    ``type`` is ``securityContext.seccompProfile.type`` (container over pod), ``None``
    when neither sets it; ``localhost_profile`` the ``Localhost`` path relative to the
    kubelet's seccomp root; ``kubelet_seccomp_default`` whether the kubelet runs with
    ``--seccomp-default`` (then unset means ``RuntimeDefault``).
    """

    type: SeccompType | None = None
    localhost_profile: str | None = None
    kubelet_seccomp_default: bool = False


class SyscallVerdict(_Frozen):
    """What one escape-relevant syscall gives this container."""

    name: str
    group: str
    seccomp: SeccompStatus
    action: Action
    required_capabilities: tuple[str, ...]
    capability_held: bool
    usable: bool
    note: str = ""


class SyscallAccess(_Frozen):
    """The escape-relevant syscalls of one container (in :data:`ESCAPE_SYSCALLS` order)."""

    profile: str
    privileged: bool
    arch: str
    kernel: str | None
    syscalls: tuple[SyscallVerdict, ...]
    warnings: tuple[str, ...] = ()

    def verdict(self, name: str) -> SyscallVerdict:
        """The verdict on ``name``; ``KeyError`` if it is not escape-relevant."""
        for v in self.syscalls:
            if v.name == name:
                return v
        raise KeyError(f"{name!r} is not an escape-relevant syscall")

    def usable(self, name: str) -> bool:
        """Seccomp lets ``name`` through (perhaps conditionally) and the capability is held."""
        return self.verdict(name).usable

    def allowed(self, name: str) -> bool:
        """Seccomp lets ``name`` through, perhaps only with some arguments."""
        return self.verdict(name).seccomp != "denied"

    @property
    def usable_set(self) -> frozenset[str]:
        return frozenset(v.name for v in self.syscalls if v.usable)

    @property
    def allowed_set(self) -> frozenset[str]:
        return frozenset(v.name for v in self.syscalls if v.seccomp != "denied")

    @property
    def conditional(self) -> frozenset[str]:
        """Allowed by seccomp only under an argument filter."""
        return frozenset(v.name for v in self.syscalls if v.seccomp == "conditional")

    @property
    def denied(self) -> frozenset[str]:
        return frozenset(v.name for v in self.syscalls if v.seccomp == "denied")


def native_arch(arch: str) -> str:
    """``x86_64`` -> ``amd64`` (the names moby's ``includes.arches`` use)."""
    try:
        return _ARCHES[arch.lower()]
    except KeyError as e:
        raise SeccompError(
            f"unsupported architecture {arch!r}",
            field="arch",
            hint=f"one of {', '.join(sorted(_ARCHES))}",
        ) from e


def _applies(
    rule: SyscallRule, caps: frozenset[str], arch: str, kernel: tuple[int, int] | None
) -> bool | None:
    """Whether moby's includes/excludes select ``rule``; ``None``: depends on the kernel."""
    inc, exc = rule.includes, rule.excludes
    all_caps = "ALL" in caps
    if inc.caps and not (all_caps or all(c in caps for c in inc.caps)):
        return False
    if exc.caps and (all_caps or any(c in caps for c in exc.caps)):
        return False
    if inc.arches and arch not in inc.arches:
        return False
    if exc.arches and arch in exc.arches:
        return False
    unknown = False
    if inc.min_kernel:
        need = parse_kernel(inc.min_kernel)
        if kernel is None:
            unknown = True
        elif need is not None and kernel < need:
            return False
    if exc.min_kernel:
        need = parse_kernel(exc.min_kernel)
        if kernel is None:
            unknown = True
        elif need is not None and kernel >= need:
            return False
    return None if unknown else True


def _admits_namespaces(args: tuple[ArgCondition, ...], flags_index: int) -> bool:
    """Whether some flags value with a ``CLONE_NEW*`` bit satisfies every condition."""
    for cond in args:
        if cond.index != flags_index:
            continue
        if cond.op == "SCMP_CMP_MASKED_EQ":
            ok = any(not (f & cond.value) or (cond.value_two & f) for f in CLONE_NAMESPACE_FLAGS)
        elif cond.op == "SCMP_CMP_EQ":
            ok = any(cond.value & f for f in CLONE_NAMESPACE_FLAGS)
        elif cond.op == "SCMP_CMP_LT":
            ok = min(CLONE_NAMESPACE_FLAGS) < cond.value
        elif cond.op == "SCMP_CMP_LE":
            ok = min(CLONE_NAMESPACE_FLAGS) <= cond.value
        else:  # NE, GE, GT: some flags value with a namespace bit passes
            ok = True
        if not ok:
            return False
    return True


def seccomp_status(
    profile: SeccompProfile,
    name: str,
    *,
    capabilities: frozenset[str],
    arch: str = "x86_64",
    kernel: str | None = None,
) -> tuple[SeccompStatus, Action, str]:
    """What ``profile`` does with syscall ``name``: ``(status, action, note)``.

    ``capabilities`` select moby ``includes``/``excludes``; ``arch`` is any name
    :func:`native_arch` knows. ``name == "clone"`` is judged for namespace flags.
    """
    rules = [r for r in profile.syscalls if name in r.names]
    return _status(
        rules,
        profile.default_action,
        name,
        capabilities=capabilities,
        native=native_arch(arch),
        kernel=parse_kernel(kernel) if kernel else None,
    )


def _status(
    rules: list[SyscallRule],
    default_action: Action,
    name: str,
    *,
    capabilities: frozenset[str],
    native: str,
    kernel: tuple[int, int] | None,
) -> tuple[SeccompStatus, Action, str]:
    note = ""
    allow_plain: SyscallRule | None = None
    allow_args: SyscallRule | None = None
    deny_plain: SyscallRule | None = None
    deny_args = False
    for rule in rules:
        applies = _applies(rule, capabilities, native, kernel)
        permits = rule.action.permits
        if applies is None:
            applies = permits  # unknown kernel: assume the more permissive outcome
        if not applies:
            continue
        if permits and rule.args and name == "clone":
            flags_index = 1 if native in ("s390", "s390x") else 0
            if not _admits_namespaces(rule.args, flags_index):
                note = "allowed only without namespace flags (argument filter)"
                continue
        if permits and not rule.args:
            allow_plain = allow_plain or rule
        elif permits:
            allow_args = allow_args or rule
        elif not rule.args:
            deny_plain = deny_plain or rule
        else:
            deny_args = True
    if allow_plain is not None:
        return "allowed", allow_plain.action, ""
    if allow_args is not None:
        return "conditional", allow_args.action, "allowed only with an argument filter"
    if deny_plain is not None:
        return "denied", deny_plain.action, note
    if default_action.permits:
        if deny_args:
            return "conditional", default_action, "denied only for some arguments"
        return "allowed", default_action, ""
    return "denied", default_action, note


def _normalise_caps(capabilities: frozenset[str]) -> frozenset[str]:
    return frozenset(c.upper().removeprefix("CAP_") for c in capabilities)


def syscall_access(
    profile: SeccompProfile,
    *,
    capabilities: frozenset[str],
    privileged: bool = False,
    kernel: str | None = None,
    arch: str = "x86_64",
    label: str | None = None,
    warnings: tuple[str, ...] = (),
) -> SyscallAccess:
    """:class:`SyscallAccess` for an already loaded ``profile`` (see :func:`open_syscalls`)."""
    caps = _normalise_caps(capabilities)
    native = native_arch(arch)  # validate early, even for privileged containers
    kern = parse_kernel(kernel) if kernel else None
    by_name: dict[str, list[SyscallRule]] = {name: [] for name in ESCAPE_SYSCALLS}
    for rule in profile.syscalls:
        for rule_name in rule.names:
            if rule_name in by_name:
                by_name[rule_name].append(rule)
    notes = list(warnings)
    verdicts = []
    kernel_dependent: list[str] = []
    for name in ESCAPE_SYSCALLS:
        required = REQUIRED_CAPABILITIES[name]
        if privileged:
            status: SeccompStatus = "allowed"
            action = Action.ALLOW
            note = "privileged: not filtered by seccomp"
        else:
            rules, default = by_name[name], profile.default_action
            status, action, note = _status(
                rules, default, name, capabilities=caps, native=native, kernel=kern
            )
            oldest = _status(rules, default, name, capabilities=caps, native=native, kernel=(0, 0))
            if kern is None and status != oldest[0]:
                kernel_dependent.append(name)
        held = privileged or not required or "ALL" in caps or any(c in caps for c in required)
        assumption = note_of(name)
        verdicts.append(
            SyscallVerdict(
                name=name,
                group=group_of(name),
                seccomp=status,
                action=action,
                required_capabilities=required,
                capability_held=held,
                usable=status != "denied" and held,
                note="; ".join(n for n in (note, assumption) if n),
            )
        )
    if kernel_dependent:
        notes.append(
            "kernel version unknown: assumed new enough for the profile's kernel-dependent "
            f"rules ({', '.join(kernel_dependent)})"
        )
    return SyscallAccess(
        profile="none (privileged)" if privileged else (label or profile.name or profile.format),
        privileged=privileged,
        arch=arch,
        kernel=kernel,
        syscalls=tuple(verdicts),
        warnings=tuple(notes),
    )


def _resolve(
    spec: SeccompSpec, seccomp_root: Path | None
) -> tuple[SeccompProfile, str, tuple[str, ...]]:
    if spec.type == "RuntimeDefault":
        return runtime_default_profile(), "RuntimeDefault", ()
    if spec.type == "Unconfined":
        return unconfined_profile(), "Unconfined", ()
    if spec.type is None:
        if spec.kubelet_seccomp_default:
            return runtime_default_profile(), "RuntimeDefault (kubelet seccompDefault)", ()
        return unconfined_profile(), "Unconfined (unset)", ()
    # Localhost
    rel = spec.localhost_profile
    problem: str | None = None
    if not rel:
        problem = "seccomp type Localhost without localhostProfile"
    elif PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
        problem = f"Localhost profile {rel!r} is not a relative path inside the seccomp root"
    elif seccomp_root is None:
        problem = f"Localhost profile {rel!r} not checked: no seccomp root given"
    else:
        path = seccomp_root / rel
        if not path.is_file():
            problem = f"Localhost profile {rel!r} not found under {seccomp_root}"
        else:
            return load_profile(path), f"Localhost {rel}", ()
    return (
        unconfined_profile(),
        f"Unconfined (Localhost {rel or '?'} unresolved)",
        (f"{problem}; treated as Unconfined",),
    )


def open_syscalls(
    *,
    profile: SeccompSpec,
    capabilities: frozenset[str],
    privileged: bool,
    kernel: str | None = None,
    arch: str = "x86_64",
    seccomp_root: Path | None = None,
) -> SyscallAccess:
    """Which escape-relevant syscalls a container configured with ``profile`` can make.

    ``capabilities`` are the container's effective capabilities, normalised (``SYS_ADMIN``;
    ``ALL`` means all); ``kernel`` the node's kernel version (``"6.8"``,
    ``"5.15.0-91-generic"``; ``None``: unknown); ``arch`` the node's architecture;
    ``seccomp_root`` the kubelet's seccomp directory holding ``Localhost`` profiles.
    See the module documentation for the decision rules and assumptions.
    """
    resolved: SeccompProfile
    label: str
    warnings: tuple[str, ...]
    if privileged:  # the runtime does not even load a profile for privileged containers
        resolved, label, warnings = unconfined_profile(), "none (privileged)", ()
    else:
        resolved, label, warnings = _resolve(profile, seccomp_root)
    return syscall_access(
        resolved,
        capabilities=capabilities,
        privileged=privileged,
        kernel=kernel,
        arch=arch,
        label=label,
        warnings=warnings,
    )
