"""Parsing seccomp profiles in every supported format, and rejecting malformed ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackmap.errors import SeccompError
from attackmap.seccomp import Action, load_profile
from attackmap.seccomp._profile import normalize_capability, parse_kernel, profiles_in

DATA = Path(__file__).parent / "data"


def test_oci_profile_keeps_rules_args_and_errno() -> None:
    profile = load_profile(DATA / "oci-nim.json")
    assert profile.format == "oci"
    assert profile.default_action is Action.ERRNO
    assert profile.default_errno_ret == 1
    assert profile.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    personality = next(r for r in profile.syscalls if r.names == ("personality",))
    assert personality.args[0].op == "SCMP_CMP_EQ"
    assert personality.args[0].value == 0
    bpf = next(r for r in profile.syscalls if r.names == ("bpf",))
    assert (bpf.action, bpf.errno_ret) == (Action.ERRNO, 38)
    assert profile.path == str(DATA / "oci-nim.json")


def test_old_single_name_form() -> None:
    profile = load_profile(DATA / "oci-old-name.json")
    assert [r.names for r in profile.syscalls] == [("read",), ("mount",)]
    assert all(r.args == () for r in profile.syscalls)


def test_moby_extensions_normalise_capabilities() -> None:
    profile = load_profile(DATA / "moby-custom.json")
    assert profile.format == "moby"
    mount = next(r for r in profile.syscalls if "mount" in r.names)
    assert mount.includes.caps == ("SYS_ADMIN",)
    clone = next(r for r in profile.syscalls if r.comment)
    assert clone.excludes.caps == ("SYS_ADMIN",)
    assert clone.args[0].value_two == 0
    ptrace = next(r for r in profile.syscalls if r.names == ("ptrace",))
    assert ptrace.includes.min_kernel == "5.10"


@pytest.mark.parametrize(
    ("name", "version", "base"),
    [
        ("spo-recording.yaml", "v1beta1", "runc-v1.1.12"),
        ("spo-v1alpha1.yaml", "v1alpha1", None),
    ],
)
def test_security_profiles_operator_objects(name: str, version: str, base: str | None) -> None:
    profile = load_profile(DATA / name)
    assert profile.format == "spo"
    assert profile.base_profile_name == base
    text = (DATA / name).read_text()
    assert f"x-k8s.io/{version}" in text


def test_spo_keeps_name_and_namespace() -> None:
    profile = load_profile(DATA / "spo-recording.yaml")
    assert profile.name == "nim/nim-llm-recording"
    assert "clone3" in profile.names()


@pytest.mark.parametrize("name", ["ig-advise.json", "ig-advise.yaml"])
def test_inspektor_gadget_output_is_one_allow_list(name: str) -> None:
    profile = load_profile(DATA / name)
    assert profile.default_action is Action.ERRNO
    assert len(profile.syscalls) == 1
    assert profile.syscalls[0].action is Action.ALLOW
    assert "read" in profile.syscalls[0].names


def test_mapping_and_text_inputs_equal_the_file() -> None:
    path = DATA / "oci-nim.json"
    from_file = load_profile(path)
    from_text = load_profile(path.read_text())
    from_mapping = load_profile(json.loads(path.read_text()))
    assert from_text == from_mapping == from_file.model_copy(update={"path": None})


def test_profile_is_frozen() -> None:
    profile = load_profile(DATA / "oci-nim.json")
    with pytest.raises(ValueError, match="frozen"):
        profile.default_action = Action.ALLOW  # type: ignore[misc]  # asserting immutability


def test_bad_action_names_file_line_and_field() -> None:
    with pytest.raises(SeccompError) as info:
        load_profile(DATA / "bad-action.json")
    err = info.value
    assert err.path == str(DATA / "bad-action.json")
    assert err.line == 5
    assert err.field == "syscalls[1].action"
    assert "SCMP_ACT_ALLOWED" in err.message
    assert "SCMP_ACT_ALLOW" in (err.hint or "")


def test_unknown_key_in_rule_is_rejected_with_its_line() -> None:
    with pytest.raises(SeccompError) as info:
        load_profile(DATA / "unknown-key.json")
    assert info.value.field == "syscalls[0].nmaes"
    assert info.value.line == 4


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ('{"syscalls": []}', None, "missing 'defaultAction'"),
        ('{"defaultAction": 3}', "defaultAction", "expected a string"),
        ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}}', "syscalls", "expected a list"),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}',
            "syscalls[0].names",
            "expected a list",
        ),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}',
            "syscalls[0]",
            "missing 'action'",
        ),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": "1"}',
            "defaultErrnoRet",
            "expected an integer",
        ),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}',
            "syscalls[0].args[0].index",
            "out of range",
        ),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "EQ"}]}]}',
            "syscalls[0].args[0].op",
            "unknown comparison",
        ),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"kernel": "4"}}]}',
            "syscalls[0].includes.kernel",
            "unknown key",
        ),
        (
            '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "new"}}]}',
            "syscalls[0].includes.minKernel",
            "not a kernel version",
        ),
        ('{"defaultAction": "SCMP_ACT_ERRNO", "default": 1}', "default", "unknown key"),
        ('{"defaultAction": "SCMP_ACT_ERRNO",\n "syscalls": [,]}', None, "not valid JSON"),
    ],
)
def test_malformed_profiles(text: str, field: str | None, message: str) -> None:
    with pytest.raises(SeccompError, match=message) as info:
        load_profile(text)
    assert info.value.field == field


def test_non_json_text_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [\n    oops\n  ]\n}\n')
    with pytest.raises(SeccompError, match="not valid JSON") as info:
        load_profile(path)
    assert (info.value.path, info.value.line) == (str(path), 4)


def test_yaml_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("spec:\n  defaultAction: [\n")
    with pytest.raises(SeccompError, match="neither JSON nor YAML"):
        load_profile(path)


def test_other_kubernetes_objects_are_rejected() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    with pytest.raises(SeccompError, match="unsupported object v1/ConfigMap") as info:
        load_profile(text)
    assert info.value.line == 2


def test_spo_spec_is_strict() -> None:
    text = (
        "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n"
        "spec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n"
        "    names: [read]\n    includes: {caps: [CAP_SYS_ADMIN]}\n"
    )
    with pytest.raises(SeccompError, match="unknown key 'includes'") as info:
        load_profile(text)
    assert info.value.line == 8


def test_missing_file() -> None:
    with pytest.raises(SeccompError, match="file not found"):
        load_profile(DATA / "nope.json")


def test_multiple_documents() -> None:
    spo = (DATA / "ig-advise.yaml").read_text()
    text = spo + "---\n" + (DATA / "spo-recording.yaml").read_text()
    assert len(profiles_in(text)) == 2
    with pytest.raises(SeccompError, match="2 profiles"):
        load_profile(text)
    with pytest.raises(SeccompError, match="no seccomp profile"):
        load_profile("---\n---\n")


def test_kind_list_of_profiles() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: security-profiles-operator.x-k8s.io/v1beta1\n  kind: SeccompProfile\n"
        "  spec:\n    defaultAction: SCMP_ACT_BOGUS\n"
    )
    with pytest.raises(SeccompError, match="unknown seccomp action") as info:
        profiles_in(text)
    assert info.value.field == "spec.defaultAction"
    assert info.value.line == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6.8", (6, 8)),
        ("5.15.0-91-generic", (5, 15)),
        ("v4.8", (4, 8)),
        ("4.19rc1", (4, 19)),
        ("6", None),
        ("x.y", None),
    ],
)
def test_parse_kernel(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_kernel(text) == expected


@pytest.mark.parametrize("cap", ["CAP_SYS_ADMIN", "cap_sys_admin", "sys_admin", " SYS_ADMIN "])
def test_normalize_capability(cap: str) -> None:
    assert normalize_capability(cap) == "SYS_ADMIN"
