"""generate_profile: recordings -> least-privilege Localhost profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.errors import SeccompError
from attackmap.seccomp import (
    ESCAPE_SYSCALLS,
    RUNTIME_START_SYSCALLS,
    generate_profile,
    load_profile,
    syscall_access,
)

DATA = Path(__file__).parent / "data"


def _allowed(profile: dict[str, object]) -> set[str]:
    rules = profile["syscalls"]
    assert isinstance(rules, list)
    return {
        n for r in rules if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r for n in r["names"]
    }


def test_start_set_holds_no_escape_syscall() -> None:
    assert not set(RUNTIME_START_SYSCALLS) & set(ESCAPE_SYSCALLS)


def test_names_text_file() -> None:
    generated = generate_profile(DATA / "observed.txt")
    profile = generated.profile
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = _allowed(profile)
    assert {"read", "write", "openat", "mmap", "epoll_wait"} <= allowed
    assert set(RUNTIME_START_SYSCALLS) <= allowed
    assert "arch_prctl" in allowed
    assert generated.escape_syscalls_observed == ()
    assert generated.warnings == ()
    names = profile["syscalls"][0]["names"]  # type: ignore[index]  # profile is a JSON dict
    assert names == sorted(names)


def test_generated_profile_closes_every_escape_syscall() -> None:
    generated = generate_profile(["read", "write"])
    access = syscall_access(load_profile(generated.profile), capabilities=frozenset({"ALL"}))
    assert access.usable_set == frozenset()


def test_escape_syscall_observed_is_allowed_and_flagged() -> None:
    generated = generate_profile(DATA / "ig-advise.json")
    assert generated.escape_syscalls_observed == ("mount",)
    assert any("ESCAPE-RELEVANT syscall mount" in w for w in generated.warnings)
    assert "mount" in _allowed(generated.profile)


def test_spo_recording_clone_is_namespace_free_and_base_profile_noted() -> None:
    generated = generate_profile(DATA / "spo-recording.yaml")
    assert generated.escape_syscalls_observed == ("clone", "clone3")
    assert any("runc-v1.1.12" in w for w in generated.warnings)
    access = syscall_access(load_profile(generated.profile), capabilities=frozenset({"ALL"}))
    assert not access.allowed("clone")  # clone without namespace flags only
    assert not access.allowed("clone3")  # ENOSYS
    assert "without namespace flags" in access.verdict("clone").note


def test_ig_yaml_and_profile_objects() -> None:
    from_yaml = generate_profile(DATA / "ig-advise.yaml")
    from_model = generate_profile(load_profile(DATA / "ig-advise.yaml"))
    assert from_yaml == from_model
    assert "recvfrom" in _allowed(from_yaml.profile)


def test_multi_document_recordings_are_merged() -> None:
    text = (
        (DATA / "ig-advise.yaml").read_text() + "---\n" + (DATA / "spo-recording.yaml").read_text()
    )
    allowed = _allowed(generate_profile(text).profile)
    assert {"recvfrom", "accept4"} <= allowed


def test_aarch64_has_no_x86_only_syscalls() -> None:
    generated = generate_profile(["read"], arch="aarch64")
    assert generated.profile["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert "arch_prctl" not in _allowed(generated.profile)


def test_output_is_deterministic() -> None:
    a = generate_profile(["write", "read", "mount", "clone"]).to_json()
    b = generate_profile(["clone", "mount", "read", "write", "read"]).to_json()
    assert a == b
    assert json.loads(a)["syscalls"][1]["names"] == ["clone"]


def test_bad_name_in_text_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("read\nwrite\nopen-at\n")
    with pytest.raises(SeccompError, match="not a syscall name: 'open-at'") as info:
        generate_profile(path)
    assert (info.value.path, info.value.line) == (str(path), 3)


def test_permissive_profile_is_not_a_recording() -> None:
    with pytest.raises(SeccompError, match="not a recording"):
        generate_profile(DATA / "spo-v1alpha1.yaml")


def test_empty_observation() -> None:
    with pytest.raises(SeccompError, match="no observed syscalls"):
        generate_profile([])


def test_argument_filters_in_recordings_are_dropped_with_a_warning() -> None:
    generated = generate_profile(DATA / "oci-nim.json")
    assert any("personality" in w and "dropped" in w for w in generated.warnings)
    assert "personality" in _allowed(generated.profile)
