"""What a container's AppArmor profile denies that matters to escapes.

Kubernetes states AppArmor as ``securityContext.appArmorProfile`` (``type``:
``RuntimeDefault`` | ``Localhost`` + ``localhostProfile`` | ``Unconfined``; Kubernetes >=
1.30) or as the deprecated annotation
``container.apparmor.security.beta.kubernetes.io/<container>`` (``runtime/default``,
``localhost/<name>``, ``unconfined``; see :func:`normalize_apparmor_annotation`).

The model:

* ``RuntimeDefault`` (the runtime's default profile, ``docker-default`` /
  ``cri-containerd.apparmor.d``) denies ``mount``, writes to most of ``/proc/sys``
  (``/proc/sys/kernel`` included), ``/proc/sysrq-trigger``, ``/proc/kcore`` and most
  of ``/sys``.
* ``Unconfined`` denies nothing.
* ``Localhost``: unknown (treated as denying nothing, ``unknown=True``) unless the
  profile's text is given; then it is read *minimally*: AppArmor is an allow list, so
  mount is denied unless a ``mount`` rule allows it (or a bare ``deny mount,`` wins), and a
  path is writable only if a file rule (or bare ``file,``) allows ``w``/``a`` on it and no
  ``deny`` rule matches it. Limits: ``#include``\\ d abstractions and variables other than
  ``@{PROC}`` are not resolved, conditional mount rules (``mount fstype=... ,``) count as
  allowing mount, ``owner`` is ignored, child profiles and hats are flattened; profiles in
  ``complain`` or ``unconfined`` mode deny nothing.
* unset: from Kubernetes 1.31 ``RuntimeDefault`` applies on nodes with AppArmor enabled;
  with unknown node AppArmor or an older/unknown Kubernetes, unconfined is assumed
  (conservative) and the reason says so.
* privileged containers get no default profile (the runtime skips it): ``RuntimeDefault``
  and unset mean unconfined; an explicit ``Localhost`` profile is still applied.
"""

import re

from pydantic import BaseModel, ConfigDict

from attackmap.errors import SeccompError

__all__ = ["AppArmorEffect", "apparmor_effect", "normalize_apparmor_annotation"]

APPARMOR_TYPES = ("RuntimeDefault", "Localhost", "Unconfined")
DEFAULT_FROM = (1, 31)

PROC_SYS_TARGET = "/proc/sys/kernel/core_pattern"
SYSRQ_TARGET = "/proc/sysrq-trigger"


class AppArmorEffect(BaseModel):
    """What the AppArmor profile of a container denies (for escape reasoning)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    confined: bool
    denies_mount: bool
    denies_proc_sys_write: bool
    denies_sysrq: bool
    unknown: bool
    reason: str


def normalize_apparmor_annotation(value: str) -> tuple[str, str | None]:
    """The deprecated annotation's value as ``(type, localhost_profile)``.

    ``runtime/default`` -> ``("RuntimeDefault", None)``; ``localhost/k8s-nim`` ->
    ``("Localhost", "k8s-nim")``; ``unconfined`` -> ``("Unconfined", None)``.
    """
    text = value.strip()
    if text == "runtime/default":
        return "RuntimeDefault", None
    if text == "unconfined":
        return "Unconfined", None
    if text.startswith("localhost/") and len(text) > len("localhost/"):
        return "Localhost", text[len("localhost/") :]
    raise SeccompError(
        f"invalid AppArmor annotation value {value!r}",
        field="container.apparmor.security.beta.kubernetes.io",
        hint="one of runtime/default, localhost/<profile>, unconfined",
    )


def _parse_version(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _effect(confined: bool, denies: bool, reason: str, *, unknown: bool = False) -> AppArmorEffect:
    return AppArmorEffect(
        confined=confined,
        denies_mount=denies,
        denies_proc_sys_write=denies,
        denies_sysrq=denies,
        unknown=unknown,
        reason=reason,
    )


# --- minimal reading of profile text ------------------------------------------------

_FILE_RULE = re.compile(
    r"^(?:audit\s+)?(?P<deny>deny\s+)?(?:allow\s+)?(?:owner\s+)?(?:file\s+)?"
    r"(?:(?P<path>\"[^\"]*\"|[/@]\S*)\s+(?P<perms>[rwaklmixupPUcC]+)"
    r"|(?P<perms2>[rwaklmixupPUcC]+)\s+(?P<path2>\"[^\"]*\"|[/@]\S*?))\s*(?:->\s*\S+\s*)?,$"
)
_MOUNT_RULE = re.compile(r"^(?:audit\s+)?(?P<deny>deny\s+)?(?:allow\s+)?mount\b(?P<rest>.*),$")
_FLAGS = re.compile(r"flags\s*=\s*\(([^)]*)\)")


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    glob = glob.strip('"').replace("@{PROC}", "/proc").replace("@{sys}", "/sys")
    out = ""
    i = 0
    while i < len(glob):
        ch = glob[i]
        if glob.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "[":
            end = glob.find("]", i)
            if end < 0:
                out += re.escape(ch)
            else:
                body = glob[i + 1 : end]
                body = "^" + body[1:] if body.startswith("^") else body
                out += f"[{body}]"
                i = end + 1
                continue
        elif ch == "{":
            out += "(?:"
        elif ch == "}":
            out += ")"
        elif ch == ",":
            out += "|"
        else:
            out += re.escape(ch)
        i += 1
    try:
        return re.compile(out + r"\Z")
    except re.error:  # a glob we do not understand matches nothing
        return re.compile(r"(?!)")


def _statements(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#include") else ""
        if line:
            lines.append(line)
    return lines


def _writable(statements: list[str], target: str) -> bool:
    allowed = False
    for stmt in statements:
        if stmt == "file,":
            allowed = True
            continue
        match = _FILE_RULE.match(stmt)
        if not match:
            continue
        path = match.group("path") or match.group("path2")
        perms = match.group("perms") or match.group("perms2")
        if not ("w" in perms or "a" in perms) or not _glob_to_regex(path).match(target):
            continue
        if match.group("deny"):
            return False
        allowed = True
    return allowed


def _from_text(name: str, text: str) -> AppArmorEffect:
    flags = _FLAGS.search(text)
    modes = {f.strip() for f in flags.group(1).split(",")} if flags else set()
    if modes & {"complain", "unconfined"}:
        mode = "complain" if "complain" in modes else "unconfined"
        return _effect(True, False, f"Localhost profile {name} is in {mode} mode: denies nothing")
    statements = _statements(text)
    mount_allowed = False
    mount_denied = False
    for stmt in statements:
        match = _MOUNT_RULE.match(stmt)
        if not match:
            continue
        if match.group("deny"):
            mount_denied = mount_denied or not match.group("rest").strip()
        else:
            mount_allowed = True
    denies_mount = mount_denied or not mount_allowed
    proc = not _writable(statements, PROC_SYS_TARGET)
    sysrq = not _writable(statements, SYSRQ_TARGET)
    limits = " (includes not resolved)" if "#include" in text else ""
    return AppArmorEffect(
        confined=True,
        denies_mount=denies_mount,
        denies_proc_sys_write=proc,
        denies_sysrq=sysrq,
        unknown=False,
        reason=f"Localhost profile {name}, read from its text{limits}",
    )


def apparmor_effect(
    profile_type: str | None,
    localhost_profile: str | None,
    *,
    kubernetes_version: str | None,
    node_apparmor: bool | None,
    privileged: bool,
    localhost_text: str | None = None,
) -> AppArmorEffect:
    """What the container's AppArmor profile denies.

    ``profile_type`` is the ``appArmorProfile.type`` (or a normalised annotation, see
    :func:`normalize_apparmor_annotation`), ``None`` when unset; ``localhost_profile`` its
    profile name; ``node_apparmor`` whether AppArmor is enabled on the node (``None``:
    unknown); ``localhost_text`` the text of the Localhost profile when available.
    """
    if profile_type is not None and profile_type not in APPARMOR_TYPES:
        raise SeccompError(
            f"unknown AppArmor profile type {profile_type!r}",
            field="appArmorProfile.type",
            hint=f"one of {', '.join(APPARMOR_TYPES)} (annotations: use "
            "normalize_apparmor_annotation)",
        )
    if node_apparmor is False and profile_type in ("RuntimeDefault", "Localhost"):
        return _effect(
            False,
            False,
            f"AppArmor {profile_type} requested but AppArmor is disabled on the node: the "
            "kubelet rejects the pod; if it runs elsewhere it is unconfined",
        )
    if profile_type == "Unconfined":
        return _effect(False, False, "AppArmor Unconfined: denies nothing")
    if profile_type == "Localhost":
        name = localhost_profile or "?"
        if localhost_text is not None:
            return _from_text(name, localhost_text)
        return _effect(
            True,
            False,
            f"Localhost profile {name} not available: assumed to deny nothing",
            unknown=True,
        )
    if privileged:
        return _effect(
            False, False, "privileged container: the runtime applies no default AppArmor profile"
        )
    if profile_type == "RuntimeDefault":
        return _effect(
            True,
            True,
            "AppArmor RuntimeDefault: denies mount, writes to /proc/sys, /proc/sysrq-trigger, "
            "/proc/kcore and most of /sys",
        )
    # unset
    version = _parse_version(kubernetes_version) if kubernetes_version else None
    if node_apparmor is None:
        return _effect(
            False,
            False,
            "AppArmor unset and the node's AppArmor support unknown: assumed unconfined",
        )
    if not node_apparmor:
        return _effect(False, False, "AppArmor unset and disabled on the node: unconfined")
    if version is None:
        return _effect(
            False,
            False,
            "AppArmor unset and the Kubernetes version unknown: assumed unconfined "
            "(RuntimeDefault applies by default from 1.31)",
        )
    if version < DEFAULT_FROM:
        return _effect(
            False,
            False,
            f"AppArmor unset on Kubernetes {version[0]}.{version[1]} (< 1.31): assumed unconfined",
        )
    return _effect(
        True,
        True,
        f"AppArmor unset on Kubernetes {version[0]}.{version[1]} with AppArmor on the node: "
        "RuntimeDefault applies (denies mount, /proc/sys writes, sysrq, most of /sys)",
    )
