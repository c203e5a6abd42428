"""Seccomp profiles: the model and its parsers.

Accepted inputs (all become one :class:`SeccompProfile`):

* OCI / Kubernetes ``Localhost`` profiles (JSON): ``defaultAction``, ``defaultErrnoRet``,
  ``architectures``, ``flags``, ``listenerPath``, ``listenerMetadata`` and
  ``syscalls[{names, action, args, errnoRet}]``; the old single-syscall form
  ``{"name": ..., "action": ...}`` is read as ``names: [name]``.
* moby (Docker) extensions: ``archMap``, and per rule ``comment``, ``includes`` and
  ``excludes`` with ``caps``, ``arches`` and ``minKernel``.
* security-profiles-operator ``SeccompProfile`` objects (``v1beta1`` / ``v1alpha1``):
  ``spec.defaultAction``, ``spec.architectures``, ``spec.syscalls[{action, names}]``;
  ``spec.baseProfileName`` is kept (the base is not resolved).
* Inspektor Gadget ``advise seccomp-profile`` output: a profile with one ALLOW list,
  printed as JSON or as a YAML ``SeccompProfile``; both are covered by the above.

Keys are checked strictly: an unknown key in a profile, a rule, an argument or a
condition is an error (a misspelt ``names`` would otherwise silently allow nothing).
Kubernetes object envelopes (``metadata``, ``status``) are tolerated.

Hostile text is refused before it is walked: more than :data:`MAX_PROFILE_BYTES`, YAML
aliases (no profile needs them, and an alias bomb is exponential to walk), nesting deeper
than :data:`MAX_PROFILE_DEPTH`, and numbers Python will not convert are
:class:`~attackmap.errors.SeccompError`, never another exception. Duplicate JSON keys keep
the last value, as the container runtimes' Go JSON decoder does.
"""

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field

from attackmap.errors import SeccompError
from attackmap.seccomp._document import Document, Where, parse_documents, read_text

__all__ = [
    "Action",
    "ArgCondition",
    "RuleCondition",
    "SeccompProfile",
    "SyscallRule",
    "load_profile",
    "normalize_capability",
    "profiles_in",
]

SPO_GROUP = "security-profiles-operator.x-k8s.io"
SPO_VERSIONS = ("v1beta1", "v1alpha1")


class Action(StrEnum):
    """A seccomp action.

    ``LOG`` and ``NOTIFY`` let the call through (``NOTIFY`` hands the decision to a
    user-space agent, which we cannot see: assumed to allow). ``TRACE`` without an
    attached tracer fails with ``ENOSYS``, so it counts as a denial, like ``ERRNO``,
    ``TRAP`` and the ``KILL`` family.
    """

    ALLOW = "SCMP_ACT_ALLOW"
    ERRNO = "SCMP_ACT_ERRNO"
    KILL = "SCMP_ACT_KILL"
    KILL_PROCESS = "SCMP_ACT_KILL_PROCESS"
    KILL_THREAD = "SCMP_ACT_KILL_THREAD"
    TRAP = "SCMP_ACT_TRAP"
    TRACE = "SCMP_ACT_TRACE"
    LOG = "SCMP_ACT_LOG"
    NOTIFY = "SCMP_ACT_NOTIFY"

    @property
    def permits(self) -> bool:
        """Whether the call goes through under this action."""
        return self in (Action.ALLOW, Action.LOG, Action.NOTIFY)


ArgOp = Literal[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
]
_ARG_OPS: tuple[str, ...] = get_args(ArgOp)

ProfileFormat = Literal["oci", "moby", "spo", "runtime-default", "unconfined"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ArgCondition(_Frozen):
    """``args[i]``: the rule matches only if syscall argument ``index`` satisfies ``op``."""

    index: int = Field(ge=0, le=5)
    op: ArgOp
    value: int = Field(ge=0)
    value_two: int = Field(default=0, ge=0)


class RuleCondition(_Frozen):
    """moby ``includes``/``excludes``: capabilities (no ``CAP_`` prefix), Go arches, kernel."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.caps or self.arches or self.min_kernel)


class SyscallRule(_Frozen):
    """One ``syscalls[]`` entry."""

    names: tuple[str, ...]
    action: Action
    errno_ret: int | None = None
    args: tuple[ArgCondition, ...] = ()
    includes: RuleCondition = RuleCondition()
    excludes: RuleCondition = RuleCondition()
    comment: str | None = None


class SeccompProfile(_Frozen):
    """A seccomp profile, whatever format it was written in."""

    format: ProfileFormat
    default_action: Action
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    syscalls: tuple[SyscallRule, ...] = ()
    name: str | None = None
    base_profile_name: str | None = None
    path: str | None = None

    def names(self) -> frozenset[str]:
        """Every syscall a rule mentions."""
        return frozenset(n for rule in self.syscalls for n in rule.names)


def normalize_capability(cap: str) -> str:
    """``cap_sys_admin`` / ``CAP_SYS_ADMIN`` / ``sys_admin`` -> ``SYS_ADMIN``."""
    cap = cap.strip().upper()
    return cap[4:] if cap.startswith("CAP_") else cap


# --- parsing -------------------------------------------------------------------------

_PROFILE_KEYS = {
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "archMap",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
}
_SPO_SPEC_KEYS = {
    "defaultAction",
    "architectures",
    "syscalls",
    "baseProfileName",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "disabled",
}
_RULE_KEYS = {"names", "name", "action", "args", "errnoRet", "includes", "excludes", "comment"}
_SPO_RULE_KEYS = {"names", "action", "args", "errnoRet"}
_ARG_KEYS = {"index", "value", "valueTwo", "op"}
_COND_KEYS = {"caps", "arches", "minKernel"}


def _check_keys(doc: Document, obj: Mapping[str, Any], allowed: set[str], where: Where) -> None:
    for key in obj:
        if key not in allowed:
            raise doc.error(
                f"unknown key {key!r}",
                (*where, str(key)),
                hint=f"allowed here: {', '.join(sorted(allowed))}",
            )


def _get(obj: Mapping[str, Any], key: str, default: Any) -> Any:
    """``obj[key]``, or ``default`` when absent or ``null`` (as Go's JSON decoding does)."""
    value = obj.get(key)
    return default if value is None else value


def _mapping(doc: Document, value: Any, where: Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise doc.error(f"expected an object, got {type(value).__name__}", where)
    return value


def _list(doc: Document, value: Any, where: Where) -> list[Any]:
    if not isinstance(value, list):
        raise doc.error(f"expected a list, got {type(value).__name__}", where)
    return value


def _str(doc: Document, value: Any, where: Where) -> str:
    if not isinstance(value, str):
        raise doc.error(f"expected a string, got {type(value).__name__}", where)
    return value


def _int(doc: Document, value: Any, where: Where, *, low: int = 0, high: int = 2**64 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(f"expected an integer, got {type(value).__name__}", where)
    if not low <= value <= high:
        raise doc.error(f"{value} is out of range {low}..{high}", where)
    return value


def _strings(doc: Document, value: Any, where: Where) -> tuple[str, ...]:
    return tuple(_str(doc, v, (*where, i)) for i, v in enumerate(_list(doc, value, where)))


def _action(doc: Document, value: Any, where: Where) -> Action:
    text = _str(doc, value, where)
    try:
        return Action(text)
    except ValueError as e:
        raise doc.error(
            f"unknown seccomp action {text!r}",
            where,
            hint=f"one of {', '.join(a.value for a in Action)}",
        ) from e


def _condition(doc: Document, value: Any, where: Where) -> RuleCondition:
    obj = _mapping(doc, value, where)
    _check_keys(doc, obj, _COND_KEYS, where)
    min_kernel = obj.get("minKernel")
    if min_kernel is not None:
        min_kernel = _str(doc, min_kernel, (*where, "minKernel"))
        if parse_kernel(min_kernel) is None:
            raise doc.error(f"not a kernel version: {min_kernel!r}", (*where, "minKernel"))
    return RuleCondition(
        caps=tuple(
            normalize_capability(c) for c in _strings(doc, _get(obj, "caps", []), (*where, "caps"))
        ),
        arches=_strings(doc, _get(obj, "arches", []), (*where, "arches")),
        min_kernel=min_kernel,
    )


def _arg(doc: Document, value: Any, where: Where) -> ArgCondition:
    obj = _mapping(doc, value, where)
    _check_keys(doc, obj, _ARG_KEYS, where)
    for key in ("index", "value", "op"):
        if key not in obj:
            raise doc.error(f"missing {key!r}", where)
    op = _str(doc, obj["op"], (*where, "op"))
    if op not in _ARG_OPS:
        raise doc.error(
            f"unknown comparison {op!r}", (*where, "op"), hint=f"one of {', '.join(_ARG_OPS)}"
        )
    return ArgCondition(
        index=_int(doc, obj["index"], (*where, "index"), high=5),
        op=op,  # type: ignore[arg-type]  # checked against ArgOp's values just above
        value=_int(doc, obj["value"], (*where, "value")),
        value_two=_int(doc, obj.get("valueTwo", 0), (*where, "valueTwo")),
    )


def _rule(doc: Document, value: Any, where: Where, *, spo: bool) -> SyscallRule:
    obj = _mapping(doc, value, where)
    _check_keys(doc, obj, _SPO_RULE_KEYS if spo else _RULE_KEYS, where)
    if "names" in obj and "name" in obj:
        raise doc.error("give either 'names' or 'name', not both", where)
    if "names" in obj:
        names = _strings(doc, obj["names"], (*where, "names"))
    elif "name" in obj:
        names = (_str(doc, obj["name"], (*where, "name")),)
    else:
        raise doc.error("missing 'names'", where)
    if not names or any(not n for n in names):
        raise doc.error("'names' must list at least one non-empty syscall name", (*where, "names"))
    if "action" not in obj:
        raise doc.error("missing 'action'", where)
    errno = obj.get("errnoRet")
    comment = obj.get("comment")
    return SyscallRule(
        names=names,
        action=_action(doc, obj["action"], (*where, "action")),
        errno_ret=None if errno is None else _int(doc, errno, (*where, "errnoRet")),
        args=tuple(
            _arg(doc, a, (*where, "args", i))
            for i, a in enumerate(_list(doc, _get(obj, "args", []), (*where, "args")))
        ),
        includes=_condition(doc, _get(obj, "includes", {}), (*where, "includes")),
        excludes=_condition(doc, _get(obj, "excludes", {}), (*where, "excludes")),
        comment=None if comment is None else _str(doc, comment, (*where, "comment")),
    )


def _profile_body(
    doc: Document, obj: Mapping[str, Any], where: Where, *, spo: bool
) -> dict[str, Any]:
    if "defaultAction" not in obj:
        raise doc.error("missing 'defaultAction'", where)
    errno = obj.get("defaultErrnoRet")
    rules = tuple(
        _rule(doc, r, (*where, "syscalls", i), spo=spo)
        for i, r in enumerate(_list(doc, _get(obj, "syscalls", []), (*where, "syscalls")))
    )
    return {
        "default_action": _action(doc, obj["defaultAction"], (*where, "defaultAction")),
        "default_errno_ret": None
        if errno is None
        else _int(doc, errno, (*where, "defaultErrnoRet")),
        "architectures": _strings(doc, _get(obj, "architectures", []), (*where, "architectures")),
        "syscalls": rules,
    }


def _from_spo(doc: Document, obj: Mapping[str, Any]) -> SeccompProfile:
    spec = _mapping(doc, obj.get("spec"), ("spec",))
    _check_keys(doc, spec, _SPO_SPEC_KEYS, ("spec",))
    body = _profile_body(doc, spec, ("spec",), spo=True)
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if (
        isinstance(name, str)
        and isinstance(meta, Mapping)
        and isinstance(meta.get("namespace"), str)
    ):
        name = f"{meta['namespace']}/{name}"
    base = spec.get("baseProfileName")
    return SeccompProfile(
        format="spo",
        name=name if isinstance(name, str) else None,
        base_profile_name=None if base is None else _str(doc, base, ("spec", "baseProfileName")),
        path=doc.path,
        **body,
    )


def _from_data(doc: Document) -> SeccompProfile:
    obj = _mapping(doc, doc.data, ())
    api = obj.get("apiVersion")
    if api is not None or "kind" in obj:
        group, _, version = str(api).partition("/")
        if group != SPO_GROUP or version not in SPO_VERSIONS or obj.get("kind") != "SeccompProfile":
            raise doc.error(
                f"unsupported object {api}/{obj.get('kind')}",
                ("kind",) if "kind" in obj else ("apiVersion",),
                hint=f"expected kind SeccompProfile, apiVersion {SPO_GROUP}/"
                f"{' or '.join(SPO_VERSIONS)}, or a plain profile JSON",
            )
        return _from_spo(doc, obj)
    _check_keys(doc, obj, _PROFILE_KEYS, ())
    body = _profile_body(doc, obj, (), spo=False)
    moby = "archMap" in obj or any(
        not (r.includes.empty and r.excludes.empty) or r.comment for r in body["syscalls"]
    )
    return SeccompProfile(format="moby" if moby else "oci", path=doc.path, **body)


#: Largest profile text read, in characters (moby's default profile is about 20 KB).
MAX_PROFILE_BYTES = 16 * 1024 * 1024
#: Deepest nesting of a profile document (a security-profiles-operator object needs 7).
MAX_PROFILE_DEPTH = 64
#: Most scalars (syscall names, actions, arguments...) in one profile file: the runtime's
#: default profile has about 450 names; each scalar costs ~50 µs to check, so this bounds
#: a hostile 16 MB list of names (8M of them took minutes and 2 GB) to a few seconds.
MAX_PROFILE_SCALARS = 100_000
_EventLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None


def _check_text(text: str, path: str | None) -> None:
    """Refuse oversize text, YAML aliases and deep nesting in one linear pass over the
    parser's events (JSON is YAML for the parser); syntax errors are left to the parser."""
    if len(text) > MAX_PROFILE_BYTES:
        raise SeccompError(
            f"profile is {len(text)} characters, more than the limit of {MAX_PROFILE_BYTES}",
            path=path,
        )
    loader = _EventLoader(text)
    depth = scalars = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.ScalarEvent):
                scalars += 1
                if scalars > MAX_PROFILE_SCALARS:
                    raise SeccompError(
                        f"more than {MAX_PROFILE_SCALARS} values in one profile file",
                        path=path,
                        line=_line(event),
                        hint="a profile lists each syscall once (about 450 exist)",
                    )
            if isinstance(event, yaml.AliasEvent):
                raise SeccompError(
                    "YAML aliases are not accepted in a seccomp profile",
                    path=path,
                    line=_line(event),
                    hint="write the profile out in full",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_PROFILE_DEPTH:
                    raise SeccompError(
                        f"nested deeper than {MAX_PROFILE_DEPTH} levels",
                        path=path,
                        line=_line(event),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the parser proper reports it (JSON's tabs, for one, are not YAML)
    finally:
        loader.dispose()


def _parse(text: str, path: str | None) -> list[Document]:
    _check_text(text, path)
    try:
        return parse_documents(text, path)
    except RecursionError as e:
        raise SeccompError("nested too deeply", path=path) from e
    except ValueError as e:  # e.g. int() of a literal of more than 4300 digits
        raise SeccompError(f"unreadable value: {e}", path=path) from e


def profiles_in(source: str | os.PathLike[str] | Mapping[str, Any]) -> list[SeccompProfile]:
    """Every profile in ``source``: a mapping, a path, or JSON/YAML text.

    YAML may hold several documents and ``kind: List`` objects (``kubectl get -o yaml``).
    A ``str`` is text when it starts with ``{`` or spans several lines, else a path.
    """
    if isinstance(source, Mapping):
        docs = [Document(data=source, path=None)]
    else:
        path: str | None
        if isinstance(source, str) and (source.lstrip().startswith("{") or "\n" in source):
            text, path = source, None
        else:
            path = os.fspath(source)
            text = read_text(Path(path))
        docs = _parse(text, path)
    profiles: list[SeccompProfile] = []
    for doc in docs:
        if doc.data is None:
            continue
        if isinstance(doc.data, Mapping) and isinstance(doc.data.get("items"), list):
            for i, item in enumerate(doc.data["items"]):
                profiles.append(_from_data(doc.child(("items", i), item)))
        else:
            profiles.append(_from_data(doc))
    return profiles


def load_profile(source: str | os.PathLike[str] | Mapping[str, Any]) -> SeccompProfile:
    """The one seccomp profile in ``source`` (a path, a mapping, or JSON/YAML text).

    Raises :class:`~attackmap.errors.SeccompError` (with path, line and field) when the
    input is not a profile, is malformed, or holds no or several profiles.
    """
    profiles = profiles_in(source)
    where = (
        None
        if isinstance(source, Mapping)
        or (isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{")))
        else os.fspath(source)
    )
    if not profiles:
        raise SeccompError("no seccomp profile in the input", path=where)
    if len(profiles) > 1:
        raise SeccompError(
            f"{len(profiles)} profiles in one input; expected one",
            path=where,
            hint="split the documents, or use generate_profile() to merge recordings",
        )
    return profiles[0]


def parse_kernel(version: str) -> tuple[int, int] | None:
    """``"6.8"``, ``"5.15.0-91-generic"``, ``"v4.8"`` -> ``(major, minor)``; ``None`` if not one."""
    text = version.strip().lstrip("vV")
    parts = text.split(".")
    if len(parts) < 2:
        return None
    minor = ""
    for ch in parts[1]:
        if not ch.isdigit():
            break
        minor += ch
    if not parts[0].isdigit() or not minor:
        return None
    return int(parts[0]), int(minor)
