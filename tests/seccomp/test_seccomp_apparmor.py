"""apparmor_effect: RuntimeDefault/Unconfined/Localhost/unset, privileged, annotation form."""

from __future__ import annotations

from pathlib import Path

import pytest

from attackmap.errors import SeccompError
from attackmap.seccomp import AppArmorEffect, apparmor_effect, normalize_apparmor_annotation

DATA = Path(__file__).parent / "data" / "apparmor"


def _effect(
    profile_type: str | None,
    localhost: str | None = None,
    *,
    version: str | None = "1.31",
    node: bool | None = True,
    privileged: bool = False,
    text: str | None = None,
) -> AppArmorEffect:
    return apparmor_effect(
        profile_type,
        localhost,
        kubernetes_version=version,
        node_apparmor=node,
        privileged=privileged,
        localhost_text=text,
    )


def _denies(effect: AppArmorEffect) -> tuple[bool, bool, bool]:
    return effect.denies_mount, effect.denies_proc_sys_write, effect.denies_sysrq


def test_runtime_default_denies_mount_proc_sys_and_sysrq() -> None:
    effect = _effect("RuntimeDefault")
    assert effect.confined and not effect.unknown
    assert _denies(effect) == (True, True, True)


def test_unconfined_denies_nothing() -> None:
    effect = _effect("Unconfined")
    assert not effect.confined
    assert _denies(effect) == (False, False, False)


def test_localhost_without_text_is_unknown_and_not_denying() -> None:
    effect = _effect("Localhost", "k8s-nim")
    assert effect.unknown and effect.confined
    assert _denies(effect) == (False, False, False)
    assert "k8s-nim" in effect.reason


@pytest.mark.parametrize(
    ("version", "node", "confined"),
    [
        ("1.31", True, True),
        ("v1.33.1", True, True),
        ("1.30", True, False),
        (None, True, False),
        ("1.31", None, False),
        ("1.31", False, False),
    ],
)
def test_unset(version: str | None, node: bool | None, confined: bool) -> None:
    effect = _effect(None, version=version, node=node)
    assert effect.confined is confined
    assert effect.denies_mount is confined
    assert effect.reason


def test_unset_with_unknown_node_says_it_assumed_unconfined() -> None:
    assert "assumed unconfined" in _effect(None, node=None).reason


@pytest.mark.parametrize("profile_type", ["RuntimeDefault", None])
def test_privileged_gets_no_default_profile(profile_type: str | None) -> None:
    effect = _effect(profile_type, privileged=True)
    assert not effect.confined
    assert _denies(effect) == (False, False, False)


def test_privileged_keeps_an_explicit_localhost_profile() -> None:
    text = (DATA / "docker-default").read_text()
    effect = _effect("Localhost", "docker-default", privileged=True, text=text)
    assert effect.denies_mount


def test_requested_profile_on_a_node_without_apparmor() -> None:
    effect = _effect("RuntimeDefault", node=False)
    assert not effect.confined
    assert "rejects the pod" in effect.reason


def test_localhost_text_docker_default() -> None:
    effect = _effect("Localhost", "docker-default", text=(DATA / "docker-default").read_text())
    assert not effect.unknown
    assert _denies(effect) == (True, True, True)
    assert "includes not resolved" in effect.reason


def test_localhost_text_allowing_mount_and_proc_sys_kernel() -> None:
    effect = _effect("Localhost", "nim-mounts", text=(DATA / "nim-mounts").read_text())
    assert _denies(effect) == (False, False, False)  # file, allows sysrq-trigger writes too


def test_localhost_text_allow_list_denies_by_default() -> None:
    effect = _effect("Localhost", "readonly", text=(DATA / "readonly").read_text())
    assert _denies(effect) == (True, True, True)


def test_localhost_text_in_complain_mode_denies_nothing() -> None:
    effect = _effect("Localhost", "learning", text=(DATA / "complain").read_text())
    assert _denies(effect) == (False, False, False)
    assert "complain" in effect.reason


def test_deny_rule_wins_over_allow() -> None:
    text = "profile p {\n  file,\n  mount,\n  deny /proc/sys/** w,\n}\n"
    effect = _effect("Localhost", "p", text=text)
    assert _denies(effect) == (False, True, False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("runtime/default", ("RuntimeDefault", None)),
        ("unconfined", ("Unconfined", None)),
        ("localhost/k8s-nim", ("Localhost", "k8s-nim")),
    ],
)
def test_normalize_annotation(value: str, expected: tuple[str, str | None]) -> None:
    assert normalize_apparmor_annotation(value) == expected


@pytest.mark.parametrize("value", ["docker-default", "localhost/", "RuntimeDefault", ""])
def test_normalize_annotation_rejects(value: str) -> None:
    with pytest.raises(SeccompError, match="invalid AppArmor annotation"):
        normalize_apparmor_annotation(value)


def test_annotation_and_field_give_the_same_effect() -> None:
    kind, name = normalize_apparmor_annotation("runtime/default")
    assert _effect(kind, name) == _effect("RuntimeDefault")


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(SeccompError, match="unknown AppArmor profile type"):
        _effect("runtime/default")
